/* sanitizer (private): the instruction-like span matcher. The filter feeds the visible text of
 * a run; the text is normalised (normalize.c) into a window that PCRE2 searches with
 * PCRE2_PARTIAL_HARD, so the matcher knows exactly how much of the run could still begin a
 * match and holds back only that. A match is mapped back through the normaliser's offsets to a
 * cut on the original bytes.
 *
 * Bounds: a possible match is held back for at most max_holdback original bytes. A match
 * longer than that is never reported, and a partial match that could only become one is not
 * waited for: at that position the next rule is tried, as if the long one had not matched. So
 * an instruction longer than max_holdback is not cut, and the cuts do not depend on how the run
 * was split into pieces.
 *
 * Speed: the start table (instr_rules.h) limits the rules tried at a position to those that
 * can begin with the next characters, and the literal prefilter (instr_prefilter.h) to those
 * whose required words lie ahead within the rule's reach. */
#include "sanitizer/instr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/instr_rules.h"
#include "sanitizer/normalize.h"
#include "sanitizer/unicode_text.h"

#define SLICE_BYTES 4096        /* text normalised and searched per step */
#define DEFAULT_HOLDBACK 4096
#define SEARCH_MIN 1024         /* normalised bytes gathered before a search inside a run */
#define EXCERPT_CHARS 200

struct instr_matcher {
    const sanitizer_rules *rules;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    size_t max_holdback;
    size_t context_bytes; /* normalised bytes kept before the search start (lookbehind, \b) */
    int prefilter_on;
    prefilter_scan pscan;
    uint64_t *fmask;      /* candidate rules left by the prefilter at one position */
    uint64_t *wmask;      /* rules whose required literals are all in the window */
    size_t search_min;    /* see instr_feed */

    /* the current run */
    norm_state ns;
    norm_buf nb;
    size_t scan;          /* nb index where the next search starts */
    size_t searched;      /* nb.len at the last search */
    int has_partial;      /* a possible match starts at nb index `partial` */
    size_t partial;
    uint64_t run_len;     /* original bytes fed so far */
    uint64_t stable;
    int run_ended;
    int error_logged;

    /* original bytes from obase to run_len, for excerpts */
    char *orig;
    size_t olen, ocap;
    uint64_t obase;

    /* decided cuts, in order */
    instr_cut *cuts;
    size_t head, count, cap;
};

instr_matcher *instr_matcher_new(const sanitizer_rules *rules, size_t max_holdback)
{
    instr_matcher *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->rules = rules ? rules : sanitizer_rules_default();
    m->max_holdback = max_holdback ? max_holdback : DEFAULT_HOLDBACK;
    m->context_bytes = 64;
    m->prefilter_on = 1;
    m->search_min = m->max_holdback / 4 < SEARCH_MIN ? m->max_holdback / 4 : SEARCH_MIN;
    if (m->rules && m->rules->n > 0) {
        m->context_bytes += (size_t)m->rules->max_lookbehind * 4;
        m->md = pcre2_match_data_create(1, NULL);
        m->mctx = pcre2_match_context_create(NULL);
        m->jit_stack = instr_rules_take_jit_stack(m->rules);
        m->fmask = calloc(m->rules->mask_words, sizeof *m->fmask);
        m->wmask = calloc(m->rules->mask_words, sizeof *m->wmask);
        if (!m->md || !m->mctx || !m->jit_stack || !m->fmask || !m->wmask) {
            instr_matcher_free(m);
            return NULL;
        }
        pcre2_jit_stack_assign(m->mctx, NULL, m->jit_stack);
        pcre2_set_match_limit(m->mctx, 10u * 1000 * 1000);
    }
    return m;
}

void instr_matcher_free(instr_matcher *m)
{
    if (!m) return;
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    if (m->jit_stack) instr_rules_give_jit_stack(m->rules, m->jit_stack);
    norm_buf_free(&m->nb);
    prefilter_scan_free(&m->pscan);
    free(m->fmask);
    free(m->wmask);
    free(m->orig);
    free(m->cuts);
    free(m);
}

void instr_matcher_set_prefilter(instr_matcher *m, int on)
{
    m->prefilter_on = on;
}

static void reset_run(instr_matcher *m)
{
    memset(&m->ns, 0, sizeof m->ns);
    m->nb.len = 0;
    m->scan = 0;
    m->searched = 0;
    m->has_partial = 0;
    m->partial = 0;
    m->run_len = 0;
    m->stable = 0;
    m->run_ended = 0;
    m->olen = 0;
    m->obase = 0;
}

static size_t next_char(const norm_buf *b, size_t i)
{
    i++;
    while (i < b->len && ((unsigned char)b->text[i] & 0xC0) == 0x80) i++;
    return i;
}

/* First EXCERPT_CHARS characters of the original text [os, oe), invisible characters and
 * invalid bytes removed (the same text a reader would have seen). */
static void make_excerpt(const instr_matcher *m, uint64_t os, uint64_t oe, char *out, size_t cap)
{
    const char *src = m->orig + (os - m->obase);
    size_t len = (size_t)(oe - os);
    char tmp[EXCERPT_CHARS * 4 * 4];
    uint64_t dropped = 0;
    if (len > sizeof tmp) len = sizeof tmp;
    size_t n = invisible_strip(src, len, tmp, &dropped);
    size_t o = 0, chars = 0;
    for (size_t i = 0; i < n && chars < EXCERPT_CHARS;) {
        uint32_t cp;
        int k = utf8_decode((const unsigned char *)tmp + i, n - i, &cp);
        if (k <= 0) break;
        if (o + (size_t)k >= cap) break;
        memcpy(out + o, tmp + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
        chars++;
    }
    out[o] = '\0';
}

static int push_cut(instr_matcher *m, uint64_t os, uint64_t oe, const instr_rule *rule)
{
    if (m->head > 0 && m->head == m->count) m->head = m->count = 0;
    if (m->count == m->cap) {
        if (m->head > 0) {
            memmove(m->cuts, m->cuts + m->head, (m->count - m->head) * sizeof *m->cuts);
            m->count -= m->head;
            m->head = 0;
        } else {
            size_t cap = m->cap ? m->cap * 2 : 8;
            instr_cut *c = realloc(m->cuts, cap * sizeof *c);
            if (!c) return -1;
            m->cuts = c;
            m->cap = cap;
        }
    }
    instr_cut *c = &m->cuts[m->count++];
    c->start = os;
    c->end = oe;
    snprintf(c->rule_id, sizeof c->rule_id, "%s", rule ? rule->id : "unknown");
    make_excerpt(m, os, oe, c->excerpt, sizeof c->excerpt);
    return 0;
}

static int mask_any(const uint64_t *mask, size_t words)
{
    for (size_t w = 0; w < words; w++)
        if (mask[w]) return 1;
    return 0;
}

static int mask_and_any(const uint64_t *a, const uint64_t *b, size_t words)
{
    for (size_t w = 0; w < words; w++)
        if (a[w] & b[w]) return 1;
    return 0;
}

/* The rules that may start at nb index i (see start_mask in instr_rules.h); NULL for none. */
static const uint64_t *start_candidates(const instr_matcher *m, size_t i)
{
    const sanitizer_rules *r = m->rules;
    const unsigned char *t = (const unsigned char *)m->nb.text;
    if (!r->start_mask) return r->all_mask;
    unsigned c1 = t[i], p = i > 0 ? t[i - 1] : 0;
    const uint64_t *mask;
    if (c1 >= 0xC0) {
        mask = r->lead_mask + (c1 - 0xC0) * r->mask_words;
        return mask_any(mask, r->mask_words) ? mask : NULL;
    }
    if (!START_TABLE_CHAR(c1)) return r->all_mask;
    int prev_word = i == 0 ? START_AT_TEXT_START : (r->byte_kind[p] & BK_WORD) != 0;
    if (i + 1 >= m->nb.len || !START_TABLE_CHAR(t[i + 1])) {
        mask = r->first_mask + ((size_t)prev_word * 128 + c1) * r->mask_words;
        return mask_any(mask, r->mask_words) ? mask : NULL;
    }
    unsigned c2 = t[i + 1];
    size_t e = START_TABLE_INDEX(prev_word, c1, c2);
    if (!r->third_index[e]) return NULL;
    mask = r->start_mask + e * r->mask_words;
    if (i + 2 < m->nb.len) {
        unsigned c3 = t[i + 2];
        if (!START_TABLE_CHAR(c3)) return mask;
        mask = r->third + ((size_t)(r->third_index[e] - 1) * 128 + c3) * r->mask_words;
        return mask_any(mask, r->mask_words) ? mask : NULL;
    }
    return mask;
}

typedef enum { TRY_NONE, TRY_MATCH, TRY_PARTIAL } try_result;

/* 1 when a possible match starting at nb index i can still end within max_holdback original
 * bytes: it would end at or after the run's end so far, so not when that is already too far. */
static int partial_may_count(const instr_matcher *m, size_t i)
{
    return m->run_len - norm_src_start(&m->nb, i) <= m->max_holdback;
}

/* Tries the candidate rules at position i in rule order, as one alternation would: the first
 * rule that matches, or that reaches the end of the text (partial), decides. A match longer
 * than max_holdback original bytes is never reported (so cuts do not depend on how the run was
 * split), and a partial match that could only become such a match is not waited for: either
 * way the next rule is tried, as if that rule had not matched there. */
static try_result try_rules_at(instr_matcher *m, const uint64_t *mask, size_t i, uint32_t opts,
                               size_t *end, size_t *rule)
{
    const sanitizer_rules *r = m->rules;
    for (size_t w = 0; w < r->mask_words; w++) {
        uint64_t bits = mask[w];
        while (bits) {
            size_t k = w * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            /* pcre2_jit_match skips the per-call checks pcre2_match repeats; JIT is the norm. */
            int rc = r->jit_ok ? pcre2_jit_match(r->code[k], (PCRE2_SPTR)m->nb.text, m->nb.len, i,
                                                 opts, m->md, m->mctx)
                               : pcre2_match(r->code[k], (PCRE2_SPTR)m->nb.text, m->nb.len, i,
                                             opts, m->md, m->mctx);
            if (rc >= 0) {
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
                if (ov[1] <= i) continue; /* an empty or backward match: not a cut */
                if (norm_src_end(&m->nb, ov[1] - 1) - norm_src_start(&m->nb, i) > m->max_holdback) continue;
                *end = ov[1];
                *rule = k;
                return TRY_MATCH;
            }
            if (rc == PCRE2_ERROR_PARTIAL) {
                if (!partial_may_count(m, i)) continue;
                return TRY_PARTIAL;
            }
            if (rc != PCRE2_ERROR_NOMATCH && !m->error_logged) {
                m->error_logged = 1;
                ag_log(AG_LOG_WARN, "instr_match_error", "rule=%s code=%d", r->rule[k].id, rc);
            }
        }
    }
    return TRY_NONE;
}

/* Rules that can still match in the bytes from i to the end of a final window. */
static const uint64_t *minlen_candidates(const instr_matcher *m, size_t i)
{
    size_t left = m->nb.len - i;
    if (left >= MINLEN_ENTRIES) left = MINLEN_ENTRIES - 1;
    return m->rules->minlen_mask + left * m->rules->mask_words;
}

/* The start table's candidates at i narrowed by the prefilter to the rules whose required
 * literals lie ahead within reach; NULL when none is left. */
static const uint64_t *prefilter_candidates(instr_matcher *m, const uint64_t *mask, size_t i,
                                            int final)
{
    const sanitizer_rules *r = m->rules;
    int any = 0, partial = !final && partial_may_count(m, i);
    for (size_t w = 0; w < r->mask_words; w++) {
        uint64_t bits = mask[w] & (final ? m->wmask[w] : ~(uint64_t)0), keep = 0;
        if (final) bits &= minlen_candidates(m, i)[w];
        while (bits) {
            size_t b = (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (prefilter_rule_may_run(&m->pscan, r->prefilter, w * 64 + b, i, partial))
                keep |= (uint64_t)1 << b;
        }
        m->fmask[w] = keep;
        any |= keep != 0;
    }
    return any ? m->fmask : NULL;
}

/* The first position in [i, stop) where a rule can start (*mask: which), or stop. Positions
 * stay on character boundaries: the inner loop skips only ASCII, and a position with no
 * candidate moves on by a whole character. The inner loop is the common case: two printable
 * characters after which no rule can start (none of live_rules, when given). */
static size_t next_start(const instr_matcher *m, size_t i, size_t stop, const uint64_t *live_rules,
                         const uint64_t **mask)
{
    const unsigned char *t = (const unsigned char *)m->nb.text;
    const uint64_t *any = m->rules->start_any;
    const size_t words = m->rules->mask_words;
    while (i < stop) {
        if (any && i > 0) {
            /* the character before, this one and the next, carried from step to step */
            const uint8_t *kind = m->rules->byte_kind;
            unsigned p = t[i - 1], c1 = t[i];
            while (i + 2 < stop) {
                unsigned c2 = t[i + 1];
                unsigned k1 = kind[c1];
                if ((kind[p] & BK_WORD) &&
                    (k1 & (BK_START_TABLE | BK_STARTS_AFTER_WORD)) == BK_START_TABLE) {
                    p = c1; /* inside a word, where no rule starts with this character */
                    c1 = c2;
                    i++;
                    continue;
                }
                if (!(k1 & kind[c2] & BK_START_TABLE)) break;
                unsigned pw = (kind[p] & BK_WORD) != 0;
                size_t e = START_TABLE_INDEX(pw, c1, c2);
                if (((any[e / 64] >> (e % 64)) & 1) &&
                    (!live_rules ||
                     mask_and_any(m->rules->first_mask + ((size_t)pw * 128 + c1) * words,
                                  live_rules, words)))
                    break;
                p = c1;
                c1 = c2;
                i++;
            }
        }
        if (i >= stop) break;
        if ((*mask = start_candidates(m, i))) return i;
        i = next_char(&m->nb, i); /* a whole character: PCRE2 must start on a boundary */
    }
    return stop;
}

/* Searches the window from m->scan, position by position, trying only the rules that can start
 * at each position (and, with the prefilter, whose required literals lie ahead): the first
 * position with a match or a partial match decides, which is what an unanchored search of one
 * alternation of all rules would report. Non-final searches use partial matching: a possible
 * match reaching the end of the text stops the search and is held back. */
static void search(instr_matcher *m, int final)
{
    m->has_partial = 0;
    m->searched = m->nb.len;
    if (!m->md || m->scan >= m->nb.len ||
        (final && !mask_any(minlen_candidates(m, m->scan), m->rules->mask_words))) {
        m->scan = m->nb.len; /* nothing left that any rule could match */
        return;
    }
    uint32_t opts = PCRE2_NO_UTF_CHECK | (final ? 0 : PCRE2_PARTIAL_HARD);
    enum { PF_OFF, PF_PENDING, PF_READY } pf = m->prefilter_on && m->rules->prefilter ? PF_PENDING
                                                                                     : PF_OFF;
    /* A final search knows, once the literals are found, the only positions where a rule can
     * match (prefilter_live_mark) and skips the rest without looking at them. */
    int live_known = 0;
    if (final && pf == PF_PENDING) { /* a final window is scanned whole before any walking */
        pf = prefilter_scan_run(&m->pscan, m->rules->prefilter, m->nb.text, m->scan, m->nb.len) == 0
                 ? PF_READY
                 : PF_OFF;
        if (pf == PF_READY) {
            /* a final window holding no rule's literals is over at once */
            if (!prefilter_window_rules(&m->pscan, m->rules->prefilter, m->wmask,
                                        m->rules->mask_words)) {
                m->scan = m->nb.len;
                return;
            }
            live_known = prefilter_live_mark(&m->pscan, m->rules->prefilter, m->wmask,
                                             m->rules->mask_words) == 0;
        }
    }
    while (m->scan < m->nb.len) {
        size_t i = m->scan, len = m->nb.len;
        const uint64_t *mask = NULL;
        /* once the literals are known, a final search skips positions where none of the rules
         * left in the window can start */
        const uint64_t *live_rules = pf == PF_READY && final ? m->wmask : NULL;
        if (live_known) {
            for (;;) {
                i = prefilter_next_live(&m->pscan, i);
                if (i >= len) break;
                size_t stop = prefilter_live_end(&m->pscan, i);
                i = next_start(m, i, stop, live_rules, &mask);
                if (i < stop) break;
            }
        } else {
            i = next_start(m, i, len, live_rules, &mask);
        }
        if (i >= len) break;
        if (final && !mask_and_any(mask, minlen_candidates(m, i), m->rules->mask_words)) {
            m->scan = next_char(&m->nb, i);
            continue;
        }
        if (pf == PF_PENDING) /* a non-final search scans once a position needs it */
            pf = prefilter_scan_run(&m->pscan, m->rules->prefilter, m->nb.text, i, m->nb.len) == 0
                     ? PF_READY
                     : PF_OFF;
        if (pf == PF_READY && !(mask = prefilter_candidates(m, mask, i, final))) {
            m->scan = next_char(&m->nb, i);
            continue;
        }
        size_t e = 0, k = 0;
        try_result tr = try_rules_at(m, mask, i, opts, &e, &k);
        if (tr == TRY_MATCH) {
            push_cut(m, norm_src_start(&m->nb, i), norm_src_end(&m->nb, e - 1), &m->rules->rule[k]);
            m->scan = e;
            continue;
        }
        if (tr == TRY_PARTIAL) {
            m->scan = i;
            m->has_partial = 1;
            m->partial = i;
            return;
        }
        m->scan = next_char(&m->nb, i);
    }
    m->scan = m->nb.len;
}

static void update_stable(instr_matcher *m)
{
    uint64_t s = m->has_partial ? norm_src_start(&m->nb, m->partial)
                                : norm_held_from(&m->ns, m->run_len);
    if (s > m->stable) m->stable = s;
}

/* Drops normalised text no search will look at again and original text before `stable`. */
static void compact(instr_matcher *m)
{
    size_t keep = m->has_partial ? m->partial : m->scan;
    if (keep > m->context_bytes) {
        size_t drop = keep - m->context_bytes;
        while (drop < m->nb.len && ((unsigned char)m->nb.text[drop] & 0xC0) == 0x80) drop++;
        norm_buf_drop(&m->nb, drop);
        m->scan -= drop;
        m->searched -= drop;
        if (m->has_partial) m->partial -= drop;
    }
    size_t odrop = (size_t)(m->stable - m->obase);
    if (odrop > 0) {
        memmove(m->orig, m->orig + odrop, m->olen - odrop);
        m->olen -= odrop;
        m->obase = m->stable;
    }
}

static int orig_append(instr_matcher *m, const char *text, size_t n)
{
    if (m->olen + n > m->ocap) {
        size_t cap = m->ocap ? m->ocap : SLICE_BYTES;
        while (cap < m->olen + n) cap *= 2;
        char *o = realloc(m->orig, cap);
        if (!o) return -1;
        m->orig = o;
        m->ocap = cap;
    }
    memcpy(m->orig + m->olen, text, n);
    m->olen += n;
    return 0;
}

int instr_feed(instr_matcher *m, const char *text, size_t len)
{
    if (m->run_ended) reset_run(m);
    while (len > 0) {
        size_t n = len < SLICE_BYTES ? len : SLICE_BYTES;
        if (orig_append(m, text, n) != 0) return AG_ERR;
        if (norm_feed(&m->ns, &m->nb, text, n, m->run_len) != 0) return AG_ERR;
        m->run_len += n;
        /* Searching gathers search_min bytes first: most runs are short and end before that,
         * and one final search then does the work once. The cuts do not depend on when the
         * search runs; only instr_stable lags by at most search_min bytes. */
        if (m->nb.len - m->searched >= m->search_min) {
            search(m, 0);
            update_stable(m);
            compact(m);
        }
        text += n;
        len -= n;
    }
    return AG_OK;
}

uint64_t instr_stable(const instr_matcher *m)
{
    return m->stable;
}

int instr_next_cut(instr_matcher *m, instr_cut *out)
{
    if (m->head == m->count) return 0;
    *out = m->cuts[m->head++];
    if (m->head == m->count) m->head = m->count = 0;
    return 1;
}

void instr_end_run(instr_matcher *m)
{
    if (m->run_ended) return;
    /* cannot fail: the last norm_feed reserved room for what it held back */
    (void)norm_finish(&m->ns, &m->nb);
    search(m, 1);
    m->stable = m->run_len;
    m->run_ended = 1;
    m->nb.len = 0;
    m->scan = 0;
    m->searched = 0;
    m->has_partial = 0;
    m->olen = 0;
    m->obase = m->run_len;
}

size_t instr_holdback_bytes(const instr_matcher *m)
{
    return (size_t)(m->run_len - m->stable);
}
