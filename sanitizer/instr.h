/* sanitizer (private): instruction-like span matching and text normalisation.
 * The filter feeds the visible text of one "run" (text that reads as one piece across every
 * element that is not a block and across chunk boundaries) and learns which byte ranges of the
 * run to cut and which prefix is final. Offsets are cumulative bytes of the run's original
 * UTF-8 text. */
#ifndef AG_SANITIZER_INSTR_H
#define AG_SANITIZER_INSTR_H

#include <stddef.h>
#include <stdint.h>

#include "sanitizer/sanitizer.h"

typedef struct instr_matcher instr_matcher;

typedef struct instr_cut {
    uint64_t start, end;  /* run offsets of the original bytes to remove, [start, end) */
    char rule_id[64];
    char excerpt[201 * 4]; /* first 200 characters of the removed text (UTF-8) */
} instr_cut;

/* The built-in rules (the .rules files of sanitizer/rules/, embedded at build time), compiled
 * once; NULL if they fail to compile (a build defect, logged). */
const sanitizer_rules *sanitizer_rules_default(void);

/* max_holdback: bytes of text the matcher may hold back waiting for a partial match. */
instr_matcher *instr_matcher_new(const sanitizer_rules *rules, size_t max_holdback);
void instr_matcher_free(instr_matcher *m);
/* The literal prefilter (instr_prefilter.h) is on by default; off tries every rule the start
 * table allows, for comparisons (tests, benchmarks). Set before the first feed. */
void instr_matcher_set_prefilter(instr_matcher *m, int on);
/* Appends visible text to the current run. */
int instr_feed(instr_matcher *m, const char *text, size_t len);
/* Run offset below which no further cut can start: the filter may emit everything before it
 * (minus pending cuts). Within a run the matcher searches once about 1 KiB (a quarter of
 * max_holdback if smaller) of new text has gathered, so this lags the text fed by at most
 * that much plus what a possible match holds back; instr_end_run makes everything stable. */
uint64_t instr_stable(const instr_matcher *m);
/* Pops the next decided cut in offset order; returns 1 when one was written, 0 when none. */
int instr_next_cut(instr_matcher *m, instr_cut *out);
/* Ends the run (block boundary or end of document): everything becomes stable. Pop the run's
 * cuts before feeding the next run: offsets of the next run start again at 0. */
void instr_end_run(instr_matcher *m);
/* Original bytes of the current run not yet stable (held back for a possible match). */
size_t instr_holdback_bytes(const instr_matcher *m);

/* 1 when an HTML element of this lower-case name ends a run (a block-level element; see
 * sanitizer/filter.c). For tools that split text into runs as the filter does. */
int sanitizer_element_breaks_run(const char *name, size_t len);

/* Invisible characters: copies in to out (out has room for len bytes) without Unicode tag
 * characters, zero-width characters, bidi controls and other default-ignorable code points.
 * Returns bytes written; *removed is incremented by the number of code points dropped. */
size_t invisible_strip(const char *in, size_t len, char *out, uint64_t *removed);

#endif
