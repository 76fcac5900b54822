/* allowlists: decisions on a loaded policy. These functions run on the proxy's worker threads
 * for every request: the policy is never written after policy_finish(), so they take no lock,
 * and apart from hashing a presented secret and converting a non-ASCII host name they do not
 * allocate. Order of a decision: global deny, agent deny, agent allow (host and port), else
 * default deny. */
#include "allowlists/policy_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building and lifetime ---- */

static int finish_agent_rules(agent *a)
{
    return ruleset_finish(&a->allow) || ruleset_finish(&a->deny) || ruleset_finish(&a->priv);
}

size_t policy_finish(policy *p, policy_report_fn report, void *ctx)
{
    size_t errors = 0;
    char msg[sizeof((ag_error *)0)->msg];
    int oom = ruleset_finish(&p->global_deny) || ruleset_finish(&p->global_priv) ||
              table_init(&p->agent_index, p->nagents);
    for (size_t i = 0; i < p->nagents && !oom; i++) {
        agent *a = &p->agents[i];
        oom = finish_agent_rules(a);
        if (oom || !strcmp(a->name, "?")) /* unnamed: already reported */
            continue;
        table_slot *existing;
        oom = table_insert(&p->agent_index, a->name, strlen(a->name), (int)i, &existing);
        if (!oom && existing) {
            const agent *first = &p->agents[existing->first];
            snprintf(msg, sizeof msg, "%s: %s: agent %s is already defined at %s (%s)", a->where,
                     a->field, a->name, first->where, first->field);
            report(ctx, msg);
            errors++;
        }
    }
    if (oom) {
        report(ctx, "out of memory while indexing the policy");
        errors++;
    }
    p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    return errors;
}

void policy_free(policy *p)
{
    if (!p)
        return;
    ruleset_free(&p->global_deny);
    ruleset_free(&p->global_priv);
    for (size_t i = 0; i < p->nagents; i++) {
        ruleset_free(&p->agents[i].allow);
        ruleset_free(&p->agents[i].deny);
        ruleset_free(&p->agents[i].priv);
    }
    free(p->agents);
    table_free(&p->agent_index);
    EVP_MD_free(p->sha256);
    free(p);
}

policy *policy_ref(policy *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void policy_unref(policy *p)
{
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        policy_free(p);
}

size_t policy_agent_count(const policy *p) { return p ? p->nagents : 0; }
size_t policy_rule_count(const policy *p) { return p ? p->nrules : 0; }

static const agent *find_agent(const policy *p, const char *name)
{
    if (!p || !name)
        return NULL;
    const table_slot *s = table_find(&p->agent_index, name, strlen(name));
    return s ? &p->agents[s->first] : NULL;
}

int policy_has_agent(const policy *p, const char *agent_name)
{
    return find_agent(p, agent_name) != NULL;
}

/* ---- secrets ---- */

static void sha256(const policy *p, const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    const EVP_MD *md = p && p->sha256 ? p->sha256 : EVP_sha256();
    if (!EVP_Digest(data, len, out, &n, md, NULL) || n != 32)
        memset(out, 0xff, 32); /* matches no stored hash: the caller then refuses */
}

void policy_hash_secret(const char *secret, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[32];
    sha256(NULL, secret, len, d);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

int policy_authenticate(const policy *p, const char *agent_name, const char *secret,
                        size_t secret_len)
{
    /* An unknown agent (or one without a secret, bound to a listener) is compared with this
     * dummy so that the time taken does not tell which agent names exist. */
    static const uint8_t dummy[32] = {
        0x9a, 0x1f, 0x52, 0x33, 0xc4, 0x07, 0x6e, 0xd8, 0x21, 0xb5, 0x4c, 0x90, 0x3d, 0xe2, 0x7a, 0x15,
        0x68, 0xf1, 0x0b, 0x86, 0x2c, 0x5d, 0xa7, 0x39, 0xe4, 0x12, 0x7f, 0xc8, 0x50, 0x9b, 0x03, 0x6d,
    };
    uint8_t digest[32];
    sha256(p, secret ? secret : "", secret ? secret_len : 0, digest);
    const agent *a = find_agent(p, agent_name);
    const uint8_t *want = a && a->has_secret ? a->secret_hash : dummy;
    int equal = CRYPTO_memcmp(digest, want, sizeof digest) == 0;
    return equal && a && a->has_secret;
}

/* ---- matching ---- */

static int port_listed(const rule *r, uint16_t port)
{
    if (r->nports == 0)
        return 1;
    for (size_t i = 0; i < r->nports; i++)
        if (r->ports[i] == port)
            return 1;
    return 0;
}

/* Walks the rules sharing one key (file order); the first whose ports fit wins. */
static const rule *match_chain(const ruleset *rs, const table_slot *s, uint16_t port,
                               int *port_miss)
{
    for (int i = s ? s->first : -1; i >= 0; i = rs->rules[i].next) {
        if (port_listed(&rs->rules[i], port))
            return &rs->rules[i];
        if (port_miss)
            *port_miss = 1;
    }
    return NULL;
}

/* The most specific matching rule: an exact name, then wildcards from the longest suffix to
 * the shortest ("*.a.example.com" before "*.example.com"); for addresses, the longest prefix. */
static const rule *ruleset_match(const ruleset *rs, const host_norm *h, uint16_t port,
                                 int *port_miss)
{
    if (rs->count == 0)
        return NULL;
    const rule *r;
    if (h->kind == HOST_NAME) {
        const char *name = h->name;
        r = match_chain(rs, table_find(&rs->exact, name, strlen(name)), port, port_miss);
        if (r)
            return r;
        if (rs->wildcard.count == 0)
            return NULL;
        for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
            const char *suffix = dot + 1;
            r = match_chain(rs, table_find(&rs->wildcard, suffix, strlen(suffix)), port, port_miss);
            if (r)
                return r;
        }
        return NULL;
    }
    int family = h->kind == HOST_IPV4 ? 4 : 6;
    const uint8_t *prefixes = family == 4 ? rs->v4_prefixes : rs->v6_prefixes;
    size_t n = family == 4 ? rs->n_v4 : rs->n_v6;
    uint8_t key[CIDR_KEY_LEN];
    for (size_t i = 0; i < n; i++) {
        cidr_make_key(key, family, h->addr, prefixes[i]);
        r = match_chain(rs, table_find(&rs->cidr, key, sizeof key), port, port_miss);
        if (r)
            return r;
    }
    return NULL;
}

static void set_decision(policy_decision *d, policy_verdict v, const char *rule_label)
{
    d->verdict = v;
    snprintf(d->rule, sizeof d->rule, "%s", rule_label);
}

int policy_decide(const policy *p, const char *agent_name, const char *host, uint16_t port,
                  policy_decision *d)
{
    memset(d, 0, sizeof *d);
    d->verdict = POLICY_DENY;
    d->tls = POLICY_TLS_MITM;
    d->sanitize = POLICY_SANITIZE_STRICT;
    const agent *a = find_agent(p, agent_name);
    if (!a) {
        /* The name came from the client: it is not echoed into a header-bound reason. */
        snprintf(d->rule, sizeof d->rule, "unknown-agent");
        snprintf(d->reason, sizeof d->reason, "unknown agent");
        return p ? AG_OK : AG_ERR;
    }
    d->sanitize = a->sanitize;
    host_norm h;
    const char *why = "invalid host";
    if (!host || host_normalize(host, strlen(host), &h, &why) != AG_OK) {
        snprintf(d->rule, sizeof d->rule, "invalid-host");
        snprintf(d->reason, sizeof d->reason, "invalid host: %s", why);
        return AG_OK;
    }
    const rule *r = ruleset_match(&p->global_deny, &h, port, NULL);
    if (r) {
        set_decision(d, POLICY_DENY, r->label);
        snprintf(d->reason, sizeof d->reason, "host is on the global deny list");
        return AG_OK;
    }
    d->report_only = a->report_only;
    r = ruleset_match(&a->deny, &h, port, NULL);
    if (r) {
        set_decision(d, POLICY_DENY, r->label);
        snprintf(d->reason, sizeof d->reason, "host denied for agent %s", a->name);
        return AG_OK;
    }
    int port_miss = 0;
    r = ruleset_match(&a->allow, &h, port, &port_miss);
    if (r) {
        d->report_only = 0;
        d->tls = r->tls;
        set_decision(d, POLICY_ALLOW, r->label);
        snprintf(d->reason, sizeof d->reason, "host allowed for agent %s", a->name);
        return AG_OK;
    }
    set_decision(d, POLICY_DENY, "default-deny");
    if (port_miss)
        snprintf(d->reason, sizeof d->reason, "port %u not allowed for this host (agent %s)",
                 (unsigned)port, a->name);
    else
        snprintf(d->reason, sizeof d->reason, "host not in allowlist of agent %s", a->name);
    return AG_OK;
}

int policy_private_allowed(const policy *p, const char *agent_name, const char *host, int family,
                           const uint8_t *addr, policy_decision *d)
{
    if (!p || !addr || (family != 4 && family != 6))
        return 0;
    const agent *a = find_agent(p, agent_name);
    host_norm name, ip;
    const char *why;
    int have_name = host && host_normalize(host, strlen(host), &name, &why) == AG_OK &&
                    name.kind == HOST_NAME;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(ip.addr, 0, sizeof ip.addr);
    if (family == 6 && memcmp(addr, mapped, sizeof mapped) == 0) {
        ip.kind = HOST_IPV4;
        memcpy(ip.addr, addr + 12, 4);
    } else {
        ip.kind = family == 4 ? HOST_IPV4 : HOST_IPV6;
        memcpy(ip.addr, addr, family == 4 ? 4 : 16);
    }
    const ruleset *lists[2] = {&p->global_priv, a ? &a->priv : NULL};
    for (size_t i = 0; i < 2; i++) {
        if (!lists[i])
            continue;
        const rule *r = have_name ? ruleset_match(lists[i], &name, 0, NULL) : NULL;
        if (!r)
            r = ruleset_match(lists[i], &ip, 0, NULL);
        if (r) {
            if (d) {
                snprintf(d->rule, sizeof d->rule, "%s", r->label);
                snprintf(d->reason, sizeof d->reason, "reserved address allowed by a private exception");
            }
            return 1;
        }
    }
    return 0;
}
