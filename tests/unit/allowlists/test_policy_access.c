/* Unit tests for the rest of the policy surface: secret hashing and authentication, private
 * address exceptions, merging a directory of files, and the embedded example policy. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allowlists/policy.h"

static policy *load_text(const char *yaml)
{
    policy *p = NULL;
    ag_error err;
    cr_assert_eq(policy_load_buffer("t.yaml", yaml, strlen(yaml), &p, &err), AG_OK, "%s", err.msg);
    return p;
}

Test(policy_secret, hash_is_sha256_hex)
{
    char hex[65];
    policy_hash_secret("abc", 3, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    policy_hash_secret("research-bot-secret", 19, hex);
    cr_expect_str_eq(hex, "99784c46325f7ba22e788a0aefc9d6a6d8c29d9496abcdec6956287b368eed64");
}

static const char auth_yaml[] =
    "version: 1\n"
    "agents:\n"
    "  - name: research-bot\n"
    "    secret_sha256: 99784C46325F7BA22E788A0AEFC9D6A6D8C29D9496ABCDEC6956287B368EED64\n"
    "  - name: bound-bot\n";

Test(policy_secret, authenticate)
{
    policy *p = load_text(auth_yaml);
    cr_expect_eq(policy_authenticate(p, "research-bot", "research-bot-secret", 19), 1);
    cr_expect_eq(policy_authenticate(p, "research-bot", "research-bot-secreT", 19), 0);
    cr_expect_eq(policy_authenticate(p, "research-bot", "research-bot-secret", 18), 0);
    cr_expect_eq(policy_authenticate(p, "research-bot", "research-bot-secret\n", 20), 0);
    cr_expect_eq(policy_authenticate(p, "research-bot", "", 0), 0);
    cr_expect_eq(policy_authenticate(p, "research-bot", NULL, 0), 0);
    cr_expect_eq(policy_authenticate(p, "nobody", "research-bot-secret", 19), 0);
    cr_expect_eq(policy_authenticate(p, NULL, "research-bot-secret", 19), 0);
    /* an agent without a secret can only be reached through a bound listener */
    cr_expect_eq(policy_authenticate(p, "bound-bot", "", 0), 0);
    cr_expect_eq(policy_authenticate(p, "bound-bot", "anything", 8), 0);
    /* a secret may hold any byte, including NUL */
    char hex[65];
    policy_hash_secret("a\0b", 3, hex);
    char yaml[256];
    snprintf(yaml, sizeof yaml, "version: 1\nagents:\n  - name: nul\n    secret_sha256: %s\n", hex);
    policy *q = load_text(yaml);
    cr_expect_eq(policy_authenticate(q, "nul", "a\0b", 3), 1);
    cr_expect_eq(policy_authenticate(q, "nul", "a", 1), 0);
    policy_unref(q);
    policy_unref(p);
}

static const char private_yaml[] =
    "version: 1\n"
    "private_exceptions:\n"
    "  - host: intranet.test\n"
    "  - cidr: 10.1.2.0/24\n"
    "  - \"*.lab.test\"\n"
    "agents:\n"
    "  - name: docs-bot\n"
    "    private_exceptions:\n"
    "      - host: docs.test\n"
    "      - cidr: fd00:1::/32\n"
    "      - 127.0.0.1\n"
    "  - name: other-bot\n";

static int priv(policy *p, const char *agent, const char *host, const char *ip, policy_decision *d)
{
    uint8_t addr[16];
    if (strchr(ip, ':')) {
        cr_assert_eq(inet_pton(AF_INET6, ip, addr), 1);
        return policy_private_allowed(p, agent, host, 6, addr, d);
    }
    cr_assert_eq(inet_pton(AF_INET, ip, addr), 1);
    return policy_private_allowed(p, agent, host, 4, addr, d);
}

Test(policy_private, global_exceptions_apply_to_every_agent)
{
    policy *p = load_text(private_yaml);
    policy_decision d;
    memset(&d, 0, sizeof d);
    cr_expect_eq(priv(p, "other-bot", "intranet.test", "192.168.7.7", &d), 1);
    cr_expect_str_eq(d.rule, "private_exceptions[0] intranet.test (t.yaml:3)");
    cr_expect_eq(priv(p, "docs-bot", "INTRANET.test.", "127.0.0.1", NULL), 1);
    cr_expect_eq(priv(p, "other-bot", "anything.example", "10.1.2.200", &d), 1);
    cr_expect_str_eq(d.rule, "private_exceptions[1] 10.1.2.0/24 (t.yaml:4)");
    cr_expect_eq(priv(p, "other-bot", "anything.example", "::ffff:10.1.2.3", NULL), 1);
    cr_expect_eq(priv(p, "other-bot", "anything.example", "10.1.3.1", NULL), 0);
    cr_expect_eq(priv(p, "other-bot", "a.lab.test", "10.9.9.9", NULL), 1);
    cr_expect_eq(priv(p, "other-bot", "lab.test", "10.9.9.9", NULL), 0);
    /* an unknown agent still gets the global exceptions, and nothing else */
    cr_expect_eq(priv(p, "ghost", "intranet.test", "10.0.0.1", NULL), 1);
    cr_expect_eq(priv(p, "ghost", "docs.test", "10.0.0.1", NULL), 0);
    policy_unref(p);
}

Test(policy_private, agent_exceptions_apply_to_that_agent_only)
{
    policy *p = load_text(private_yaml);
    policy_decision d;
    cr_expect_eq(priv(p, "docs-bot", "docs.test", "127.0.0.1", &d), 1);
    cr_expect_str_eq(d.rule, "agents.docs-bot.private_exceptions[0] docs.test (t.yaml:9)");
    cr_expect_eq(priv(p, "other-bot", "docs.test", "127.0.0.1", NULL), 0);
    cr_expect_eq(priv(p, "docs-bot", "x.docs.test", "10.0.0.1", NULL), 0);
    cr_expect_eq(priv(p, "docs-bot", "v6.test", "fd00:1:ffff::1", &d), 1);
    cr_expect_str_eq(d.rule, "agents.docs-bot.private_exceptions[1] fd00:1::/32 (t.yaml:10)");
    cr_expect_eq(priv(p, "docs-bot", "v6.test", "fd00:2::1", NULL), 0);
    cr_expect_eq(priv(p, "docs-bot", "some.name", "127.0.0.1", &d), 1);
    cr_expect_str_eq(d.rule, "agents.docs-bot.private_exceptions[2] 127.0.0.1/32 (t.yaml:11)");
    cr_expect_eq(priv(p, "docs-bot", "some.name", "127.0.0.2", NULL), 0);
    cr_expect_eq(priv(p, "docs-bot", NULL, "127.0.0.1", NULL), 1);
    cr_expect_eq(priv(p, "docs-bot", NULL, "127.0.0.2", NULL), 0);
    /* an IP literal host is matched by address only, never by a host rule */
    cr_expect_eq(priv(p, "docs-bot", "10.200.0.1", "10.200.0.1", NULL), 0);
    uint8_t addr[16] = {0};
    cr_expect_eq(policy_private_allowed(p, "docs-bot", "docs.test", 5, addr, NULL), 0);
    cr_expect_eq(policy_private_allowed(NULL, "docs-bot", "docs.test", 4, addr, NULL), 0);
    policy_unref(p);
}

static char dir[64];

static void dir_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ag-policydir-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void dir_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

TestSuite(policy_dir, .init = dir_setup, .fini = dir_teardown);

Test(policy_dir, files_are_merged)
{
    write_file("00-global.yaml", "version: 1\ndeny:\n  - blocked.example\n"
                                 "private_exceptions:\n  - intranet.test\n");
    write_file("10-research.yml", "version: 1\nagents:\n  - name: research-bot\n    allow:\n"
                                  "      - blocked.example\n      - example.com\n");
    write_file("20-docs.yaml", "version: 1\nagents:\n  - name: docs-bot\n    allow:\n"
                               "      - docs.example\n");
    write_file("notes.txt", "not: [a policy\n");
    write_file(".hidden.yaml", "not: [a policy\n");
    policy *p;
    ag_error err;
    cr_assert_eq(policy_load(dir, &p, &err), AG_OK, "%s", err.msg);
    cr_expect_eq(policy_agent_count(p), 2);
    cr_expect_eq(policy_rule_count(p), 5);
    policy_decision d;
    policy_decide(p, "research-bot", "example.com", 443, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    cr_expect_str_eq(d.rule, "agents.research-bot.allow[1] example.com (10-research.yml:6)");
    policy_decide(p, "research-bot", "blocked.example", 443, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_str_eq(d.rule, "deny[0] blocked.example (00-global.yaml:3)");
    policy_decide(p, "docs-bot", "docs.example", 80, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    uint8_t lo[4] = {127, 0, 0, 1};
    cr_expect_eq(policy_private_allowed(p, "docs-bot", "intranet.test", 4, lo, NULL), 1);
    policy_unref(p);
}

Test(policy_lifetime, references)
{
    policy *p = load_text(auth_yaml);
    cr_assert_eq(policy_ref(p), p);
    policy_unref(p);
    cr_expect_eq(policy_agent_count(p), 2); /* still alive: one reference left */
    policy_unref(p);
    cr_expect_null(policy_ref(NULL));
    policy_unref(NULL);
}

Test(policy_embedded, example_policy_loads_and_works)
{
    policy *p;
    ag_error err;
    cr_assert_eq(policy_load_embedded(&p, &err), AG_OK, "%s", err.msg);
    cr_expect(policy_has_agent(p, "research-bot"));
    cr_expect(policy_has_agent(p, "docs-bot"));
    cr_expect_eq(policy_authenticate(p, "research-bot", "research-bot-secret", 19), 1);
    policy_decision d;
    policy_decide(p, "research-bot", "en.wikipedia.org", 443, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    policy_decide(p, "research-bot", "example.com", 80, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    policy_decide(p, "research-bot", "upload.wikipedia.org", 443, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    policy_decide(p, "research-bot", "evil.example", 80, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_str_eq(d.reason, "host not in allowlist of agent research-bot");
    policy_decide(p, "research-bot", "metadata.google.internal", 80, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    policy_unref(p);
}

Test(policy_embedded, example_file_matches_embedded_copy)
{
    char path[512];
    snprintf(path, sizeof path, "%s/allowlists/examples/agents.yaml", AG_SOURCE_DIR);
    policy *p;
    ag_error err;
    cr_assert_eq(policy_load(path, &p, &err), AG_OK, "%s", err.msg);
    cr_expect_eq(policy_agent_count(p), 2);
    policy_unref(p);
}
