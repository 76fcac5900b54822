/* provenance (private): the record encoding, the LMDB store layout, the hash chain and the
 * query engine shared by the writer thread (writer.c) and `agentgate history` (history_cli.c).
 * Nothing here is visible to other modules; they use provenance/provenance.h only. */
#ifndef AG_PROV_INTERNAL_H
#define AG_PROV_INTERNAL_H

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>

#include "provenance/provenance.h"

#define PROV_RECORD_VERSION 1 /* the version byte that starts every record value */
#define PROV_STORE_FORMAT 2   /* meta/format: the layout of the databases and their keys */
#define PROV_HASH_LEN 32
#define PROV_INDEX_NAME_MAX 255 /* agent/host bytes kept in an index key (LMDB keys <= 511) */

/* ---- growable byte buffer (record.c) ---- */
typedef struct prov_buf {
    uint8_t *data;
    size_t len, cap;
} prov_buf;
int prov_buf_reserve(prov_buf *b, size_t extra);
void prov_buf_free(prov_buf *b);

/* ---- record encoding (record.c) ---- */
/* Encodes r (without seq and hash) into out, replacing its contents: the canonical bytes. */
int prov_record_encode(const prov_record *r, prov_buf *out, ag_error *err);

/* A decoded record: rec's strings point into arena (owned, reused across decodes). */
typedef struct prov_decoded {
    prov_record rec;
    uint8_t hash[PROV_HASH_LEN];
    size_t canonical_len; /* bytes covered by the hash (value length minus the hash) */
    char *arena;
    size_t arena_cap;
} prov_decoded;
/* Decodes a stored value (canonical bytes + hash). with_report=0 skips inflating the sanitizer
 * report (queries that do not print it). Errors name the seq and the field. */
int prov_record_decode(uint64_t seq, const uint8_t *val, size_t len, int with_report,
                       prov_decoded *out, ag_error *err);
/* Decodes canonical bytes only (no trailing hash): used by the writer for index keys. */
int prov_record_decode_canonical(const uint8_t *val, size_t len, prov_decoded *out, ag_error *err);
void prov_decoded_free(prov_decoded *d);

const char *prov_decision_name(prov_decision d);
int prov_decision_parse(const char *s, prov_decision *out);

/* ---- hashing (chain.c) ---- */
/* A reusable SHA-256 context (one per thread). */
typedef struct prov_hasher {
    struct evp_md_st *md;
    struct evp_md_ctx_st *ctx;
} prov_hasher;
int prov_hasher_init(prov_hasher *h, ag_error *err);
void prov_hasher_free(prov_hasher *h);
/* hash = SHA-256(prev || be64(seq) || canonical) */
int prov_chain_hash(prov_hasher *h, const uint8_t prev[PROV_HASH_LEN], uint64_t seq,
                    const uint8_t *canonical, size_t len, uint8_t out[PROV_HASH_LEN]);
void prov_hex(const uint8_t *in, size_t n, char *out); /* out holds 2n+1 */
int prov_unhex(const char *in, uint8_t *out, size_t n);

/* ---- LMDB store (store.c) ---- */
typedef struct prov_env {
    MDB_env *env;
    MDB_dbi records, by_time, by_agent, by_host, host_gens, by_reqid, meta;
    char dir[4096]; /* DATA_DIR/provenance */
    int readonly;
    size_t map_size, map_max;
} prov_env;

/* The chain head and the anchor (the last pruned record), kept in `meta`. */
typedef struct prov_chain_point {
    uint64_t seq;
    uint8_t hash[PROV_HASH_LEN];
} prov_chain_point;

/* Opens DATA_DIR/provenance. readonly: MDB_RDONLY, and a missing store is an error that
 * says how to create one. */
int prov_env_open(prov_env *e, const char *data_dir, int readonly, size_t map_size, ag_error *err);
void prov_env_close(prov_env *e);
/* Begins a transaction, adopting a map grown by another process (MDB_MAP_RESIZED). */
int prov_txn_begin(prov_env *e, unsigned flags, MDB_txn **out, ag_error *err);
/* Doubles the map after MDB_MAP_FULL (no transaction may be open). AG_ERR at map_max. */
int prov_env_grow(prov_env *e, ag_error *err);

int prov_meta_get_point(prov_env *e, MDB_txn *t, const char *key, prov_chain_point *out);
int prov_meta_put_point(prov_env *e, MDB_txn *t, const char *key, const prov_chain_point *p);

void prov_be64_put(uint8_t *p, uint64_t v);
uint64_t prov_be64_get(const uint8_t *p);
/* Index keys for a record; return the key length. buf holds PROV_INDEX_NAME_MAX + 17. */
size_t prov_key_time(uint8_t *buf, uint64_t time_us, uint64_t seq);
size_t prov_key_named(uint8_t *buf, const char *name, uint64_t time_us, uint64_t seq);

/* by_host is generation-major: a generation is PROV_HOST_GEN_RECORDS consecutive seqs, so a
 * batch's host entries land in the newest generation's pages (about a thousand) instead of at the
 * tail of every host's range across the whole tree. host_gens keeps, per generation, the
 * oldest and newest start time it holds, so a host query visits only the generations that
 * overlap its window. */
#define PROV_HOST_GEN_BITS 16
#define PROV_HOST_GEN_RECORDS ((uint64_t)1 << PROV_HOST_GEN_BITS)
#define PROV_HOST_KEY_MAX (4 + PROV_INDEX_NAME_MAX + 17)
static inline uint32_t prov_host_gen(uint64_t seq) { return (uint32_t)(seq >> PROV_HOST_GEN_BITS); }
/* be32 gen(seq) | host | \0 | be64 time_us | be64 seq; returns the key length. */
size_t prov_key_host(uint8_t *buf, const char *host, uint64_t time_us, uint64_t seq);
/* The host_gens entry: be32 gen -> be64 min start_us | be64 max start_us. */
typedef struct prov_gen_span {
    uint32_t gen;
    uint64_t min_us, max_us;
} prov_gen_span;
/* Widens the stored span of gen to cover [min_us, max_us] (an LMDB status). */
int prov_gen_widen(prov_env *e, MDB_txn *t, const prov_gen_span *span);
/* Drops the host_gens entries of generations whose every seq is <= anchor_seq (prune). */
int prov_gen_forget_upto(prov_env *e, MDB_txn *t, uint64_t anchor_seq);

/* Agent and host index keys of one batch, inserted in key order at the end of the batch so
 * that consecutive inserts land on the same B-tree pages. */
typedef struct prov_keyset {
    prov_buf bytes;  /* entries: u8 which (0 agent, 1 host), u16 length, key */
    size_t *offs;
    size_t n, cap;
    prov_gen_span *gens; /* the generations the batch touched, with their start times */
    size_t n_gens, cap_gens;
} prov_keyset;
void prov_keyset_free(prov_keyset *ks);

/* Writes a record and its index entries inside t (the writer's batch and the tests). With
 * defer, the agent and host entries go to defer instead; prov_keyset_put() writes them. */
int prov_store_put(prov_env *e, MDB_txn *t, uint64_t seq, const uint8_t *value, size_t len,
                   const prov_record *decoded, int append, prov_keyset *defer);
int prov_keyset_put(prov_env *e, MDB_txn *t, prov_keyset *ks);
/* Removes a record's index entries (prune). */
int prov_store_del_indexes(prov_env *e, MDB_txn *t, uint64_t seq, const prov_record *decoded);

/* ---- checkpoints and verification (chain.c) ---- */
/* Appends "seq head time signature" to STORE_DIR/checkpoints, signing with
 * STORE_DIR/checkpoint.key (Ed25519, created mode 0600 on first use). */
int prov_checkpoint_append(const char *store_dir, const prov_chain_point *head, uint64_t now_us,
                           ag_error *err);

typedef struct prov_verify_result {
    int ok;
    uint64_t records, first_bad_seq, checkpoints_checked;
    uint64_t anchor_seq, last_seq;
    char problem[512];
    char note[256]; /* not a failure, worth saying (e.g. no checkpoint written yet) */
} prov_verify_result;
int prov_verify(prov_env *e, prov_verify_result *res, ag_error *err);
/* Prunes records whose start time is before before_us, from the oldest, stopping at the first
 * newer one (the chain needs a prefix). */
int prov_prune(prov_env *e, uint64_t before_us, uint64_t *pruned, ag_error *err);

/* ---- queries (query.c) ---- */
typedef struct prov_filter {
    const char *agent, *host_glob, *url_sub, *rule_sub;
    int has_decision;
    prov_decision decision;
    int status; /* 0 = any */
    uint64_t since_us, until_us; /* until 0 = no bound */
    int sanitized_only;
    uint64_t limit; /* 0 = unlimited */
} prov_filter;

typedef enum { PROV_PLAN_TIME, PROV_PLAN_AGENT, PROV_PLAN_HOST } prov_plan;
prov_plan prov_query_plan(const prov_filter *f);
int prov_filter_match(const prov_filter *f, const prov_record *r);

/* Calls fn for each match, newest first; fn returns nonzero to stop. Returns matches visited. */
typedef int (*prov_visit_fn)(void *ctx, const prov_decoded *d);
int prov_query(prov_env *e, const prov_filter *f, int with_report, prov_visit_fn fn, void *ctx,
               uint64_t *visited, ag_error *err);

/* Parses RFC 3339 (2026-11-26T10:00:00Z, fractions, +hh:mm offsets, or a bare date) or a
 * relative age (30s, 30m, 2h, 7d, 2w) into epoch microseconds. */
int prov_parse_time(const char *s, uint64_t now_us, uint64_t *out);

/* ---- output (format.c) ---- */
char *prov_record_json(const prov_decoded *d); /* one line, every field; free() */

#endif
