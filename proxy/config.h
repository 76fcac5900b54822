/* proxy/config: the `agentgate run` configuration — YAML file (libyaml), embedded defaults and
 * command-line overrides. Private to the proxy module; errors name file:line:field. */
#ifndef AG_PROXY_CONFIG_H
#define AG_PROXY_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/common.h"

#define PROXY_MAX_LISTENERS 32
#define PROXY_MAX_NAMESERVERS 8
#define PROXY_MAX_RULE_FILES 16
#define PROXY_PATH_MAX 1024

typedef struct proxy_listener_cfg {
    char address[128];  /* as written: "127.0.0.1:3128" or "[::1]:3128" */
    char agent[128];    /* "" when clients must authenticate */
    struct sockaddr_storage addr;
    socklen_t addrlen;
} proxy_listener_cfg;

typedef enum { PROV_WHEN_FULL_BLOCK = 0, PROV_WHEN_FULL_DROP = 1 } proxy_prov_when_full;

typedef struct proxy_config {
    proxy_listener_cfg listeners[PROXY_MAX_LISTENERS];
    size_t nlisteners;
    char policy_path[PROXY_PATH_MAX]; /* "" = the embedded example policy */
    char data_dir[PROXY_PATH_MAX];
    int workers;                      /* 0 = number of cores */
    int log_exchanges;                /* info-level exchange lines (off under --log-level warn) */

    int nameservers_set;              /* 0 = /etc/resolv.conf */
    char nameservers[PROXY_MAX_NAMESERVERS][128];
    size_t nnameservers;
    char hosts_file[PROXY_PATH_MAX];

    size_t max_header_bytes, max_headers, max_connections;
    /* seconds */
    unsigned timeout_header, timeout_idle, timeout_connect, timeout_response,
        timeout_tunnel_idle, timeout_shutdown_grace;

    char tls_ca_dir[PROXY_PATH_MAX];  /* "" = <data_dir>/ca */
    char tls_upstream_ca_file[PROXY_PATH_MAX];
    size_t tls_leaf_cache;

    char sanitizer_rules[PROXY_MAX_RULE_FILES][PROXY_PATH_MAX];
    size_t nsanitizer_rules;
    size_t sanitizer_max_stream_bytes;

    int provenance_enabled;
    size_t provenance_queue;
    proxy_prov_when_full provenance_when_full;
} proxy_config;

/* Embedded defaults: listen 127.0.0.1:3128, embedded policy, default data dir. */
void proxy_config_defaults(proxy_config *c);
/* Reads a YAML config file over the defaults already in c; relative paths resolve against the
 * file's directory. */
int proxy_config_load(const char *path, proxy_config *c, ag_error *err);
/* Same from memory: name is used in messages, base_dir resolves relative paths. */
int proxy_config_load_buffer(const char *name, const char *base_dir, const char *yaml, size_t len,
                             proxy_config *c, ag_error *err);
/* Parses "ADDR:PORT", "[V6]:PORT", optionally followed by "=AGENT" (the --listen syntax). */
int proxy_listener_parse(const char *spec, proxy_listener_cfg *out, ag_error *err);

#endif
