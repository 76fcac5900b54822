/* proxy/fastio: bulk I/O around two costs of libevent 2.1 socket bufferevents. Their reads
 * stop at 4096 bytes per call (EVBUFFER_MAX_READ), and every byte queued on an idle output
 * arms the write event and disarms it once written (two epoll_ctl calls per response and per
 * request, which on loopback cost about as much as the writes themselves). On plain sockets
 * the proxy therefore reads what the kernel has in one larger call, and writes outputs itself:
 * an attached socket's output is written by the worker's flush pass at the end of the current
 * event-loop pass (one writev for everything queued in it, TLS records of the filters above
 * included); libevent's write event is armed only while a socket is full, and the bufferevent's
 * write callback runs after each flush as libevent would run it. */
#include <errno.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "proxy/server.h"

int fastio_is_socket(struct bufferevent *bev)
{
    return bev && bufferevent_get_underlying(bev) == NULL && bufferevent_getfd(bev) >= 0;
}

void fastio_slurp(struct bufferevent *bev, size_t max)
{
    if (!fastio_is_socket(bev))
        return;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_iovec v[2];
    /* The bufferevent keeps the end of its input frozen between its own reads. */
    evbuffer_unfreeze(in, 0);
    int n = evbuffer_reserve_space(in, (ev_ssize_t)max, v, 2);
    if (n <= 0) {
        evbuffer_freeze(in, 0);
        return;
    }
    struct iovec iov[2];
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    ssize_t r = readv(bufferevent_getfd(bev), iov, n);
    if (r <= 0) {
        /* Nothing now, EOF or an error: libevent's own read reports it. */
        evbuffer_commit_space(in, v, 0);
        evbuffer_freeze(in, 0);
        return;
    }
    size_t left = (size_t)r;
    int used = 0;
    for (; used < n && left; used++) {
        if (v[used].iov_len > left)
            v[used].iov_len = left;
        left -= v[used].iov_len;
    }
    evbuffer_commit_space(in, v, used);
    evbuffer_freeze(in, 0);
}

size_t fastio_write_through(struct evbuffer *src, struct bufferevent *dst, size_t n)
{
    if (!n || !fastio_is_socket(dst) || evbuffer_get_length(bufferevent_get_output(dst)) > 0)
        return 0;
    int w = evbuffer_write_atmost(src, bufferevent_getfd(dst), (ev_ssize_t)n);
    return w > 0 ? (size_t)w : 0;
}

/* ------------------------------------------------------------------ flushing */

static void flush_list_remove(fastio_out *o)
{
    fastio_out **pp = &o->w->flush_head;
    while (*pp && *pp != o)
        pp = &(*pp)->next;
    if (*pp)
        *pp = o->next;
    o->next = NULL;
    o->queued = 0;
}

static void flush_queue(fastio_out *o)
{
    if (o->queued)
        return;
    o->queued = 1;
    o->next = o->w->flush_head;
    if (!o->w->flush_head)
        event_active(o->w->flush_ev, EV_TIMEOUT, 1);
    o->w->flush_head = o;
}

static void output_added_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    fastio_out *o = arg;
    if (info->n_added > 0 && o->bev)
        flush_queue(o);
}

/* Writes o's output now. A socket that takes everything goes back to (or stays in) manual mode
 * and gets its write callback; a full socket or an error is handed to libevent's write event,
 * which waits for room and reports errors through the event callback as before. */
static void flush_one(fastio_out *o)
{
    struct bufferevent *bev = o->bev;
    struct evbuffer *out = bufferevent_get_output(bev);
    int libevent_writes = (bufferevent_get_enabled(bev) & EV_WRITE) != 0;
    if (evbuffer_get_length(out) == 0) {
        if (libevent_writes)
            bufferevent_disable(bev, EV_WRITE);
        return;
    }
    evbuffer_unfreeze(out, 1);
    int r = evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
    if (r < 0 || evbuffer_get_length(out) > 0) {
        if (!libevent_writes)
            bufferevent_enable(bev, EV_WRITE);
        return;
    }
    if (libevent_writes)
        bufferevent_disable(bev, EV_WRITE);
    bufferevent_trigger(bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    proxy_worker *w = arg;
    /* A write callback may queue more (a TLS filter encrypting the next records) or close
     * connections (which unlink their entries): take one entry at a time. */
    fastio_out *o;
    while ((o = w->flush_head)) {
        w->flush_head = o->next;
        o->next = NULL;
        o->queued = 0;
        if (o->bev)
            flush_one(o);
    }
}

int fastio_worker_init(proxy_worker *w)
{
    w->flush_head = NULL;
    w->flush_ev = event_new(w->base, -1, 0, flush_cb, w);
    return w->flush_ev ? 0 : -1;
}

void fastio_worker_free(proxy_worker *w)
{
    if (w->flush_ev)
        event_free(w->flush_ev);
    w->flush_ev = NULL;
    w->flush_head = NULL;
}

void fastio_attach(proxy_worker *w, fastio_out *o, struct bufferevent *sock)
{
    if (o->bev && o->bev != sock)
        fastio_detach(o);
    if (!o->bev) {
        if (!fastio_is_socket(sock) || !w->flush_ev)
            return;
        o->cb = evbuffer_add_cb(bufferevent_get_output(sock), output_added_cb, o);
        if (!o->cb)
            return;
        o->bev = sock;
        o->w = w;
        o->next = NULL;
        o->queued = 0;
    }
    /* Bytes already queued are written by the next flush; otherwise stop libevent's writer
     * now (a TLS filter enables it on the socket below it). */
    if (evbuffer_get_length(bufferevent_get_output(sock)) > 0)
        flush_queue(o);
    else
        bufferevent_disable(sock, EV_WRITE);
}

static void tls_read_cb(struct bufferevent *bev, void *arg)
{
    fastio_out *o = arg;
    if (evbuffer_get_length(bufferevent_get_input(bev)) < o->read_chunk)
        fastio_slurp(bev, o->read_chunk);
    o->inner_read(bev, o->inner_arg);
}

static void tls_write_cb(struct bufferevent *bev, void *arg)
{
    fastio_out *o = arg;
    if (o->inner_write)
        o->inner_write(bev, o->inner_arg);
}

static void tls_event_cb(struct bufferevent *bev, short what, void *arg)
{
    fastio_out *o = arg;
    if (o->inner_event)
        o->inner_event(bev, what, o->inner_arg);
}

void fastio_tls_opened(fastio_out *o, size_t read_chunk, size_t out_low, size_t out_high)
{
    struct bufferevent *sock = o->bev;
    if (!sock)
        return;
    bufferevent_setwatermark(sock, EV_WRITE, out_low, out_high);
    bufferevent_data_cb r, w;
    bufferevent_event_cb e;
    void *arg;
    bufferevent_getcb(sock, &r, &w, &e, &arg);
    if (!r || r == tls_read_cb)
        return;
    o->inner_read = r;
    o->inner_write = w;
    o->inner_event = e;
    o->inner_arg = arg;
    o->read_chunk = read_chunk;
    bufferevent_setcb(sock, tls_read_cb, tls_write_cb, tls_event_cb, o);
}

void fastio_detach(fastio_out *o)
{
    if (!o->bev)
        return;
    if (o->queued)
        flush_list_remove(o);
    evbuffer_remove_cb_entry(bufferevent_get_output(o->bev), o->cb);
    o->bev = NULL;
    o->cb = NULL;
    o->inner_read = o->inner_write = NULL;
    o->inner_event = NULL;
    o->inner_arg = NULL;
}
