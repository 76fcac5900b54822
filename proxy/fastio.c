/* proxy/fastio: bulk I/O around two costs of libevent 2.1 socket bufferevents. Their reads
 * stop at 4096 bytes per call (EVBUFFER_MAX_READ), and every byte queued on an idle output
 * arms the write event (two epoll_ctl calls per relay cycle). On plain sockets the proxy
 * therefore reads what the kernel has in one larger call and writes straight through when
 * nothing is queued; TLS filter bufferevents are left to libevent. */
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
