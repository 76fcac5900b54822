/* proxy/server: the types shared by the proxy's internals — the server (configuration, policy
 * snapshot, workers), a worker (one thread, one event_base, its own listener sockets), and a
 * client connection with its explicit state machine. Private to the proxy module. */
#ifndef AG_PROXY_SERVER_H
#define AG_PROXY_SERVER_H

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <pthread.h>
#include <stdatomic.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "allowlists/policy.h"
#include "provenance/provenance.h"
#include "proxy/config.h"
#include "proxy/http.h"

typedef struct proxy_server proxy_server;
typedef struct proxy_worker proxy_worker;
typedef struct proxy_conn proxy_conn;
typedef struct body_filter body_filter;

/* A socket bufferevent whose output the proxy writes itself (fastio.c): bytes queued on it are
 * written once per event-loop pass, straight to the socket, instead of arming libevent's write
 * event for each response. */
typedef struct fastio_out {
    struct bufferevent *bev;        /* the plain socket bufferevent, or NULL when detached */
    struct evbuffer_cb_entry *cb;   /* our callback on its output */
    proxy_worker *w;
    struct fastio_out *next;        /* in the worker's flush list while queued */
    int queued;
    /* under a TLS filter: the filter's own callbacks on the socket, called through ours */
    bufferevent_data_cb inner_read, inner_write;
    bufferevent_event_cb inner_event;
    void *inner_arg;
    size_t read_chunk;
} fastio_out;
struct sanitizer_rules;

struct proxy_worker {
    proxy_server *srv;
    int index;
    pthread_t thread;
    struct event_base *base;
    struct evdns_base *dns;
    struct evconnlistener *listeners[PROXY_MAX_LISTENERS];
    int listener_fds[PROXY_MAX_LISTENERS];
    struct event *stop_ev;  /* activated by the main thread on SIGTERM/SIGINT */
    int draining;
    size_t nconns;
    proxy_conn *conns;      /* every live connection, for draining */
    uint64_t next_id;
    struct event *flush_ev; /* writes the queued outputs at the end of a loop pass (fastio.c) */
    fastio_out *flush_head;
    /* exchange log lines batched per loop pass (worker_log_exchange) */
    struct event *log_ev;
    char log_buf[4096];     /* at most PIPE_BUF: one write(2) stays atomic on a pipe */
    size_t log_len;
    uint64_t log_sec;       /* second of log_time */
    char log_time[24];      /* "YYYY-MM-DDTHH:MM:SS" of log_sec */
    struct upstream_sessions *tls_sessions; /* TLS sessions to resume upstream (mitm.c) */
};

struct proxy_server {
    proxy_config cfg;
    proxy_worker *workers;
    int nworkers;
    pthread_mutex_t policy_lock;
    policy *policy;          /* current snapshot; take a reference with proxy_policy_get() */
    atomic_size_t nconns;
    uint64_t start_us;
    prov_store *prov;        /* NULL when provenance is disabled */
    struct certs_ca *ca;     /* interception CA and leaf cache (mitm.c) */
    struct leaf_cache *leaves;
    SSL_CTX *upstream_tls;   /* verifies origins: system store + tls.upstream_ca_file */
    struct sanitizer_rules *san_rules; /* shipped + sanitizer.rules; NULL = built-in */
};

/* A reference to the current policy snapshot (release with policy_unref). */
policy *proxy_policy_get(proxy_server *srv);

typedef enum {
    CONN_HEAD,     /* reading a request head (first request or keep-alive) */
    CONN_DIAL,     /* resolving and connecting upstream */
    CONN_EXCHANGE, /* request body and/or response in flight */
    CONN_TUNNEL,   /* CONNECT: bytes spliced both ways */
    CONN_TLS,      /* a TLS handshake (upstream or client side) of an intercepted tunnel */
    CONN_HELLO,    /* passthrough: waiting for the ClientHello to check its SNI */
    CONN_CLOSING   /* final bytes being flushed to the client, then close */
} conn_state;

struct proxy_conn {
    proxy_worker *w;
    conn_state state;
    struct bufferevent *client, *upstream;
    const proxy_listener_cfg *listener;
    char client_addr[64];
    struct event *timer;     /* header/idle, connect or tunnel-idle timeout, by state */
    struct event *resume_ev; /* deferred work: next pipelined request, DNS results */
    int heads_seen;          /* requests started on this connection */
    int head_bytes_seen;     /* the current head has started arriving */
    int client_eof;          /* the client half-closed; finish what it sent, then close */
    int lingering;           /* CLOSING: write side shut, discarding input until EOF */
    size_t linger_bytes;

    /* the exchange in progress */
    policy *pol;
    http_stream req, resp;
    http_target target;
    char agent[128];
    char id[40];
    policy_decision decision;
    int decided;
    uint64_t start_us, start_mono;
    uint64_t bytes_in, bytes_out;
    int status;
    int client_keep_alive, close_after;
    int req_done, resp_done, resp_started;
    http_body_kind req_kind, resp_out_kind;
    uint64_t req_remaining, resp_remaining; /* Content-Length bodies moved without parsing */
    char reason[256];        /* refusal or failure reason, for the log */

    /* upstream */
    char up_key[300];        /* host:port + agent of the kept-alive upstream connection */
    policy *up_policy;       /* snapshot the upstream was guard-checked under */
    int up_reused;           /* the exchange went out on a kept-alive upstream connection */
    char up_addr[64];        /* address actually connected to */
    struct evdns_getaddrinfo_request *dns_req;
    struct evutil_addrinfo *addrs, *next_addr;
    int dns_err;
    int dns_done;
    char dial_error[200];
    int dial_timed_out;
    uint64_t tunnel_activity_us;

    /* provenance of the response body: as received from upstream and as delivered */
    EVP_MD_CTX *hash_received, *hash_delivered;
    int body_filtered;       /* the delivered body differs from the received one */
    int tls_intercepted;     /* the connection is a MITM tunnel: requests inside are origin-form */
    int up_secured;          /* the upstream connection speaks TLS (verified) */
    char tunnel_host[256];   /* CONNECT authority and agent of the intercepted tunnel */
    uint16_t tunnel_port;
    char tunnel_agent[128];
    char tls_fingerprint[96], tls_protocol[24], tls_cipher[64]; /* upstream TLS, when intercepted */
    char up_tls_key[300];    /* host:port whose TLS sessions the upstream handshake stores */
    char *sanitizer_report;  /* JSON, owned; NULL without sanitizing */
    body_filter *filter;     /* the HTML sanitizing pipeline of this response, or NULL */
    uint64_t sanitizer_removed;

    fastio_out out_client, out_upstream; /* the two sockets' outputs, written by fastio.c */

    proxy_conn *prev, *next;
};

/* conn.c */
void conn_accept(proxy_worker *w, evutil_socket_t fd, const struct sockaddr *sa, int salen,
                 const proxy_listener_cfg *listener);
void conn_close(proxy_conn *c);
/* Larger reads and writes per call for a client or upstream bufferevent. */
void conn_tune_io(struct bufferevent *bev);
/* Sends a refusal (400/403/407/502/503/504...) with the reason headers, then ends the exchange. */
void conn_refuse(proxy_conn *c, int status, const char *reason, int close_after);
/* dial.c reports back: the upstream bufferevent is connected (c->upstream set). */
void conn_upstream_ready(proxy_conn *c);
/* dial.c reports back: a passthrough host resolved to an allowed address, nothing connected. */
void conn_passthrough_resolved(proxy_conn *c);
/* Worker drain: close idle connections. */
void worker_drain_conns(proxy_worker *w);

/* dial.c */
void dial_start(proxy_conn *c);
/* Connects to the addresses kept by a dial that stopped at conn_passthrough_resolved(). */
void dial_connect_resolved(proxy_conn *c);
void dial_cancel(proxy_conn *c);
void dial_on_timer(proxy_conn *c);
void dial_on_resume(proxy_conn *c);

/* conn.c, called back by mitm.c */
void conn_upstream_secured(proxy_conn *c);
void conn_client_secured(proxy_conn *c);
void conn_send_request(proxy_conn *c);

/* mitm.c: TLS interception */
int mitm_open(proxy_server *srv, ag_error *err);
void mitm_close(proxy_server *srv);
void mitm_secure_upstream(proxy_conn *c);   /* TLS client handshake, verified → conn_upstream_secured */
void mitm_secure_client(proxy_conn *c);     /* TLS server handshake with a minted leaf → conn_client_secured */
void mitm_on_timer(proxy_conn *c);
void mitm_worker_free(proxy_worker *w);     /* the worker's upstream TLS sessions */
/* Inside a tunnel: 0 when the request's Host matches the CONNECT authority, else -1 + reason. */
int mitm_check_host(proxy_conn *c, char *reason, size_t reasonsz);

/* fastio.c: larger reads and write-through on plain socket bufferevents */
int fastio_is_socket(struct bufferevent *bev);
/* Reads up to max more bytes the socket already has into bev's input. */
void fastio_slurp(struct bufferevent *bev, size_t max);
/* Writes up to n bytes from src directly to dst's socket when dst has nothing queued (they
 * are drained from src). Returns the number written. */
size_t fastio_write_through(struct evbuffer *src, struct bufferevent *dst, size_t n);
/* The worker's flush event (created once per worker). */
int fastio_worker_init(proxy_worker *w);
void fastio_worker_free(proxy_worker *w);
/* From now on the output of the socket bufferevent sock is written by the worker's flush pass
 * (libevent's write event is used only while the socket is full). Idempotent. */
void fastio_attach(proxy_worker *w, fastio_out *o, struct bufferevent *sock);
/* Before sock is freed. */
void fastio_detach(fastio_out *o);
/* After the TLS handshake of a filter over o's socket: reads what the kernel has in one call
 * below the filter too (libevent reads 4 KiB per wakeup, a quarter of a TLS record), and bounds
 * the records queued on the socket so that the filter's own output shows backpressure. */
void fastio_tls_opened(fastio_out *o, size_t read_chunk, size_t out_low, size_t out_high);

/* conn.c: writes response body bytes to the client with the chosen framing */
void conn_write_body(proxy_conn *c, const char *data, size_t len);

/* body_filter.c: in-flight HTML sanitizing */
int body_filter_init_rules(proxy_server *srv, ag_error *err);
void body_filter_free_rules(proxy_server *srv);
int body_filter_applies(const proxy_conn *c);
/* On success: the extra header lines and the header names to drop for the client's head. */
body_filter *body_filter_new(proxy_conn *c, const char **extra_headers, const char *const **drop,
                             char *reason, size_t reasonsz);
void body_filter_feed(body_filter *f, const char *data, size_t len);
void body_filter_finish(body_filter *f);
void body_filter_free(body_filter *f);

/* record.c: one provenance record per exchange */
int record_open(proxy_server *srv, ag_error *err);
void record_close(proxy_server *srv);
void record_exchange_begin(proxy_conn *c);  /* when a response body starts */
void record_body_received(proxy_conn *c, const char *data, size_t len);
void record_body_delivered(proxy_conn *c, const char *data, size_t len);
void record_exchange(proxy_conn *c, const char *decision);
void record_conn_free(proxy_conn *c);

/* server.c */
int proxy_server_run(proxy_config *cfg, ag_error *err);
/* One info-level "exchange" line in ag_log's format, written with the other lines of the same
 * loop pass in one write(2) at the end of it (one write per exchange was a tenth of the
 * proxy's system calls). */
void worker_log_exchange(proxy_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
