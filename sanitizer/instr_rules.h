/* sanitizer (private): the compiled form of instruction rules, shared by the rule loader
 * (instr_rules.c) and the matcher (instr.c). Each rule is compiled anchored, and a table of
 * which rules can start at which two-character context lets the matcher try, at each position,
 * only the rules that can match there, in rule order (the semantics of one alternation). */
#ifndef AG_SANITIZER_INSTR_RULES_H
#define AG_SANITIZER_INSTR_RULES_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "sanitizer/instr_prefilter.h"
#include "sanitizer/sanitizer.h"

typedef struct instr_rule {
    char id[64];
    char *pattern;
    char *description;
    char *file;
    int line;
} instr_rule;

struct sanitizer_rules {
    instr_rule *rule;
    size_t n, cap;
    pcre2_code **code;    /* per rule: compiled PCRE2_ANCHORED and JIT-compiled; tried per position */
    uint32_t max_lookbehind;
    int jit_ok;           /* every rule was JIT-compiled */
    /* Start filter over the normalised text (lower-case ASCII, single spaces): for a position
     * whose character is c1, followed by c2 and c3, after a word character, after a non-word
     * character or at the start of the text (START_AFTER_*),
     * start_mask[START_TABLE_INDEX(context, c1, c2) * mask_words] holds one bit per rule that
     * can match (or partially match) there, and third[third_index[...] - 1][c3] refines it with
     * the third character. Built by asking each anchored rule itself, so a 0 bit means that rule
     * cannot start there. NULL (every rule tried everywhere) when a rule looks further back
     * than \b. Characters outside printable lower-case ASCII fall back to every rule. */
    size_t mask_words;
    uint64_t *start_mask;
    uint32_t *third_index;
    uint64_t *start_any;  /* bit START_TABLE_INDEX(...): some rule can start there (the test
                           * the matcher's inner loop makes at every position, kept small) */
    uint64_t *third;      /* blocks of 128 masks */
    uint64_t *all_mask;   /* every rule: for positions the tables do not cover */
    uint64_t *first_mask; /* [START_CONTEXTS][128]: rules that can start with c1 (whatever
                           * follows) */
    /* Per byte of normalised text, BK_* bits: what the matcher's position walk asks of the
     * byte before a position and of the one at it. */
    uint8_t byte_kind[256];
    uint64_t *lead_mask;  /* [64]: rules whose first character can have this UTF-8 lead byte
                           * (0xC0 + index), from PCRE2's start-of-match bitmap */
    /* [MINLEN_ENTRIES][mask_words]: entry L holds the rules that can match L bytes (PCRE2's
     * minimum length in characters is at most L); the last entry holds every rule. */
    uint64_t *minlen_mask;
    /* Required literals of each rule, from its pattern (instr_prefilter.h); NULL: none. */
    instr_prefilter *prefilter;
    /* JIT stacks of freed matchers, for the next ones: creating and freeing one maps and
     * unmaps memory, which costs more than a small document's matching. */
    struct jit_stack_pool *stacks;
};

/* A JIT stack for a new matcher (from the pool, else new); NULL on failure. */
pcre2_jit_stack *instr_rules_take_jit_stack(const sanitizer_rules *r);
/* Returns a matcher's JIT stack to the pool (or frees it when the pool is full). */
void instr_rules_give_jit_stack(const sanitizer_rules *r, pcre2_jit_stack *s);

#define MINLEN_ENTRIES 256
enum { START_AFTER_NONWORD = 0, START_AFTER_WORD = 1, START_AT_TEXT_START = 2, START_CONTEXTS = 3 };
#define START_TABLE_INDEX(context, c1, c2) (((size_t)(context) << 14) | ((size_t)(c1) << 7) | (size_t)(c2))
/* Characters the start table covers: what normalised text is made of, bar non-ASCII. */
#define START_TABLE_CHAR(c) ((c) >= 0x20 && (c) < 0x7F && !((c) >= 'A' && (c) <= 'Z'))
/* byte_kind bits: a START_TABLE_CHAR; a word character (ASCII letter, digit or '_': what a
 * rule's \b sees); some rule can start with this character right after a word character
 * (few can: most begin at a word boundary, so the walk passes over the inside of words). */
enum { BK_START_TABLE = 1, BK_WORD = 2, BK_STARTS_AFTER_WORD = 4 };

size_t instr_rules_count(const sanitizer_rules *r);

/* Parses rule text (file names errors), appending to r. Exposed for tests. */
int instr_rules_parse(sanitizer_rules *r, const char *file, const char *text, size_t len,
                      ag_error *err);
/* Compiles every parsed rule (errors name file:line and the rule) and the combined pattern. */
int instr_rules_compile(sanitizer_rules *r, ag_error *err);

#endif
