/* bench_certs: the cost of TLS interception on the certificate side — minting a leaf (fresh
 * P-256 key per leaf vs one shared key), building its server SSL_CTX, a cache hit, an
 * in-memory TLS handshake with a cached leaf, and the hit rate on a repeated host set.
 * Prints a table of medians with ratios against baselines measured in the same run.
 *
 *   bench_certs [-n N]     N samples per row (default 300, at most 100000) */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "certs/certs.h"

#define SAMPLES_MAX 100000
#define HIT_BATCH 1000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const ag_error *err)
{
    fprintf(stderr, "bench_certs: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

/* Fresh leaf per sample, with a new key (shared == NULL) or the given one. */
static double bench_mint(certs_ca *ca, EVP_PKEY *shared, double *samples, int n)
{
    for (int i = 0; i < n; i++) {
        char host[64];
        snprintf(host, sizeof host, "mint%d.bench.test", i);
        X509 *cert = NULL;
        EVP_PKEY *key = NULL;
        ag_error err;
        uint64_t t0 = ag_monotonic_us();
        if (certs_leaf_mint(ca, host, shared, &cert, &key, &err) != AG_OK)
            die("mint", &err);
        samples[i] = (double)(ag_monotonic_us() - t0);
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    return median(samples, n);
}

static double bench_server_ctx(certs_ca *ca, double *samples, int n)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    ag_error err;
    if (certs_leaf_mint(ca, "ctx.bench.test", NULL, &cert, &key, &err) != AG_OK)
        die("mint", &err);
    for (int i = 0; i < n; i++) {
        uint64_t t0 = ag_monotonic_us();
        SSL_CTX *ctx = certs_leaf_server_ctx(ca, cert, key, &err);
        samples[i] = (double)(ag_monotonic_us() - t0);
        if (!ctx)
            die("server ctx", &err);
        SSL_CTX_free(ctx);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return median(samples, n);
}

/* A cache miss: mint + SSL_CTX + insertion, as a CONNECT to a new host pays it. */
static double bench_miss(certs_ca *ca, double *samples, int n)
{
    ag_error err;
    leaf_cache *cache = leaf_cache_new(ca, (size_t)n + 1, &err);
    if (!cache)
        die("cache", &err);
    for (int i = 0; i < n; i++) {
        char host[64];
        snprintf(host, sizeof host, "miss%d.bench.test", i);
        uint64_t t0 = ag_monotonic_us();
        SSL_CTX *ctx = leaf_cache_get_ctx(cache, host, &err);
        samples[i] = (double)(ag_monotonic_us() - t0);
        if (!ctx)
            die("miss", &err);
        SSL_CTX_free(ctx);
    }
    leaf_cache_free(cache);
    return median(samples, n);
}

/* Hits are far below a microsecond, so each sample times a batch. */
static double bench_hit(leaf_cache *cache, double *samples, int n)
{
    ag_error err;
    for (int i = 0; i < n; i++) {
        uint64_t t0 = ag_monotonic_us();
        for (int j = 0; j < HIT_BATCH; j++) {
            SSL_CTX *ctx = leaf_cache_get_ctx(cache, "hit.bench.test", &err);
            if (!ctx)
                die("hit", &err);
            SSL_CTX_free(ctx);
        }
        samples[i] = (double)(ag_monotonic_us() - t0) / HIT_BATCH;
    }
    return median(samples, n);
}

/* One full client+server handshake over a BIO pair, both sides in this thread. */
static int handshake_once(SSL_CTX *server_ctx, SSL_CTX *client_ctx)
{
    SSL *c = SSL_new(client_ctx), *s = SSL_new(server_ctx);
    BIO *cb = NULL, *sb = NULL;
    if (!c || !s || BIO_new_bio_pair(&cb, 0, &sb, 0) != 1)
        return 0;
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    SSL_set_tlsext_host_name(c, "hs.bench.test");
    SSL_set1_host(c, "hs.bench.test");
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_set_alpn_protos(c, alpn, sizeof alpn - 1);
    int cdone = 0, sdone = 0;
    for (int i = 0; i < 50 && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(c);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                break;
        }
        if (!sdone) {
            int r = SSL_do_handshake(s);
            if (r == 1)
                sdone = 1;
            else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                break;
        }
    }
    int ok = cdone && sdone && SSL_get_verify_result(c) == X509_V_OK;
    SSL_free(c);
    SSL_free(s);
    ERR_clear_error();
    return ok;
}

/* with_lookup: fetch the server ctx from the cache (a hit) for every handshake, as the proxy
 * does; without: one ctx held throughout (the baseline). */
static double bench_handshake(leaf_cache *cache, SSL_CTX *client, int with_lookup,
                              double *samples, int n)
{
    ag_error err;
    SSL_CTX *held = leaf_cache_get_ctx(cache, "hs.bench.test", &err);
    if (!held)
        die("handshake ctx", &err);
    for (int i = 0; i < n; i++) {
        uint64_t t0 = ag_monotonic_us();
        SSL_CTX *server = with_lookup ? leaf_cache_get_ctx(cache, "hs.bench.test", &err) : held;
        if (!server || !handshake_once(server, client))
            die("handshake", NULL);
        if (with_lookup)
            SSL_CTX_free(server);
        samples[i] = (double)(ag_monotonic_us() - t0);
    }
    SSL_CTX_free(held);
    return median(samples, n);
}

/* Requests drawn with a skew (a few hosts most of the time, like an agent's browsing) from
 * a set of `hosts` names, against a cache of `capacity`. */
static double bench_hit_rate(certs_ca *ca, int hosts, size_t capacity, int requests)
{
    ag_error err;
    leaf_cache *cache = leaf_cache_new(ca, capacity, &err);
    if (!cache)
        die("cache", &err);
    unsigned seed = 12345;
    for (int i = 0; i < requests; i++) {
        double u = (double)rand_r(&seed) / RAND_MAX;
        int h = (int)(u * u * hosts) % hosts;
        char host[64];
        snprintf(host, sizeof host, "site%d.bench.test", h);
        SSL_CTX *ctx = leaf_cache_get_ctx(cache, host, &err);
        if (!ctx)
            die("hit rate", &err);
        SSL_CTX_free(ctx);
    }
    leaf_cache_stats s;
    leaf_cache_get_stats(cache, &s);
    leaf_cache_free(cache);
    return 100.0 * (double)s.hits / (double)(s.hits + s.misses);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    int n = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_certs [-n N]\n");
            return 2;
        }
    }
    if (n < 3 || n > SAMPLES_MAX) {
        fprintf(stderr, "bench_certs: -n must be between 3 and %d\n", SAMPLES_MAX);
        return 2;
    }
    char tmp[] = "/tmp/ag-bench-certs-XXXXXX", dir[64];
    if (!mkdtemp(tmp)) {
        perror("bench_certs: mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/ca", tmp);
    ag_error err;
    certs_ca *ca = NULL;
    if (certs_ca_init(dir, &err) != AG_OK || certs_ca_load(dir, &ca, &err) != AG_OK)
        die("CA", &err);
    double *samples = calloc((size_t)n, sizeof *samples);
    EVP_PKEY *shared = EVP_EC_gen("P-256");
    leaf_cache *cache = leaf_cache_new(ca, 1000, &err);
    SSL_CTX *client = SSL_CTX_new(TLS_client_method());
    if (!samples || !shared || !cache || !client)
        die("setup", NULL);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client), certs_ca_get0_cert(ca));
    SSL_CTX_set_verify(client, SSL_VERIFY_PEER, NULL);
    SSL_CTX *warm = leaf_cache_get_ctx(cache, "hit.bench.test", &err);
    if (!warm)
        die("warm", &err);
    SSL_CTX_free(warm);

    double mint_shared = bench_mint(ca, shared, samples, n);
    double mint_fresh = bench_mint(ca, NULL, samples, n);
    double ctx_build = bench_server_ctx(ca, samples, n);
    double miss = bench_miss(ca, samples, n);
    double hit = bench_hit(cache, samples, n);
    double hs_held = bench_handshake(cache, client, 0, samples, n);
    double hs_cached = bench_handshake(cache, client, 1, samples, n);
    double rate_big = bench_hit_rate(ca, 50, 1000, 20000);
    double rate_small = bench_hit_rate(ca, 50, 16, 20000);

    printf("bench_certs: %d samples per row, OpenSSL %s\n\n", n, OpenSSL_version(OPENSSL_VERSION));
    printf("| what | median | ratio |\n| --- | ---: | ---: |\n");
    printf("| leaf mint, one shared P-256 key (baseline) | %.1f µs | 1.00 |\n", mint_shared);
    printf("| leaf mint, fresh P-256 key per leaf | %.1f µs | %.2f |\n", mint_fresh,
           mint_fresh / mint_shared);
    printf("| server SSL_CTX for a leaf | %.1f µs | %.2f |\n", ctx_build, ctx_build / mint_shared);
    printf("| cache miss: mint + SSL_CTX + insert | %.1f µs | %.2f |\n", miss, miss / mint_shared);
    printf("| cache hit | %.3f µs | %.4f |\n", hit, hit / mint_shared);
    printf("| TLS handshake, ctx held (baseline) | %.1f µs | 1.00 |\n", hs_held);
    printf("| TLS handshake, ctx from the cache | %.1f µs | %.3f |\n", hs_cached,
           hs_cached / hs_held);
    printf("| hit rate, 50 skewed hosts, capacity 1000, 20000 requests | %.2f %% | |\n",
           rate_big);
    printf("| hit rate, 50 skewed hosts, capacity 16, 20000 requests | %.2f %% | |\n",
           rate_small);

    SSL_CTX_free(client);
    leaf_cache_free(cache);
    EVP_PKEY_free(shared);
    certs_ca_free(ca);
    free(samples);
    nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
