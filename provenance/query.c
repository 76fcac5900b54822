/* provenance: queries. A filter picks the narrowest index (agent+time, host+time, time) and
 * walks it newest first inside one read-only transaction, decoding only the candidate
 * records and stopping at the limit; a time range or an agent never causes a full scan.
 * The host index is split into generations (store.c), merged here back into one newest-first
 * stream. */
#include "provenance/prov_internal.h"

#include <ctype.h>
#include <errno.h>
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

/* Walks one index range newest first: keys are prefix || be64 time || be64 seq. */
typedef struct index_walk {
    MDB_cursor *cur;
    uint8_t prefix[4 + PROV_INDEX_NAME_MAX + 1];
    size_t prefix_len;
    uint64_t since_us, until_us;
    int started;
    uint64_t time_us, seq; /* the current candidate */
} index_walk;

static int walk_start(index_walk *w, MDB_val *k)
{
    uint8_t upper[sizeof w->prefix + 16];
    memcpy(upper, w->prefix, w->prefix_len);
    prov_key_time(upper + w->prefix_len, w->until_us ? w->until_us : UINT64_MAX, 0);
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

/* Moves to the next candidate (newest first) and returns its seq; 0 when the range is done. */
static uint64_t walk_next(index_walk *w)
{
    MDB_val k, data;
    int rc;
    if (!w->started) {
        w->started = 1;
        rc = walk_start(w, &k);
    } else {
        rc = mdb_cursor_get(w->cur, &k, &data, MDB_PREV);
    }
    w->seq = 0;
    if (rc != 0 || k.mv_size != w->prefix_len + 16 ||
        memcmp(k.mv_data, w->prefix, w->prefix_len) != 0)
        return 0;
    const uint8_t *p = (const uint8_t *)k.mv_data + w->prefix_len;
    if (prov_be64_get(p) < w->since_us)
        return 0;
    w->time_us = prov_be64_get(p);
    w->seq = prov_be64_get(p + 8);
    return w->seq;
}

/* ---- a host across generations ----
 * by_host holds one range per (generation, host). The generations overlapping the window are
 * merged newest first: a generation is opened only once the merge reaches its newest start
 * time, and closed when its range is done, so only generations that overlap in time are open
 * at once (consecutive seqs have close start times). */
typedef struct host_merge {
    prov_gen_span *gens; /* overlapping the window, newest max_us first */
    size_t n_gens, next_gen;
    index_walk *open; /* walks with a current candidate */
    size_t n_open;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t host[PROV_INDEX_NAME_MAX + 1];
    size_t host_len;
    uint64_t since_us, until_us;
} host_merge;

static int gen_newer(const void *a, const void *b)
{
    const prov_gen_span *x = a, *y = b;
    return x->max_us < y->max_us ? 1 : x->max_us > y->max_us ? -1 : (x->gen < y->gen) - (x->gen > y->gen);
}

/* Collects the generations whose start times overlap [since, until). */
static int merge_load_gens(host_merge *m, prov_env *e)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(m->txn, e->host_gens, &c);
    if (rc != 0)
        return rc;
    size_t cap = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 4 || v.mv_size != 16)
            continue;
        const uint8_t *kp = k.mv_data;
        prov_gen_span g = {(uint32_t)kp[0] << 24 | (uint32_t)kp[1] << 16 | (uint32_t)kp[2] << 8 | kp[3],
                           prov_be64_get(v.mv_data), prov_be64_get((uint8_t *)v.mv_data + 8)};
        if (g.max_us < m->since_us || (m->until_us && g.min_us >= m->until_us))
            continue;
        if (m->n_gens == cap) {
            cap = cap ? cap * 2 : 64;
            prov_gen_span *p = realloc(m->gens, cap * sizeof *p);
            if (!p) {
                rc = ENOMEM;
                break;
            }
            m->gens = p;
        }
        m->gens[m->n_gens++] = g;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND)
        return rc;
    if (m->n_gens > 1)
        qsort(m->gens, m->n_gens, sizeof *m->gens, gen_newer);
    m->open = calloc(m->n_gens ? m->n_gens : 1, sizeof *m->open);
    return m->open ? 0 : ENOMEM;
}

/* Opens the next generation; its walk joins the open set if it has a candidate. */
static int merge_open_next(host_merge *m)
{
    const prov_gen_span *g = &m->gens[m->next_gen++];
    index_walk *w = &m->open[m->n_open];
    *w = (index_walk){.since_us = m->since_us, .until_us = m->until_us};
    w->prefix[0] = (uint8_t)(g->gen >> 24);
    w->prefix[1] = (uint8_t)(g->gen >> 16);
    w->prefix[2] = (uint8_t)(g->gen >> 8);
    w->prefix[3] = (uint8_t)g->gen;
    memcpy(w->prefix + 4, m->host, m->host_len);
    w->prefix_len = 4 + m->host_len;
    int rc = mdb_cursor_open(m->txn, m->dbi, &w->cur);
    if (rc != 0)
        return rc;
    if (walk_next(w))
        m->n_open++;
    else
        mdb_cursor_close(w->cur);
    return 0;
}

static size_t merge_newest(const host_merge *m)
{
    size_t best = 0;
    for (size_t i = 1; i < m->n_open; i++) {
        const index_walk *a = &m->open[i], *b = &m->open[best];
        if (a->time_us > b->time_us || (a->time_us == b->time_us && a->seq > b->seq))
            best = i;
    }
    return best;
}

static uint64_t merge_next(host_merge *m)
{
    for (;;) {
        size_t best = merge_newest(m);
        int need = m->next_gen < m->n_gens &&
                   (m->n_open == 0 || m->gens[m->next_gen].max_us >= m->open[best].time_us);
        if (!need)
            break;
        if (merge_open_next(m) != 0)
            return 0;
    }
    if (m->n_open == 0)
        return 0;
    size_t best = merge_newest(m);
    index_walk *w = &m->open[best];
    uint64_t seq = w->seq;
    if (!walk_next(w)) {
        mdb_cursor_close(w->cur);
        m->open[best] = m->open[--m->n_open];
    }
    return seq;
}

static void merge_free(host_merge *m)
{
    for (size_t i = 0; i < m->n_open; i++)
        mdb_cursor_close(m->open[i].cur);
    free(m->open);
    free(m->gens);
}

/* The candidates of one query: a single index range, or a host merged across generations. */
typedef struct candidates {
    prov_plan plan;
    index_walk walk;
    host_merge merge;
} candidates;

static uint64_t candidates_next(candidates *c)
{
    return c->plan == PROV_PLAN_HOST ? merge_next(&c->merge) : walk_next(&c->walk);
}

static int candidates_open(candidates *c, prov_env *e, MDB_txn *t, const prov_filter *f)
{
    c->plan = prov_query_plan(f);
    index_walk *w = &c->walk;
    *w = (index_walk){.since_us = f->since_us, .until_us = f->until_us};
    MDB_dbi dbi = e->by_time;
    switch (c->plan) {
    case PROV_PLAN_AGENT:
        dbi = e->by_agent;
        w->prefix_len = strnlen(f->agent, PROV_INDEX_NAME_MAX);
        memcpy(w->prefix, f->agent, w->prefix_len);
        w->prefix[w->prefix_len++] = '\0';
        break;
    case PROV_PLAN_HOST: {
        host_merge *m = &c->merge;
        *m = (host_merge){.txn = t, .dbi = e->by_host, .since_us = f->since_us,
                          .until_us = f->until_us};
        m->host_len = strnlen(f->host_glob, PROV_INDEX_NAME_MAX);
        for (size_t i = 0; i < m->host_len; i++)
            m->host[i] = (uint8_t)tolower((unsigned char)f->host_glob[i]);
        m->host[m->host_len++] = '\0';
        return merge_load_gens(m, e);
    }
    case PROV_PLAN_TIME:
        break;
    }
    return mdb_cursor_open(t, dbi, &w->cur);
}

static void candidates_close(candidates *c)
{
    if (c->plan == PROV_PLAN_HOST)
        merge_free(&c->merge);
    else if (c->walk.cur)
        mdb_cursor_close(c->walk.cur);
}

int prov_query(prov_env *e, const prov_filter *f, int with_report, prov_visit_fn fn, void *ctx,
               uint64_t *visited, ag_error *err)
{
    MDB_txn *t;
    if (prov_txn_begin(e, MDB_RDONLY, &t, err) != AG_OK)
        return AG_ERR;
    candidates c = {0};
    int rc = candidates_open(&c, e, t, f);
    if (rc != 0) {
        candidates_close(&c);
        mdb_txn_abort(t);
        return ag_errorf(err, "%s: cannot open an index: %s", e->dir, mdb_strerror(rc));
    }
    prov_decoded d = {0};
    uint64_t matched = 0, seen = 0;
    int status = AG_OK;
    for (uint64_t seq; (!f->limit || matched < f->limit) && (seq = candidates_next(&c));) {
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
    candidates_close(&c);
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
