/* Unit tests for policy_decide(): wildcards against apexes, case and trailing dots, punycode,
 * deny precedence, ports, IP literals against host and CIDR rules, report-only, the rule and
 * reason strings, and concurrent use from several threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlists/policy.h"

static const char match_yaml[] =
    "version: 1\n"                                        /* 1 */
    "deny:\n"                                             /* 2 */
    "  - host: \"*.metadata.google.internal\"\n"          /* 3 */
    "  - cidr: 169.254.0.0/16\n"                          /* 4 */
    "  - evil.example.com\n"                              /* 5 */
    "agents:\n"                                           /* 6 */
    "  - name: research-bot\n"                            /* 7 */
    "    sanitize: scripts\n"                             /* 8 */
    "    allow:\n"                                        /* 9 */
    "      - host: \"*.wikipedia.org\"\n"                 /* 10 */
    "      - host: Example.COM.\n"                        /* 11 */
    "        ports: [80, 443, 8443]\n"                    /* 12 */
    "      - host: example.com\n"                         /* 13 */
    "        ports: [9443]\n"                             /* 14 */
    "        tls: passthrough\n"                          /* 15 */
    "      - cidr: 93.184.216.0/24\n"                     /* 16 */
    "      - host: \"bücher.example\"\n"                  /* 17 */
    "      - \"*.example.org:8443\"\n"                    /* 18 */
    "      - \"*.deep.example.org:8443\"\n"               /* 19 */
    "      - cidr: 2001:db8:1::/48\n"                     /* 20 */
    "      - \"[2001:db8:2::1]:8080\"\n"                  /* 21 */
    "      - 198.51.100.7\n"                              /* 22 */
    "      - \"*.metadata.google.internal\"\n"            /* 23 */
    "      - evil.example.com\n"                          /* 24 */
    "      - \"*.corp.example.net\"\n"                    /* 25 */
    "      - cidr: 10.0.0.0/8\n"                          /* 26 */
    "    deny:\n"                                         /* 27 */
    "      - host: upload.wikipedia.org\n"                /* 28 */
    "      - host: \"*.secret.corp.example.net\"\n"       /* 29 */
    "      - cidr: 10.9.0.0/16\n"                         /* 30 */
    "      - host: example.com\n"                         /* 31 */
    "        ports: [8443]\n"                             /* 32 */
    "  - name: shadow-bot\n"                              /* 33 */
    "    mode: report-only\n"                             /* 34 */
    "    allow:\n"                                        /* 35 */
    "      - example.com\n"                               /* 36 */
    "    deny:\n"                                         /* 37 */
    "      - ads.example.com\n";                          /* 38 */

static policy *pol;

static void setup(void)
{
    ag_error err;
    cr_assert_eq(policy_load_buffer("match.yaml", match_yaml, strlen(match_yaml), &pol, &err),
                 AG_OK, "%s", err.msg);
}

static void teardown(void) { policy_unref(pol); }

TestSuite(policy_match, .init = setup, .fini = teardown);

static policy_decision decide(const char *agent, const char *host, uint16_t port)
{
    policy_decision d;
    cr_assert_eq(policy_decide(pol, agent, host, port, &d), AG_OK);
    return d;
}

static void allowed(const char *host, uint16_t port, const char *rule)
{
    policy_decision d = decide("research-bot", host, port);
    cr_expect_eq(d.verdict, POLICY_ALLOW, "%s:%u should be allowed (%s / %s)", host, port, d.rule,
                 d.reason);
    if (rule)
        cr_expect_str_eq(d.rule, rule, "%s:%u", host, port);
}

static void denied(const char *host, uint16_t port, const char *rule)
{
    policy_decision d = decide("research-bot", host, port);
    cr_expect_eq(d.verdict, POLICY_DENY, "%s:%u should be denied (%s)", host, port, d.rule);
    if (rule)
        cr_expect_str_eq(d.rule, rule, "%s:%u", host, port);
}

Test(policy_match, counts)
{
    cr_expect_eq(policy_agent_count(pol), 2);
    cr_expect_eq(policy_rule_count(pol), 3 + 14 + 4 + 1 + 1);
    cr_expect(policy_has_agent(pol, "research-bot"));
    cr_expect(!policy_has_agent(pol, "Research-Bot"));
}

Test(policy_match, wildcard_is_subdomains_not_apex)
{
    allowed("en.wikipedia.org", 443, "agents.research-bot.allow[0] *.wikipedia.org (match.yaml:10)");
    allowed("de.m.wikipedia.org", 80, NULL);
    denied("wikipedia.org", 443, "default-deny");
    denied("xwikipedia.org", 443, "default-deny");
    denied("wikipedia.org.evil.com", 443, "default-deny");
}

Test(policy_match, case_and_trailing_dot)
{
    allowed("example.com", 443, "agents.research-bot.allow[1] example.com (match.yaml:11)");
    allowed("EXAMPLE.com", 80, NULL);
    allowed("example.com.", 443, NULL);
    allowed("En.WikiPedia.Org.", 443, NULL);
    denied("example.com..", 443, "invalid-host");
}

Test(policy_match, punycode)
{
    const char *rule = "agents.research-bot.allow[4] xn--bcher-kva.example (match.yaml:17)";
    allowed("xn--bcher-kva.example", 443, rule);
    allowed("XN--BCHER-KVA.EXAMPLE", 443, rule);
    allowed("bücher.example", 443, rule);
    allowed("BÜCHER.example.", 80, rule);
    denied("bucher.example", 443, "default-deny");
}

Test(policy_match, ports)
{
    allowed("example.com", 80, NULL);
    allowed("a.example.org", 8443, "agents.research-bot.allow[5] *.example.org (match.yaml:18)");
    denied("a.example.org", 443, "default-deny");
    denied("a.example.org", 80, "default-deny");
    policy_decision d = decide("research-bot", "example.com", 8080);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_str_eq(d.reason, "port 8080 not allowed for this host (agent research-bot)");
    d = decide("research-bot", "nothing.example", 80);
    cr_expect_str_eq(d.reason, "host not in allowlist of agent research-bot");
}

Test(policy_match, same_host_rules_choose_tls_by_port)
{
    policy_decision d = decide("research-bot", "example.com", 443);
    cr_expect_eq(d.tls, POLICY_TLS_MITM);
    d = decide("research-bot", "example.com", 9443);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    cr_expect_eq(d.tls, POLICY_TLS_PASSTHROUGH);
    cr_expect_str_eq(d.rule, "agents.research-bot.allow[2] example.com (match.yaml:13)");
}

Test(policy_match, most_specific_wildcard_wins)
{
    allowed("x.deep.example.org", 8443,
            "agents.research-bot.allow[6] *.deep.example.org (match.yaml:19)");
    allowed("deep.example.org", 8443, "agents.research-bot.allow[5] *.example.org (match.yaml:18)");
}

Test(policy_match, agent_deny_wins_over_allow)
{
    policy_decision d = decide("research-bot", "upload.wikipedia.org", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_str_eq(d.rule, "agents.research-bot.deny[0] upload.wikipedia.org (match.yaml:28)");
    cr_expect_str_eq(d.reason, "host denied for agent research-bot");
    denied("Upload.Wikipedia.Org.", 443, NULL);
    denied("a.secret.corp.example.net", 443,
           "agents.research-bot.deny[1] *.secret.corp.example.net (match.yaml:29)");
    allowed("secret.corp.example.net", 443, NULL); /* the deny wildcard excludes its apex */
    allowed("public.corp.example.net", 443, NULL);
    /* a deny with ports only denies those ports */
    denied("example.com", 8443, "agents.research-bot.deny[3] example.com (match.yaml:31)");
    allowed("example.com", 443, NULL);
}

Test(policy_match, global_deny_wins_over_agent_allow)
{
    policy_decision d = decide("research-bot", "evil.example.com", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_str_eq(d.rule, "deny[2] evil.example.com (match.yaml:5)");
    cr_expect_str_eq(d.reason, "host is on the global deny list");
    denied("computeMetadata.metadata.google.internal", 80,
           "deny[0] *.metadata.google.internal (match.yaml:3)");
    denied("169.254.169.254", 80, "deny[1] 169.254.0.0/16 (match.yaml:4)");
}

Test(policy_match, ip_literals_match_only_ip_rules)
{
    allowed("93.184.216.34", 443, "agents.research-bot.allow[3] 93.184.216.0/24 (match.yaml:16)");
    denied("93.184.217.1", 443, "default-deny");
    allowed("198.51.100.7", 80, "agents.research-bot.allow[9] 198.51.100.7/32 (match.yaml:22)");
    denied("198.51.100.8", 80, NULL);
    /* an IP literal is never compared with host rules, nor a name with CIDR rules */
    denied("93.184.216.34.nip.example", 443, "default-deny");
    /* IPv4-mapped IPv6 literals are the IPv4 address */
    allowed("::ffff:93.184.216.34", 443, NULL);
    allowed("[::ffff:93.184.216.34]", 443, NULL);
    /* longest prefix: the /16 deny inside the /8 allow */
    allowed("10.1.2.3", 443, "agents.research-bot.allow[13] 10.0.0.0/8 (match.yaml:26)");
    denied("10.9.2.3", 443, "agents.research-bot.deny[2] 10.9.0.0/16 (match.yaml:30)");
}

Test(policy_match, ipv6_cidr)
{
    allowed("2001:db8:1::5", 443, "agents.research-bot.allow[7] 2001:db8:1::/48 (match.yaml:20)");
    allowed("[2001:DB8:1:ffff::1]", 80, NULL);
    denied("2001:db8:3::1", 443, "default-deny");
    allowed("[2001:db8:2::1]", 8080, "agents.research-bot.allow[8] 2001:db8:2::1/128 (match.yaml:21)");
    denied("2001:db8:2::1", 443, "default-deny");
    denied("2001:db8:2::2", 8080, "default-deny");
}

Test(policy_match, invalid_hosts_are_denied)
{
    const char *bad[] = {"", "a b.com", "exa\nmple.com", "2130706433", "127.1", "0x7f.0x1",
                         "[example.com]", "fe80::1%25eth0", "a..b", ".", "*.example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        policy_decision d = decide("research-bot", bad[i], 80);
        cr_expect_eq(d.verdict, POLICY_DENY, "'%s'", bad[i]);
        cr_expect_str_eq(d.rule, "invalid-host", "'%s'", bad[i]);
        cr_expect(!strchr(d.reason, '\n') && !strchr(d.reason, '\r'));
    }
}

Test(policy_match, unknown_agent)
{
    policy_decision d = decide("nobody\r\nX: y", "example.com", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_str_eq(d.rule, "unknown-agent");
    cr_expect_str_eq(d.reason, "unknown agent");
    d = decide(NULL, "example.com", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
}

Test(policy_match, sanitize_mode_comes_from_agent)
{
    cr_expect_eq(decide("research-bot", "example.com", 443).sanitize, POLICY_SANITIZE_SCRIPTS);
    cr_expect_eq(decide("research-bot", "nope.example", 443).sanitize, POLICY_SANITIZE_SCRIPTS);
    cr_expect_eq(decide("shadow-bot", "example.com", 443).sanitize, POLICY_SANITIZE_STRICT);
}

Test(policy_match, report_only)
{
    policy_decision d = decide("shadow-bot", "example.com", 443);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    cr_expect_eq(d.report_only, 0);
    d = decide("shadow-bot", "ads.example.com", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_eq(d.report_only, 1);
    d = decide("shadow-bot", "other.example", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_eq(d.report_only, 1);
    cr_expect_str_eq(d.reason, "host not in allowlist of agent shadow-bot");
    /* the global deny list is enforced even for report-only agents */
    d = decide("shadow-bot", "evil.example.com", 443);
    cr_expect_eq(d.verdict, POLICY_DENY);
    cr_expect_eq(d.report_only, 0);
    /* enforcing agents never get the flag */
    cr_expect_eq(decide("research-bot", "other.example", 443).report_only, 0);
}

Test(policy_match, many_rules_are_indexed)
{
    /* 20000 exact hosts, 20000 wildcards and 2000 networks: lookups stay exact. */
    size_t cap = 4u << 20, n = 0;
    char *yaml = malloc(cap);
    cr_assert_not_null(yaml);
    n += (size_t)snprintf(yaml + n, cap - n, "version: 1\nagents:\n  - name: big\n    allow:\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(yaml + n, cap - n, "      - h%d.example.com\n      - \"*.w%d.example.net\"\n", i, i);
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(yaml + n, cap - n, "      - 10.%d.%d.0/24\n", i / 256, i % 256);
    policy *big;
    ag_error err;
    cr_assert_eq(policy_load_buffer("big.yaml", yaml, n, &big, &err), AG_OK, "%s", err.msg);
    free(yaml);
    policy_decision d;
    policy_decide(big, "big", "h19999.example.com", 443, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    policy_decide(big, "big", "a.b.w12345.example.net", 443, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    policy_decide(big, "big", "w12345.example.net", 443, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    policy_decide(big, "big", "h20000.example.com", 443, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    policy_decide(big, "big", "10.7.207.9", 443, &d);
    cr_expect_eq(d.verdict, POLICY_ALLOW);
    policy_decide(big, "big", "10.7.208.9", 443, &d);
    cr_expect_eq(d.verdict, POLICY_DENY);
    policy_unref(big);
}

static void *decide_loop(void *arg)
{
    policy *p = policy_ref(arg);
    int ok = 1;
    for (int i = 0; i < 20000 && ok; i++) {
        policy_decision d;
        policy_decide(p, "research-bot", (i & 1) ? "en.wikipedia.org" : "upload.wikipedia.org", 443, &d);
        ok = d.verdict == ((i & 1) ? POLICY_ALLOW : POLICY_DENY);
    }
    policy_unref(p);
    return ok ? arg : NULL;
}

Test(policy_match, concurrent_decisions_and_references)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, decide_loop, pol), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_expect_eq(r, pol);
    }
}
