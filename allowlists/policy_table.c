/* allowlists: the lookup structures behind policy_decide(). A policy may hold many thousands of
 * rules, so each rule list is indexed once at load time: exact names and wildcard suffixes in
 * hash tables, CIDR networks in a hash table keyed by (family, prefix length, masked address)
 * plus the list of prefix lengths in use. A decision is then a handful of lookups. */
#include "allowlists/policy_internal.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a: keys come from the policy file, lookups never insert, so flooding is not a concern. */
static uint64_t hash_bytes(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int table_init(table *t, size_t expected)
{
    size_t cap = 8;
    while (cap < expected * 2 + 1)
        cap *= 2;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return AG_ERR;
    t->mask = cap - 1;
    t->count = 0;
    return AG_OK;
}

void table_free(table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
}

int table_insert(table *t, const void *key, size_t keylen, int value, table_slot **existing)
{
    *existing = NULL;
    uint64_t h = hash_bytes(key, keylen);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        table_slot *s = &t->slots[i];
        if (!s->key) {
            if ((t->count + 1) * 2 > t->mask + 1)
                return AG_ERR; /* sized by table_init(); never grows */
            s->hash = h;
            s->key = key;
            s->keylen = keylen;
            s->first = s->last = value;
            t->count++;
            return AG_OK;
        }
        if (s->hash == h && s->keylen == keylen && memcmp(s->key, key, keylen) == 0) {
            *existing = s;
            return AG_OK;
        }
    }
}

const table_slot *table_find(const table *t, const void *key, size_t keylen)
{
    if (!t->slots)
        return NULL;
    uint64_t h = hash_bytes(key, keylen);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const table_slot *s = &t->slots[i];
        if (!s->key)
            return NULL;
        if (s->hash == h && s->keylen == keylen && memcmp(s->key, key, keylen) == 0)
            return s;
    }
}

void cidr_make_key(uint8_t key[CIDR_KEY_LEN], int family, const uint8_t *addr, unsigned prefix)
{
    memset(key, 0, CIDR_KEY_LEN);
    key[0] = (uint8_t)family;
    key[1] = (uint8_t)prefix;
    size_t n = family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; i++) {
        unsigned bits = prefix > i * 8 ? prefix - (unsigned)(i * 8) : 0;
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        key[2 + i] = addr[i] & mask;
    }
}

rule *ruleset_add(ruleset *rs)
{
    if (rs->count == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 4;
        rule *r = realloc(rs->rules, cap * sizeof *r);
        if (!r)
            return NULL;
        rs->rules = r;
        rs->cap = cap;
    }
    rule *r = &rs->rules[rs->count++];
    memset(r, 0, sizeof *r);
    r->next = -1;
    return r;
}

/* Records a prefix length in the "longest first" list if it is not there yet. */
static void note_prefix(uint8_t *list, size_t *n, uint8_t prefix)
{
    size_t i = 0;
    while (i < *n && list[i] > prefix)
        i++;
    if (i < *n && list[i] == prefix)
        return;
    memmove(list + i + 1, list + i, *n - i);
    list[i] = prefix;
    (*n)++;
}

static int index_rule(table *t, rule *rules, int idx, const void *key, size_t keylen)
{
    table_slot *existing;
    if (table_insert(t, key, keylen, idx, &existing) != AG_OK)
        return AG_ERR;
    if (existing) {
        rules[existing->last].next = idx;
        existing->last = idx;
    }
    return AG_OK;
}

int ruleset_finish(ruleset *rs)
{
    if (table_init(&rs->exact, rs->count) || table_init(&rs->wildcard, rs->count) ||
        table_init(&rs->cidr, rs->count))
        return AG_ERR;
    for (size_t i = 0; i < rs->count; i++) {
        rule *r = &rs->rules[i];
        int rc;
        switch (r->kind) {
        case RULE_HOST:
            rc = index_rule(&rs->exact, rs->rules, (int)i, r->host, strlen(r->host));
            break;
        case RULE_WILDCARD:
            rc = index_rule(&rs->wildcard, rs->rules, (int)i, r->host, strlen(r->host));
            break;
        case RULE_CIDR:
            rc = index_rule(&rs->cidr, rs->rules, (int)i, r->cidr_key, CIDR_KEY_LEN);
            if (r->cidr_key[0] == 4)
                note_prefix(rs->v4_prefixes, &rs->n_v4, r->cidr_key[1]);
            else
                note_prefix(rs->v6_prefixes, &rs->n_v6, r->cidr_key[1]);
            break;
        default:
            rc = AG_ERR;
        }
        if (rc != AG_OK)
            return AG_ERR;
    }
    return AG_OK;
}

void ruleset_free(ruleset *rs)
{
    for (size_t i = 0; i < rs->count; i++)
        free(rs->rules[i].host);
    free(rs->rules);
    table_free(&rs->exact);
    table_free(&rs->wildcard);
    table_free(&rs->cidr);
    memset(rs, 0, sizeof *rs);
}
