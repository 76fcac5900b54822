/* sanitizer (private): the compiled form of instruction rules, shared by the rule loader
 * (instr_rules.c) and the matcher (instr.c). All rules are compiled together into one PCRE2
 * alternation, each branch tagged with (*MARK:<index>) so a match names its rule. */
#ifndef AG_SANITIZER_INSTR_RULES_H
#define AG_SANITIZER_INSTR_RULES_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

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
    pcre2_code *combined; /* NULL when there are no rules */
    uint32_t max_lookbehind;
};

/* Rule at index (from a match's mark), or NULL. */
const instr_rule *instr_rules_by_mark(const sanitizer_rules *r, const unsigned char *mark);
size_t instr_rules_count(const sanitizer_rules *r);

/* Parses rule text (file names errors), appending to r. Exposed for tests. */
int instr_rules_parse(sanitizer_rules *r, const char *file, const char *text, size_t len,
                      ag_error *err);
/* Compiles every parsed rule (errors name file:line and the rule) and the combined pattern. */
int instr_rules_compile(sanitizer_rules *r, ag_error *err);

#endif
