/* certs: the leaf cache shared by all worker threads — a hash table of normalised host names
 * to server SSL_CTXs, with an LRU list bounding it to `capacity` ready entries. One mutex
 * guards it all (every operation under it is a lookup or a list splice); minting runs outside
 * the lock. A host being minted has an entry in state MINTING, so concurrent requests for it
 * wait on the condition variable instead of minting again. */
#include "certs/certs_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define CACHE_CAPACITY_MAX 1000000
/* A cached leaf is re-minted once it has less than this left, so no connection is ever
 * served a certificate about to expire. */
#define LEAF_REMINT_MARGIN_SECS 86400

typedef enum {
    ENTRY_MINTING, /* in the table, not in the LRU list; its minter will change the state */
    ENTRY_READY,   /* in the table and the LRU list, ctx set */
    ENTRY_FAILED,  /* detached; error holds why; freed by the last waiter */
    ENTRY_DROPPED, /* detached by eviction or expiry while someone still waited on it */
} entry_state;

typedef struct leaf_entry {
    char host[CERTS_HOST_MAX + 1];
    uint64_t hash;
    entry_state state;
    SSL_CTX *ctx;     /* one reference owned by the entry while READY */
    time_t not_after; /* of the leaf */
    unsigned waiters; /* threads blocked on this entry; it is not freed while > 0 */
    ag_error error;
    struct leaf_entry *chain;      /* hash bucket chain */
    struct leaf_entry *prev, *next; /* LRU list, most recent first */
} leaf_entry;

struct leaf_cache {
    const certs_ca *ca; /* borrowed: must outlive the cache */
    size_t capacity;
    pthread_mutex_t mu;
    pthread_cond_t changed; /* broadcast when any MINTING entry leaves that state */
    leaf_entry **buckets;
    size_t nbuckets; /* power of two */
    uint64_t seed;
    leaf_entry *lru_head, *lru_tail;
    size_t ready;
    leaf_cache_stats stats;
};

static uint64_t host_hash(const leaf_cache *c, const char *host)
{
    uint64_t h = 0xcbf29ce484222325u ^ c->seed; /* FNV-1a, keyed so names cannot be chosen to collide */
    for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    return h ^ (h >> 29);
}

leaf_cache *leaf_cache_new(certs_ca *ca, size_t capacity, ag_error *err)
{
    if (!ca) {
        ag_errorf(err, "leaf cache: no CA");
        return NULL;
    }
    if (capacity == 0 || capacity > CACHE_CAPACITY_MAX) {
        ag_errorf(err, "leaf cache capacity %zu: must be between 1 and %d", capacity,
                  CACHE_CAPACITY_MAX);
        return NULL;
    }
    leaf_cache *c = calloc(1, sizeof *c);
    if (!c)
        goto oom;
    c->ca = ca;
    c->capacity = capacity;
    c->nbuckets = 16;
    while (c->nbuckets < capacity * 2)
        c->nbuckets *= 2;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets)
        goto oom;
    if (RAND_bytes((unsigned char *)&c->seed, sizeof c->seed) != 1)
        c->seed = ag_monotonic_us();
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->changed, NULL);
    return c;
oom:
    if (c)
        free(c->buckets);
    free(c);
    ag_errorf(err, "leaf cache: out of memory for %zu entries", capacity);
    return NULL;
}

static leaf_entry *table_find(leaf_cache *c, const char *host, uint64_t hash)
{
    for (leaf_entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->chain)
        if (e->hash == hash && !strcmp(e->host, host))
            return e;
    return NULL;
}

static void table_insert(leaf_cache *c, leaf_entry *e)
{
    leaf_entry **b = &c->buckets[e->hash & (c->nbuckets - 1)];
    e->chain = *b;
    *b = e;
}

static void table_remove(leaf_cache *c, leaf_entry *e)
{
    for (leaf_entry **p = &c->buckets[e->hash & (c->nbuckets - 1)]; *p; p = &(*p)->chain) {
        if (*p == e) {
            *p = e->chain;
            e->chain = NULL;
            return;
        }
    }
}

static void lru_unlink(leaf_cache *c, leaf_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(leaf_cache *c, leaf_entry *e)
{
    e->prev = NULL;
    e->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

/* Takes a READY entry out of the cache; it is freed now unless someone still waits on it. */
static void drop_ready(leaf_cache *c, leaf_entry *e)
{
    table_remove(c, e);
    lru_unlink(c, e);
    c->ready--;
    SSL_CTX_free(e->ctx);
    e->ctx = NULL;
    e->state = ENTRY_DROPPED;
    if (e->waiters == 0)
        free(e);
}

static void evict_to_capacity(leaf_cache *c)
{
    while (c->ready > c->capacity && c->lru_tail) {
        drop_ready(c, c->lru_tail);
        c->stats.evictions++;
    }
}

static SSL_CTX *take_ready(leaf_cache *c, leaf_entry *e)
{
    lru_unlink(c, e);
    lru_push_front(c, e);
    SSL_CTX_up_ref(e->ctx);
    return e->ctx;
}

/* Mints outside the lock; e is MINTING, so nobody else touches it meanwhile. */
static SSL_CTX *mint_entry(leaf_cache *c, leaf_entry *e, ag_error *err)
{
    pthread_mutex_unlock(&c->mu);
    uint64_t t0 = ag_monotonic_us();
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    SSL_CTX *ctx = NULL;
    time_t not_after = 0;
    if (certs_leaf_mint(c->ca, e->host, NULL, &cert, &key, &e->error) == AG_OK &&
        certs_asn1_time_to_epoch(X509_get0_notAfter(cert), &not_after) == AG_OK)
        ctx = certs_leaf_server_ctx(c->ca, cert, key, &e->error);
    X509_free(cert);
    EVP_PKEY_free(key);
    uint64_t took = ag_monotonic_us() - t0;
    pthread_mutex_lock(&c->mu);

    SSL_CTX *result = NULL;
    if (ctx) {
        e->state = ENTRY_READY;
        e->ctx = ctx;
        e->not_after = not_after;
        c->stats.mints++;
        c->ready++;
        lru_push_front(c, e);
        result = take_ready(c, e);
        evict_to_capacity(c);
        ag_log(AG_LOG_DEBUG, "leaf_minted", "host=%s us=%llu", e->host,
               (unsigned long long)took);
    } else {
        e->state = ENTRY_FAILED;
        table_remove(c, e);
        if (err)
            *err = e->error;
        ag_log(AG_LOG_WARN, "leaf_mint_failed", "host=%s", e->host);
        if (e->waiters == 0)
            free(e);
    }
    pthread_cond_broadcast(&c->changed);
    return result;
}

typedef enum { WAIT_GOT_CTX, WAIT_FAILED, WAIT_RETRY } wait_outcome;

/* Waits for another thread's mint of e to finish and takes its result. */
static wait_outcome wait_for_mint(leaf_cache *c, leaf_entry *e, SSL_CTX **out, ag_error *err)
{
    e->waiters++;
    while (e->state == ENTRY_MINTING)
        pthread_cond_wait(&c->changed, &c->mu);
    e->waiters--;
    wait_outcome outcome;
    switch (e->state) {
    case ENTRY_READY:
        *out = take_ready(c, e);
        return WAIT_GOT_CTX;
    case ENTRY_FAILED:
        if (err)
            *err = e->error;
        outcome = WAIT_FAILED;
        break;
    case ENTRY_DROPPED:
    case ENTRY_MINTING:
    default:
        outcome = WAIT_RETRY;
        break;
    }
    if (e->waiters == 0) /* detached (failed or dropped) and we were the last to look at it */
        free(e);
    return outcome;
}

SSL_CTX *leaf_cache_get_ctx(leaf_cache *c, const char *host, ag_error *err)
{
    char name[CERTS_HOST_MAX + 1];
    if (certs_host_normalize(host, name, sizeof name, NULL, err) != AG_OK)
        return NULL;
    uint64_t hash = host_hash(c, name);
    SSL_CTX *result = NULL;
    int settled = 0; /* a result or an error was produced (else every retry was dropped) */
    pthread_mutex_lock(&c->mu);
    for (int attempt = 0; attempt < 8 && !settled; attempt++) {
        leaf_entry *e = table_find(c, name, hash);
        if (e && e->state == ENTRY_READY &&
            time(NULL) + LEAF_REMINT_MARGIN_SECS >= e->not_after) {
            drop_ready(c, e); /* expiring: mint a fresh one below */
            e = NULL;
        }
        if (e && e->state == ENTRY_READY) {
            if (attempt == 0) /* each request counts once: as a hit or as a miss */
                c->stats.hits++;
            result = take_ready(c, e);
            settled = 1;
            break;
        }
        if (attempt == 0)
            c->stats.misses++;
        if (e) { /* MINTING by another thread */
            settled = wait_for_mint(c, e, &result, err) != WAIT_RETRY;
            continue;
        }
        settled = 1;
        e = calloc(1, sizeof *e);
        if (!e) {
            ag_errorf(err, "leaf for %s: out of memory", name);
            break;
        }
        memcpy(e->host, name, strlen(name) + 1);
        e->hash = hash;
        e->state = ENTRY_MINTING;
        table_insert(c, e);
        result = mint_entry(c, e, err);
        break;
    }
    if (!settled)
        ag_errorf(err, "leaf for %s: evicted repeatedly while waiting; cache too small", name);
    pthread_mutex_unlock(&c->mu);
    return result;
}

void leaf_cache_get_stats(leaf_cache *c, leaf_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    out->size = c->ready;
    pthread_mutex_unlock(&c->mu);
}

void leaf_cache_free(leaf_cache *c)
{
    if (!c)
        return;
    /* Callers stop every worker first, so no entry is MINTING and nobody waits. */
    while (c->lru_head)
        drop_ready(c, c->lru_head);
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (leaf_entry *e = c->buckets[i], *next; e; e = next) {
            next = e->chain;
            free(e);
        }
    }
    free(c->buckets);
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
