/* allowlists: the private shape of a loaded policy, shared by the loader (policy_load.c), the
 * matcher (policy.c), host normalisation (policy_host.c) and the lookup tables (policy_table.c).
 * Everything here is built once at load time and only read afterwards, which is what makes the
 * matcher thread-safe without locks. */
#ifndef AG_POLICY_INTERNAL_H
#define AG_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "allowlists/policy.h"

#define POLICY_HOST_MAX 253     /* longest DNS name, without the trailing dot */
#define POLICY_MAX_PORTS 64     /* ports listed on one rule */
#define POLICY_MAX_FILE (16u << 20)

/* ---- host names and IP literals ---- */

typedef enum { HOST_NAME, HOST_IPV4, HOST_IPV6 } host_kind;

typedef struct host_norm {
    host_kind kind;
    char name[POLICY_HOST_MAX + 1]; /* HOST_NAME: lowercase ASCII (punycode), no trailing dot */
    uint8_t addr[16];               /* HOST_IPV4: 4 bytes; HOST_IPV6: 16 bytes (never v4-mapped) */
} host_norm;

/* Normalises a host as written by a client or in a policy: brackets around IPv6 removed,
 * IPv4-mapped IPv6 turned into IPv4, names lowercased, one trailing dot dropped, Unicode names
 * converted to punycode. Returns AG_OK, or AG_ERR with *why set to a static explanation.
 * Allocation-free unless the name contains non-ASCII bytes. */
int host_normalize(const char *in, size_t len, host_norm *out, const char **why);

/* ---- byte-keyed lookup table (open addressing, built once, then read-only) ---- */

typedef struct table_slot {
    uint64_t hash;
    const uint8_t *key; /* NULL: empty slot; points into the owner's storage */
    size_t keylen;
    int first;          /* index of the first rule (or agent) with this key */
    int last;           /* used while building, to append in file order */
} table_slot;

typedef struct table {
    table_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two, at least twice the entries */
    size_t count;
} table;

int table_init(table *t, size_t expected);
void table_free(table *t);
/* Inserts key → value, or returns the existing slot's index through *existing (and does not
 * insert) when the key is present. Returns AG_ERR only when out of memory. */
int table_insert(table *t, const void *key, size_t keylen, int value, table_slot **existing);
const table_slot *table_find(const table *t, const void *key, size_t keylen);

/* ---- rules ---- */

typedef enum { RULE_HOST, RULE_WILDCARD, RULE_CIDR } rule_kind;

#define CIDR_KEY_LEN 18 /* family (4|6), prefix length, 16 address bytes masked to the prefix */

typedef struct rule {
    rule_kind kind;
    char *host;                /* RULE_HOST: the name; RULE_WILDCARD: the suffix after "*." */
    uint8_t cidr_key[CIDR_KEY_LEN];
    uint16_t ports[POLICY_MAX_PORTS];
    size_t nports;             /* 0: any port */
    policy_tls_mode tls;
    int next;                  /* next rule with the same key, in file order; -1 at the end */
    char label[160];           /* "agents.research-bot.allow[2] *.wikipedia.org (agents.yaml:14)" */
} rule;

/* One list of rules (an agent's allow, deny or private_exceptions, or a global list) with its
 * lookup tables: exact names, wildcard suffixes and CIDR networks (keyed per prefix length). */
typedef struct ruleset {
    rule *rules;
    size_t count, cap;
    table exact, wildcard, cidr;
    uint8_t v4_prefixes[33];  /* prefix lengths present, longest first; count in n_v4 */
    uint8_t v6_prefixes[129];
    size_t n_v4, n_v6;
} ruleset;

typedef struct agent {
    char name[65];
    int has_secret;
    uint8_t secret_hash[32];
    policy_sanitize_mode sanitize;
    int report_only;
    ruleset allow, deny, priv;
    char where[300]; /* "file:line" of the name, for duplicate errors */
    char field[48];  /* "agents[3].name", likewise */
} agent;

struct policy {
    atomic_size_t refs;
    ruleset global_deny, global_priv;
    agent *agents;
    size_t nagents, cap_agents;
    table agent_index;
    size_t nrules;
    struct evp_md_st *sha256; /* fetched once: hashing a presented secret needs no lookup */
};

/* Appends a zeroed rule to rs (next = -1); NULL when out of memory. */
rule *ruleset_add(ruleset *rs);
/* Builds rs's lookup tables once all rules are in. */
int ruleset_finish(ruleset *rs);
void ruleset_free(ruleset *rs);
/* Fills cidr_key from an address and prefix length (bits past the prefix cleared). */
void cidr_make_key(uint8_t key[CIDR_KEY_LEN], int family, const uint8_t *addr, unsigned prefix);

/* Finishes a policy assembled by the loader: lookup tables, agent index (a duplicate agent is
 * reported through report with both places). Returns the number of errors found. */
typedef void (*policy_report_fn)(void *ctx, const char *message);
size_t policy_finish(policy *p, policy_report_fn report, void *ctx);
void policy_free(policy *p);

#endif
