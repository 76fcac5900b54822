/* allowlists: reading policy files. YAML is parsed with libyaml into a node tree (which keeps
 * line numbers), then walked once: every field is type-checked and validated, every problem is
 * reported as "file:line: field: message" and the walk goes on so that `policy check` can list
 * all of them. A directory is every *.yaml / *.yml file in it, sorted by name, merged into one
 * policy. Only a policy without a single error is handed out. */
#include "allowlists/policy_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

typedef enum { LIST_ALLOW, LIST_DENY, LIST_PRIVATE } list_kind;

typedef struct loader {
    const char *file;  /* as given, for error messages */
    const char *base;  /* basename, for rule labels */
    yaml_document_t *doc;
    uint8_t *seen;     /* per node: visited once already (aliases are refused) */
    size_t nnodes;
    policy *p;
    size_t errors;
    policy_report_fn report;
    void *ctx;
} loader;

static void report_error(loader *L, size_t line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report_error(loader *L, size_t line, const char *field, const char *fmt, ...)
{
    char msg[400], line_msg[sizeof((ag_error *)0)->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (field && *field)
        snprintf(line_msg, sizeof line_msg, "%s:%zu: %s: %s", L->file, line, field, msg);
    else
        snprintf(line_msg, sizeof line_msg, "%s:%zu: %s", L->file, line, msg);
    L->errors++;
    if (L->report)
        L->report(L->ctx, line_msg);
}

static size_t node_line(const yaml_node_t *n) { return n ? n->start_mark.line + 1 : 1; }

/* Fetches a node by id and marks it visited; a node reached twice came through an alias,
 * which is refused (aliases make review harder and can multiply a small file's content). */
static yaml_node_t *get_node(loader *L, int id, const char *field, size_t line)
{
    yaml_node_t *n = yaml_document_get_node(L->doc, id);
    if (!n)
        return NULL;
    size_t idx = (size_t)(id - 1);
    if (idx < L->nnodes) {
        if (L->seen[idx]) {
            report_error(L, line, field, "YAML aliases are not supported");
            return NULL;
        }
        L->seen[idx] = 1;
    }
    return n;
}

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static int expect_scalar(loader *L, const yaml_node_t *n, const char *field, const char *what)
{
    if (n->type == YAML_SCALAR_NODE && !is_null(n))
        return 1;
    report_error(L, node_line(n), field, "expected %s, got %s", what,
                 is_null(n) ? "an empty value" : type_name(n));
    return 0;
}

/* Parses a decimal integer with nothing around it; returns 0 on failure. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!*s || strlen(s) > 12)
        return 0;
    unsigned long v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        v = v * 10 + (unsigned long)(*c - '0');
    }
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

/* ---- one host, wildcard or CIDR ---- */

/* What a rule names, before ports and TLS are added. */
typedef struct target {
    rule_kind kind;
    host_norm host;    /* RULE_HOST / RULE_WILDCARD (the suffix) */
    int family;        /* RULE_CIDR */
    uint8_t addr[16];
    unsigned prefix;
} target;

static void format_target(const target *t, char *out, size_t outsz)
{
    if (t->kind == RULE_HOST) {
        snprintf(out, outsz, "%s", t->host.name);
    } else if (t->kind == RULE_WILDCARD) {
        snprintf(out, outsz, "*.%s", t->host.name);
    } else {
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(t->family == 4 ? AF_INET : AF_INET6, t->addr, ip, sizeof ip);
        snprintf(out, outsz, "%s/%u", ip, t->prefix);
    }
}

/* "host" values: a name, "*." + name, or an IP literal (which becomes a full-length CIDR,
 * because IP literals only ever match IP rules). */
static int parse_host_target(const char *text, target *t, const char **why)
{
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '*' && text[1] == '.') {
        if (host_normalize(text + 2, len - 2, &t->host, why) != AG_OK)
            return AG_ERR;
        if (t->host.kind != HOST_NAME) {
            *why = "a wildcard must be followed by a domain name, not an IP address";
            return AG_ERR;
        }
        t->kind = RULE_WILDCARD;
        return AG_OK;
    }
    if (strchr(text, '*')) {
        *why = "'*' is only allowed as a leading \"*.\" (any subdomain)";
        return AG_ERR;
    }
    if (strchr(text, '/')) {
        *why = "a network belongs in a cidr: rule";
        return AG_ERR;
    }
    if (host_normalize(text, len, &t->host, why) != AG_OK)
        return AG_ERR;
    if (t->host.kind == HOST_NAME) {
        t->kind = RULE_HOST;
        return AG_OK;
    }
    t->kind = RULE_CIDR;
    t->family = t->host.kind == HOST_IPV4 ? 4 : 6;
    memcpy(t->addr, t->host.addr, 16);
    t->prefix = t->family == 4 ? 32 : 128;
    return AG_OK;
}

/* "cidr" values: ADDRESS/PREFIX, or a bare address. IPv4-mapped IPv6 networks are turned into
 * IPv4 ones, like addresses. Host bits past the prefix are refused: they usually mean a typo. */
static int parse_cidr_target(const char *text, target *t, const char **why)
{
    const char *slash = strchr(text, '/');
    size_t addr_len = slash ? (size_t)(slash - text) : strlen(text);
    host_norm h;
    if (host_normalize(text, addr_len, &h, why) != AG_OK || h.kind == HOST_NAME) {
        *why = "not an IPv4 or IPv6 network (expected e.g. 10.0.0.0/8 or fd00::/8)";
        return AG_ERR;
    }
    int written_v6 = memchr(text, ':', addr_len) != NULL;
    t->kind = RULE_CIDR;
    t->family = h.kind == HOST_IPV4 ? 4 : 6;
    memcpy(t->addr, h.addr, 16);
    unsigned max = written_v6 ? 128 : 32;
    unsigned long prefix = max;
    if (slash && !parse_uint(slash + 1, max, &prefix)) {
        *why = written_v6 ? "prefix length must be 0..128" : "prefix length must be 0..32";
        return AG_ERR;
    }
    if (written_v6 && t->family == 4) {
        if (prefix < 96) {
            *why = "an IPv4-mapped network needs a prefix of at least 96";
            return AG_ERR;
        }
        prefix -= 96;
    }
    t->prefix = (unsigned)prefix;
    uint8_t key[CIDR_KEY_LEN];
    cidr_make_key(key, t->family, t->addr, t->prefix);
    if (memcmp(key + 2, t->addr, t->family == 4 ? 4 : 16) != 0) {
        *why = "address has bits set past the prefix length";
        return AG_ERR;
    }
    return AG_OK;
}

/* The scalar shorthand: "example.com", "*.example.com:8443", "[::1]:8080", "::1",
 * "10.0.0.0/8". Sets *port (0 when none was written). */
static int parse_shorthand(const char *text, target *t, unsigned *port, const char **why)
{
    char host[4 * POLICY_HOST_MAX + 8];
    *port = 0;
    if (strchr(text, '/'))
        return parse_cidr_target(text, t, why);
    const char *port_text = NULL;
    size_t host_len;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close) {
            *why = "missing ']' after an IPv6 address";
            return AG_ERR;
        }
        host_len = (size_t)(close - text) + 1;
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1]) {
            *why = "unexpected text after ']'";
            return AG_ERR;
        }
    } else {
        const char *colon = strchr(text, ':');
        if (colon && !strchr(colon + 1, ':')) {
            host_len = (size_t)(colon - text);
            port_text = colon + 1;
        } else {
            host_len = strlen(text); /* no colon, or a bare IPv6 address */
        }
    }
    if (host_len >= sizeof host) {
        *why = "host name longer than 253 characters";
        return AG_ERR;
    }
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (port_text) {
        unsigned long v;
        if (!parse_uint(port_text, 65535, &v) || v == 0) {
            *why = "port must be a number from 1 to 65535";
            return AG_ERR;
        }
        *port = (unsigned)v;
    }
    return parse_host_target(host, t, why);
}

/* ---- rules ---- */

static const char *list_name(list_kind k)
{
    return k == LIST_ALLOW ? "allow" : k == LIST_DENY ? "deny" : "private_exceptions";
}

static int add_rule(loader *L, ruleset *rs, const target *t, const uint16_t *ports, size_t nports,
                    policy_tls_mode tls, const char *owner, list_kind kind, size_t index, size_t line)
{
    rule *r = ruleset_add(rs);
    if (!r) {
        report_error(L, line, NULL, "out of memory");
        return AG_ERR;
    }
    r->kind = t->kind;
    if (t->kind != RULE_CIDR) {
        r->host = strdup(t->host.name);
        if (!r->host) {
            report_error(L, line, NULL, "out of memory");
            return AG_ERR;
        }
    } else {
        cidr_make_key(r->cidr_key, t->family, t->addr, t->prefix);
    }
    memcpy(r->ports, ports, nports * sizeof *ports);
    r->nports = nports;
    r->tls = tls;
    char what[POLICY_HOST_MAX + 8];
    format_target(t, what, sizeof what);
    snprintf(r->label, sizeof r->label, "%s%s%s[%zu] %s (%s:%zu)", owner, *owner ? "." : "",
             list_name(kind), index, what, L->base, line);
    /* Labels travel in response headers and log lines: keep them printable ASCII even when a
     * file name is not. */
    for (char *c = r->label; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    L->p->nrules++;
    return AG_OK;
}

/* Reads `ports: [..]` into ports; returns the count, or 0 after reporting an error. */
static size_t parse_ports(loader *L, yaml_node_t *n, const char *field, uint16_t *ports)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        report_error(L, node_line(n), field, "expected a list of ports, got %s", type_name(n));
        return 0;
    }
    size_t count = 0, bad = 0, i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        char item_field[200];
        snprintf(item_field, sizeof item_field, "%s[%zu]", field, i);
        yaml_node_t *pn = get_node(L, *it, item_field, node_line(n));
        if (!pn) {
            bad++;
            continue;
        }
        unsigned long v;
        if (pn->type != YAML_SCALAR_NODE || !parse_uint(scalar(pn), 65535, &v) || v == 0) {
            if (pn->type == YAML_SCALAR_NODE && parse_uint(scalar(pn), 999999999999ul, &v) && v)
                report_error(L, node_line(pn), field, "port %lu out of range", v);
            else
                report_error(L, node_line(pn), field, "port must be a number from 1 to 65535");
            bad++;
            continue;
        }
        if (count == POLICY_MAX_PORTS) {
            report_error(L, node_line(pn), field, "more than %d ports", POLICY_MAX_PORTS);
            return 0;
        }
        ports[count++] = (uint16_t)v;
    }
    if (bad)
        return 0;
    if (count == 0)
        report_error(L, node_line(n), field, "empty list of ports");
    return count;
}

static void parse_rule_mapping(loader *L, yaml_node_t *n, const char *field, ruleset *rs,
                               const char *owner, list_kind kind, size_t index)
{
    target t;
    int have_target = 0, target_ok = 1;
    uint16_t ports[POLICY_MAX_PORTS];
    size_t nports = 0;
    int ports_given = 0, ports_ok = 1;
    policy_tls_mode tls = POLICY_TLS_MITM;
    size_t errors_before = L->errors;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = get_node(L, pr->key, field, node_line(n));
        if (!k)
            continue;
        char sub[220];
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        snprintf(sub, sizeof sub, "%s.%s", field, key);
        yaml_node_t *v = get_node(L, pr->value, sub, node_line(k));
        if (!v)
            continue;
        const char *why = NULL;
        if (!strcmp(key, "host") || !strcmp(key, "cidr")) {
            if (have_target) {
                report_error(L, node_line(k), sub, "a rule names one host or one cidr");
                target_ok = 0;
                continue;
            }
            have_target = 1;
            if (!expect_scalar(L, v, sub, "a string")) {
                target_ok = 0;
                continue;
            }
            int rc = key[0] == 'h' ? parse_host_target(scalar(v), &t, &why)
                                   : parse_cidr_target(scalar(v), &t, &why);
            if (rc != AG_OK) {
                report_error(L, node_line(v), sub, "%s: %s", why, scalar(v));
                target_ok = 0;
            }
        } else if (!strcmp(key, "ports")) {
            ports_given = 1;
            if (kind == LIST_PRIVATE) {
                report_error(L, node_line(k), sub,
                             "private exceptions apply to addresses, not ports");
                ports_ok = 0;
                continue;
            }
            nports = parse_ports(L, v, sub, ports);
            ports_ok = nports > 0;
        } else if (!strcmp(key, "tls")) {
            if (kind != LIST_ALLOW) {
                report_error(L, node_line(k), sub, "tls is only meaningful on allow rules");
                continue;
            }
            if (!expect_scalar(L, v, sub, "mitm or passthrough"))
                continue;
            if (!strcmp(scalar(v), "mitm"))
                tls = POLICY_TLS_MITM;
            else if (!strcmp(scalar(v), "passthrough"))
                tls = POLICY_TLS_PASSTHROUGH;
            else
                report_error(L, node_line(v), sub, "must be mitm or passthrough, not '%s'", scalar(v));
        } else {
            report_error(L, node_line(k), sub, "unknown key (expected host, cidr%s)",
                         kind == LIST_ALLOW ? ", ports, tls" : kind == LIST_DENY ? ", ports" : "");
        }
    }
    if (!have_target) {
        report_error(L, node_line(n), field, "a rule needs a host or a cidr");
        return;
    }
    if (!target_ok || !ports_ok || L->errors != errors_before)
        return;
    if (!ports_given && kind == LIST_ALLOW) {
        ports[0] = 80;
        ports[1] = 443;
        nports = 2;
    }
    add_rule(L, rs, &t, ports, nports, tls, owner, kind, index, node_line(n));
}

static void parse_rule_list(loader *L, yaml_node_t *n, const char *field, ruleset *rs,
                            const char *owner, list_kind kind)
{
    if (is_null(n))
        return;
    if (n->type != YAML_SEQUENCE_NODE) {
        report_error(L, node_line(n), field, "expected a list of rules, got %s", type_name(n));
        return;
    }
    size_t i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s[%zu]", field, i);
        yaml_node_t *rn = get_node(L, *it, sub, node_line(n));
        if (!rn)
            continue;
        if (rn->type == YAML_MAPPING_NODE) {
            parse_rule_mapping(L, rn, sub, rs, owner, kind, i);
            continue;
        }
        if (!expect_scalar(L, rn, sub, "a rule (a host, cidr or mapping)"))
            continue;
        target t;
        unsigned port;
        const char *why;
        if (parse_shorthand(scalar(rn), &t, &port, &why) != AG_OK) {
            report_error(L, node_line(rn), sub, "%s: %s", why, scalar(rn));
            continue;
        }
        if (port && kind == LIST_PRIVATE) {
            report_error(L, node_line(rn), sub, "private exceptions apply to addresses, not ports");
            continue;
        }
        uint16_t ports[2] = {80, 443};
        size_t nports = kind == LIST_ALLOW ? 2 : 0;
        if (port) {
            ports[0] = (uint16_t)port;
            nports = 1;
        }
        add_rule(L, rs, &t, ports, nports, POLICY_TLS_MITM, owner, kind, i, node_line(rn));
    }
}

/* ---- agents ---- */

static int valid_agent_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static agent *new_agent(policy *p)
{
    if (p->nagents == p->cap_agents) {
        size_t cap = p->cap_agents ? p->cap_agents * 2 : 8;
        agent *a = realloc(p->agents, cap * sizeof *a);
        if (!a)
            return NULL;
        p->agents = a;
        p->cap_agents = cap;
    }
    agent *a = &p->agents[p->nagents++];
    memset(a, 0, sizeof *a);
    return a;
}

/* Finds the agent's name first: rule labels carry it, whatever order the keys come in. */
static yaml_node_t *find_key(loader *L, yaml_node_t *map, const char *name)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), name))
            return k;
    }
    return NULL;
}

static void parse_agent(loader *L, yaml_node_t *n, const char *field)
{
    if (n->type != YAML_MAPPING_NODE) {
        report_error(L, node_line(n), field, "expected an agent (a mapping), got %s", type_name(n));
        return;
    }
    agent *a = new_agent(L->p);
    if (!a) {
        report_error(L, node_line(n), field, "out of memory");
        return;
    }
    snprintf(a->where, sizeof a->where, "%s:%zu", L->file, node_line(n));
    snprintf(a->field, sizeof a->field, "%s.name", field);
    if (!find_key(L, n, "name")) {
        report_error(L, node_line(n), field, "agent has no name");
        snprintf(a->name, sizeof a->name, "?");
    }
    char owner[100];
    yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
    size_t npairs = (size_t)(n->data.mapping.pairs.top - pairs);
    /* Two passes: the name (and so the rule labels) first, then everything else. */
    for (int pass = 0; pass < 2; pass++) {
        snprintf(owner, sizeof owner, "agents.%s", a->name);
        for (size_t i = 0; i < npairs; i++) {
            yaml_node_t *k = yaml_document_get_node(L->doc, pairs[i].key);
            yaml_node_t *v = yaml_document_get_node(L->doc, pairs[i].value);
            if (!k || !v)
                continue;
            const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
            if ((pass == 0) != !strcmp(key, "name"))
                continue;
            char sub[200];
            snprintf(sub, sizeof sub, "%s.%s", field, key);
            k = get_node(L, pairs[i].key, field, node_line(k));
            v = k ? get_node(L, pairs[i].value, sub, node_line(k)) : NULL;
            if (!k || !v)
                continue;
            if (!strcmp(key, "name")) {
                if (!expect_scalar(L, v, sub, "a string"))
                    snprintf(a->name, sizeof a->name, "?");
                else if (!valid_agent_name(scalar(v))) {
                    report_error(L, node_line(v), sub,
                                 "agent names are 1 to 64 characters of A-Z a-z 0-9 . _ -");
                    snprintf(a->name, sizeof a->name, "?");
                } else {
                    snprintf(a->name, sizeof a->name, "%s", scalar(v));
                    snprintf(a->where, sizeof a->where, "%s:%zu", L->file, node_line(v));
                }
            } else if (!strcmp(key, "secret_sha256")) {
                if (!expect_scalar(L, v, sub, "64 hex digits"))
                    continue;
                const char *h = scalar(v);
                size_t len = strlen(h), i2;
                for (i2 = 0; i2 < len && hex_value(h[i2]) >= 0; i2++)
                    ;
                if (len != 64 || i2 != len) {
                    report_error(L, node_line(v), sub,
                                 "expected 64 hex digits (SHA-256, see `agentgate policy "
                                 "hash-secret`), got %zu characters%s",
                                 len, i2 != len ? " with non-hex digits" : "");
                    continue;
                }
                for (size_t b = 0; b < 32; b++)
                    a->secret_hash[b] = (uint8_t)(hex_value(h[2 * b]) << 4 | hex_value(h[2 * b + 1]));
                a->has_secret = 1;
            } else if (!strcmp(key, "sanitize")) {
                if (!expect_scalar(L, v, sub, "strict, scripts or off"))
                    continue;
                if (!strcmp(scalar(v), "strict"))
                    a->sanitize = POLICY_SANITIZE_STRICT;
                else if (!strcmp(scalar(v), "scripts"))
                    a->sanitize = POLICY_SANITIZE_SCRIPTS;
                else if (!strcmp(scalar(v), "off"))
                    a->sanitize = POLICY_SANITIZE_OFF;
                else
                    report_error(L, node_line(v), sub, "must be strict, scripts or off, not '%s'",
                                 scalar(v));
            } else if (!strcmp(key, "mode")) {
                if (!expect_scalar(L, v, sub, "enforce or report-only"))
                    continue;
                if (!strcmp(scalar(v), "enforce"))
                    a->report_only = 0;
                else if (!strcmp(scalar(v), "report-only"))
                    a->report_only = 1;
                else
                    report_error(L, node_line(v), sub, "must be enforce or report-only, not '%s'",
                                 scalar(v));
            } else if (!strcmp(key, "allow")) {
                parse_rule_list(L, v, sub, &a->allow, owner, LIST_ALLOW);
            } else if (!strcmp(key, "deny")) {
                parse_rule_list(L, v, sub, &a->deny, owner, LIST_DENY);
            } else if (!strcmp(key, "private_exceptions")) {
                parse_rule_list(L, v, sub, &a->priv, owner, LIST_PRIVATE);
            } else {
                report_error(L, node_line(k), sub,
                             "unknown key (expected name, secret_sha256, sanitize, mode, allow, "
                             "deny, private_exceptions)");
            }
        }
    }
}

/* ---- the document ---- */

/* Reports keys that appear twice in a mapping (libyaml keeps both; the second would silently
 * win in most YAML tools, which hides mistakes in review). */
static void check_duplicate_keys(loader *L, yaml_node_t *map, const char *field)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *a = start; a < top; a++) {
        yaml_node_t *ka = yaml_document_get_node(L->doc, a->key);
        if (!ka || ka->type != YAML_SCALAR_NODE)
            continue;
        for (yaml_node_pair_t *b = start; b < a; b++) {
            yaml_node_t *kb = yaml_document_get_node(L->doc, b->key);
            if (kb && kb->type == YAML_SCALAR_NODE && !strcmp(scalar(ka), scalar(kb))) {
                char sub[220];
                snprintf(sub, sizeof sub, "%s%s%s", field, *field ? "." : "", scalar(ka));
                report_error(L, node_line(ka), sub, "duplicate key (first at line %zu)",
                             node_line(kb));
                break;
            }
        }
    }
}

/* Walks every mapping of the document once for duplicate keys, before the real walk. */
static void check_all_mappings(loader *L)
{
    for (yaml_node_t *n = L->doc->nodes.start; n < L->doc->nodes.top; n++)
        if (n->type == YAML_MAPPING_NODE)
            check_duplicate_keys(L, n, "");
}

static void parse_root(loader *L, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        report_error(L, node_line(root), NULL, "a policy file is a mapping with version, deny, "
                                               "private_exceptions and agents, not %s",
                     type_name(root));
        return;
    }
    int have_version = 0;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = get_node(L, pr->key, "", node_line(root));
        if (!k)
            continue;
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "?";
        yaml_node_t *v = get_node(L, pr->value, key, node_line(k));
        if (!v)
            continue;
        if (!strcmp(key, "version")) {
            have_version = 1;
            if (v->type != YAML_SCALAR_NODE || strcmp(scalar(v), "1") != 0)
                report_error(L, node_line(v), "version", "unsupported version (this agentgate "
                                                         "reads version 1)");
        } else if (!strcmp(key, "deny")) {
            parse_rule_list(L, v, "deny", &L->p->global_deny, "", LIST_DENY);
        } else if (!strcmp(key, "private_exceptions")) {
            parse_rule_list(L, v, "private_exceptions", &L->p->global_priv, "", LIST_PRIVATE);
        } else if (!strcmp(key, "agents")) {
            if (is_null(v))
                continue;
            if (v->type != YAML_SEQUENCE_NODE) {
                report_error(L, node_line(v), "agents", "expected a list of agents, got %s",
                             type_name(v));
                continue;
            }
            size_t i = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++, i++) {
                char sub[40];
                snprintf(sub, sizeof sub, "agents[%zu]", i);
                yaml_node_t *an = get_node(L, *it, sub, node_line(v));
                if (an)
                    parse_agent(L, an, sub);
            }
        } else {
            report_error(L, node_line(k), key,
                         "unknown key (expected version, deny, private_exceptions, agents)");
        }
    }
    if (!have_version)
        report_error(L, node_line(root), "version", "missing (add `version: 1`)");
}

/* Parses one YAML text into p (appending agents and rules). Errors go to report. */
static void load_text(policy *p, const char *file, const char *text, size_t len,
                      policy_report_fn report, void *ctx, size_t *errors)
{
    loader L = {.file = file, .p = p, .report = report, .ctx = ctx};
    const char *slash = strrchr(file, '/');
    L.base = slash && slash[1] ? slash + 1 : file;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        report_error(&L, 1, NULL, "out of memory");
        *errors += L.errors;
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        report_error(&L, parser.problem_mark.line + 1, NULL, "YAML syntax error: %s%s%s",
                     parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
                     parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        *errors += L.errors;
        return;
    }
    L.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        report_error(&L, 1, NULL, "empty policy file (expected at least `version: 1`)");
    } else {
        yaml_document_t extra;
        if (yaml_parser_load(&parser, &extra)) {
            if (yaml_document_get_root_node(&extra))
                report_error(&L, extra.start_mark.line + 1, NULL,
                             "more than one YAML document in a policy file");
            yaml_document_delete(&extra);
        }
        L.nnodes = (size_t)(doc.nodes.top - doc.nodes.start);
        L.seen = calloc(L.nnodes ? L.nnodes : 1, 1);
        if (!L.seen) {
            report_error(&L, 1, NULL, "out of memory");
        } else {
            check_all_mappings(&L);
            L.seen[0] = 1; /* the root, node 1 */
            parse_root(&L, root);
        }
        free(L.seen);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    *errors += L.errors;
}

/* ---- files and directories ---- */

static void report_plain(policy_report_fn report, void *ctx, size_t *errors, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report_plain(policy_report_fn report, void *ctx, size_t *errors, const char *fmt, ...)
{
    char msg[sizeof((ag_error *)0)->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (*errors)++;
    if (report)
        report(ctx, msg);
}

static void load_file(policy *p, const char *path, policy_report_fn report, void *ctx,
                      size_t *errors)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        report_plain(report, ctx, errors, "%s: cannot open: %s", path, strerror(errno));
        return;
    }
    char *buf = malloc(POLICY_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, POLICY_MAX_FILE + 1, f) : 0;
    int read_error = ferror(f);
    fclose(f);
    if (!buf)
        report_plain(report, ctx, errors, "%s: out of memory", path);
    else if (read_error)
        report_plain(report, ctx, errors, "%s: read error", path);
    else if (n > POLICY_MAX_FILE)
        report_plain(report, ctx, errors, "%s: larger than %u MiB", path, POLICY_MAX_FILE >> 20);
    else
        load_text(p, path, buf, n, report, ctx, errors);
    free(buf);
}

static int is_policy_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return 0;
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_dir(policy *p, const char *dir, policy_report_fn report, void *ctx,
                     size_t *errors)
{
    DIR *d = opendir(dir);
    if (!d) {
        report_plain(report, ctx, errors, "%s: cannot open directory: %s", dir, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_policy_name(e->d_name))
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
            cap = ncap;
        }
        if ((names[count] = strdup(e->d_name)) != NULL)
            count++;
    }
    closedir(d);
    if (count == 0)
        report_plain(report, ctx, errors, "%s: no *.yaml or *.yml policy files in the directory",
                     dir);
    if (count > 1)
        qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        size_t dl = strlen(dir);
        snprintf(path, sizeof path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        load_file(p, path, report, ctx, errors);
        free(names[i]);
    }
    free(names);
}

/* ---- entry points ---- */

typedef struct collector {
    ag_error *err;
    policy_error_fn on_error;
    void *ctx;
    size_t max, count;
} collector;

static void collect(void *ctx, const char *message)
{
    collector *c = ctx;
    if (c->count == 0 && c->err)
        snprintf(c->err->msg, sizeof c->err->msg, "%s", message);
    if (c->on_error && c->count < c->max)
        c->on_error(c->ctx, message);
    c->count++;
}

static policy *policy_new(void)
{
    policy *p = calloc(1, sizeof *p);
    if (p)
        atomic_init(&p->refs, 1);
    return p;
}

typedef enum { SOURCE_PATH, SOURCE_BUFFER } source_kind;

static int load_any(source_kind kind, const char *name, const char *text, size_t len,
                    policy **out, ag_error *err, policy_error_fn on_error, void *ctx,
                    size_t max_errors)
{
    *out = NULL;
    collector c = {.err = err, .on_error = on_error, .ctx = ctx, .max = max_errors};
    policy *p = policy_new();
    if (!p)
        return ag_errorf(err, "%s: out of memory", name);
    size_t errors = 0;
    if (kind == SOURCE_BUFFER) {
        load_text(p, name, text, len, collect, &c, &errors);
    } else {
        struct stat st;
        if (stat(name, &st) != 0)
            report_plain(collect, &c, &errors, "%s: %s", name, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            load_dir(p, name, collect, &c, &errors);
        else
            load_file(p, name, collect, &c, &errors);
    }
    errors += policy_finish(p, collect, &c);
    if (errors > 0) {
        if (on_error && c.count > c.max) {
            char more[64];
            snprintf(more, sizeof more, "... %zu more errors", c.count - c.max);
            on_error(ctx, more);
        }
        policy_free(p);
        return AG_ERR;
    }
    *out = p;
    return AG_OK;
}

int policy_load_report(const char *path, policy **out, ag_error *err, policy_error_fn on_error,
                       void *ctx, size_t max_errors)
{
    return load_any(SOURCE_PATH, path, NULL, 0, out, err, on_error, ctx, max_errors);
}

int policy_load(const char *path, policy **out, ag_error *err)
{
    return load_any(SOURCE_PATH, path, NULL, 0, out, err, NULL, NULL, 0);
}

int policy_load_buffer(const char *name, const char *yaml, size_t len, policy **out,
                       ag_error *err)
{
    return load_any(SOURCE_BUFFER, name, yaml, len, out, err, NULL, NULL, 0);
}

extern const char policy_embedded_example[];
extern const size_t policy_embedded_example_len;

int policy_load_embedded(policy **out, ag_error *err)
{
    return policy_load_buffer("<embedded>/agents.yaml", policy_embedded_example,
                              policy_embedded_example_len, out, err);
}
