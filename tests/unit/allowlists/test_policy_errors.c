/* Unit tests for policy validation: every error the loader reports, each checked for the
 * file:line, the field path and the message, plus collecting several errors at once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allowlists/policy.h"

#define MAX_ERRS 64

static char dir[64];
static char errs[MAX_ERRS][512];
static size_t nerrs;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ag-policy-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    nerrs = 0;
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(policy_errors, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void collect(void *ctx, const char *msg)
{
    (void)ctx;
    if (nerrs < MAX_ERRS)
        snprintf(errs[nerrs++], sizeof errs[0], "%s", msg);
}

/* Loads dir/name (or dir itself when name is NULL) and returns the number of errors. */
static size_t load(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", dir, name ? "/" : "", name ? name : "");
    policy *p = NULL;
    ag_error err = {{0}};
    nerrs = 0;
    int rc = policy_load_report(path, &p, &err, collect, NULL, MAX_ERRS);
    if (rc == AG_OK) {
        cr_assert_not_null(p);
        cr_assert_eq(nerrs, 0);
        policy_unref(p);
        return 0;
    }
    cr_assert_null(p);
    cr_assert(nerrs > 0, "failed without reporting an error");
    cr_assert_str_eq(err.msg, errs[0], "ag_error holds the first error");
    return nerrs;
}

/* Asserts that one reported error is exactly "<dir>/<file>:<rest>". */
static void expect_error(const char *file, const char *rest)
{
    char want[512];
    snprintf(want, sizeof want, "%s/%s:%s", dir, file, rest);
    for (size_t i = 0; i < nerrs; i++)
        if (!strcmp(errs[i], want))
            return;
    char all[4096] = "";
    for (size_t i = 0; i < nerrs; i++) {
        strncat(all, errs[i], sizeof all - strlen(all) - 2);
        strncat(all, "\n", sizeof all - strlen(all) - 1);
    }
    cr_assert_fail("missing error\n  %s\ngot:\n%s", want, all);
}

/* One file, one expected error. */
static void check_one(const char *yaml, const char *rest)
{
    write_file("t.yaml", yaml);
    size_t n = load("t.yaml");
    cr_assert(n >= 1, "no error for:\n%s", yaml);
    expect_error("t.yaml", rest);
}

#define AGENT_HEAD "version: 1\nagents:\n  - name: bot\n"

Test(policy_errors, valid_file_loads)
{
    write_file("t.yaml", AGENT_HEAD "    allow:\n      - example.com\n");
    cr_assert_eq(load("t.yaml"), 0);
}

Test(policy_errors, yaml_syntax)
{
    check_one("version: 1\nagents:\n  - name: bot\n    allow: [a.com\n",
              "5: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence");
}

Test(policy_errors, empty_file)
{
    check_one("# nothing\n", "1: empty policy file (expected at least `version: 1`)");
}

Test(policy_errors, root_not_mapping)
{
    check_one("- a\n- b\n", "1: a policy file is a mapping with version, deny, private_exceptions "
                            "and agents, not a list");
}

Test(policy_errors, two_documents)
{
    check_one("version: 1\n---\nversion: 1\n", "2: more than one YAML document in a policy file");
}

Test(policy_errors, version_missing_or_wrong)
{
    check_one("agents: []\n", "1: version: missing (add `version: 1`)");
    check_one("version: 2\n", "1: version: unsupported version (this agentgate reads version 1)");
    check_one("version: [1]\n", "1: version: unsupported version (this agentgate reads version 1)");
}

Test(policy_errors, unknown_top_level_key)
{
    check_one("version: 1\nagent: []\n",
              "2: agent: unknown key (expected version, deny, private_exceptions, agents)");
}

Test(policy_errors, duplicate_key)
{
    check_one("version: 1\ndeny: []\ndeny: []\n", "3: deny: duplicate key (first at line 2)");
    check_one(AGENT_HEAD "    allow: []\n    allow: []\n",
              "5: allow: duplicate key (first at line 4)");
}

Test(policy_errors, aliases_refused)
{
    check_one("version: 1\ndeny: &d\n  - a.com\nprivate_exceptions: *d\n",
              "4: private_exceptions: YAML aliases are not supported");
}

Test(policy_errors, lists_of_wrong_type)
{
    check_one("version: 1\ndeny: a.com\n", "2: deny: expected a list of rules, got a scalar");
    check_one("version: 1\nagents: {a: 1}\n", "2: agents: expected a list of agents, got a mapping");
    check_one("version: 1\nagents:\n  - bot\n",
              "3: agents[0]: expected an agent (a mapping), got a scalar");
    check_one(AGENT_HEAD "    allow:\n      - [a.com]\n",
              "5: agents[0].allow[0]: expected a rule (a host, cidr or mapping), got a list");
    check_one(AGENT_HEAD "    allow:\n      - \n",
              "5: agents[0].allow[0]: expected a rule (a host, cidr or mapping), got an empty value");
}

Test(policy_errors, rule_keys)
{
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        port: 80\n",
              "6: agents[0].allow[0].port: unknown key (expected host, cidr, ports, tls)");
    check_one(AGENT_HEAD "    deny:\n      - host: a.com\n        tls: mitm\n",
              "6: agents[0].deny[0].tls: tls is only meaningful on allow rules");
    check_one(AGENT_HEAD "    allow:\n      - ports: [80]\n",
              "5: agents[0].allow[0]: a rule needs a host or a cidr");
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        cidr: 10.0.0.0/8\n",
              "6: agents[0].allow[0].cidr: a rule names one host or one cidr");
    check_one(AGENT_HEAD "    allow:\n      - host:\n",
              "5: agents[0].allow[0].host: expected a string, got an empty value");
    check_one("version: 1\nprivate_exceptions:\n  - host: a.com\n    sanitize: off\n",
              "4: private_exceptions[0].sanitize: unknown key (expected host, cidr)");
    check_one("version: 1\ndeny:\n  - host: a.com\n    colour: red\n",
              "4: deny[0].colour: unknown key (expected host, cidr, ports)");
}

Test(policy_errors, bad_hosts)
{
    check_one(AGENT_HEAD "    allow:\n      - host: \"a b.com\"\n",
              "5: agents[0].allow[0].host: invalid character in host name: a b.com");
    check_one(AGENT_HEAD "    allow:\n      - host: \"a.*.com\"\n",
              "5: agents[0].allow[0].host: '*' is only allowed as a leading \"*.\" (any subdomain): "
              "a.*.com");
    check_one(AGENT_HEAD "    allow:\n      - host: \"*.10.0.0.1\"\n",
              "5: agents[0].allow[0].host: a wildcard must be followed by a domain name, not an IP "
              "address: *.10.0.0.1");
    check_one(AGENT_HEAD "    allow:\n      - host: 10.0.0.0/8\n",
              "5: agents[0].allow[0].host: a network belongs in a cidr: rule: 10.0.0.0/8");
    check_one(AGENT_HEAD "    allow:\n      - host: a..com\n",
              "5: agents[0].allow[0].host: empty label in host name: a..com");
    check_one(AGENT_HEAD "    allow:\n      - host: 127.1\n",
              "5: agents[0].allow[0].host: numeric host that is not a dotted-quad IPv4 address: "
              "127.1");
    check_one(AGENT_HEAD "    allow:\n      - host: 0x7f000001\n",
              "5: agents[0].allow[0].host: numeric host that is not a dotted-quad IPv4 address: "
              "0x7f000001");
    check_one(AGENT_HEAD "    allow:\n      - host: \"fe80::1%eth0\"\n",
              "5: agents[0].allow[0].host: invalid IP address: fe80::1%eth0");
    check_one(AGENT_HEAD "    allow:\n      - host: \"[a.com]\"\n",
              "5: agents[0].allow[0].host: brackets hold no IPv6 address: [a.com]");
    check_one(AGENT_HEAD "    allow:\n      - host: \"xn--a\xe2\x80\x8b.com\"\n",
              "5: agents[0].allow[0].host: host name is not a valid internationalized domain "
              "name: xn--a\xe2\x80\x8b.com");
}

Test(policy_errors, host_lengths)
{
    char yaml[1024], label[80], name[400];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(yaml, sizeof yaml, AGENT_HEAD "    allow:\n      - host: %s.com\n", label);
    char want[600];
    snprintf(want, sizeof want, "5: agents[0].allow[0].host: host name label longer than 63 "
                                "characters: %s.com", label);
    check_one(yaml, want);
    name[0] = '\0';
    for (int i = 0; i < 6; i++)
        strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."); /* 6 x 45 = 270 */
    strcat(name, "com");
    snprintf(yaml, sizeof yaml, AGENT_HEAD "    allow:\n      - %s\n", name);
    snprintf(want, sizeof want,
             "5: agents[0].allow[0]: host name longer than 253 characters: %s", name);
    check_one(yaml, want);
}

Test(policy_errors, bad_cidrs)
{
    check_one("version: 1\ndeny:\n  - cidr: example.com/8\n",
              "3: deny[0].cidr: not an IPv4 or IPv6 network (expected e.g. 10.0.0.0/8 or fd00::/8): "
              "example.com/8");
    check_one("version: 1\ndeny:\n  - cidr: 10.0.0.0/33\n",
              "3: deny[0].cidr: prefix length must be 0..32: 10.0.0.0/33");
    check_one("version: 1\ndeny:\n  - cidr: fd00::/129\n",
              "3: deny[0].cidr: prefix length must be 0..128: fd00::/129");
    check_one("version: 1\ndeny:\n  - cidr: 10.0.0.0/x\n",
              "3: deny[0].cidr: prefix length must be 0..32: 10.0.0.0/x");
    check_one("version: 1\ndeny:\n  - cidr: 10.0.0.1/8\n",
              "3: deny[0].cidr: address has bits set past the prefix length: 10.0.0.1/8");
    check_one("version: 1\ndeny:\n  - cidr: \"::ffff:10.0.0.0/64\"\n",
              "3: deny[0].cidr: an IPv4-mapped network needs a prefix of at least 96: "
              "::ffff:10.0.0.0/64");
    check_one("version: 1\ndeny:\n  - 10.0.0.0/40\n",
              "3: deny[0]: prefix length must be 0..32: 10.0.0.0/40");
}

Test(policy_errors, bad_ports)
{
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        ports: [80, 70000]\n",
              "6: agents[0].allow[0].ports: port 70000 out of range");
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        ports: [0]\n",
              "6: agents[0].allow[0].ports: port must be a number from 1 to 65535");
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        ports: [http]\n",
              "6: agents[0].allow[0].ports: port must be a number from 1 to 65535");
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        ports: 80\n",
              "6: agents[0].allow[0].ports: expected a list of ports, got a scalar");
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        ports: []\n",
              "6: agents[0].allow[0].ports: empty list of ports");
    char yaml[2048] = AGENT_HEAD "    allow:\n      - host: a.com\n        ports: [";
    for (int i = 1; i <= 65; i++)
        snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), "%s%d", i > 1 ? ", " : "", i);
    strcat(yaml, "]\n");
    check_one(yaml, "6: agents[0].allow[0].ports: more than 64 ports");
    check_one(AGENT_HEAD "    allow:\n      - a.com:99999\n",
              "5: agents[0].allow[0]: port must be a number from 1 to 65535: a.com:99999");
    check_one(AGENT_HEAD "    allow:\n      - \"a.com:\"\n",
              "5: agents[0].allow[0]: port must be a number from 1 to 65535: a.com:");
}

Test(policy_errors, bad_shorthand_brackets)
{
    check_one(AGENT_HEAD "    allow:\n      - \"[::1:8080\"\n",
              "5: agents[0].allow[0]: missing ']' after an IPv6 address: [::1:8080");
    check_one(AGENT_HEAD "    allow:\n      - \"[::1]x\"\n",
              "5: agents[0].allow[0]: unexpected text after ']': [::1]x");
}

Test(policy_errors, bad_tls)
{
    check_one(AGENT_HEAD "    allow:\n      - host: a.com\n        tls: sideways\n",
              "6: agents[0].allow[0].tls: must be mitm or passthrough, not 'sideways'");
}

Test(policy_errors, ports_on_private_exceptions)
{
    check_one("version: 1\nprivate_exceptions:\n  - host: a.test\n    ports: [80]\n",
              "4: private_exceptions[0].ports: private exceptions apply to addresses, not ports");
    check_one(AGENT_HEAD "    private_exceptions:\n      - a.test:80\n",
              "5: agents[0].private_exceptions[0]: private exceptions apply to addresses, not ports");
}

Test(policy_errors, agent_names)
{
    check_one("version: 1\nagents:\n  - allow: []\n", "3: agents[0]: agent has no name");
    check_one("version: 1\nagents:\n  - name: \"\"\n",
              "3: agents[0].name: agent names are 1 to 64 characters of A-Z a-z 0-9 . _ -");
    check_one("version: 1\nagents:\n  - name: \"bad bot\"\n",
              "3: agents[0].name: agent names are 1 to 64 characters of A-Z a-z 0-9 . _ -");
    check_one("version: 1\nagents:\n  - name: "
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
              "3: agents[0].name: agent names are 1 to 64 characters of A-Z a-z 0-9 . _ -");
    check_one("version: 1\nagents:\n  - name: [bot]\n",
              "3: agents[0].name: expected a string, got a list");
}

Test(policy_errors, duplicate_agent_in_one_file)
{
    write_file("t.yaml", "version: 1\nagents:\n  - name: bot\n  - name: other\n  - name: bot\n");
    cr_assert_eq(load("t.yaml"), 1);
    char want[512];
    snprintf(want, sizeof want, "%s/t.yaml:5: agents[2].name: agent bot is already defined at "
                                "%s/t.yaml:3 (agents[0].name)", dir, dir);
    cr_assert_str_eq(errs[0], want);
}

Test(policy_errors, secret_hash)
{
    check_one(AGENT_HEAD "    secret_sha256: abc\n",
              "4: agents[0].secret_sha256: expected 64 hex digits (SHA-256, see `agentgate policy "
              "hash-secret`), got 3 characters");
    check_one(AGENT_HEAD "    secret_sha256: "
                         "zz784c46325f7ba22e788a0aefc9d6a6d8c29d9496abcdec6956287b368eed64\n",
              "4: agents[0].secret_sha256: expected 64 hex digits (SHA-256, see `agentgate policy "
              "hash-secret`), got 64 characters with non-hex digits");
    check_one(AGENT_HEAD "    secret_sha256:\n",
              "4: agents[0].secret_sha256: expected 64 hex digits, got an empty value");
}

Test(policy_errors, sanitize_and_mode)
{
    check_one(AGENT_HEAD "    sanitize: loud\n",
              "4: agents[0].sanitize: must be strict, scripts or off, not 'loud'");
    check_one(AGENT_HEAD "    mode: audit\n",
              "4: agents[0].mode: must be enforce or report-only, not 'audit'");
    check_one(AGENT_HEAD "    mode: {a: 1}\n",
              "4: agents[0].mode: expected enforce or report-only, got a mapping");
}

Test(policy_errors, unknown_agent_key)
{
    check_one(AGENT_HEAD "    allowed: []\n",
              "4: agents[0].allowed: unknown key (expected name, secret_sha256, sanitize, mode, "
              "allow, deny, private_exceptions)");
}

Test(policy_errors, every_error_is_reported)
{
    write_file("t.yaml", "version: 1\n"
                         "deny:\n"
                         "  - cidr: 10.0.0.1/8\n"
                         "agents:\n"
                         "  - name: bot\n"
                         "    sanitize: loud\n"
                         "    allow:\n"
                         "      - host: a.com\n"
                         "        ports: [70000]\n"
                         "      - b.com:0\n"
                         "  - name: bot\n");
    cr_assert_eq(load("t.yaml"), 5);
    expect_error("t.yaml", "3: deny[0].cidr: address has bits set past the prefix length: 10.0.0.1/8");
    expect_error("t.yaml", "6: agents[0].sanitize: must be strict, scripts or off, not 'loud'");
    expect_error("t.yaml", "9: agents[0].allow[0].ports: port 70000 out of range");
    expect_error("t.yaml", "10: agents[0].allow[1]: port must be a number from 1 to 65535: b.com:0");
    char want[512];
    snprintf(want, sizeof want, "11: agents[1].name: agent bot is already defined at %s/t.yaml:5 "
                                "(agents[0].name)", dir);
    expect_error("t.yaml", want);
}

Test(policy_errors, error_cap_adds_a_summary_line)
{
    char yaml[4096] = "version: 1\ndeny:\n";
    for (int i = 0; i < 10; i++)
        strcat(yaml, "  - cidr: 10.0.0.1/8\n");
    write_file("t.yaml", yaml);
    char path[256];
    snprintf(path, sizeof path, "%s/t.yaml", dir);
    policy *p;
    ag_error err;
    nerrs = 0;
    cr_assert_eq(policy_load_report(path, &p, &err, collect, NULL, 3), AG_ERR);
    cr_assert_eq(nerrs, 4);
    cr_assert_str_eq(errs[3], "... 7 more errors");
}

Test(policy_errors, directory_duplicate_agent_names_both_files)
{
    write_file("10-a.yaml", "version: 1\nagents:\n  - name: bot\n");
    write_file("20-b.yml", "version: 1\nagents:\n  - name: other\n  - name: bot\n");
    cr_assert_eq(load(NULL), 1);
    char want[512];
    snprintf(want, sizeof want, "%s/20-b.yml:4: agents[1].name: agent bot is already defined at "
                                "%s/10-a.yaml:3 (agents[0].name)", dir, dir);
    cr_assert_str_eq(errs[0], want);
}

Test(policy_errors, directory_errors_name_their_file)
{
    write_file("a.yaml", "version: 1\n");
    write_file("b.yaml", "version: 1\ndeny:\n  - host: \"a b\"\n");
    cr_assert_eq(load(NULL), 1);
    expect_error("b.yaml", "3: deny[0].host: invalid character in host name: a b");
}

Test(policy_errors, empty_directory_and_missing_path)
{
    write_file("README.txt", "not a policy\n");
    cr_assert_eq(load(NULL), 1);
    char want[512];
    snprintf(want, sizeof want, "%s: no *.yaml or *.yml policy files in the directory", dir);
    cr_assert_str_eq(errs[0], want);
    cr_assert_eq(load("missing.yaml"), 1);
    snprintf(want, sizeof want, "%s/missing.yaml: No such file or directory", dir);
    cr_assert_str_eq(errs[0], want);
}

Test(policy_errors, buffer_reports_first_error)
{
    policy *p = (policy *)1;
    ag_error err;
    const char *yaml = "version: 1\ndeny:\n  - cidr: 10.0.0.1/8\n  - cidr: 10.0.0.1/8\n";
    cr_assert_eq(policy_load_buffer("inline.yaml", yaml, strlen(yaml), &p, &err), AG_ERR);
    cr_assert_null(p);
    cr_assert_str_eq(err.msg, "inline.yaml:3: deny[0].cidr: address has bits set past the prefix "
                              "length: 10.0.0.1/8");
}
