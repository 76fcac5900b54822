/* provenance: queries. A filter picks the narrowest index (agent+time, host+time, time) and
 * walks it newest first inside one read-only transaction, decoding only the candidate
 * records and stopping at the limit; a time range or an agent never causes a full scan. */
#include "provenance/prov_internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

prov_plan prov_query_plan(const prov_filter *f)
{
    if (f->agent)
        return PROV_PLAN_AGENT;
    if (f->host_glob && !strpbrk(f->host_glob, "*?[\\"))
        return PROV_PLAN_HOST;
    return PROV_PLAN_TIME;
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

int prov_filter_match(const prov_filter *f, const prov_record *r)
{
    if (r->start_us < f->since_us || (f->until_us && r->start_us >= f->until_us))
        return 0;
    if (f->agent && (!r->agent || strcmp(f->agent, r->agent) != 0))
        return 0;
    if (f->host_glob && (!r->host || fnmatch(f->host_glob, r->host, FNM_CASEFOLD) != 0))
        return 0;
    if (f->url_sub && !contains(r->url, f->url_sub))
        return 0;
    if (f->rule_sub && !contains(r->rule, f->rule_sub))
        return 0;
    if (f->has_decision && r->decision != f->decision)
        return 0;
    if (f->status && r->status != f->status)
        return 0;
    if (f->sanitized_only && r->sanitizer_removed == 0)
        return 0;
    return 1;
}

/* Walks one index newest first: keys are prefix || be64 time || be64 seq. */
typedef struct index_walk {
    MDB_cursor *cur;
    uint8_t prefix[PROV_INDEX_NAME_MAX + 1];
    size_t prefix_len;
    uint64_t since_us;
    int started;
} index_walk;

static int walk_start(index_walk *w, uint64_t until_us, MDB_val *k)
{
    uint8_t upper[PROV_INDEX_NAME_MAX + 17];
    memcpy(upper, w->prefix, w->prefix_len);
    prov_key_time(upper + w->prefix_len, until_us ? until_us : UINT64_MAX, 0);
    MDB_val data;
    k->mv_size = w->prefix_len + 16;
    k->mv_data = upper;
    int rc = mdb_cursor_get(w->cur, k, &data, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(w->cur, k, &data, MDB_LAST);
    if (rc != 0)
        return rc;
    return mdb_cursor_get(w->cur, k, &data, MDB_PREV);
}

/* Next candidate seq (newest first); 0 when the range is exhausted. */
static uint64_t walk_next(index_walk *w, uint64_t until_us)
{
    MDB_val k, data;
    int rc;
    if (!w->started) {
        w->started = 1;
        rc = walk_start(w, until_us, &k);
    } else {
        rc = mdb_cursor_get(w->cur, &k, &data, MDB_PREV);
    }
    if (rc != 0 || k.mv_size != w->prefix_len + 16 ||
        memcmp(k.mv_data, w->prefix, w->prefix_len) != 0)
        return 0;
    const uint8_t *p = (const uint8_t *)k.mv_data + w->prefix_len;
    if (prov_be64_get(p) < w->since_us)
        return 0;
    return prov_be64_get(p + 8);
}

int prov_query(prov_env *e, const prov_filter *f, int with_report, prov_visit_fn fn, void *ctx,
               uint64_t *visited, ag_error *err)
{
    MDB_txn *t;
    if (prov_txn_begin(e, MDB_RDONLY, &t, err) != AG_OK)
        return AG_ERR;
    index_walk w = {.since_us = f->since_us};
    MDB_dbi dbi = e->by_time;
    switch (prov_query_plan(f)) {
    case PROV_PLAN_AGENT:
        dbi = e->by_agent;
        w.prefix_len = strnlen(f->agent, PROV_INDEX_NAME_MAX);
        memcpy(w.prefix, f->agent, w.prefix_len);
        w.prefix[w.prefix_len++] = '\0';
        break;
    case PROV_PLAN_HOST:
        dbi = e->by_host;
        w.prefix_len = strnlen(f->host_glob, PROV_INDEX_NAME_MAX);
        for (size_t i = 0; i < w.prefix_len; i++)
            w.prefix[i] = (uint8_t)tolower((unsigned char)f->host_glob[i]);
        w.prefix[w.prefix_len++] = '\0';
        break;
    case PROV_PLAN_TIME:
        break;
    }
    int rc = mdb_cursor_open(t, dbi, &w.cur);
    if (rc != 0) {
        mdb_txn_abort(t);
        return ag_errorf(err, "%s: cannot open cursor: %s", e->dir, mdb_strerror(rc));
    }
    prov_decoded d = {0};
    uint64_t matched = 0, seen = 0;
    int status = AG_OK;
    for (uint64_t seq; (!f->limit || matched < f->limit) && (seq = walk_next(&w, f->until_us));) {
        uint8_t kb[8];
        prov_be64_put(kb, seq);
        MDB_val k = {8, kb}, v;
        seen++;
        if (mdb_get(t, e->records, &k, &v) != 0)
            continue; /* index entry of a pruned record: nothing to show */
        if (prov_record_decode(seq, v.mv_data, v.mv_size, with_report, &d, err) != AG_OK) {
            status = ag_error_prefix(err, "%s", e->dir);
            break;
        }
        if (!prov_filter_match(f, &d.rec))
            continue;
        matched++;
        if (fn(ctx, &d))
            break;
    }
    prov_decoded_free(&d);
    mdb_cursor_close(w.cur);
    mdb_txn_abort(t);
    if (visited)
        *visited = seen;
    return status;
}

/* ---- time arguments ---- */

static int parse_relative(const char *s, uint64_t now_us, uint64_t *out)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s || !*end || end[1] != '\0')
        return AG_ERR;
    uint64_t unit;
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return AG_ERR;
    }
    if (n > now_us / 1000000u / unit)
        n = now_us / 1000000u / unit;
    *out = now_us - (uint64_t)n * unit * 1000000u;
    return AG_OK;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return AG_ERR;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return AG_OK;
}

static int parse_rfc3339(const char *s, uint64_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return AG_ERR;
    uint64_t frac_us = 0;
    long offset = 0;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return AG_ERR;
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
            digits(&p, 2, &sec))
            return AG_ERR;
        if (*p == '.') {
            p++;
            uint64_t scale = 100000;
            if (!isdigit((unsigned char)*p))
                return AG_ERR;
            for (; isdigit((unsigned char)*p); p++, scale /= 10)
                frac_us += (uint64_t)(*p - '0') * scale;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
                return AG_ERR;
            offset = sign * (oh * 3600L + om * 60L);
        } else {
            return AG_ERR;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return AG_ERR;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || (long long)t - offset < 0)
        return AG_ERR;
    *out = (uint64_t)((long long)t - offset) * 1000000u + frac_us;
    return AG_OK;
}

int prov_parse_time(const char *s, uint64_t now_us, uint64_t *out)
{
    if (parse_relative(s, now_us, out) == AG_OK)
        return AG_OK;
    return parse_rfc3339(s, out);
}
