/* proxy/server: process-level machinery — the policy snapshot (swapped atomically under a lock,
 * reference-counted so in-flight exchanges keep theirs), one worker thread per core with its own
 * event_base, evdns base and SO_REUSEPORT listener sockets, and the main thread that waits for
 * signals: SIGHUP reloads the policy, SIGTERM/SIGINT drain and exit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/thread.h>

#include "proxy/server.h"

policy *proxy_policy_get(proxy_server *srv)
{
    pthread_mutex_lock(&srv->policy_lock);
    policy *p = policy_ref(srv->policy);
    pthread_mutex_unlock(&srv->policy_lock);
    return p;
}

static int load_policy(const proxy_config *cfg, policy **out, ag_error *err)
{
    if (cfg->policy_path[0])
        return policy_load(cfg->policy_path, out, err);
    return policy_load_embedded(out, err);
}

static void reload_policy(proxy_server *srv)
{
    policy *fresh = NULL;
    ag_error err = {{0}};
    if (load_policy(&srv->cfg, &fresh, &err) != AG_OK) {
        char q[600];
        ag_log(AG_LOG_ERROR, "policy_reload", "status=error error=%s",
               ag_log_quote(q, sizeof q, err.msg));
        return;
    }
    pthread_mutex_lock(&srv->policy_lock);
    policy *old = srv->policy;
    srv->policy = fresh;
    pthread_mutex_unlock(&srv->policy_lock);
    policy_unref(old);
    ag_log(AG_LOG_INFO, "policy_reload", "status=ok agents=%zu", policy_agent_count(fresh));
}

/* ------------------------------------------------------------------ listeners */

static int open_listener(const proxy_listener_cfg *l, ag_error *err)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ag_errorf(err, "listen %s: socket: %s", l->address, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        close(fd);
        return ag_errorf(err, "listen %s: SO_REUSEPORT: %s", l->address, strerror(errno));
    }
    if (l->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        return ag_errorf(err, "listen %s: %s", l->address, strerror(e));
    }
    return fd;
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    proxy_worker *w = arg;
    size_t i = 0;
    while (i < w->srv->cfg.nlisteners && w->listeners[i] != lev)
        i++;
    size_t n = atomic_fetch_add(&w->srv->nconns, 1) + 1;
    if (n > w->srv->cfg.max_connections || w->draining) {
        /* Over the limit: accept, answer 503 and close, so clients see why. */
        static const char busy[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "X-Agentgate-Reason: too many connections\r\nConnection: close\r\n"
            "Content-Length: 21\r\n\r\ntoo many connections\n";
        ssize_t wr = send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)wr;
        evutil_closesocket(fd);
        atomic_fetch_sub(&w->srv->nconns, 1);
        ag_log(AG_LOG_WARN, "connection_refused", "reason=max_connections limit=%zu",
               w->srv->cfg.max_connections);
        return;
    }
    conn_accept(w, fd, sa, salen, &w->srv->cfg.listeners[i]);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    proxy_worker *w = arg;
    w->draining = 1;
    for (size_t i = 0; i < w->srv->cfg.nlisteners; i++) {
        if (w->listeners[i]) {
            evconnlistener_free(w->listeners[i]);
            w->listeners[i] = NULL;
        }
    }
    worker_drain_conns(w);
    if (w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

/* ------------------------------------------------------------------ exchange log */

static void log_flush(proxy_worker *w)
{
    size_t off = 0;
    while (off < w->log_len) {
        ssize_t n = write(STDERR_FILENO, w->log_buf + off, w->log_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* like ag_log: a log that cannot be written is not the exchange's failure */
        off += (size_t)n;
    }
    w->log_len = 0;
}

static void log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    log_flush(arg);
}

void worker_log_exchange(proxy_worker *w, const char *fmt, ...)
{
    if (!w->srv->cfg.log_exchanges)
        return;
    uint64_t now = ag_now_us();
    if (now / 1000000u != w->log_sec || !w->log_time[0]) {
        time_t secs = (time_t)(now / 1000000u);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(w->log_time, sizeof w->log_time, "%Y-%m-%dT%H:%M:%S", &tm);
        w->log_sec = now / 1000000u;
    }
    char line[sizeof w->log_buf];
    int n = snprintf(line, sizeof line, "time=%s.%06uZ level=info event=exchange ", w->log_time,
                     (unsigned)(now % 1000000u));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    line[len++] = '\n';
    if (w->log_len + len > sizeof w->log_buf)
        log_flush(w);
    memcpy(w->log_buf + w->log_len, line, len);
    if (w->log_len == 0 && w->log_ev)
        event_active(w->log_ev, EV_TIMEOUT, 1);
    w->log_len += len;
    if (!w->log_ev)
        log_flush(w);
}

/* ------------------------------------------------------------------ workers */

static int worker_setup_dns(proxy_worker *w, ag_error *err)
{
    const proxy_config *cfg = &w->srv->cfg;
    w->dns = evdns_base_new(w->base, 0);
    if (!w->dns)
        return ag_errorf(err, "dns: cannot create resolver");
    if (!cfg->nameservers_set) {
        int rc = evdns_base_resolv_conf_parse(w->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf");
        if (rc != 0 && rc != 6) /* 6: resolv.conf lists no nameserver (the hosts file still works) */
            ag_log(AG_LOG_WARN, "dns", "resolv_conf=/etc/resolv.conf status=error code=%d", rc);
    } else {
        for (size_t i = 0; i < cfg->nnameservers; i++)
            if (evdns_base_nameserver_ip_add(w->dns, cfg->nameservers[i]) != 0)
                return ag_errorf(err, "dns.nameservers: cannot use '%s'", cfg->nameservers[i]);
    }
    if (cfg->hosts_file[0] && evdns_base_load_hosts(w->dns, cfg->hosts_file) != 0)
        return ag_errorf(err, "dns.hosts_file: cannot read %s", cfg->hosts_file);
    char t[16];
    snprintf(t, sizeof t, "%u", cfg->timeout_connect);
    evdns_base_set_option(w->dns, "timeout:", t);
    return AG_OK;
}

static int worker_init(proxy_server *srv, proxy_worker *w, int index, ag_error *err)
{
    memset(w, 0, sizeof *w);
    w->srv = srv;
    w->index = index;
    for (size_t i = 0; i < PROXY_MAX_LISTENERS; i++)
        w->listener_fds[i] = -1;
    w->base = event_base_new();
    if (!w->base)
        return ag_errorf(err, "worker %d: cannot create event base", index);
    if (worker_setup_dns(w, err) != AG_OK)
        return AG_ERR;
    w->stop_ev = event_new(w->base, -1, 0, stop_cb, w);
    w->log_ev = event_new(w->base, -1, 0, log_flush_cb, w);
    if (!w->stop_ev || !w->log_ev || fastio_worker_init(w) != 0)
        return ag_errorf(err, "worker %d: cannot create its events", index);
    for (size_t i = 0; i < srv->cfg.nlisteners; i++) {
        int fd = open_listener(&srv->cfg.listeners[i], err);
        if (fd < 0)
            return AG_ERR;
        w->listener_fds[i] = fd;
        w->listeners[i] = evconnlistener_new(w->base, accept_cb, w, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        if (!w->listeners[i]) {
            close(fd);
            return ag_errorf(err, "listen %s: cannot create listener", srv->cfg.listeners[i].address);
        }
    }
    return AG_OK;
}

static void worker_free(proxy_worker *w)
{
    while (w->conns)
        conn_close(w->conns);
    for (size_t i = 0; i < PROXY_MAX_LISTENERS; i++)
        if (w->listeners[i])
            evconnlistener_free(w->listeners[i]);
    if (w->stop_ev)
        event_free(w->stop_ev);
    log_flush(w);
    mitm_worker_free(w);
    if (w->log_ev)
        event_free(w->log_ev);
    fastio_worker_free(w);
    if (w->dns)
        evdns_base_free(w->dns, 1);
    if (w->base)
        event_base_free(w->base);
    memset(w, 0, sizeof *w);
}

static void *worker_main(void *arg)
{
    proxy_worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* ------------------------------------------------------------------ run */

static int wait_for_signals(proxy_server *srv, const sigset_t *set)
{
    for (;;) {
        siginfo_t info;
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(set, &info, &ts);
        if (sig == SIGHUP) {
            reload_policy(srv);
        } else if (sig == SIGTERM || sig == SIGINT) {
            return sig;
        }
    }
}

static void shutdown_workers(proxy_server *srv, int sig)
{
    ag_log(AG_LOG_INFO, "shutdown", "signal=%s grace_s=%u connections=%zu",
           sig == SIGTERM ? "SIGTERM" : "SIGINT", srv->cfg.timeout_shutdown_grace,
           atomic_load(&srv->nconns));
    for (int i = 0; i < srv->nworkers; i++)
        event_active(srv->workers[i].stop_ev, EV_TIMEOUT, 1);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += srv->cfg.timeout_shutdown_grace;
    int forced = 0;
    for (int i = 0; i < srv->nworkers; i++) {
        if (pthread_timedjoin_np(srv->workers[i].thread, NULL, &deadline) != 0) {
            forced = 1;
            event_base_loopbreak(srv->workers[i].base);
            pthread_join(srv->workers[i].thread, NULL);
        }
    }
    ag_log(AG_LOG_INFO, "stopped", "forced=%s remaining_connections=%zu", forced ? "yes" : "no",
           atomic_load(&srv->nconns));
}

int proxy_server_run(proxy_config *cfg, ag_error *err)
{
    proxy_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return ag_errorf(err, "out of memory");
    srv->cfg = *cfg;
    srv->start_us = ag_now_us();
    pthread_mutex_init(&srv->policy_lock, NULL);
    /* Signals are taken by the main thread only (sigtimedwait). They are blocked before any
     * thread exists (workers, the provenance writer), since threads inherit the mask: a
     * SIGHUP delivered to a thread that does not block it would end the process. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = AG_ERR;
    if (evthread_use_pthreads() != 0) {
        ag_errorf(err, "libevent threading unavailable");
        goto out;
    }
    if (load_policy(&srv->cfg, &srv->policy, err) != AG_OK)
        goto out;
    if (mitm_open(srv, err) != AG_OK || body_filter_init_rules(srv, err) != AG_OK)
        goto out;
    if (record_open(srv, err) != AG_OK)
        goto out;
    int n = srv->cfg.workers;
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    srv->workers = calloc((size_t)n, sizeof *srv->workers);
    if (!srv->workers) {
        ag_errorf(err, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        srv->nworkers = i + 1;
        if (worker_init(srv, &srv->workers[i], i, err) != AG_OK)
            goto out;
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]) != 0) {
            ag_errorf(err, "cannot start worker thread %d", i);
            for (int j = 0; j < i; j++) {
                event_base_loopbreak(srv->workers[j].base);
                pthread_join(srv->workers[j].thread, NULL);
            }
            goto out;
        }
    }
    ag_log(AG_LOG_INFO, "started", "workers=%d agents=%zu policy=%s", n,
           policy_agent_count(srv->policy), srv->cfg.policy_path[0] ? srv->cfg.policy_path : "<embedded>");
    for (size_t i = 0; i < srv->cfg.nlisteners; i++) {
        char agent[160];
        const proxy_listener_cfg *l = &srv->cfg.listeners[i];
        ag_log(AG_LOG_INFO, "listening", "address=%s agent=%s", l->address,
               ag_log_quote(agent, sizeof agent, l->agent[0] ? l->agent : "-"));
    }
    int sig = wait_for_signals(srv, &set);
    shutdown_workers(srv, sig);
    rc = AG_OK;
out:
    if (srv->workers)
        for (int i = 0; i < srv->nworkers; i++)
            worker_free(&srv->workers[i]);
    free(srv->workers);
    record_close(srv); /* after the workers: closing connections still record */
    mitm_close(srv);
    body_filter_free_rules(srv);
    if (srv->policy)
        policy_unref(srv->policy);
    pthread_mutex_destroy(&srv->policy_lock);
    free(srv);
    return rc;
}
