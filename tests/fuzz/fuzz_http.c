/* fuzz: libFuzzer target for the proxy's message framing (proxy/http) and ClientHello reader
 * (proxy/tls_hello), the code that reads bytes from clients and origins before any policy runs.
 * The first input byte picks a request or a response stream and a piece size; the rest is the
 * stream, up to four messages one after another on one connection. Checks beyond "no crash,
 * no leak" (ASan/UBSan):
 *   - the head is read the same whether the buffer grows a piece at a time (as the connection
 *     code feeds it) or is there whole: same verdict, same bytes consumed, same fields;
 *   - the body gives the same de-chunked bytes and the same end whole and in pieces, and never
 *     consumes more than it was given;
 *   - a head accepted is forwarded as a head that reads back the same (method or status and
 *     every header the proxy keeps): what goes upstream or to the client cannot be read two
 *     ways;
 *   - the SNI reader answers MORE for every prefix of a record it accepts whole, and its
 *     answer is a string. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/http.h"
#include "proxy/tls_hello.h"

#include "fuzz_buf.h"

/* What reading one message gave. */
typedef struct reading {
    http_scan_status head;
    size_t head_consumed;
    int body_rc;          /* 1 complete, 0 more needed, -1 error; 2: no body read */
    size_t body_consumed; /* bytes of the body stream consumed */
    buf body;
} reading;

static const http_limits LIMITS = {.max_header_bytes = 8192, .max_headers = 64};

/* Reads a message from in[0, n) with stream s: the head from a buffer growing by piece bytes
 * (the whole buffer when piece is 0), then the body in pieces. */
static reading read_message(http_stream *s, const char *in, size_t n, size_t piece)
{
    reading r = {.body_rc = 2};
    char reason[256];
    s->on_body = sink;
    s->ctx = &r.body;
    size_t have = piece ? 0 : n;
    for (;;) {
        if (piece)
            have = have + piece < n ? have + piece : n;
        r.head = http_stream_feed_head(s, in, have, &r.head_consumed, reason, sizeof reason);
        if (r.head != HTTP_SCAN_MORE || have == n)
            break;
    }
    if (r.head != HTTP_SCAN_DONE)
        return r;
    if (r.head_consumed > have)
        abort(); /* consumed bytes it was not given */
    size_t at = r.head_consumed;
    r.body_rc = s->complete ? 1 : 0;
    while (r.body_rc == 0 && at < n) {
        size_t k = piece && n - at > piece ? piece : n - at, used = 0;
        r.body_rc = http_stream_feed_body(s, in + at, k, &used, reason, sizeof reason);
        if (used > k)
            abort();
        at += used;
        if (r.body_rc == 0 && used < k)
            abort(); /* neither done nor failed, yet bytes were left */
    }
    r.body_consumed = at - r.head_consumed;
    return r;
}

static bool same_head(const http_head *a, const http_head *b)
{
    if (a->method_id != b->method_id || a->status != b->status || a->nheaders != b->nheaders ||
        strcmp(a->method, b->method) != 0)
        return false;
    if ((a->target == NULL) != (b->target == NULL) || (a->target && strcmp(a->target, b->target)))
        return false;
    for (size_t i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i].name, b->headers[i].name) ||
            strcmp(a->headers[i].value, b->headers[i].value))
            return false;
    return true;
}

/* The head as the proxy forwards it must read back, in full, with the same method or status
 * and each header it kept. */
static void check_forwarded(const http_stream *s, enum http_parser_type type)
{
    static char out[16384];
    long len;
    uint64_t cl = 0;
    http_body_kind kind = http_stream_body_kind(s, &cl);
    if (type == HTTP_REQUEST) {
        http_target t;
        char reason[256];
        if (http_target_parse(&s->head, &t, reason, sizeof reason) != 0 || t.is_connect)
            return;
        len = http_build_request(&s->head, &t, kind, cl, NULL, out, sizeof out);
    } else {
        len = http_build_response(&s->head, kind, cl, 0, NULL, NULL, out, sizeof out);
    }
    if (len <= 0)
        return; /* larger than the buffer: refused by the caller */
    http_stream back;
    http_limits roomy = {.max_header_bytes = sizeof out, .max_headers = 256};
    size_t used = 0;
    char reason[256];
    http_stream_init(&back, type, &roomy);
    http_scan_status st = http_stream_feed_head(&back, out, (size_t)len, &used, reason, sizeof reason);
    if (st != HTTP_SCAN_DONE || used != (size_t)len)
        abort(); /* the proxy wrote a head it would not read itself */
    if (back.head.method_id != s->head.method_id || back.head.status != s->head.status)
        abort();
    for (size_t i = 0; i < s->head.nheaders; i++) {
        const http_header *h = &s->head.headers[i];
        if (http_head_is_hop_by_hop(&s->head, h->name) || strcasecmp(h->name, "host") == 0)
            continue;
        if (!http_head_get(&back.head, h->name))
            abort(); /* an end-to-end header was lost on the way */
    }
    http_stream_free(&back);
}

static void check_tls_hello(const uint8_t *d, size_t n)
{
    char sni[256], reason[128];
    tls_hello_status whole = tls_hello_sni(d, n, sni, sizeof sni, reason, sizeof reason);
    if (whole == TLS_HELLO_OK && strnlen(sni, sizeof sni) == sizeof sni)
        abort();
    if (whole != TLS_HELLO_OK || n > 4096)
        return;
    /* the record it accepted ends somewhere in d: every prefix before it asks for more */
    size_t rec = n >= 5 ? 5 + ((size_t)d[3] << 8 | d[4]) : n;
    for (size_t k = 0; k < rec && k < n; k++)
        if (tls_hello_sni(d, k, sni, sizeof sni, reason, sizeof reason) == TLS_HELLO_BAD)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    enum http_parser_type type = data[0] & 1 ? HTTP_RESPONSE : HTTP_REQUEST;
    size_t piece = (size_t)(data[0] >> 1) + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    /* up to four messages on one connection, as keep-alive and pipelining bring them */
    http_stream a, b;
    http_stream_init(&a, type, &LIMITS);
    http_stream_init(&b, type, &LIMITS);
    size_t at = 0;
    for (int m = 0; m < 4 && at < n; m++) {
        reading whole = read_message(&a, in + at, n - at, 0);
        reading split = read_message(&b, in + at, n - at, piece);
        bool next = false;
        if (whole.head != split.head)
            abort(); /* the verdict on the head depends on how the bytes arrived */
        if (whole.head == HTTP_SCAN_DONE) {
            if (whole.head_consumed != split.head_consumed || !same_head(&a.head, &b.head))
                abort();
            if (whole.body_rc != split.body_rc || whole.body.n != split.body.n ||
                (whole.body.n && memcmp(whole.body.p, split.body.p, whole.body.n)))
                abort(); /* the body read differently in pieces */
            if (whole.body_rc == 1 && whole.body_consumed != split.body_consumed)
                abort();
            check_forwarded(&a, type);
            next = whole.body_rc == 1 && http_stream_keep_alive(&a) && !a.parser.upgrade;
            at += whole.head_consumed + whole.body_consumed;
        }
        free(whole.body.p);
        free(split.body.p);
        if (!next)
            break;
        http_stream_reset(&a);
        http_stream_reset(&b);
    }
    http_stream_free(&a);
    http_stream_free(&b);
    check_tls_hello((const uint8_t *)in, n);
    return 0;
}
