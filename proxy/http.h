/* proxy/http: HTTP/1.1 message framing on top of http_parser, with the extra strictness a
 * proxy needs against request smuggling (CL+TE, duplicate Content-Length, obs-fold, bare CR/LF,
 * NUL, oversized heads). No sockets here: the connection code feeds bytes in and gets heads and
 * body pieces out, so every framing rule is unit-tested on plain buffers. */
#ifndef AG_PROXY_HTTP_H
#define AG_PROXY_HTTP_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_limits {
    size_t max_header_bytes;
    size_t max_headers;
} http_limits;

typedef struct http_header {
    const char *name;
    const char *value;
} http_header;

/* A parsed message head. Strings point into arena, owned by the head. */
typedef struct http_head {
    int is_request;
    char method[24];
    unsigned method_id;          /* enum http_method */
    const char *target;          /* request target as sent */
    int status;                  /* responses */
    const char *reason;          /* responses: reason phrase */
    unsigned short major, minor;
    http_header *headers;
    size_t nheaders, cap_headers;
    char *arena;
    size_t arena_len, arena_cap;
} http_head;

/* Incremental validation of the bytes of a head, before http_parser sees them. */
typedef struct http_head_scanner {
    size_t pos;        /* next byte to look at */
    size_t line_start; /* start of the current line */
    size_t start;      /* first byte of the head (after tolerated leading CRLFs) */
    size_t nlines;     /* complete lines so far, start line included */
    int cl_seen, te_seen;
    char cl_value[32];
} http_head_scanner;

typedef enum { HTTP_SCAN_MORE, HTTP_SCAN_DONE, HTTP_SCAN_ERROR } http_scan_status;

typedef enum { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_UNTIL_CLOSE } http_body_kind;

/* A message stream in one direction: the head, then the body delivered through callbacks. */
typedef int (*http_body_fn)(void *ctx, const char *data, size_t len);

typedef struct http_stream {
    http_parser parser;
    http_parser_settings settings;
    enum http_parser_type type;
    http_limits limits;
    http_head_scanner scan;
    http_head head;
    int in_body;             /* head parsed, body (if any) not complete */
    int complete;            /* message complete */
    int skip_body;           /* response to HEAD */
    int last_was_value;      /* header callback bookkeeping */
    int keep_alive;          /* from the head: version and Connection */
    http_body_kind body_kind;
    uint64_t content_length;
    http_body_fn on_body;    /* body bytes (already de-chunked) */
    void *ctx;
} http_stream;

void http_stream_init(http_stream *s, enum http_parser_type type, const http_limits *limits);
void http_stream_free(http_stream *s);
/* Prepares for the next message on the same connection. */
void http_stream_reset(http_stream *s);

/* Feeds the head. data/len is everything buffered so far (the same prefix on every call, growing).
 * Returns MORE (need more bytes), DONE (*consumed bytes belong to the head; s->head is filled) or
 * ERROR (reason filled, e.g. "bare LF in request head"). */
http_scan_status http_stream_feed_head(http_stream *s, const char *data, size_t len,
                                       size_t *consumed, char *reason, size_t reasonsz);

/* Feeds body bytes after the head. Returns 1 when the message is complete (bytes after it are
 * not consumed), 0 when more is needed, -1 on error (reason filled). *consumed is set. */
int http_stream_feed_body(http_stream *s, const char *data, size_t len, size_t *consumed,
                          char *reason, size_t reasonsz);

/* Checks the body bytes already buffered without consuming them (a copy of the parser runs over
 * them), so a malformed chunked body is refused before anything is sent upstream. Returns 0 or
 * -1 with reason. */
int http_stream_precheck_body(const http_stream *s, const char *data, size_t len, char *reason,
                              size_t reasonsz);

/* Framing of the parsed message's body. */
http_body_kind http_stream_body_kind(const http_stream *s, uint64_t *content_length);
/* 1 when the message allows the connection to stay open (version and Connection header). */
int http_stream_keep_alive(const http_stream *s);

/* Case-insensitive lookup; returns the first value or NULL. */
const char *http_head_get(const http_head *h, const char *name);
/* 1 when name is hop-by-hop for this message: the fixed list or a token of its Connection
 * header. Content-Length and Transfer-Encoding count too: the proxy re-frames every body. */
int http_head_is_hop_by_hop(const http_head *h, const char *name);

/* 1 when the head negotiates a WebSocket (RFC 6455): a GET HTTP/1.1 request, or a 101
 * response, with Connection: upgrade and Upgrade: websocket. Only this upgrade is forwarded:
 * http_build_request and http_build_response then write Connection: Upgrade and
 * Upgrade: websocket themselves; any other Upgrade (h2c, ...) stays hop-by-hop and is dropped. */
int http_head_is_websocket_upgrade(const http_head *h);

/* Target of a proxy request, split. */
typedef struct http_target {
    int is_connect;
    char host[256];       /* without brackets */
    uint16_t port;
    char path[8192];      /* origin-form path + query */
} http_target;

/* Splits a request target: absolute-form http:// (CONNECT: authority-form). Returns 0, or -1
 * with a reason (origin-form requests get the "configure a proxy" message). */
int http_target_parse(const http_head *h, http_target *t, char *reason, size_t reasonsz);

/* Writes the head to forward upstream: origin-form request line, Host from the target,
 * end-to-end headers, the WebSocket upgrade headers when it is one, and the framing the proxy
 * uses (Content-Length or chunked).
 * Returns the length written, or -1 if out is too small. */
long http_build_request(const http_head *h, const http_target *t, http_body_kind body,
                        uint64_t content_length, const char *const *drop, char *out, size_t outsz);
/* Writes the response head for the client: status line, end-to-end headers, the framing chosen
 * (chunked for a body of unknown length), Connection: close when closing, and extra (already
 * formatted "Name: value\r\n" lines, may be NULL). drop: NULL-terminated list of further header
 * names not to copy (may be NULL), for headers the proxy replaces or that no longer apply. */
long http_build_response(const http_head *h, http_body_kind body, uint64_t content_length,
                         int close_after, const char *extra, const char *const *drop, char *out,
                         size_t outsz);

/* Decodes "Basic base64(user:secret)". Returns 0 and fills user/secret, or -1. */
int http_parse_basic_auth(const char *value, char *user, size_t usersz, char *secret,
                          size_t secretsz, size_t *secret_len);

#endif
