/* proxy/proxy_main: `agentgate run` — reads the configuration (file, then command-line
 * overrides) and runs the server until SIGTERM/SIGINT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/config.h"
#include "proxy/proxy.h"
#include "proxy/server.h"

static const char run_usage[] =
    "usage: agentgate run [--config FILE] [--listen ADDR[=AGENT]]... [--policy PATH]\n"
    "                     [--data-dir DIR] [--workers N] [--log-level LEVEL]\n"
    "\n"
    "Runs the forward proxy. Without --config: listens on 127.0.0.1:3128 with the embedded\n"
    "example policy. Options override the configuration file:\n"
    "  --config FILE          YAML configuration (keys below)\n"
    "  --listen ADDR[=AGENT]  listen on ADDR (127.0.0.1:3128, [::1]:3128); with =AGENT the\n"
    "                         listener is bound to that agent and asks for no credentials.\n"
    "                         Repeatable; replaces the configured listeners.\n"
    "  --policy PATH          policy file or directory of *.yaml files\n"
    "  --data-dir DIR         data directory (CA, provenance store)\n"
    "  --workers N            worker threads (0 = number of cores)\n"
    "  --log-level LEVEL      debug, info, warn or error (default info)\n"
    "\n"
    "Configuration file (YAML; relative paths are relative to the file; errors name file:line):\n"
    "  listeners: [{address: 127.0.0.1:3128, agent: NAME}]   agent optional\n"
    "  policy: FILE|DIR            data_dir: DIR              workers: 0\n"
    "  dns: {nameservers: [IP...], hosts_file: /etc/hosts}   no nameservers key: resolv.conf\n"
    "  limits: {max_header_bytes: 32768, max_headers: 100, max_connections: 10000}\n"
    "  timeouts: {header: 10, idle: 60, connect: 10, response: 60, tunnel_idle: 300,\n"
    "             shutdown_grace: 10}                        seconds\n"
    "  tls: {ca_dir: DATA_DIR/ca, upstream_ca_file: FILE, leaf_cache: 1000}\n"
    "  sanitizer: {rules: [FILE...], max_stream_bytes: 262144}\n"
    "  provenance: {enabled: true, queue: 65536, when_full: block|drop}\n"
    "\n"
    "Signals: SIGHUP reloads the policy (a broken policy keeps the old one); SIGTERM/SIGINT stop\n"
    "accepting and let exchanges in flight finish for timeouts.shutdown_grace seconds.\n"
    "Beyond limits.max_connections new connections are accepted, answered 503 and closed.\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "agentgate run: %s%s%s\n\n%s", msg, arg ? ": " : "", arg ? arg : "", run_usage);
    return 2;
}

int proxy_main(int argc, char **argv)
{
    const char *config_path = NULL, *policy_path = NULL, *data_dir = NULL, *workers = NULL;
    const char *level = NULL;
    const char *listens[PROXY_MAX_LISTENERS];
    size_t nlistens = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(run_usage, stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--config")      ? &config_path
                            : !strcmp(a, "--policy")    ? &policy_path
                            : !strcmp(a, "--data-dir")  ? &data_dir
                            : !strcmp(a, "--workers")   ? &workers
                            : !strcmp(a, "--log-level") ? &level
                            : !strcmp(a, "--listen")    ? (nlistens < PROXY_MAX_LISTENERS ? &listens[nlistens] : NULL)
                                                        : NULL;
        if (!slot)
            return usage_error(!strcmp(a, "--listen") ? "too many --listen options" : "unknown option", a);
        if (i + 1 >= argc)
            return usage_error("missing value for", a);
        *slot = argv[++i];
        if (!strcmp(a, "--listen"))
            nlistens++;
    }
    proxy_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 1;
    proxy_config_defaults(cfg);
    ag_error err = {{0}};
    int rc = 2;
    if (level) {
        if (!strcmp(level, "debug"))
            ag_log_set_level(AG_LOG_DEBUG);
        else if (!strcmp(level, "info"))
            ag_log_set_level(AG_LOG_INFO);
        else if (!strcmp(level, "warn"))
            ag_log_set_level(AG_LOG_WARN);
        else if (!strcmp(level, "error"))
            ag_log_set_level(AG_LOG_ERROR);
        else {
            rc = usage_error("--log-level must be debug, info, warn or error", level);
            goto out;
        }
    }
    if (config_path && proxy_config_load(config_path, cfg, &err) != AG_OK) {
        fprintf(stderr, "agentgate run: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (nlistens) {
        cfg->nlisteners = nlistens;
        for (size_t i = 0; i < nlistens; i++) {
            if (proxy_listener_parse(listens[i], &cfg->listeners[i], &err) != AG_OK) {
                rc = usage_error(err.msg, "--listen");
                goto out;
            }
        }
    }
    if (policy_path)
        snprintf(cfg->policy_path, sizeof cfg->policy_path, "%s", policy_path);
    if (data_dir)
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", data_dir);
    if (workers) {
        char *end;
        long n = strtol(workers, &end, 10);
        if (!*workers || *end || n < 0 || n > 256) {
            rc = usage_error("--workers must be between 0 and 256", workers);
            goto out;
        }
        cfg->workers = (int)n;
    }
    cfg->log_exchanges = !level || !strcmp(level, "debug") || !strcmp(level, "info");
    if (proxy_server_run(cfg, &err) != AG_OK) {
        char q[600];
        ag_log(AG_LOG_ERROR, "fatal", "error=%s", ag_log_quote(q, sizeof q, err.msg));
        fprintf(stderr, "agentgate run: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    free(cfg);
    return rc;
}
