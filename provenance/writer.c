/* provenance: the public store API. prov_submit() (any worker thread) encodes the record into
 * one allocation and puts it on a bounded queue; one writer thread takes batches off the queue
 * and commits each batch in a single LMDB transaction, extending the hash chain, growing the
 * map on MDB_MAP_FULL and signing checkpoints. Workers never touch LMDB. */
#include "provenance/prov_internal.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DROP_LOG_INTERVAL_US 1000000u
#define SYNC_INTERVAL_US 1000000u

struct prov_store {
    prov_env env;
    prov_options opt;

    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    prov_buf *ring; /* encoded records, each with PROV_HASH_LEN spare bytes for the hash */
    size_t ring_head, ring_count;
    int closing;
    prov_stats stats;
    uint64_t last_drop_log_us;

    /* writer thread only */
    pthread_t thread;
    prov_buf *batch;
    prov_hasher hasher;
    prov_decoded decoded;
    prov_keyset keys;
    uint64_t checkpointed_seq, last_checkpoint_us, last_sync_us;
};

void prov_options_default(prov_options *opt)
{
    *opt = (prov_options){
        .queue_capacity = 65536,
        .when_full = PROV_QUEUE_BLOCK,
        .batch_delay_ms = 50,
        .checkpoint_secs = 60,
        .map_size = (size_t)64 << 20,
        .map_max = (size_t)64 << 30,
        .batch_max = 4096,
    };
}

/* Zero fields mean "default", so callers may pass a partly filled struct. */
static void options_resolve(const prov_options *in, prov_options *out)
{
    prov_options_default(out);
    if (!in)
        return;
    out->when_full = in->when_full;
    if (in->queue_capacity)
        out->queue_capacity = in->queue_capacity;
    if (in->batch_delay_ms)
        out->batch_delay_ms = in->batch_delay_ms;
    if (in->checkpoint_secs)
        out->checkpoint_secs = in->checkpoint_secs;
    if (in->map_size)
        out->map_size = in->map_size;
    if (in->map_max)
        out->map_max = in->map_max;
    if (in->batch_max)
        out->batch_max = in->batch_max;
    if (out->map_max < out->map_size)
        out->map_max = out->map_size;
}

static void abs_deadline(struct timespec *ts, uint64_t from_now_us)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + from_now_us * 1000u;
    ts->tv_sec += (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

/* ---- committing a batch ---- */

typedef enum { COMMIT_OK, COMMIT_MAP_FULL, COMMIT_FAILED } commit_result;

static commit_result commit_once(prov_store *s, prov_buf *items, size_t n, uint64_t *head_seq,
                                 ag_error *err)
{
    MDB_txn *t;
    s->keys.n = s->keys.bytes.len = s->keys.n_gens = 0;
    if (prov_txn_begin(&s->env, 0, &t, err) != AG_OK)
        return COMMIT_FAILED;
    prov_chain_point head;
    int rc = prov_meta_get_point(&s->env, t, "head", &head) == AG_OK ? 0 : MDB_CORRUPTED;
    for (size_t i = 0; i < n && rc == 0; i++) {
        prov_buf *b = &items[i];
        uint64_t seq = head.seq + 1;
        if (prov_record_decode_canonical(b->data, b->len, &s->decoded, err) != AG_OK ||
            prov_chain_hash(&s->hasher, head.hash, seq, b->data, b->len, b->data + b->len) !=
                AG_OK) {
            mdb_txn_abort(t);
            return COMMIT_FAILED;
        }
        rc = prov_store_put(&s->env, t, seq, b->data, b->len + PROV_HASH_LEN, &s->decoded.rec, 1,
                            &s->keys);
        head.seq = seq;
        memcpy(head.hash, b->data + b->len, PROV_HASH_LEN);
    }
    if (rc == 0)
        rc = prov_keyset_put(&s->env, t, &s->keys);
    if (rc == 0)
        rc = prov_meta_put_point(&s->env, t, "head", &head);
    if (rc == 0)
        rc = mdb_txn_commit(t);
    else
        mdb_txn_abort(t);
    if (rc == MDB_MAP_FULL)
        return COMMIT_MAP_FULL;
    if (rc != 0) {
        ag_errorf(err, "%s: commit failed: %s", s->env.dir, mdb_strerror(rc));
        return COMMIT_FAILED;
    }
    *head_seq = head.seq;
    return COMMIT_OK;
}

static void commit_batch(prov_store *s, prov_buf *items, size_t n)
{
    ag_error err = {{0}};
    uint64_t head_seq = 0;
    commit_result r;
    while ((r = commit_once(s, items, n, &head_seq, &err)) == COMMIT_MAP_FULL) {
        if (prov_env_grow(&s->env, &err) != AG_OK) {
            r = COMMIT_FAILED;
            break;
        }
        pthread_mutex_lock(&s->mu);
        s->stats.map_grows++;
        pthread_mutex_unlock(&s->mu);
        ag_log(AG_LOG_WARN, "provenance_map_grow", "map_size=%zu", s->env.map_size);
    }
    pthread_mutex_lock(&s->mu);
    if (r == COMMIT_OK) {
        s->stats.committed += n;
        s->stats.batches++;
    } else {
        s->stats.errors += n;
    }
    uint64_t errors = s->stats.errors;
    pthread_mutex_unlock(&s->mu);
    if (r != COMMIT_OK) {
        char q[600];
        ag_log(AG_LOG_ERROR, "provenance_error", "lost=%zu total_lost=%llu error=%s", n,
               (unsigned long long)errors, ag_log_quote(q, sizeof q, err.msg));
    }
}

/* Commits do not fsync (a killed process loses nothing: the pages are in the page cache);
 * the writer syncs every SYNC_INTERVAL_US and before signing a checkpoint, so a power loss
 * costs at most that interval and never leaves a signed head the disk does not hold. */
static void maybe_sync(prov_store *s, int force)
{
    uint64_t now = ag_monotonic_us();
    if (!force && now - s->last_sync_us < SYNC_INTERVAL_US)
        return;
    s->last_sync_us = now;
    int rc = mdb_env_sync(s->env.env, 1);
    if (rc != 0)
        ag_log(AG_LOG_ERROR, "provenance_error", "sync=failed error=%s", mdb_strerror(rc));
}

static void maybe_checkpoint(prov_store *s, int force)
{
    uint64_t now = ag_monotonic_us();
    if (!force && now - s->last_checkpoint_us < (uint64_t)s->opt.checkpoint_secs * 1000000u)
        return;
    s->last_checkpoint_us = now;
    MDB_txn *t;
    ag_error err = {{0}};
    prov_chain_point head = {0};
    if (prov_txn_begin(&s->env, MDB_RDONLY, &t, &err) == AG_OK) {
        prov_meta_get_point(&s->env, t, "head", &head);
        mdb_txn_abort(t);
    }
    if (head.seq == 0 || head.seq == s->checkpointed_seq)
        return;
    maybe_sync(s, 1);
    char q[600];
    if (prov_checkpoint_append(s->env.dir, &head, ag_now_us(), &err) != AG_OK) {
        ag_log(AG_LOG_ERROR, "provenance_error", "checkpoint=failed error=%s",
               ag_log_quote(q, sizeof q, err.msg));
        return;
    }
    s->checkpointed_seq = head.seq;
    pthread_mutex_lock(&s->mu);
    s->stats.checkpoints++;
    pthread_mutex_unlock(&s->mu);
    ag_log(AG_LOG_DEBUG, "provenance_checkpoint", "seq=%llu", (unsigned long long)head.seq);
}

/* ---- the writer thread ---- */

typedef enum { WRITER_IDLE, WRITER_FILLING, WRITER_FLUSH, WRITER_EXIT } writer_state;

/* Called with the mutex held; waits for the next thing to do. */
static writer_state writer_wait(prov_store *s)
{
    struct timespec ts;
    writer_state st = WRITER_IDLE;
    for (;;) {
        switch (st) {
        case WRITER_IDLE:
            if (s->ring_count > 0) {
                st = WRITER_FILLING;
                abs_deadline(&ts, (uint64_t)s->opt.batch_delay_ms * 1000u);
                break;
            }
            if (s->closing)
                return WRITER_EXIT;
            abs_deadline(&ts, (uint64_t)s->opt.checkpoint_secs * 1000000u);
            if (pthread_cond_timedwait(&s->not_empty, &s->mu, &ts) == ETIMEDOUT)
                return WRITER_IDLE; /* time for a checkpoint */
            break;
        case WRITER_FILLING:
            if (s->ring_count >= s->opt.batch_max || s->ring_count == s->opt.queue_capacity ||
                s->closing)
                return WRITER_FLUSH;
            if (pthread_cond_timedwait(&s->not_empty, &s->mu, &ts) == ETIMEDOUT)
                return WRITER_FLUSH;
            break;
        default:
            return st;
        }
    }
}

static void *writer_main(void *arg)
{
    prov_store *s = arg;
    pthread_setname_np(pthread_self(), "prov-writer");
    pthread_mutex_lock(&s->mu);
    for (;;) {
        writer_state st = writer_wait(s);
        if (st == WRITER_EXIT)
            break;
        size_t n = 0;
        if (st == WRITER_FLUSH) {
            while (n < s->opt.batch_max && s->ring_count > 0) {
                s->batch[n++] = s->ring[s->ring_head];
                s->ring[s->ring_head] = (prov_buf){0};
                s->ring_head = (s->ring_head + 1) % s->opt.queue_capacity;
                s->ring_count--;
            }
            pthread_cond_broadcast(&s->not_full);
        }
        pthread_mutex_unlock(&s->mu);
        if (n > 0)
            commit_batch(s, s->batch, n);
        for (size_t i = 0; i < n; i++)
            prov_buf_free(&s->batch[i]);
        maybe_sync(s, 0);
        maybe_checkpoint(s, 0);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    maybe_checkpoint(s, 1);
    maybe_sync(s, 1);
    return NULL;
}

/* ---- public API ---- */

static void store_free(prov_store *s)
{
    prov_env_close(&s->env);
    prov_hasher_free(&s->hasher);
    prov_decoded_free(&s->decoded);
    prov_keyset_free(&s->keys);
    free(s->ring);
    free(s->batch);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->not_empty);
    pthread_cond_destroy(&s->not_full);
    free(s);
}

int prov_open(const char *data_dir, const prov_options *opt, prov_store **out, ag_error *err)
{
    prov_store *s = calloc(1, sizeof *s);
    if (!s)
        return ag_errorf(err, "provenance: out of memory");
    options_resolve(opt, &s->opt);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->not_empty, &ca);
    pthread_cond_init(&s->not_full, &ca);
    pthread_condattr_destroy(&ca);
    s->ring = calloc(s->opt.queue_capacity, sizeof *s->ring);
    s->batch = calloc(s->opt.batch_max, sizeof *s->batch);
    if (!s->ring || !s->batch) {
        size_t cap = s->opt.queue_capacity;
        store_free(s);
        return ag_errorf(err, "provenance: cannot allocate a queue of %zu records", cap);
    }
    if (prov_env_open(&s->env, data_dir, 0, s->opt.map_size, err) != AG_OK ||
        prov_hasher_init(&s->hasher, err) != AG_OK) {
        store_free(s);
        return AG_ERR;
    }
    s->env.map_max = s->opt.map_max > s->env.map_size ? s->opt.map_max : s->env.map_size;
    s->last_checkpoint_us = ag_monotonic_us();
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        store_free(s);
        return ag_errorf(err, "provenance: cannot start the writer thread");
    }
    ag_log(AG_LOG_INFO, "provenance_open", "dir=%s map_size=%zu queue=%zu policy=%s", s->env.dir,
           s->env.map_size, s->opt.queue_capacity,
           s->opt.when_full == PROV_QUEUE_DROP ? "drop" : "block");
    *out = s;
    return AG_OK;
}

/* The sanitizer's report is {"counts": {...}, ...} or carries "removed"; sum what it removed. */
static uint64_t removed_from_report(const char *json)
{
    json_t *root = json_loads(json, JSON_DECODE_ANY, NULL);
    uint64_t total = 0;
    json_t *removed = root ? json_object_get(root, "removed") : NULL;
    json_t *counts = root ? json_object_get(root, "counts") : NULL;
    if (json_is_integer(removed)) {
        total = (uint64_t)json_integer_value(removed);
    } else if (json_is_object(counts)) {
        const char *k;
        json_t *v;
        json_object_foreach(counts, k, v)
            if (json_is_integer(v) && json_integer_value(v) > 0)
                total += (uint64_t)json_integer_value(v);
    }
    json_decref(root);
    return total;
}

static void log_drop(prov_store *s, const char *why)
{
    uint64_t now = ag_monotonic_us();
    if (s->last_drop_log_us && now - s->last_drop_log_us < DROP_LOG_INTERVAL_US)
        return;
    s->last_drop_log_us = now;
    ag_log(AG_LOG_ERROR, "provenance_drop", "total=%llu reason=%s",
           (unsigned long long)s->stats.dropped, why);
}

int prov_submit(prov_store *s, const prov_record *r)
{
    prov_record copy = *r;
    if (!copy.sanitizer_removed && copy.sanitizer_report_json)
        copy.sanitizer_removed = removed_from_report(copy.sanitizer_report_json);
    prov_buf b = {0};
    ag_error err;
    int enc = prov_record_encode(&copy, &b, &err);
    if (enc == AG_OK && prov_buf_reserve(&b, PROV_HASH_LEN) != AG_OK)
        enc = ag_errorf(&err, "out of memory");
    pthread_mutex_lock(&s->mu);
    s->stats.submitted++;
    if (enc != AG_OK) {
        s->stats.dropped++;
        log_drop(s, "encode");
        pthread_mutex_unlock(&s->mu);
        prov_buf_free(&b);
        return AG_ERR;
    }
    if (s->ring_count == s->opt.queue_capacity && !s->closing) {
        if (s->opt.when_full == PROV_QUEUE_BLOCK) {
            s->stats.blocked++;
            while (s->ring_count == s->opt.queue_capacity && !s->closing)
                pthread_cond_wait(&s->not_full, &s->mu);
        }
    }
    if (s->ring_count == s->opt.queue_capacity || s->closing) {
        s->stats.dropped++;
        log_drop(s, s->closing ? "closing" : "queue_full");
        pthread_mutex_unlock(&s->mu);
        prov_buf_free(&b);
        return AG_ERR;
    }
    s->ring[(s->ring_head + s->ring_count) % s->opt.queue_capacity] = b;
    s->ring_count++;
    if (s->ring_count == 1 || s->ring_count == s->opt.batch_max ||
        s->ring_count == s->opt.queue_capacity)
        pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->mu);
    return AG_OK;
}

void prov_get_stats(prov_store *s, prov_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->queued = s->ring_count;
    pthread_mutex_unlock(&s->mu);
}

void prov_close(prov_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    pthread_cond_broadcast(&s->not_empty);
    pthread_cond_broadcast(&s->not_full);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    ag_log(AG_LOG_INFO, "provenance_close", "committed=%llu dropped=%llu errors=%llu",
           (unsigned long long)s->stats.committed, (unsigned long long)s->stats.dropped,
           (unsigned long long)s->stats.errors);
    store_free(s);
}
