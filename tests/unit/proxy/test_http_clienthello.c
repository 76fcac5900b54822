/* Unit tests for proxy/tls_hello: SNI extraction from a ClientHello, incomplete records,
 * missing SNI, and malformed input. */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy/tls_hello.h"

/* Builds a TLS record with a ClientHello; sni NULL leaves the extension out. */
static size_t build_hello(uint8_t *out, const char *sni)
{
    uint8_t body[512];
    size_t n = 0;
    body[n++] = 0x03, body[n++] = 0x03;             /* client_version */
    memset(body + n, 0xab, 32), n += 32;             /* random */
    body[n++] = 0;                                   /* session id */
    body[n++] = 0, body[n++] = 2, body[n++] = 0x13, body[n++] = 0x01; /* one cipher suite */
    body[n++] = 1, body[n++] = 0;                    /* compression: null */
    uint8_t ext[300];
    size_t e = 0;
    ext[e++] = 0x00, ext[e++] = 0x0b, ext[e++] = 0, ext[e++] = 2, ext[e++] = 1, ext[e++] = 0; /* ec_point_formats */
    if (sni) {
        size_t l = strlen(sni);
        ext[e++] = 0, ext[e++] = 0;                          /* server_name */
        ext[e++] = 0, ext[e++] = (uint8_t)(l + 5);
        ext[e++] = 0, ext[e++] = (uint8_t)(l + 3);
        ext[e++] = 0;                                        /* host_name */
        ext[e++] = 0, ext[e++] = (uint8_t)l;
        memcpy(ext + e, sni, l), e += l;
    }
    body[n++] = 0, body[n++] = (uint8_t)e;
    memcpy(body + n, ext, e), n += e;
    size_t r = 0;
    out[r++] = 0x16, out[r++] = 0x03, out[r++] = 0x01;
    out[r++] = (uint8_t)((n + 4) >> 8), out[r++] = (uint8_t)(n + 4);
    out[r++] = 1, out[r++] = 0, out[r++] = (uint8_t)(n >> 8), out[r++] = (uint8_t)n;
    memcpy(out + r, body, n);
    return r + n;
}

Test(clienthello, extracts_sni)
{
    uint8_t rec[600];
    size_t len = build_hello(rec, "Docs.Test");
    char sni[256], why[128];
    cr_assert_eq(tls_hello_sni(rec, len, sni, sizeof sni, why, sizeof why), TLS_HELLO_OK, "%s", why);
    cr_assert_str_eq(sni, "Docs.Test");
}

Test(clienthello, incomplete_record_needs_more)
{
    uint8_t rec[600];
    size_t len = build_hello(rec, "docs.test");
    char sni[256], why[128];
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_eq(tls_hello_sni(rec, cut, sni, sizeof sni, why, sizeof why), TLS_HELLO_MORE, "cut %zu", cut);
}

Test(clienthello, no_sni)
{
    uint8_t rec[600];
    size_t len = build_hello(rec, NULL);
    char sni[256], why[128];
    cr_assert_eq(tls_hello_sni(rec, len, sni, sizeof sni, why, sizeof why), TLS_HELLO_OK);
    cr_assert_str_eq(sni, "");
}

Test(clienthello, malformed_input_is_bad)
{
    char sni[256], why[128];
    const uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";
    cr_assert_eq(tls_hello_sni(http, sizeof http - 1, sni, sizeof sni, why, sizeof why), TLS_HELLO_BAD);
    uint8_t rec[600];
    size_t len = build_hello(rec, "docs.test");
    rec[5] = 2; /* ServerHello instead of ClientHello */
    cr_assert_eq(tls_hello_sni(rec, len, sni, sizeof sni, why, sizeof why), TLS_HELLO_BAD);
    len = build_hello(rec, "docs.test");
    rec[len - 13] = 0x7f; /* corrupt the server_name list length */
    cr_assert_eq(tls_hello_sni(rec, len, sni, sizeof sni, why, sizeof why), TLS_HELLO_BAD);
    len = build_hello(rec, "docs.test");
    rec[8] = 0xff; /* handshake longer than the record */
    cr_assert_eq(tls_hello_sni(rec, len, sni, sizeof sni, why, sizeof why), TLS_HELLO_BAD);
}
