/* certs unit tests: the shared leaf cache — hits and misses, name normalisation as the key,
 * LRU eviction order, references that outlive eviction, and concurrent misses for one host
 * minting exactly once. */
#include <pthread.h>

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

TestSuite(cache, .init = setup, .fini = teardown);

static leaf_cache *new_cache(size_t capacity)
{
    ag_error err = {{0}};
    leaf_cache *c = leaf_cache_new(ca, capacity, &err);
    cr_assert_not_null(c, "%s", err.msg);
    return c;
}

static SSL_CTX *get(leaf_cache *c, const char *host)
{
    ag_error err = {{0}};
    SSL_CTX *ctx = leaf_cache_get_ctx(c, host, &err);
    cr_assert_not_null(ctx, "%s: %s", host, err.msg);
    return ctx;
}

static leaf_cache_stats stats(leaf_cache *c)
{
    leaf_cache_stats s;
    leaf_cache_get_stats(c, &s);
    return s;
}

/* The DNS name in the leaf an SSL_CTX serves. */
static void served_name(SSL_CTX *ctx, char *out, size_t outsz)
{
    X509 *leaf = SSL_CTX_get0_certificate(ctx);
    cr_assert_not_null(leaf);
    X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, out, (int)outsz);
}

Test(cache, second_request_is_a_hit_and_names_are_normalised)
{
    leaf_cache *c = new_cache(10);
    SSL_CTX *a = get(c, "Docs.Example.test.");
    SSL_CTX *b = get(c, "docs.example.test");
    SSL_CTX *d = get(c, "DOCS.EXAMPLE.TEST");
    cr_assert_eq(a, b);
    cr_assert_eq(a, d);
    leaf_cache_stats s = stats(c);
    cr_assert_eq(s.mints, 1);
    cr_assert_eq(s.misses, 1);
    cr_assert_eq(s.hits, 2);
    cr_assert_eq(s.size, 1);
    char name[128];
    served_name(a, name, sizeof name);
    cr_assert_str_eq(name, "docs.example.test");
    SSL_CTX_free(a), SSL_CTX_free(b), SSL_CTX_free(d);

    SSL_CTX *v4 = get(c, "127.0.0.1"), *v6 = get(c, "[::1]"), *v6b = get(c, "0::1");
    cr_assert_neq(v4, v6);
    cr_assert_eq(v6, v6b);
    SSL_CTX_free(v4), SSL_CTX_free(v6), SSL_CTX_free(v6b);
    cr_assert_eq(stats(c).mints, 3);
    leaf_cache_free(c);
}

Test(cache, evicts_the_least_recently_used_host)
{
    leaf_cache *c = new_cache(3);
    SSL_CTX_free(get(c, "a.test"));
    SSL_CTX_free(get(c, "b.test"));
    SSL_CTX_free(get(c, "c.test"));
    SSL_CTX_free(get(c, "a.test")); /* a is now the most recent; b the least */
    SSL_CTX_free(get(c, "d.test")); /* evicts b */
    leaf_cache_stats s = stats(c);
    cr_assert_eq(s.evictions, 1);
    cr_assert_eq(s.size, 3);
    cr_assert_eq(s.mints, 4);

    SSL_CTX_free(get(c, "a.test"));
    SSL_CTX_free(get(c, "c.test"));
    SSL_CTX_free(get(c, "d.test"));
    cr_assert_eq(stats(c).mints, 4, "a, c, d are still cached");
    SSL_CTX_free(get(c, "b.test")); /* re-minted; evicts a (least recent of a, c, d) */
    s = stats(c);
    cr_assert_eq(s.mints, 5);
    cr_assert_eq(s.evictions, 2);
    SSL_CTX_free(get(c, "c.test"));
    SSL_CTX_free(get(c, "d.test"));
    cr_assert_eq(stats(c).mints, 5);
    SSL_CTX_free(get(c, "a.test"));
    cr_assert_eq(stats(c).mints, 6, "a was the one evicted");
    leaf_cache_free(c);
}

Test(cache, a_returned_ctx_outlives_its_eviction)
{
    leaf_cache *c = new_cache(1);
    SSL_CTX *a = get(c, "a.test");
    SSL_CTX_free(get(c, "b.test"));
    cr_assert_eq(stats(c).evictions, 1);
    SSL_CTX *client = client_ctx_trusting(certs_ca_get0_cert(ca));
    tls_pair p = tls_handshake(a, client, "a.test", NULL, 0);
    cr_assert(p.ok, "handshake with an evicted but referenced ctx");
    cr_assert_eq(SSL_get_verify_result(p.client), X509_V_OK);
    tls_pair_free(&p);
    SSL_CTX_free(client);
    SSL_CTX_free(a);
    leaf_cache_free(c);
}

Test(cache, bad_hosts_and_capacities_are_errors)
{
    ag_error err = {{0}};
    cr_assert_null(leaf_cache_new(ca, 0, &err));
    cr_assert(strstr(err.msg, "capacity"), "%s", err.msg);
    leaf_cache *c = new_cache(4);
    cr_assert_null(leaf_cache_get_ctx(c, "bad host", &err));
    cr_assert(strstr(err.msg, "bad host"), "%s", err.msg);
    cr_assert_null(leaf_cache_get_ctx(c, "", &err));
    cr_assert_eq(stats(c).mints, 0);
    leaf_cache_free(c);
}

#define THREADS 16

typedef struct worker {
    leaf_cache *cache;
    pthread_barrier_t *start;
    const char *host;
    SSL_CTX *got;
    int rounds;
} worker;

static void *request_same_host(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start);
    ag_error err = {{0}};
    w->got = leaf_cache_get_ctx(w->cache, w->host, &err);
    return NULL;
}

Test(cache, concurrent_misses_for_one_host_mint_once)
{
    for (int round = 0; round < 5; round++) {
        leaf_cache *c = new_cache(8);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, THREADS);
        pthread_t th[THREADS];
        worker w[THREADS];
        for (int i = 0; i < THREADS; i++) {
            w[i] = (worker){.cache = c, .start = &start, .host = "same.test"};
            pthread_create(&th[i], NULL, request_same_host, &w[i]);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        leaf_cache_stats s = stats(c);
        cr_assert_eq(s.mints, 1, "round %d: %llu mints", round, (unsigned long long)s.mints);
        cr_assert_eq(s.hits + s.misses, THREADS);
        for (int i = 0; i < THREADS; i++) {
            cr_assert_not_null(w[i].got);
            cr_assert_eq(w[i].got, w[0].got, "everyone gets the one minted ctx");
        }
        for (int i = 0; i < THREADS; i++)
            SSL_CTX_free(w[i].got);
        leaf_cache_free(c);
    }
}

static void *churn(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start);
    static const char *hosts[] = {"h0.test", "h1.test", "h2.test", "h3.test", "h4.test",
                                  "h5.test", "h6.test", "h7.test", "h8.test", "h9.test"};
    for (int i = 0; i < w->rounds; i++) {
        ag_error err = {{0}};
        SSL_CTX *ctx = leaf_cache_get_ctx(w->cache, hosts[(i * 7 + (int)(intptr_t)w->host) % 10], &err);
        if (!ctx)
            return (void *)1;
        SSL_CTX_free(ctx);
    }
    return NULL;
}

Test(cache, churn_across_threads_keeps_the_bound_and_the_counts)
{
    leaf_cache *c = new_cache(3);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 4);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.cache = c, .start = &start, .host = (const char *)(intptr_t)i, .rounds = 40};
        pthread_create(&th[i], NULL, churn, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *failed = NULL;
        pthread_join(th[i], &failed);
        cr_assert_null(failed, "thread %d got no ctx", i);
    }
    pthread_barrier_destroy(&start);
    leaf_cache_stats s = stats(c);
    cr_assert_eq(s.hits + s.misses, 160);
    cr_assert_leq(s.size, 3);
    cr_assert_eq(s.mints - s.evictions, s.size, "every mint is cached or was evicted");
    leaf_cache_free(c);
}
