/* certs: the interception CA — creating it (EC P-256, self-signed, key written 0600 with no
 * window where it is readable), loading it (refusing a key readable by group or others, or one
 * that does not match the certificate) and its SPKI pin. Leaves are minted in leaf.c. */
#include "certs/certs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define CA_VALIDITY_DAYS 3650
#define PEM_FILE_MAX (64 * 1024)

const char *certs_ssl_error(char *buf, size_t bufsz)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, bufsz, "unknown error");
    else
        ERR_error_string_n(e, buf, bufsz);
    ERR_clear_error();
    return buf;
}

int certs_path_join(char *out, size_t outsz, const char *dir, const char *name, ag_error *err)
{
    int n = snprintf(out, outsz, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outsz)
        return ag_errorf(err, "%s/%s: path too long", dir, name);
    return AG_OK;
}

int certs_asn1_time_to_epoch(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return AG_ERR;
    *out = timegm(&tm);
    return AG_OK;
}

/* Reads a whole small file into a memory BIO; the fd is closed. */
static BIO *read_fd_to_bio(int fd, const char *path, ag_error *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) {
        close(fd);
        ag_errorf(err, "%s: out of memory", path);
        return NULL;
    }
    char buf[4096];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ag_errorf(err, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (n == 0) {
            close(fd);
            return bio;
        }
        total += (size_t)n;
        if (total > PEM_FILE_MAX) {
            ag_errorf(err, "%s: larger than %d bytes, not a PEM certificate or key", path,
                      PEM_FILE_MAX);
            break;
        }
        BIO_write(bio, buf, (int)n);
    }
    close(fd);
    BIO_free(bio);
    return NULL;
}

int certs_read_cert_file(const char *path, X509 **out, ag_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ag_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    BIO *bio = read_fd_to_bio(fd, path, err);
    if (!bio)
        return AG_ERR;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!cert) {
        char e[256];
        return ag_errorf(err, "%s: not a PEM certificate: %s", path,
                         certs_ssl_error(e, sizeof e));
    }
    *out = cert;
    return AG_OK;
}

/* Never prompts on the terminal for a pass phrase: an encrypted key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static int read_key_file(const char *path, EVP_PKEY **out, ag_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ag_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ag_errorf(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ag_errorf(err, "%s: not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return ag_errorf(err,
                         "%s: mode %04o lets group or others read the CA key; "
                         "run `chmod 600 %s` (and consider the key exposed)",
                         path, (unsigned)(st.st_mode & 07777), path);
    }
    BIO *bio = read_fd_to_bio(fd, path, err);
    if (!bio)
        return AG_ERR;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!key) {
        char e[256];
        return ag_errorf(err, "%s: not an unencrypted PEM private key: %s", path,
                         certs_ssl_error(e, sizeof e));
    }
    *out = key;
    return AG_OK;
}

/* Writes data to a new file created with O_EXCL at its final mode, so it is never readable
 * by anyone else, not even briefly, and an existing file is never replaced. */
static int write_new_file(const char *path, mode_t mode, const char *data, size_t len,
                          ag_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return ag_errorf(err, "%s: already exists; refusing to overwrite it", path);
        return ag_errorf(err, "%s: cannot create: %s", path, strerror(errno));
    }
    /* The umask can only have removed bits; make the mode exactly what was asked. */
    if (fchmod(fd, mode) != 0)
        goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        off += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return ag_errorf(err, "%s: cannot write: %s", path, strerror(e));
    }
    return AG_OK;
fail:;
    int e = errno;
    close(fd);
    unlink(path);
    return ag_errorf(err, "%s: cannot write: %s", path, strerror(e));
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
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

int certs_random_serial(X509 *cert, int bytes)
{
    unsigned char buf[20];
    if (bytes > (int)sizeof buf || RAND_bytes(buf, bytes) != 1)
        return AG_ERR;
    buf[0] &= 0x7f;
    buf[0] |= 0x40; /* keep the full length, so serials never collide by being short */
    BIGNUM *bn = BN_bin2bn(buf, bytes, NULL);
    if (!bn)
        return AG_ERR;
    ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (!serial)
        return AG_ERR;
    int ok = X509_set_serialNumber(cert, serial);
    ASN1_INTEGER_free(serial);
    return ok ? AG_OK : AG_ERR;
}

/* The subject names the host the CA was made on, so a person who finds it in a trust store
 * knows where it came from. CN is at most 64 bytes (RFC 5280 ub-common-name). */
static void ca_common_name(char *out, size_t outsz)
{
    char host[256] = "unknown host";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "unknown host");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    static const char prefix[] = "agentgate interception CA (";
    size_t room = 64 - (sizeof prefix - 1) - 1;
    if (strlen(host) > room)
        host[room] = '\0';
    snprintf(out, outsz, "%s%s)", prefix, host);
}

static X509 *make_ca_cert(EVP_PKEY *key, ag_error *err)
{
    char cn[80];
    ca_common_name(cn, sizeof cn);
    X509 *cert = X509_new();
    if (!cert)
        goto fail;
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_set_version(cert, 2) != 1 || certs_random_serial(cert, 16) != AG_OK ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                    (const unsigned char *)"agentgate", -1, -1, 0) ||
        X509_set_issuer_name(cert, name) != 1 ||
        !X509_time_adj_ex(X509_getm_notBefore(cert), -1, 0, NULL) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), CA_VALIDITY_DAYS, 0, NULL) ||
        X509_set_pubkey(cert, key) != 1 ||
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != AG_OK ||
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") != AG_OK ||
        add_ext(cert, cert, NID_subject_key_identifier, "hash") != AG_OK ||
        add_ext(cert, cert, NID_authority_key_identifier, "keyid:always") != AG_OK ||
        X509_sign(cert, key, EVP_sha256()) <= 0)
        goto fail;
    return cert;
fail:;
    char e[256];
    ag_errorf(err, "cannot build the CA certificate: %s", certs_ssl_error(e, sizeof e));
    X509_free(cert);
    return NULL;
}

static int pem_of_key(EVP_PKEY *key, BIO *bio)
{
    return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1;
}

static int pem_of_cert(X509 *cert, BIO *bio) { return PEM_write_bio_X509(bio, cert) == 1; }

static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

int certs_ca_init(const char *dir, ag_error *err)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    if (certs_path_join(cert_path, sizeof cert_path, dir, CERTS_CA_CERT_FILE, err) != AG_OK ||
        certs_path_join(key_path, sizeof key_path, dir, CERTS_CA_KEY_FILE, err) != AG_OK)
        return AG_ERR;
    if (ag_mkdir_p(dir, 0700, err) != AG_OK)
        return AG_ERR;
    if (path_exists(cert_path))
        return ag_errorf(err, "%s: already exists; refusing to overwrite the CA", cert_path);
    if (path_exists(key_path))
        return ag_errorf(err, "%s: already exists; refusing to overwrite the CA", key_path);

    int rc = AG_ERR;
    X509 *cert = NULL;
    BIO *key_pem = BIO_new(BIO_s_mem()), *cert_pem = BIO_new(BIO_s_mem());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key || !key_pem || !cert_pem) {
        char e[256];
        ag_errorf(err, "cannot generate the CA key: %s", certs_ssl_error(e, sizeof e));
        goto out;
    }
    if (!(cert = make_ca_cert(key, err)))
        goto out;
    if (!pem_of_key(key, key_pem) || !pem_of_cert(cert, cert_pem)) {
        char e[256];
        ag_errorf(err, "cannot encode the CA: %s", certs_ssl_error(e, sizeof e));
        goto out;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(key_pem, &data);
    if (write_new_file(key_path, 0600, data, (size_t)len, err) != AG_OK)
        goto out;
    len = BIO_get_mem_data(cert_pem, &data);
    if (write_new_file(cert_path, 0644, data, (size_t)len, err) != AG_OK) {
        unlink(key_path); /* a key without its certificate is of no use to anyone */
        goto out;
    }
    rc = AG_OK;
out:
    /* The PEM of the key sits in key_pem's buffer: wipe it before it goes back to malloc. */
    if (key_pem) {
        char *secret;
        long secret_len = BIO_get_mem_data(key_pem, &secret);
        if (secret_len > 0)
            OPENSSL_cleanse(secret, (size_t)secret_len);
    }
    BIO_free(key_pem);
    BIO_free(cert_pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static int check_ca_cert(const char *cert_path, struct certs_ca *ca, ag_error *err)
{
    if (X509_check_ca(ca->cert) < 1)
        return ag_errorf(err, "%s: not a CA certificate (basicConstraints CA:TRUE missing)",
                         cert_path);
    if (certs_asn1_time_to_epoch(X509_get0_notBefore(ca->cert), &ca->not_before) != AG_OK ||
        certs_asn1_time_to_epoch(X509_get0_notAfter(ca->cert), &ca->not_after) != AG_OK)
        return ag_errorf(err, "%s: unreadable validity dates", cert_path);
    time_t now = time(NULL);
    /* Leaves end a day before the CA does, so a CA with less than two days left is useless. */
    if (ca->not_after <= now + 2 * 86400) {
        char when[40];
        return ag_errorf(err, "%s: the CA expires at %s; create a new one with `agentgate ca "
                              "init` in another directory",
                         cert_path, ag_format_time(when, sizeof when,
                                                   (uint64_t)ca->not_after * 1000000u));
    }
    return AG_OK;
}

int certs_ca_load(const char *dir, certs_ca **out, ag_error *err)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    if (certs_path_join(cert_path, sizeof cert_path, dir, CERTS_CA_CERT_FILE, err) != AG_OK ||
        certs_path_join(key_path, sizeof key_path, dir, CERTS_CA_KEY_FILE, err) != AG_OK)
        return AG_ERR;
    struct certs_ca *ca = calloc(1, sizeof *ca);
    if (!ca)
        return ag_errorf(err, "%s: out of memory", dir);
    snprintf(ca->dir, sizeof ca->dir, "%s", dir);
    if (certs_read_cert_file(cert_path, &ca->cert, err) != AG_OK ||
        read_key_file(key_path, &ca->key, err) != AG_OK)
        goto fail;
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        ag_errorf(err, "%s: does not match the certificate %s", key_path, cert_path);
        goto fail;
    }
    if (check_ca_cert(cert_path, ca, err) != AG_OK)
        goto fail;
    *out = ca;
    return AG_OK;
fail:
    certs_ca_free(ca);
    return AG_ERR;
}

int certs_ca_load_or_init(const char *dir, certs_ca **out, ag_error *err)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    if (certs_path_join(cert_path, sizeof cert_path, dir, CERTS_CA_CERT_FILE, err) != AG_OK ||
        certs_path_join(key_path, sizeof key_path, dir, CERTS_CA_KEY_FILE, err) != AG_OK)
        return AG_ERR;
    /* Only a directory with neither file gets a new CA; half a CA is an error to look at. */
    if (!path_exists(cert_path) && !path_exists(key_path)) {
        if (certs_ca_init(dir, err) != AG_OK)
            return AG_ERR;
        ag_log(AG_LOG_INFO, "ca_created", "dir=%s", dir);
    }
    return certs_ca_load(dir, out, err);
}

void certs_ca_free(certs_ca *ca)
{
    if (!ca)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

X509 *certs_ca_get0_cert(const certs_ca *ca) { return ca->cert; }

int certs_cert_spki(X509 *cert, char *out, size_t outsz, ag_error *err)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
    if (len <= 0)
        return ag_errorf(err, "cannot encode the CA public key");
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok || mdlen != sizeof md)
        return ag_errorf(err, "cannot hash the CA public key");
    if (outsz < 45) /* base64 of 32 bytes is 44 characters */
        return ag_errorf(err, "SPKI pin buffer too small (%zu bytes, need 45)", outsz);
    EVP_EncodeBlock((unsigned char *)out, md, (int)sizeof md);
    return AG_OK;
}

int certs_ca_spki(const certs_ca *ca, char *out, size_t outsz, ag_error *err)
{
    return certs_cert_spki(ca->cert, out, outsz, err);
}
