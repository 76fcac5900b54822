/* certs: private interfaces shared by the CA, leaf and cache files and the `ca` subcommand.
 * Nothing outside certs/ includes this; other modules use certs/certs.h. */
#ifndef AG_CERTS_INTERNAL_H
#define AG_CERTS_INTERNAL_H

#include <limits.h>
#include <time.h>
#include <openssl/x509.h>

#include "certs/certs.h"

#define CERTS_CA_CERT_FILE "ca.pem"
#define CERTS_CA_KEY_FILE "ca.key"

struct certs_ca {
    X509 *cert;          /* owned */
    EVP_PKEY *key;       /* owned; never logged or printed */
    time_t not_before;   /* of the CA certificate */
    time_t not_after;
    char dir[PATH_MAX];
};

/* Builds "dir/name" into out; fails (naming the path) if it does not fit. */
int certs_path_join(char *out, size_t outsz, const char *dir, const char *name, ag_error *err);
/* Reads the first certificate of a PEM file. */
int certs_read_cert_file(const char *path, X509 **out, ag_error *err);
/* base64(SHA-256(DER SubjectPublicKeyInfo)) of cert. */
int certs_cert_spki(X509 *cert, char *out, size_t outsz, ag_error *err);
/* The oldest queued OpenSSL error as text (the queue is then cleared), or "unknown error". */
const char *certs_ssl_error(char *buf, size_t bufsz);
/* Sets a positive random serial of `bytes` bytes (at most 20, RFC 5280). */
int certs_random_serial(X509 *cert, int bytes);
/* ASN1_TIME to time_t (UTC). */
int certs_asn1_time_to_epoch(const ASN1_TIME *t, time_t *out);

#endif
