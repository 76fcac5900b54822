/* certs: the interception CA (create, load, inspect), SPKI pins, and leaf certificates minted
 * on demand for CONNECT hosts, cached in a bounded LRU shared by all worker threads.
 * Depends on OpenSSL only. */
#ifndef AG_CERTS_H
#define AG_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "common/common.h"

typedef struct certs_ca certs_ca;
typedef struct leaf_cache leaf_cache;

/* Creates DIR/ca.pem and DIR/ca.key (mode 0600), EC P-256, CA:TRUE, keyCertSign.
 * Refuses to overwrite an existing CA. */
int certs_ca_init(const char *dir, ag_error *err);
/* Loads DIR/ca.pem + DIR/ca.key; refuses a key readable by group or others. */
int certs_ca_load(const char *dir, certs_ca **out, ag_error *err);
/* certs_ca_load, creating the CA first if DIR has none (used by `run`). */
int certs_ca_load_or_init(const char *dir, certs_ca **out, ag_error *err);
void certs_ca_free(certs_ca *ca);
/* base64(SHA-256(SubjectPublicKeyInfo)) for --ignore-certificate-errors-spki-list. */
int certs_ca_spki(const certs_ca *ca, char *out, size_t outsz, ag_error *err);

/* The CA certificate (borrowed: valid while ca lives). */
X509 *certs_ca_get0_cert(const certs_ca *ca);

/* Host names as they appear in CONNECT, normalised for the cache key and the SAN:
 * lower-case, one trailing dot removed, IPv6 brackets removed and IP literals printed
 * canonically. Rejects an empty or over-long name, empty labels, and any character that
 * cannot appear in a host name. */
#define CERTS_HOST_MAX 254
typedef enum { CERTS_HOST_DNS, CERTS_HOST_IPV4, CERTS_HOST_IPV6 } certs_host_kind;
int certs_host_normalize(const char *host, char *out, size_t outsz, certs_host_kind *kind,
                         ag_error *err);

/* Mints a leaf for host signed by ca: SAN DNS or IP, CN = host (first 64 bytes), validity
 * from a day back to min(now + 30 days, CA expiry - 1 day), digitalSignature, serverAuth,
 * SKI/AKI, random serial. With key NULL a fresh P-256 key is generated (the default used by
 * the cache); a caller-supplied key is used as is. On success *cert_out and *key_out are
 * new references. */
int certs_leaf_mint(const certs_ca *ca, const char *host, EVP_PKEY *key, X509 **cert_out,
                    EVP_PKEY **key_out, ag_error *err);
/* Server SSL_CTX serving cert + the CA as chain, TLS >= 1.2, and an ALPN callback that picks
 * http/1.1 only when the client offered it (otherwise no ALPN). New reference. */
SSL_CTX *certs_leaf_server_ctx(const certs_ca *ca, X509 *cert, EVP_PKEY *key, ag_error *err);

/* Leaf cache: capacity entries (LRU). Thread-safe; concurrent misses for one host mint once. */
leaf_cache *leaf_cache_new(certs_ca *ca, size_t capacity, ag_error *err);
void leaf_cache_free(leaf_cache *c);
/* Server-side SSL_CTX for host (DNS name or IP literal) with the minted leaf, TLS >= 1.2 and
 * ALPN that selects only http/1.1. Returns a new reference (SSL_CTX_free when done). */
SSL_CTX *leaf_cache_get_ctx(leaf_cache *c, const char *host, ag_error *err);
typedef struct leaf_cache_stats { uint64_t hits, misses, mints, evictions; size_t size; } leaf_cache_stats;
void leaf_cache_get_stats(leaf_cache *c, leaf_cache_stats *out);

/* `agentgate ca init|spki|show [--dir DIR]`; argv[0] is "ca". Returns exit code. */
int certs_main(int argc, char **argv);

#endif
