/* tests (sanitizer): the output is parsed in the namespaces the filter judged it in. Whatever
 * the filter removes or leaves unwritten (a removed subtree, a stray end tag, a breakout tag),
 * the output leaves and enters SVG/MathML where the input did, so re-parsing the output cannot
 * turn a harmless HTML element into an SVG animation (mutation XSS). Each case checks, in
 * scripts mode: sanitizing the output again removes nothing, and the start tags of the output
 * and of the output sanitized again have the same names in the same namespaces. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/sanitizer.h"
#include "sanitizer/tokenizer.h"

#include "sink_buf.h"

static buf sanitize(sanitize_mode mode, const char *in, size_t n, uint64_t *removed)
{
    buf b = {calloc(1, 1), 0};
    sanitizer_options opt = {.mode = mode};
    sanitizer *s = sanitizer_new(&opt, sink, &b);
    cr_assert(s);
    ag_error err = {0};
    cr_assert_eq(sanitizer_feed(s, in, n, &err), AG_OK, "%s", err.msg);
    cr_assert_eq(sanitizer_finish(s, &err), AG_OK, "%s", err.msg);
    if (removed)
        *removed = sanitizer_report_removed(sanitizer_get_report(s));
    sanitizer_free(s);
    return b;
}

/* Start tags as "<ns>name " (stand-in spans left out), by the tree simulation. */
static int collect_start_tag(void *ctx, const html_token *t)
{
    if (t->type != TOK_START_TAG || (t->name_len == 4 && memcmp(t->name, "span", 4) == 0))
        return 0;
    char ns = (char)('0' + t->ns);
    sink(ctx, &ns, 1);
    sink(ctx, t->name, t->name_len);
    sink(ctx, " ", 1);
    return 0;
}

static char *start_tags(const buf *doc)
{
    buf tags = {calloc(1, 1), 0};
    tokenizer_options opt = {.tree_sim = true};
    tokenizer *t = tokenizer_new(&opt, collect_start_tag, &tags);
    cr_assert(t);
    tokenizer_feed(t, doc->p, doc->n);
    tokenizer_finish(t);
    tokenizer_free(t);
    return tags.p;
}

/* Returns the output of one pass (caller frees) after checking that it is stable. */
static char *check_stable(const char *in, size_t n)
{
    buf once = sanitize(SANITIZE_SCRIPTS, in, n, NULL);
    uint64_t removed = 0;
    buf twice = sanitize(SANITIZE_SCRIPTS, once.p, once.n, &removed);
    cr_expect_eq(removed, 0, "input: %s\noutput: %s\nagain: %s", in, once.p, twice.p);
    char *t1 = start_tags(&once), *t2 = start_tags(&twice);
    cr_expect_str_eq(t1, t2, "input: %s\noutput: %s\nagain: %s", in, once.p, twice.p);
    free(t1);
    free(t2);
    free(twice.p);
    return once.p;
}

#define STABLE(in, want)                                                                       \
    do {                                                                                       \
        char *got_ = check_stable(in, strlen(in));                                             \
        cr_expect_str_eq(got_, want, "input: %s", in);                                         \
        free(got_);                                                                            \
    } while (0)

/* The fuzzer's input: a malformed </svg /> ends a removed SVG <set>; the <set> after it is
 * HTML in the input and must not come back inside the SVG in the output. */
static const char FUZZ_END_TAG_AFTER_REMOVED_SUBTREE[] =
    "<svg><a xmlns:xlink=http://www.w3.org/1999/xlink xlink:href=?><circle r=400 /><animat"
    "e attributeName=xo=&>alert=javascript:alert(1) ccessKeyd(a)\" to=2//example.com/?a\" "
    "/>\r\n"
    "<set attributeName=\"xessKeyd(a)\" to=2//example.com/?a\" />\r\n"
    "<set attributeName=\"xlink:href\" begDin=\"accessKey(b)\"link:href\" begDin=\"accessK"
    "ey(b)\" to=\"//example.com/?b\" />\r\n"
    "<set attributeName=\"xlink\274href\" begin=\"accessKey(c)\" to=\"//example.com/?c\" /"
    ">\r\n"
    "<set attributeName=\"xlink:href\" begin=\"accessKey(d)\" to=\"/\377\377\377\377\377\377"
    "\377\377ral\034<svg>;<defs><filter id=\"f1\"><feGaussianBlur in=\"SourceGraphic\" std"
    "Deviaetion=\"95\" /></filter></defs><rect width=\"90\" height=\"90\" stroke=\"xample."
    "com/?d\" />\r\n"
    "</image>\r\n"
    "</sgreen\" stroke-width=\"3\" fill=\"yellowvg\" filter=\"url(#>f1)\" /></svg />\r\n"
    "<set attributeName=\"xlink:href\" begin=\"accessKey(d)\" to=\"/\377\377\377\377\377\377"
    "\377\377ral\034<svg>;<defs><filter id=\"f1\"><feGaussianBlur in=\"SourceGraphic\" std"
    "Deviaetion=\"95\" /></filter></defs><rect width=\"90\" height=\"90\" stroke=\"xample."
    "com/?d\" />\r\n"
    "</image>\r\n"
    "</sgrestrokec<olor=white strokewe(1) to=&>";

Test(namespace, fuzz_finding_end_tag_closing_a_removed_subtree)
{
    char *got = check_stable(FUZZ_END_TAG_AFTER_REMOVED_SUBTREE,
                             sizeof FUZZ_END_TAG_AFTER_REMOVED_SUBTREE - 1);
    free(got);
}

/* An end tag that ends a removed subtree and closes the written elements around it is
 * written (the output leaves the SVG as the input does). */
Test(namespace, end_tag_that_ends_a_removed_subtree_leaves_svg)
{
    STABLE("<svg><set attributeName=xlink:href to=x><rect/></svg /><set attributeName=xlink:href to=x>",
           "<svg></svg><set attributename=\"xlink:href\" to=\"x\">");
    STABLE("<math><mi><svg><set attributeName=href to=x></math><set attributeName=href to=y>",
           "<math><mi><svg></math><set attributename=\"href\" to=\"y\">");
}

Test(namespace, removed_breakout_tag_leaves_svg)
{
    STABLE("<svg><a><embed><set attributeName=href to=javascript:x>",
           "<svg><a><span></span><set attributename=\"href\" to=\"javascript:x\">");
    STABLE("<svg><font color=red hidden><b onclick=x>k</b>",
           "<svg><font color=\"red\" hidden=\"\"><b>k</b>");
}

Test(namespace, foreign_content_the_output_never_entered_is_not_written)
{
    /* In strict mode the hidden span is removed with the <svg> it opened; the </span> ends
     * the removal while the input is still in the SVG: nothing is written until it leaves. */
    buf out = sanitize(SANITIZE_STRICT,
                       "<span hidden><svg></span><g>in svg</g><set attributeName=x to=1></svg>after",
                       76, NULL);
    cr_expect_str_eq(out.p, "after");
    free(out.p);
}

/* A run goes on across the SVG tags, but text that came while the output was muted stays
 * unwritten when the run is written out after the output has caught up: held text is written
 * as the output stood when the text came. */
Test(namespace, held_text_keeps_the_mute_state_it_came_in)
{
    buf out = sanitize(SANITIZE_STRICT,
                       "<p>before <span hidden><svg></span><g>in svg</g><set attributeName=x to=1>"
                       "</svg> after</p>",
                       strlen("<p>before <span hidden><svg></span><g>in svg</g><set attributeName=x "
                              "to=1></svg> after</p>"),
                       NULL);
    cr_expect_str_eq(out.p, "<p>before  after</p>");
    free(out.p);
}

Test(namespace, integration_points_and_deep_nesting)
{
    STABLE("<svg><foreignObject><svg><set attributeName=href to=x></svg></foreignObject>"
           "<set attributeName=href to=y>t</svg><set attributeName=href to=z>",
           "<svg><foreignobject><svg></svg></foreignobject></svg>"
           "<set attributename=\"href\" to=\"z\">");
    char deep[8192] = "<svg>";
    for (int i = 0; i < 300; i++)
        strcat(deep, "<g>");
    strcat(deep, "<set attributeName=href to=x /><p><set attributeName=href to=y>");
    char *got = check_stable(deep, strlen(deep));
    cr_expect_not_null(strstr(got, "<set attributename=\"href\" to=\"y\">"), "%s", got);
    cr_expect_null(strstr(got, "to=\"x\""), "%s", got);
    free(got);
}

/* Strict mode removes a subtree a person does not see; when the next tag closes it implicitly
 * and the removed tag had broken out of MathML, the output breaks out too before that tag is
 * written (the fuzzer's finding: the dialog came back inside the math element). */
Test(namespace, removed_subtree_closed_by_the_next_tag_leaves_math)
{
    const char *in = "<math><p hidden><dialog open>seen</dialog>";
    buf once = sanitize(SANITIZE_STRICT, in, strlen(in), NULL);
    char *tags = start_tags(&once);
    cr_expect_str_eq(tags, "2math 0dialog ", "output: %s", once.p);
    cr_expect_str_eq(once.p, "<math><span></span><dialog open=\"\">seen</dialog>");
    free(tags);
    free(once.p);
}
