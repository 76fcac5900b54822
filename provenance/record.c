/* provenance: the versioned binary record encoding (record version 1, documented in
 * provenance/README.md). Integers are LEB128 varints, strings are length-prefixed, absent
 * fields cost one bit in a presence mask, and a large sanitizer report is deflated, so a
 * typical record stays a few hundred bytes. The seq is the LMDB key and is not stored. */
#include "provenance/prov_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Presence bits, in encoding order of the strings that follow the fixed part. */
enum {
    F_REQUEST_ID, F_AGENT, F_CLIENT_ADDR, F_LISTENER, F_METHOD, F_URL, F_HOST, F_REFERER,
    F_RULE, F_REASON, F_UPSTREAM_ADDR, F_TLS_FINGERPRINT, F_TLS_PROTOCOL, F_TLS_CIPHER,
    F_CONTENT_TYPE, F_REPORT, F_STRING_COUNT
};
#define BIT_BODY_HASHES (1u << 16)
#define BIT_REPORT_DEFLATED (1u << 17)
#define KNOWN_BITS ((1u << 18) - 1)
#define REPORT_DEFLATE_MIN 256 /* smaller reports are stored as they are */
#define REPORT_MAX (16u << 20)

int prov_buf_reserve(prov_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return AG_OK;
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->len + extra)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return AG_ERR;
    b->data = p;
    b->cap = cap;
    return AG_OK;
}

void prov_buf_free(prov_buf *b)
{
    free(b->data);
    *b = (prov_buf){0};
}

static void put_varint(prov_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
}

static void put_bytes(prov_buf *b, const void *p, size_t n)
{
    put_varint(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static const char *const *string_fields(const prov_record *r, const char *out[F_STRING_COUNT])
{
    out[F_REQUEST_ID] = r->request_id[0] ? r->request_id : NULL;
    out[F_AGENT] = r->agent;
    out[F_CLIENT_ADDR] = r->client_addr;
    out[F_LISTENER] = r->listener;
    out[F_METHOD] = r->method;
    out[F_URL] = r->url;
    out[F_HOST] = r->host;
    out[F_REFERER] = r->referer;
    out[F_RULE] = r->rule;
    out[F_REASON] = r->reason;
    out[F_UPSTREAM_ADDR] = r->upstream_addr;
    out[F_TLS_FINGERPRINT] = r->tls_fingerprint;
    out[F_TLS_PROTOCOL] = r->tls_protocol;
    out[F_TLS_CIPHER] = r->tls_cipher;
    out[F_CONTENT_TYPE] = r->content_type;
    out[F_REPORT] = r->sanitizer_report_json;
    return out;
}

/* Deflates the report when that makes it smaller; returns 1 when z holds the result. */
static int deflate_report(const char *json, size_t n, prov_buf *z)
{
    if (n < REPORT_DEFLATE_MIN)
        return 0;
    uLongf zlen = compressBound((uLong)n);
    z->len = 0;
    if (prov_buf_reserve(z, zlen) != AG_OK)
        return 0;
    if (compress2(z->data, &zlen, (const Bytef *)json, (uLong)n, 6) != Z_OK || zlen >= n)
        return 0;
    z->len = zlen;
    return 1;
}

int prov_record_encode(const prov_record *r, prov_buf *out, ag_error *err)
{
    const char *s[F_STRING_COUNT];
    string_fields(r, s);
    uint32_t mask = 0;
    size_t need = 1 + 10 * 8 + 64;
    for (int i = 0; i < F_STRING_COUNT; i++) {
        if (s[i] && *s[i]) {
            mask |= 1u << i;
            need += strlen(s[i]) + 10;
        }
    }
    if (r->has_body_hashes)
        mask |= BIT_BODY_HASHES;
    prov_buf z = {0};
    size_t report_len = (mask & (1u << F_REPORT)) ? strlen(s[F_REPORT]) : 0;
    if (report_len > REPORT_MAX) {
        prov_buf_free(&z);
        return ag_errorf(err, "provenance record %s: sanitizer report is %zu bytes (max %u)",
                         r->request_id, report_len, REPORT_MAX);
    }
    if (report_len && deflate_report(s[F_REPORT], report_len, &z))
        mask |= BIT_REPORT_DEFLATED;
    out->len = 0;
    if (prov_buf_reserve(out, need + z.len) != AG_OK) {
        prov_buf_free(&z);
        return ag_errorf(err, "provenance record %s: out of memory", r->request_id);
    }
    out->data[out->len++] = PROV_RECORD_VERSION;
    put_varint(out, mask);
    put_varint(out, r->start_us);
    put_varint(out, r->duration_us);
    put_varint(out, (uint64_t)r->decision);
    put_varint(out, (uint64_t)(r->status < 0 || r->status > 999 ? 0 : r->status));
    put_varint(out, r->bytes_in);
    put_varint(out, r->bytes_out);
    put_varint(out, r->sanitizer_removed);
    for (int i = 0; i < F_STRING_COUNT; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (i == F_REPORT && (mask & BIT_REPORT_DEFLATED)) {
            put_varint(out, report_len);
            put_bytes(out, z.data, z.len);
        } else {
            put_bytes(out, s[i], strlen(s[i]));
        }
    }
    if (mask & BIT_BODY_HASHES) {
        memcpy(out->data + out->len, r->body_sha256_received, 32);
        memcpy(out->data + out->len + 32, r->body_sha256_delivered, 32);
        out->len += 64;
    }
    prov_buf_free(&z);
    return AG_OK;
}

/* ---- decoding ---- */

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static int get_varint(reader *rd, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (rd->p >= rd->end)
            return AG_ERR;
        uint8_t c = *rd->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return AG_OK;
        }
    }
    return AG_ERR;
}

static int arena_reserve(prov_decoded *d, size_t n)
{
    if (n <= d->arena_cap)
        return AG_OK;
    size_t cap = d->arena_cap ? d->arena_cap : 1024;
    while (cap < n)
        cap *= 2;
    char *p = realloc(d->arena, cap);
    if (!p)
        return AG_ERR;
    d->arena = p;
    d->arena_cap = cap;
    return AG_OK;
}

static const char *field_name(int i)
{
    static const char *const names[F_STRING_COUNT] = {
        "request_id", "agent", "client_addr", "listener", "method", "url", "host", "referer",
        "rule", "reason", "upstream_addr", "tls_fingerprint", "tls_protocol", "tls_cipher",
        "content_type", "sanitizer_report"};
    return names[i];
}

static const char **string_slot(prov_record *r, int i)
{
    switch (i) {
    case F_AGENT: return &r->agent;
    case F_CLIENT_ADDR: return &r->client_addr;
    case F_LISTENER: return &r->listener;
    case F_METHOD: return &r->method;
    case F_URL: return &r->url;
    case F_HOST: return &r->host;
    case F_REFERER: return &r->referer;
    case F_RULE: return &r->rule;
    case F_REASON: return &r->reason;
    case F_UPSTREAM_ADDR: return &r->upstream_addr;
    case F_TLS_FINGERPRINT: return &r->tls_fingerprint;
    case F_TLS_PROTOCOL: return &r->tls_protocol;
    case F_TLS_CIPHER: return &r->tls_cipher;
    case F_CONTENT_TYPE: return &r->content_type;
    case F_REPORT: return &r->sanitizer_report_json;
    default: return NULL;
    }
}

static int decode_report(reader *rd, prov_decoded *d, size_t *used, int inflate_it, uint64_t seq,
                         ag_error *err)
{
    uint64_t raw_len, zlen;
    if (get_varint(rd, &raw_len) != AG_OK || get_varint(rd, &zlen) != AG_OK ||
        zlen > (uint64_t)(rd->end - rd->p) || raw_len > REPORT_MAX)
        return ag_errorf(err, "record %llu: field sanitizer_report: truncated",
                         (unsigned long long)seq);
    const uint8_t *z = rd->p;
    rd->p += zlen;
    if (!inflate_it)
        return AG_OK;
    if (arena_reserve(d, *used + raw_len + 1) != AG_OK)
        return ag_errorf(err, "record %llu: out of memory", (unsigned long long)seq);
    uLongf out_len = (uLongf)raw_len;
    if (uncompress((Bytef *)d->arena + *used, &out_len, z, (uLong)zlen) != Z_OK ||
        out_len != raw_len)
        return ag_errorf(err, "record %llu: field sanitizer_report: bad deflate data",
                         (unsigned long long)seq);
    d->arena[*used + raw_len] = '\0';
    *used += raw_len + 1;
    return AG_OK;
}

/* Strings are copied into the arena first and pointed at afterwards, because the arena may
 * move while it grows. */
static int decode_body(uint64_t seq, const uint8_t *val, size_t len, int with_report,
                       prov_decoded *d, ag_error *err)
{
    reader rd = {val, val + len};
    prov_record *r = &d->rec;
    memset(r, 0, sizeof *r);
    r->seq = seq;
    if (len < 1 || val[0] != PROV_RECORD_VERSION)
        return ag_errorf(err, "record %llu: unknown format version %u (this build reads %u)",
                         (unsigned long long)seq, len ? val[0] : 0u, PROV_RECORD_VERSION);
    rd.p++;
    uint64_t mask, f[7]; /* start, duration, decision, status, bytes in, bytes out, removed */
    if (get_varint(&rd, &mask) != AG_OK || (mask & ~(uint64_t)KNOWN_BITS))
        return ag_errorf(err, "record %llu: bad presence mask", (unsigned long long)seq);
    for (int i = 0; i < 7; i++)
        if (get_varint(&rd, &f[i]) != AG_OK)
            return ag_errorf(err, "record %llu: truncated fixed fields", (unsigned long long)seq);
    if (f[2] > PROV_ERROR)
        return ag_errorf(err, "record %llu: field decision: bad value %llu",
                         (unsigned long long)seq, (unsigned long long)f[2]);
    if (f[3] > 999)
        return ag_errorf(err, "record %llu: field status: bad value %llu",
                         (unsigned long long)seq, (unsigned long long)f[3]);
    r->start_us = f[0];
    r->duration_us = f[1];
    r->decision = (prov_decision)f[2];
    r->status = (int)f[3];
    r->bytes_in = f[4];
    r->bytes_out = f[5];
    r->sanitizer_removed = f[6];
    size_t used = 0, offs[F_STRING_COUNT];
    if (arena_reserve(d, len + F_STRING_COUNT + 1) != AG_OK)
        return ag_errorf(err, "record %llu: out of memory", (unsigned long long)seq);
    for (int i = 0; i < F_STRING_COUNT; i++) {
        offs[i] = SIZE_MAX;
        if (!(mask & (1u << i)))
            continue;
        if (i == F_REPORT && (mask & BIT_REPORT_DEFLATED)) {
            size_t at = used;
            if (decode_report(&rd, d, &used, with_report, seq, err) != AG_OK)
                return AG_ERR;
            if (with_report)
                offs[i] = at;
            continue;
        }
        uint64_t n;
        if (get_varint(&rd, &n) != AG_OK || n > (uint64_t)(rd.end - rd.p))
            return ag_errorf(err, "record %llu: field %s: truncated", (unsigned long long)seq,
                             field_name(i));
        if (i == F_REPORT && !with_report) {
            rd.p += n;
            continue;
        }
        if (arena_reserve(d, used + n + 1) != AG_OK)
            return ag_errorf(err, "record %llu: out of memory", (unsigned long long)seq);
        memcpy(d->arena + used, rd.p, n);
        d->arena[used + n] = '\0';
        offs[i] = used;
        used += n + 1;
        rd.p += n;
    }
    if (mask & BIT_BODY_HASHES) {
        if (rd.end - rd.p < 64)
            return ag_errorf(err, "record %llu: field body hashes: truncated",
                             (unsigned long long)seq);
        memcpy(r->body_sha256_received, rd.p, 32);
        memcpy(r->body_sha256_delivered, rd.p + 32, 32);
        r->has_body_hashes = 1;
        rd.p += 64;
    }
    if (rd.p != rd.end)
        return ag_errorf(err, "record %llu: %zu trailing bytes", (unsigned long long)seq,
                         (size_t)(rd.end - rd.p));
    for (int i = 0; i < F_STRING_COUNT; i++) {
        if (offs[i] == SIZE_MAX)
            continue;
        if (i == F_REQUEST_ID)
            snprintf(r->request_id, sizeof r->request_id, "%s", d->arena + offs[i]);
        else
            *string_slot(r, i) = d->arena + offs[i];
    }
    return AG_OK;
}

int prov_record_decode(uint64_t seq, const uint8_t *val, size_t len, int with_report,
                       prov_decoded *out, ag_error *err)
{
    if (len < PROV_HASH_LEN + 1)
        return ag_errorf(err, "record %llu: %zu bytes is too short", (unsigned long long)seq, len);
    out->canonical_len = len - PROV_HASH_LEN;
    memcpy(out->hash, val + out->canonical_len, PROV_HASH_LEN);
    return decode_body(seq, val, out->canonical_len, with_report, out, err);
}

int prov_record_decode_canonical(const uint8_t *val, size_t len, prov_decoded *out, ag_error *err)
{
    out->canonical_len = len;
    memset(out->hash, 0, sizeof out->hash);
    return decode_body(0, val, len, 0, out, err);
}

void prov_decoded_free(prov_decoded *d)
{
    free(d->arena);
    d->arena = NULL;
    d->arena_cap = 0;
}

const char *prov_decision_name(prov_decision d)
{
    switch (d) {
    case PROV_ALLOW: return "allow";
    case PROV_DENY: return "deny";
    case PROV_REPORT_ONLY_DENY: return "report-only-deny";
    case PROV_ERROR: return "error";
    }
    return "?";
}

int prov_decision_parse(const char *s, prov_decision *out)
{
    static const prov_decision all[] = {PROV_ALLOW, PROV_DENY, PROV_REPORT_ONLY_DENY, PROV_ERROR};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!strcmp(s, prov_decision_name(all[i]))) {
            *out = all[i];
            return AG_OK;
        }
    }
    return AG_ERR;
}
