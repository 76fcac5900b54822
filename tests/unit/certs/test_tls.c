/* certs unit tests: the server SSL_CTX a leaf is served with, exercised by in-memory TLS
 * handshakes over BIO pairs — ALPN picks http/1.1 only when offered, TLS 1.2 minimum, the CA
 * is sent in the chain (Chromium's SPKI pin needs it), and the client verifies the name. */
#include "certs_testutil.h"

static char tmp[256];
static char cadir[300];
static certs_ca *ca;
static leaf_cache *cache;
static SSL_CTX *client;

static void setup(void)
{
    tmpdir_make(tmp, sizeof tmp);
    ca = make_ca(tmp, cadir, sizeof cadir);
    ag_error err = {{0}};
    cache = leaf_cache_new(ca, 16, &err);
    cr_assert_not_null(cache, "%s", err.msg);
    client = client_ctx_trusting(certs_ca_get0_cert(ca));
}
static void teardown(void)
{
    SSL_CTX_free(client);
    leaf_cache_free(cache);
    certs_ca_free(ca);
    tmpdir_remove(tmp);
}

TestSuite(tls, .init = setup, .fini = teardown);

static SSL_CTX *server_for(const char *host)
{
    ag_error err = {{0}};
    SSL_CTX *ctx = leaf_cache_get_ctx(cache, host, &err);
    cr_assert_not_null(ctx, "%s", err.msg);
    return ctx;
}

static void selected_alpn(SSL *ssl, char *out, size_t outsz)
{
    const unsigned char *proto = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &len);
    snprintf(out, outsz, "%.*s", (int)len, proto ? (const char *)proto : "");
}

static const unsigned char h2_and_http11[] = "\x02h2\x08http/1.1";
static const unsigned char h2_only[] = "\x02h2";
static const unsigned char http10_and_http11[] = "\x08http/1.0\x08http/1.1";

Test(tls, alpn_h2_and_http11_selects_http11)
{
    SSL_CTX *server = server_for("alpn.test");
    tls_pair p = tls_handshake(server, client, "alpn.test", h2_and_http11,
                               sizeof h2_and_http11 - 1);
    cr_assert(p.ok);
    char got[32];
    selected_alpn(p.client, got, sizeof got);
    cr_assert_str_eq(got, "http/1.1");
    selected_alpn(p.server, got, sizeof got);
    cr_assert_str_eq(got, "http/1.1");
    tls_pair_free(&p);

    p = tls_handshake(server, client, "alpn.test", http10_and_http11,
                      sizeof http10_and_http11 - 1);
    cr_assert(p.ok);
    selected_alpn(p.client, got, sizeof got);
    cr_assert_str_eq(got, "http/1.1", "http/1.1 even when not first");
    tls_pair_free(&p);
    SSL_CTX_free(server);
}

Test(tls, alpn_h2_only_negotiates_nothing)
{
    SSL_CTX *server = server_for("alpn.test");
    tls_pair p = tls_handshake(server, client, "alpn.test", h2_only, sizeof h2_only - 1);
    cr_assert(p.ok, "no ALPN is not a handshake failure");
    char got[32];
    selected_alpn(p.client, got, sizeof got);
    cr_assert_str_eq(got, "", "never a protocol the client did not offer, never h2");
    tls_pair_free(&p);

    p = tls_handshake(server, client, "alpn.test", NULL, 0);
    cr_assert(p.ok);
    selected_alpn(p.client, got, sizeof got);
    cr_assert_str_eq(got, "");
    tls_pair_free(&p);
    SSL_CTX_free(server);
}

Test(tls, client_verifies_the_leaf_and_receives_the_ca_in_the_chain)
{
    SSL_CTX *server = server_for("chain.test");
    tls_pair p = tls_handshake(server, client, "chain.test", NULL, 0);
    cr_assert(p.ok);
    cr_assert_eq(SSL_get_verify_result(p.client), X509_V_OK);
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(p.client);
    cr_assert_eq(sk_X509_num(sent), 2, "leaf + CA");
    cr_assert_eq(X509_cmp(sk_X509_value(sent, 1), certs_ca_get0_cert(ca)), 0);
    tls_pair_free(&p);

    /* The same leaf presented for another name fails the client's host check. */
    p = tls_handshake(server, client, "other.test", NULL, 0);
    cr_assert_not(p.ok, "a leaf for chain.test must not pass for other.test");
    tls_pair_free(&p);
    SSL_CTX_free(server);
}

Test(tls, tls_1_2_is_the_minimum)
{
    SSL_CTX *server = server_for("version.test");
    cr_assert_eq(SSL_CTX_get_min_proto_version(server), TLS1_2_VERSION);

    SSL_CTX *c12 = client_ctx_trusting(certs_ca_get0_cert(ca));
    SSL_CTX_set_max_proto_version(c12, TLS1_2_VERSION);
    tls_pair p = tls_handshake(server, c12, "version.test", h2_and_http11,
                               sizeof h2_and_http11 - 1);
    cr_assert(p.ok);
    cr_assert_eq(SSL_version(p.client), TLS1_2_VERSION);
    char got[32];
    selected_alpn(p.client, got, sizeof got);
    cr_assert_str_eq(got, "http/1.1", "ALPN also under TLS 1.2");
    tls_pair_free(&p);
    SSL_CTX_free(c12);

    SSL_CTX *c11 = client_ctx_trusting(certs_ca_get0_cert(ca));
    SSL_CTX_set_security_level(c11, 0);
    SSL_CTX_set_min_proto_version(c11, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(c11, TLS1_1_VERSION);
    p = tls_handshake(server, c11, "version.test", NULL, 0);
    cr_assert_not(p.ok, "TLS 1.1 refused");
    tls_pair_free(&p);
    SSL_CTX_free(c11);
    SSL_CTX_free(server);
}

Test(tls, ip_literal_leaf_verifies_for_the_address)
{
    SSL_CTX *server = server_for("[::1]");
    SSL_CTX *c = client_ctx_trusting(certs_ca_get0_cert(ca));
    X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(c), "::1");
    tls_pair p = tls_handshake(server, c, NULL, NULL, 0);
    cr_assert(p.ok);
    cr_assert_eq(SSL_get_verify_result(p.client), X509_V_OK);
    tls_pair_free(&p);
    SSL_CTX_free(c);
    SSL_CTX_free(server);
}
