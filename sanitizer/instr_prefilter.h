/* sanitizer (private): a literal prefilter for instruction rules, derived from each rule's
 * pattern. At load time every pattern is parsed (the PCRE2 subset rules use) into
 *   - required literals: a few sets of strings such that every match contains at least one
 *     string of each set (an AND of ORs), in the folded alphabet the matcher sees (ASCII
 *     lower case, every whitespace byte as ' ');
 *   - wmax: the most whitespace characters any attempt of the rule can inspect (unbounded when
 *     a repetition can take whitespace).
 * At match time one Aho-Corasick pass over the normalised window finds every required literal,
 * and a rule is tried at a position only when each of its sets occurs at or after that
 * position within wmax whitespace characters (a complete match there must contain it), or,
 * when a partial match there could still count (the matcher says so: a non-final search, not
 * beyond the hold-back bound), when the end of the text is itself within wmax whitespace
 * characters (the rule might still partially match there and must hold text back).
 * A pattern construct the parser does not know, or a rule with no usable literal, leaves that
 * rule without sets: it is tried wherever the start table allows, as without a prefilter. */
#ifndef AG_SANITIZER_INSTR_PREFILTER_H
#define AG_SANITIZER_INSTR_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

#define PREFILTER_WMAX_UNBOUNDED UINT32_MAX

typedef struct instr_prefilter instr_prefilter;

/* Analyses the n patterns (in rule order). NULL on allocation failure: no prefilter, every
 * rule is tried as before. */
instr_prefilter *instr_prefilter_build(const char *const *patterns, size_t n);
void instr_prefilter_free(instr_prefilter *p);

/* For tests and diagnostics: describes rule k's required literal sets as
 * "{a|b} & {c}" (empty when the rule has none, i.e. always tried) and returns its wmax. */
uint32_t instr_prefilter_describe(const instr_prefilter *p, size_t k, char *out, size_t cap);
/* Number of rules with at least one required literal set. */
size_t instr_prefilter_rules_filtered(const instr_prefilter *p);

/* Per-matcher scan state over one window of normalised text. */
typedef struct prefilter_scan {
    size_t from, to;         /* window [from, to) of the normalised text */
    /* whitespace bytes of the window by blocks of 16: wblock[b] counts those before block b,
     * wbits[b] marks those in it */
    uint32_t *wblock;
    uint16_t *wbits;
    size_t wcap;
    uint64_t *pair;          /* (clause << 32 | position - from) of each literal found */
    size_t npairs, pair_cap;
    uint64_t *tmp;           /* the pairs' other buffer while they are grouped */
    size_t tmp_cap;
    uint32_t *count;         /* per (clause, quarter of the window): pairs, then next slot */
    /* per clause: occurrences pair[begin .. end) once sorted, valid when gen == scan_gen */
    uint32_t *begin, *end, *gen;
    size_t nclauses, nrules;
    uint32_t scan_gen;
    uint32_t *found;         /* clauses found in the window */
    size_t nfound;
    uint32_t *rule_gen, *rule_count; /* per rule: sets found (valid when rule_gen == scan_gen) */
    uint64_t *live;          /* prefilter_live_mark: one bit per window position, then two
                              * bitmaps of the same size it works in */
    size_t live_cap;         /* words of one bitmap */
} prefilter_scan;

/* Scans text[from, to) for every required literal (occurrences starting at or after from).
 * Returns 0, or -1 on allocation failure (the caller then tries every rule). */
int prefilter_scan_run(prefilter_scan *s, const instr_prefilter *p, const char *text,
                       size_t from, size_t to);
/* 1 when rule k may match at position j of the scanned window (or, when partial is set, may
 * match partially there: the text may end inside a match); 0 when it certainly cannot.
 * Positions must be asked in non-decreasing order after a scan. */
int prefilter_rule_may_run(prefilter_scan *s, const instr_prefilter *p, size_t k, size_t j,
                           int partial);
/* Sets in mask (one bit per rule) the rules that may match somewhere in the scanned window:
 * those with every required set present, and those without sets. Returns 1 if any. */
int prefilter_window_rules(prefilter_scan *s, const instr_prefilter *p, uint64_t *mask,
                           size_t words);
/* Marks the window positions where some rule of mask may match completely: for each rule, the
 * positions that have an occurrence of each of its sets at or after them within wmax
 * whitespace characters (where prefilter_rule_may_run answers 1 without partial). A rule without sets
 * marks the whole window. Returns 0, or -1 on allocation failure (then everything is live). */
int prefilter_live_mark(prefilter_scan *s, const instr_prefilter *p, const uint64_t *mask,
                        size_t words);
/* The first marked position at or after j (text index), or the window's end. */
size_t prefilter_next_live(const prefilter_scan *s, size_t j);
/* The first unmarked position at or after j, or the window's end. */
size_t prefilter_live_end(const prefilter_scan *s, size_t j);
void prefilter_scan_free(prefilter_scan *s);

#endif
