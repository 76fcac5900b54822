/* certs unit tests: host normalisation and leaf minting — SAN (DNS and IP), CN, validity
 * inside the CA's, extensions, and a chain that OpenSSL's X509_verify_cert accepts for the
 * TLS server purpose. */
#include <time.h>

#include "certs_testutil.h"

static char tmp[256];
static char cadir[300];
static certs_ca *ca;

static void setup(void)
{
    tmpdir_make(tmp, sizeof tmp);
    ca = make_ca(tmp, cadir, sizeof cadir);
}
static void teardown(void)
{
    certs_ca_free(ca);
    tmpdir_remove(tmp);
}

TestSuite(leaf, .init = setup, .fini = teardown);
TestSuite(host);

static void expect_host(const char *in, const char *want, certs_host_kind want_kind)
{
    char out[CERTS_HOST_MAX + 1];
    certs_host_kind kind;
    ag_error err = {{0}};
    cr_assert_eq(certs_host_normalize(in, out, sizeof out, &kind, &err), AG_OK, "%s: %s", in,
                 err.msg);
    cr_assert_str_eq(out, want, "%s", in);
    cr_assert_eq(kind, want_kind, "%s", in);
}

static void expect_bad_host(const char *in)
{
    char out[CERTS_HOST_MAX + 1];
    ag_error err = {{0}};
    cr_assert_eq(certs_host_normalize(in, out, sizeof out, NULL, &err), AG_ERR, "%s accepted", in);
    cr_assert(strstr(err.msg, "host"), "%s", err.msg);
}

Test(host, normalises_case_trailing_dot_brackets_and_ip_forms)
{
    expect_host("Example.COM", "example.com", CERTS_HOST_DNS);
    expect_host("example.com.", "example.com", CERTS_HOST_DNS);
    expect_host("_dmarc.Ex-ample.org", "_dmarc.ex-ample.org", CERTS_HOST_DNS);
    expect_host("localhost", "localhost", CERTS_HOST_DNS);
    expect_host("127.0.0.1", "127.0.0.1", CERTS_HOST_IPV4);
    expect_host("::1", "::1", CERTS_HOST_IPV6);
    expect_host("[::1]", "::1", CERTS_HOST_IPV6);
    expect_host("[0:0:0:0:0:0:0:1]", "::1", CERTS_HOST_IPV6);
    expect_host("2001:DB8::A", "2001:db8::a", CERTS_HOST_IPV6);
    expect_host("1.2.3", "1.2.3", CERTS_HOST_DNS); /* not a dotted quad: a (strange) name */
}

Test(host, rejects_what_cannot_be_a_host)
{
    expect_bad_host("");
    expect_bad_host(".");
    expect_bad_host("a..b");
    expect_bad_host(".example.com");
    expect_bad_host("exa mple.com");
    expect_bad_host("example.com/evil");
    expect_bad_host("a,DNS:evil.com");
    expect_bad_host("*.example.com");
    expect_bad_host("a\nb");
    expect_bad_host("[1.2.3.4]");
    expect_bad_host("[::1");
    expect_bad_host("::1::2");
    expect_bad_host("fe80::1%eth0");
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".com");
    expect_bad_host(label);
    char longname[300];
    for (int i = 0; i < 50; i++)
        memcpy(longname + 5 * i, "abcd.", 5);
    strcpy(longname + 250, "abcd");
    expect_bad_host(longname); /* 254 characters */
}

static X509 *mint(const char *host, EVP_PKEY **key)
{
    X509 *cert = NULL;
    EVP_PKEY *k = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_leaf_mint(ca, host, NULL, &cert, &k, &err), AG_OK, "%s", err.msg);
    if (key)
        *key = k;
    else
        EVP_PKEY_free(k);
    return cert;
}

/* X509_verify_cert against a store holding only the CA, for the TLS server purpose. */
static int verify_leaf(X509 *leaf, const char *host, int *error)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, certs_ca_get0_cert(ca));
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if (host && strchr(host, ':'))
        X509_VERIFY_PARAM_set1_ip_asc(param, host);
    else if (host && host[0] >= '0' && host[0] <= '9')
        X509_VERIFY_PARAM_set1_ip_asc(param, host);
    else if (host)
        X509_VERIFY_PARAM_set1_host(param, host, 0);
    int ok = X509_verify_cert(ctx);
    *error = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

Test(leaf, dns_leaf_has_san_cn_extensions_and_verifies_against_the_ca)
{
    EVP_PKEY *key = NULL;
    X509 *leaf = mint("Docs.Example.test.", &key);
    int verr = 0;
    cr_assert_eq(verify_leaf(leaf, "docs.example.test", &verr), 1, "verify: %s",
                 X509_verify_cert_error_string(verr));
    cr_assert_eq(verify_leaf(leaf, "other.example.test", &verr), 0, "wrong name must fail");

    GENERAL_NAMES *san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    cr_assert_not_null(san);
    cr_assert_eq(sk_GENERAL_NAME_num(san), 1);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
    cr_assert_eq(g->type, GEN_DNS);
    cr_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName), "docs.example.test");
    GENERAL_NAMES_free(san);

    char cn[128] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
    cr_assert_str_eq(cn, "docs.example.test");

    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
    cr_assert_not_null(bc);
    cr_assert_not(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    cr_assert_eq(X509_get_key_usage(leaf), (uint32_t)KU_DIGITAL_SIGNATURE);
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(leaf, NID_key_usage, &crit, NULL);
    cr_assert_eq(crit, 1, "keyUsage critical");
    ASN1_BIT_STRING_free(ku);
    cr_assert_eq(X509_get_extended_key_usage(leaf), (uint32_t)XKU_SSL_SERVER);

    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(leaf);
    const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id(certs_ca_get0_cert(ca));
    cr_assert(aki && ca_ski && ASN1_OCTET_STRING_cmp(aki, ca_ski) == 0, "AKI = CA's SKI");
    cr_assert_not_null(X509_get0_subject_key_id(leaf));

    char group[32] = "";
    EVP_PKEY_get_group_name(key, group, sizeof group, NULL);
    cr_assert_str_eq(group, "prime256v1");
    cr_assert_eq(X509_check_private_key(leaf, key), 1);
    EVP_PKEY_free(key);
    X509_free(leaf);
}

Test(leaf, validity_starts_a_day_back_and_ends_inside_the_ca)
{
    X509 *leaf = mint("validity.test", NULL);
    int day = 0, sec = 0;
    ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notBefore(leaf));
    cr_assert(day == -1 || (day == 0 && sec <= -86390), "a day back: %d %d", day, sec);
    ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(leaf));
    cr_assert(day >= 29 && day <= 30, "about 30 days: %d", day);
    cr_assert(ASN1_TIME_compare(X509_get0_notAfter(leaf),
                                X509_get0_notAfter(certs_ca_get0_cert(ca))) < 0);
    cr_assert(ASN1_TIME_compare(X509_get0_notBefore(leaf),
                                X509_get0_notBefore(certs_ca_get0_cert(ca))) >= 0);
    X509_free(leaf);
}

Test(leaf, a_ca_near_its_end_caps_the_leaf_a_day_before)
{
    char dir[300], cmd[1024];
    snprintf(dir, sizeof dir, "%s/short", tmp);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && cd %s && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -days 5 -subj /CN=short-ca -addext "
             "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
             "-keyout ca.key -out ca.pem 2>/dev/null && chmod 600 ca.key",
             dir, dir);
    cr_assert_eq(system(cmd), 0);
    certs_ca *short_ca = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_ca_load(dir, &short_ca, &err), AG_OK, "%s", err.msg);
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    cr_assert_eq(certs_leaf_mint(short_ca, "short.test", NULL, &leaf, &key, &err), AG_OK, "%s",
                 err.msg);
    int day = 0, sec = 0;
    ASN1_TIME_diff(&day, &sec, X509_get0_notAfter(leaf),
                   X509_get0_notAfter(certs_ca_get0_cert(short_ca)));
    cr_assert(day == 1 && sec == 0, "leaf ends one day before the CA: %d d %d s", day, sec);
    X509_free(leaf);
    EVP_PKEY_free(key);
    certs_ca_free(short_ca);
}

Test(leaf, ip_literals_get_an_ip_san)
{
    const char *hosts[] = {"127.0.0.1", "::1", "[2001:db8::7]"};
    const char *plain[] = {"127.0.0.1", "::1", "2001:db8::7"};
    for (int i = 0; i < 3; i++) {
        X509 *leaf = mint(hosts[i], NULL);
        GENERAL_NAMES *san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        cr_assert_eq(sk_GENERAL_NAME_num(san), 1);
        cr_assert_eq(sk_GENERAL_NAME_value(san, 0)->type, GEN_IPADD, "%s", hosts[i]);
        GENERAL_NAMES_free(san);
        cr_assert_eq(X509_check_ip_asc(leaf, plain[i], 0), 1, "%s", hosts[i]);
        int verr = 0;
        cr_assert_eq(verify_leaf(leaf, plain[i], &verr), 1, "%s: %s", hosts[i],
                     X509_verify_cert_error_string(verr));
        cr_assert_eq(X509_check_host(leaf, plain[i], 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL), 0,
                     "no DNS SAN for an IP");
        X509_free(leaf);
    }
}

Test(leaf, long_names_keep_the_full_san_and_a_64_byte_cn)
{
    char host[200];
    snprintf(host, sizeof host, "%s.%s.example.test",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    X509 *leaf = mint(host, NULL);
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
    cr_assert_eq(strlen(cn), 64);
    cr_assert(strncmp(cn, host, 64) == 0);
    cr_assert_eq(X509_check_host(leaf, host, 0, 0, NULL), 1);
    X509_free(leaf);
}

Test(leaf, serials_and_keys_differ_between_mints_and_a_given_key_is_used)
{
    EVP_PKEY *k1 = NULL, *k2 = NULL;
    X509 *a = mint("same.test", &k1), *b = mint("same.test", &k2);
    cr_assert_neq(ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)), 0);
    cr_assert_neq(EVP_PKEY_eq(k1, k2), 1, "a fresh key per leaf");
    X509 *c = NULL;
    EVP_PKEY *k3 = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_leaf_mint(ca, "shared.test", k1, &c, &k3, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(EVP_PKEY_eq(k1, k3), 1);
    cr_assert_eq(X509_check_private_key(c, k1), 1);
    X509_free(a), X509_free(b), X509_free(c);
    EVP_PKEY_free(k1), EVP_PKEY_free(k2), EVP_PKEY_free(k3);
}

Test(leaf, a_bad_host_is_refused_with_its_name)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    ag_error err = {{0}};
    cr_assert_eq(certs_leaf_mint(ca, "evil.test,DNS:bank.test", NULL, &cert, &key, &err), AG_ERR);
    cr_assert_null(cert);
    cr_assert(strstr(err.msg, "evil.test"), "%s", err.msg);
}
