/* proxy/dial: from a host name to a connected upstream socket — asynchronous DNS (evdns, with
 * the configured hosts file and nameservers), the address guard on every resolved address
 * (reserved ranges refused unless the policy names them), a connect timeout, and the next
 * address on failure. Reports back with conn_upstream_ready() or a refusal; a passthrough
 * tunnel stops after the guard (conn_passthrough_resolved()) until its ClientHello is checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "proxy/proxy.h"
#include "proxy/server.h"

static void addr_to_string(const struct sockaddr *sa, char *out, size_t outsz)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf(out, outsz, "%s:%u", ip, ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf(out, outsz, "[%s]:%u", ip, ntohs(v6->sin6_port));
    } else {
        snprintf(out, outsz, "?");
    }
}

/* The address guard: 1 when the address may be connected to, else 0 with why filled. */
static int addr_allowed(proxy_conn *c, const struct sockaddr *sa, char *why, size_t whysz)
{
    int family;
    const uint8_t *bytes;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        family = 4;
        bytes = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        inet_ntop(AF_INET, bytes, ip, sizeof ip);
    } else if (sa->sa_family == AF_INET6) {
        family = 6;
        bytes = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        inet_ntop(AF_INET6, bytes, ip, sizeof ip);
    } else {
        snprintf(why, whysz, "unsupported address family of %s", c->target.host);
        return 0;
    }
    const char *range = addrguard_classify(family, bytes);
    if (!range)
        return 1;
    policy_decision d;
    memset(&d, 0, sizeof d);
    if (policy_private_allowed(c->pol, c->agent, c->target.host, family, bytes, &d))
        return 1;
    snprintf(why, whysz, "address %s of %s is %s", ip, c->target.host, range);
    return 0;
}

static void connect_next(proxy_conn *c);

static void connect_event_cb(struct bufferevent *bev, short what, void *arg)
{
    proxy_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        evtimer_del(c->timer);
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        evutil_freeaddrinfo(c->addrs);
        c->addrs = c->next_addr = NULL;
        fastio_attach(c->w, &c->out_upstream, bev);
        conn_upstream_ready(c);
        return;
    }
    int e = EVUTIL_SOCKET_ERROR();
    snprintf(c->dial_error, sizeof c->dial_error, "%s (%s)",
             e ? evutil_socket_error_to_string(e) : "connection failed", c->up_addr);
    evtimer_del(c->timer);
    bufferevent_free(bev);
    c->upstream = NULL;
    connect_next(c);
}

static void dial_fail(proxy_conn *c, const char *guard_refusal)
{
    char reason[256];
    evutil_freeaddrinfo(c->addrs);
    c->addrs = c->next_addr = NULL;
    if (c->dial_timed_out && !c->dial_error[0]) {
        snprintf(reason, sizeof reason, "connect to %s:%u timed out after %us", c->target.host,
                 c->target.port, c->w->srv->cfg.timeout_connect);
        conn_refuse(c, 504, reason, 1);
    } else if (c->dial_error[0]) {
        snprintf(reason, sizeof reason, "cannot connect to %s:%u: %s", c->target.host,
                 c->target.port, c->dial_error);
        conn_refuse(c, c->dial_timed_out ? 504 : 502, reason, 1);
    } else {
        c->decision.verdict = POLICY_DENY;
        snprintf(c->decision.rule, sizeof c->decision.rule, "address-guard");
        conn_refuse(c, 403, guard_refusal, !c->req.complete);
    }
}

/* A passthrough tunnel is connected only after its ClientHello named the CONNECT host; until
 * the 200 that asks for it has gone out, resolving and the address guard are as far as it goes. */
static int awaiting_client_hello(const proxy_conn *c)
{
    return c->target.is_connect && c->decision.tls == POLICY_TLS_PASSTHROUGH && !c->resp_started;
}

static void connect_next(proxy_conn *c)
{
    char why[256] = "";
    while (c->next_addr) {
        struct evutil_addrinfo *ai = c->next_addr;
        c->next_addr = ai->ai_next;
        if (!addr_allowed(c, ai->ai_addr, why, sizeof why))
            continue;
        if (awaiting_client_hello(c)) {
            c->next_addr = ai; /* connected to by dial_connect_resolved() */
            conn_passthrough_resolved(c);
            return;
        }
        addr_to_string(ai->ai_addr, c->up_addr, sizeof c->up_addr);
        struct bufferevent *bev = bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!bev) {
            snprintf(c->dial_error, sizeof c->dial_error, "out of memory");
            continue;
        }
        bufferevent_setcb(bev, NULL, NULL, connect_event_cb, c);
        conn_tune_io(bev);
        if (bufferevent_socket_connect(bev, ai->ai_addr, (int)ai->ai_addrlen) < 0) {
            int e = EVUTIL_SOCKET_ERROR();
            snprintf(c->dial_error, sizeof c->dial_error, "%s (%s)",
                     evutil_socket_error_to_string(e), c->up_addr);
            bufferevent_free(bev);
            continue;
        }
        c->upstream = bev;
        struct timeval tv = {(time_t)c->w->srv->cfg.timeout_connect, 0};
        evtimer_add(c->timer, &tv);
        return;
    }
    dial_fail(c, why[0] ? why : "no usable address");
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    if (result == EVUTIL_EAI_CANCEL) {
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    proxy_conn *c = arg;
    c->dns_req = NULL;
    evtimer_del(c->timer);
    c->dns_err = result;
    c->addrs = c->next_addr = res;
    c->dns_done = 1;
    /* The callback may run inside evdns_getaddrinfo() (hosts file, IP literals): continue from
     * the event loop so the caller's stack is never re-entered. */
    event_active(c->resume_ev, EV_TIMEOUT, 1);
}

void dial_start(proxy_conn *c)
{
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    char port[8];
    snprintf(port, sizeof port, "%u", c->target.port);
    c->state = CONN_DIAL;
    c->dns_done = 0;
    c->dns_err = 0;
    c->dial_error[0] = '\0';
    c->dial_timed_out = 0;
    c->up_addr[0] = '\0';
    bufferevent_disable(c->client, EV_READ);
    struct evdns_getaddrinfo_request *r =
        evdns_getaddrinfo(c->w->dns, c->target.host, port, &hints, dns_cb, c);
    if (c->dns_done)
        return; /* answered from the hosts file or an IP literal */
    if (evdns_base_count_nameservers(c->w->dns) == 0) {
        /* No nameserver would ever answer: the hosts file was the only source. */
        if (r)
            evdns_getaddrinfo_cancel(r);
        c->dns_err = EVUTIL_EAI_NONAME;
        c->dns_done = 1;
        event_active(c->resume_ev, EV_TIMEOUT, 1);
        return;
    }
    c->dns_req = r;
    struct timeval tv = {(time_t)c->w->srv->cfg.timeout_connect, 0};
    evtimer_add(c->timer, &tv);
}

void dial_on_resume(proxy_conn *c)
{
    if (!c->dns_done)
        return;
    c->dns_done = 0;
    if (c->dns_err) {
        char reason[256];
        snprintf(reason, sizeof reason, "DNS lookup of %s failed: %s", c->target.host,
                 c->dns_err == EVUTIL_EAI_NONAME ? "no such host (NXDOMAIN)"
                                                 : evutil_gai_strerror(c->dns_err));
        conn_refuse(c, 502, reason, 1);
        return;
    }
    connect_next(c);
}

void dial_connect_resolved(proxy_conn *c)
{
    c->state = CONN_DIAL;
    bufferevent_disable(c->client, EV_READ);
    connect_next(c);
}

void dial_on_timer(proxy_conn *c)
{
    if (c->dns_req) {
        char reason[256];
        evdns_getaddrinfo_cancel(c->dns_req);
        c->dns_req = NULL;
        snprintf(reason, sizeof reason, "DNS lookup of %s timed out after %us", c->target.host,
                 c->w->srv->cfg.timeout_connect);
        conn_refuse(c, 504, reason, 1);
        return;
    }
    if (!c->upstream)
        return;
    c->dial_timed_out = 1;
    snprintf(c->dial_error, sizeof c->dial_error, "connect timed out after %us (%s)",
             c->w->srv->cfg.timeout_connect, c->up_addr);
    bufferevent_free(c->upstream);
    c->upstream = NULL;
    connect_next(c);
}

void dial_cancel(proxy_conn *c)
{
    if (c->dns_req) {
        evdns_getaddrinfo_cancel(c->dns_req);
        c->dns_req = NULL;
    }
    if (c->addrs)
        evutil_freeaddrinfo(c->addrs);
    c->addrs = c->next_addr = NULL;
    c->dns_done = 0;
}
