/* proxy/http: strict HTTP/1.1 framing. A head is first scanned byte by byte for what http_parser
 * tolerates but a proxy must refuse (bare CR/LF, NUL, obs-fold, duplicate or conflicting
 * framing headers, size and count limits); only then does http_parser parse it, pausing after
 * the head so the connection decides before any body byte moves. Bodies are delivered
 * de-chunked through a callback and re-framed by the proxy, so what goes upstream is exactly
 * what was parsed here. */
#include "proxy/http.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ head arena */

static int arena_append(http_head *h, const char *at, size_t len, int continue_token)
{
    if (continue_token && h->arena_len > 0)
        h->arena_len--; /* drop the NUL of the token being extended */
    if (h->arena_len + len + 1 > h->arena_cap)
        return -1;
    memcpy(h->arena + h->arena_len, at, len);
    h->arena_len += len;
    h->arena[h->arena_len++] = '\0';
    return 0;
}

static void head_clear(http_head *h)
{
    h->method[0] = '\0';
    h->method_id = 0;
    h->target = NULL;
    h->reason = NULL;
    h->status = 0;
    h->major = h->minor = 0;
    h->nheaders = 0;
    h->arena_len = 0;
}

/* ------------------------------------------------------------------ parser callbacks */

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_stream *s = p->data;
    int cont = s->head.target != NULL;
    if (!cont)
        s->head.target = s->head.arena + s->head.arena_len;
    return arena_append(&s->head, at, len, cont);
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    http_stream *s = p->data;
    int cont = s->head.reason != NULL;
    if (!cont)
        s->head.reason = s->head.arena + s->head.arena_len;
    return arena_append(&s->head, at, len, cont);
}

/* Fields after the head are a chunked body's trailers: the proxy does not forward them, and
 * they must not change the head it already acted on (a trailer read as a header, or a head
 * that read differently depending on where a piece of the body ended). http_parser bounds
 * their size as it bounds a head's. */
static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_stream *s = p->data;
    http_head *h = &s->head;
    if (s->in_body)
        return 0;
    if (h->nheaders == 0 || s->last_was_value) {
        if (h->nheaders == h->cap_headers)
            return -1;
        h->headers[h->nheaders].name = h->arena + h->arena_len;
        h->headers[h->nheaders].value = "";
        h->nheaders++;
        s->last_was_value = 0;
        return arena_append(h, at, len, 0);
    }
    return arena_append(h, at, len, 1);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_stream *s = p->data;
    http_head *h = &s->head;
    if (s->in_body)
        return 0; /* a trailer's (see on_header_field) */
    if (h->nheaders == 0)
        return -1;
    if (!s->last_was_value) {
        h->headers[h->nheaders - 1].value = h->arena + h->arena_len;
        s->last_was_value = 1;
        return arena_append(h, at, len, 0);
    }
    return arena_append(h, at, len, 1);
}

static int status_has_no_body(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

static int on_headers_complete(http_parser *p)
{
    http_stream *s = p->data;
    http_head *h = &s->head;
    h->major = p->http_major;
    h->minor = p->http_minor;
    if (!h->target)
        h->target = "";
    if (!h->reason)
        h->reason = "";
    if (s->type == HTTP_REQUEST) {
        h->is_request = 1;
        h->method_id = p->method;
        snprintf(h->method, sizeof h->method, "%s", http_method_str((enum http_method)p->method));
    } else {
        h->status = p->status_code;
    }
    int skip = s->type == HTTP_RESPONSE && (s->skip_body || status_has_no_body(h->status));
    s->content_length = 0;
    if (skip || (s->type == HTTP_REQUEST && p->method == HTTP_CONNECT))
        s->body_kind = HTTP_BODY_NONE;
    else if (p->flags & F_CHUNKED)
        s->body_kind = HTTP_BODY_CHUNKED;
    else if (p->flags & F_CONTENTLENGTH)
        s->body_kind = (s->content_length = p->content_length) ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    else
        s->body_kind = s->type == HTTP_RESPONSE ? HTTP_BODY_UNTIL_CLOSE : HTTP_BODY_NONE;
    s->keep_alive = s->body_kind != HTTP_BODY_UNTIL_CLOSE && http_should_keep_alive(p);
    http_parser_pause(p, 1);
    return skip ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_stream *s = p->data;
    return s->on_body ? s->on_body(s->ctx, at, len) : 0;
}

static int on_message_complete(http_parser *p)
{
    http_stream *s = p->data;
    s->complete = 1;
    s->in_body = 0;
    http_parser_pause(p, 1);
    return 0;
}

static int on_message_complete_check(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

/* ------------------------------------------------------------------ stream */

void http_stream_init(http_stream *s, enum http_parser_type type, const http_limits *limits)
{
    memset(s, 0, sizeof *s);
    s->type = type;
    s->limits = *limits;
    s->head.arena_cap = limits->max_header_bytes + 2 * limits->max_headers + 64;
    s->head.arena = malloc(s->head.arena_cap);
    s->head.cap_headers = limits->max_headers + 1;
    s->head.headers = calloc(s->head.cap_headers, sizeof *s->head.headers);
    s->settings.on_url = on_url;
    s->settings.on_status = on_status;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    http_stream_reset(s);
}

void http_stream_free(http_stream *s)
{
    free(s->head.arena);
    free(s->head.headers);
    s->head.arena = NULL;
    s->head.headers = NULL;
    s->head.nheaders = s->head.cap_headers = s->head.arena_cap = s->head.arena_len = 0;
    s->head.target = s->head.reason = NULL;
}

void http_stream_reset(http_stream *s)
{
    http_parser_init(&s->parser, s->type);
    s->parser.data = s;
    memset(&s->scan, 0, sizeof s->scan);
    head_clear(&s->head);
    s->in_body = s->complete = s->skip_body = s->last_was_value = 0;
    s->keep_alive = 0;
    s->body_kind = HTTP_BODY_NONE;
    s->content_length = 0;
}

static int is_tchar(unsigned char c)
{
    return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/* Checks one header line [b, e) (CRLF excluded). */
static int scan_header_line(http_stream *s, const char *b, const char *e, char *reason,
                            size_t reasonsz)
{
    const char *what = s->type == HTTP_REQUEST ? "request" : "response";
    if (*b == ' ' || *b == '\t') {
        snprintf(reason, reasonsz, "obs-fold (folded header line) in %s head", what);
        return -1;
    }
    const char *colon = memchr(b, ':', (size_t)(e - b));
    if (!colon || colon == b) {
        snprintf(reason, reasonsz, "malformed header line in %s head", what);
        return -1;
    }
    for (const char *c = b; c < colon; c++) {
        if (!is_tchar((unsigned char)*c)) {
            snprintf(reason, reasonsz, "invalid character in header name in %s head", what);
            return -1;
        }
    }
    size_t nlen = (size_t)(colon - b);
    const char *vb = colon + 1, *ve = e;
    trim(&vb, &ve);
    size_t vlen = (size_t)(ve - vb);
    if (nlen == 14 && !strncasecmp(b, "content-length", 14)) {
        if (vlen == 0 || vlen >= sizeof s->scan.cl_value) {
            snprintf(reason, reasonsz, "invalid Content-Length");
            return -1;
        }
        for (size_t i = 0; i < vlen; i++) {
            if (!isdigit((unsigned char)vb[i])) {
                snprintf(reason, reasonsz, "invalid Content-Length");
                return -1;
            }
        }
        if (s->scan.cl_seen) {
            int same = strlen(s->scan.cl_value) == vlen && !memcmp(s->scan.cl_value, vb, vlen);
            snprintf(reason, reasonsz, same ? "duplicate Content-Length" : "differing Content-Length values");
            return -1;
        }
        s->scan.cl_seen = 1;
        memcpy(s->scan.cl_value, vb, vlen);
        s->scan.cl_value[vlen] = '\0';
    } else if (nlen == 17 && !strncasecmp(b, "transfer-encoding", 17)) {
        if (s->scan.te_seen) {
            snprintf(reason, reasonsz, "more than one Transfer-Encoding header");
            return -1;
        }
        s->scan.te_seen = 1;
        if (vlen != 7 || strncasecmp(vb, "chunked", 7)) {
            snprintf(reason, reasonsz, "unsupported Transfer-Encoding '%.*s' (only chunked)",
                     (int)(vlen > 64 ? 64 : vlen), vb);
            return -1;
        }
    }
    return 0;
}

/* Scans up to the blank line ending the head. */
static http_scan_status scan_head(http_stream *s, const char *data, size_t len, size_t *head_len,
                                  char *reason, size_t reasonsz)
{
    http_head_scanner *sc = &s->scan;
    const char *what = s->type == HTTP_REQUEST ? "request" : "response";
    while (sc->pos < len) {
        unsigned char c = (unsigned char)data[sc->pos];
        if (c == '\n') {
            if (sc->pos == 0 || data[sc->pos - 1] != '\r') {
                snprintf(reason, reasonsz, "bare LF in %s head", what);
                return HTTP_SCAN_ERROR;
            }
            size_t line_end = sc->pos - 1;
            if (line_end == sc->line_start) {
                if (sc->nlines == 0) {
                    /* Empty lines before a request line are tolerated (RFC 9112 2.2). */
                    sc->start = sc->line_start = sc->pos + 1;
                    if (sc->start > 8) {
                        snprintf(reason, reasonsz, "too many empty lines before the %s", what);
                        return HTTP_SCAN_ERROR;
                    }
                    sc->pos++;
                    continue;
                }
                if (sc->cl_seen && sc->te_seen) {
                    snprintf(reason, reasonsz, "both Content-Length and Transfer-Encoding");
                    return HTTP_SCAN_ERROR;
                }
                *head_len = sc->pos + 1;
                return HTTP_SCAN_DONE;
            }
            if (sc->nlines > 0) {
                if (sc->nlines > s->limits.max_headers) {
                    snprintf(reason, reasonsz, "too many header fields (limit %zu)",
                             s->limits.max_headers);
                    return HTTP_SCAN_ERROR;
                }
                if (scan_header_line(s, data + sc->line_start, data + line_end, reason, reasonsz))
                    return HTTP_SCAN_ERROR;
            }
            sc->nlines++;
            sc->line_start = sc->pos + 1;
        } else if (c == '\r') {
            if (sc->pos + 1 == len)
                return HTTP_SCAN_MORE; /* decide when the next byte arrives */
            if (data[sc->pos + 1] != '\n') {
                snprintf(reason, reasonsz, "bare CR in %s head", what);
                return HTTP_SCAN_ERROR;
            }
        } else if (c == 0) {
            snprintf(reason, reasonsz, "NUL byte in %s head", what);
            return HTTP_SCAN_ERROR;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(reason, reasonsz, "control character in %s head", what);
            return HTTP_SCAN_ERROR;
        }
        sc->pos++;
        if (sc->pos - sc->start > s->limits.max_header_bytes) {
            snprintf(reason, reasonsz, "%s head larger than %zu bytes", what,
                     s->limits.max_header_bytes);
            return HTTP_SCAN_ERROR;
        }
    }
    return HTTP_SCAN_MORE;
}

static const char *errno_text(const http_stream *s, enum http_errno e)
{
    /* http_parser reports an overflowing chunk size as a Content-Length error. */
    if (s->body_kind == HTTP_BODY_CHUNKED && e == HPE_INVALID_CONTENT_LENGTH)
        return "chunk size too large";
    return http_errno_description(e);
}

static void parser_error(const http_stream *s, char *reason, size_t reasonsz)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
    snprintf(reason, reasonsz, "malformed %s: %s", s->type == HTTP_REQUEST ? "request" : "response",
             errno_text(s, e));
}

http_scan_status http_stream_feed_head(http_stream *s, const char *data, size_t len,
                                       size_t *consumed, char *reason, size_t reasonsz)
{
    *consumed = 0;
    size_t head_len = 0;
    http_scan_status st = scan_head(s, data, len, &head_len, reason, reasonsz);
    if (st != HTTP_SCAN_DONE)
        return st;
    size_t start = s->scan.start;
    size_t n = http_parser_execute(&s->parser, &s->settings, data + start, head_len - start);
    enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
    if (e != HPE_PAUSED) {
        if (e == HPE_OK)
            snprintf(reason, reasonsz, "malformed %s head",
                     s->type == HTTP_REQUEST ? "request" : "response");
        else
            parser_error(s, reason, reasonsz);
        return HTTP_SCAN_ERROR;
    }
    http_parser_pause(&s->parser, 0);
    s->in_body = 1;
    start += n;
    if (start < head_len) {
        /* The parser stops on the head's last LF; let it finish the head so that exactly the head
         * is consumed (and a body-less message completes). */
        n = http_parser_execute(&s->parser, &s->settings, data + start, head_len - start);
        e = HTTP_PARSER_ERRNO(&s->parser);
        if (e != HPE_OK && e != HPE_PAUSED) {
            parser_error(s, reason, reasonsz);
            return HTTP_SCAN_ERROR;
        }
        http_parser_pause(&s->parser, 0);
        start += n;
    }
    if (s->parser.upgrade && s->type == HTTP_REQUEST && s->parser.method != HTTP_CONNECT &&
        !s->complete) {
        snprintf(reason, reasonsz, "protocol upgrade with a request body is not supported");
        return HTTP_SCAN_ERROR;
    }
    /* http_parser refuses a request whose Transfer-Encoding is not chunked, but not when it asks
     * for an upgrade (it stops before the body), and it takes any field name that begins with
     * "transfer-encoding" for one. Such a request would be forwarded without its upgrade and be
     * read by the next parser as that error, or as something else: it is refused here. */
    if (s->type == HTTP_REQUEST && s->parser.uses_transfer_encoding &&
        !(s->parser.flags & F_CHUNKED)) {
        snprintf(reason, reasonsz, "request has a Transfer-Encoding other than chunked");
        return HTTP_SCAN_ERROR;
    }
    /* A WebSocket upgrade is forwarded as one (Connection: Upgrade, Upgrade: websocket) only
     * when http_parser read it as an upgrade with no body, as the origin's parser will: a
     * Connection list it did not read ("Connection: ,Upgrade") would otherwise frame a body
     * here and an upgrade there. */
    if (s->type == HTTP_REQUEST && http_head_is_websocket_upgrade(&s->head) &&
        (!s->parser.upgrade || !s->complete)) {
        snprintf(reason, reasonsz,
                 "WebSocket upgrade with a body or a Connection header not read as an upgrade");
        return HTTP_SCAN_ERROR;
    }
    *consumed = start;
    return HTTP_SCAN_DONE;
}

int http_stream_feed_body(http_stream *s, const char *data, size_t len, size_t *consumed,
                          char *reason, size_t reasonsz)
{
    *consumed = 0;
    if (s->complete)
        return 1;
    if (len == 0)
        return 0;
    size_t n = http_parser_execute(&s->parser, &s->settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
    *consumed = n;
    if (e == HPE_PAUSED) {
        http_parser_pause(&s->parser, 0);
        return s->complete ? 1 : 0;
    }
    if (e != HPE_OK) {
        parser_error(s, reason, reasonsz);
        return -1;
    }
    return s->complete ? 1 : 0;
}

int http_stream_precheck_body(const http_stream *s, const char *data, size_t len, char *reason,
                              size_t reasonsz)
{
    if (s->complete || len == 0)
        return 0;
    http_parser copy = s->parser;
    http_parser_settings settings = {0};
    settings.on_message_complete = on_message_complete_check;
    http_parser_execute(&copy, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&copy);
    if (e != HPE_OK && e != HPE_PAUSED) {
        snprintf(reason, reasonsz, "malformed request body: %s", errno_text(s, e));
        return -1;
    }
    return 0;
}

http_body_kind http_stream_body_kind(const http_stream *s, uint64_t *content_length)
{
    if (content_length)
        *content_length = s->content_length;
    return s->body_kind;
}

int http_stream_keep_alive(const http_stream *s) { return s->keep_alive; }

/* ------------------------------------------------------------------ headers */

const char *http_head_get(const http_head *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (!strcasecmp(h->headers[i].name, name))
            return h->headers[i].value;
    return NULL;
}

static int token_in_list(const char *list, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *b = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        trim(&b, &e);
        if ((size_t)(e - b) == nlen && !strncasecmp(b, name, nlen))
            return 1;
    }
    return 0;
}

int http_head_is_hop_by_hop(const http_head *h, const char *name)
{
    static const char *const fixed[] = {
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "content-length",
        "upgrade", "proxy-connection", "proxy-authorization", "proxy-authenticate",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcasecmp(name, fixed[i]))
            return 1;
    for (size_t i = 0; i < h->nheaders; i++)
        if (!strcasecmp(h->headers[i].name, "connection") && token_in_list(h->headers[i].value, name))
            return 1;
    return 0;
}

/* The whole header value is one token equal to want (surrounding blanks allowed). */
static int value_is_token(const char *value, const char *want)
{
    const char *b = value, *e = value + strlen(value);
    trim(&b, &e);
    size_t n = strlen(want);
    return (size_t)(e - b) == n && !strncasecmp(b, want, n);
}

/* Connection names "upgrade" and the only Upgrade header offers exactly "websocket"
 * (RFC 6455 4.1, 4.2.2). Anything else — another protocol, a list, two Upgrade headers — is
 * not a WebSocket upgrade and keeps being stripped as hop-by-hop. */
static int head_upgrades_to_websocket(const http_head *h)
{
    const char *upgrade = NULL;
    int connection_upgrade = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        if (!strcasecmp(h->headers[i].name, "upgrade")) {
            if (upgrade)
                return 0;
            upgrade = h->headers[i].value;
        } else if (!strcasecmp(h->headers[i].name, "connection") &&
                   token_in_list(h->headers[i].value, "upgrade")) {
            connection_upgrade = 1;
        }
    }
    return connection_upgrade && upgrade && value_is_token(upgrade, "websocket");
}

int http_head_is_websocket_upgrade(const http_head *h)
{
    if (h->is_request)
        return h->method_id == HTTP_GET && h->major == 1 && h->minor >= 1 &&
               head_upgrades_to_websocket(h);
    return h->status == 101 && head_upgrades_to_websocket(h);
}

/* ------------------------------------------------------------------ targets */

static const char proxy_hint[] =
    "agentgate is a forward proxy: configure it as your HTTP proxy (e.g. curl -x http://127.0.0.1:3128 ...)";

int http_target_parse(const http_head *h, http_target *t, char *reason, size_t reasonsz)
{
    memset(t, 0, sizeof *t);
    const char *target = h->target ? h->target : "";
    size_t tlen = strlen(target);
    struct http_parser_url u;
    http_parser_url_init(&u);
    t->is_connect = h->method_id == HTTP_CONNECT;
    if (!t->is_connect && (target[0] == '/' || target[0] == '*')) {
        snprintf(reason, reasonsz, "%s", proxy_hint);
        return -1;
    }
    if (http_parser_parse_url(target, tlen, t->is_connect, &u) != 0) {
        snprintf(reason, reasonsz, "malformed request target");
        return -1;
    }
    if (!t->is_connect) {
        if (!(u.field_set & (1 << UF_SCHEMA))) {
            snprintf(reason, reasonsz, "%s", proxy_hint);
            return -1;
        }
        const char *scheme = target + u.field_data[UF_SCHEMA].off;
        size_t slen = u.field_data[UF_SCHEMA].len;
        if (slen == 5 && !strncasecmp(scheme, "https", 5)) {
            snprintf(reason, reasonsz, "https:// URLs must be requested through CONNECT");
            return -1;
        }
        if (slen != 4 || strncasecmp(scheme, "http", 4)) {
            snprintf(reason, reasonsz, "unsupported URL scheme '%.*s'", (int)(slen > 16 ? 16 : slen), scheme);
            return -1;
        }
        if (u.field_set & (1 << UF_USERINFO)) {
            snprintf(reason, reasonsz, "credentials in the request URL are refused");
            return -1;
        }
    }
    if (!(u.field_set & (1 << UF_HOST)) || u.field_data[UF_HOST].len == 0 ||
        u.field_data[UF_HOST].len >= sizeof t->host) {
        snprintf(reason, reasonsz, "request target has no valid host");
        return -1;
    }
    memcpy(t->host, target + u.field_data[UF_HOST].off, u.field_data[UF_HOST].len);
    t->host[u.field_data[UF_HOST].len] = '\0';
    if (u.field_set & (1 << UF_PORT))
        t->port = u.port;
    else
        t->port = t->is_connect ? 0 : 80;
    if (t->port == 0) {
        snprintf(reason, reasonsz, "request target has no valid port");
        return -1;
    }
    if (t->is_connect)
        return 0;
    size_t plen = 0;
    if (u.field_set & (1 << UF_PATH)) {
        plen = u.field_data[UF_PATH].len;
        if (plen >= sizeof t->path - 1) {
            snprintf(reason, reasonsz, "request target too long");
            return -1;
        }
        memcpy(t->path, target + u.field_data[UF_PATH].off, plen);
    } else {
        t->path[plen++] = '/';
    }
    if (u.field_set & (1 << UF_QUERY)) {
        size_t qlen = u.field_data[UF_QUERY].len;
        if (plen + qlen + 2 > sizeof t->path) {
            snprintf(reason, reasonsz, "request target too long");
            return -1;
        }
        t->path[plen++] = '?';
        memcpy(t->path + plen, target + u.field_data[UF_QUERY].off, qlen);
        plen += qlen;
    }
    t->path[plen] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ building heads */

typedef struct outbuf {
    char *p;
    size_t len, cap;
    int overflow;
} outbuf;

static void out_printf(outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(outbuf *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = 1;
    else
        o->len += (size_t)n;
}

static int in_list(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (!strcasecmp(*list, name))
            return 1;
    return 0;
}

static void out_headers(outbuf *o, const http_head *h, int keep_content_length,
                        const char *const *drop)
{
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name;
        if ((h->is_request && !strcasecmp(name, "host")) || in_list(drop, name))
            continue;
        if (keep_content_length && !strcasecmp(name, "content-length")) {
            out_printf(o, "%s: %s\r\n", name, h->headers[i].value);
            continue;
        }
        if (http_head_is_hop_by_hop(h, name))
            continue;
        out_printf(o, "%s: %s\r\n", name, h->headers[i].value);
    }
}

static void out_framing(outbuf *o, http_body_kind body, uint64_t content_length)
{
    if (body == HTTP_BODY_LENGTH)
        out_printf(o, "Content-Length: %llu\r\n", (unsigned long long)content_length);
    else if (body == HTTP_BODY_CHUNKED)
        out_printf(o, "Transfer-Encoding: chunked\r\n");
}

long http_build_request(const http_head *h, const http_target *t, http_body_kind body,
                        uint64_t content_length, const char *const *drop, char *out, size_t outsz)
{
    outbuf o = {out, 0, outsz, 0};
    int v6 = strchr(t->host, ':') != NULL;
    out_printf(&o, "%s %s HTTP/1.1\r\nHost: %s%s%s", h->method, t->path, v6 ? "[" : "", t->host,
               v6 ? "]" : "");
    if (t->port != 80)
        out_printf(&o, ":%u", (unsigned)t->port);
    out_printf(&o, "\r\n");
    out_headers(&o, h, 0, drop);
    if (http_head_is_websocket_upgrade(h))
        out_printf(&o, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    out_framing(&o, body, content_length);
    out_printf(&o, "\r\n");
    return o.overflow ? -1 : (long)o.len;
}

long http_build_response(const http_head *h, http_body_kind body, uint64_t content_length,
                         int close_after, const char *extra, const char *const *drop, char *out,
                         size_t outsz)
{
    outbuf o = {out, 0, outsz, 0};
    out_printf(&o, "HTTP/1.1 %d %s\r\n", h->status, h->reason ? h->reason : "");
    int keep_cl = body == HTTP_BODY_NONE && h->status >= 200 && h->status != 204;
    out_headers(&o, h, keep_cl, drop);
    if (http_head_is_websocket_upgrade(h))
        out_printf(&o, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    out_framing(&o, body, content_length);
    if (close_after)
        out_printf(&o, "Connection: close\r\n");
    if (extra)
        out_printf(&o, "%s", extra);
    out_printf(&o, "\r\n");
    return o.overflow ? -1 : (long)o.len;
}

int http_parse_basic_auth(const char *value, char *user, size_t usersz, char *secret,
                          size_t secretsz, size_t *secret_len)
{
    while (*value == ' ')
        value++;
    if (strncasecmp(value, "basic ", 6))
        return -1;
    value += 6;
    while (*value == ' ')
        value++;
    size_t len = strlen(value);
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len == 0 || len % 4 || len > 1024)
        return -1;
    unsigned char buf[800];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)value, (int)len);
    if (n < 0)
        return -1;
    if (value[len - 1] == '=')
        n--;
    if (len >= 2 && value[len - 2] == '=')
        n--;
    buf[n] = '\0';
    unsigned char *colon = memchr(buf, ':', (size_t)n);
    if (!colon)
        return -1;
    size_t ulen = (size_t)(colon - buf), slen = (size_t)n - ulen - 1;
    if (ulen == 0 || ulen >= usersz || slen >= secretsz || memchr(buf, '\0', (size_t)n))
        return -1;
    memcpy(user, buf, ulen);
    user[ulen] = '\0';
    memcpy(secret, colon + 1, slen);
    secret[slen] = '\0';
    *secret_len = slen;
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}
