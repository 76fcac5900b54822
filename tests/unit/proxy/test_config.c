/* Unit tests for proxy/config: defaults, every section, relative paths, listener syntax, and
 * errors naming file:line:field. */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy/config.h"

static int load(const char *yaml, proxy_config *c, ag_error *err)
{
    proxy_config_defaults(c);
    return proxy_config_load_buffer("cfg.yaml", "/etc/ag", yaml, strlen(yaml), c, err);
}

static void expect_error(const char *yaml, const char *msg)
{
    proxy_config c;
    ag_error err = {{0}};
    cr_assert_eq(load(yaml, &c, &err), AG_ERR, "accepted: %s", yaml);
    cr_assert(strstr(err.msg, msg), "'%s' lacks '%s'", err.msg, msg);
}

Test(config, defaults)
{
    proxy_config c;
    proxy_config_defaults(&c);
    cr_assert_eq(c.nlisteners, 1);
    cr_assert_str_eq(c.listeners[0].address, "127.0.0.1:3128");
    cr_assert_str_eq(c.policy_path, "");
    cr_assert_eq(c.max_header_bytes, 32768);
    cr_assert_eq(c.max_headers, 100);
    cr_assert_eq(c.timeout_shutdown_grace, 10);
    cr_assert_eq(c.nameservers_set, 0);
    cr_assert_str_eq(c.hosts_file, "/etc/hosts");
    cr_assert(c.provenance_enabled);
}

Test(config, full_file)
{
    const char *yaml =
        "listeners:\n"
        "  - address: 127.0.0.1:3128\n"
        "  - address: \"[::1]:3129\"\n"
        "    agent: research-bot\n"
        "policy: ../allowlists/examples\n"
        "data_dir: /var/lib/agentgate\n"
        "workers: 3\n"
        "dns: { nameservers: [127.0.0.53], hosts_file: hosts }\n"
        "limits: { max_header_bytes: 16384, max_headers: 50, max_connections: 20 }\n"
        "timeouts: { header: 5, idle: 6, connect: 7, response: 8, tunnel_idle: 9, shutdown_grace: 2 }\n"
        "tls: { upstream_ca_file: /x/bundle.pem, leaf_cache: 10 }\n"
        "sanitizer: { rules: [extra.rules], max_stream_bytes: 65536 }\n"
        "provenance: { enabled: false, queue: 1024, when_full: drop }\n";
    proxy_config c;
    ag_error err = {{0}};
    cr_assert_eq(load(yaml, &c, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(c.nlisteners, 2);
    cr_assert_str_eq(c.listeners[1].address, "[::1]:3129");
    cr_assert_str_eq(c.listeners[1].agent, "research-bot");
    cr_assert_eq(c.listeners[1].addr.ss_family, AF_INET6);
    cr_assert_str_eq(c.policy_path, "/etc/ag/../allowlists/examples");
    cr_assert_str_eq(c.data_dir, "/var/lib/agentgate");
    cr_assert_eq(c.workers, 3);
    cr_assert(c.nameservers_set);
    cr_assert_eq(c.nnameservers, 1);
    cr_assert_str_eq(c.hosts_file, "/etc/ag/hosts");
    cr_assert_eq(c.max_header_bytes, 16384);
    cr_assert_eq(c.max_connections, 20);
    cr_assert_eq(c.timeout_header, 5);
    cr_assert_eq(c.timeout_tunnel_idle, 9);
    cr_assert_eq(c.timeout_shutdown_grace, 2);
    cr_assert_str_eq(c.tls_upstream_ca_file, "/x/bundle.pem");
    cr_assert_eq(c.tls_leaf_cache, 10);
    cr_assert_str_eq(c.sanitizer_rules[0], "/etc/ag/extra.rules");
    cr_assert_eq(c.provenance_enabled, 0);
    cr_assert_eq(c.provenance_when_full, PROV_WHEN_FULL_DROP);
}

Test(config, empty_nameserver_list_means_none)
{
    proxy_config c;
    ag_error err = {{0}};
    cr_assert_eq(load("dns:\n  nameservers: []\n", &c, &err), AG_OK, "%s", err.msg);
    cr_assert(c.nameservers_set);
    cr_assert_eq(c.nnameservers, 0);
}

Test(config, errors_name_file_line_field)
{
    expect_error("listeners:\n  - address: 127.0.0.1:3128\n    agnt: x\n", "cfg.yaml:3: listeners.agnt: unknown field");
    expect_error("workers: many\n", "cfg.yaml:1: workers: expected a non-negative integer");
    expect_error("\n\nlimits:\n  max_headers: 0\n", "cfg.yaml:4: limits.max_headers: must be between");
    expect_error("timeouts: { header: -1 }\n", "timeouts.header");
    expect_error("provenance: { when_full: maybe }\n", "provenance.when_full: expected block or drop");
    expect_error("listeners:\n  - address: 127.0.0.1\n", "cfg.yaml:2: listeners.address: listen address 127.0.0.1: expected ADDRESS:PORT");
    expect_error("listeners:\n  - address: docs.test:80\n", "is not an IP address");
    expect_error("listeners:\n  - agent: bot\n", "listeners.address: missing");
    expect_error("listeners: []\n", "at least one listener");
    expect_error("bogus: 1\n", "cfg.yaml:1: bogus: unknown field");
    expect_error("policy: [a, b]\n", "policy: expected a scalar");
    expect_error("dns: { nameservers: 1.1.1.1 }\n", "dns.nameservers: expected a list");
    expect_error("key: [unclosed\n", "cfg.yaml:");
}

Test(config, listener_syntax)
{
    proxy_listener_cfg l;
    ag_error err;
    cr_assert_eq(proxy_listener_parse("[::1]:3128=docs-bot", &l, &err), AG_OK, "%s", err.msg);
    cr_assert_str_eq(l.agent, "docs-bot");
    cr_assert_str_eq(l.address, "[::1]:3128");
    cr_assert_eq(proxy_listener_parse("127.0.0.1:70000", &l, &err), AG_ERR);
    cr_assert(strstr(err.msg, "bad port"));
    cr_assert_eq(proxy_listener_parse("127.0.0.1:80=", &l, &err), AG_ERR);
}

Test(config, missing_file)
{
    proxy_config c;
    ag_error err;
    proxy_config_defaults(&c);
    cr_assert_eq(proxy_config_load("/nonexistent/agentgate.yaml", &c, &err), AG_ERR);
    cr_assert(strstr(err.msg, "/nonexistent/agentgate.yaml: cannot open"));
}
