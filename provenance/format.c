/* provenance: a decoded record as one JSON object (every field; used by jsonl, export and
 * show). Absent fields are omitted, so an export line carries exactly what was recorded. */
#include "provenance/prov_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes that are not valid UTF-8 (a raw URL can carry them) are kept as %XX. */
static void set_str(json_t *o, const char *k, const char *v)
{
    if (!v)
        return;
    json_t *s = json_string(v);
    if (!s) {
        size_t n = strlen(v), o2 = 0;
        char *esc = malloc(3 * n + 1);
        if (!esc)
            return;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
            if (*p < 0x80)
                esc[o2++] = (char)*p;
            else
                o2 += (size_t)snprintf(esc + o2, 4, "%%%02X", *p);
        }
        esc[o2] = '\0';
        s = json_string(esc);
        free(esc);
    }
    json_object_set_new(o, k, s);
}

static void set_u64(json_t *o, const char *k, uint64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

static void set_hex(json_t *o, const char *k, const uint8_t *h)
{
    char hex[2 * PROV_HASH_LEN + 1];
    prov_hex(h, PROV_HASH_LEN, hex);
    json_object_set_new(o, k, json_string(hex));
}

char *prov_record_json(const prov_decoded *d)
{
    const prov_record *r = &d->rec;
    json_t *o = json_object();
    char ts[40];
    set_u64(o, "seq", r->seq);
    if (r->request_id[0])
        set_str(o, "request_id", r->request_id);
    set_str(o, "time", ag_format_time(ts, sizeof ts, r->start_us));
    set_u64(o, "start_us", r->start_us);
    set_u64(o, "duration_us", r->duration_us);
    set_str(o, "agent", r->agent);
    set_str(o, "client_addr", r->client_addr);
    set_str(o, "listener", r->listener);
    set_str(o, "method", r->method);
    set_str(o, "url", r->url);
    set_str(o, "host", r->host);
    set_str(o, "referer", r->referer);
    set_str(o, "decision", prov_decision_name(r->decision));
    set_str(o, "rule", r->rule);
    set_str(o, "reason", r->reason);
    set_str(o, "upstream_addr", r->upstream_addr);
    set_str(o, "tls_fingerprint", r->tls_fingerprint);
    set_str(o, "tls_protocol", r->tls_protocol);
    set_str(o, "tls_cipher", r->tls_cipher);
    if (r->status)
        set_u64(o, "status", (uint64_t)r->status);
    set_str(o, "content_type", r->content_type);
    set_u64(o, "bytes_in", r->bytes_in);
    set_u64(o, "bytes_out", r->bytes_out);
    if (r->has_body_hashes) {
        set_hex(o, "body_sha256_received", r->body_sha256_received);
        set_hex(o, "body_sha256_delivered", r->body_sha256_delivered);
    }
    set_u64(o, "sanitizer_removed", r->sanitizer_removed);
    if (r->sanitizer_report_json) {
        json_t *rep = json_loads(r->sanitizer_report_json, JSON_DECODE_ANY, NULL);
        /* a report that is not JSON is kept verbatim as a string */
        json_object_set_new(o, "sanitizer_report",
                            rep ? rep : json_string(r->sanitizer_report_json));
    }
    set_hex(o, "hash", d->hash);
    char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return s;
}
