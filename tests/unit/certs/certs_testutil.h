/* Helpers for the certs unit tests: temporary CA directories (removed after each test),
 * running a shell pipeline, reading certificates, and an in-memory TLS handshake. */
#ifndef AG_CERTS_TESTUTIL_H
#define AG_CERTS_TESTUTIL_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A fresh temporary directory; remove it with tmpdir_remove. */
static inline void tmpdir_make(char *out, size_t outsz)
{
    snprintf(out, outsz, "/tmp/ag-certs-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

static inline void tmpdir_remove(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A new CA in dir/ca, loaded. */
static inline certs_ca *make_ca(const char *tmp, char *cadir, size_t cadirsz)
{
    ag_error err = {{0}};
    certs_ca *ca = NULL;
    snprintf(cadir, cadirsz, "%s/ca", tmp);
    cr_assert_eq(certs_ca_init(cadir, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(certs_ca_load(cadir, &ca, &err), AG_OK, "%s", err.msg);
    return ca;
}

/* Runs a shell command and returns its first output line (trailing newline removed). */
static inline void run_line(const char *cmd, char *out, size_t outsz)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s", cmd);
    out[0] = '\0';
    if (!fgets(out, (int)outsz, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    cr_assert_eq(pclose(p), 0, "command failed: %s", cmd);
}

static inline X509 *read_pem_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "open %s", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(x, "parse %s", path);
    return x;
}

/* Client context trusting only ca_cert, verifying the peer. */
static inline SSL_CTX *client_ctx_trusting(X509 *ca_cert)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(ctx);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca_cert);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

typedef struct tls_pair {
    SSL *client, *server;
    int ok;
} tls_pair;

/* Handshakes client and server over a BIO pair, all in memory. alpn is in wire format
 * (length-prefixed) or NULL; host sets SNI and the name checked. */
static inline tls_pair tls_handshake(SSL_CTX *server_ctx, SSL_CTX *client_ctx, const char *host,
                                     const unsigned char *alpn, unsigned alpn_len)
{
    tls_pair p = {SSL_new(client_ctx), SSL_new(server_ctx), 0};
    cr_assert(p.client && p.server);
    BIO *cb = NULL, *sb = NULL;
    cr_assert_eq(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(p.client, cb, cb);
    SSL_set_bio(p.server, sb, sb);
    SSL_set_connect_state(p.client);
    SSL_set_accept_state(p.server);
    if (host) {
        SSL_set_tlsext_host_name(p.client, host);
        SSL_set1_host(p.client, host);
    }
    if (alpn)
        SSL_set_alpn_protos(p.client, alpn, alpn_len);
    int cdone = 0, sdone = 0;
    for (int i = 0; i < 100 && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(p.client);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(p.client, r) != SSL_ERROR_WANT_READ)
                break;
        }
        if (!sdone) {
            int r = SSL_do_handshake(p.server);
            if (r == 1)
                sdone = 1;
            else if (SSL_get_error(p.server, r) != SSL_ERROR_WANT_READ)
                break;
        }
    }
    ERR_clear_error();
    p.ok = cdone && sdone;
    return p;
}

static inline void tls_pair_free(tls_pair *p)
{
    SSL_free(p->client);
    SSL_free(p->server);
}

#endif
