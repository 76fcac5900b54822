/* tests (sanitizer): css_sheet_hides_n() judges attribute values as the tokenizer hands them
 * over (a pointer and a length, not NUL-terminated) exactly as css_sheet_hides() judges the
 * same values as C strings, and the filter hides elements by kept sheet rules. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/css.h"
#include "sanitizer/sanitizer.h"

#include "sink_buf.h"

static css_sheet *sheet_with(const char *css)
{
    css_sheet *s = css_sheet_new(16);
    cr_assert(s);
    css_sheet_add(s, css, strlen(css));
    return s;
}

Test(strict_hidden_lookup, lengths_bound_the_values)
{
    css_sheet *s = sheet_with("div.gone{display:none} #secret{visibility:hidden} .a.b{opacity:0}");
    /* "div" and "divx": only the first 3 bytes of "divx" are the tag */
    cr_expect(css_sheet_hides_n(s, "divx", 3, NULL, 0, "gone!", 4, 0));
    cr_expect(!css_sheet_hides_n(s, "divx", 4, NULL, 0, "gone", 4, 0));
    cr_expect(!css_sheet_hides_n(s, "div", 3, NULL, 0, "gone", 3, 0));
    cr_expect(css_sheet_hides_n(s, "p", 1, "secret-not", 6, NULL, 0, 0));
    cr_expect(!css_sheet_hides_n(s, "p", 1, "secret-not", 10, NULL, 0, 0));
    cr_expect(css_sheet_hides_n(s, "span", 4, NULL, 0, " b\ta  more", 4, 0));
    cr_expect(!css_sheet_hides_n(s, "span", 4, NULL, 0, " b\ta  more", 3, 0));
    /* no attribute and an empty one are different: an empty id matches no id rule */
    cr_expect(!css_sheet_hides_n(s, "p", 1, "", 0, NULL, 0, 0));
    css_sheet_free(s);
}

Test(strict_hidden_lookup, nul_ends_a_value_as_in_a_c_string)
{
    css_sheet *s = sheet_with(".x{display:none} #i{display:none}");
    cr_expect(css_sheet_hides_n(s, "p", 1, NULL, 0, "x\0y", 3, 0));
    cr_expect(css_sheet_hides(s, "p", NULL, "x"));
    cr_expect(css_sheet_hides_n(s, "p", 1, "i\0zz", 4, NULL, 0, 0));
    cr_expect(!css_sheet_hides_n(s, "p", 1, NULL, 0, "\0x", 2, 0));
    css_sheet_free(s);
}

Test(strict_hidden_lookup, same_answers_as_c_strings)
{
    css_sheet *s = sheet_with("p{display:none} .c1{display:none} #d.e{display:none} i.f.g{color:transparent}");
    static const char *const tags[] = {"p", "div", "i", NULL};
    static const char *const ids[] = {"d", "dd", "", NULL};
    static const char *const classes[] = {"c1", "e", "x c1", "f g", "g", "e f", "", NULL};
    for (int t = 0; tags[t]; t++)
        for (int i = 0; i < 4; i++)
            for (int c = 0; c < 8; c++) {
                const char *id = ids[i], *cl = classes[c];
                int want = css_sheet_hides(s, tags[t], id, cl);
                int got = css_sheet_hides_n(s, tags[t], strlen(tags[t]), id, id ? strlen(id) : 0,
                                            cl, cl ? strlen(cl) : 0, 0);
                cr_expect_eq(got, want, "tag %s id %s class %s", tags[t], id ? id : "(none)",
                             cl ? cl : "(none)");
            }
    css_sheet_free(s);
}

static char *run_strict(const char *in)
{
    buf b = {calloc(1, 1), 0};
    sanitizer_options opt = {.mode = SANITIZE_STRICT};
    sanitizer *s = sanitizer_new(&opt, sink, &b);
    cr_assert(s);
    ag_error err = {0};
    cr_assert_eq(sanitizer_feed(s, in, strlen(in), &err), AG_OK, "%s", err.msg);
    cr_assert_eq(sanitizer_finish(s, &err), AG_OK, "%s", err.msg);
    cr_expect_eq(sanitizer_get_report(s)->counts[SAN_CAT_HIDDEN], 2);
    sanitizer_free(s);
    return b.p;
}

Test(strict_hidden_lookup, filter_hides_by_sheet_rules)
{
    char *out = run_strict("<style>.h{display:none} #k{visibility:hidden}</style>"
                           "<p class=\"a h\">one</p><p id=k>two</p><p id=kk class=hh>three</p>");
    /* visibility is inherited (a child may show again): the element stays, its text goes */
    cr_expect_str_eq(out, "<style>.h{display:none} #k{visibility:hidden}</style>"
                          "<p id=\"k\"></p><p id=\"kk\" class=\"hh\">three</p>");
    free(out);
}
