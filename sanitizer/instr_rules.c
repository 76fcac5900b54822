/* sanitizer (private): loading and compiling instruction rules. The rule file format is
 * described in sanitizer/rules/README.md: entries of "id:", "pattern:" and "description:"
 * lines, separated by blank lines, with full-line '#' comments. Each pattern is compiled alone
 * first (so an error names its file, line and rule), then compiled anchored and JIT-compiled
 * for the matcher, with a table of where each rule can start. */
#include "sanitizer/instr_rules.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/instr.h"

extern const char sanitizer_rules_embedded[];
extern const size_t sanitizer_rules_embedded_len;

#define RULE_FILE_MAX (1u << 20)
#define POOL_STACKS 64     /* idle JIT stacks kept per rule set */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (512 * 1024)

struct jit_stack_pool {
    pthread_mutex_t lock;
    pcre2_jit_stack *idle[POOL_STACKS];
    size_t n;
};
#define BUILTIN_NAME "sanitizer/rules (built-in)"

typedef struct entry {
    int active;
    int line;    /* the pattern's line once seen (compile errors point there), else the id's */
    int id_line;
    instr_rule rule;
} entry;

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void rule_clear(instr_rule *r)
{
    free(r->pattern);
    free(r->description);
    free(r->file);
    memset(r, 0, sizeof *r);
}

static int valid_id(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof(((instr_rule *)0)->id)) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int finish_entry(sanitizer_rules *r, entry *e, const char *file, ag_error *err)
{
    if (!e->active) return AG_OK;
    e->active = 0;
    if (!e->rule.pattern)
        return ag_errorf(err, "%s:%d: rule '%s': missing 'pattern:'", file, e->line, e->rule.id);
    if (!e->rule.description)
        return ag_errorf(err, "%s:%d: rule '%s': missing 'description:'", file, e->line, e->rule.id);
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rule[i].id, e->rule.id) == 0)
            return ag_errorf(err, "%s:%d: rule '%s': duplicate id (first defined at %s:%d)", file,
                             e->id_line, e->rule.id, r->rule[i].file, r->rule[i].line);
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        instr_rule *nr = realloc(r->rule, cap * sizeof *nr);
        if (!nr) return ag_errorf(err, "%s:%d: out of memory", file, e->line);
        r->rule = nr;
        r->cap = cap;
    }
    e->rule.file = strdup(file);
    e->rule.line = e->line;
    if (!e->rule.file) return ag_errorf(err, "%s:%d: out of memory", file, e->line);
    r->rule[r->n++] = e->rule;
    memset(&e->rule, 0, sizeof e->rule);
    return AG_OK;
}

static int parse_line(sanitizer_rules *r, entry *e, const char *file, int lineno, const char *s,
                      size_t n, ag_error *err)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == n) return finish_entry(r, e, file, err);
    if (s[i] == '#') return AG_OK;
    const char *colon = memchr(s + i, ':', n - i);
    if (!colon) return ag_errorf(err, "%s:%d: expected 'id:', 'pattern:' or 'description:'", file, lineno);
    size_t klen = (size_t)(colon - (s + i));
    const char *v = colon + 1;
    size_t vlen = n - (size_t)(v - s);
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    if (klen == 2 && memcmp(s + i, "id", 2) == 0) {
        if (finish_entry(r, e, file, err) != AG_OK) return AG_ERR;
        if (!valid_id(v, vlen))
            return ag_errorf(err, "%s:%d: rule id must be 1-63 characters of a-z 0-9 . - _", file, lineno);
        memset(e, 0, sizeof *e);
        memcpy(e->rule.id, v, vlen);
        e->active = 1;
        e->line = e->id_line = lineno;
        return AG_OK;
    }
    int is_pattern = klen == 7 && memcmp(s + i, "pattern", 7) == 0;
    int is_desc = klen == 11 && memcmp(s + i, "description", 11) == 0;
    if (!is_pattern && !is_desc)
        return ag_errorf(err, "%s:%d: unknown key '%.*s' (expected id, pattern, description)", file,
                         lineno, (int)(klen > 40 ? 40 : klen), s + i);
    if (!e->active)
        return ag_errorf(err, "%s:%d: '%s' before the entry's 'id:'", file, lineno,
                         is_pattern ? "pattern" : "description");
    char **slot = is_pattern ? &e->rule.pattern : &e->rule.description;
    if (*slot)
        return ag_errorf(err, "%s:%d: rule '%s': '%s' given twice", file, lineno, e->rule.id,
                         is_pattern ? "pattern" : "description");
    if (vlen == 0)
        return ag_errorf(err, "%s:%d: rule '%s': empty %s", file, lineno, e->rule.id,
                         is_pattern ? "pattern" : "description");
    *slot = dup_range(v, vlen);
    if (!*slot) return ag_errorf(err, "%s:%d: out of memory", file, lineno);
    if (is_pattern) e->line = lineno; /* compile errors point at the pattern line */
    return AG_OK;
}

int instr_rules_parse(sanitizer_rules *r, const char *file, const char *text, size_t len,
                      ag_error *err)
{
    entry e;
    int lineno = 0;
    size_t pos = 0;
    memset(&e, 0, sizeof e);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (parse_line(r, &e, file, lineno, text + pos, n, err) != AG_OK) {
            rule_clear(&e.rule);
            return AG_ERR;
        }
        pos += n + (nl ? 1 : 0);
    }
    int rc = finish_entry(r, &e, file, err);
    rule_clear(&e.rule);
    return rc;
}

/* "(?x" style inline options would turn '#' into a comment running past the rule's branch. */
static int uses_extended_option(const char *p)
{
    for (const char *s = strstr(p, "(?"); s; s = strstr(s + 2, "(?")) {
        for (const char *o = s + 2; *o && *o != ')' && *o != ':'; o++) {
            if (*o == 'x') return 1;
            if (!((*o >= 'a' && *o <= 'z') || (*o >= 'A' && *o <= 'Z') || *o == '-' || *o == '^'))
                break;
        }
    }
    return 0;
}

/* Checks one rule by compiling it unanchored; *out receives that code (note_lead_bytes reads
 * its start-of-match information). */
static int compile_one(const instr_rule *rule, pcre2_code **out, ag_error *err)
{
    int errcode;
    PCRE2_SIZE erroff;
    uint32_t minlen = 0, backrefs = 0;
    if (strstr(rule->pattern, "(*"))
        return ag_errorf(err, "%s:%d: rule '%s': (*VERB) constructs are not allowed in rules",
                         rule->file, rule->line, rule->id);
    if (uses_extended_option(rule->pattern))
        return ag_errorf(err, "%s:%d: rule '%s': the (?x) option is not allowed in rules",
                         rule->file, rule->line, rule->id);
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)rule->pattern, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_CASELESS, &errcode, &erroff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        return ag_errorf(err, "%s:%d: rule '%s': %s at offset %zu", rule->file, rule->line,
                         rule->id, (const char *)msg, (size_t)erroff);
    }
    pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen);
    pcre2_pattern_info(code, PCRE2_INFO_BACKREFMAX, &backrefs);
    *out = code;
    if (minlen == 0)
        return ag_errorf(err, "%s:%d: rule '%s': the pattern can match the empty string",
                         rule->file, rule->line, rule->id);
    if (backrefs > 0)
        return ag_errorf(err, "%s:%d: rule '%s': back references are not supported in rules",
                         rule->file, rule->line, rule->id);
    return AG_OK;
}

static void set_bit(uint64_t *mask, size_t bit)
{
    mask[bit / 64] |= (uint64_t)1 << (bit % 64);
}

static int mask_empty(const uint64_t *mask, size_t words)
{
    for (size_t w = 0; w < words; w++)
        if (mask[w]) return 0;
    return 1;
}

/* 1 when rule k can match or partially match subj[start..len) (subj[0] is the previous
 * character when start is 1; start 0 is the start of the text). */
static int rule_may_start(const sanitizer_rules *r, size_t k, const unsigned char *subj,
                          size_t len, size_t start, pcre2_match_data *md)
{
    /* the subjects are ASCII: no UTF check; the JIT entry skips pcre2_match's per-call work,
     * which dominates on four bytes (the table asks some 240,000 times) */
    uint32_t opts = PCRE2_PARTIAL_HARD | PCRE2_NO_UTF_CHECK;
    int rc = r->jit_ok ? pcre2_jit_match(r->code[k], subj, len, start, opts, md, NULL)
                       : pcre2_match(r->code[k], subj, len, start, opts, md, NULL);
    return rc != PCRE2_ERROR_NOMATCH;
}

/* The subject for context pw (START_AFTER_*) followed by up to three characters; *start is the
 * offset they begin at. */
static size_t table_subject(unsigned char subj[4], int pw, const int *c, size_t nc, size_t *start)
{
    size_t o = 0;
    if (pw != START_AT_TEXT_START) subj[o++] = pw == START_AFTER_WORD ? 'a' : ' ';
    *start = o;
    for (size_t i = 0; i < nc; i++) subj[o++] = (unsigned char)c[i];
    return o;
}

/* The start contexts (bits 1 << START_*) in which a rule answers every start-table question
 * as it does after a non-word character, so the table copies those answers instead of asking
 * again. The table exists only for rules whose one look behind the start is \b or \B (no
 * (?<, no \G), so the character before the start is seen by \b and \B alone, and the start
 * of the text differs from a position after a space only for ^ and \A. The scan is cautious:
 * any escaped b, B or A counts, and any '^' other than one opening a class. */
static unsigned contexts_like_nonword(const char *pattern)
{
    int boundary = 0, anchor = 0, after_open = 0;
    for (const char *p = pattern; *p; p++) {
        if (*p == '\\') {
            if (p[1] == 'b' || p[1] == 'B') boundary = 1;
            if (p[1] == 'A') anchor = 1;
            if (!p[1]) break;
            p++;
            after_open = 0;
            continue;
        }
        if (*p == '^' && !after_open) anchor = 1;
        after_open = *p == '[';
    }
    unsigned ctx = 1u << START_AFTER_NONWORD;
    if (!boundary) ctx |= 1u << START_AFTER_WORD;
    if (!anchor) ctx |= 1u << START_AT_TEXT_START;
    return ctx;
}

/* Copies rule k's bits of the first-character and two-character tables from the context after
 * a non-word character (already asked) to context pw. */
static void copy_context_bits(const sanitizer_rules *r, uint64_t *first, uint64_t *t, size_t k,
                              int pw)
{
    size_t words = r->mask_words, w = k / 64;
    uint64_t bit = (uint64_t)1 << (k % 64);
    for (size_t c1 = 0; c1 < 128; c1++) {
        /* a two-character bit is set only under a first-character bit */
        if (!(first[((size_t)START_AFTER_NONWORD * 128 + c1) * words + w] & bit)) continue;
        first[((size_t)pw * 128 + c1) * words + w] |= bit;
        for (size_t c2 = 0; c2 < 128; c2++)
            t[START_TABLE_INDEX(pw, c1, c2) * words + w] |=
                t[START_TABLE_INDEX(START_AFTER_NONWORD, c1, c2) * words + w] & bit;
    }
}

/* Asks each anchored rule, for the characters normalised text is made of, after a word
 * character, after a non-word character and at the start of the text, whether a match or
 * partial match can start at (c1, c2, c3). Only \b looks behind the start in that case, so the
 * answer holds for any text; with other lookbehinds there is no table. Answers are asked
 * after a non-word character first and copied to the contexts that cannot differ
 * (contexts_like_nonword). */
static void build_start_table(sanitizer_rules *r)
{
    if (r->max_lookbehind > 1) return;
    for (size_t i = 0; i < r->n; i++)
        if (strstr(r->rule[i].pattern, "(?<") || strstr(r->rule[i].pattern, "\\G")) return;
    size_t words = r->mask_words, entries = (size_t)START_CONTEXTS * 128 * 128, nblocks = 0;
    uint64_t *t = calloc(entries * words, sizeof *t);
    uint32_t *index = calloc(entries, sizeof *index);
    uint64_t *first = calloc((size_t)START_CONTEXTS * 128 * words, sizeof *first);
    uint64_t *third = NULL;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    uint8_t *like = malloc(r->n); /* per rule: contexts_like_nonword */
    if (!t || !index || !first || !md || !like || !r->lead_mask) goto fail;
    for (size_t k = 0; k < r->n; k++) like[k] = (uint8_t)contexts_like_nonword(r->rule[k].pattern);
    for (size_t k = 0; k < r->n; k++) {
        for (int pw = 0; pw < START_CONTEXTS; pw++) {
            if (pw != START_AFTER_NONWORD && ((like[k] >> pw) & 1)) {
                copy_context_bits(r, first, t, k, pw);
                continue;
            }
            for (int c1 = 0; c1 < 128; c1++) {
                unsigned char subj[4];
                size_t start, len;
                int cs[3] = {c1, 0, 0};
                if (!START_TABLE_CHAR(c1)) continue;
                len = table_subject(subj, pw, cs, 1, &start);
                if (!rule_may_start(r, k, subj, len, start, md)) continue;
                set_bit(first + ((size_t)pw * 128 + (size_t)c1) * words, k);
                for (int c2 = 0; c2 < 128; c2++) {
                    cs[1] = c2;
                    len = table_subject(subj, pw, cs, 2, &start);
                    if (START_TABLE_CHAR(c2) && rule_may_start(r, k, subj, len, start, md))
                        set_bit(t + START_TABLE_INDEX(pw, c1, c2) * words, k);
                }
            }
        }
    }
    uint64_t *any = calloc(entries / 64 + 1, sizeof *any);
    if (!any) goto fail;
    for (size_t e = 0; e < entries; e++)
        if (!mask_empty(t + e * words, words)) {
            index[e] = (uint32_t)++nblocks;
            any[e / 64] |= (uint64_t)1 << (e % 64);
        }
    third = calloc(nblocks * 128 * words, sizeof *third);
    if (nblocks > 0 && !third) {
        free(any);
        goto fail;
    }
    /* entries after a non-word character come first (context 0), so their blocks are complete
     * when another context copies from them */
    for (size_t e = 0; e < entries; e++) {
        if (!index[e]) continue;
        uint64_t *block = third + (size_t)(index[e] - 1) * 128 * words;
        int pw = (int)(e >> 14);
        int cs[3] = {(int)((e >> 7) & 127), (int)(e & 127), 0};
        for (size_t k = 0; k < r->n; k++) {
            if (!((t[e * words + k / 64] >> (k % 64)) & 1)) continue;
            if (pw != START_AFTER_NONWORD && ((like[k] >> pw) & 1)) {
                /* the bit came from the same entry after a non-word character, so it has a block */
                size_t e0 = START_TABLE_INDEX(START_AFTER_NONWORD, cs[0], cs[1]);
                const uint64_t *from = third + (size_t)(index[e0] - 1) * 128 * words;
                for (int c3 = 0; c3 < 128; c3++)
                    block[(size_t)c3 * words + k / 64] |=
                        from[(size_t)c3 * words + k / 64] & ((uint64_t)1 << (k % 64));
                continue;
            }
            for (int c3 = 0; c3 < 128; c3++) {
                unsigned char subj[4];
                size_t start, len;
                cs[2] = c3;
                len = table_subject(subj, pw, cs, 3, &start);
                if (START_TABLE_CHAR(c3) && rule_may_start(r, k, subj, len, start, md))
                    set_bit(block + (size_t)c3 * words, k);
            }
        }
    }
    free(like);
    pcre2_match_data_free(md);
    r->start_mask = t;
    r->third_index = index;
    r->start_any = any;
    r->third = third;
    r->first_mask = first;
    for (int c = 0; c < 256; c++) {
        uint8_t k = 0;
        if (START_TABLE_CHAR(c)) k |= BK_START_TABLE;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            k |= BK_WORD;
        /* not a table character: the walk stops there and start_candidates decides */
        if (!START_TABLE_CHAR(c) ||
            !mask_empty(first + ((size_t)START_AFTER_WORD * 128 + (size_t)c) * words, words))
            k |= BK_STARTS_AFTER_WORD;
        r->byte_kind[c] = k;
    }
    return;
fail:
    free(t);
    free(index);
    free(first);
    free(third);
    free(like);
    pcre2_match_data_free(md);
}

/* Records, from the unanchored pattern's start-of-match bitmap (c: rule k compiled by
 * compile_one), which UTF-8 lead bytes rule k can start with; without a bitmap, any. */
static void note_lead_bytes(sanitizer_rules *r, size_t k, const pcre2_code *c)
{
    const uint8_t *bitmap = NULL;
    uint32_t type = 0, unit = 0;
    pcre2_pattern_info(c, PCRE2_INFO_FIRSTBITMAP, &bitmap);
    pcre2_pattern_info(c, PCRE2_INFO_FIRSTCODETYPE, &type);
    pcre2_pattern_info(c, PCRE2_INFO_FIRSTCODEUNIT, &unit);
    for (unsigned b = 0xC0; b <= 0xFF; b++) {
        int may;
        if (type == 1) may = unit == b; /* one fixed first code unit (PCRE2 sets it only when
                                          * every case variant starts with it) */
        else if (bitmap) may = (bitmap[b / 8] >> (b % 8)) & 1;
        else may = 1;
        if (may) set_bit(r->lead_mask + (b - 0xC0) * r->mask_words, k);
    }
}

/* The matcher's form of every rule; plain[i] is rule i compiled unanchored by compile_one. */
static int compile_anchored(sanitizer_rules *r, pcre2_code *const *plain, ag_error *err)
{
    r->code = calloc(r->n, sizeof *r->code);
    r->mask_words = (r->n + 63) / 64;
    r->all_mask = calloc(r->mask_words, sizeof *r->all_mask);
    r->lead_mask = calloc(64 * r->mask_words, sizeof *r->lead_mask);
    r->minlen_mask = calloc((size_t)MINLEN_ENTRIES * r->mask_words, sizeof *r->minlen_mask);
    if (!r->code || !r->all_mask || !r->lead_mask || !r->minlen_mask)
        return ag_errorf(err, "rules: out of memory");
    r->jit_ok = 1;
    for (size_t i = 0; i < r->n; i++) {
        int errcode;
        PCRE2_SIZE erroff;
        uint32_t lb = 0;
        r->code[i] = pcre2_compile((PCRE2_SPTR)r->rule[i].pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_CASELESS | PCRE2_ANCHORED, &errcode, &erroff,
                                   NULL);
        if (!r->code[i])
            return ag_errorf(err, "%s:%d: rule '%s': does not compile anchored", r->rule[i].file,
                             r->rule[i].line, r->rule[i].id);
        int jrc = pcre2_jit_compile(r->code[i], PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);
        if (jrc != 0) r->jit_ok = 0;
        if (jrc != 0)
            ag_log(AG_LOG_WARN, "rules_jit_unavailable", "rule=%s code=%d", r->rule[i].id, jrc);
        pcre2_pattern_info(r->code[i], PCRE2_INFO_MAXLOOKBEHIND, &lb);
        uint32_t minlen = 0;
        pcre2_pattern_info(r->code[i], PCRE2_INFO_MINLENGTH, &minlen);
        for (size_t l = minlen; l < MINLEN_ENTRIES; l++) set_bit(r->minlen_mask + l * r->mask_words, i);
        set_bit(r->minlen_mask + (size_t)(MINLEN_ENTRIES - 1) * r->mask_words, i);
        if (lb > r->max_lookbehind) r->max_lookbehind = lb;
        set_bit(r->all_mask, i);
        note_lead_bytes(r, i, plain[i]);
    }
    return AG_OK;
}

int instr_rules_compile(sanitizer_rules *r, ag_error *err)
{
    if (r->n == 0) return AG_OK;
    /* each rule's unanchored code lives until its start-of-match bitmap is read */
    pcre2_code **plain = calloc(r->n, sizeof *plain);
    if (!plain) return ag_errorf(err, "rules: out of memory");
    int rc = AG_OK;
    for (size_t i = 0; i < r->n && rc == AG_OK; i++) rc = compile_one(&r->rule[i], &plain[i], err);
    if (rc == AG_OK) rc = compile_anchored(r, plain, err);
    for (size_t i = 0; i < r->n; i++) pcre2_code_free(plain[i]);
    free(plain);
    if (rc != AG_OK) return AG_ERR;
    build_start_table(r);
    const char **patterns = malloc(r->n * sizeof *patterns);
    if (!patterns) return ag_errorf(err, "rules: out of memory");
    for (size_t i = 0; i < r->n; i++) patterns[i] = r->rule[i].pattern;
    r->prefilter = instr_prefilter_build(patterns, r->n);
    free(patterns);
    r->stacks = calloc(1, sizeof *r->stacks);
    if (r->stacks && pthread_mutex_init(&r->stacks->lock, NULL) != 0) {
        free(r->stacks);
        r->stacks = NULL;
    }
    if (!r->prefilter) ag_log(AG_LOG_WARN, "rules_prefilter_unavailable", "rules=%zu", r->n);
    return AG_OK;
}

pcre2_jit_stack *instr_rules_take_jit_stack(const sanitizer_rules *r)
{
    pcre2_jit_stack *s = NULL;
    if (r->stacks) {
        pthread_mutex_lock(&r->stacks->lock);
        if (r->stacks->n > 0) s = r->stacks->idle[--r->stacks->n];
        pthread_mutex_unlock(&r->stacks->lock);
    }
    return s ? s : pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
}

void instr_rules_give_jit_stack(const sanitizer_rules *r, pcre2_jit_stack *s)
{
    if (!s) return;
    if (r->stacks) {
        pthread_mutex_lock(&r->stacks->lock);
        int kept = r->stacks->n < POOL_STACKS;
        if (kept) r->stacks->idle[r->stacks->n++] = s;
        pthread_mutex_unlock(&r->stacks->lock);
        if (kept) return;
    }
    pcre2_jit_stack_free(s);
}

size_t instr_rules_count(const sanitizer_rules *r)
{
    return r ? r->n : 0;
}

void sanitizer_rules_free(sanitizer_rules *r)
{
    if (!r) return;
    for (size_t i = 0; r->code && i < r->n; i++) pcre2_code_free(r->code[i]);
    for (size_t i = 0; i < r->n; i++) rule_clear(&r->rule[i]);
    free(r->code);
    free(r->start_mask);
    free(r->third_index);
    free(r->start_any);
    free(r->third);
    free(r->all_mask);
    free(r->first_mask);
    free(r->lead_mask);
    free(r->minlen_mask);
    instr_prefilter_free(r->prefilter);
    if (r->stacks) {
        for (size_t i = 0; i < r->stacks->n; i++) pcre2_jit_stack_free(r->stacks->idle[i]);
        pthread_mutex_destroy(&r->stacks->lock);
        free(r->stacks);
    }
    free(r->rule);
    free(r);
}

static int read_file(const char *path, char **out, size_t *len, ag_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ag_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(RULE_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return ag_errorf(err, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, RULE_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return ag_errorf(err, "%s: read error", path);
    }
    if (n > RULE_FILE_MAX) {
        free(buf);
        return ag_errorf(err, "%s: larger than %u bytes", path, RULE_FILE_MAX);
    }
    *out = buf;
    *len = n;
    return AG_OK;
}

int sanitizer_rules_load(const char *const *paths, size_t npaths, sanitizer_rules **out,
                         ag_error *err)
{
    sanitizer_rules *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return ag_errorf(err, "rules: out of memory");
    if (instr_rules_parse(r, BUILTIN_NAME, sanitizer_rules_embedded,
                          sanitizer_rules_embedded_len, err) != AG_OK)
        goto fail;
    for (size_t i = 0; i < npaths; i++) {
        char *text;
        size_t len;
        if (read_file(paths[i], &text, &len, err) != AG_OK) goto fail;
        int rc = instr_rules_parse(r, paths[i], text, len, err);
        free(text);
        if (rc != AG_OK) goto fail;
    }
    if (instr_rules_compile(r, err) != AG_OK) goto fail;
    *out = r;
    return AG_OK;
fail:
    sanitizer_rules_free(r);
    return AG_ERR;
}

static sanitizer_rules *default_rules;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_rules_init(void)
{
    ag_error err;
    char quoted[sizeof err.msg * 2];
    if (sanitizer_rules_load(NULL, 0, &default_rules, &err) != AG_OK)
        ag_log(AG_LOG_ERROR, "rules_builtin_invalid", "error=%s",
               ag_log_quote(quoted, sizeof quoted, err.msg));
}

const sanitizer_rules *sanitizer_rules_default(void)
{
    pthread_once(&default_once, default_rules_init);
    return default_rules;
}
