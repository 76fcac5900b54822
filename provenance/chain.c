/* provenance: tamper evidence. Each record's hash is SHA-256(previous hash || be64 seq ||
 * canonical bytes); the head is periodically signed with Ed25519 into an append-only text file
 * outside LMDB, so edits, deletions and reordering break the chain and truncation or a
 * rewritten tail no longer matches a signed head. Also retention (prune) with an anchor. */
#include "provenance/prov_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_FILE "checkpoints"
#define CHECKPOINT_KEY "checkpoint.key"
#define SIG_LEN 64

int prov_hasher_init(prov_hasher *h, ag_error *err)
{
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx) {
        prov_hasher_free(h);
        return ag_errorf(err, "provenance: SHA-256 is not available from OpenSSL");
    }
    return AG_OK;
}

void prov_hasher_free(prov_hasher *h)
{
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    h->ctx = NULL;
    h->md = NULL;
}

int prov_chain_hash(prov_hasher *h, const uint8_t prev[PROV_HASH_LEN], uint64_t seq,
                    const uint8_t *canonical, size_t len, uint8_t out[PROV_HASH_LEN])
{
    uint8_t seqb[8];
    unsigned int n = 0;
    prov_be64_put(seqb, seq);
    if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
        EVP_DigestUpdate(h->ctx, prev, PROV_HASH_LEN) != 1 ||
        EVP_DigestUpdate(h->ctx, seqb, 8) != 1 || EVP_DigestUpdate(h->ctx, canonical, len) != 1 ||
        EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != PROV_HASH_LEN)
        return AG_ERR;
    return AG_OK;
}

void prov_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int prov_unhex(const char *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(in[2 * i]), lo = hi < 0 ? -1 : hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return AG_ERR;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return in[2 * n] == '\0' || in[2 * n] == ' ' || in[2 * n] == '\n' ? AG_OK : AG_ERR;
}

/* ---- checkpoint key and lines ---- */

static EVP_PKEY *load_key(const char *path, ag_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ag_errorf(err, "%s: cannot open checkpoint key: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        ag_errorf(err, "%s: not an Ed25519 private key", path);
        return NULL;
    }
    return k;
}

static EVP_PKEY *load_or_create_key(const char *store_dir, ag_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", store_dir, CHECKPOINT_KEY);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return load_key(path, err);
        ag_errorf(err, "%s: cannot create checkpoint key: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f = fdopen(fd, "w");
    int ok = k && f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    if (f)
        ok = (fflush(f) == 0 && fsync(fd) == 0 && ok);
    if (f)
        fclose(f);
    else
        close(fd);
    if (!ok) {
        EVP_PKEY_free(k);
        unlink(path);
        ag_errorf(err, "%s: cannot write checkpoint key", path);
        return NULL;
    }
    return k;
}

/* The signed message: the line without its signature. */
static int checkpoint_message(char *out, size_t outsz, uint64_t seq, const char *head_hex,
                              uint64_t time_us)
{
    return snprintf(out, outsz, "agentgate-provenance-checkpoint v1 %llu %s %llu",
                    (unsigned long long)seq, head_hex, (unsigned long long)time_us);
}

int prov_checkpoint_append(const char *store_dir, const prov_chain_point *head, uint64_t now_us,
                           ag_error *err)
{
    EVP_PKEY *key = load_or_create_key(store_dir, err);
    if (!key)
        return AG_ERR;
    char head_hex[2 * PROV_HASH_LEN + 1], msg[256], sig_hex[2 * SIG_LEN + 1], line[512];
    uint8_t sig[SIG_LEN];
    size_t sig_len = sizeof sig;
    prov_hex(head->hash, PROV_HASH_LEN, head_hex);
    int mlen = checkpoint_message(msg, sizeof msg, head->seq, head_hex, now_us);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m && EVP_DigestSignInit(m, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(m, sig, &sig_len, (const uint8_t *)msg, (size_t)mlen) == 1 &&
             sig_len == SIG_LEN;
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(key);
    if (!ok)
        return ag_errorf(err, "%s: Ed25519 signing failed", store_dir);
    prov_hex(sig, SIG_LEN, sig_hex);
    int n = snprintf(line, sizeof line, "%llu %s %llu %s\n", (unsigned long long)head->seq,
                     head_hex, (unsigned long long)now_us, sig_hex);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", store_dir, CHECKPOINT_FILE);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return ag_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    ssize_t w = write(fd, line, (size_t)n);
    int rc = (w == n && fsync(fd) == 0) ? AG_OK : AG_ERR;
    close(fd);
    if (rc != AG_OK)
        return ag_errorf(err, "%s: cannot append checkpoint: %s", path, strerror(errno));
    return AG_OK;
}

typedef struct checkpoint {
    uint64_t seq, time_us;
    uint8_t head[PROV_HASH_LEN];
} checkpoint;

/* Parses and verifies one line; AG_ERR with the reason in why. */
static int checkpoint_parse(EVP_PKEY *key, const char *line, checkpoint *cp, char *why,
                            size_t whysz)
{
    unsigned long long seq, t;
    char head_hex[2 * PROV_HASH_LEN + 2], sig_hex[2 * SIG_LEN + 2], msg[256];
    uint8_t sig[SIG_LEN];
    if (sscanf(line, "%llu %65s %llu %129s", &seq, head_hex, &t, sig_hex) != 4 ||
        strlen(head_hex) != 2 * PROV_HASH_LEN || strlen(sig_hex) != 2 * SIG_LEN ||
        prov_unhex(head_hex, cp->head, PROV_HASH_LEN) != AG_OK ||
        prov_unhex(sig_hex, sig, SIG_LEN) != AG_OK) {
        snprintf(why, whysz, "malformed line");
        return AG_ERR;
    }
    cp->seq = seq;
    cp->time_us = t;
    int mlen = checkpoint_message(msg, sizeof msg, seq, head_hex, t);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m && EVP_DigestVerifyInit(m, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(m, sig, SIG_LEN, (const uint8_t *)msg, (size_t)mlen) == 1;
    EVP_MD_CTX_free(m);
    if (!ok) {
        snprintf(why, whysz, "bad signature");
        return AG_ERR;
    }
    return AG_OK;
}

/* ---- verification ---- */

static int fail(prov_verify_result *res, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(prov_verify_result *res, uint64_t seq, const char *fmt, ...)
{
    if (!res->ok)
        return AG_OK; /* keep the first problem */
    res->ok = 0;
    res->first_bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->problem, sizeof res->problem, fmt, ap);
    va_end(ap);
    return AG_OK;
}

static int walk_chain(prov_env *e, MDB_txn *t, prov_verify_result *res, ag_error *err)
{
    prov_chain_point anchor;
    prov_meta_get_point(e, t, "anchor", &anchor);
    res->anchor_seq = anchor.seq;
    uint8_t prev[PROV_HASH_LEN], h[PROV_HASH_LEN];
    memcpy(prev, anchor.hash, PROV_HASH_LEN);
    uint64_t expect = anchor.seq + 1;
    prov_hasher hs;
    if (prov_hasher_init(&hs, err) != AG_OK)
        return AG_ERR;
    MDB_cursor *c;
    mdb_cursor_open(t, e->records, &c);
    MDB_val k, v;
    prov_decoded d = {0};
    ag_error derr;
    res->last_seq = anchor.seq;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && res->ok;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq = k.mv_size == 8 ? prov_be64_get(k.mv_data) : 0;
        if (k.mv_size != 8)
            fail(res, expect, "a record key is not a sequence number (%zu bytes)", k.mv_size);
        else if (seq < expect)
            fail(res, seq, "record %llu is at or before the anchor %llu",
                 (unsigned long long)seq, (unsigned long long)anchor.seq);
        else if (seq > expect)
            fail(res, expect, "record %llu is missing (the next record is %llu)",
                 (unsigned long long)expect, (unsigned long long)seq);
        else if (prov_record_decode(seq, v.mv_data, v.mv_size, 1, &d, &derr) != AG_OK)
            fail(res, seq, "%s", derr.msg);
        else if (prov_chain_hash(&hs, prev, seq, v.mv_data, d.canonical_len, h) != AG_OK ||
                 memcmp(h, d.hash, PROV_HASH_LEN) != 0)
            fail(res, seq, "record %llu does not match its hash (edited, replaced or reordered)",
                 (unsigned long long)seq);
        if (!res->ok)
            break;
        memcpy(prev, h, PROV_HASH_LEN);
        res->last_seq = seq;
        res->records++;
        expect = seq + 1;
    }
    mdb_cursor_close(c);
    prov_decoded_free(&d);
    prov_hasher_free(&hs);
    if (!res->ok)
        return AG_OK;
    prov_chain_point head;
    prov_meta_get_point(e, t, "head", &head);
    if (head.seq > res->last_seq)
        fail(res, res->last_seq + 1, "the store ends at record %llu but its head is %llu "
             "(records were removed from the end)", (unsigned long long)res->last_seq,
             (unsigned long long)head.seq);
    else if (head.seq < res->last_seq)
        fail(res, head.seq + 1, "records after the head %llu were added outside the writer",
             (unsigned long long)head.seq);
    else if (memcmp(head.hash, prev, PROV_HASH_LEN) != 0)
        fail(res, head.seq, "the head hash does not match record %llu",
             (unsigned long long)head.seq);
    return AG_OK;
}

/* The hash stored with record seq (or the anchor's); AG_ERR when absent. */
static int stored_hash(prov_env *e, MDB_txn *t, uint64_t seq, uint64_t anchor_seq,
                       uint8_t out[PROV_HASH_LEN])
{
    if (seq == anchor_seq) {
        prov_chain_point a;
        prov_meta_get_point(e, t, "anchor", &a);
        memcpy(out, a.hash, PROV_HASH_LEN);
        return AG_OK;
    }
    uint8_t kb[8];
    prov_be64_put(kb, seq);
    MDB_val k = {8, kb}, v;
    if (mdb_get(t, e->records, &k, &v) != 0 || v.mv_size < PROV_HASH_LEN)
        return AG_ERR;
    memcpy(out, (const uint8_t *)v.mv_data + v.mv_size - PROV_HASH_LEN, PROV_HASH_LEN);
    return AG_OK;
}

static int check_checkpoints(prov_env *e, MDB_txn *t, prov_verify_result *res, ag_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", e->dir, CHECKPOINT_FILE);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (res->last_seq > 0)
            snprintf(res->note, sizeof res->note, "no signed checkpoint yet (%s)", path);
        return AG_OK;
    }
    snprintf(path, sizeof path, "%s/%s", e->dir, CHECKPOINT_KEY);
    EVP_PKEY *key = load_key(path, err);
    if (!key) {
        fclose(f);
        fail(res, res->anchor_seq + 1, "%s", err->msg);
        return AG_OK;
    }
    char line[512], why[64];
    uint64_t lineno = 0, last_good = res->anchor_seq;
    checkpoint cp;
    while (res->ok && fgets(line, sizeof line, f)) {
        lineno++;
        if (checkpoint_parse(key, line, &cp, why, sizeof why) != AG_OK) {
            fail(res, last_good + 1, "%s/%s line %llu: %s", e->dir, CHECKPOINT_FILE,
                 (unsigned long long)lineno, why);
            break;
        }
        res->checkpoints_checked++;
        uint8_t h[PROV_HASH_LEN];
        if (cp.seq < res->anchor_seq)
            continue; /* pruned */
        if (cp.seq > res->last_seq)
            fail(res, res->last_seq + 1, "checkpoint line %llu signs record %llu but the store "
                 "ends at %llu (truncated)", (unsigned long long)lineno,
                 (unsigned long long)cp.seq, (unsigned long long)res->last_seq);
        else if (stored_hash(e, t, cp.seq, res->anchor_seq, h) != AG_OK ||
                 memcmp(h, cp.head, PROV_HASH_LEN) != 0)
            fail(res, last_good + 1, "checkpoint line %llu: record %llu does not match the signed "
                 "head (history after record %llu was rewritten)", (unsigned long long)lineno,
                 (unsigned long long)cp.seq, (unsigned long long)last_good);
        else
            last_good = cp.seq;
    }
    EVP_PKEY_free(key);
    fclose(f);
    return AG_OK;
}

int prov_verify(prov_env *e, prov_verify_result *res, ag_error *err)
{
    memset(res, 0, sizeof *res);
    res->ok = 1;
    MDB_txn *t;
    if (prov_txn_begin(e, MDB_RDONLY, &t, err) != AG_OK)
        return AG_ERR;
    int rc = walk_chain(e, t, res, err);
    if (rc == AG_OK)
        rc = check_checkpoints(e, t, res, err);
    mdb_txn_abort(t);
    return rc;
}

/* ---- retention ---- */

#define PRUNE_CHUNK 10000

/* One transaction: prunes up to PRUNE_CHUNK records. *done=1 when nothing older remains. */
static int prune_chunk(prov_env *e, uint64_t before_us, uint64_t *pruned, int *done, int *mdb_rc,
                       ag_error *err)
{
    MDB_txn *t;
    if (prov_txn_begin(e, 0, &t, err) != AG_OK)
        return AG_ERR;
    MDB_cursor *c;
    mdb_cursor_open(t, e->records, &c);
    MDB_val k, v;
    prov_decoded d = {0};
    prov_chain_point anchor = {0};
    prov_meta_get_point(e, t, "anchor", &anchor);
    uint64_t n = 0;
    int rc = 0;
    *done = 1;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
        if (n == PRUNE_CHUNK) {
            *done = 0;
            break;
        }
        uint64_t seq = prov_be64_get(k.mv_data);
        if (prov_record_decode(seq, v.mv_data, v.mv_size, 0, &d, err) != AG_OK) {
            rc = -1;
            break;
        }
        if (d.rec.start_us >= before_us)
            break;
        anchor.seq = seq;
        memcpy(anchor.hash, d.hash, PROV_HASH_LEN);
        if ((rc = prov_store_del_indexes(e, t, seq, &d.rec)) != 0 ||
            (rc = mdb_cursor_del(c, 0)) != 0)
            break;
        n++;
    }
    mdb_cursor_close(c);
    prov_decoded_free(&d);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && n > 0)
        rc = prov_meta_put_point(e, t, "anchor", &anchor);
    if (rc == 0 && n > 0)
        rc = prov_gen_forget_upto(e, t, anchor.seq);
    if (rc == 0)
        rc = mdb_txn_commit(t);
    else
        mdb_txn_abort(t);
    *mdb_rc = rc;
    if (rc == -1)
        return AG_ERR;
    if (rc != 0)
        return ag_errorf(err, "%s: prune failed: %s", e->dir, mdb_strerror(rc));
    *pruned += n;
    return AG_OK;
}

int prov_prune(prov_env *e, uint64_t before_us, uint64_t *pruned, ag_error *err)
{
    *pruned = 0;
    for (int done = 0; !done;) {
        int mdb_rc = 0;
        if (prune_chunk(e, before_us, pruned, &done, &mdb_rc, err) == AG_OK)
            continue;
        if (mdb_rc != MDB_MAP_FULL || prov_env_grow(e, err) != AG_OK)
            return AG_ERR;
        done = 0;
    }
    int rc = mdb_env_sync(e->env, 1);
    if (rc != 0)
        return ag_errorf(err, "%s: sync after prune failed: %s", e->dir, mdb_strerror(rc));
    return AG_OK;
}
