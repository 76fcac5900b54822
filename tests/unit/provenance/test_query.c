/* Unit tests: every `history` filter, alone and combined, returns exactly the records an
 * independent predicate over the same test set selects, newest first, honouring --limit, and
 * the planner picks the agent/host index when it can. */
#include "prov_test_util.h"

#define N 30

typedef struct collected {
    uint64_t seqs[N + 1];
    size_t n;
} collected;

static int collect(void *ctx, const prov_decoded *d)
{
    collected *c = ctx;
    cr_assert_lt(c->n, N);
    c->seqs[c->n++] = d->rec.seq;
    return 0;
}

static char *store;

static void setup(void)
{
    store = make_tmpdir();
    fill_store(store, 0, N);
}

static void teardown(void)
{
    rm_tree(store);
    free(store);
}

typedef int (*pred_fn)(const prov_record *r);

static void check(const prov_filter *f, pred_fn want, const char *what)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 1, 0, &err), AG_OK, "%s", err.msg);
    collected got = {0};
    cr_assert_eq(prov_query(&e, f, 0, collect, &got, NULL, &err), AG_OK, "%s", err.msg);
    prov_env_close(&e);
    collected exp = {0};
    for (int i = N - 1; i >= 0; i--) {
        test_rec t;
        test_record((uint64_t)i, &t);
        if (want(&t.r) && (!f->limit || exp.n < f->limit))
            exp.seqs[exp.n++] = (uint64_t)i + 1;
    }
    cr_assert_gt(exp.n, 0, "%s: the test set has no match", what);
    cr_assert_eq(got.n, exp.n, "%s: %zu records, want %zu", what, got.n, exp.n);
    for (size_t i = 0; i < exp.n; i++)
        cr_assert_eq(got.seqs[i], exp.seqs[i], "%s: row %zu is seq %llu, want %llu", what, i,
                     (unsigned long long)got.seqs[i], (unsigned long long)exp.seqs[i]);
}

static int p_all(const prov_record *r) { (void)r; return 1; }
static int p_bob(const prov_record *r) { return !strcmp(r->agent, "bob"); }
static int p_example(const prov_record *r) { return strstr(r->host, ".example.com") != NULL; }
static int p_atest(const prov_record *r) { return !strcmp(r->host, "a.test"); }
static int p_url(const prov_record *r) { return strstr(r->url, "/page/1") != NULL; }
static int p_deny(const prov_record *r) { return r->decision == PROV_DENY; }
static int p_403(const prov_record *r) { return r->status == 403; }
static int p_rule(const prov_record *r) { return strstr(r->rule, "allow[0]") != NULL; }
static int p_sanitized(const prov_record *r) { return r->sanitizer_removed > 0; }
static int p_window(const prov_record *r)
{
    return r->start_us >= T0_US + 5000000 && r->start_us < T0_US + 12000000;
}
static int p_bob_window_allow(const prov_record *r)
{
    return p_bob(r) && p_window(r) && r->decision == PROV_ALLOW;
}
static int p_host_window(const prov_record *r) { return p_atest(r) && p_window(r); }

TestSuite(query, .init = setup, .fini = teardown);

Test(query, no_filter_newest_first) { prov_filter f = {0}; check(&f, p_all, "all"); }
Test(query, limit)
{
    prov_filter f = {.limit = 4};
    check(&f, p_all, "limit");
}
Test(query, agent)
{
    prov_filter f = {.agent = "bob"};
    cr_assert_eq(prov_query_plan(&f), PROV_PLAN_AGENT);
    check(&f, p_bob, "agent");
}
Test(query, unknown_agent_and_prefix_agent_match_nothing)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 1, 0, &err), AG_OK);
    const char *names[] = {"bo", "bobby", "zed", ""};
    for (size_t i = 0; i < 4; i++) {
        prov_filter f = {.agent = names[i]};
        collected got = {0};
        cr_assert_eq(prov_query(&e, &f, 0, collect, &got, NULL, &err), AG_OK);
        cr_assert_eq(got.n, 0, "agent '%s' matched %zu", names[i], got.n);
    }
    prov_env_close(&e);
}
Test(query, host_glob)
{
    prov_filter f = {.host_glob = "*.EXAMPLE.com"};
    cr_assert_eq(prov_query_plan(&f), PROV_PLAN_TIME);
    check(&f, p_example, "host glob");
}
Test(query, host_exact_uses_the_host_index)
{
    prov_filter f = {.host_glob = "a.test"};
    cr_assert_eq(prov_query_plan(&f), PROV_PLAN_HOST);
    check(&f, p_atest, "host exact");
}
Test(query, url) { prov_filter f = {.url_sub = "/page/1"}; check(&f, p_url, "url"); }
Test(query, decision)
{
    prov_filter f = {.has_decision = 1, .decision = PROV_DENY};
    check(&f, p_deny, "decision");
}
Test(query, status) { prov_filter f = {.status = 403}; check(&f, p_403, "status"); }
Test(query, rule) { prov_filter f = {.rule_sub = "allow[0]"}; check(&f, p_rule, "rule"); }
Test(query, sanitized) { prov_filter f = {.sanitized_only = 1}; check(&f, p_sanitized, "sanitized"); }
Test(query, since_until)
{
    prov_filter f = {.since_us = T0_US + 5000000, .until_us = T0_US + 12000000};
    check(&f, p_window, "since/until");
}
Test(query, combined_on_the_agent_index)
{
    prov_filter f = {.agent = "bob", .since_us = T0_US + 5000000, .until_us = T0_US + 12000000,
                     .has_decision = 1, .decision = PROV_ALLOW};
    check(&f, p_bob_window_allow, "agent+window+decision");
}
Test(query, combined_on_the_host_index)
{
    prov_filter f = {.host_glob = "a.test", .since_us = T0_US + 5000000,
                     .until_us = T0_US + 12000000};
    check(&f, p_host_window, "host+window");
}

Test(query, a_time_range_visits_only_its_records)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, store, 1, 0, &err), AG_OK);
    prov_filter f = {.since_us = T0_US + 5000000, .until_us = T0_US + 12000000};
    collected got = {0};
    uint64_t visited = 0;
    cr_assert_eq(prov_query(&e, &f, 0, collect, &got, &visited, &err), AG_OK);
    cr_assert_eq(visited, 7);
    prov_filter g = {.agent = "bob", .limit = 2};
    got.n = 0;
    cr_assert_eq(prov_query(&e, &g, 0, collect, &got, &visited, &err), AG_OK);
    cr_assert_eq(visited, 2);
    prov_env_close(&e);
}
