/* proxy/mitm: TLS interception of CONNECT tunnels whose allow rule says `tls: mitm`.
 * The upstream side is a verified TLS client (system trust store plus tls.upstream_ca_file,
 * host name check, SNI, TLS >= 1.2, ALPN http/1.1) and is secured before the client gets its
 * 200, so a verification failure is a plain 502 naming the reason, never a re-signed
 * connection. The client side is a TLS server with a leaf minted by certs/ for the CONNECT
 * host. Both sides are bufferevent_openssl filters over the existing sockets, so the HTTP
 * loop of conn.c runs unchanged inside the tunnel. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "certs/certs.h"
#include "proxy/server.h"

/* Below each TLS filter, once open: read up to this much per wakeup, and keep at most HIGH bytes
 * of records queued on the socket (refilled below LOW), the bounds conn.c uses for plain
 * sockets, so that a slow peer stops the other side's reading instead of growing the queue. */
#define MITM_READ_CHUNK (128 * 1024)
#define MITM_SOCK_OUT_LOW (64 * 1024)
#define MITM_SOCK_OUT_HIGH (256 * 1024)

/* ------------------------------------------------------------------ upstream sessions */

/* TLS sessions for the upstream side, per worker (no locking): a few single-use sessions per
 * host:port, so that a new intercepted tunnel resumes the session of an earlier one instead of
 * a full handshake with an origin already verified (no certificate chain to check, no signature
 * to wait for): the upstream handshake is most of what interception adds to a new tunnel. The
 * certificate, and so the recorded fingerprint, come from the resumed session. */
#define SESSION_HOSTS 64
#define SESSIONS_PER_HOST 4

struct upstream_sessions {
    struct {
        char key[300];
        SSL_SESSION *s[SESSIONS_PER_HOST];
        int n;
        uint64_t used;
    } host[SESSION_HOSTS];
    uint64_t tick;
};

static struct upstream_sessions *sessions_of(proxy_worker *w)
{
    if (!w->tls_sessions)
        w->tls_sessions = calloc(1, sizeof *w->tls_sessions);
    return w->tls_sessions;
}

/* The slot of key, or with create the least recently used slot emptied for it; -1 if absent. */
static int sessions_slot(struct upstream_sessions *t, const char *key, int create)
{
    int victim = 0;
    for (int i = 0; i < SESSION_HOSTS; i++) {
        if (t->host[i].key[0] && !strcmp(t->host[i].key, key))
            return i;
        if (!t->host[i].key[0] ? t->host[victim].key[0] != '\0' : t->host[i].used < t->host[victim].used)
            victim = i;
    }
    if (!create)
        return -1;
    for (int j = 0; j < t->host[victim].n; j++)
        SSL_SESSION_free(t->host[victim].s[j]);
    t->host[victim].n = 0;
    snprintf(t->host[victim].key, sizeof t->host[victim].key, "%s", key);
    return victim;
}

/* A session for key, owned by the caller, or NULL (one that expired or became unusable is
 * dropped on the way). */
static SSL_SESSION *sessions_take(proxy_worker *w, const char *key)
{
    struct upstream_sessions *t = sessions_of(w);
    int i = t ? sessions_slot(t, key, 0) : -1;
    if (i < 0)
        return NULL;
    t->host[i].used = ++t->tick;
    while (t->host[i].n > 0) {
        SSL_SESSION *s = t->host[i].s[--t->host[i].n];
        if (SSL_SESSION_is_resumable(s) &&
            SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s) > (long)time(NULL))
            return s;
        SSL_SESSION_free(s);
    }
    return NULL;
}

/* OpenSSL hands over each new session (TLS 1.3: each ticket). A copy is kept: the object itself
 * stays the connection's current session, which OpenSSL marks not resumable when the connection
 * ends without close_notify (as upstream connections of dropped tunnels do). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    proxy_conn *c = SSL_get_app_data(ssl);
    if (!c || !c->up_tls_key[0] || !SSL_SESSION_is_resumable(sess))
        return 0;
    struct upstream_sessions *t = sessions_of(c->w);
    if (!t)
        return 0;
    int i = sessions_slot(t, c->up_tls_key, 1);
    t->host[i].used = ++t->tick;
    if (t->host[i].n == SESSIONS_PER_HOST) {
        SSL_SESSION_free(t->host[i].s[0]);
        memmove(t->host[i].s, t->host[i].s + 1, (SESSIONS_PER_HOST - 1) * sizeof t->host[i].s[0]);
        t->host[i].n--;
    }
    SSL_SESSION *copy = SSL_SESSION_dup(sess);
    if (copy)
        t->host[i].s[t->host[i].n++] = copy;
    return 0;
}

void mitm_worker_free(proxy_worker *w)
{
    struct upstream_sessions *t = w->tls_sessions;
    if (!t)
        return;
    for (int i = 0; i < SESSION_HOSTS; i++)
        for (int j = 0; j < t->host[i].n; j++)
            SSL_SESSION_free(t->host[i].s[j]);
    free(t);
    w->tls_sessions = NULL;
}

/* ------------------------------------------------------------------ set-up */

int mitm_open(proxy_server *srv, ag_error *err)
{
    char dir[PROXY_PATH_MAX + 8];
    if (srv->cfg.tls_ca_dir[0])
        snprintf(dir, sizeof dir, "%s", srv->cfg.tls_ca_dir);
    else
        snprintf(dir, sizeof dir, "%s/ca", srv->cfg.data_dir);
    if (ag_mkdir_p(srv->cfg.data_dir, 0700, err) != AG_OK)
        return ag_error_prefix(err, "data_dir");
    if (certs_ca_load_or_init(dir, &srv->ca, err) != AG_OK)
        return ag_error_prefix(err, "tls.ca_dir");
    srv->leaves = leaf_cache_new(srv->ca, srv->cfg.tls_leaf_cache, err);
    if (!srv->leaves)
        return ag_error_prefix(err, "tls.leaf_cache");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return ag_errorf(err, "tls: cannot create the upstream TLS context");
    srv->upstream_tls = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_verify_paths(ctx);
    if (srv->cfg.tls_upstream_ca_file[0] &&
        SSL_CTX_load_verify_locations(ctx, srv->cfg.tls_upstream_ca_file, NULL) != 1)
        return ag_errorf(err, "tls.upstream_ca_file: cannot load %s", srv->cfg.tls_upstream_ca_file);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    return AG_OK;
}

void mitm_close(proxy_server *srv)
{
    if (srv->upstream_tls)
        SSL_CTX_free(srv->upstream_tls);
    if (srv->leaves)
        leaf_cache_free(srv->leaves);
    if (srv->ca)
        certs_ca_free(srv->ca);
    srv->upstream_tls = NULL;
    srv->leaves = NULL;
    srv->ca = NULL;
}

static int host_is_ip(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The TLS failure in words: the verification result first (expired, unknown issuer, name
 * mismatch), else the OpenSSL error. */
static void tls_failure(struct bufferevent *bev, SSL *ssl, char *out, size_t outsz)
{
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK) {
        snprintf(out, outsz, "certificate verification failed: %s", X509_verify_cert_error_string(vr));
        return;
    }
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(out, outsz, "TLS handshake failed: %s", buf);
        return;
    }
    snprintf(out, outsz, "TLS handshake failed: connection closed");
}

static void note_upstream_tls(proxy_conn *c, SSL *ssl)
{
    snprintf(c->tls_protocol, sizeof c->tls_protocol, "%s", SSL_get_version(ssl));
    snprintf(c->tls_cipher, sizeof c->tls_cipher, "%s", SSL_get_cipher_name(ssl));
    X509 *peer = SSL_get1_peer_certificate(ssl);
    c->tls_fingerprint[0] = '\0';
    if (peer) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (X509_digest(peer, EVP_sha256(), md, &n) == 1)
            for (unsigned int i = 0; i < n && 2 * i + 2 < sizeof c->tls_fingerprint; i++)
                snprintf(c->tls_fingerprint + 2 * i, 3, "%02x", md[i]);
        X509_free(peer);
    }
}

static void upstream_handshake_cb(struct bufferevent *bev, short what, void *arg)
{
    proxy_conn *c = arg;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    evtimer_del(c->timer);
    if (what & BEV_EVENT_CONNECTED) {
        fastio_tls_opened(&c->out_upstream, MITM_READ_CHUNK, MITM_SOCK_OUT_LOW, MITM_SOCK_OUT_HIGH);
        note_upstream_tls(c, ssl);
        ag_log(AG_LOG_DEBUG, "upstream_tls", "id=%s host=%s protocol=%s resumed=%s", c->id,
               c->target.host, c->tls_protocol, SSL_session_reused(ssl) ? "yes" : "no");
        conn_upstream_secured(c);
        return;
    }
    char why[200], reason[300];
    tls_failure(bev, ssl, why, sizeof why);
    snprintf(reason, sizeof reason, "upstream %s:%u: %s", c->target.host, c->target.port, why);
    fastio_detach(&c->out_upstream);
    bufferevent_free(c->upstream);
    c->upstream = NULL;
    conn_refuse(c, 502, reason, 1);
}

void mitm_secure_upstream(proxy_conn *c)
{
    const char *host = c->target.host;
    SSL *ssl = SSL_new(c->w->srv->upstream_tls);
    if (!ssl) {
        conn_refuse(c, 502, "cannot create a TLS session", 1);
        return;
    }
    if (host_is_ip(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    SSL_set_app_data(ssl, c);
    snprintf(c->up_tls_key, sizeof c->up_tls_key, "%s:%u", host, (unsigned)c->target.port);
    SSL_SESSION *resume = sessions_take(c->w, c->up_tls_key);
    if (resume) {
        SSL_set_session(ssl, resume);
        SSL_SESSION_free(resume);
    }
    bufferevent_set_timeouts(c->upstream, NULL, NULL);
    struct bufferevent *tls = bufferevent_openssl_filter_new(
        c->w->base, c->upstream, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!tls) {
        SSL_free(ssl);
        conn_refuse(c, 502, "cannot start upstream TLS", 1);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    fastio_attach(c->w, &c->out_upstream, c->upstream); /* the filter turned libevent's writer on */
    c->upstream = tls;
    c->state = CONN_TLS;
    bufferevent_setcb(tls, NULL, NULL, upstream_handshake_cb, c);
    bufferevent_enable(tls, EV_READ | EV_WRITE);
    struct timeval tv = {(time_t)c->w->srv->cfg.timeout_connect, 0};
    evtimer_add(c->timer, &tv);
}

static void client_handshake_cb(struct bufferevent *bev, short what, void *arg)
{
    proxy_conn *c = arg;
    evtimer_del(c->timer);
    if (what & BEV_EVENT_CONNECTED) {
        fastio_tls_opened(&c->out_client, MITM_READ_CHUNK, MITM_SOCK_OUT_LOW, MITM_SOCK_OUT_HIGH);
        conn_client_secured(c);
        return;
    }
    tls_failure(bev, NULL, c->reason, sizeof c->reason);
    ag_log(AG_LOG_WARN, "client_tls", "id=%s client=%s host=%s status=error", c->id, c->client_addr,
           c->target.host);
    conn_close(c);
}

void mitm_secure_client(proxy_conn *c)
{
    ag_error err = {{0}};
    SSL_CTX *ctx = leaf_cache_get_ctx(c->w->srv->leaves, c->target.host, &err);
    if (!ctx) {
        snprintf(c->reason, sizeof c->reason, "cannot mint a certificate: %s", err.msg);
        conn_close(c);
        return;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the session holds its own reference */
    if (!ssl) {
        conn_close(c);
        return;
    }
    bufferevent_set_timeouts(c->client, NULL, NULL);
    struct bufferevent *tls = bufferevent_openssl_filter_new(
        c->w->base, c->client, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!tls) {
        SSL_free(ssl);
        conn_close(c);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    fastio_attach(c->w, &c->out_client, c->client); /* the filter turned libevent's writer on */
    struct bufferevent *plain = c->client;
    c->client = tls;
    c->state = CONN_TLS;
    bufferevent_setcb(tls, NULL, NULL, client_handshake_cb, c);
    bufferevent_enable(tls, EV_READ | EV_WRITE);
    /* A client that sent its ClientHello together with CONNECT: let the filter see it. */
    if (evbuffer_get_length(bufferevent_get_input(plain)) > 0)
        bufferevent_trigger(plain, EV_READ, BEV_OPT_DEFER_CALLBACKS);
    struct timeval tv = {(time_t)c->w->srv->cfg.timeout_header, 0};
    evtimer_add(c->timer, &tv);
}

void mitm_on_timer(proxy_conn *c)
{
    if (c->target.is_connect && !c->tls_intercepted && c->upstream && !c->up_secured) {
        char reason[256];
        snprintf(reason, sizeof reason, "upstream %s:%u: TLS handshake timed out", c->target.host,
                 c->target.port);
        conn_refuse(c, 504, reason, 1);
        return;
    }
    snprintf(c->reason, sizeof c->reason, "TLS handshake timed out");
    conn_close(c);
}

int mitm_check_host(proxy_conn *c, char *reason, size_t reasonsz)
{
    const char *host = http_head_get(&c->req.head, "host");
    if (!host) {
        snprintf(reason, reasonsz, "missing Host header inside the tunnel to %s", c->tunnel_host);
        return -1;
    }
    char name[300];
    snprintf(name, sizeof name, "%s", host);
    unsigned port = 443;
    char *h = name;
    char *colon;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (close) {
            *close = '\0';
            h++;
            if (close[1] == ':')
                port = (unsigned)atoi(close + 2);
        }
    } else if ((colon = strrchr(h, ':')) && strchr(h, ':') == colon) {
        *colon = '\0';
        port = (unsigned)atoi(colon + 1);
    }
    size_t n = strlen(h);
    if (n && h[n - 1] == '.')
        h[n - 1] = '\0';
    if (strcasecmp(h, c->tunnel_host) != 0 || port != c->tunnel_port) {
        snprintf(reason, reasonsz, "domain fronting: Host %s does not match the CONNECT authority %s:%u",
                 host, c->tunnel_host, (unsigned)c->tunnel_port);
        return -1;
    }
    return 0;
}
