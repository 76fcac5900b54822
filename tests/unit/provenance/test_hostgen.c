/* Unit tests: the generation-major host index (store format 2). Key ordering and generation
 * boundaries, the per-generation start-time spans, host queries whose window spans several
 * generations (including records that started long before they were committed), prune of
 * whole generations, and the refusal of a format-1 store. */
#include "prov_test_util.h"

#include <lmdb.h>

/* LMDB's default order: memcmp over the shorter length, then the shorter key first. */
static int key_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int host_key_cmp(const char *h1, uint64_t t1, uint64_t s1, const char *h2, uint64_t t2,
                        uint64_t s2)
{
    uint8_t a[PROV_HOST_KEY_MAX], b[PROV_HOST_KEY_MAX];
    size_t la = prov_key_host(a, h1, t1, s1), lb = prov_key_host(b, h2, t2, s2);
    return key_cmp(a, la, b, lb);
}

Test(hostgen, key_layout_and_generation_boundary)
{
    uint8_t k[PROV_HOST_KEY_MAX];
    cr_assert_eq(prov_host_gen(PROV_HOST_GEN_RECORDS - 1), 0);
    cr_assert_eq(prov_host_gen(PROV_HOST_GEN_RECORDS), 1);
    size_t n = prov_key_host(k, "a.test", 0x0102030405060708ull, PROV_HOST_GEN_RECORDS * 3 + 7);
    cr_assert_eq(n, 4 + 7 + 16);
    static const uint8_t want_gen[4] = {0, 0, 0, 3};
    cr_assert_arr_eq(k, want_gen, 4);
    cr_assert_arr_eq(k + 4, "a.test", 7); /* with its terminator */
    cr_assert_eq(prov_be64_get(k + 11), 0x0102030405060708ull);
    cr_assert_eq(prov_be64_get(k + 19), PROV_HOST_GEN_RECORDS * 3 + 7);
}

Test(hostgen, keys_order_by_generation_then_host_then_time_then_seq)
{
    const uint64_t g = PROV_HOST_GEN_RECORDS;
    /* the generation is major: an earlier generation sorts first whatever the host or time */
    cr_assert_lt(host_key_cmp("zzz", 900, g - 1, "aaa", 100, g), 0);
    /* the last seq of a generation and the first of the next fall on either side */
    cr_assert_lt(host_key_cmp("a.test", 5, g - 1, "a.test", 5, g), 0);
    /* inside a generation: host, then time, then seq */
    cr_assert_lt(host_key_cmp("a.test", 900, 10, "b.test", 100, 11), 0);
    cr_assert_lt(host_key_cmp("a.test", 100, 12, "a.test", 200, 11), 0);
    cr_assert_lt(host_key_cmp("a.test", 100, 11, "a.test", 100, 12), 0);
    /* a host that is a prefix of another sorts apart from it (the terminator) */
    cr_assert_lt(host_key_cmp("a.te", UINT64_MAX, 5, "a.test", 0, 4), 0);
}

/* ---- a store with records across three generations, put directly ---- */

#define GEN PROV_HOST_GEN_RECORDS
#define N_ORDERED (2 * GEN + 600) /* seqs 1..N_ORDERED, one second apart */
#define N_LATE 40                 /* then records that started near T0 (long exchanges) */

typedef struct put_rec {
    uint64_t seq, start_us;
    int is_a; /* host a.test */
} put_rec;

static put_rec recs[N_ORDERED + N_LATE];
static size_t n_recs;
static char *store;

static uint64_t late_start(uint64_t j) { return T0_US + (50 + j * 3) * 1000000ull; }

static void put_all(void)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 0, (size_t)256 << 20, &err), AG_OK, "%s", err.msg);
    MDB_txn *t;
    cr_assert_eq(prov_txn_begin(&e, 0, &t, &err), AG_OK, "%s", err.msg);
    prov_buf b = {0};
    n_recs = 0;
    for (uint64_t i = 0; i < N_ORDERED + N_LATE; i++) {
        test_rec tr;
        test_record(i, &tr);
        if (i >= N_ORDERED) {
            tr.r.start_us = late_start(i - N_ORDERED);
            snprintf(tr.host, sizeof tr.host, "%s", "a.test");
        }
        cr_assert_eq(prov_record_encode(&tr.r, &b, &err), AG_OK, "%s", err.msg);
        cr_assert_eq(prov_buf_reserve(&b, PROV_HASH_LEN), AG_OK);
        memset(b.data + b.len, 0, PROV_HASH_LEN);
        uint64_t seq = i + 1;
        cr_assert_eq(prov_store_put(&e, t, seq, b.data, b.len + PROV_HASH_LEN, &tr.r, 1, NULL), 0);
        recs[n_recs++] = (put_rec){seq, tr.r.start_us, !strcmp(tr.host, "a.test")};
    }
    prov_buf_free(&b);
    cr_assert_eq(mdb_txn_commit(t), 0);
    prov_env_close(&e);
}

static void setup(void)
{
    store = make_tmpdir();
    put_all();
}

static void teardown(void)
{
    rm_tree(store);
    free(store);
}

typedef struct got {
    uint64_t *seqs;
    size_t n, cap;
} got;

static int collect(void *ctx, const prov_decoded *d)
{
    got *g = ctx;
    cr_assert_lt(g->n, g->cap);
    g->seqs[g->n++] = d->rec.seq;
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const put_rec *x = a, *y = b;
    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? 1 : -1;
    return (x->seq < y->seq) - (x->seq > y->seq);
}

/* Queries --host a.test over [since, until) with limit and compares with a sort of the
 * records put. */
static void check_host_window(uint64_t since_us, uint64_t until_us, uint64_t limit,
                              const char *what)
{
    static put_rec want[N_ORDERED + N_LATE];
    size_t n_want = 0;
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].is_a && recs[i].start_us >= since_us &&
            (!until_us || recs[i].start_us < until_us))
            want[n_want++] = recs[i];
    qsort(want, n_want, sizeof *want, newest_first);
    if (limit && n_want > limit)
        n_want = limit;
    cr_assert_gt(n_want, 0, "%s: the window selects nothing", what);

    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 1, 0, &err), AG_OK, "%s", err.msg);
    prov_filter f = {.host_glob = "A.Test", .since_us = since_us, .until_us = until_us,
                     .limit = limit};
    cr_assert_eq(prov_query_plan(&f), PROV_PLAN_HOST);
    got g = {calloc(n_recs, sizeof(uint64_t)), 0, n_recs};
    cr_assert_eq(prov_query(&e, &f, 0, collect, &g, NULL, &err), AG_OK, "%s", err.msg);
    prov_env_close(&e);
    cr_assert_eq(g.n, n_want, "%s: %zu records, want %zu", what, g.n, n_want);
    for (size_t i = 0; i < n_want; i++)
        cr_assert_eq(g.seqs[i], want[i].seq, "%s: row %zu is seq %llu, want %llu", what, i,
                     (unsigned long long)g.seqs[i], (unsigned long long)want[i].seq);
    free(g.seqs);
}

static uint64_t at(uint64_t secs) { return T0_US + secs * 1000000ull; }

TestSuite(hostgen_store, .init = setup, .fini = teardown, .timeout = 120);

Test(hostgen_store, spans_record_each_generations_start_times)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 1, 0, &err), AG_OK, "%s", err.msg);
    MDB_txn *t;
    cr_assert_eq(prov_txn_begin(&e, MDB_RDONLY, &t, &err), AG_OK);
    MDB_cursor *c;
    cr_assert_eq(mdb_cursor_open(t, e.host_gens, &c), 0);
    MDB_val k, v;
    /* seq s is record i = s - 1, started at T0 + i s; the late ones are in generation 2 */
    uint64_t want[3][2] = {{at(0), at(GEN - 2)}, {at(GEN - 1), at(2 * GEN - 2)},
                           {late_start(0), at(N_ORDERED - 1)}};
    int n = 0;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
        cr_assert_lt(n, 3);
        cr_assert_eq(k.mv_size, 4);
        cr_assert_eq(((uint8_t *)k.mv_data)[3], n);
        cr_assert_eq(prov_be64_get(v.mv_data), want[n][0], "generation %d min", n);
        cr_assert_eq(prov_be64_get((uint8_t *)v.mv_data + 8), want[n][1], "generation %d max", n);
    }
    cr_assert_eq(n, 3);
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    prov_env_close(&e);
}

Test(hostgen_store, window_inside_one_generation)
{
    check_host_window(at(1000), at(1300), 0, "inside generation 0");
}

Test(hostgen_store, window_across_a_generation_boundary)
{
    check_host_window(at(GEN - 200), at(GEN + 200), 0, "across 0|1");
    check_host_window(at(GEN - 200), at(GEN + 200), 17, "across 0|1, limit 17");
}

Test(hostgen_store, window_across_three_generations_newest_first)
{
    check_host_window(at(10), at(N_ORDERED), 0, "all three");
    check_host_window(0, 0, 100, "unbounded, limit 100");
}

Test(hostgen_store, late_records_merge_into_their_place_in_time)
{
    /* generation 2 holds records that started in generation 0's time range */
    check_host_window(at(40), at(200), 0, "late ones among early ones");
    check_host_window(at(40), at(200), 25, "late ones among early ones, limit 25");
}

Test(hostgen_store, unknown_host_and_empty_window_find_nothing)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 1, 0, &err), AG_OK, "%s", err.msg);
    got g = {calloc(4, sizeof(uint64_t)), 0, 4};
    prov_filter f = {.host_glob = "a.tes"};
    cr_assert_eq(prov_query(&e, &f, 0, collect, &g, NULL, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(g.n, 0);
    f = (prov_filter){.host_glob = "a.test", .since_us = at(N_ORDERED + 10)};
    cr_assert_eq(prov_query(&e, &f, 0, collect, &g, NULL, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(g.n, 0);
    prov_env_close(&e);
    free(g.seqs);
}

Test(hostgen_store, prune_forgets_emptied_generations)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 0, 0, &err), AG_OK, "%s", err.msg);
    uint64_t pruned = 0;
    /* records 0 .. GEN + 99 started before this: seqs 1 .. GEN + 100, all of generation 0 */
    cr_assert_eq(prov_prune(&e, at(GEN + 100), &pruned, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(pruned, GEN + 100);
    MDB_txn *t;
    cr_assert_eq(prov_txn_begin(&e, MDB_RDONLY, &t, &err), AG_OK);
    uint8_t g0[4] = {0}, g1[4] = {0, 0, 0, 1};
    MDB_val k = {4, g0}, v;
    cr_assert_eq(mdb_get(t, e.host_gens, &k, &v), MDB_NOTFOUND, "generation 0 is empty");
    k.mv_data = g1;
    cr_assert_eq(mdb_get(t, e.host_gens, &k, &v), 0, "generation 1 still has records");
    mdb_txn_abort(t);
    prov_env_close(&e);
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].seq <= GEN + 100)
            recs[i].is_a = 0; /* gone */
    check_host_window(0, 0, 0, "after prune");
}

/* ---- the writer's batched path keeps the same spans ---- */

Test(hostgen, writer_batches_widen_spans_across_a_boundary)
{
    char *d = make_tmpdir();
    fill_store(d, 0, GEN + 10); /* seqs 1 .. GEN + 10 */
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, d, 1, 0, &err), AG_OK, "%s", err.msg);
    MDB_txn *t;
    cr_assert_eq(prov_txn_begin(&e, MDB_RDONLY, &t, &err), AG_OK);
    uint8_t g0[4] = {0}, g1[4] = {0, 0, 0, 1};
    MDB_val k = {4, g0}, v;
    cr_assert_eq(mdb_get(t, e.host_gens, &k, &v), 0);
    cr_assert_eq(prov_be64_get(v.mv_data), at(0));
    cr_assert_eq(prov_be64_get((uint8_t *)v.mv_data + 8), at(GEN - 2));
    k.mv_data = g1;
    cr_assert_eq(mdb_get(t, e.host_gens, &k, &v), 0);
    cr_assert_eq(prov_be64_get(v.mv_data), at(GEN - 1));
    cr_assert_eq(prov_be64_get((uint8_t *)v.mv_data + 8), at(GEN + 9));
    mdb_txn_abort(t);
    prov_env_close(&e);
    rm_tree(d);
    free(d);
}

/* ---- an older store is refused, not misread ---- */

static void set_format(const char *data_dir, uint8_t version)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/provenance", data_dir);
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi meta;
    cr_assert_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    cr_assert_eq(mdb_env_open(env, p, 0, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &t), 0);
    cr_assert_eq(mdb_dbi_open(t, "meta", 0, &meta), 0);
    MDB_val k = {6, "format"}, v = {1, &version};
    cr_assert_eq(mdb_put(t, meta, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(t), 0);
    mdb_env_close(env);
}

Test(hostgen, format_1_store_is_refused_with_what_to_do)
{
    char *d = make_tmpdir();
    fill_store(d, 0, 3);
    set_format(d, 1);
    for (int readonly = 1; readonly >= 0; readonly--) {
        prov_env e;
        ag_error err = {{0}};
        cr_assert_eq(prov_env_open(&e, d, readonly, 0, &err), AG_ERR);
        cr_assert(strstr(err.msg, "store format 1 is not supported"), "%s", err.msg);
        cr_assert(strstr(err.msg, "history export"), "%s", err.msg);
        cr_assert(strstr(err.msg, d), "names the path: %s", err.msg);
    }
    prov_store *s;
    ag_error err = {{0}};
    cr_assert_eq(prov_open(d, NULL, &s, &err), AG_ERR, "the writer refuses it too");
    cr_assert(strstr(err.msg, "format 1"), "%s", err.msg);
    set_format(d, 9);
    prov_env e;
    cr_assert_eq(prov_env_open(&e, d, 1, 0, &err), AG_ERR);
    cr_assert(strstr(err.msg, "store format 9 is not supported"), "%s", err.msg);
    rm_tree(d);
    free(d);
}
