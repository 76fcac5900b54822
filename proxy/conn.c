/* proxy/conn: one client connection as an explicit state machine (conn_state in server.h).
 * A connection processes one exchange at a time — head, identity, policy, dial, request body
 * and response streamed with backpressure — and reads the next pipelined request only after
 * the previous response is complete, so responses are always in order. CONNECT turns the
 * connection into a spliced tunnel, and so does a WebSocket upgrade the origin accepted (101).
 * Every exchange ends in exactly one log line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "proxy/server.h"
#include "proxy/tls_hello.h"

/* Output above this stops reading on the other side until it drains below the low mark. */
#define CONN_OUT_HIGH (256 * 1024)
#define CONN_OUT_LOW (64 * 1024)
#define CONN_IO_CHUNK (128 * 1024)
#define CONN_REQ_HEAD_MAX(c) ((c)->w->srv->cfg.max_header_bytes + 16384)

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_write_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void upstream_read_cb(struct bufferevent *bev, void *arg);
static void upstream_write_cb(struct bufferevent *bev, void *arg);
static void upstream_event_cb(struct bufferevent *bev, short what, void *arg);
static void tunnel_read_cb(struct bufferevent *bev, void *arg);
static void tunnel_write_cb(struct bufferevent *bev, void *arg);
static void tunnel_event_cb(struct bufferevent *bev, short what, void *arg);
static void process_head(proxy_conn *c);
static void enter_head_state(proxy_conn *c);
static void start_tunnel(proxy_conn *c);
static void linger_or_close(proxy_conn *c);

/* ------------------------------------------------------------------ small helpers */

static const proxy_config *cfg_of(const proxy_conn *c) { return &c->w->srv->cfg; }

static void arm_timer(proxy_conn *c, unsigned seconds)
{
    struct timeval tv = {(time_t)seconds, 0};
    evtimer_add(c->timer, &tv);
}

static void free_upstream(proxy_conn *c)
{
    fastio_detach(&c->out_upstream);
    if (c->upstream) {
        bufferevent_free(c->upstream);
        c->upstream = NULL;
    }
    if (c->up_policy) {
        policy_unref(c->up_policy);
        c->up_policy = NULL;
    }
    c->up_key[0] = '\0';
    c->up_secured = 0;
}

static const char *outcome_of(const proxy_conn *c)
{
    if (c->status == 403 || c->status == 407)
        return "deny";
    if (!c->decided)
        return "error";
    if (c->status == 0 || c->status == 400 || c->status == 408 || c->status >= 500)
        return "error";
    if (c->decision.verdict != POLICY_ALLOW)
        return c->decision.report_only ? "report-only-deny" : "deny";
    return "allow";
}

static void log_exchange(proxy_conn *c)
{
    char agent[160], path[600], rule[200], reason[320], method[40], host[300];
    uint64_t dur = ag_monotonic_us() - c->start_mono;
    const char *m = c->req.head.method[0] ? c->req.head.method : "-";
    const char *decision = outcome_of(c);
    record_exchange(c, decision);
    worker_log_exchange(c->w,
           "id=%s agent=%s client=%s method=%s host=%s port=%u path=%s decision=%s rule=%s "
           "status=%d bytes_in=%llu bytes_out=%llu duration_us=%llu upstream=%s sanitized=%s "
           "removed=%llu reason=%s",
           c->id, ag_log_quote(agent, sizeof agent, c->agent[0] ? c->agent : "-"), c->client_addr,
           ag_log_quote(method, sizeof method, m),
           ag_log_quote(host, sizeof host, c->target.host[0] ? c->target.host : "-"),
           (unsigned)c->target.port,
           ag_log_quote(path, sizeof path, c->target.path[0] ? c->target.path : "-"),
           decision, ag_log_quote(rule, sizeof rule, c->decided ? c->decision.rule : "-"),
           c->status, (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
           (unsigned long long)dur, c->up_addr[0] ? c->up_addr : "-",
           c->body_filtered ? "yes" : "no", (unsigned long long)c->sanitizer_removed,
           ag_log_quote(reason, sizeof reason, c->reason[0] ? c->reason : "-"));
}

/* Ends the exchange: one log line, the snapshot released, the upstream kept or closed, and the
 * connection either waits for the next request or flushes and closes. */
static void exchange_end(proxy_conn *c, int keep_upstream)
{
    body_filter_free(c->filter);
    c->filter = NULL;
    log_exchange(c);
    if (!keep_upstream)
        free_upstream(c);
    if (c->pol) {
        policy_unref(c->pol);
        c->pol = NULL;
    }
    if (c->close_after || !c->client_keep_alive || c->w->draining ||
        (c->client_eof && evbuffer_get_length(bufferevent_get_input(c->client)) == 0)) {
        c->state = CONN_CLOSING;
        bufferevent_disable(c->client, EV_READ);
        evtimer_del(c->timer);
        if (evbuffer_get_length(bufferevent_get_output(c->client)) == 0)
            event_active(c->resume_ev, EV_TIMEOUT, 1);
        return;
    }
    enter_head_state(c);
}

static void sanitize_reason(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static const char *status_text(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

void conn_refuse(proxy_conn *c, int status, const char *reason, int close_after)
{
    char why[256];
    snprintf(why, sizeof why, "%s", reason);
    sanitize_reason(why);
    snprintf(c->reason, sizeof c->reason, "%s", why);
    dial_cancel(c);
    if (c->resp_started) {
        /* Part of a response is already on its way: the only honest signal left is to close. */
        c->close_after = 1;
        c->status = c->status ? c->status : status;
        exchange_end(c, 0);
        return;
    }
    if (c->req_kind != HTTP_BODY_NONE && !c->req_done)
        close_after = 1; /* the unread request body makes the connection unusable */
    c->close_after |= close_after;
    c->status = status;
    struct evbuffer *out = bufferevent_get_output(c->client);
    size_t before = evbuffer_get_length(out);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\nX-Agentgate-Reason: %s\r\n"
                        "X-Agentgate-Request-Id: %s\r\n%s%s\r\n%s\n",
                        status, status_text(status), strlen(why) + 1, why, c->id,
                        status == 407 ? "Proxy-Authenticate: Basic realm=\"agentgate\"\r\n" : "",
                        c->close_after ? "Connection: close\r\n" : "", why);
    c->bytes_out += evbuffer_get_length(out) - before;
    exchange_end(c, 0);
}

void conn_close(proxy_conn *c)
{
    proxy_worker *w = c->w;
    body_filter_free(c->filter);
    c->filter = NULL;
    if (c->state != CONN_CLOSING && c->start_mono && c->pol)
        log_exchange(c);
    dial_cancel(c);
    free_upstream(c);
    if (c->pol)
        policy_unref(c->pol);
    fastio_detach(&c->out_client);
    if (c->client)
        bufferevent_free(c->client);
    event_free(c->timer);
    event_free(c->resume_ev);
    http_stream_free(&c->req);
    http_stream_free(&c->resp);
    record_conn_free(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub(&w->srv->nconns, 1);
    free(c);
    if (w->draining && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

/* ------------------------------------------------------------------ timers and deferred work */

/* After the last response is flushed: half-close and discard what the client still sends for
 * a moment, so that unread request bytes do not turn the close into a reset that destroys the
 * response before the client reads it. */
/* Bytes still queued towards the client below the client bufferevent: with TLS interception the
 * client is an OpenSSL filter whose records wait in the underlying socket bufferevent. */
static size_t client_underlying_pending(const proxy_conn *c)
{
    struct bufferevent *under = bufferevent_get_underlying(c->client);
    return under ? evbuffer_get_length(bufferevent_get_output(under)) : 0;
}

static void linger_or_close(proxy_conn *c)
{
    if (!c->lingering && client_underlying_pending(c) > 0) {
        /* shutdown(SHUT_WR) now would discard the encrypted response: poll until it is on the
         * wire, bounded by the closing timer. */
        static const struct timeval poll_tv = {0, 5000};
        if (!evtimer_pending(c->timer, NULL))
            arm_timer(c, cfg_of(c)->timeout_idle ? cfg_of(c)->timeout_idle : 10);
        event_add(c->resume_ev, &poll_tv);
        return;
    }
    if (c->lingering || c->client_eof) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    shutdown(bufferevent_getfd(c->client), SHUT_WR);
    evbuffer_drain(bufferevent_get_input(c->client), evbuffer_get_length(bufferevent_get_input(c->client)));
    bufferevent_set_timeouts(c->client, NULL, NULL);
    bufferevent_enable(c->client, EV_READ);
    arm_timer(c, 2);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    proxy_conn *c = arg;
    switch (c->state) {
    case CONN_HEAD:
        if (!c->head_bytes_seen && evbuffer_get_length(bufferevent_get_input(c->client)) == 0) {
            conn_close(c); /* idle keep-alive connection */
            return;
        }
        c->start_us = ag_now_us();
        c->start_mono = ag_monotonic_us();
        conn_refuse(c, 408, "request head not received in time", 1);
        return;
    case CONN_DIAL:
        dial_on_timer(c);
        return;
    case CONN_TUNNEL: {
        uint64_t idle = ag_monotonic_us() - c->tunnel_activity_us;
        uint64_t limit = (uint64_t)cfg_of(c)->timeout_tunnel_idle * 1000000u;
        if (idle >= limit) {
            snprintf(c->reason, sizeof c->reason, "tunnel idle for %us", cfg_of(c)->timeout_tunnel_idle);
            conn_close(c);
            return;
        }
        struct timeval tv = {(time_t)((limit - idle) / 1000000u) + 1, 0};
        evtimer_add(c->timer, &tv);
        return;
    }
    case CONN_TLS:
        mitm_on_timer(c);
        return;
    case CONN_HELLO:
        snprintf(c->reason, sizeof c->reason, "passthrough: no ClientHello within %us",
                 cfg_of(c)->timeout_header);
        c->status = 408;
        conn_close(c);
        return;
    case CONN_EXCHANGE:
    case CONN_CLOSING:
        conn_close(c);
        return;
    }
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    proxy_conn *c = arg;
    switch (c->state) {
    case CONN_HEAD:
        process_head(c);
        return;
    case CONN_DIAL:
        dial_on_resume(c);
        return;
    case CONN_CLOSING:
        if (evbuffer_get_length(bufferevent_get_output(c->client)) == 0)
            linger_or_close(c);
        return;
    case CONN_EXCHANGE:
    case CONN_TUNNEL:
    case CONN_TLS:
    case CONN_HELLO:
        return;
    }
}

/* ------------------------------------------------------------------ accept */

void conn_accept(proxy_worker *w, evutil_socket_t fd, const struct sockaddr *sa, int salen,
                 const proxy_listener_cfg *listener)
{
    proxy_conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->w = w;
    c->listener = listener;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf(c->client_addr, sizeof c->client_addr, "%s:%u", ip, ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf(c->client_addr, sizeof c->client_addr, "[%s]:%u", ip, ntohs(v6->sin6_port));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->client = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(w->base, timer_cb, c);
    c->resume_ev = event_new(w->base, -1, 0, resume_cb, c);
    http_limits lim = {cfg_of(c)->max_header_bytes, cfg_of(c)->max_headers};
    http_stream_init(&c->req, HTTP_REQUEST, &lim);
    http_stream_init(&c->resp, HTTP_RESPONSE, &lim);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    if (!c->client || !c->timer || !c->resume_ev || !c->req.head.arena || !c->resp.head.arena) {
        if (!c->client)
            evutil_closesocket(fd);
        conn_close(c);
        return;
    }
    bufferevent_setcb(c->client, client_read_cb, client_write_cb, client_event_cb, c);
    size_t high = CONN_OUT_HIGH > CONN_REQ_HEAD_MAX(c) ? CONN_OUT_HIGH : CONN_REQ_HEAD_MAX(c);
    bufferevent_setwatermark(c->client, EV_READ, 0, high);
    bufferevent_setwatermark(c->client, EV_WRITE, CONN_OUT_LOW, 0);
    conn_tune_io(c->client);
    fastio_attach(w, &c->out_client, c->client);
    enter_head_state(c);
}

void conn_tune_io(struct bufferevent *bev)
{
    /* libevent reads and writes 16 KiB per call by default; bulk bodies and tunnels move
     * much more per wakeup with larger calls. */
    bufferevent_set_max_single_read(bev, CONN_IO_CHUNK);
    bufferevent_set_max_single_write(bev, CONN_IO_CHUNK);
}

void worker_drain_conns(proxy_worker *w)
{
    proxy_conn *c = w->conns;
    while (c) {
        proxy_conn *next = c->next;
        if (c->state == CONN_HEAD && !c->head_bytes_seen &&
            evbuffer_get_length(bufferevent_get_input(c->client)) == 0)
            conn_close(c);
        c = next;
    }
}

/* ------------------------------------------------------------------ request head */

static void enter_head_state(proxy_conn *c)
{
    c->state = CONN_HEAD;
    http_stream_reset(&c->req);
    c->head_bytes_seen = 0;
    c->decided = 0;
    c->start_mono = 0;
    c->agent[0] = c->reason[0] = '\0';
    memset(&c->target, 0, sizeof c->target);
    c->status = 0;
    c->bytes_in = c->bytes_out = 0;
    c->close_after = c->req_done = c->resp_done = c->resp_started = 0;
    c->req_kind = HTTP_BODY_NONE;
    c->client_keep_alive = 1;
    c->body_filtered = 0;
    free(c->sanitizer_report);
    c->sanitizer_report = NULL;
    c->sanitizer_removed = 0;
    arm_timer(c, c->heads_seen ? cfg_of(c)->timeout_idle : cfg_of(c)->timeout_header);
    if (!c->client_eof)
        bufferevent_enable(c->client, EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
        event_active(c->resume_ev, EV_TIMEOUT, 1);
}

static void new_request_id(proxy_conn *c)
{
    snprintf(c->id, sizeof c->id, "%llx-%d-%llu", (unsigned long long)(c->w->srv->start_us / 1000000u),
             c->w->index, (unsigned long long)++c->w->next_id);
}

/* Identity: the listener's agent, or Proxy-Authorization checked against the policy. */
static int identify(proxy_conn *c)
{
    if (c->listener->agent[0]) {
        snprintf(c->agent, sizeof c->agent, "%s", c->listener->agent);
        return 1;
    }
    const char *auth = http_head_get(&c->req.head, "proxy-authorization");
    char user[128], secret[512];
    size_t slen = 0;
    if (!auth || http_parse_basic_auth(auth, user, sizeof user, secret, sizeof secret, &slen) != 0)
        return 0;
    int ok = policy_authenticate(c->pol, user, secret, slen);
    memset(secret, 0, sizeof secret);
    if (ok)
        snprintf(c->agent, sizeof c->agent, "%s", user);
    return ok;
}

/* Inside an intercepted tunnel the request is origin-form and the destination is the CONNECT
 * authority. */
static int tunnel_target(proxy_conn *c, char *reason, size_t reasonsz)
{
    const char *target = c->req.head.target ? c->req.head.target : "";
    memset(&c->target, 0, sizeof c->target);
    if (c->req.head.method_id == HTTP_CONNECT || target[0] != '/') {
        snprintf(reason, reasonsz, "inside an intercepted tunnel requests must be origin-form");
        return -1;
    }
    if (strlen(target) >= sizeof c->target.path) {
        snprintf(reason, reasonsz, "request target too long");
        return -1;
    }
    snprintf(c->target.host, sizeof c->target.host, "%s", c->tunnel_host);
    c->target.port = c->tunnel_port;
    snprintf(c->target.path, sizeof c->target.path, "%s", target);
    return 0;
}

static void start_exchange(proxy_conn *c)
{
    char reason[256];
    new_request_id(c);
    c->pol = proxy_policy_get(c->w->srv);
    c->req_kind = http_stream_body_kind(&c->req, NULL);
    c->req_done = c->req.complete;
    c->client_keep_alive = http_stream_keep_alive(&c->req);
    int target_ok = c->tls_intercepted ? tunnel_target(c, reason, sizeof reason)
                                       : http_target_parse(&c->req.head, &c->target, reason, sizeof reason);
    if (target_ok != 0) {
        conn_refuse(c, 400, reason, 1);
        return;
    }
    if (!c->req_done) {
        struct evbuffer *in = bufferevent_get_input(c->client);
        size_t n = evbuffer_get_length(in);
        if (n > 65536)
            n = 65536;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        if (http_stream_precheck_body(&c->req, p, n, reason, sizeof reason) != 0) {
            conn_refuse(c, 400, reason, 1);
            return;
        }
    }
    if (c->tls_intercepted) {
        snprintf(c->agent, sizeof c->agent, "%s", c->tunnel_agent);
        if (mitm_check_host(c, reason, sizeof reason) != 0) {
            c->decided = 1;
            c->decision.verdict = POLICY_DENY;
            snprintf(c->decision.rule, sizeof c->decision.rule, "domain-fronting");
            conn_refuse(c, 403, reason, 0);
            return;
        }
    } else if (!identify(c)) {
        const char *auth = http_head_get(&c->req.head, "proxy-authorization");
        conn_refuse(c, 407, auth ? "invalid proxy credentials" : "proxy authentication required", 0);
        return;
    }
    policy_decide(c->pol, c->agent, c->target.host, c->target.port, &c->decision);
    c->decided = 1;
    if (c->decision.verdict != POLICY_ALLOW) {
        if (!c->decision.report_only) {
            conn_refuse(c, 403, c->decision.reason, 0);
            return;
        }
        /* mode: report-only — the denial is recorded, the request proceeds. */
        snprintf(c->reason, sizeof c->reason, "report-only: %s", c->decision.reason);
    }
    char key[sizeof c->up_key];
    snprintf(key, sizeof key, "%s:%u %s", c->target.host, c->target.port, c->agent);
    if (c->upstream && !c->target.is_connect && c->up_policy == c->pol && !strcmp(key, c->up_key)) {
        c->up_reused = 1;
        conn_upstream_ready(c);
        return;
    }
    c->up_reused = 0;
    free_upstream(c);
    snprintf(c->up_key, sizeof c->up_key, "%s", key);
    dial_start(c);
}

static void process_head(proxy_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->client);
    size_t avail = evbuffer_get_length(in);
    if (avail == 0)
        return;
    if (!c->head_bytes_seen) {
        c->head_bytes_seen = 1;
        if (c->heads_seen)
            arm_timer(c, cfg_of(c)->timeout_header);
    }
    size_t want = avail < CONN_REQ_HEAD_MAX(c) ? avail : CONN_REQ_HEAD_MAX(c);
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
    size_t consumed = 0;
    char reason[256];
    http_scan_status st = http_stream_feed_head(&c->req, p, want, &consumed, reason, sizeof reason);
    if (st == HTTP_SCAN_MORE) {
        if (c->client_eof)
            conn_close(c); /* the client went away in the middle of a head */
        return;
    }
    evtimer_del(c->timer);
    c->heads_seen++;
    c->start_us = ag_now_us();
    c->start_mono = ag_monotonic_us();
    if (st == HTTP_SCAN_ERROR) {
        new_request_id(c);
        c->pol = proxy_policy_get(c->w->srv);
        conn_refuse(c, 400, reason, 1);
        return;
    }
    evbuffer_drain(in, consumed);
    c->bytes_in += consumed;
    start_exchange(c);
}

/* ------------------------------------------------------------------ request body */

static int req_on_body(void *ctx, const char *data, size_t len)
{
    proxy_conn *c = ctx;
    struct evbuffer *out = bufferevent_get_output(c->upstream);
    if (c->req_kind == HTTP_BODY_CHUNKED)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    if (c->req_kind == HTTP_BODY_CHUNKED)
        evbuffer_add(out, "\r\n", 2);
    return 0;
}

/* A Content-Length body needs no parsing: up to *remaining bytes move from in to out without
 * a copy (the chains change owner). hash_into, when set, sees every byte moved. Returns the
 * number of bytes moved. */
static size_t move_length_body(struct evbuffer *in, struct bufferevent *dst, uint64_t *remaining,
                               proxy_conn *hash_into)
{
    struct evbuffer *out = bufferevent_get_output(dst);
    size_t n = evbuffer_get_length(in);
    if (n > *remaining)
        n = (size_t)*remaining;
    if (n && hash_into) {
        struct evbuffer_iovec v[64];
        int cnt = evbuffer_peek(in, (ev_ssize_t)n, NULL, v, 64);
        size_t covered = 0;
        for (int i = 0; i < cnt && i < 64 && covered < n; i++) {
            size_t take = v[i].iov_len < n - covered ? v[i].iov_len : n - covered;
            record_body_received(hash_into, v[i].iov_base, take);
            covered += take;
        }
        n = covered;
    }
    size_t direct = fastio_write_through(in, dst, n);
    if (n > direct)
        evbuffer_remove_buffer(in, out, n - direct);
    *remaining -= n;
    return n;
}

static void pump_request_body(proxy_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->client);
    struct evbuffer *out = bufferevent_get_output(c->upstream);
    char reason[256];
    while (!c->req_done && evbuffer_get_length(in) > 0) {
        if (evbuffer_get_length(out) > CONN_OUT_HIGH) {
            bufferevent_disable(c->client, EV_READ);
            return;
        }
        if (c->req_kind == HTTP_BODY_LENGTH) {
            c->bytes_in += move_length_body(in, c->upstream, &c->req_remaining, NULL);
            if (c->req_remaining == 0)
                c->req.complete = c->req_done = 1;
            continue;
        }
        /* Up to 64 KiB at a time, so a re-chunked body goes out in large chunks. */
        size_t n = evbuffer_get_length(in);
        if (n > 65536)
            n = 65536;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        size_t consumed = 0;
        int rc = http_stream_feed_body(&c->req, p, n, &consumed, reason, sizeof reason);
        evbuffer_drain(in, consumed);
        c->bytes_in += consumed;
        if (rc < 0) {
            conn_refuse(c, 400, reason, 1);
            return;
        }
        if (rc == 1) {
            if (c->req_kind == HTTP_BODY_CHUNKED)
                evbuffer_add(out, "0\r\n\r\n", 5);
            c->req_done = 1;
        }
    }
    if (c->req_done) {
        bufferevent_disable(c->client, EV_READ);
        if (c->resp_done)
            exchange_end(c, c->resp.keep_alive && !c->close_after);
    } else {
        bufferevent_enable(c->client, EV_READ);
    }
}

/* ------------------------------------------------------------------ response */

void conn_write_body(proxy_conn *c, const char *data, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->client);
    size_t before = evbuffer_get_length(out);
    if (c->filter)
        record_body_delivered(c, data, len);
    if (c->resp_out_kind == HTTP_BODY_CHUNKED)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, data, len);
    if (c->resp_out_kind == HTTP_BODY_CHUNKED)
        evbuffer_add(out, "\r\n", 2);
    c->bytes_out += evbuffer_get_length(out) - before;
}

static int resp_on_body(void *ctx, const char *data, size_t len)
{
    proxy_conn *c = ctx;
    record_body_received(c, data, len);
    if (c->filter)
        body_filter_feed(c->filter, data, len);
    else
        conn_write_body(c, data, len);
    return 0;
}

static void response_complete(proxy_conn *c)
{
    if (c->filter) {
        body_filter_finish(c->filter);
        body_filter_free(c->filter);
        c->filter = NULL;
    }
    if (c->resp_out_kind == HTTP_BODY_CHUNKED) {
        evbuffer_add(bufferevent_get_output(c->client), "0\r\n\r\n", 5);
        c->bytes_out += 5;
    }
    c->resp_done = 1;
    if (!c->req_done) {
        /* The origin answered before reading the whole request body: the client connection
         * cannot be reused, and neither can the upstream one. */
        c->close_after = 1;
        exchange_end(c, 0);
        return;
    }
    int keep = c->resp.keep_alive && !c->close_after && !c->w->draining;
    if (keep) {
        bufferevent_set_timeouts(c->upstream, NULL, NULL);
        if (!c->up_policy)
            c->up_policy = policy_ref(c->pol);
    }
    exchange_end(c, keep);
}

/* Writes the response head for the client; returns 0 or -1 (head too large). */
static int send_response_head(proxy_conn *c)
{
    uint64_t cl = 0;
    http_body_kind kind = http_stream_body_kind(&c->resp, &cl);
    if (kind == HTTP_BODY_UNTIL_CLOSE) {
        if (c->req.head.major == 1 && c->req.head.minor >= 1) {
            kind = HTTP_BODY_CHUNKED;
        } else {
            c->close_after = 1;
        }
    } else if (kind == HTTP_BODY_CHUNKED && !(c->req.head.major == 1 && c->req.head.minor >= 1)) {
        kind = HTTP_BODY_UNTIL_CLOSE; /* an HTTP/1.0 client cannot read chunked */
        c->close_after = 1;
    }
    const char *extra = NULL;
    const char *const *drop = NULL;
    if (body_filter_applies(c)) {
        char reason[256];
        c->filter = body_filter_new(c, &extra, &drop, reason, sizeof reason);
        if (!c->filter) {
            snprintf(c->reason, sizeof c->reason, "%s", reason);
            return -2;
        }
        c->body_filtered = 1;
        if (kind == HTTP_BODY_LENGTH)
            kind = c->req.head.major == 1 && c->req.head.minor >= 1 ? HTTP_BODY_CHUNKED
                                                                     : HTTP_BODY_UNTIL_CLOSE;
        if (kind == HTTP_BODY_UNTIL_CLOSE)
            c->close_after = 1;
    }
    if (c->w->draining || !c->client_keep_alive)
        c->close_after = 1;
    c->resp_out_kind = kind;
    record_exchange_begin(c);
    size_t cap = cfg_of(c)->max_header_bytes + 1024;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    long n = http_build_response(&c->resp.head, kind, cl, c->close_after, extra, drop, buf, cap);
    if (n > 0) {
        evbuffer_add(bufferevent_get_output(c->client), buf, (size_t)n);
        c->bytes_out += (uint64_t)n;
    }
    free(buf);
    return n > 0 ? 0 : -1;
}

static void upstream_failed(proxy_conn *c, int status, const char *what)
{
    char reason[256];
    snprintf(reason, sizeof reason, "upstream %s:%u (%s) %s", c->target.host, c->target.port,
             c->up_addr, what);
    free_upstream(c);
    conn_refuse(c, status, reason, 1);
}

/* The origin answered 101: only the WebSocket upgrade the client asked for is relayed. The
 * 101 head goes to the client and the connection becomes a byte relay like a CONNECT tunnel
 * (frames are not inspected); the exchange is logged and recorded, with status 101, when the
 * relay ends. */
static void start_websocket_relay(proxy_conn *c)
{
    if (!http_head_is_websocket_upgrade(&c->req.head)) {
        upstream_failed(c, 502, "switched protocols without an upgrade request");
        return;
    }
    if (!http_head_is_websocket_upgrade(&c->resp.head)) {
        upstream_failed(c, 502, "switched to a protocol other than websocket");
        return;
    }
    size_t cap = cfg_of(c)->max_header_bytes + 1024;
    char *buf = malloc(cap);
    long n = buf ? http_build_response(&c->resp.head, HTTP_BODY_NONE, 0, 0, NULL, NULL, buf, cap) : -1;
    if (n <= 0) {
        free(buf);
        upstream_failed(c, 502, "sent a response head too large to forward");
        return;
    }
    evbuffer_add(bufferevent_get_output(c->client), buf, (size_t)n);
    c->bytes_out += (uint64_t)n;
    free(buf);
    c->status = 101;
    start_tunnel(c);
}

static void pump_response(proxy_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->upstream);
    struct evbuffer *out = bufferevent_get_output(c->client);
    char reason[256];
    while (!c->resp_done && evbuffer_get_length(in) > 0) {
        if (!c->resp.in_body && !c->resp.complete) {
            size_t avail = evbuffer_get_length(in);
            size_t want = avail < CONN_REQ_HEAD_MAX(c) ? avail : CONN_REQ_HEAD_MAX(c);
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
            size_t consumed = 0;
            http_scan_status st = http_stream_feed_head(&c->resp, p, want, &consumed, reason, sizeof reason);
            if (st == HTTP_SCAN_MORE)
                return;
            if (st == HTTP_SCAN_ERROR) {
                char what[300];
                snprintf(what, sizeof what, "sent an invalid response: %s", reason);
                upstream_failed(c, 502, what);
                return;
            }
            evbuffer_drain(in, consumed);
            int status = c->resp.head.status;
            if (status >= 100 && status < 200) {
                if (status == 101) {
                    start_websocket_relay(c);
                    return;
                }
                char head[4096];
                long n = http_build_response(&c->resp.head, HTTP_BODY_NONE, 0, 0, NULL, NULL, head, sizeof head);
                if (n > 0) {
                    evbuffer_add(out, head, (size_t)n);
                    c->bytes_out += (uint64_t)n;
                }
                int skip = c->resp.skip_body;
                http_stream_reset(&c->resp);
                c->resp.skip_body = skip;
                continue;
            }
            c->status = status;
            int sent = send_response_head(c);
            if (sent == -2) {
                char why[300];
                snprintf(why, sizeof why, "%s", c->reason);
                upstream_failed(c, 502, why);
                return;
            }
            if (sent != 0) {
                upstream_failed(c, 502, "sent a response head too large to forward");
                return;
            }
            c->resp_started = 1;
            http_stream_body_kind(&c->resp, &c->resp_remaining);
            if (c->resp.complete) {
                response_complete(c);
                return;
            }
            continue;
        }
        if (evbuffer_get_length(out) > CONN_OUT_HIGH) {
            bufferevent_disable(c->upstream, EV_READ);
            return;
        }
        if (c->resp.body_kind == HTTP_BODY_LENGTH && c->resp_out_kind == HTTP_BODY_LENGTH && !c->filter) {
            c->bytes_out += move_length_body(in, c->client, &c->resp_remaining,
                                             c->hash_received ? c : NULL);
            if (c->resp_remaining == 0) {
                c->resp.complete = 1;
                c->resp.in_body = 0;
                response_complete(c);
                return;
            }
            continue;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t consumed = 0;
        int rc = http_stream_feed_body(&c->resp, v.iov_base, v.iov_len, &consumed, reason, sizeof reason);
        evbuffer_drain(in, consumed);
        if (rc < 0) {
            snprintf(c->reason, sizeof c->reason, "upstream response body: %s", reason);
            c->close_after = 1;
            exchange_end(c, 0);
            return;
        }
        if (rc == 1) {
            response_complete(c);
            return;
        }
    }
    if (c->resp.complete && !c->resp_done && c->resp_started)
        response_complete(c);
}

static void upstream_read_cb(struct bufferevent *bev, void *arg)
{
    proxy_conn *c = arg;
    if (c->state == CONN_EXCHANGE && c->upstream == bev) {
        if (c->resp.in_body && evbuffer_get_length(bufferevent_get_input(bev)) < CONN_OUT_HIGH)
            fastio_slurp(bev, CONN_IO_CHUNK);
        pump_response(c);
        return;
    }
    /* Data on an idle kept-alive upstream connection: it cannot be reused. */
    if (c->state != CONN_EXCHANGE)
        free_upstream(c);
}

static void upstream_write_cb(struct bufferevent *bev, void *arg)
{
    proxy_conn *c = arg;
    if (c->state == CONN_EXCHANGE && !c->req_done &&
        evbuffer_get_length(bufferevent_get_output(bev)) <= CONN_OUT_LOW)
        pump_request_body(c);
}

/* An origin may close a kept-alive connection just as the next request goes out. A request
 * without a body and with a safe method that got no byte of answer is then sent once more on
 * a new connection instead of failing. Returns 1 when it was. */
static int retry_on_fresh_connection(proxy_conn *c, struct bufferevent *bev, short what)
{
    unsigned m = c->req.head.method_id;
    if (!c->up_reused || (what & BEV_EVENT_TIMEOUT) || c->resp_started || c->resp.scan.pos ||
        evbuffer_get_length(bufferevent_get_input(bev)) || c->req_kind != HTTP_BODY_NONE ||
        (m != HTTP_GET && m != HTTP_HEAD && m != HTTP_OPTIONS))
        return 0;
    char key[sizeof c->up_key];
    snprintf(key, sizeof key, "%s", c->up_key);
    free_upstream(c);
    c->up_reused = 0;
    snprintf(c->up_key, sizeof c->up_key, "%s", key);
    ag_log(AG_LOG_DEBUG, "upstream_retry", "id=%s host=%s", c->id, c->target.host);
    dial_start(c);
    return 1;
}

static void upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
    proxy_conn *c = arg;
    if (c->state != CONN_EXCHANGE) {
        free_upstream(c); /* an idle kept-alive upstream went away */
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        char msg[96];
        snprintf(msg, sizeof msg, "did not respond within %us", cfg_of(c)->timeout_response);
        upstream_failed(c, 504, msg);
        return;
    }
    if (retry_on_fresh_connection(c, bev, what))
        return;
    if ((what & BEV_EVENT_EOF) && c->resp.in_body && c->resp.body_kind == HTTP_BODY_UNTIL_CLOSE) {
        pump_response(c);
        if (c->state != CONN_EXCHANGE || c->resp_done)
            return;
        c->resp.complete = 1; /* the body was delimited by the close */
        c->resp.keep_alive = 0;
        free_upstream(c);
        response_complete(c);
        return;
    }
    int e = EVUTIL_SOCKET_ERROR();
    char msg[200];
    if (what & BEV_EVENT_EOF)
        snprintf(msg, sizeof msg, "closed the connection %s",
                 c->resp_started ? "in the middle of the response" : "before responding");
    else
        snprintf(msg, sizeof msg, "connection error: %s", evutil_socket_error_to_string(e));
    upstream_failed(c, 502, msg);
}

/* ------------------------------------------------------------------ tunnel */

static void tunnel_close_when_flushed(proxy_conn *c, struct bufferevent *other)
{
    bufferevent_disable(c->client, EV_READ);
    if (c->upstream)
        bufferevent_disable(c->upstream, EV_READ);
    if (!other || evbuffer_get_length(bufferevent_get_output(other)) == 0) {
        conn_close(c);
        return;
    }
    c->close_after = 1;
}

static void tunnel_read_cb(struct bufferevent *bev, void *arg)
{
    proxy_conn *c = arg;
    struct bufferevent *other = bev == c->client ? c->upstream : c->client;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (evbuffer_get_length(bufferevent_get_output(other)) <= CONN_OUT_LOW)
        fastio_slurp(bev, CONN_IO_CHUNK);
    size_t n = evbuffer_get_length(in);
    if (bev == c->client)
        c->bytes_in += n;
    else
        c->bytes_out += n;
    c->tunnel_activity_us = ag_monotonic_us();
    fastio_write_through(in, other, n);
    evbuffer_add_buffer(bufferevent_get_output(other), in);
    if (evbuffer_get_length(bufferevent_get_output(other)) > CONN_OUT_HIGH)
        bufferevent_disable(bev, EV_READ);
}

static void tunnel_write_cb(struct bufferevent *bev, void *arg)
{
    proxy_conn *c = arg;
    struct bufferevent *other = bev == c->client ? c->upstream : c->client;
    if (c->close_after) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            conn_close(c);
        return;
    }
    c->tunnel_activity_us = ag_monotonic_us();
    if (evbuffer_get_length(bufferevent_get_output(bev)) <= CONN_OUT_LOW)
        bufferevent_enable(other, EV_READ);
}

static void tunnel_event_cb(struct bufferevent *bev, short what, void *arg)
{
    proxy_conn *c = arg;
    struct bufferevent *other = bev == c->client ? c->upstream : c->client;
    if (what & BEV_EVENT_ERROR) {
        conn_close(c);
        return;
    }
    /* EOF on one side: pass on what is buffered, then close both. */
    tunnel_read_cb(bev, c);
    tunnel_close_when_flushed(c, other);
}

static void send_established(proxy_conn *c)
{
    static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    evbuffer_add(bufferevent_get_output(c->client), established, sizeof established - 1);
    c->bytes_out += sizeof established - 1;
    c->status = 200;
}

static void start_tunnel(proxy_conn *c)
{
    c->state = CONN_TUNNEL;
    /* A tunnel parses no more HTTP: give the head buffers back (idle tunnels stay small). */
    http_stream_free(&c->req);
    http_stream_free(&c->resp);
    c->tunnel_activity_us = ag_monotonic_us();
    bufferevent_setcb(c->client, tunnel_read_cb, tunnel_write_cb, tunnel_event_cb, c);
    bufferevent_setcb(c->upstream, tunnel_read_cb, tunnel_write_cb, tunnel_event_cb, c);
    bufferevent_setwatermark(c->upstream, EV_WRITE, CONN_OUT_LOW, 0);
    bufferevent_setwatermark(c->upstream, EV_READ, 0, CONN_OUT_HIGH);
    bufferevent_set_timeouts(c->client, NULL, NULL);
    bufferevent_set_timeouts(c->upstream, NULL, NULL);
    arm_timer(c, cfg_of(c)->timeout_tunnel_idle);
    bufferevent_enable(c->client, EV_READ);
    bufferevent_enable(c->upstream, EV_READ);
    /* Bytes that arrived with the request or response head (a ClientHello, first frames). */
    if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
        tunnel_read_cb(c->client, c);
    if (c->upstream && evbuffer_get_length(bufferevent_get_input(c->upstream)) > 0)
        tunnel_read_cb(c->upstream, c);
}

/* ------------------------------------------------------------------ upstream connected */

/* Passthrough: the upstream is dialled only for a ClientHello naming the CONNECT host. */
static void check_client_hello(proxy_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->client);
    size_t n = evbuffer_get_length(in);
    if (n > TLS_HELLO_MAX)
        n = TLS_HELLO_MAX;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)n);
    char sni[256], why[160];
    tls_hello_status st = tls_hello_sni(p, n, sni, sizeof sni, why, sizeof why);
    if (st == TLS_HELLO_MORE && n < TLS_HELLO_MAX)
        return;
    size_t sl = strlen(sni);
    if (sl && sni[sl - 1] == '.')
        sni[sl - 1] = '\0';
    /* Clients send no SNI for an IP literal (RFC 6066 3): then there is no other name to reach. */
    unsigned char ip[16];
    int literal = inet_pton(AF_INET, c->target.host, ip) == 1 || inet_pton(AF_INET6, c->target.host, ip) == 1;
    if (st == TLS_HELLO_OK && ((sni[0] && !strcasecmp(sni, c->target.host)) || (!sni[0] && literal))) {
        evtimer_del(c->timer);
        dial_connect_resolved(c); /* the ClientHello stays buffered until the tunnel opens */
        return;
    }
    if (st == TLS_HELLO_OK)
        snprintf(why, sizeof why, sni[0] ? "SNI %.100s does not match the CONNECT host" : "ClientHello without SNI", sni);
    else if (st == TLS_HELLO_MORE)
        snprintf(why, sizeof why, "ClientHello too large");
    snprintf(c->reason, sizeof c->reason, "passthrough refused: %s %s", why, c->target.host);
    c->status = 403;
    conn_close(c);
}

/* A passthrough tunnel whose host resolved to an address the guard allows answers 200 and
 * reads the ClientHello (one TLS record, within the header timeout) before connecting: a
 * tunnel refused for its SNI never opens a connection to the origin. From the 200 on, a
 * failure can only close the connection. */
void conn_passthrough_resolved(proxy_conn *c)
{
    send_established(c);
    c->status = 0; /* 200 once the tunnel opens; the failure's status otherwise */
    c->resp_started = 1;
    c->state = CONN_HELLO;
    http_stream_free(&c->req); /* no more HTTP on this connection */
    http_stream_free(&c->resp);
    arm_timer(c, cfg_of(c)->timeout_header);
    bufferevent_enable(c->client, EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
        check_client_hello(c);
}

void conn_upstream_ready(proxy_conn *c)
{
    if (c->target.is_connect) {
        if (c->decision.tls == POLICY_TLS_PASSTHROUGH) {
            c->status = 200;
            start_tunnel(c);
        } else
            mitm_secure_upstream(c);
        return;
    }
    if (c->tls_intercepted && !c->up_secured) {
        mitm_secure_upstream(c);
        return;
    }
    conn_send_request(c);
}

void conn_upstream_secured(proxy_conn *c)
{
    c->up_secured = 1;
    if (c->target.is_connect) {
        send_established(c);
        mitm_secure_client(c);
        return;
    }
    conn_send_request(c);
}

/* The client finished its TLS handshake with our leaf: the CONNECT exchange is logged and the
 * connection becomes an HTTP connection whose requests go to the CONNECT authority. */
void conn_client_secured(proxy_conn *c)
{
    c->tls_intercepted = 1;
    snprintf(c->tunnel_host, sizeof c->tunnel_host, "%s", c->target.host);
    c->tunnel_port = c->target.port;
    snprintf(c->tunnel_agent, sizeof c->tunnel_agent, "%s", c->agent);
    log_exchange(c);
    if (c->upstream) {
        bufferevent_setcb(c->upstream, upstream_read_cb, upstream_write_cb, upstream_event_cb, c);
        bufferevent_enable(c->upstream, EV_READ);
        if (!c->up_policy)
            c->up_policy = policy_ref(c->pol);
    }
    policy_unref(c->pol);
    c->pol = NULL;
    c->heads_seen = 0;
    bufferevent_setcb(c->client, client_read_cb, client_write_cb, client_event_cb, c);
    size_t high = CONN_OUT_HIGH > CONN_REQ_HEAD_MAX(c) ? CONN_OUT_HIGH : CONN_REQ_HEAD_MAX(c);
    bufferevent_setwatermark(c->client, EV_READ, 0, high);
    bufferevent_setwatermark(c->client, EV_WRITE, CONN_OUT_LOW, 0);
    enter_head_state(c);
}

void conn_send_request(proxy_conn *c)
{
    c->state = CONN_EXCHANGE;
    uint64_t cl = 0;
    http_body_kind kind = http_stream_body_kind(&c->req, &cl);
    c->req_remaining = cl;
    size_t cap = cfg_of(c)->max_header_bytes + sizeof c->target.path + 1024;
    char *buf = malloc(cap);
    /* A sanitized HTML body must be whole: never ask the origin for a byte range of it. */
    static const char *const no_ranges[] = {"range", "if-range", NULL};
    const char *const *drop = c->decision.sanitize != POLICY_SANITIZE_OFF ? no_ranges : NULL;
    long n = buf ? http_build_request(&c->req.head, &c->target, kind, cl, drop, buf, cap) : -1;
    if (n < 0) {
        free(buf);
        conn_refuse(c, 400, "request head too large to forward", 1);
        return;
    }
    bufferevent_setcb(c->upstream, upstream_read_cb, upstream_write_cb, upstream_event_cb, c);
    bufferevent_setwatermark(c->upstream, EV_WRITE, CONN_OUT_LOW, 0);
    bufferevent_setwatermark(c->upstream, EV_READ, 0, CONN_OUT_HIGH + CONN_REQ_HEAD_MAX(c));
    evbuffer_add(bufferevent_get_output(c->upstream), buf, (size_t)n);
    free(buf);
    http_stream_reset(&c->resp);
    c->resp.skip_body = c->req.head.method_id == HTTP_HEAD;
    c->resp.on_body = resp_on_body;
    c->resp.ctx = c;
    c->req.on_body = req_on_body;
    c->req.ctx = c;
    struct timeval rt = {(time_t)cfg_of(c)->timeout_response, 0};
    bufferevent_set_timeouts(c->upstream, &rt, NULL);
    bufferevent_enable(c->upstream, EV_READ); /* writes: fastio's flush, or libevent when it is off */
    /* With the whole request read, client reading stays on (turning it off and on again costs
     * two epoll_ctl calls per request): client_read_cb stops it if pipelined bytes arrive, and
     * an EOF meanwhile only marks the connection to close after the response. */
    struct timeval it = {(time_t)cfg_of(c)->timeout_idle, 0};
    bufferevent_set_timeouts(c->client, c->req_done ? NULL : &it, NULL);
    if (!c->req_done)
        pump_request_body(c);
    if (c->state == CONN_EXCHANGE && evbuffer_get_length(bufferevent_get_input(c->upstream)) > 0)
        pump_response(c);
}

/* ------------------------------------------------------------------ client callbacks */

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    proxy_conn *c = arg;
    switch (c->state) {
    case CONN_HEAD:
        process_head(c);
        return;
    case CONN_EXCHANGE:
        if (!c->req_done && c->req.head.arena &&
            evbuffer_get_length(bufferevent_get_input(bev)) < CONN_OUT_HIGH)
            fastio_slurp(bev, CONN_IO_CHUNK);
        if (!c->req_done)
            pump_request_body(c);
        else
            bufferevent_disable(bev, EV_READ);
        return;
    case CONN_CLOSING:
        if (c->lingering) {
            struct evbuffer *in = bufferevent_get_input(bev);
            c->linger_bytes += evbuffer_get_length(in);
            evbuffer_drain(in, evbuffer_get_length(in));
            if (c->linger_bytes > (1u << 20))
                conn_close(c);
            return;
        }
        bufferevent_disable(bev, EV_READ);
        return;
    case CONN_HELLO:
        check_client_hello(c);
        return;
    case CONN_DIAL:
    case CONN_TUNNEL:
    case CONN_TLS:
        bufferevent_disable(bev, EV_READ);
        return;
    }
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
    proxy_conn *c = arg;
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
    switch (c->state) {
    case CONN_CLOSING:
        if (pending == 0 && !c->lingering)
            linger_or_close(c);
        return;
    case CONN_EXCHANGE:
        if (c->upstream && !c->resp_done && pending <= CONN_OUT_LOW) {
            bufferevent_enable(c->upstream, EV_READ);
            pump_response(c);
        }
        return;
    case CONN_HEAD:
    case CONN_DIAL:
    case CONN_TUNNEL:
    case CONN_TLS:
    case CONN_HELLO:
        return;
    }
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    proxy_conn *c = arg;
    if (c->state == CONN_EXCHANGE && (what & BEV_EVENT_TIMEOUT) && !c->req_done) {
        conn_refuse(c, 408, "request body not received in time", 1);
        return;
    }
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->client_eof) {
        /* A half-close after pipelined requests: answer what was sent, then close. */
        int pending = evbuffer_get_length(bufferevent_get_input(c->client)) > 0;
        c->client_eof = 1;
        bufferevent_disable(bev, EV_READ);
        if (c->state == CONN_HEAD && pending) {
            process_head(c);
            return;
        }
        if (c->state == CONN_EXCHANGE && c->req_done) {
            c->close_after = 1;
            return;
        }
    }
    if (c->state == CONN_EXCHANGE && c->start_mono && !c->reason[0])
        snprintf(c->reason, sizeof c->reason, "client closed the connection");
    if (c->state == CONN_HELLO && !c->reason[0])
        snprintf(c->reason, sizeof c->reason, "passthrough: client closed before its ClientHello");
    conn_close(c);
}
