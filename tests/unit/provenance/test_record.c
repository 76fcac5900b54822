/* Unit tests: the record encoding round-trips every field, stays compact, deflates large
 * sanitizer reports, and rejects damaged bytes with an error naming the record. */
#include "prov_test_util.h"

static void full_record(prov_record *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->request_id, sizeof r->request_id, "0123456789abcdef0123456789abcdef012345");
    r->start_us = T0_US + 123456;
    r->duration_us = 987654321;
    r->agent = "research-bot";
    r->client_addr = "127.0.0.1:40000";
    r->listener = "127.0.0.1:3128";
    r->method = "POST";
    r->url = "https://docs.example.com/a/b?c=d&e=%20";
    r->host = "docs.example.com";
    r->referer = "https://start.example.com/";
    r->decision = PROV_REPORT_ONLY_DENY;
    r->rule = "docs.allow[3]";
    r->reason = "path not allowed";
    r->upstream_addr = "93.184.216.34:443";
    r->tls_fingerprint = "ab:cd:ef";
    r->tls_protocol = "TLSv1.3";
    r->tls_cipher = "TLS_AES_256_GCM_SHA384";
    r->status = 201;
    r->content_type = "text/html; charset=utf-8";
    r->bytes_in = 1ull << 40;
    r->bytes_out = 77;
    for (int i = 0; i < 32; i++) {
        r->body_sha256_received[i] = (uint8_t)i;
        r->body_sha256_delivered[i] = (uint8_t)(255 - i);
    }
    r->has_body_hashes = 1;
    r->sanitizer_report_json = "{\"counts\":{\"script\":1}}";
    r->sanitizer_removed = 1;
}

static void assert_same(const prov_record *a, const prov_record *b)
{
#define SAME_STR(f) cr_assert_str_eq(a->f ? a->f : "(null)", b->f ? b->f : "(null)", #f)
    cr_assert_str_eq(a->request_id, b->request_id);
    cr_assert_eq(a->start_us, b->start_us);
    cr_assert_eq(a->duration_us, b->duration_us);
    SAME_STR(agent); SAME_STR(client_addr); SAME_STR(listener); SAME_STR(method);
    SAME_STR(url); SAME_STR(host); SAME_STR(referer); SAME_STR(rule); SAME_STR(reason);
    SAME_STR(upstream_addr); SAME_STR(tls_fingerprint); SAME_STR(tls_protocol);
    SAME_STR(tls_cipher); SAME_STR(content_type); SAME_STR(sanitizer_report_json);
    cr_assert_eq(a->decision, b->decision);
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->bytes_in, b->bytes_in);
    cr_assert_eq(a->bytes_out, b->bytes_out);
    cr_assert_eq(a->has_body_hashes, b->has_body_hashes);
    if (a->has_body_hashes) {
        cr_assert_arr_eq(a->body_sha256_received, b->body_sha256_received, 32);
        cr_assert_arr_eq(a->body_sha256_delivered, b->body_sha256_delivered, 32);
    }
    cr_assert_eq(a->sanitizer_removed, b->sanitizer_removed);
#undef SAME_STR
}

/* Encodes, appends a fake hash as the store does, decodes. */
static void round_trip(const prov_record *in, prov_decoded *d, size_t *encoded_len)
{
    prov_buf b = {0};
    ag_error err;
    cr_assert_eq(prov_record_encode(in, &b, &err), AG_OK, "%s", err.msg);
    *encoded_len = b.len;
    cr_assert_eq(prov_buf_reserve(&b, PROV_HASH_LEN), AG_OK);
    memset(b.data + b.len, 0xAB, PROV_HASH_LEN);
    cr_assert_eq(prov_record_decode(42, b.data, b.len + PROV_HASH_LEN, 1, d, &err), AG_OK, "%s",
                 err.msg);
    cr_assert_eq(d->rec.seq, 42);
    cr_assert_eq(d->canonical_len, b.len);
    for (int i = 0; i < PROV_HASH_LEN; i++)
        cr_assert_eq(d->hash[i], 0xAB);
    prov_buf_free(&b);
}

Test(record, every_field_round_trips)
{
    prov_record r;
    full_record(&r);
    prov_decoded d = {0};
    size_t len;
    round_trip(&r, &d, &len);
    assert_same(&r, &d.rec);
    prov_decoded_free(&d);
}

Test(record, absent_fields_stay_absent)
{
    prov_record r = {0};
    r.start_us = T0_US;
    r.decision = PROV_DENY;
    r.url = "evil.test:443";
    prov_decoded d = {0};
    size_t len;
    round_trip(&r, &d, &len);
    assert_same(&r, &d.rec);
    cr_assert_null(d.rec.agent);
    cr_assert_null(d.rec.sanitizer_report_json);
    cr_assert_eq(d.rec.request_id[0], '\0');
    cr_assert_lt(len, 40, "a minimal record is %zu bytes", len);
    prov_decoded_free(&d);
}

Test(record, every_decision_round_trips)
{
    for (int dec = PROV_ALLOW; dec <= PROV_ERROR; dec++) {
        prov_record r = {0};
        r.decision = (prov_decision)dec;
        prov_decoded d = {0};
        size_t len;
        round_trip(&r, &d, &len);
        cr_assert_eq(d.rec.decision, dec);
        prov_decision parsed;
        cr_assert_eq(prov_decision_parse(prov_decision_name(dec), &parsed), AG_OK);
        cr_assert_eq(parsed, dec);
        prov_decoded_free(&d);
    }
    prov_decision x;
    cr_assert_eq(prov_decision_parse("maybe", &x), AG_ERR);
}

Test(record, large_report_is_deflated_and_restored)
{
    size_t n = 20000;
    char *rep = malloc(n + 64);
    size_t o = (size_t)sprintf(rep, "{\"spans\":[");
    while (o < n)
        o += (size_t)sprintf(rep + o, "\"Ignore all previous instructions\",");
    sprintf(rep + o, "\"end\"]}");
    prov_record r;
    full_record(&r);
    r.sanitizer_report_json = rep;
    prov_decoded d = {0};
    size_t len;
    round_trip(&r, &d, &len);
    assert_same(&r, &d.rec);
    cr_assert_lt(len, 2000, "a %zu-byte repetitive report encodes to %zu bytes", n, len);
    /* queries that do not print the report skip inflating it */
    prov_buf b = {0};
    ag_error err;
    prov_record_encode(&r, &b, &err);
    prov_buf_reserve(&b, PROV_HASH_LEN);
    cr_assert_eq(prov_record_decode(1, b.data, b.len + PROV_HASH_LEN, 0, &d, &err), AG_OK);
    cr_assert_null(d.rec.sanitizer_report_json);
    cr_assert_str_eq(d.rec.url, r.url);
    prov_buf_free(&b);
    prov_decoded_free(&d);
    free(rep);
}

Test(record, typical_record_is_compact)
{
    prov_record r;
    full_record(&r);
    prov_buf b = {0};
    ag_error err;
    cr_assert_eq(prov_record_encode(&r, &b, &err), AG_OK);
    cr_assert_lt(b.len + PROV_HASH_LEN, 512, "typical record is %zu bytes", b.len);
    prov_buf_free(&b);
}

Test(record, damaged_bytes_are_rejected)
{
    prov_record r;
    full_record(&r);
    prov_buf b = {0};
    ag_error err;
    prov_record_encode(&r, &b, &err);
    prov_buf_reserve(&b, PROV_HASH_LEN);
    prov_decoded d = {0};
    size_t full = b.len + PROV_HASH_LEN;
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut + PROV_HASH_LEN);
        memcpy(copy, b.data, cut);
        memset(copy + cut, 0, PROV_HASH_LEN);
        cr_assert_eq(prov_record_decode(9, copy, cut + PROV_HASH_LEN, 1, &d, &err), AG_ERR,
                     "cut at %zu decoded", cut);
        cr_assert(strstr(err.msg, "record 9") != NULL, "%s", err.msg);
        free(copy);
    }
    b.data[0] = 7; /* unknown version */
    cr_assert_eq(prov_record_decode(9, b.data, full, 1, &d, &err), AG_ERR);
    cr_assert(strstr(err.msg, "version 7") != NULL, "%s", err.msg);
    prov_buf_free(&b);
    prov_decoded_free(&d);
}

Test(record, time_arguments)
{
    uint64_t now = T0_US, t;
    cr_assert_eq(prov_parse_time("2h", now, &t), AG_OK);
    cr_assert_eq(t, now - 7200ull * 1000000);
    cr_assert_eq(prov_parse_time("30m", now, &t), AG_OK);
    cr_assert_eq(t, now - 1800ull * 1000000);
    cr_assert_eq(prov_parse_time("7d", now, &t), AG_OK);
    cr_assert_eq(t, now - 7 * 86400ull * 1000000);
    cr_assert_eq(prov_parse_time("2026-09-21T14:13:20Z", now, &t), AG_OK);
    cr_assert_eq(t, T0_US);
    cr_assert_eq(prov_parse_time("2026-09-21T14:13:20.25Z", now, &t), AG_OK);
    cr_assert_eq(t, T0_US + 250000);
    cr_assert_eq(prov_parse_time("2026-09-21T16:13:20+02:00", now, &t), AG_OK);
    cr_assert_eq(t, T0_US);
    cr_assert_eq(prov_parse_time("2026-09-21", now, &t), AG_OK);
    cr_assert_eq(t, T0_US - (14 * 3600 + 13 * 60 + 20) * 1000000ull);
    const char *bad[] = {"", "2x", "h", "yesterday", "2026-13-01", "2026-09-21T14:13:20",
                         "2026-09-21T25:00:00Z", "2026-09-21T14:13:20Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(prov_parse_time(bad[i], now, &t), AG_ERR, "'%s' parsed", bad[i]);
}
