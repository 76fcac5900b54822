/* certs unit tests: creating and loading the interception CA — extensions, file modes, the
 * refusal to overwrite, to load a group/world-readable key or a mismatched key, and the SPKI
 * pin against the openssl command-line pipeline. */
#include <sys/stat.h>
#include <time.h>

#include "certs_testutil.h"

static char tmp[256];

static void setup(void) { tmpdir_make(tmp, sizeof tmp); }
static void teardown(void) { tmpdir_remove(tmp); }

TestSuite(ca, .init = setup, .fini = teardown);

static unsigned file_mode(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return (unsigned)(st.st_mode & 07777);
}

static void read_file(const char *path, char *out, size_t outsz)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, outsz - 1, f);
    out[n] = '\0';
    fclose(f);
}

Test(ca, init_writes_files_with_safe_modes_even_with_open_umask)
{
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/ca", tmp);
    mode_t old = umask(0);
    ag_error err = {{0}};
    int rc = certs_ca_init(dir, &err);
    umask(old);
    cr_assert_eq(rc, AG_OK, "%s", err.msg);
    cr_assert_eq(file_mode(dir), 0700);
    snprintf(path, sizeof path, "%s/ca.key", dir);
    cr_assert_eq(file_mode(path), 0600);
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    cr_assert_eq(file_mode(path), 0644);
}

Test(ca, certificate_has_ca_extensions_subject_and_validity)
{
    char dir[300], path[400];
    certs_ca *ca = make_ca(tmp, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    X509 *x = read_pem_cert(path);

    cr_assert_eq(X509_get_version(x), 2, "X.509 v3");
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    cr_assert_not_null(bc);
    cr_assert(bc->ca);
    cr_assert_eq(crit, 1, "basicConstraints critical");
    cr_assert_eq(ASN1_INTEGER_get(bc->pathlen), 0);
    BASIC_CONSTRAINTS_free(bc);

    ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
    cr_assert_not_null(ku);
    cr_assert_eq(crit, 1, "keyUsage critical");
    ASN1_BIT_STRING_free(ku);
    cr_assert_eq(X509_get_key_usage(x), (uint32_t)(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    cr_assert_not_null(X509_get0_subject_key_id(x));

    char cn[128] = "", o[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, o, sizeof o);
    cr_assert(strncmp(cn, "agentgate interception CA (", 27) == 0, "CN %s", cn);
    cr_assert(strlen(cn) <= 64);
    cr_assert_str_eq(o, "agentgate");
    cr_assert_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    cr_assert_eq(serial->length, 16, "128-bit serial, got %d bytes", serial->length);
    cr_assert_eq(serial->type, V_ASN1_INTEGER, "positive serial");

    time_t now = time(NULL);
    int day = 0, sec = 0;
    ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notBefore(x)); /* notBefore - now */
    cr_assert(day == -1 || (day == 0 && sec <= -86390), "notBefore a day back: %d %d", day, sec);
    ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(x));
    cr_assert(day >= 3649 && day <= 3650, "ten years: %d days", day);
    (void)now;

    EVP_PKEY *pub = X509_get0_pubkey(x);
    cr_assert_eq(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    char group[32] = "";
    EVP_PKEY_get_group_name(pub, group, sizeof group, NULL);
    cr_assert_str_eq(group, "prime256v1");
    cr_assert_eq(X509_verify(x, pub), 1, "self-signed");
    X509_free(x);
    certs_ca_free(ca);
}

Test(ca, init_refuses_to_overwrite_and_names_the_file)
{
    char dir[300], path[400], before[4096], after[4096];
    certs_ca *ca = make_ca(tmp, dir, sizeof dir);
    certs_ca_free(ca);
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    read_file(path, before, sizeof before);
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_init(dir, &err), AG_ERR);
    cr_assert(strstr(err.msg, path), "names %s: %s", path, err.msg);
    cr_assert(strstr(err.msg, "refusing to overwrite"), "%s", err.msg);
    read_file(path, after, sizeof after);
    cr_assert_str_eq(before, after);

    /* Only the key left: still refused, naming the key. */
    unlink(path);
    snprintf(path, sizeof path, "%s/ca.key", dir);
    cr_assert_eq(certs_ca_init(dir, &err), AG_ERR);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
}

static void expect_mode_refused(const char *dir, mode_t mode, const char *shown)
{
    char key[400];
    snprintf(key, sizeof key, "%s/ca.key", dir);
    cr_assert_eq(chmod(key, mode), 0);
    certs_ca *ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load(dir, &ca, &err), AG_ERR, "mode %s accepted", shown);
    cr_assert_null(ca);
    cr_assert(strstr(err.msg, key), "names the key file: %s", err.msg);
    cr_assert(strstr(err.msg, shown), "names the mode %s: %s", shown, err.msg);
    cr_assert(strstr(err.msg, "chmod 600"), "%s", err.msg);
}

Test(ca, load_refuses_a_key_readable_by_group_or_others)
{
    char dir[300];
    certs_ca_free(make_ca(tmp, dir, sizeof dir));
    expect_mode_refused(dir, 0644, "0644");
    expect_mode_refused(dir, 0640, "0640");
    expect_mode_refused(dir, 0604, "0604");
    expect_mode_refused(dir, 0620, "0620");
    char key[400];
    snprintf(key, sizeof key, "%s/ca.key", dir);
    chmod(key, 0400);
    certs_ca *ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load(dir, &ca, &err), AG_OK, "0400 is fine: %s", err.msg);
    certs_ca_free(ca);
}

Test(ca, load_refuses_a_key_that_does_not_match_the_certificate)
{
    char dir_a[300], dir_b[300], cmd[1024];
    snprintf(dir_a, sizeof dir_a, "%s/a", tmp);
    snprintf(dir_b, sizeof dir_b, "%s/b", tmp);
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_init(dir_a, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(certs_ca_init(dir_b, &err), AG_OK, "%s", err.msg);
    snprintf(cmd, sizeof cmd, "cp -p %s/ca.key %s/ca.key", dir_b, dir_a);
    cr_assert_eq(system(cmd), 0);
    certs_ca *ca = NULL;
    cr_assert_eq(certs_ca_load(dir_a, &ca, &err), AG_ERR);
    cr_assert(strstr(err.msg, "does not match"), "%s", err.msg);
    cr_assert(strstr(err.msg, dir_a), "%s", err.msg);
}

Test(ca, load_names_a_missing_file)
{
    char dir[300], path[400];
    certs_ca_free(make_ca(tmp, dir, sizeof dir));
    snprintf(path, sizeof path, "%s/ca.key", dir);
    unlink(path);
    certs_ca *ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load(dir, &ca, &err), AG_ERR);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
}

Test(ca, load_refuses_a_certificate_that_is_not_a_ca)
{
    char dir[300], cmd[1024];
    snprintf(dir, sizeof dir, "%s/leafonly", tmp);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && cd %s && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=notaca -addext "
             "basicConstraints=critical,CA:FALSE -keyout ca.key -out ca.pem 2>/dev/null && "
             "chmod 600 ca.key",
             dir, dir);
    cr_assert_eq(system(cmd), 0);
    certs_ca *ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load(dir, &ca, &err), AG_ERR);
    cr_assert(strstr(err.msg, "not a CA"), "%s", err.msg);
}

Test(ca, load_or_init_creates_once_then_loads_the_same_ca)
{
    char dir[300], pin1[64], pin2[64];
    snprintf(dir, sizeof dir, "%s/data/ca", tmp);
    certs_ca *ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load_or_init(dir, &ca, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(certs_ca_spki(ca, pin1, sizeof pin1, &err), AG_OK);
    certs_ca_free(ca);
    cr_assert_eq(file_mode(dir), 0700);
    cr_assert_eq(certs_ca_load_or_init(dir, &ca, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(certs_ca_spki(ca, pin2, sizeof pin2, &err), AG_OK);
    certs_ca_free(ca);
    cr_assert_str_eq(pin1, pin2);
}

Test(ca, load_or_init_does_not_complete_half_a_ca)
{
    char dir[300], path[400];
    certs_ca_free(make_ca(tmp, dir, sizeof dir));
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    unlink(path);
    certs_ca *ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load_or_init(dir, &ca, &err), AG_ERR);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
}

Test(ca, spki_matches_the_openssl_pipeline)
{
    char dir[300], cmd[1024], expected[128], pin[64];
    certs_ca *ca = make_ca(tmp, dir, sizeof dir);
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_spki(ca, pin, sizeof pin, &err), AG_OK, "%s", err.msg);
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in %s/ca.pem -pubkey -noout | openssl pkey -pubin -outform der | "
             "openssl dgst -sha256 -binary | base64",
             dir);
    run_line(cmd, expected, sizeof expected);
    cr_assert_eq(strlen(pin), 44);
    cr_assert_str_eq(pin, expected);
    cr_assert_eq(certs_ca_spki(ca, pin, 44, &err), AG_ERR, "too small a buffer is an error");
    certs_ca_free(ca);
}
