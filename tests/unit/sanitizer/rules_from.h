/* tests (sanitizer): a rule set built from rule-file text in the test itself (parsed and
 * compiled as an operator's file would be), shared by the matcher's and the tables' tests.
 * The caller frees it with sanitizer_rules_free(). */
#ifndef AG_TESTS_RULES_FROM_H
#define AG_TESTS_RULES_FROM_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/instr_rules.h"

static sanitizer_rules *rules_from(const char *text)
{
    sanitizer_rules *r = calloc(1, sizeof *r);
    ag_error err;
    cr_assert_not_null(r);
    cr_assert_eq(instr_rules_parse(r, "t.rules", text, strlen(text), &err), AG_OK, "%s", err.msg);
    cr_assert_eq(instr_rules_compile(r, &err), AG_OK, "%s", err.msg);
    return r;
}

#endif
