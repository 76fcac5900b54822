/* proxy/config: loads the `agentgate run` YAML configuration with libyaml's document API, so
 * every error can name file:line and the field at fault. Unknown fields are errors: a typo in a
 * security setting must never be silently ignored. */
#include "proxy/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void proxy_config_defaults(proxy_config *c)
{
    memset(c, 0, sizeof *c);
    proxy_listener_parse("127.0.0.1:3128", &c->listeners[0], NULL);
    c->nlisteners = 1;
    c->log_exchanges = 1;
    ag_default_data_dir(c->data_dir, sizeof c->data_dir);
    snprintf(c->hosts_file, sizeof c->hosts_file, "/etc/hosts");
    c->max_header_bytes = 32768;
    c->max_headers = 100;
    c->max_connections = 10000;
    c->timeout_header = 10;
    c->timeout_idle = 60;
    c->timeout_connect = 10;
    c->timeout_response = 60;
    c->timeout_tunnel_idle = 300;
    c->timeout_shutdown_grace = 10;
    c->tls_leaf_cache = 1000;
    c->sanitizer_max_stream_bytes = 262144;
    c->provenance_enabled = 1;
    c->provenance_queue = 65536;
    c->provenance_when_full = PROV_WHEN_FULL_BLOCK;
}

int proxy_listener_parse(const char *spec, proxy_listener_cfg *out, ag_error *err)
{
    memset(out, 0, sizeof *out);
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf)
        return ag_errorf(err, "listen address too long: %s", spec);
    char *eq = strchr(buf, '=');
    if (eq) {
        *eq = '\0';
        if (!eq[1] || strlen(eq + 1) >= sizeof out->agent)
            return ag_errorf(err, "listen address %s: empty or too long agent name", spec);
        snprintf(out->agent, sizeof out->agent, "%s", eq + 1);
    }
    snprintf(out->address, sizeof out->address, "%s", buf);
    char host[128];
    const char *portstr;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || close[1] != ':')
            return ag_errorf(err, "listen address %s: expected [IPv6]:PORT", buf);
        *close = '\0';
        snprintf(host, sizeof host, "%s", buf + 1);
        portstr = close + 2;
    } else {
        char *colon = strrchr(buf, ':');
        if (!colon)
            return ag_errorf(err, "listen address %s: expected ADDRESS:PORT", buf);
        *colon = '\0';
        snprintf(host, sizeof host, "%s", buf);
        portstr = colon + 1;
    }
    char *end;
    errno = 0;
    long port = strtol(portstr, &end, 10);
    if (!*portstr || *end || errno || port < 0 || port > 65535)
        return ag_errorf(err, "listen address %s: bad port '%s'", out->address, portstr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->addrlen = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->addrlen = sizeof *v6;
    } else {
        return ag_errorf(err, "listen address %s: '%s' is not an IP address", out->address, host);
    }
    return AG_OK;
}

/* ------------------------------------------------------------------ YAML walking helpers */

typedef struct cfg_ctx {
    yaml_document_t *doc;
    const char *name;
    const char *base_dir;
    proxy_config *c;
    ag_error *err;
    proxy_listener_cfg *listener; /* the listener being read */
} cfg_ctx;

static int node_line(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static int cfg_fail(cfg_ctx *x, const yaml_node_t *n, const char *field, const char *msg)
{
    return ag_errorf(x->err, "%s:%d: %s: %s", x->name, n ? node_line(n) : 0, field, msg);
}

static const char *scalar(cfg_ctx *x, yaml_node_t *n, const char *field)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        cfg_fail(x, n, field, "expected a scalar value");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static int get_string(cfg_ctx *x, yaml_node_t *n, const char *field, char *out, size_t outsz)
{
    const char *v = scalar(x, n, field);
    if (!v)
        return AG_ERR;
    if (strlen(v) >= outsz)
        return cfg_fail(x, n, field, "value too long");
    snprintf(out, outsz, "%s", v);
    return AG_OK;
}

static int get_path(cfg_ctx *x, yaml_node_t *n, const char *field, char *out, size_t outsz)
{
    const char *v = scalar(x, n, field);
    if (!v)
        return AG_ERR;
    if (!*v)
        return cfg_fail(x, n, field, "empty path");
    int len = (v[0] == '/' || !x->base_dir || !*x->base_dir)
                  ? snprintf(out, outsz, "%s", v)
                  : snprintf(out, outsz, "%s/%s", x->base_dir, v);
    if (len < 0 || (size_t)len >= outsz)
        return cfg_fail(x, n, field, "path too long");
    return AG_OK;
}

static int get_size(cfg_ctx *x, yaml_node_t *n, const char *field, size_t min, size_t max,
                    size_t *out)
{
    const char *v = scalar(x, n, field);
    if (!v)
        return AG_ERR;
    char *end;
    errno = 0;
    unsigned long long u = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-')
        return cfg_fail(x, n, field, "expected a non-negative integer");
    if (u < min || u > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be between %zu and %zu", min, max);
        return cfg_fail(x, n, field, msg);
    }
    *out = (size_t)u;
    return AG_OK;
}

static int get_seconds(cfg_ctx *x, yaml_node_t *n, const char *field, unsigned *out)
{
    size_t v = 0;
    if (get_size(x, n, field, 1, 86400, &v) != AG_OK)
        return AG_ERR;
    *out = (unsigned)v;
    return AG_OK;
}

static int get_bool(cfg_ctx *x, yaml_node_t *n, const char *field, int *out)
{
    const char *v = scalar(x, n, field);
    if (!v)
        return AG_ERR;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = 0;
    else
        return cfg_fail(x, n, field, "expected true or false");
    return AG_OK;
}

typedef int (*field_fn)(cfg_ctx *x, const char *key, yaml_node_t *val);

/* Calls fn for every key of a mapping; fn returns 1 for an unknown key. */
static int walk_map(cfg_ctx *x, yaml_node_t *map, const char *field, field_fn fn)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return cfg_fail(x, map, field, "expected a mapping");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE)
            return cfg_fail(x, k, field, "keys must be scalars");
        const char *key = (const char *)k->data.scalar.value;
        int rc = fn(x, key, v);
        if (rc == 1) {
            char f[128];
            snprintf(f, sizeof f, "%s%s%s", field, *field ? "." : "", key);
            return cfg_fail(x, k, f, "unknown field");
        }
        if (rc != AG_OK)
            return AG_ERR;
    }
    return AG_OK;
}

/* ------------------------------------------------------------------ sections */

static int listener_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_listener_cfg *l = x->listener;
    if (!strcmp(key, "address")) {
        const char *s = scalar(x, v, "listeners.address");
        if (!s)
            return AG_ERR;
        char agent[sizeof l->agent];
        memcpy(agent, l->agent, sizeof agent);
        ag_error e;
        if (strchr(s, '=') || proxy_listener_parse(s, l, &e) != AG_OK)
            return cfg_fail(x, v, "listeners.address", strchr(s, '=') ? "unexpected '='" : e.msg);
        memcpy(l->agent, agent, sizeof agent);
        return AG_OK;
    }
    if (!strcmp(key, "agent"))
        return get_string(x, v, "listeners.agent", l->agent, sizeof l->agent);
    return 1;
}

static int load_listeners(cfg_ctx *x, yaml_node_t *seq)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return cfg_fail(x, seq, "listeners", "expected a list");
    proxy_config *c = x->c;
    c->nlisteners = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(x->doc, *it);
        if (c->nlisteners == PROXY_MAX_LISTENERS)
            return cfg_fail(x, item, "listeners", "too many listeners");
        proxy_listener_cfg *l = &c->listeners[c->nlisteners];
        memset(l, 0, sizeof *l);
        x->listener = l;
        int rc = walk_map(x, item, "listeners", listener_field);
        x->listener = NULL;
        if (rc != AG_OK)
            return AG_ERR;
        if (!l->address[0])
            return cfg_fail(x, item, "listeners.address", "missing");
        c->nlisteners++;
    }
    if (c->nlisteners == 0)
        return cfg_fail(x, seq, "listeners", "at least one listener is needed");
    return AG_OK;
}

static int dns_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    if (!strcmp(key, "hosts_file"))
        return get_path(x, v, "dns.hosts_file", c->hosts_file, sizeof c->hosts_file);
    if (!strcmp(key, "nameservers")) {
        if (!v || v->type != YAML_SEQUENCE_NODE)
            return cfg_fail(x, v, "dns.nameservers", "expected a list");
        c->nameservers_set = 1;
        c->nnameservers = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *n = yaml_document_get_node(x->doc, *it);
            if (c->nnameservers == PROXY_MAX_NAMESERVERS)
                return cfg_fail(x, n, "dns.nameservers", "too many nameservers");
            if (get_string(x, n, "dns.nameservers", c->nameservers[c->nnameservers],
                           sizeof c->nameservers[0]) != AG_OK)
                return AG_ERR;
            c->nnameservers++;
        }
        return AG_OK;
    }
    return 1;
}

static int limits_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    if (!strcmp(key, "max_header_bytes"))
        return get_size(x, v, "limits.max_header_bytes", 1024, 1u << 24, &c->max_header_bytes);
    if (!strcmp(key, "max_headers"))
        return get_size(x, v, "limits.max_headers", 1, 10000, &c->max_headers);
    if (!strcmp(key, "max_connections"))
        return get_size(x, v, "limits.max_connections", 1, 10000000, &c->max_connections);
    return 1;
}

static int timeouts_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    static const struct { const char *key; size_t off; } f[] = {
        {"header", offsetof(proxy_config, timeout_header)},
        {"idle", offsetof(proxy_config, timeout_idle)},
        {"connect", offsetof(proxy_config, timeout_connect)},
        {"response", offsetof(proxy_config, timeout_response)},
        {"tunnel_idle", offsetof(proxy_config, timeout_tunnel_idle)},
        {"shutdown_grace", offsetof(proxy_config, timeout_shutdown_grace)},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (strcmp(key, f[i].key))
            continue;
        char field[64];
        snprintf(field, sizeof field, "timeouts.%s", key);
        return get_seconds(x, v, field, (unsigned *)((char *)c + f[i].off));
    }
    return 1;
}

static int tls_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    if (!strcmp(key, "ca_dir"))
        return get_path(x, v, "tls.ca_dir", c->tls_ca_dir, sizeof c->tls_ca_dir);
    if (!strcmp(key, "upstream_ca_file"))
        return get_path(x, v, "tls.upstream_ca_file", c->tls_upstream_ca_file,
                        sizeof c->tls_upstream_ca_file);
    if (!strcmp(key, "leaf_cache"))
        return get_size(x, v, "tls.leaf_cache", 1, 1000000, &c->tls_leaf_cache);
    return 1;
}

static int sanitizer_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    if (!strcmp(key, "max_stream_bytes"))
        return get_size(x, v, "sanitizer.max_stream_bytes", 4096, 1u << 30,
                        &c->sanitizer_max_stream_bytes);
    if (!strcmp(key, "rules")) {
        if (!v || v->type != YAML_SEQUENCE_NODE)
            return cfg_fail(x, v, "sanitizer.rules", "expected a list of files");
        c->nsanitizer_rules = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *n = yaml_document_get_node(x->doc, *it);
            if (c->nsanitizer_rules == PROXY_MAX_RULE_FILES)
                return cfg_fail(x, n, "sanitizer.rules", "too many rule files");
            if (get_path(x, n, "sanitizer.rules", c->sanitizer_rules[c->nsanitizer_rules],
                         PROXY_PATH_MAX) != AG_OK)
                return AG_ERR;
            c->nsanitizer_rules++;
        }
        return AG_OK;
    }
    return 1;
}

static int provenance_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    if (!strcmp(key, "enabled"))
        return get_bool(x, v, "provenance.enabled", &c->provenance_enabled);
    if (!strcmp(key, "queue"))
        return get_size(x, v, "provenance.queue", 16, 1u << 24, &c->provenance_queue);
    if (!strcmp(key, "when_full")) {
        const char *s = scalar(x, v, "provenance.when_full");
        if (!s)
            return AG_ERR;
        if (!strcmp(s, "block"))
            c->provenance_when_full = PROV_WHEN_FULL_BLOCK;
        else if (!strcmp(s, "drop"))
            c->provenance_when_full = PROV_WHEN_FULL_DROP;
        else
            return cfg_fail(x, v, "provenance.when_full", "expected block or drop");
        return AG_OK;
    }
    return 1;
}

static int top_field(cfg_ctx *x, const char *key, yaml_node_t *v)
{
    proxy_config *c = x->c;
    if (!strcmp(key, "listeners"))
        return load_listeners(x, v);
    if (!strcmp(key, "policy"))
        return get_path(x, v, "policy", c->policy_path, sizeof c->policy_path);
    if (!strcmp(key, "data_dir"))
        return get_path(x, v, "data_dir", c->data_dir, sizeof c->data_dir);
    if (!strcmp(key, "workers")) {
        size_t w = 0;
        if (get_size(x, v, "workers", 0, 256, &w) != AG_OK)
            return AG_ERR;
        c->workers = (int)w;
        return AG_OK;
    }
    if (!strcmp(key, "dns"))
        return walk_map(x, v, "dns", dns_field);
    if (!strcmp(key, "limits"))
        return walk_map(x, v, "limits", limits_field);
    if (!strcmp(key, "timeouts"))
        return walk_map(x, v, "timeouts", timeouts_field);
    if (!strcmp(key, "tls"))
        return walk_map(x, v, "tls", tls_field);
    if (!strcmp(key, "sanitizer"))
        return walk_map(x, v, "sanitizer", sanitizer_field);
    if (!strcmp(key, "provenance"))
        return walk_map(x, v, "provenance", provenance_field);
    return 1;
}

int proxy_config_load_buffer(const char *name, const char *base_dir, const char *yaml, size_t len,
                             proxy_config *c, ag_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return ag_errorf(err, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        ag_errorf(err, "%s:%d: %s", name, (int)parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "YAML syntax error");
        yaml_parser_delete(&parser);
        return AG_ERR;
    }
    yaml_parser_delete(&parser);
    int rc = AG_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) { /* an empty file keeps the defaults */
        cfg_ctx x = {&doc, name, base_dir, c, err, NULL};
        rc = walk_map(&x, root, "", top_field);
    }
    yaml_document_delete(&doc);
    return rc;
}

int proxy_config_load(const char *path, proxy_config *c, ag_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ag_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            if (cap >= (1u << 24)) {
                free(buf);
                fclose(f);
                return ag_errorf(err, "%s: file too large", path);
            }
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return ag_errorf(err, "%s: out of memory", path);
    char dir[PROXY_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int rc = proxy_config_load_buffer(path, dir, buf, len, c, err);
    free(buf);
    return rc;
}
