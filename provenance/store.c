/* provenance: the LMDB environment at DATA_DIR/provenance — named databases, index keys, map
 * growth, and the chain head/anchor kept in `meta`. Used by the writer thread (read-write) and
 * by `agentgate history` (read-only, alongside a running proxy in another process). */
#include "provenance/prov_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROV_MAX_DBS 8

void prov_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t prov_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

size_t prov_key_time(uint8_t *buf, uint64_t time_us, uint64_t seq)
{
    prov_be64_put(buf, time_us);
    prov_be64_put(buf + 8, seq);
    return 16;
}

size_t prov_key_named(uint8_t *buf, const char *name, uint64_t time_us, uint64_t seq)
{
    size_t n = strnlen(name, PROV_INDEX_NAME_MAX);
    memcpy(buf, name, n);
    buf[n] = '\0';
    return n + 1 + prov_key_time(buf + n + 1, time_us, seq);
}

size_t prov_key_host(uint8_t *buf, const char *host, uint64_t time_us, uint64_t seq)
{
    uint32_t gen = prov_host_gen(seq);
    buf[0] = (uint8_t)(gen >> 24);
    buf[1] = (uint8_t)(gen >> 16);
    buf[2] = (uint8_t)(gen >> 8);
    buf[3] = (uint8_t)gen;
    return 4 + prov_key_named(buf + 4, host, time_us, seq);
}

/* Checks meta/format before any other database is opened or created, so an older store is
 * refused with its version rather than half-upgraded or misread. */
static int check_format(prov_env *e, MDB_txn *t, ag_error *err)
{
    int rc = mdb_dbi_open(t, "meta", e->readonly ? 0 : MDB_CREATE, &e->meta);
    if (rc == MDB_NOTFOUND)
        return ag_errorf(err, "%s: not a provenance store (database 'meta' is missing)", e->dir);
    if (rc != 0)
        return ag_errorf(err, "%s: cannot open database 'meta': %s", e->dir, mdb_strerror(rc));
    MDB_val k = {6, "format"}, v;
    rc = mdb_get(t, e->meta, &k, &v);
    if (rc == 0) {
        unsigned found = v.mv_size == 1 ? *(const uint8_t *)v.mv_data : 0u;
        if (found == PROV_STORE_FORMAT)
            return AG_OK;
        if (found == 1)
            return ag_errorf(err,
                             "%s: store format 1 is not supported (this build reads format %u, "
                             "which indexes hosts by generation): export the old records with "
                             "the agentgate that wrote them (agentgate history export), then "
                             "move %s aside; the next agentgate run creates a new store",
                             e->dir, PROV_STORE_FORMAT, e->dir);
        return ag_errorf(err, "%s: store format %u is not supported (this build reads format %u)",
                         e->dir, found, PROV_STORE_FORMAT);
    }
    if (rc != MDB_NOTFOUND)
        return ag_errorf(err, "%s: cannot read meta/format: %s", e->dir, mdb_strerror(rc));
    /* no format key: a new store (the key is written in the transaction that creates it) */
    if (e->readonly)
        return AG_OK;
    uint8_t ver = PROV_STORE_FORMAT;
    v = (MDB_val){1, &ver};
    rc = mdb_put(t, e->meta, &k, &v, 0);
    if (rc != 0)
        return ag_errorf(err, "%s: cannot write meta/format: %s", e->dir, mdb_strerror(rc));
    return AG_OK;
}

static int open_dbis(prov_env *e, ag_error *err)
{
    static const char *const names[] = {"records", "by_time", "by_agent", "by_host",
                                        "host_gens", "by_reqid"};
    MDB_dbi *slots[] = {&e->records, &e->by_time, &e->by_agent, &e->by_host, &e->host_gens,
                        &e->by_reqid};
    MDB_txn *t;
    if (prov_txn_begin(e, e->readonly ? MDB_RDONLY : 0, &t, err) != AG_OK)
        return AG_ERR;
    if (check_format(e, t, err) != AG_OK) {
        mdb_txn_abort(t);
        return AG_ERR;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int rc = mdb_dbi_open(t, names[i], e->readonly ? 0 : MDB_CREATE, slots[i]);
        if (rc != 0) {
            mdb_txn_abort(t);
            if (rc == MDB_NOTFOUND)
                return ag_errorf(err, "%s: not a provenance store (database '%s' is missing)",
                                 e->dir, names[i]);
            return ag_errorf(err, "%s: cannot open database '%s': %s", e->dir, names[i],
                             mdb_strerror(rc));
        }
    }
    int rc = mdb_txn_commit(t);
    if (rc != 0)
        return ag_errorf(err, "%s: cannot initialise the store: %s", e->dir, mdb_strerror(rc));
    return AG_OK;
}

int prov_env_open(prov_env *e, const char *data_dir, int readonly, size_t map_size, ag_error *err)
{
    memset(e, 0, sizeof *e);
    e->readonly = readonly;
    if (snprintf(e->dir, sizeof e->dir, "%s/provenance", data_dir) >= (int)sizeof e->dir)
        return ag_errorf(err, "%s: data directory path too long", data_dir);
    char data_file[sizeof e->dir + 16];
    snprintf(data_file, sizeof data_file, "%s/data.mdb", e->dir);
    struct stat st;
    if (readonly && stat(data_file, &st) != 0)
        return ag_errorf(err, "no provenance store at %s (run agentgate run --data-dir %s first)",
                         e->dir, data_dir);
    if (!readonly && ag_mkdir_p(e->dir, 0700, err) != AG_OK)
        return ag_error_prefix(err, "provenance store");
    int rc = mdb_env_create(&e->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(e->env, PROV_MAX_DBS);
    if (rc == 0 && !readonly && map_size)
        rc = mdb_env_set_mapsize(e->env, map_size);
    /* the writer maps the file writable and syncs on its own schedule (writer.c) */
    if (rc == 0)
        rc = mdb_env_open(e->env, e->dir, readonly ? MDB_RDONLY : MDB_NOSYNC | MDB_WRITEMAP, 0600);
    if (readonly && (rc == EACCES || rc == EROFS)) {
        /* read-only media, or a lock file we may not write: read without a reader slot.
         * A writer running at the same time could reuse pages under such a reader, so these
         * reads are best effort; the usual case (same user as the proxy) never gets here. */
        mdb_env_close(e->env);
        e->env = NULL;
        rc = mdb_env_create(&e->env);
        if (rc == 0)
            rc = mdb_env_set_maxdbs(e->env, PROV_MAX_DBS);
        if (rc == 0)
            rc = mdb_env_open(e->env, e->dir, MDB_RDONLY | MDB_NOLOCK, 0600);
    }
    if (rc != 0) {
        if (e->env)
            mdb_env_close(e->env);
        e->env = NULL;
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED)
            return ag_errorf(err, "%s: corrupt or not an LMDB store: %s", e->dir,
                             mdb_strerror(rc));
        return ag_errorf(err, "%s: cannot open provenance store: %s", e->dir, mdb_strerror(rc));
    }
    MDB_envinfo info;
    mdb_env_info(e->env, &info);
    e->map_size = info.me_mapsize;
    e->map_max = e->map_size > ((size_t)64 << 30) ? e->map_size : ((size_t)64 << 30);
    if (open_dbis(e, err) != AG_OK) {
        prov_env_close(e);
        return AG_ERR;
    }
    return AG_OK;
}

void prov_env_close(prov_env *e)
{
    if (e->env)
        mdb_env_close(e->env);
    e->env = NULL;
}

int prov_txn_begin(prov_env *e, unsigned flags, MDB_txn **out, ag_error *err)
{
    int rc = mdb_txn_begin(e->env, NULL, flags, out);
    if (rc == MDB_MAP_RESIZED) {
        /* another process grew the map: adopt its size and try again */
        rc = mdb_env_set_mapsize(e->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(e->env, NULL, flags, out);
        if (rc == 0) {
            MDB_envinfo info;
            mdb_env_info(e->env, &info);
            e->map_size = info.me_mapsize;
        }
    }
    if (rc != 0)
        return ag_errorf(err, "%s: cannot begin transaction: %s", e->dir, mdb_strerror(rc));
    return AG_OK;
}

int prov_env_grow(prov_env *e, ag_error *err)
{
    if (e->map_size >= e->map_max)
        return ag_errorf(err, "%s: map is full at %zu bytes and may not grow past map_max", e->dir,
                         e->map_size);
    size_t next = e->map_size * 2;
    if (next > e->map_max)
        next = e->map_max;
    int rc = mdb_env_set_mapsize(e->env, next);
    if (rc != 0)
        return ag_errorf(err, "%s: cannot grow the map to %zu bytes: %s", e->dir, next,
                         mdb_strerror(rc));
    e->map_size = next;
    return AG_OK;
}

int prov_meta_get_point(prov_env *e, MDB_txn *t, const char *key, prov_chain_point *out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    memset(out, 0, sizeof *out);
    int rc = mdb_get(t, e->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return AG_OK;
    if (rc != 0 || v.mv_size != 8 + PROV_HASH_LEN)
        return AG_ERR;
    out->seq = prov_be64_get(v.mv_data);
    memcpy(out->hash, (const uint8_t *)v.mv_data + 8, PROV_HASH_LEN);
    return AG_OK;
}

int prov_meta_put_point(prov_env *e, MDB_txn *t, const char *key, const prov_chain_point *p)
{
    uint8_t buf[8 + PROV_HASH_LEN];
    prov_be64_put(buf, p->seq);
    memcpy(buf + 8, p->hash, PROV_HASH_LEN);
    MDB_val k = {strlen(key), (void *)key}, v = {sizeof buf, buf};
    return mdb_put(t, e->meta, &k, &v, 0);
}

static int keyset_add(prov_keyset *ks, uint8_t which, const uint8_t *key, size_t len)
{
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 8192;
        size_t *p = realloc(ks->offs, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        ks->offs = p;
        ks->cap = cap;
    }
    if (prov_buf_reserve(&ks->bytes, len + 3) != AG_OK)
        return ENOMEM;
    uint8_t *d = ks->bytes.data + ks->bytes.len;
    d[0] = which;
    d[1] = (uint8_t)(len >> 8);
    d[2] = (uint8_t)len;
    memcpy(d + 3, key, len);
    ks->offs[ks->n++] = ks->bytes.len;
    ks->bytes.len += len + 3;
    return 0;
}

/* Notes that the batch put a record of seq starting at time_us (merged per generation). */
static int keyset_note_gen(prov_keyset *ks, uint64_t seq, uint64_t time_us)
{
    uint32_t gen = prov_host_gen(seq);
    for (size_t i = ks->n_gens; i-- > 0;) {
        prov_gen_span *g = &ks->gens[i];
        if (g->gen == gen) {
            g->min_us = time_us < g->min_us ? time_us : g->min_us;
            g->max_us = time_us > g->max_us ? time_us : g->max_us;
            return 0;
        }
    }
    if (ks->n_gens == ks->cap_gens) {
        size_t cap = ks->cap_gens ? ks->cap_gens * 2 : 4;
        prov_gen_span *p = realloc(ks->gens, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        ks->gens = p;
        ks->cap_gens = cap;
    }
    ks->gens[ks->n_gens++] = (prov_gen_span){gen, time_us, time_us};
    return 0;
}

void prov_keyset_free(prov_keyset *ks)
{
    prov_buf_free(&ks->bytes);
    free(ks->gens);
    free(ks->offs);
    memset(ks, 0, sizeof *ks);
}

static int keyset_cmp(const void *a, const void *b, void *base)
{
    const uint8_t *x = (const uint8_t *)base + *(const size_t *)a;
    const uint8_t *y = (const uint8_t *)base + *(const size_t *)b;
    if (x[0] != y[0])
        return x[0] - y[0];
    size_t lx = (size_t)x[1] << 8 | x[2], ly = (size_t)y[1] << 8 | y[2];
    int c = memcmp(x + 3, y + 3, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

int prov_keyset_put(prov_env *e, MDB_txn *t, prov_keyset *ks)
{
    qsort_r(ks->offs, ks->n, sizeof *ks->offs, keyset_cmp, ks->bytes.data);
    MDB_val empty = {0, NULL};
    int rc = 0;
    for (size_t i = 0; i < ks->n && rc == 0; i++) {
        const uint8_t *d = ks->bytes.data + ks->offs[i];
        MDB_val k = {(size_t)d[1] << 8 | d[2], (void *)(d + 3)};
        rc = mdb_put(t, d[0] ? e->by_host : e->by_agent, &k, &empty, 0);
    }
    for (size_t i = 0; i < ks->n_gens && rc == 0; i++)
        rc = prov_gen_widen(e, t, &ks->gens[i]);
    ks->n = 0;
    ks->bytes.len = 0;
    ks->n_gens = 0;
    return rc;
}

int prov_gen_widen(prov_env *e, MDB_txn *t, const prov_gen_span *span)
{
    uint8_t kb[4] = {(uint8_t)(span->gen >> 24), (uint8_t)(span->gen >> 16),
                     (uint8_t)(span->gen >> 8), (uint8_t)span->gen};
    uint8_t vb[16];
    MDB_val k = {4, kb}, v;
    uint64_t lo = span->min_us, hi = span->max_us;
    int rc = mdb_get(t, e->host_gens, &k, &v);
    if (rc == 0 && v.mv_size == 16) {
        uint64_t old_lo = prov_be64_get(v.mv_data), old_hi = prov_be64_get((uint8_t *)v.mv_data + 8);
        if (old_lo <= lo && old_hi >= hi)
            return 0;
        lo = old_lo < lo ? old_lo : lo;
        hi = old_hi > hi ? old_hi : hi;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    prov_be64_put(vb, lo);
    prov_be64_put(vb + 8, hi);
    v = (MDB_val){16, vb};
    return mdb_put(t, e->host_gens, &k, &v, 0);
}

int prov_gen_forget_upto(prov_env *e, MDB_txn *t, uint64_t anchor_seq)
{
    /* generation g holds seqs g*N .. g*N+N-1; it is empty once the last of them is pruned */
    uint64_t first_live_gen = (anchor_seq + 1) >> PROV_HOST_GEN_BITS;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t, e->host_gens, &c);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
        const uint8_t *p = k.mv_data;
        uint64_t gen = k.mv_size == 4 ? ((uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 |
                                         (uint64_t)p[2] << 8 | p[3])
                                      : UINT64_MAX;
        if (gen >= first_live_gen)
            break;
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Returns an LMDB status (MDB_MAP_FULL makes the caller grow the map and retry the batch). */
int prov_store_put(prov_env *e, MDB_txn *t, uint64_t seq, const uint8_t *value, size_t len,
                   const prov_record *r, int append, prov_keyset *defer)
{
    uint8_t kb[PROV_HOST_KEY_MAX], seqb[8];
    prov_be64_put(seqb, seq);
    MDB_val k = {8, seqb}, v = {len, (void *)value}, empty = {0, NULL};
    int rc = mdb_put(t, e->records, &k, &v, append ? MDB_APPEND : 0);
    if (rc != 0)
        return rc;
    k = (MDB_val){prov_key_time(kb, r->start_us, seq), kb};
    if ((rc = mdb_put(t, e->by_time, &k, &empty, 0)) != 0)
        return rc;
    const char *names[2] = {r->agent, r->host};
    for (uint8_t which = 0; which < 2; which++) {
        if (!names[which])
            continue;
        k = (MDB_val){which ? prov_key_host(kb, names[which], r->start_us, seq)
                            : prov_key_named(kb, names[which], r->start_us, seq),
                      kb};
        rc = defer ? keyset_add(defer, which, kb, k.mv_size)
                   : mdb_put(t, which ? e->by_host : e->by_agent, &k, &empty, 0);
        if (rc != 0)
            return rc;
    }
    if (r->host) {
        prov_gen_span span = {prov_host_gen(seq), r->start_us, r->start_us};
        rc = defer ? keyset_note_gen(defer, seq, r->start_us) : prov_gen_widen(e, t, &span);
        if (rc != 0)
            return rc;
    }
    if (r->request_id[0]) {
        k = (MDB_val){strnlen(r->request_id, sizeof r->request_id), (void *)r->request_id};
        v = (MDB_val){8, seqb};
        if ((rc = mdb_put(t, e->by_reqid, &k, &v, 0)) != 0)
            return rc;
    }
    return 0;
}

static int del_ok(int rc) { return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc; }

int prov_store_del_indexes(prov_env *e, MDB_txn *t, uint64_t seq, const prov_record *r)
{
    uint8_t kb[PROV_HOST_KEY_MAX];
    MDB_val k = {prov_key_time(kb, r->start_us, seq), kb};
    int rc = del_ok(mdb_del(t, e->by_time, &k, NULL));
    if (rc == 0 && r->agent) {
        k = (MDB_val){prov_key_named(kb, r->agent, r->start_us, seq), kb};
        rc = del_ok(mdb_del(t, e->by_agent, &k, NULL));
    }
    if (rc == 0 && r->host) {
        k = (MDB_val){prov_key_host(kb, r->host, r->start_us, seq), kb};
        rc = del_ok(mdb_del(t, e->by_host, &k, NULL));
    }
    if (rc == 0 && r->request_id[0]) {
        k = (MDB_val){strnlen(r->request_id, sizeof r->request_id), (void *)r->request_id};
        MDB_val v;
        /* only when it still points at this record (a reused id points at the newer one) */
        if (mdb_get(t, e->by_reqid, &k, &v) == 0 && v.mv_size == 8 &&
            prov_be64_get(v.mv_data) == seq)
            rc = del_ok(mdb_del(t, e->by_reqid, &k, NULL));
    }
    return rc;
}
