/* tests (sanitizer): expectations on which built-in instruction rule cuts a text, shared by the
 * rule tests. A text is matched as one paragraph of its own by the public matcher API. */
#ifndef AG_TESTS_RULE_EXPECT_H
#define AG_TESTS_RULE_EXPECT_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sanitizer/instr.h"

/* The rule id of the first cut in text by rule set r (NULL: the built-in rules), or NULL when
 * nothing is cut. */
static inline const char *first_rule_with(const sanitizer_rules *r, const char *text)
{
    static char id[64];
    instr_matcher *m = instr_matcher_new(r, 0);
    cr_assert_not_null(m);
    instr_feed(m, text, strlen(text));
    instr_end_run(m);
    instr_cut c;
    const char *found = NULL;
    if (instr_next_cut(m, &c)) {
        snprintf(id, sizeof id, "%s", c.rule_id);
        found = id;
    }
    instr_matcher_free(m);
    return found;
}

static inline const char *first_rule(const char *text)
{
    return first_rule_with(NULL, text);
}

#define CAUGHT(text) cr_expect_not_null(first_rule(text), "not caught: %s", text)
#define CAUGHT_BY(text, prefix)                                                              \
    do {                                                                                     \
        const char *r_ = first_rule(text);                                                   \
        cr_expect(r_ && strncmp(r_, prefix, strlen(prefix)) == 0, "%s: got %s, want %s*",    \
                  text, r_ ? r_ : "(none)", prefix);                                         \
    } while (0)
#define KEPT(text)                                                                           \
    do {                                                                                     \
        const char *r_ = first_rule(text);                                                   \
        cr_expect_null(r_, "wrongly cut by %s: %s", r_ ? r_ : "", text);                     \
    } while (0)

#endif
