/* sanitizer (private): the instruction rules' literal prefilter (see instr_prefilter.h).
 *
 * Pattern analysis: a recursive-descent parser over the PCRE2 syntax rules use computes, for
 * every node, either the exact set of strings it can consume (small literals, short
 * alternations, optional pieces) or a few required sets (every consumed string contains a
 * member of each), plus the most whitespace characters it can inspect. Everything is in the
 * folded alphabet: ASCII letters lower-cased (rules are caseless and normalised text is lower
 * case), every ASCII whitespace byte as ' '. The analysis errs one way only: a set is
 * required only when every match must contain it; a construct not understood here fails the
 * rule's analysis (no sets: always tried), and an assertion or lookaround consumes nothing (its
 * extra condition can only remove matches). wmax counts lookarounds too, as they inspect text.
 *
 * Matching: one Aho-Corasick automaton (a full DFA over the bytes literals use) for all
 * required strings of all rules; each hit records (set, start) and the hits are grouped by
 * set in position order, so the matcher can ask, position by position in increasing order,
 * whether each candidate rule has all its sets ahead within reach, and a final search can
 * mark at once every position where some rule has (prefilter_live_mark) and skip the rest.
 * Which sets a rule keeps is decided by a rough frequency model of English text (set_cost):
 * the rarer the set, the fewer positions it lets through. */
#include "sanitizer/instr_prefilter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SET_MAX 256      /* strings in one exact or required set */
#define CROSS_MAX 64     /* strings made by joining two exact sets */
#define STR_MAX 40       /* bytes of one string */
#define NODE_CLAUSES 4   /* required sets kept per node while parsing */
#define RULE_CLAUSES 3   /* required sets kept per rule */
#define MIN_LITERAL 3    /* shorter required strings are too common to help */
#define SCAN_LEN 12      /* required strings are scanned for by their first SCAN_LEN bytes */
#define DEPTH_MAX 200

/* The analysis builds and compares thousands of sets at every rule load: members are stored
 * inline with their hash (membership tests compare hashes before bytes) and length, so a set
 * is one allocation, and the set keeps its cost as members come and go. Every string is at
 * most STR_MAX bytes (set_cross and the cuts to SCAN_LEN bound them). */
typedef struct member {
    uint32_t h;
    uint8_t len;
    char s[STR_MAX + 1];
    double freq; /* string_freq, once asked for; -1 before */
} member;

typedef struct strset {
    member *m;
    size_t n, cap;
    double cost;  /* set_cost, once asked for (cost_ok) */
    int cost_ok;
    int minimal;  /* no member contains another: set_drop_superstrings would change nothing */
} strset;

typedef struct info {
    int exact_ok;        /* exact holds every string the node can consume */
    strset exact;
    strset clause[NODE_CLAUSES];
    size_t nclause;
    uint32_t wmax;
} info;

typedef struct parser {
    const char *p;
    size_t i, n;
    int fail;
    int depth;
} parser;

typedef struct rule_pf {
    uint32_t wmax;
    size_t nclause;
    uint32_t clause[RULE_CLAUSES]; /* global clause ids */
} rule_pf;

struct instr_prefilter {
    size_t nrules;
    rule_pf *rule;
    size_t nclauses;
    /* automaton */
    size_t nclasses, nstates;
    uint8_t cls[256];
    uint16_t *delta;       /* [nstates << class_shift]: next state */
    unsigned class_shift;
    uint32_t *emit_begin;  /* [nstates + 1] */
    uint32_t first_emitting; /* states from this one on emit strings */
    uint32_t *emit_clause;
    uint8_t *emit_len;
    /* for describe() */
    char **strings;
    uint32_t *string_hash;
    size_t nstrings, strings_cap;
    /* while building: open-addressing index of strings (id + 1 per slot, 0 empty) */
    uint32_t *string_slot;
    size_t slot_mask;
    uint32_t *clause_rule;      /* [nclauses]: the rule each set belongs to */
    uint64_t *setless;          /* [mask words]: rules without sets (always candidates) */
    size_t mask_words;
    uint32_t *clause_str_begin; /* [nclauses + 1] into clause_str */
    uint32_t *clause_str;
};

static const uint8_t is_ws[256] = {['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1};

static unsigned char fold(unsigned char c)
{
    if (is_ws[c]) return ' ';
    if (c >= 'A' && c <= 'Z') return (unsigned char)(c + 32);
    return c;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return (a > PREFILTER_WMAX_UNBOUNDED - b) ? PREFILTER_WMAX_UNBOUNDED : a + b;
}

static uint32_t sat_mul(uint32_t a, uint32_t b)
{
    if (a == 0 || b == 0) return 0;
    return (a > PREFILTER_WMAX_UNBOUNDED / b) ? PREFILTER_WMAX_UNBOUNDED : a * b;
}

/* ---- string sets ---- */

static double string_freq(const char *s);

static void set_free(strset *s)
{
    free(s->m);
    memset(s, 0, sizeof *s);
}

#define HASH_START 2166136261u /* FNV-1a */

/* FNV-1a goes byte by byte, so the hash of a joined string continues from its first part's. */
static uint32_t hash_more(uint32_t h, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

static uint32_t str_hash(const char *v)
{
    return hash_more(HASH_START, v);
}

static int set_has_hashed(const strset *s, const char *v, uint32_t h)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->m[i].h == h && strcmp(s->m[i].s, v) == 0) return 1;
    return 0;
}

static int set_has(const strset *s, const char *v)
{
    return set_has_hashed(s, v, str_hash(v));
}

/* Room for at least want members (at most SET_MAX), so a set built in one go (a product, a
 * union) grows once. */
static int set_reserve(strset *s, size_t want)
{
    if (want > SET_MAX) want = SET_MAX;
    if (want <= s->cap) return 0;
    member *g = realloc(s->m, want * sizeof *g);
    if (!g) return -1;
    s->m = g;
    s->cap = want;
    return 0;
}

/* Adds a copy of v (len bytes, hash h; deduplicated). -1 when the set would exceed SET_MAX, v
 * is longer than STR_MAX, or on OOM. */
static int set_add_hashed(strset *s, const char *v, size_t len, uint32_t h)
{
    if (set_has_hashed(s, v, h)) return 0;
    if (s->n >= SET_MAX || len > STR_MAX) return -1;
    if (s->n == s->cap && set_reserve(s, s->cap ? s->cap * 2 : 8) != 0) return -1;
    member *m = &s->m[s->n];
    m->h = h;
    m->len = (uint8_t)len;
    memcpy(m->s, v, len + 1);
    m->freq = -1;
    s->cost_ok = 0;
    s->minimal = 0;
    s->n++;
    return 0;
}

static int set_add(strset *s, const char *v)
{
    return set_add_hashed(s, v, strlen(v), str_hash(v));
}

static int set_union(strset *dst, const strset *src)
{
    if (set_reserve(dst, dst->n + src->n) != 0) return -1;
    for (size_t i = 0; i < src->n; i++)
        if (set_add(dst, src->m[i].s) != 0) return -1;
    return 0;
}

/* The members of src are distinct already: they are copied without membership tests, in
 * their order, so the copy's cost (a sum in member order) and minimality are src's. */
static int set_copy(strset *dst, const strset *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->n == 0) return 0;
    dst->m = malloc(src->n * sizeof *dst->m);
    if (!dst->m) return -1;
    memcpy(dst->m, src->m, src->n * sizeof *dst->m);
    dst->n = dst->cap = src->n;
    dst->cost = src->cost;
    dst->cost_ok = src->cost_ok;
    dst->minimal = src->minimal;
    return 0;
}

/* {a b : a in x, b in y}; -1 when too many or too long. */
static int set_cross(strset *out, const strset *x, const strset *y)
{
    memset(out, 0, sizeof *out);
    if (x->n * y->n > CROSS_MAX) return -1;
    if (set_reserve(out, x->n * y->n) != 0) return -1;
    for (size_t i = 0; i < x->n; i++) {
        for (size_t j = 0; j < y->n; j++) {
            size_t a = x->m[i].len, b = y->m[j].len;
            char buf[STR_MAX + 1];
            if (a + b > STR_MAX) {
                set_free(out);
                return -1;
            }
            memcpy(buf, x->m[i].s, a);
            memcpy(buf + a, y->m[j].s, b + 1);
            if (set_add_hashed(out, buf, a + b, hash_more(x->m[i].h, y->m[j].s)) != 0) {
                set_free(out);
                return -1;
            }
        }
    }
    return 0;
}

/* Which bytes a string holds, coarsely (one bit per letter, one for the space, one for
 * anything else): a string can contain another only if its bits cover the other's. */
static uint32_t byte_bits(const char *v)
{
    uint32_t m = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        m |= *p >= 'a' && *p <= 'z' ? (uint32_t)1 << (*p - 'a') : *p == ' ' ? 1u << 26 : 1u << 27;
    return m;
}

/* A text containing a string also contains every substring of it: in a required set, a
 * member that contains another member adds nothing. Members are distinct, so only a shorter
 * one can be inside another; and a member inside a dropped one is inside it too, so a member
 * goes exactly when some other member is inside it, whatever the order of the tests. Once
 * done, the set stays minimal until a member is added. */
static void set_drop_superstrings(strset *s)
{
    if (s->minimal) return;
    size_t o = 0, nlen[STR_MAX + 2] = {0};
    uint32_t bits[SET_MAX];
    uint16_t by_len[SET_MAX]; /* member indices, shortest first */
    uint8_t dropped[SET_MAX] = {0};
    for (size_t i = 0; i < s->n; i++) {
        bits[i] = byte_bits(s->m[i].s);
        nlen[s->m[i].len + 1]++;
    }
    for (size_t l = 1; l <= STR_MAX + 1; l++) nlen[l] += nlen[l - 1]; /* nlen[l]: shorter than l */
    size_t next[STR_MAX + 1];
    memcpy(next, nlen, sizeof next);
    for (size_t i = 0; i < s->n; i++) by_len[next[s->m[i].len]++] = (uint16_t)i;
    for (size_t i = 0; i < s->n; i++) {
        const member *mi = &s->m[i];
        for (size_t q = 0; q < nlen[mi->len] && !dropped[i]; q++) {
            size_t j = by_len[q];
            if ((bits[j] & ~bits[i]) == 0 && strstr(mi->s, s->m[j].s)) dropped[i] = 1;
        }
    }
    for (size_t i = 0; i < s->n; i++)
        if (!dropped[i]) s->m[o++] = s->m[i];
    s->cost_ok = s->cost_ok && o == s->n;
    s->n = o;
    s->minimal = 1;
}

static size_t set_min_len(const strset *s)
{
    size_t m = STR_MAX + 1;
    for (size_t i = 0; i < s->n; i++)
        if (s->m[i].len < m) m = s->m[i].len;
    return s->n ? m : 0;
}

/* Rough chance per position that one of the strings starts there: short strings are common. */
/* How often a string occurs at a text position, roughly, in English prose: letters at their
 * frequency, a space at one in six, anything else rare, and a whole common word at its word
 * frequency (" to the " is common although each letter is not). Only comparisons between
 * sets use it: the cheapest sets are the ones the scan keeps, as they pass fewest positions. */
static double letter_freq(unsigned char c)
{
    static const double f[26] = {.082, .015, .028, .043, .127, .022, .020, .061, .070,
                                 .002, .008, .040, .024, .067, .075, .019, .001, .060,
                                 .063, .091, .028, .010, .024, .002, .020, .001};
    if (c >= 'a' && c <= 'z') return f[c - 'a'];
    if (c == ' ') return 1.0 / 6;
    return .01;
}

static double common_word_freq(const char *w, size_t n)
{
#define WORD(s, f) {s, sizeof s - 1, f}
    static const struct { const char *w; size_t n; double f; } words[] = {
        WORD("the", .06), WORD("to", .03), WORD("of", .03), WORD("and", .03), WORD("a", .02),
        WORD("in", .02), WORD("is", .01), WORD("you", .01), WORD("that", .01), WORD("it", .01),
        WORD("for", .01), WORD("i", .005), WORD("on", .007), WORD("with", .007),
        WORD("as", .007), WORD("be", .006), WORD("this", .005), WORD("are", .005),
        WORD("or", .004), WORD("an", .004), WORD("at", .004), WORD("by", .004),
        WORD("from", .004), WORD("not", .004), WORD("have", .004), WORD("was", .004),
        WORD("your", .003), WORD("all", .003), WORD("will", .003), WORD("can", .003),
        WORD("if", .003), WORD("we", .003), WORD("do", .002), WORD("me", .002), WORD("my", .002),
        WORD("has", .002), WORD("any", .002), WORD("new", .001), WORD("no", .002),
    };
#undef WORD
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (words[i].n == n && words[i].w[0] == w[0] && memcmp(words[i].w, w, n) == 0)
            return words[i].f;
    return 0;
}

static double string_freq(const char *s)
{
    double p = 1;
    size_t l = strlen(s);
    for (size_t i = 0; i < l;) {
        if (!(s[i] >= 'a' && s[i] <= 'z')) {
            p *= letter_freq((unsigned char)s[i++]);
            continue;
        }
        size_t e = i;
        double q = 1;
        while (e < l && s[e] >= 'a' && s[e] <= 'z') q *= letter_freq((unsigned char)s[e++]);
        double w = common_word_freq(s + i, e - i);
        p *= w > q ? w : q;
        i = e;
    }
    return p;
}

/* string_freq of a member, cached in it (sets are otherwise read-only where this is asked). */
static double member_freq(const member *cm)
{
    member *m = (member *)cm;
    if (m->freq < 0) m->freq = string_freq(m->s);
    return m->freq;
}

/* The cost is cached in the set, which the analysis otherwise treats as read-only here. */
static double set_cost(const strset *cs)
{
    strset *s = (strset *)cs;
    if (!s->cost_ok) {
        s->cost = 0;
        for (size_t i = 0; i < s->n; i++) s->cost += member_freq(&s->m[i]);
        s->cost_ok = 1;
    }
    return s->cost;
}

/* buf = the first k bytes of m (all of it when shorter). */
static void member_prefix(char *buf, const member *m, size_t k)
{
    size_t n = m->len < k ? m->len : k;
    memcpy(buf, m->s, n);
    buf[n] = '\0';
}

/* ---- node information ---- */

static void info_free(info *x)
{
    set_free(&x->exact);
    for (size_t i = 0; i < x->nclause; i++) set_free(&x->clause[i]);
    memset(x, 0, sizeof *x);
}

/* Nothing known: any string. */
static void info_any(info *x, uint32_t wmax)
{
    memset(x, 0, sizeof *x);
    x->wmax = wmax;
}

static int info_exact1(info *x, const char *s, uint32_t wmax)
{
    memset(x, 0, sizeof *x);
    x->wmax = wmax;
    x->exact_ok = 1;
    return set_add(&x->exact, s);
}

static int usable_clause(const strset *s)
{
    return s->n > 0 && !set_has(s, "");
}

/* Adds a copy of c as a required set, keeping the NODE_CLAUSES cheapest. */
static void info_add_clause(info *x, const strset *c)
{
    if (!usable_clause(c)) return;
    strset copy;
    if (set_copy(&copy, c) != 0) return;
    set_drop_superstrings(&copy);
    double cost = set_cost(&copy);
    if (x->nclause < NODE_CLAUSES) {
        x->clause[x->nclause++] = copy;
        return;
    }
    size_t worst = 0;
    for (size_t i = 1; i < x->nclause; i++)
        if (set_cost(&x->clause[i]) > set_cost(&x->clause[worst])) worst = i;
    if (cost < set_cost(&x->clause[worst])) {
        set_free(&x->clause[worst]);
        x->clause[worst] = copy;
    } else {
        set_free(&copy);
    }
}

/* Every required set of x, its exact set included, added to dst. */
static void info_add_all_clauses(info *dst, const info *x)
{
    if (x->exact_ok) info_add_clause(dst, &x->exact);
    for (size_t i = 0; i < x->nclause; i++) info_add_clause(dst, &x->clause[i]);
}

/* a then b; a and b are consumed. */
static void info_concat(info *out, info *a, info *b)
{
    info r;
    info_any(&r, sat_add(a->wmax, b->wmax));
    if (a->exact_ok && b->exact_ok && set_cross(&r.exact, &a->exact, &b->exact) == 0) {
        r.exact_ok = 1;
        /* sets already required on either side stay required */
        for (size_t i = 0; i < a->nclause; i++) info_add_clause(&r, &a->clause[i]);
        for (size_t i = 0; i < b->nclause; i++) info_add_clause(&r, &b->clause[i]);
    } else {
        info_add_all_clauses(&r, a);
        info_add_all_clauses(&r, b);
    }
    info_free(a);
    info_free(b);
    *out = r;
}

/* set_cost of a's union with b, without building it (the sum runs in the order set_union
 * would add the members, so the figure is the same); -1 when the union exceeds SET_MAX. */
static int union_cost(const strset *a, const strset *b, double *cost)
{
    double c = set_cost(a);
    size_t n = a->n;
    for (size_t j = 0; j < b->n; j++) {
        if (set_has_hashed(a, b->m[j].s, b->m[j].h)) continue;
        if (++n > SET_MAX) return -1;
        c += member_freq(&b->m[j]);
    }
    *cost = c;
    return 0;
}

/* a or b; a and b are consumed. */
static void info_alt(info *out, info *a, info *b)
{
    info r;
    info_any(&r, a->wmax > b->wmax ? a->wmax : b->wmax);
    if (a->exact_ok && b->exact_ok && set_copy(&r.exact, &a->exact) == 0) {
        if (set_union(&r.exact, &b->exact) == 0) r.exact_ok = 1;
        else set_free(&r.exact);
    }
    if (!r.exact_ok) {
        /* one required set: the cheapest union of a set of a with a set of b */
        const strset *ca[NODE_CLAUSES + 1], *cb[NODE_CLAUSES + 1];
        size_t na = 0, nb = 0;
        if (a->exact_ok && usable_clause(&a->exact)) ca[na++] = &a->exact;
        for (size_t i = 0; i < a->nclause; i++) ca[na++] = &a->clause[i];
        if (b->exact_ok && usable_clause(&b->exact)) cb[nb++] = &b->exact;
        for (size_t i = 0; i < b->nclause; i++) cb[nb++] = &b->clause[i];
        size_t bi = 0, bj = 0;
        double best_cost = 0;
        int have = 0;
        for (size_t i = 0; i < na; i++) {
            for (size_t j = 0; j < nb; j++) {
                double c;
                if (union_cost(ca[i], cb[j], &c) != 0 || (have && c >= best_cost)) continue;
                bi = i;
                bj = j;
                best_cost = c;
                have = 1;
            }
        }
        strset best;
        if (have && set_copy(&best, ca[bi]) == 0) {
            if (set_union(&best, cb[bj]) == 0) info_add_clause(&r, &best);
            set_free(&best);
        }
    }
    info_free(a);
    info_free(b);
    *out = r;
}

/* a repeated min..max times (max UINT32_MAX: unbounded); a is consumed. */
static void info_repeat(info *out, info *a, uint32_t min, uint32_t max)
{
    info r;
    /* Normalised text never holds two whitespace characters in a row, so a repeated
     * whitespace atom (\s+, [ \t]*) consumes at most one. */
    if (a->exact_ok && a->exact.n == 1 && strcmp(a->exact.m[0].s, " ") == 0) {
        if (max > 1) max = 1;
        if (min > 1) min = 1;
    }
    info_any(&r, max == UINT32_MAX ? (a->wmax ? PREFILTER_WMAX_UNBOUNDED : 0)
                                   : sat_mul(a->wmax, max));
    if (min == 0) {
        if (max == 1 && a->exact_ok && set_copy(&r.exact, &a->exact) == 0) {
            if (set_add(&r.exact, "") == 0) r.exact_ok = 1;
            else set_free(&r.exact);
        }
    } else if (a->exact_ok) {
        strset pow;
        int ok = set_copy(&pow, &a->exact) == 0;
        for (uint32_t k = 1; ok && k < min && k < 8; k++) {
            strset next;
            ok = set_cross(&next, &pow, &a->exact) == 0;
            set_free(&pow);
            if (ok) pow = next;
        }
        if (ok && min == max && min < 8) {
            r.exact = pow;
            r.exact_ok = 1;
        } else if (ok) {
            info_add_clause(&r, &pow); /* min consecutive copies are required */
            set_free(&pow);
        } else {
            info_add_clause(&r, &a->exact);
        }
    } else {
        info_add_all_clauses(&r, a);
    }
    info_free(a);
    *out = r;
}

/* ---- parser ---- */

static int peek(const parser *ps)
{
    return ps->i < ps->n ? (unsigned char)ps->p[ps->i] : -1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \xHH or \x{H...} after the 'x'; -1 on bad syntax. */
static long parse_hex(parser *ps)
{
    long v = 0;
    if (peek(ps) == '{') {
        ps->i++;
        int digits = 0;
        while (hexval(peek(ps)) >= 0 && digits < 8) {
            v = v * 16 + hexval(peek(ps));
            ps->i++;
            digits++;
        }
        if (peek(ps) != '}' || digits == 0) return -1;
        ps->i++;
        return v;
    }
    for (int k = 0; k < 2 && hexval(peek(ps)) >= 0; k++) {
        v = v * 16 + hexval(peek(ps));
        ps->i++;
    }
    return v;
}

/* A character class over ASCII, plus whether it may match a non-ASCII character. */
typedef struct cset {
    uint8_t in[128];
    int nonascii;
} cset;

static void cset_range(cset *c, int lo, int hi)
{
    for (int k = lo; k <= hi && k < 128; k++) c->in[k] = 1;
    if (hi >= 128) c->nonascii = 1;
}

static int is_word(int k)
{
    return (k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z') || (k >= '0' && k <= '9') || k == '_';
}

/* Class escapes \s \S \d \D \w \W \h \H \v \V \N into c; 0 when e is none of them. */
static int cset_class_escape(cset *c, int e)
{
    for (int k = 0; k < 128; k++) {
        int m;
        switch (e) {
        case 's': m = is_ws[k]; break;
        case 'S': m = !is_ws[k]; break;
        case 'd': m = is_digit(k); break;
        case 'D': m = !is_digit(k); break;
        case 'w': m = is_word(k); break;
        case 'W': m = !is_word(k); break;
        case 'h': m = k == ' ' || k == '\t'; break;
        case 'H': m = !(k == ' ' || k == '\t'); break;
        case 'v': m = k >= '\n' && k <= '\r'; break;
        case 'V': m = !(k >= '\n' && k <= '\r'); break;
        case 'N': m = k != '\n'; break;
        default: return 0;
        }
        if (m) c->in[k] = 1;
    }
    if (e != 's' && e != 'd' && e != 'w') c->nonascii = 1; /* \h, \v: Unicode spaces too */
    if (e == 'h' || e == 'v') c->nonascii = 1;
    return 1;
}

/* One literal character of a class or of an escape: returns the code point, or -1 (fail). */
static long escape_char(parser *ps, int e, int in_class)
{
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'e': return 0x1B;
    case 'a': return 0x07;
    case 'b': return in_class ? 0x08 : -1;
    case 'x': return parse_hex(ps);
    default:
        if (e >= 0 && e < 128 && !is_word(e)) return e; /* escaped punctuation is literal */
        return -1;
    }
}

static const char *const posix_names[] = {"alpha", "digit", "alnum", "space", "upper", "lower",
                                          "punct", "print", "graph", "cntrl", "xdigit", "blank",
                                          "word", "ascii"};

/* After '[': parses to the closing ']'. */
static void parse_class(parser *ps, cset *c)
{
    int negate = 0, first = 1;
    memset(c, 0, sizeof *c);
    if (peek(ps) == '^') {
        negate = 1;
        ps->i++;
    }
    for (;;) {
        int ch = peek(ps);
        if (ch < 0) {
            ps->fail = 1;
            return;
        }
        if (ch == ']' && !first) {
            ps->i++;
            break;
        }
        first = 0;
        long lo;
        if (ch == '[' && ps->i + 1 < ps->n && ps->p[ps->i + 1] == ':') {
            /* POSIX class: only whether it may hold whitespace matters; assume it may. */
            const char *end = strstr(ps->p + ps->i, ":]");
            if (!end) {
                ps->fail = 1;
                return;
            }
            int known = 0;
            size_t nlen = (size_t)(end - (ps->p + ps->i + 2));
            const char *name = ps->p + ps->i + 2;
            if (nlen > 0 && name[0] == '^') {
                name++;
                nlen--;
            }
            for (size_t k = 0; k < sizeof posix_names / sizeof posix_names[0]; k++)
                if (strlen(posix_names[k]) == nlen && memcmp(posix_names[k], name, nlen) == 0) known = 1;
            if (!known) {
                ps->fail = 1;
                return;
            }
            cset_range(c, 0, 0x10FFFF);
            ps->i = (size_t)(end - ps->p) + 2;
            continue;
        }
        if (ch == '\\') {
            ps->i++;
            int e = peek(ps);
            if (e < 0) {
                ps->fail = 1;
                return;
            }
            ps->i++;
            if (cset_class_escape(c, e)) continue;
            lo = escape_char(ps, e, 1);
        } else if (ch >= 0x80) {
            /* a non-ASCII member: caseless matching may relate it to ASCII letters */
            while (ps->i < ps->n && ((unsigned char)ps->p[ps->i] >= 0x80)) ps->i++;
            c->nonascii = 1;
            for (int k = 'a'; k <= 'z'; k++) c->in[k] = 1;
            for (int k = 'A'; k <= 'Z'; k++) c->in[k] = 1;
            continue;
        } else {
            lo = ch;
            ps->i++;
        }
        if (lo < 0) {
            ps->fail = 1;
            return;
        }
        long hi = lo;
        if (peek(ps) == '-' && ps->i + 1 < ps->n && ps->p[ps->i + 1] != ']') {
            ps->i++;
            int h = peek(ps);
            ps->i++;
            if (h == '\\') {
                int e = peek(ps);
                ps->i++;
                hi = escape_char(ps, e, 1);
            } else if (h >= 0x80 || h < 0) {
                hi = -1;
            } else {
                hi = h;
            }
            if (hi < lo) {
                ps->fail = 1;
                return;
            }
        }
        cset_range(c, (int)lo, (int)hi);
    }
    /* Caseless: a letter stands for both cases. */
    for (int k = 'a'; k <= 'z'; k++)
        if (c->in[k] || c->in[k - 32]) c->in[k] = c->in[k - 32] = 1;
    if (negate) {
        for (int k = 0; k < 128; k++) c->in[k] = !c->in[k];
        c->nonascii = 1;
    }
}

static void class_info(info *x, const cset *c)
{
    int ws = 0;
    for (int k = 0; k < 128; k++)
        if (c->in[k] && is_ws[k]) ws = 1;
    info_any(x, ws ? 1 : 0);
    if (c->nonascii) return;
    strset folded = {0};
    for (int k = 0; k < 128; k++) {
        if (!c->in[k]) continue;
        char s[2] = {(char)fold((unsigned char)k), 0};
        if (set_add(&folded, s) != 0 || folded.n > 6) {
            set_free(&folded);
            return;
        }
    }
    x->exact = folded;
    x->exact_ok = folded.n > 0;
}

static void parse_alt(parser *ps, info *out);

/* After "(": the group's kind, its inner alternation, and the ')'. */
static void parse_group(parser *ps, info *out)
{
    enum { G_PLAIN, G_LOOK, G_OPTS } kind = G_PLAIN;
    if (peek(ps) == '?') {
        ps->i++;
        int c = peek(ps);
        if (c == ':' || c == '>' || c == '|') {
            ps->i++;
        } else if (c == '=' || c == '!') {
            ps->i++;
            kind = G_LOOK;
        } else if (c == '<' && ps->i + 1 < ps->n && (ps->p[ps->i + 1] == '=' || ps->p[ps->i + 1] == '!')) {
            ps->i += 2;
            kind = G_LOOK;
        } else if (c == '<' || c == '\'' || (c == 'P' && ps->i + 1 < ps->n && ps->p[ps->i + 1] == '<')) {
            /* named capture */
            char close = c == '\'' ? '\'' : '>';
            const char *e = memchr(ps->p + ps->i + 1, close, ps->n - ps->i - 1);
            if (!e) {
                ps->fail = 1;
                return;
            }
            ps->i = (size_t)(e - ps->p) + 1;
        } else if (c == '#') {
            const char *e = memchr(ps->p + ps->i, ')', ps->n - ps->i);
            if (!e) {
                ps->fail = 1;
                return;
            }
            ps->i = (size_t)(e - ps->p) + 1;
            info_exact1(out, "", 0);
            return;
        } else {
            /* inline options: (?i) (?-i) (?i:...); anything else ((?R), (?1), (?&n), (?(...),
             * callouts) is not analysed */
            while (ps->i < ps->n && peek(ps) >= 0 && strchr("imnsJU^-", peek(ps))) ps->i++;
            if (peek(ps) == ')') {
                ps->i++;
                info_exact1(out, "", 0);
                return;
            }
            if (peek(ps) != ':') ps->fail = 1;
            if (ps->fail) return;
            ps->i++;
            kind = G_OPTS;
        }
    }
    info inner;
    parse_alt(ps, &inner);
    if (ps->fail) {
        info_free(&inner);
        return;
    }
    if (peek(ps) != ')') {
        info_free(&inner);
        ps->fail = 1;
        return;
    }
    ps->i++;
    if (kind == G_LOOK) {
        uint32_t w = inner.wmax;
        info_free(&inner);
        info_exact1(out, "", w);
        return;
    }
    *out = inner;
}

/* After '\\' outside a class. */
static void parse_escape(parser *ps, info *out)
{
    int e = peek(ps);
    if (e < 0) {
        ps->fail = 1;
        return;
    }
    ps->i++;
    switch (e) {
    case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G':
        info_exact1(out, "", 0);
        return;
    case 's': case 'n': case 't': case 'r': case 'f':
        info_exact1(out, " ", 1);
        return;
    case 'S': case 'w': case 'd':
        info_any(out, 0);
        return;
    case 'W': case 'D': case 'h': case 'v': case 'N': case 'H': case 'V':
        info_any(out, 1);
        return;
    case 'R':
        info_any(out, 2);
        return;
    default: break;
    }
    long cp = escape_char(ps, e, 0);
    if (cp < 0) {
        ps->fail = 1;
        return;
    }
    if (cp >= 0x80) {
        info_any(out, 0);
        return;
    }
    char s[2] = {(char)fold((unsigned char)cp), 0};
    info_exact1(out, s, is_ws[cp] ? 1 : 0);
}

static void parse_atom(parser *ps, info *out)
{
    int c = peek(ps);
    ps->i++;
    switch (c) {
    case '(':
        if (++ps->depth > DEPTH_MAX) {
            ps->fail = 1;
            return;
        }
        parse_group(ps, out);
        ps->depth--;
        return;
    case '[': {
        cset cs;
        parse_class(ps, &cs);
        if (!ps->fail) class_info(out, &cs);
        return;
    }
    case '\\':
        parse_escape(ps, out);
        return;
    case '.':
        info_any(out, 1);
        return;
    case '^': case '$':
        info_exact1(out, "", 0);
        return;
    case '*': case '+': case '?': case '{':
        ps->fail = 1;
        return;
    default:
        break;
    }
    if (c >= 0x80) {
        while (ps->i < ps->n && ((unsigned char)ps->p[ps->i] & 0xC0) == 0x80) ps->i++;
        info_any(out, 0);
        return;
    }
    char s[2] = {(char)fold((unsigned char)c), 0};
    info_exact1(out, s, is_ws[c] ? 1 : 0);
}

static int parse_number(parser *ps, uint32_t *v)
{
    if (!is_digit(peek(ps))) return -1;
    uint64_t x = 0;
    while (is_digit(peek(ps))) {
        x = x * 10 + (uint64_t)(peek(ps) - '0');
        if (x > 65535) return -1;
        ps->i++;
    }
    *v = (uint32_t)x;
    return 0;
}

/* A quantifier after an atom, if any: 1 with min/max set, 0 when none. */
static int parse_quantifier(parser *ps, uint32_t *min, uint32_t *max)
{
    int c = peek(ps);
    if (c == '*' || c == '+' || c == '?') {
        ps->i++;
        *min = c == '+' ? 1 : 0;
        *max = c == '?' ? 1 : UINT32_MAX;
    } else if (c == '{') {
        ps->i++;
        if (parse_number(ps, min) != 0) {
            ps->fail = 1; /* a literal '{' or {,n}: not analysed */
            return 0;
        }
        *max = *min;
        if (peek(ps) == ',') {
            ps->i++;
            *max = UINT32_MAX;
            if (is_digit(peek(ps)) && parse_number(ps, max) != 0) {
                ps->fail = 1;
                return 0;
            }
        }
        if (peek(ps) != '}' || *max < *min) {
            ps->fail = 1;
            return 0;
        }
        ps->i++;
    } else {
        return 0;
    }
    if (peek(ps) == '?' || peek(ps) == '+') ps->i++; /* lazy / possessive: same strings */
    return 1;
}

/* Adjacent exact atoms are joined into one exact run first, so that a literal after a gap
 * ("[^x]*abc") stays one string rather than three single characters. */
static void flush_run(info *acc, info *run)
{
    info cat;
    info_concat(&cat, acc, run);
    *acc = cat;
    info_exact1(run, "", 0);
}

/* A run followed by an exact atom whose product is too large ("for (?:the |any )?" then
 * seventeen names): the run's strings followed by the atom's strings cut to their first k
 * bytes, for the largest k that fits, are still required, and rarer than the run alone. */
static void extend_run_clause(info *acc, const strset *run, const strset *atom)
{
    for (size_t k = SCAN_LEN; k > 0; k--) {
        strset cut = {0}, joined;
        int ok = 1;
        for (size_t i = 0; ok && i < atom->n; i++) {
            char buf[SCAN_LEN + 1];
            member_prefix(buf, &atom->m[i], k);
            ok = set_add(&cut, buf) == 0;
        }
        if (ok && set_cross(&joined, run, &cut) == 0) {
            set_free(&cut);
            info_add_clause(acc, &joined);
            set_free(&joined);
            return;
        }
        set_free(&cut);
    }
}

static void parse_concat(parser *ps, info *out)
{
    info acc, run;
    info_exact1(&acc, "", 0);
    info_exact1(&run, "", 0);
    while (!ps->fail && ps->i < ps->n && peek(ps) != '|' && peek(ps) != ')') {
        info atom;
        memset(&atom, 0, sizeof atom);
        parse_atom(ps, &atom);
        if (ps->fail) {
            info_free(&atom);
            break;
        }
        uint32_t min, max;
        while (parse_quantifier(ps, &min, &max)) {
            info rep;
            info_repeat(&rep, &atom, min, max);
            atom = rep;
        }
        if (ps->fail) {
            info_free(&atom);
            break;
        }
        if (atom.exact_ok) {
            strset joined;
            if (set_cross(&joined, &run.exact, &atom.exact) == 0) {
                set_free(&run.exact);
                run.exact = joined;
                run.wmax = sat_add(run.wmax, atom.wmax);
                info_free(&atom);
                continue;
            }
            extend_run_clause(&acc, &run.exact, &atom.exact);
            flush_run(&acc, &run);
            info_free(&run);
            run = atom;
            continue;
        }
        flush_run(&acc, &run);
        info cat;
        info_concat(&cat, &acc, &atom);
        acc = cat;
    }
    flush_run(&acc, &run);
    info_free(&run);
    *out = acc;
}

static void parse_alt(parser *ps, info *out)
{
    info acc;
    parse_concat(ps, &acc);
    while (!ps->fail && peek(ps) == '|') {
        ps->i++;
        info next, alt;
        parse_concat(ps, &next);
        info_alt(&alt, &acc, &next);
        acc = alt;
    }
    *out = acc;
}

/* Does every string of a contain a member of b? Then a text holding a holds b. */
static int set_implies(const strset *a, const strset *b)
{
    for (size_t i = 0; i < a->n; i++) {
        int has = 0;
        for (size_t j = 0; j < b->n && !has; j++) has = strstr(a->m[i].s, b->m[j].s) != NULL;
        if (!has) return 0;
    }
    return 1;
}

/* A set implied by another ("for " beside "for the ai") narrows nothing more, and its
 * strings cost hits the scan must record. Of two equivalent sets the first stays. */
static void drop_implied_clauses(info *r)
{
    for (size_t j = 0; j < r->nclause;) {
        int implied = 0;
        for (size_t i = 0; i < r->nclause && !implied; i++)
            implied = i != j && set_implies(&r->clause[i], &r->clause[j]) &&
                      (!set_implies(&r->clause[j], &r->clause[i]) || i < j);
        if (!implied) {
            j++;
            continue;
        }
        set_free(&r->clause[j]);
        memmove(&r->clause[j], &r->clause[j + 1], (r->nclause - j - 1) * sizeof r->clause[0]);
        r->nclause--;
    }
}

/* The rule's required sets, cheapest first, each with strings of at least MIN_LITERAL bytes;
 * nclause 0 when the pattern was not understood. */
static void analyse(const char *pattern, info *out)
{
    parser ps = {.p = pattern, .i = 0, .n = strlen(pattern)};
    info x;
    parse_alt(&ps, &x);
    if (ps.fail || ps.i != ps.n) {
        info_free(&x);
        info_any(out, PREFILTER_WMAX_UNBOUNDED);
        return;
    }
    info r;
    info_any(&r, x.wmax);
    info_add_all_clauses(&r, &x);
    info_free(&x);
    /* keep the useful sets, cheapest first; a text holding a string holds its prefix, so
     * scanning for prefixes keeps the automaton small and stays correct */
    size_t o = 0;
    for (size_t i = 0; i < r.nclause; i++) {
        strset cut = {0};
        int ok = set_min_len(&r.clause[i]) >= MIN_LITERAL;
        for (size_t k = 0; ok && k < r.clause[i].n; k++) {
            char buf[SCAN_LEN + 1];
            member_prefix(buf, &r.clause[i].m[k], SCAN_LEN);
            ok = set_add(&cut, buf) == 0;
        }
        set_free(&r.clause[i]);
        if (!ok) {
            set_free(&cut);
            continue;
        }
        set_drop_superstrings(&cut);
        r.clause[o++] = cut;
    }
    r.nclause = o;
    drop_implied_clauses(&r);
    for (size_t i = 1; i < r.nclause; i++)
        for (size_t j = i; j > 0 && set_cost(&r.clause[j]) < set_cost(&r.clause[j - 1]); j--) {
            strset t = r.clause[j];
            r.clause[j] = r.clause[j - 1];
            r.clause[j - 1] = t;
        }
    /* every kept set narrows where the rule can run (the live positions need all of them) */
    while (r.nclause > RULE_CLAUSES) set_free(&r.clause[--r.nclause]);
    *out = r;
}

/* ---- automaton ---- */

static int grow_u32(uint32_t **a, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    uint32_t *g = realloc(*a, c * sizeof *g);
    if (!g) return -1;
    *a = g;
    *cap = c;
    return 0;
}


/* The index slot of the string with hash h equal to s, or the empty slot where it goes. */
static size_t string_slot_of(const instr_prefilter *p, const char *s, uint32_t h)
{
    size_t i = h & p->slot_mask;
    for (;;) {
        uint32_t id = p->string_slot[i];
        if (id == 0 || (p->string_hash[id - 1] == h && strcmp(p->strings[id - 1], s) == 0))
            return i;
        i = (i + 1) & p->slot_mask;
    }
}

/* Keeps the index at most half full, so probes stay short: thousands of strings are looked
 * up at every rule load. */
static int string_index_grow(instr_prefilter *p)
{
    size_t slots = p->slot_mask ? (p->slot_mask + 1) * 2 : 1024;
    uint32_t *g = calloc(slots, sizeof *g);
    if (!g) return -1;
    free(p->string_slot);
    p->string_slot = g;
    p->slot_mask = slots - 1;
    for (size_t k = 0; k < p->nstrings; k++)
        p->string_slot[string_slot_of(p, p->strings[k], p->string_hash[k])] = (uint32_t)(k + 1);
    return 0;
}

/* The id of s among the automaton's strings, added (numbered in order of first use) if new. */
static long string_id(instr_prefilter *p, const char *s)
{
    uint32_t h = str_hash(s);
    if ((p->nstrings + 1) * 2 > p->slot_mask + 1 && string_index_grow(p) != 0) return -1;
    size_t slot = string_slot_of(p, s, h);
    if (p->string_slot[slot]) return (long)p->string_slot[slot] - 1;
    if (p->nstrings == p->strings_cap) {
        size_t cap = p->strings_cap ? p->strings_cap * 2 : 256;
        char **g = realloc(p->strings, cap * sizeof *g);
        if (!g) return -1;
        p->strings = g;
        uint32_t *gh = realloc(p->string_hash, cap * sizeof *gh);
        if (!gh) return -1;
        p->string_hash = gh;
        p->strings_cap = cap;
    }
    p->strings[p->nstrings] = strdup(s);
    if (!p->strings[p->nstrings]) return -1;
    p->string_hash[p->nstrings] = h;
    p->string_slot[slot] = (uint32_t)(p->nstrings + 1);
    return (long)p->nstrings++;
}

/* Bytes other than letters and the space share a few classes. The automaton only lets
 * positions through, so "api-key" also found at "api_key" costs at most one more position
 * tried, while 32 columns instead of 64 halve the table (1.9 to 1.0 MiB with the built-in
 * rules). */
#define BYTE_GROUPS 5
static int byte_group(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || c == ' ') return 0; /* a class of its own */
    if (c == '\'') return 1;
    if (c >= '0' && c <= '9') return 2;
    if (c == '.' || c == ',' || c == ':' || c == ';' || c == '!' || c == '?') return 3;
    return 4;
}

/* Per string, the sets holding it, in increasing order: one array, the first nstrings + 1
 * entries index the lists that follow. NULL when out of memory. */
static uint32_t *clauses_by_string(const instr_prefilter *p)
{
    size_t ns = p->nstrings, total = p->clause_str_begin[p->nclauses];
    uint32_t *sc = calloc(ns + 1 + total, sizeof *sc);
    if (!sc) return NULL;
    for (size_t q = 0; q < total; q++) sc[p->clause_str[q] + 1]++;
    sc[0] = (uint32_t)(ns + 1);
    for (size_t i = 0; i < ns; i++) sc[i + 1] += sc[i];
    uint32_t *next = malloc((ns + 1) * sizeof *next);
    if (!next) {
        free(sc);
        return NULL;
    }
    memcpy(next, sc, (ns + 1) * sizeof *next);
    for (size_t c = 0; c < p->nclauses; c++)
        for (uint32_t q = p->clause_str_begin[c]; q < p->clause_str_begin[c + 1]; q++)
            sc[next[p->clause_str[q]]++] = (uint32_t)c;
    free(next);
    return sc;
}

/* Builds the DFA over the strings. */
static int build_automaton(instr_prefilter *p)
{
    int rc = -1;
    /* every array, freed at the end (the emit tables pass to p on success) */
    uint32_t *go = NULL, *fail = NULL, *queue = NULL, *term_head = NULL, *term_next = NULL;
    uint32_t *eb = NULL, *ec = NULL, *sc = NULL, *rank = NULL, *eb2 = NULL, *ec2 = NULL;
    uint8_t *el = NULL, *el2 = NULL;
    size_t total = 1;
    for (size_t i = 0; i < p->nstrings; i++) total += strlen(p->strings[i]);
    /* byte classes: 0 for bytes no string uses; letters and the space one each; other bytes
     * a few shared ones (byte_group) */
    size_t nc = 1;
    uint8_t group_class[BYTE_GROUPS] = {0};
    memset(p->cls, 0, sizeof p->cls);
    for (size_t i = 0; i < p->nstrings; i++)
        for (const unsigned char *s = (const unsigned char *)p->strings[i]; *s; s++) {
            if (p->cls[*s]) continue;
            int g = byte_group(*s);
            if (g && !group_class[g]) group_class[g] = (uint8_t)nc++;
            p->cls[*s] = g ? group_class[g] : (uint8_t)nc++;
        }
    for (int b = 0; b < 256; b++) p->cls[b] = p->cls[fold((unsigned char)b)];
    p->nclasses = nc;
    /* go grows with the trie: strings share prefixes, so it has far fewer states than the
     * strings have bytes, and memory never touched costs no page faults */
    size_t go_rows = 1024;
    go = malloc(go_rows * nc * sizeof *go);
    fail = calloc(total, sizeof *fail);
    queue = malloc(total * sizeof *queue);
    /* trie; term_head[s] lists the strings ending at state s, linked by term_next */
    term_head = malloc(total * sizeof *term_head);
    term_next = malloc((p->nstrings + 1) * sizeof *term_next);
    if (!go || !fail || !queue || !term_head || !term_next) goto out;
    memset(go, 0xFF, go_rows * nc * sizeof *go); /* UINT32_MAX: no transition yet */
    for (size_t k = 0; k < total; k++) term_head[k] = UINT32_MAX;
    size_t ns = 1;
    for (size_t i = 0; i < p->nstrings; i++) {
        uint32_t st = 0;
        for (const unsigned char *s = (const unsigned char *)p->strings[i]; *s; s++) {
            uint32_t *slot = &go[(size_t)st * nc + p->cls[*s]];
            if (*slot == UINT32_MAX) {
                if (ns == go_rows) {
                    uint32_t *g = realloc(go, go_rows * 2 * nc * sizeof *g);
                    if (!g) goto out;
                    memset(g + go_rows * nc, 0xFF, go_rows * nc * sizeof *g);
                    go = g;
                    go_rows *= 2;
                    slot = &go[(size_t)st * nc + p->cls[*s]];
                }
                *slot = (uint32_t)ns++;
            }
            st = *slot;
        }
        term_next[i] = term_head[st];
        term_head[st] = (uint32_t)i;
    }
    /* breadth-first: failure links and the full transition function */
    size_t qh = 0, qt = 0;
    for (size_t c = 0; c < nc; c++) {
        uint32_t t = go[c];
        if (t == UINT32_MAX) {
            go[c] = 0;
        } else {
            fail[t] = 0;
            queue[qt++] = t;
        }
    }
    go[0] = 0; /* class 0 never advances */
    while (qh < qt) {
        uint32_t st = queue[qh++];
        for (size_t c = 0; c < nc; c++) {
            uint32_t t = go[(size_t)st * nc + c];
            if (t == UINT32_MAX || c == 0) {
                go[(size_t)st * nc + c] = go[(size_t)fail[st] * nc + c];
            } else {
                fail[t] = go[(size_t)fail[st] * nc + c];
                queue[qt++] = t;
            }
        }
    }
    /* emits per state: every string ending here or at a failure ancestor, times its clauses */
    size_t cap = 64, n = 0;
    eb = malloc((ns + 1) * sizeof *eb);
    ec = malloc(cap * sizeof *ec);
    el = malloc(cap);
    sc = clauses_by_string(p);
    if (!eb || !ec || !el || !sc) goto out;
    for (size_t st = 0; st < ns; st++) {
        eb[st] = (uint32_t)n;
        for (uint32_t a = (uint32_t)st; a != 0; a = fail[a]) {
            for (uint32_t si = term_head[a]; si != UINT32_MAX; si = term_next[si]) {
                for (uint32_t k = sc[si]; k < sc[si + 1]; k++) {
                    if (n == cap) {
                        cap *= 2;
                        uint32_t *g1 = realloc(ec, cap * sizeof *g1);
                        if (g1) ec = g1;
                        uint8_t *g2 = realloc(el, cap);
                        if (g2) el = g2;
                        if (!g1 || !g2) goto out;
                    }
                    ec[n] = sc[k];
                    el[n] = (uint8_t)strlen(p->strings[si]);
                    n++;
                }
            }
        }
    }
    eb[ns] = (uint32_t)n;
    p->nstates = ns;
    /* rows of a power-of-two width and 16-bit states keep the table small and cheap to index */
    unsigned shift = 0;
    while (((size_t)1 << shift) < nc) shift++;
    p->class_shift = shift;
    p->delta = ns <= 65536 ? calloc(ns << shift, sizeof *p->delta) : NULL;
    /* States that emit get the highest numbers: the scan then tests st >= first_emitting
     * instead of loading the emit table at every byte. The root emits nothing and stays 0. */
    rank = malloc(ns * sizeof *rank);
    eb2 = malloc((ns + 1) * sizeof *eb2);
    ec2 = malloc((n ? n : 1) * sizeof *ec2);
    el2 = malloc(n ? n : 1);
    if (!p->delta || !rank || !eb2 || !ec2 || !el2) goto out;
    size_t next = 0, at = 0;
    for (int emitting = 0; emitting < 2; emitting++) {
        if (emitting) p->first_emitting = (uint32_t)next;
        for (size_t q = 0; q < ns; q++) { /* breadth-first: the shallow, hot rows together */
            size_t st = q == 0 ? 0 : queue[q - 1];
            if ((eb[st] != eb[st + 1]) != emitting) continue;
            rank[st] = (uint32_t)next;
            eb2[next++] = (uint32_t)at;
            for (uint32_t e = eb[st]; e < eb[st + 1]; e++, at++) {
                ec2[at] = ec[e];
                el2[at] = el[e];
            }
        }
    }
    eb2[ns] = (uint32_t)at;
    for (size_t st = 0; st < ns; st++)
        for (size_t c = 0; c < nc; c++)
            p->delta[((size_t)rank[st] << shift) + c] = (uint16_t)rank[go[st * nc + c]];
    p->emit_begin = eb2;
    p->emit_clause = ec2;
    p->emit_len = el2;
    eb2 = ec2 = NULL;
    el2 = NULL;
    rc = 0;
out:
    free(go);
    free(fail);
    free(queue);
    free(term_head);
    free(term_next);
    free(eb);
    free(ec);
    free(el);
    free(sc);
    free(rank);
    free(eb2);
    free(ec2);
    free(el2);
    return rc;
}

instr_prefilter *instr_prefilter_build(const char *const *patterns, size_t n)
{
    instr_prefilter *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->nrules = n;
    p->rule = calloc(n ? n : 1, sizeof *p->rule);
    p->clause_str_begin = calloc(n * RULE_CLAUSES + 1, sizeof *p->clause_str_begin);
    if (!p->rule || !p->clause_str_begin) goto fail;
    size_t nstr = 0, strcap = 0;
    for (size_t k = 0; k < n; k++) {
        info x;
        analyse(patterns[k], &x);
        p->rule[k].wmax = x.wmax;
        for (size_t c = 0; c < x.nclause; c++) {
            size_t id = p->nclauses++;
            p->rule[k].clause[p->rule[k].nclause++] = (uint32_t)id;
            p->clause_str_begin[id] = (uint32_t)nstr;
            for (size_t s = 0; s < x.clause[c].n; s++) {
                long sid = string_id(p, x.clause[c].m[s].s);
                if (sid < 0 || grow_u32(&p->clause_str, &strcap, nstr + 1) != 0) {
                    info_free(&x);
                    goto fail;
                }
                p->clause_str[nstr++] = (uint32_t)sid;
            }
            p->clause_str_begin[id + 1] = (uint32_t)nstr;
        }
        info_free(&x);
    }
    p->clause_str_begin[p->nclauses] = (uint32_t)nstr;
    free(p->string_slot);
    p->string_slot = NULL;
    p->slot_mask = 0;
    p->mask_words = (n + 63) / 64;
    p->clause_rule = calloc(p->nclauses + 1, sizeof *p->clause_rule);
    p->setless = calloc(p->mask_words + 1, sizeof *p->setless);
    if (!p->clause_rule || !p->setless) goto fail;
    for (size_t k = 0; k < n; k++) {
        for (size_t c = 0; c < p->rule[k].nclause; c++) p->clause_rule[p->rule[k].clause[c]] = (uint32_t)k;
        if (p->rule[k].nclause == 0) p->setless[k / 64] |= (uint64_t)1 << (k % 64);
    }
    if (build_automaton(p) != 0) goto fail;
    return p;
fail:
    instr_prefilter_free(p);
    return NULL;
}

void instr_prefilter_free(instr_prefilter *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nstrings; i++) free(p->strings[i]);
    free(p->strings);
    free(p->string_hash);
    free(p->string_slot);
    free(p->rule);
    free(p->delta);
    free(p->emit_begin);
    free(p->emit_clause);
    free(p->emit_len);
    free(p->clause_str_begin);
    free(p->clause_str);
    free(p->clause_rule);
    free(p->setless);
    free(p);
}

uint32_t instr_prefilter_describe(const instr_prefilter *p, size_t k, char *out, size_t cap)
{
    size_t o = 0;
    if (cap) out[0] = '\0';
    if (!p || k >= p->nrules) return PREFILTER_WMAX_UNBOUNDED;
    const rule_pf *r = &p->rule[k];
    for (size_t c = 0; c < r->nclause; c++) {
        uint32_t id = r->clause[c];
        o += (size_t)snprintf(out + (o < cap ? o : cap), o < cap ? cap - o : 0, "%s{", c ? " & " : "");
        for (uint32_t q = p->clause_str_begin[id]; q < p->clause_str_begin[id + 1]; q++)
            o += (size_t)snprintf(out + (o < cap ? o : cap), o < cap ? cap - o : 0, "%s%s",
                                  q > p->clause_str_begin[id] ? "|" : "", p->strings[p->clause_str[q]]);
        o += (size_t)snprintf(out + (o < cap ? o : cap), o < cap ? cap - o : 0, "}");
    }
    return r->wmax;
}

size_t instr_prefilter_rules_filtered(const instr_prefilter *p)
{
    size_t n = 0;
    for (size_t k = 0; p && k < p->nrules; k++)
        if (p->rule[k].nclause > 0) n++;
    return n;
}

/* ---- scanning ---- */

static int push_pair(prefilter_scan *s, uint32_t clause, uint32_t pos)
{
    if (s->npairs == s->pair_cap) {
        size_t c = s->pair_cap ? s->pair_cap * 2 : 256;
        uint64_t *a = realloc(s->pair, c * sizeof *a);
        if (!a) return -1;
        s->pair = a;
        s->pair_cap = c;
    }
    s->pair[s->npairs++] = (uint64_t)clause << 32 | pos;
    return 0;
}

/* Emits the strings ending at state st (text index i) that start before limit. */
static int emit_at(prefilter_scan *s, const instr_prefilter *p, uint32_t st, size_t i, size_t limit)
{
    for (uint32_t e = p->emit_begin[st]; e < p->emit_begin[st + 1]; e++) {
        size_t start = i + 1 - p->emit_len[e];
        if (start < limit && push_pair(s, p->emit_clause[e], (uint32_t)start) != 0) return -1;
    }
    return 0;
}

#define SCAN_STREAMS 4
#define STREAM_MIN 8 /* shorter segments are not worth a stream of their own */

/* One stream of the automaton from state st over t[from, stop), reporting strings that start
 * before limit. The state stays in a register: the step's latency is one table load. Returns
 * the state, or UINT32_MAX on allocation failure. */
static uint32_t walk_stream(prefilter_scan *s, const instr_prefilter *p, const unsigned char *t,
                            size_t from, size_t stop, size_t limit, uint32_t st)
{
    const uint16_t *delta = p->delta;
    const uint8_t *cls = p->cls;
    const unsigned shift = p->class_shift;
    const uint32_t fe = p->first_emitting;
    for (size_t i = from; i < stop; i++) {
        st = delta[((size_t)st << shift) + cls[t[i]]];
        if (st >= fe && emit_at(s, p, st, i, limit) != 0) return UINT32_MAX;
    }
    return st;
}

/* The automaton over t[0, len). A step depends on the previous state, so one stream runs at
 * the latency of a table load; longer windows are cut into SCAN_STREAMS (4) segments walked
 * in lockstep. Segment k is walked from the root at its start (so every string starting in it
 * is found) until SCAN_LEN - 1 bytes past its end (to finish strings that start in it), and
 * reports only strings starting in it. */
static int automaton_scan(prefilter_scan *s, const instr_prefilter *p, const unsigned char *t,
                          size_t len)
{
    if (len < STREAM_MIN * SCAN_STREAMS)
        return walk_stream(s, p, t, 0, len, len, 0) == UINT32_MAX ? -1 : 0;
    const uint16_t *delta = p->delta;
    const uint8_t *cls = p->cls;
    const unsigned shift = p->class_shift;
    const uint32_t fe = p->first_emitting;
    const size_t seg = len / SCAN_STREAMS;
    const unsigned char *t1 = t + seg, *t2 = t + 2 * seg, *t3 = t + 3 * seg;
    uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t n = 0; n < seg; n++) {
        s0 = delta[((size_t)s0 << shift) + cls[t[n]]];
        s1 = delta[((size_t)s1 << shift) + cls[t1[n]]];
        s2 = delta[((size_t)s2 << shift) + cls[t2[n]]];
        s3 = delta[((size_t)s3 << shift) + cls[t3[n]]];
        if (s0 < fe && s1 < fe && s2 < fe && s3 < fe) continue;
        if ((s0 >= fe && emit_at(s, p, s0, n, seg) != 0) ||
            (s1 >= fe && emit_at(s, p, s1, seg + n, 2 * seg) != 0) ||
            (s2 >= fe && emit_at(s, p, s2, 2 * seg + n, 3 * seg) != 0) ||
            (s3 >= fe && emit_at(s, p, s3, 3 * seg + n, len) != 0))
            return -1;
    }
    /* The first three segments' strings may end up to SCAN_LEN - 1 bytes into the next: those
     * tails run in lockstep too (one after the other they cost as much as the segments of a
     * short window), the last segment meanwhile takes its few bytes of remainder. */
    const size_t tail = SCAN_LEN - 1 < len - 3 * seg ? SCAN_LEN - 1 : len - 3 * seg;
    const size_t rest = len - 4 * seg; /* < SCAN_STREAMS */
    for (size_t n = 0; n < tail; n++) {
        s0 = delta[((size_t)s0 << shift) + cls[t1[n]]];
        s1 = delta[((size_t)s1 << shift) + cls[t2[n]]];
        s2 = delta[((size_t)s2 << shift) + cls[t3[n]]];
        if (n < rest) s3 = delta[((size_t)s3 << shift) + cls[t3[seg + n]]];
        if ((s0 >= fe && emit_at(s, p, s0, seg + n, seg) != 0) ||
            (s1 >= fe && emit_at(s, p, s1, 2 * seg + n, 2 * seg) != 0) ||
            (s2 >= fe && emit_at(s, p, s2, 3 * seg + n, 3 * seg) != 0) ||
            (n < rest && s3 >= fe && emit_at(s, p, s3, 4 * seg + n, len) != 0))
            return -1;
    }
    const uint32_t end[SCAN_STREAMS] = {s0, s1, s2, s3};
    for (size_t k = 0; k < SCAN_STREAMS; k++) {
        size_t limit = k + 1 == SCAN_STREAMS ? len : (k + 1) * seg;
        size_t stop = limit + SCAN_LEN - 1 < len ? limit + SCAN_LEN - 1 : len;
        size_t from = (k + 1) * seg + (k + 1 == SCAN_STREAMS ? (tail < rest ? tail : rest) : tail);
        if (from < stop && walk_stream(s, p, t, from, stop, limit, end[k]) == UINT32_MAX)
            return -1;
    }
    return 0;
}

/* Bits set in a 16-bit mask. The x86-64 baseline has no POPCNT instruction (the builtin
 * becomes a library call), and this is asked once per position tried. */
static inline uint32_t popcount16(uint32_t m)
{
    static const uint8_t bits8[256] = {
#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
        B6(0), B6(1), B6(1), B6(2)
#undef B2
#undef B4
#undef B6
    };
    return (uint32_t)bits8[m & 0xFF] + bits8[(m >> 8) & 0xFF];
}

/* Fills the whitespace blocks of t[0, len); returns nonzero when t holds a 0xC5 or 0xE2 byte
 * (which could start LONG S or KELVIN SIGN). */
static unsigned whitespace_blocks(prefilter_scan *s, const unsigned char *t, size_t len)
{
    size_t full = len / 16, b = 0;
    uint32_t w = 0;
    unsigned suspect = 0;
#ifdef __SSE2__
    const __m128i sp = _mm_set1_epi8(' '), nine = _mm_set1_epi8('\t'), four = _mm_set1_epi8(4),
                  c5 = _mm_set1_epi8((char)0xC5), e2 = _mm_set1_epi8((char)0xE2);
    for (; b < full; b++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(t + b * 16));
        __m128i x = _mm_sub_epi8(v, nine); /* '\t'..'\r': x <= 4, unsigned */
        __m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(_mm_min_epu8(x, four), x));
        uint16_t m = (uint16_t)_mm_movemask_epi8(ws);
        suspect |= (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, c5), _mm_cmpeq_epi8(v, e2)));
        s->wblock[b] = w;
        s->wbits[b] = m;
        w += popcount16(m);
    }
#endif
    for (; b * 16 <= len; b++) {
        uint16_t m = 0;
        for (size_t i = b * 16; i < len && i < b * 16 + 16; i++) {
            if (is_ws[t[i]]) m |= (uint16_t)(1u << (i - b * 16));
            suspect |= t[i] == 0xC5 || t[i] == 0xE2;
        }
        s->wblock[b] = w;
        s->wbits[b] = m;
        w += popcount16(m);
    }
    return suspect;
}

/* Whitespace bytes in [from, from + i) of the scanned window. */
static uint32_t ws_before(const prefilter_scan *s, size_t i)
{
    return s->wblock[i / 16] + popcount16(s->wbits[i / 16] & ((1u << (i % 16)) - 1));
}

/* Orders the pairs by clause, each clause's occurrences by position: its run is then its
 * occurrence list. The scan emits pairs almost in position order: its streams cover
 * consecutive quarters of the window in lockstep, and within a stream a string can end after
 * a longer one that started earlier. So a stable counting pass by (clause, quarter) over the
 * clauses found, then an insertion pass per clause, sorts in about linear time. */
static int group_pairs(prefilter_scan *s, size_t len)
{
    size_t quarter = len / SCAN_STREAMS + 1;
    if (s->npairs > s->tmp_cap) {
        uint64_t *t = realloc(s->tmp, s->pair_cap * sizeof *t);
        if (!t) return -1;
        s->tmp = t;
        s->tmp_cap = s->pair_cap;
    }
    for (size_t k = 0; k < s->npairs; k++) {
        uint32_t c = (uint32_t)(s->pair[k] >> 32), q = (uint32_t)s->pair[k] / (uint32_t)quarter;
        if (s->gen[c] != s->scan_gen) {
            s->gen[c] = s->scan_gen;
            s->found[s->nfound++] = c;
            memset(s->count + (size_t)c * SCAN_STREAMS, 0, SCAN_STREAMS * sizeof *s->count);
        }
        s->count[(size_t)c * SCAN_STREAMS + q]++;
    }
    uint32_t at = 0;
    for (size_t f = 0; f < s->nfound; f++) {
        uint32_t c = s->found[f], *n = s->count + (size_t)c * SCAN_STREAMS;
        s->begin[c] = at;
        for (size_t q = 0; q < SCAN_STREAMS; q++) {
            uint32_t here = n[q];
            n[q] = at; /* from now on: where the next pair of (c, q) goes */
            at += here;
        }
        s->end[c] = at;
    }
    for (size_t k = 0; k < s->npairs; k++) {
        uint32_t c = (uint32_t)(s->pair[k] >> 32), q = (uint32_t)s->pair[k] / (uint32_t)quarter;
        s->tmp[s->count[(size_t)c * SCAN_STREAMS + q]++] = s->pair[k];
    }
    uint64_t *t = s->pair;
    s->pair = s->tmp;
    s->tmp = t;
    size_t cap = s->pair_cap;
    s->pair_cap = s->tmp_cap;
    s->tmp_cap = cap;
    for (size_t f = 0; f < s->nfound; f++) {
        uint32_t c = s->found[f];
        for (uint32_t k = s->begin[c] + 1; k < s->end[c]; k++) {
            uint64_t v = s->pair[k];
            uint32_t j = k;
            for (; j > s->begin[c] && s->pair[j - 1] > v; j--) s->pair[j] = s->pair[j - 1];
            s->pair[j] = v;
        }
    }
    return 0;
}

int prefilter_scan_run(prefilter_scan *s, const instr_prefilter *p, const char *text,
                       size_t from, size_t to)
{
    size_t len = to - from;
    size_t nblocks = len / 16 + 1;
    if (nblocks > s->wcap) {
        size_t cap = s->wcap ? s->wcap : 64;
        while (cap < nblocks) cap *= 2;
        uint32_t *b = realloc(s->wblock, cap * sizeof *b);
        if (!b) return -1;
        s->wblock = b;
        uint16_t *m = realloc(s->wbits, cap * sizeof *m);
        if (!m) return -1;
        s->wbits = m;
        s->wcap = cap;
    }
    if (s->nclauses != p->nclauses || s->nrules != p->nrules) {
        free(s->begin);
        free(s->end);
        free(s->gen);
        free(s->found);
        free(s->rule_gen);
        free(s->rule_count);
        free(s->count);
        s->count = calloc((p->nclauses + 1) * SCAN_STREAMS, sizeof *s->count);
        s->begin = calloc(p->nclauses + 1, sizeof *s->begin);
        s->end = calloc(p->nclauses + 1, sizeof *s->end);
        s->gen = calloc(p->nclauses + 1, sizeof *s->gen);
        s->found = calloc(p->nclauses + 1, sizeof *s->found);
        s->rule_gen = calloc(p->nrules + 1, sizeof *s->rule_gen);
        s->rule_count = calloc(p->nrules + 1, sizeof *s->rule_count);
        if (!s->begin || !s->end || !s->gen || !s->found || !s->rule_gen || !s->rule_count ||
            !s->count) {
            s->nclauses = s->nrules = 0;
            return -1;
        }
        s->nclauses = p->nclauses;
        s->nrules = p->nrules;
        s->scan_gen = 0;
    }
    if (++s->scan_gen == 0) { /* wrapped: stale stamps could look current */
        memset(s->gen, 0, p->nclauses * sizeof *s->gen);
        memset(s->rule_gen, 0, p->nrules * sizeof *s->rule_gen);
        s->scan_gen = 1;
    }
    s->nfound = 0;
    s->from = from;
    s->to = to;
    s->npairs = 0;
    const unsigned char *t = (const unsigned char *)text + from;
    unsigned suspect = whitespace_blocks(s, t, len);
    /* Caseless UTF matching lets 'k' and 's' match KELVIN SIGN and LONG S, which the literals
     * (ASCII) do not: a window holding either is not filtered. */
    if (suspect && (memmem(t, len, "\xC5\xBF", 2) || memmem(t, len, "\xE2\x84\xAA", 3)))
        return -1;
    if (automaton_scan(s, p, t, len) != 0) return -1;
    return group_pairs(s, len);
}

int prefilter_rule_may_run(prefilter_scan *s, const instr_prefilter *p, size_t k, size_t j,
                           int partial)
{
    const rule_pf *r = &p->rule[k];
    if (r->nclause == 0) return 1;
    uint32_t jr = (uint32_t)(j - s->from);
    uint32_t wj = ws_before(s, jr);
    if (partial && ws_before(s, s->to - s->from) - wj <= r->wmax) return 1;
    for (size_t c = 0; c < r->nclause; c++) {
        uint32_t id = r->clause[c];
        if (s->gen[id] != s->scan_gen) return 0; /* none in the window */
        uint32_t q = s->begin[id], end = s->end[id];
        while (q < end && (uint32_t)s->pair[q] < jr) q++;
        s->begin[id] = q;
        if (q == end || ws_before(s, (uint32_t)s->pair[q]) - wj > r->wmax) return 0;
    }
    return 1;
}

int prefilter_window_rules(prefilter_scan *s, const instr_prefilter *p, uint64_t *mask,
                           size_t words)
{
    int any = 0;
    for (size_t w = 0; w < words; w++) {
        mask[w] = w < p->mask_words ? p->setless[w] : 0;
        any |= mask[w] != 0;
    }
    /* a rule is in when each of its sets was found: count the sets found per rule */
    for (size_t i = 0; i < s->nfound; i++) {
        uint32_t k = p->clause_rule[s->found[i]];
        if (s->rule_gen[k] != s->scan_gen) {
            s->rule_gen[k] = s->scan_gen;
            s->rule_count[k] = 0;
        }
        if (++s->rule_count[k] == p->rule[k].nclause && k / 64 < words) {
            mask[k / 64] |= (uint64_t)1 << (k % 64);
            any = 1;
        }
    }
    return any;
}

/* Window index just past the n-th whitespace byte (n >= 1) of the window. */
static uint32_t after_nth_ws(const prefilter_scan *s, uint32_t n)
{
    size_t lo = 0, hi = (s->to - s->from) / 16 + 1; /* blocks; wblock is non-decreasing */
    while (hi - lo > 1) {                           /* last block b with wblock[b] < n */
        size_t mid = (lo + hi) / 2;
        if (s->wblock[mid] < n) lo = mid;
        else hi = mid;
    }
    uint32_t bits = s->wbits[lo];
    for (uint32_t skip = n - s->wblock[lo] - 1; skip > 0; skip--) bits &= bits - 1;
    return (uint32_t)(lo * 16) + (uint32_t)__builtin_ctz(bits) + 1;
}

static void live_set(uint64_t *live, uint32_t a, uint32_t b) /* [a, b] */
{
    size_t wa = a / 64, wb = b / 64;
    uint64_t first = ~(uint64_t)0 << (a % 64), last = ~(uint64_t)0 >> (63 - b % 64);
    if (wa == wb) {
        live[wa] |= first & last;
        return;
    }
    live[wa] |= first;
    for (size_t w = wa + 1; w < wb; w++) live[w] = ~(uint64_t)0;
    live[wb] |= last;
}

/* Marks in bm the positions at or before an occurrence of clause id within wmax whitespace
 * characters. */
static void mark_reach(const prefilter_scan *s, uint64_t *bm, uint32_t id, uint32_t wmax)
{
    for (uint32_t q = s->begin[id]; q < s->end[id]; q++) {
        uint32_t at = (uint32_t)s->pair[q], wq = ws_before(s, at);
        uint32_t j = wmax == PREFILTER_WMAX_UNBOUNDED || wq <= wmax ? 0 : after_nth_ws(s, wq - wmax);
        if (j <= at) live_set(bm, j, at);
    }
}

int prefilter_live_mark(prefilter_scan *s, const instr_prefilter *p, const uint64_t *mask,
                        size_t words)
{
    size_t len = s->to - s->from, nw = len / 64 + 1;
    if (nw > s->live_cap) {
        uint64_t *l = realloc(s->live, 3 * nw * sizeof *l);
        if (!l) return -1;
        s->live = l;
        s->live_cap = nw;
    }
    uint64_t *rule_bm = s->live + nw, *clause_bm = s->live + 2 * nw;
    memset(s->live, 0, nw * sizeof *s->live);
    if (len == 0) return 0;
    for (size_t w = 0; w < words && w < p->mask_words; w++) {
        for (uint64_t bits = mask[w]; bits; bits &= bits - 1) {
            size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
            const rule_pf *r = &p->rule[k];
            if (r->nclause == 0) {
                live_set(s->live, 0, (uint32_t)len - 1);
                return 0;
            }
            int absent = 0;
            for (size_t c = 0; c < r->nclause; c++) absent |= s->gen[r->clause[c]] != s->scan_gen;
            if (absent) continue; /* a set not in the window: the rule matches nowhere */
            if (r->nclause == 1) {
                mark_reach(s, s->live, r->clause[0], r->wmax);
                continue;
            }
            /* every set must lie ahead within reach: the intersection of their reaches */
            memset(rule_bm, 0, nw * sizeof *rule_bm);
            mark_reach(s, rule_bm, r->clause[0], r->wmax);
            for (size_t c = 1; c < r->nclause; c++) {
                memset(clause_bm, 0, nw * sizeof *clause_bm);
                mark_reach(s, clause_bm, r->clause[c], r->wmax);
                for (size_t i = 0; i < nw; i++) rule_bm[i] &= clause_bm[i];
            }
            for (size_t i = 0; i < nw; i++) s->live[i] |= rule_bm[i];
        }
    }
    return 0;
}

size_t prefilter_next_live(const prefilter_scan *s, size_t j)
{
    size_t len = s->to - s->from, r = j - s->from;
    if (r >= len) return s->to;
    size_t w = r / 64;
    uint64_t bits = s->live[w] & (~(uint64_t)0 << (r % 64));
    while (!bits) {
        if (++w > len / 64) return s->to;
        bits = s->live[w];
    }
    size_t at = w * 64 + (size_t)__builtin_ctzll(bits);
    return at < len ? s->from + at : s->to;
}

size_t prefilter_live_end(const prefilter_scan *s, size_t j)
{
    size_t len = s->to - s->from, r = j - s->from;
    if (r >= len) return s->to;
    size_t w = r / 64;
    uint64_t bits = ~s->live[w] & (~(uint64_t)0 << (r % 64));
    while (!bits) {
        if (++w > len / 64) return s->to;
        bits = ~s->live[w];
    }
    size_t at = w * 64 + (size_t)__builtin_ctzll(bits);
    return at < len ? s->from + at : s->to;
}

void prefilter_scan_free(prefilter_scan *s)
{
    free(s->live);
    free(s->wblock);
    free(s->wbits);
    free(s->pair);
    free(s->tmp);
    free(s->count);
    free(s->begin);
    free(s->end);
    free(s->gen);
    free(s->found);
    free(s->rule_gen);
    free(s->rule_count);
    memset(s, 0, sizeof *s);
}
