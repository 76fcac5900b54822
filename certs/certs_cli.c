/* certs: the `agentgate ca init|spki|show [--dir DIR]` subcommand. DIR defaults to
 * <data dir>/ca, the same place `agentgate run` creates and loads its CA. */
#include "certs/certs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

static const char usage_ca[] =
    "usage: agentgate ca init|spki|show [--dir DIR]\n"
    "\n"
    "  init   create the interception CA: DIR/ca.pem (0644) and DIR/ca.key (0600)\n"
    "  spki   print the CA's base64 SHA-256 SPKI pin, for Chromium's\n"
    "         --ignore-certificate-errors-spki-list\n"
    "  show   print subject, issuer, serial, validity, fingerprint, pin and key file mode\n"
    "\n"
    "DIR defaults to <data dir>/ca (data dir: $AGENTGATE_DATA_DIR, else\n"
    "$XDG_STATE_HOME/agentgate, else ~/.local/state/agentgate).\n";

static const char usage_init[] =
    "usage: agentgate ca init [--dir DIR]\n"
    "\n"
    "Creates an EC P-256 CA certificate DIR/ca.pem and its key DIR/ca.key (mode 0600).\n"
    "Refuses to overwrite an existing CA. Prints the files and the SPKI pin.\n";

static const char usage_spki[] =
    "usage: agentgate ca spki [--dir DIR]\n"
    "\n"
    "Prints base64(SHA-256(SubjectPublicKeyInfo)) of the CA on one line, for\n"
    "chromium --ignore-certificate-errors-spki-list=PIN. Loads the whole CA, so it fails\n"
    "if the key is unsafe or does not match.\n";

static const char usage_show[] =
    "usage: agentgate ca show [--dir DIR]\n"
    "\n"
    "Prints subject, issuer, serial, validity, SHA-256 fingerprint, SPKI pin and the mode of\n"
    "the key file. Exits 1 if the key file is missing or readable by group or others.\n";

typedef enum { CA_CMD_INIT, CA_CMD_SPKI, CA_CMD_SHOW } ca_cmd;

/* Parses [--dir DIR|--dir=DIR] [-h|--help]; returns -1 to continue, else an exit code. */
static int parse_options(int argc, char **argv, const char *usage, const char **dir)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--dir")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "agentgate ca: --dir needs a directory\n\n%s", usage);
                return 2;
            }
            *dir = argv[++i];
        } else if (!strncmp(a, "--dir=", 6) && a[6]) {
            *dir = a + 6;
        } else {
            fprintf(stderr, "agentgate ca: unexpected argument '%s'\n\n%s", a, usage);
            return 2;
        }
    }
    return -1;
}

static int cmd_init(const char *dir)
{
    ag_error err = {{0}};
    certs_ca *ca = NULL;
    char pin[64];
    if (certs_ca_init(dir, &err) != AG_OK || certs_ca_load(dir, &ca, &err) != AG_OK ||
        certs_ca_spki(ca, pin, sizeof pin, &err) != AG_OK) {
        fprintf(stderr, "agentgate ca init: %s\n", err.msg);
        certs_ca_free(ca);
        return 1;
    }
    certs_ca_free(ca);
    printf("created the interception CA in %s\n"
           "  certificate: %s/%s   (trust this: curl --cacert, NSS import, Playwright)\n"
           "  key:         %s/%s   (mode 0600; never share it)\n"
           "  spki pin:    %s\n"
           "chromium flag: --ignore-certificate-errors-spki-list=%s\n",
           dir, dir, CERTS_CA_CERT_FILE, dir, CERTS_CA_KEY_FILE, pin, pin);
    return 0;
}

static int cmd_spki(const char *dir)
{
    ag_error err = {{0}};
    certs_ca *ca = NULL;
    char pin[64];
    if (certs_ca_load(dir, &ca, &err) != AG_OK ||
        certs_ca_spki(ca, pin, sizeof pin, &err) != AG_OK) {
        fprintf(stderr, "agentgate ca spki: %s\n", err.msg);
        certs_ca_free(ca);
        return 1;
    }
    certs_ca_free(ca);
    printf("%s\n", pin);
    return 0;
}

static void print_name(const char *label, const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    long len = 0;
    if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) >= 0)
        len = BIO_get_mem_data(bio, &text);
    printf("%-12s %.*s\n", label, (int)(text ? len : 0), text ? text : "");
    BIO_free(bio);
}

static void print_time(const char *label, const ASN1_TIME *t)
{
    time_t when;
    char buf[40] = "unreadable";
    struct tm tm;
    if (certs_asn1_time_to_epoch(t, &when) == AG_OK && gmtime_r(&when, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-12s %s\n", label, buf);
}

static void print_serial(X509 *cert)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    printf("%-12s %s\n", "serial:", hex ? hex : "unreadable");
    OPENSSL_free(hex);
    BN_free(bn);
}

static void print_fingerprint(X509 *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[3 * EVP_MAX_MD_SIZE + 1] = "unreadable";
    if (X509_digest(cert, EVP_sha256(), md, &n) == 1) {
        for (unsigned int i = 0; i < n; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
    }
    printf("%-12s %s\n", "sha256:", hex);
}

/* Reports the key file's mode without reading the key; returns 0 if it is safe. */
static int print_key_mode(const char *dir)
{
    char path[PATH_MAX];
    ag_error err = {{0}};
    if (certs_path_join(path, sizeof path, dir, CERTS_CA_KEY_FILE, &err) != AG_OK) {
        fprintf(stderr, "agentgate ca show: %s\n", err.msg);
        return 1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("%-12s %s (%s)\n", "key:", path, strerror(errno));
        fprintf(stderr, "agentgate ca show: %s: %s\n", path, strerror(errno));
        return 1;
    }
    unsigned mode = (unsigned)(st.st_mode & 07777);
    if (mode & 077) {
        printf("%-12s %s mode %04o UNSAFE\n", "key:", path, mode);
        fprintf(stderr,
                "agentgate ca show: %s: mode %04o lets group or others read the CA key; "
                "run `chmod 600 %s`\n",
                path, mode, path);
        return 1;
    }
    printf("%-12s %s mode %04o\n", "key:", path, mode);
    return 0;
}

static int cmd_show(const char *dir)
{
    char path[PATH_MAX], pin[64];
    ag_error err = {{0}};
    X509 *cert = NULL;
    if (certs_path_join(path, sizeof path, dir, CERTS_CA_CERT_FILE, &err) != AG_OK ||
        certs_read_cert_file(path, &cert, &err) != AG_OK ||
        certs_cert_spki(cert, pin, sizeof pin, &err) != AG_OK) {
        fprintf(stderr, "agentgate ca show: %s\n", err.msg);
        X509_free(cert);
        return 1;
    }
    printf("%-12s %s\n", "certificate:", path);
    print_name("subject:", X509_get_subject_name(cert));
    print_name("issuer:", X509_get_issuer_name(cert));
    print_serial(cert);
    print_time("not before:", X509_get0_notBefore(cert));
    print_time("not after:", X509_get0_notAfter(cert));
    print_fingerprint(cert);
    printf("%-12s %s\n", "spki pin:", pin);
    X509_free(cert);
    return print_key_mode(dir);
}

int certs_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_ca, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        fputs(usage_ca, stdout);
        return 0;
    }
    ca_cmd cmd;
    const char *usage;
    if (!strcmp(sub, "init")) {
        cmd = CA_CMD_INIT;
        usage = usage_init;
    } else if (!strcmp(sub, "spki")) {
        cmd = CA_CMD_SPKI;
        usage = usage_spki;
    } else if (!strcmp(sub, "show")) {
        cmd = CA_CMD_SHOW;
        usage = usage_show;
    } else {
        fprintf(stderr, "agentgate ca: unknown subcommand '%s'\n\n%s", sub, usage_ca);
        return 2;
    }
    const char *dir = NULL;
    int rc = parse_options(argc - 2, argv + 2, usage, &dir);
    if (rc >= 0)
        return rc;
    char default_dir[PATH_MAX];
    if (!dir) {
        char data[PATH_MAX - 4];
        snprintf(default_dir, sizeof default_dir, "%s/ca", ag_default_data_dir(data, sizeof data));
        dir = default_dir;
    }
    switch (cmd) {
    case CA_CMD_INIT:
        return cmd_init(dir);
    case CA_CMD_SPKI:
        return cmd_spki(dir);
    case CA_CMD_SHOW:
        return cmd_show(dir);
    }
    return 2;
}
