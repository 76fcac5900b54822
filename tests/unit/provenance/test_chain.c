/* Unit tests: `history verify` finds the first broken seq when the store is edited through
 * the LMDB API (an edited, a deleted, a reordered and a truncated record), when the tail is
 * rewritten with a consistent chain (only the signed checkpoint catches it), when a checkpoint
 * line is forged, and still passes after prune. */
#include "prov_test_util.h"

/* Two writer sessions: records 1..10 (checkpoint at 10), then 11..20 (checkpoint at 20). */
static char *two_sessions(void)
{
    char *dir = make_tmpdir();
    fill_store(dir, 0, 10);
    fill_store(dir, 10, 10);
    return dir;
}

static prov_verify_result verify(const char *dir)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, dir, 1, 0, &err), AG_OK, "%s", err.msg);
    prov_verify_result res;
    cr_assert_eq(prov_verify(&e, &res, &err), AG_OK, "%s", err.msg);
    prov_env_close(&e);
    return res;
}

static void begin_edit(const char *dir, prov_env *e, MDB_txn **t)
{
    ag_error err;
    cr_assert_eq(prov_env_open(e, dir, 0, 0, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(mdb_txn_begin(e->env, NULL, 0, t), 0);
}

static void end_edit(prov_env *e, MDB_txn *t)
{
    cr_assert_eq(mdb_txn_commit(t), 0);
    prov_env_close(e);
}

static MDB_val seq_key(uint8_t kb[8], uint64_t seq)
{
    prov_be64_put(kb, seq);
    return (MDB_val){8, kb};
}

static void done(char *dir)
{
    rm_tree(dir);
    free(dir);
}

Test(chain, intact_store_verifies)
{
    char *dir = two_sessions();
    prov_verify_result r = verify(dir);
    cr_assert(r.ok, "%s", r.problem);
    cr_assert_eq(r.records, 20);
    cr_assert_eq(r.last_seq, 20);
    cr_assert_eq(r.checkpoints_checked, 2);
    done(dir);
}

Test(chain, edited_record_is_found)
{
    char *dir = two_sessions();
    prov_env e;
    MDB_txn *t;
    begin_edit(dir, &e, &t);
    uint8_t kb[8];
    MDB_val k = seq_key(kb, 7), v;
    cr_assert_eq(mdb_get(t, e.records, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    uint8_t *at = memmem(copy, v.mv_size, "/page/6", 7);
    cr_assert_not_null(at);
    at[6] = '9'; /* the URL now says /page/9 */
    v.mv_data = copy;
    cr_assert_eq(mdb_put(t, e.records, &k, &v, 0), 0);
    end_edit(&e, t);
    free(copy);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert_eq(r.first_bad_seq, 7, "first bad %llu: %s", (unsigned long long)r.first_bad_seq,
                 r.problem);
    done(dir);
}

Test(chain, deleted_record_is_found)
{
    char *dir = two_sessions();
    prov_env e;
    MDB_txn *t;
    begin_edit(dir, &e, &t);
    uint8_t kb[8];
    MDB_val k = seq_key(kb, 12);
    cr_assert_eq(mdb_del(t, e.records, &k, NULL), 0);
    end_edit(&e, t);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert_eq(r.first_bad_seq, 12, "%s", r.problem);
    cr_assert(strstr(r.problem, "missing") != NULL, "%s", r.problem);
    done(dir);
}

Test(chain, reordered_records_are_found)
{
    char *dir = two_sessions();
    prov_env e;
    MDB_txn *t;
    begin_edit(dir, &e, &t);
    uint8_t ka[8], kb[8];
    MDB_val a = seq_key(ka, 4), b = seq_key(kb, 5), va, vb;
    cr_assert_eq(mdb_get(t, e.records, &a, &va), 0);
    cr_assert_eq(mdb_get(t, e.records, &b, &vb), 0);
    uint8_t *ca = malloc(va.mv_size), *cb = malloc(vb.mv_size);
    memcpy(ca, va.mv_data, va.mv_size);
    memcpy(cb, vb.mv_data, vb.mv_size);
    MDB_val na = {vb.mv_size, cb}, nb = {va.mv_size, ca};
    cr_assert_eq(mdb_put(t, e.records, &a, &na, 0), 0);
    cr_assert_eq(mdb_put(t, e.records, &b, &nb, 0), 0);
    end_edit(&e, t);
    free(ca);
    free(cb);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert_eq(r.first_bad_seq, 4, "%s", r.problem);
    done(dir);
}

/* Removes records from..20; careful=1 also moves the head in meta to match. */
static void truncate_store(const char *dir, uint64_t from, int careful)
{
    prov_env e;
    MDB_txn *t;
    begin_edit(dir, &e, &t);
    uint8_t kb[8];
    for (uint64_t s = from; s <= 20; s++) {
        MDB_val k = seq_key(kb, s);
        cr_assert_eq(mdb_del(t, e.records, &k, NULL), 0);
    }
    if (careful) {
        MDB_val k = seq_key(kb, from - 1), v;
        cr_assert_eq(mdb_get(t, e.records, &k, &v), 0);
        prov_chain_point head = {.seq = from - 1};
        memcpy(head.hash, (uint8_t *)v.mv_data + v.mv_size - PROV_HASH_LEN, PROV_HASH_LEN);
        cr_assert_eq(prov_meta_put_point(&e, t, "head", &head), 0);
    }
    end_edit(&e, t);
}

Test(chain, truncation_is_found)
{
    char *dir = two_sessions();
    truncate_store(dir, 18, 0);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert_eq(r.first_bad_seq, 18, "%s", r.problem);
    done(dir);
}

Test(chain, truncation_with_a_forged_head_is_caught_by_the_checkpoint)
{
    char *dir = two_sessions();
    truncate_store(dir, 18, 1);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert_eq(r.first_bad_seq, 18, "%s", r.problem);
    cr_assert(strstr(r.problem, "truncated") != NULL, "%s", r.problem);
    done(dir);
}

Test(chain, rewritten_tail_is_caught_by_the_checkpoint)
{
    char *dir = two_sessions();
    /* rewrite 15..20 with different content and a perfectly consistent chain and head */
    prov_env e;
    MDB_txn *t;
    begin_edit(dir, &e, &t);
    prov_hasher h;
    ag_error err;
    cr_assert_eq(prov_hasher_init(&h, &err), AG_OK);
    uint8_t kb[8], prev[PROV_HASH_LEN];
    MDB_val k = seq_key(kb, 14), v;
    cr_assert_eq(mdb_get(t, e.records, &k, &v), 0);
    memcpy(prev, (uint8_t *)v.mv_data + v.mv_size - PROV_HASH_LEN, PROV_HASH_LEN);
    prov_buf b = {0};
    for (uint64_t s = 15; s <= 20; s++) {
        test_rec tr;
        test_record(s - 1, &tr);
        tr.r.url = "http://innocent.test/";
        cr_assert_eq(prov_record_encode(&tr.r, &b, &err), AG_OK);
        prov_buf_reserve(&b, PROV_HASH_LEN);
        prov_chain_hash(&h, prev, s, b.data, b.len, b.data + b.len);
        memcpy(prev, b.data + b.len, PROV_HASH_LEN);
        k = seq_key(kb, s);
        v = (MDB_val){b.len + PROV_HASH_LEN, b.data};
        cr_assert_eq(mdb_put(t, e.records, &k, &v, 0), 0);
    }
    prov_chain_point head = {.seq = 20};
    memcpy(head.hash, prev, PROV_HASH_LEN);
    cr_assert_eq(prov_meta_put_point(&e, t, "head", &head), 0);
    end_edit(&e, t);
    prov_buf_free(&b);
    prov_hasher_free(&h);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    /* the checkpoint at 10 still matches, the one at 20 does not */
    cr_assert_eq(r.first_bad_seq, 11, "%s", r.problem);
    cr_assert(strstr(r.problem, "rewritten") != NULL, "%s", r.problem);
    done(dir);
}

Test(chain, forged_checkpoint_line_is_rejected)
{
    char *dir = two_sessions();
    char p[512], line[512];
    snprintf(p, sizeof p, "%s/provenance/checkpoints", dir);
    FILE *f = fopen(p, "r+");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof line, f));
    /* change the seq of the first line: the signature no longer covers it */
    rewind(f);
    fputc(line[0] == '9' ? '8' : '9', f);
    fclose(f);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert(strstr(r.problem, "bad signature") != NULL, "%s", r.problem);
    done(dir);
}

Test(chain, prune_keeps_the_chain_verifiable)
{
    char *dir = two_sessions();
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, dir, 0, 0, &err), AG_OK, "%s", err.msg);
    uint64_t n;
    /* records 1..20 start at T0 + 0..19 s; before T0+5.5s prunes 1..6 */
    cr_assert_eq(prov_prune(&e, T0_US + 5500000, &n, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(n, 6);
    /* index entries went with them */
    MDB_txn *t;
    mdb_txn_begin(e.env, NULL, MDB_RDONLY, &t);
    MDB_stat st;
    mdb_stat(t, e.by_time, &st);
    cr_assert_eq(st.ms_entries, 14);
    mdb_stat(t, e.by_agent, &st);
    cr_assert_eq(st.ms_entries, 14);
    mdb_stat(t, e.by_reqid, &st);
    cr_assert_eq(st.ms_entries, 14);
    mdb_txn_abort(t);
    prov_env_close(&e);
    prov_verify_result r = verify(dir);
    cr_assert(r.ok, "%s", r.problem);
    cr_assert_eq(r.anchor_seq, 6);
    cr_assert_eq(r.records, 14);
    /* appending after a prune still chains */
    fill_store(dir, 20, 3);
    r = verify(dir);
    cr_assert(r.ok, "%s", r.problem);
    cr_assert_eq(r.last_seq, 23);
    /* pruning everything leaves an empty, verifiable store */
    cr_assert_eq(prov_env_open(&e, dir, 0, 0, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(prov_prune(&e, UINT64_MAX, &n, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(n, 17);
    prov_env_close(&e);
    r = verify(dir);
    cr_assert(r.ok, "%s", r.problem);
    cr_assert_eq(r.records, 0);
    cr_assert_eq(r.anchor_seq, 23);
    done(dir);
}

Test(chain, deleting_the_oldest_record_without_an_anchor_is_found)
{
    char *dir = two_sessions();
    prov_env e;
    MDB_txn *t;
    begin_edit(dir, &e, &t);
    uint8_t kb[8];
    MDB_val k = seq_key(kb, 1);
    cr_assert_eq(mdb_del(t, e.records, &k, NULL), 0);
    end_edit(&e, t);
    prov_verify_result r = verify(dir);
    cr_assert_not(r.ok);
    cr_assert_eq(r.first_bad_seq, 1, "%s", r.problem);
    done(dir);
}
