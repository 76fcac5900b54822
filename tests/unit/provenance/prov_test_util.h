/* Helpers shared by the provenance unit tests: temporary data directories and stores filled
 * with predictable records through the public writer API. */
#ifndef PROV_TEST_UTIL_H
#define PROV_TEST_UTIL_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provenance/prov_internal.h"

#define T0_US 1790000000000000ull /* 2026-09-21T14:13:20Z */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static inline void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *make_tmpdir(void)
{
    char *d = strdup("/tmp/prov_test.XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

/* Record i of the standard test set: agents alice/bob/carol, hosts a.test/b.example.com,
 * one second apart from T0_US. */
typedef struct test_rec {
    prov_record r;
    char url[128], host[64], agent[16];
} test_rec;

static inline void test_record(uint64_t i, test_rec *t)
{
    memset(t, 0, sizeof *t);
    static const char *agents[] = {"alice", "bob", "carol"};
    static const char *hosts[] = {"a.test", "b.example.com", "c.example.com"};
    snprintf(t->agent, sizeof t->agent, "%s", agents[i % 3]);
    snprintf(t->host, sizeof t->host, "%s", hosts[i % 3 == 0 ? 0 : (i / 3) % 2 + 1]);
    snprintf(t->url, sizeof t->url, "http://%s/page/%llu", t->host, (unsigned long long)i);
    snprintf(t->r.request_id, sizeof t->r.request_id, "req-%llu", (unsigned long long)i);
    t->r.start_us = T0_US + i * 1000000ull;
    t->r.duration_us = 1000 + i;
    t->r.agent = t->agent;
    t->r.host = t->host;
    t->r.url = t->url;
    t->r.method = "GET";
    t->r.decision = i % 4 == 3 ? PROV_DENY : PROV_ALLOW;
    t->r.rule = i % 4 == 3 ? "default-deny" : "docs.allow[0]";
    t->r.status = i % 4 == 3 ? 403 : 200;
    t->r.sanitizer_removed = i % 5 == 0 ? 2 : 0;
}

/* Appends n records numbered from first through a store session (closed again, which
 * writes a signed checkpoint). */
static inline void fill_store(const char *data_dir, uint64_t first, uint64_t n)
{
    prov_options o;
    prov_options_default(&o);
    o.batch_delay_ms = 5;
    prov_store *s;
    ag_error err;
    cr_assert_eq(prov_open(data_dir, &o, &s, &err), AG_OK, "%s", err.msg);
    for (uint64_t i = first; i < first + n; i++) {
        test_rec t;
        test_record(i, &t);
        cr_assert_eq(prov_submit(s, &t.r), AG_OK);
    }
    prov_close(s);
}

#endif
