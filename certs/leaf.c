/* certs: leaf certificates for CONNECT hosts — host name normalisation, minting a leaf signed
 * by the interception CA, and the server-side SSL_CTX that serves it (TLS >= 1.2, the CA as
 * chain so SPKI-pinning browsers find the pin, ALPN restricted to http/1.1). The shared cache
 * around these lives in leaf_cache.c. */
#include "certs/certs_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#define LEAF_VALIDITY_SECS (30 * 86400)
#define LEAF_BACKDATE_SECS 86400
#define CN_MAX 64 /* RFC 5280 ub-common-name */

static int is_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Labels of 1..63 letters, digits, '-' or '_'. Hyphen placement is not checked: real names
 * break that rule, and the name has already passed the policy before a leaf is minted. */
static int check_dns_name(const char *name, const char *shown, ag_error *err)
{
    size_t label = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (!is_host_char(*p))
            return ag_errorf(err, "host %s: character 0x%02x cannot appear in a host name",
                             shown, *p);
        if (*p == '.') {
            if (label == 0)
                return ag_errorf(err, "host %s: empty label", shown);
            label = 0;
        } else if (++label > 63) {
            return ag_errorf(err, "host %s: label longer than 63 characters", shown);
        }
    }
    if (label == 0)
        return ag_errorf(err, "host %s: empty label", shown);
    return AG_OK;
}

int certs_host_normalize(const char *host, char *out, size_t outsz, certs_host_kind *kind,
                         ag_error *err)
{
    char shown[96];
    ag_log_quote(shown, sizeof shown, host ? host : "");
    if (!host || !*host)
        return ag_errorf(err, "host: empty");
    size_t len = strlen(host);
    int bracketed = host[0] == '[';
    if (bracketed) {
        if (len < 3 || host[len - 1] != ']')
            return ag_errorf(err, "host %s: unbalanced brackets", shown);
        host++;
        len -= 2;
    }
    if (len > CERTS_HOST_MAX)
        return ag_errorf(err, "host %s: longer than %d characters", shown, CERTS_HOST_MAX);
    char buf[CERTS_HOST_MAX + 1];
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)host[i]);
    buf[len] = '\0';

    unsigned char addr[16];
    char canon[INET6_ADDRSTRLEN];
    certs_host_kind k;
    if (memchr(buf, ':', len)) {
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return ag_errorf(err, "host %s: not a valid IPv6 address", shown);
        inet_ntop(AF_INET6, addr, canon, sizeof canon);
        k = CERTS_HOST_IPV6;
    } else if (bracketed) {
        return ag_errorf(err, "host %s: brackets around something that is not IPv6", shown);
    } else {
        if (len > 1 && buf[len - 1] == '.')
            buf[--len] = '\0';
        if (len > 253)
            return ag_errorf(err, "host %s: longer than 253 characters", shown);
        if (inet_pton(AF_INET, buf, addr) == 1) {
            inet_ntop(AF_INET, addr, canon, sizeof canon);
            k = CERTS_HOST_IPV4;
        } else {
            if (check_dns_name(buf, shown, err) != AG_OK)
                return AG_ERR;
            k = CERTS_HOST_DNS;
        }
    }
    const char *result = k == CERTS_HOST_DNS ? buf : canon;
    if (strlen(result) + 1 > outsz)
        return ag_errorf(err, "host %s: output buffer too small", shown);
    memcpy(out, result, strlen(result) + 1);
    if (kind)
        *kind = k;
    return AG_OK;
}

static int add_conf_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return AG_ERR;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? AG_OK : AG_ERR;
}

/* The SAN is built as a structure, not from a config string, so no host name can smuggle in
 * extra names through the config syntax. */
static int add_san(X509 *cert, const char *host, certs_host_kind kind)
{
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *name = GENERAL_NAME_new();
    int rc = AG_ERR;
    if (!names || !name)
        goto out;
    if (kind == CERTS_HOST_DNS) {
        ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
        if (!dns || !ASN1_STRING_set(dns, host, (int)strlen(host))) {
            ASN1_IA5STRING_free(dns);
            goto out;
        }
        GENERAL_NAME_set0_value(name, GEN_DNS, dns);
    } else {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
        if (!ip)
            goto out;
        GENERAL_NAME_set0_value(name, GEN_IPADD, ip);
    }
    if (!sk_GENERAL_NAME_push(names, name))
        goto out;
    name = NULL;
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1)
        rc = AG_OK;
out:
    GENERAL_NAME_free(name);
    GENERAL_NAMES_free(names);
    return rc;
}

static int set_leaf_validity(X509 *cert, const certs_ca *ca, const char *host, ag_error *err)
{
    time_t now = time(NULL);
    time_t not_before = now - LEAF_BACKDATE_SECS;
    if (not_before < ca->not_before)
        not_before = ca->not_before;
    time_t not_after = now + LEAF_VALIDITY_SECS;
    if (not_after > ca->not_after - 86400)
        not_after = ca->not_after - 86400;
    if (not_after <= now)
        return ag_errorf(err, "leaf for %s: the CA in %s expires too soon to sign it", host,
                         ca->dir);
    if (!ASN1_TIME_set(X509_getm_notBefore(cert), not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(cert), not_after))
        return ag_errorf(err, "leaf for %s: cannot set validity", host);
    return AG_OK;
}

int certs_leaf_mint(const certs_ca *ca, const char *host, EVP_PKEY *key, X509 **cert_out,
                    EVP_PKEY **key_out, ag_error *err)
{
    char name[CERTS_HOST_MAX + 1];
    certs_host_kind kind;
    if (certs_host_normalize(host, name, sizeof name, &kind, err) != AG_OK)
        return AG_ERR;
    if (key) {
        EVP_PKEY_up_ref(key);
    } else if (!(key = EVP_EC_gen("P-256"))) {
        char e[256];
        return ag_errorf(err, "leaf for %s: cannot generate a key: %s", name,
                         certs_ssl_error(e, sizeof e));
    }
    char cn[CN_MAX + 1];
    snprintf(cn, sizeof cn, "%s", name);

    X509 *cert = X509_new();
    if (!cert)
        goto ssl_fail;
    if (X509_set_version(cert, 2) != 1 || certs_random_serial(cert, 16) != AG_OK ||
        !X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
        X509_set_pubkey(cert, key) != 1)
        goto ssl_fail;
    if (set_leaf_validity(cert, ca, name, err) != AG_OK)
        goto fail;
    if (add_san(cert, name, kind) != AG_OK ||
        add_conf_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") != AG_OK ||
        add_conf_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") != AG_OK ||
        add_conf_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth") != AG_OK ||
        add_conf_ext(cert, ca->cert, NID_subject_key_identifier, "hash") != AG_OK ||
        add_conf_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") != AG_OK ||
        X509_sign(cert, ca->key, EVP_sha256()) <= 0)
        goto ssl_fail;
    *cert_out = cert;
    *key_out = key;
    return AG_OK;
ssl_fail:;
    char e[256];
    ag_errorf(err, "leaf for %s: %s", name, certs_ssl_error(e, sizeof e));
fail:
    X509_free(cert);
    EVP_PKEY_free(key);
    return AG_ERR;
}

/* Browsers are made to speak HTTP/1.1 inside the tunnel: pick http/1.1 if the client offered
 * it, otherwise negotiate nothing (the client then falls back to HTTP/1.1 by itself). Never
 * a protocol the client did not list. */
static int alpn_select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                              const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    static const char want[] = "http/1.1";
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (n == 0 || i + 1 + n > inlen)
            return SSL_TLSEXT_ERR_NOACK; /* malformed list: negotiate nothing */
        if (n == sizeof want - 1 && !memcmp(in + i + 1, want, n)) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *certs_leaf_server_ctx(const certs_ca *ca, X509 *cert, EVP_PKEY *key, ag_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        goto fail;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        goto fail;
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_add1_chain_cert(ctx, ca->cert) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    static const unsigned char sid_ctx[] = "agentgate-mitm";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select_http11, NULL);
    return ctx;
fail:;
    char e[256];
    ag_errorf(err, "server TLS context for the leaf: %s", certs_ssl_error(e, sizeof e));
    SSL_CTX_free(ctx);
    return NULL;
}
