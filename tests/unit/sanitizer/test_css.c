/* Unit tests for sanitizer/css.c: hiding declarations, dangerous constructs, style sheets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sanitizer/css.h"

static unsigned flags_of(const char *decls) { return css_declarations_flags(decls, strlen(decls)); }

/* hiding of either kind (CSS_HIDES, or CSS_SOFT_*: see soft_hiding_and_showing) */
#define HIDES(s) cr_expect(flags_of(s) & (CSS_HIDES | CSS_SOFT_HIDES), "expected hiding: %s", s)
#define VISIBLE(s) cr_expect(!(flags_of(s) & (CSS_HIDES | CSS_SOFT_HIDES)), "expected visible: %s", s)
#define DANGER(s) cr_expect(flags_of(s) & CSS_DANGEROUS, "expected dangerous: %s", s)
#define SAFE(s) cr_expect(!(flags_of(s) & CSS_DANGEROUS), "expected safe: %s", s)

Test(css_hide, display_and_visibility)
{
    HIDES("display:none");
    HIDES("  DISPLAY : NONE ; color: red");
    HIDES("visibility: hidden");
    HIDES("visibility:collapse");
    VISIBLE("display:block");
    VISIBLE("visibility:visible");
    VISIBLE("display: inline-block; visibility: inherit");
}

Test(css_hide, last_declaration_wins_and_important)
{
    VISIBLE("display:none; display:block");
    HIDES("display:block; display:none");
    HIDES("display:none !important; display:block");
    VISIBLE("display:none !important; display:block !important");
    HIDES("display:none!important");
}

Test(css_hide, opacity)
{
    HIDES("opacity:0");
    HIDES("opacity: 0.0");
    HIDES("opacity: .005");
    HIDES("opacity: 0%");
    VISIBLE("opacity: 0.5");
    VISIBLE("opacity: 1");
}

Test(css_hide, font_size)
{
    HIDES("font-size:0");
    HIDES("font-size: 0px");
    HIDES("font-size: 1px");
    HIDES("font-size: 1.9px");
    HIDES("font-size: 0.05em");
    HIDES("font-size: 1pt");
    VISIBLE("font-size: 2px");
    VISIBLE("font-size: 12px");
    VISIBLE("font-size: small");
    VISIBLE("font-size: 0.8em");
}

Test(css_hide, transparent_colour)
{
    HIDES("color: transparent");
    HIDES("color: rgba(0, 0, 0, 0)");
    HIDES("color: rgb(10 20 30 / 0)");
    HIDES("color: hsla(120, 50%, 50%, 0.0)");
    HIDES("color: #0000");
    HIDES("color: #12345600");
    VISIBLE("color: rgba(0,0,0,0.8)");
    VISIBLE("color: #123456");
    VISIBLE("color: red");
    VISIBLE("background-color: transparent");
}

Test(css_hide, clipping)
{
    HIDES("position:absolute; clip: rect(0,0,0,0)");
    HIDES("clip: rect(0 0 0 0)");
    VISIBLE("position:relative; clip: rect(0 0 0 0)"); /* clip applies to absolute boxes only */
    HIDES("position:absolute; clip: rect(0 0 0 0)");
    HIDES("clip: rect(1px, 1px, 1px, 1px)");
    VISIBLE("clip: rect(0, 100px, 50px, 0)");
    VISIBLE("clip: auto");
    HIDES("clip-path: inset(50%)");
    HIDES("clip-path: inset(100% 50%)");
    VISIBLE("clip-path: inset(10%)");
    HIDES("clip-path: circle(0)");
    HIDES("clip-path: circle(0px at 50% 50%)");
    VISIBLE("clip-path: circle(40%)");
}

Test(css_hide, collapsed_box)
{
    HIDES("width:0; height:0; overflow:hidden");
    HIDES("height:0;overflow:hidden");
    HIDES("width: 1px; height: 1px; overflow: hidden");
    HIDES("max-height:0; overflow-y:hidden");
    VISIBLE("width:0; height:0");
    VISIBLE("height: 200px; overflow: hidden");
    /* the aspect-ratio box of a video embed: no height, a padding below it */
    VISIBLE("position:relative;height:0;padding-bottom:56.25%;overflow:hidden");
    VISIBLE("height:0;overflow:hidden;padding:20px 0");
    VISIBLE("height:0;overflow:hidden;padding-bottom:0;padding:10px");
    /* padding across the other axis, or none, or taken back by a later longhand */
    HIDES("height:0;overflow:hidden;padding:0 20px");
    HIDES("width:0;overflow:hidden;padding:20px 0");
    HIDES("width:1px;height:1px;padding:0;overflow:hidden");
    HIDES("height:0;overflow:hidden;padding:10px;padding-top:0;padding-bottom:0");
}

Test(css_hide, off_screen)
{
    HIDES("position:absolute; left:-9999px");
    HIDES("position: fixed; top: -2000px");
    HIDES("position:absolute; left:-100em");
    VISIBLE("position:absolute; left:-10px");
    VISIBLE("left:-9999px");
    /* a relative box is moved from its place by the same offsets (Chromium lays it out at
     * x = -9991), unless the offset that wins keeps it there */
    HIDES("position:relative; left:-9999px");
    HIDES("position:relative; right:9999px");
    HIDES("position:relative; bottom:5000px");
    VISIBLE("position:relative; left:0; right:9999px");
    VISIBLE("position:relative; top:-20px");
    HIDES("text-indent:-9999px");
    VISIBLE("text-indent: 2em");
}

Test(css_hide, scale_zero)
{
    HIDES("transform: scale(0)");
    HIDES("transform: translate(10px) scale(0, 1)");
    HIDES("transform: scaleY(0)");
    HIDES("scale: 0");
    VISIBLE("transform: scale(1.5)");
    VISIBLE("transform: rotate(0deg)");
}

Test(css_hide, escapes_and_comments_in_names)
{
    HIDES("dis\\70 lay: none");
    HIDES("display:/* c */none");
    VISIBLE("/* display:none */ color: red");
}

Test(css_hide, unparseable_is_not_guessed)
{
    VISIBLE("display none");
    VISIBLE("display: calc(none)");
    VISIBLE("");
    VISIBLE(";;;:");
}

Test(css_danger, expression_and_escapes)
{
    DANGER("width: expression(alert(1))");
    DANGER("width: EXPRESSION(alert(1))");
    DANGER("width: exp\\72 ession(alert(1))");
    DANGER("width: exp\\ression(alert(1))");
    DANGER("width: exp/**/ression(alert(1))");
    SAFE("width: calc(100% - 2px)");
    SAFE("content: 'expression(x)'");
}

Test(css_danger, urls)
{
    DANGER("background: url(javascript:alert(1))");
    DANGER("background: url('javascript:alert(1)')");
    DANGER("background: url(\"  JaVaScRiPt:alert(1)\")");
    DANGER("background: url(java\\73 cript:alert(1))");
    DANGER("background: url('java\\\nscript:x')");
    DANGER("background-image: url(vbscript:msgbox)");
    DANGER("background-image: image-set('javascript:x' 1x)");
    DANGER("background:url(javascript:alert('x'))");
    SAFE("background: url(/img/a.png)");
    SAFE("background: url('https://example.org/javascript:a.png')");
    SAFE("content: 'javascript:'");
}

Test(css_danger, bindings)
{
    DANGER("behavior: url(x.htc)");
    DANGER("-moz-binding: url(http://x/#xss)");
    DANGER("beh\\61vior: url(x.htc)");
    SAFE("scroll-behavior: smooth");
}

Test(css_sheet, text_flags)
{
    const char *a = "@import url(evil.css); p { color: red }";
    const char *b = "p { color: red } .x { background: url(javascript:alert(1)) }";
    const char *c = "a[href^=\"javascript:\"] { color: red } .behavior { display: block }";
    const char *d = "@media screen { p { width: expression(1) } }";
    cr_expect(css_sheet_text_flags(a, strlen(a)) & CSS_DANGEROUS);
    cr_expect(css_sheet_text_flags(b, strlen(b)) & CSS_DANGEROUS);
    cr_expect(!(css_sheet_text_flags(c, strlen(c)) & CSS_DANGEROUS));
    cr_expect(css_sheet_text_flags(d, strlen(d)) & CSS_DANGEROUS);
}

Test(css_sheet, simple_selectors)
{
    css_sheet *s = css_sheet_new(64);
    const char *css =
        "/* page styles */\n"
        ".hidden { display: none }\n"
        "#secret, span.tiny { font-size: 0 }\n"
        "div.a#b.c { visibility: hidden }\n"
        "p { color: blue }\n"
        ".menu li { display: none }\n"
        "a:hover { opacity: 0 }\n"
        "[data-x] { display: none }\n"
        "@media print { .noprint { display: none } }\n"
        "@media screen { .scr { display:none } }\n"
        "body { display:none }\n"
        ".Late { display:none; display:block }\n";
    css_sheet_add(s, css, strlen(css));
    cr_expect(css_sheet_hides(s, "div", NULL, "x hidden y"));
    cr_expect(css_sheet_hides(s, "p", "secret", NULL));
    cr_expect(css_sheet_hides(s, "span", NULL, "tiny"));
    cr_expect(!css_sheet_hides(s, "div", NULL, "tiny"));
    cr_expect(css_sheet_hides(s, "div", "b", "c a"));
    cr_expect(!css_sheet_hides(s, "div", "b", "a"));
    cr_expect(!css_sheet_hides(s, "span", "b", "a c"));
    cr_expect(!css_sheet_hides(s, "p", NULL, NULL));
    cr_expect(!css_sheet_hides(s, "li", NULL, NULL)); /* `.menu li` needs its ancestor */
    cr_expect(!css_sheet_hides(s, "a", NULL, NULL));
    cr_expect(!css_sheet_hides(s, "div", NULL, "noprint"));
    cr_expect(css_sheet_hides(s, "div", NULL, "scr"));
    cr_expect(!css_sheet_hides(s, "body", NULL, NULL));
    cr_expect(!css_sheet_hides(s, "div", NULL, "Late"));
    cr_expect(!css_sheet_hides(s, "div", NULL, "HIDDEN"), "class names are case-sensitive");
    cr_expect(!css_sheet_hides(s, "p", NULL, NULL)); /* [data-x]: attributes not given */
    /* with `.menu li` and `[data-x]` (see css_ancestors) */
    cr_expect_eq(css_sheet_rule_count(s), 7);
    css_sheet_free(s);
}

Test(css_sheet, bounded_rule_count)
{
    css_sheet *s = css_sheet_new(3);
    char css[4096];
    size_t n = 0;
    for (int i = 0; i < 50; i++) n += (size_t)snprintf(css + n, sizeof css - n, ".c%d{display:none}", i);
    css_sheet_add(s, css, n);
    cr_expect_eq(css_sheet_rule_count(s), 3);
    cr_expect(css_sheet_hides(s, "p", NULL, "c0"));
    cr_expect(!css_sheet_hides(s, "p", NULL, "c10"));
    css_sheet_free(s);
}

Test(css_sheet, garbage_does_not_crash)
{
    const char *junk[] = {"{{{{", "}}}}", "@media", "@media {", ".a{", "'unterminated",
                          "url(", "\\", "/*", ".a{display:none", "@import", "#{}",
                          "a{b:url(x y)}", "\x80\xff{display:none}"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        css_sheet *s = css_sheet_new(8);
        css_sheet_add(s, junk[i], strlen(junk[i]));
        (void)css_sheet_text_flags(junk[i], strlen(junk[i]));
        (void)css_declarations_flags(junk[i], strlen(junk[i]));
        css_sheet_free(s);
    }
    css_sheet *s = css_sheet_new(8);
    const char *unterminated = ".a{display:none";
    css_sheet_add(s, unterminated, strlen(unterminated));
    cr_expect(css_sheet_hides(s, "p", NULL, "a"), "an unterminated block still applies");
    css_sheet_free(s);
}

/* One parse for the filter: the danger flag of css_sheet_text_flags() and, for a safe block
 * only, the hiding rules of css_sheet_add(). */
Test(css_sheet, add_judged_keeps_rules_of_safe_blocks_only)
{
    css_sheet *s = css_sheet_new(16);
    const char *safe = ".gone { display: none } p { color: red }";
    cr_expect_eq(css_sheet_add_judged(s, safe, strlen(safe)), css_sheet_text_flags(safe, strlen(safe)));
    cr_expect_eq(css_sheet_add_judged(s, safe, strlen(safe)) & CSS_DANGEROUS, 0u);
    cr_expect(css_sheet_hides(s, "div", NULL, "gone"));
    size_t kept = css_sheet_rule_count(s);
    const char *bad = "#late { display:none } .x { background: url(javascript:alert(1)) }";
    cr_expect(css_sheet_add_judged(s, bad, strlen(bad)) & CSS_DANGEROUS);
    cr_expect_eq(css_sheet_rule_count(s), kept, "a dropped block adds no rules");
    cr_expect(!css_sheet_hides(s, "p", "late", NULL));
    cr_expect(css_sheet_add_judged(NULL, bad, strlen(bad)) & CSS_DANGEROUS);
    css_sheet_free(s);
}

/* Generated text: every string of a `content` declaration reaches the callback whole (past the
 * lexer's 128-byte token text) with escapes decoded, in attributes and in sheets; nothing else
 * does; a removal asked for drops the block's hiding rules as danger does. */
typedef struct seen {
    char text[4][512];
    int n;
    const char *cut_if; /* ask for removal when the text holds this */
} seen;

static int collect_text(void *ctx, const char *text, size_t len)
{
    seen *s = ctx;
    if (s->n < 4)
        snprintf(s->text[s->n++], sizeof s->text[0], "%.*s", (int)len, text);
    return s->cut_if && memmem(text, len, s->cut_if, strlen(s->cut_if)) != NULL;
}

Test(css_text, content_strings_reach_the_callback)
{
    seen s = {.n = 0};
    const char *d = "color: red; font-family: \"Not This\"; content: \"a\\62 c\" counter(x) 'd\\\"e'";
    unsigned f = css_declarations_flags_text(d, strlen(d), collect_text, &s);
    cr_expect_eq(f & CSS_TEXT_CUT, 0u);
    cr_assert_eq(s.n, 2);
    cr_expect_str_eq(s.text[0], "abc");
    cr_expect_str_eq(s.text[1], "d\"e");

    char big[400];
    memset(big, 'x', sizeof big);
    char decl[512];
    snprintf(decl, sizeof decl, "CONT\\65nt:'%.300s END'", big);
    seen l = {.n = 0, .cut_if = "END"};
    cr_expect(css_declarations_flags_text(decl, strlen(decl), collect_text, &l) & CSS_TEXT_CUT);
    cr_assert_eq(l.n, 1);
    cr_expect_eq(strlen(l.text[0]), 304u, "the whole string, not the token's first 128 bytes");

    css_sheet *sh = css_sheet_new(16);
    const char *css = ".h{display:none} p::before{content:\"stop here\"}";
    seen c = {.n = 0, .cut_if = "stop"};
    cr_expect(css_sheet_add_judged_text(sh, css, strlen(css), collect_text, &c) & CSS_TEXT_CUT);
    cr_expect_eq(css_sheet_rule_count(sh), 0u, "a dropped block hides nothing");
    seen k = {.n = 0, .cut_if = "never"};
    cr_expect_eq(css_sheet_add_judged_text(sh, css, strlen(css), collect_text, &k), 0u);
    cr_expect_eq(css_sheet_rule_count(sh), 1u);
    cr_expect_str_eq(k.text[0], "stop here");
    css_sheet_free(sh);

    /* without a callback, content is parsed as before */
    cr_expect_eq(flags_of("content: 'x'; display: none") & CSS_HIDES, (unsigned)CSS_HIDES);
}

Test(css_text, attr_names_shown_by_content)
{
    css_sheet *sh = css_sheet_new(16);
    seen k = {.n = 0};
    const char *css = "a::after{content:' (' attr( Data-Href ) ')'} b{content:attr(x)}";
    cr_expect_eq(css_sheet_add_judged_text(sh, css, strlen(css), collect_text, &k), 0u);
    cr_expect(css_sheet_shows_attr(sh, "data-href", 9));
    cr_expect(css_sheet_shows_attr(sh, "X", 1));
    cr_expect(!css_sheet_shows_attr(sh, "data-hre", 8));
    cr_expect(!css_sheet_shows_attr(sh, "href", 4));
    css_sheet_freeze_shown_attrs(sh);
    const char *late = "i::after{content:attr(title)}", *again = "i{content:attr(x)}";
    cr_expect(css_sheet_add_judged_text(sh, late, strlen(late), collect_text, &k) & CSS_LATE_ATTR);
    cr_expect(!css_sheet_shows_attr(sh, "title", 5), "a dropped block shows nothing");
    cr_expect_eq(css_sheet_add_judged_text(sh, again, strlen(again), collect_text, &k), 0u);
    /* without a text callback attr() is not looked at */
    css_sheet *plain = css_sheet_new(16);
    css_sheet_add_judged(plain, css, strlen(css));
    cr_expect(!css_sheet_shows_attr(plain, "x", 1));
    css_sheet_free(plain);
    css_sheet_free(sh);
}

Test(css_sheet, late_rules_against_written_elements)
{
    css_seen w = {.any = 0};
    css_sheet *sh = css_sheet_new(16);
    const char *css = ".a{display:none} #m.b{opacity:0}";
    css_sheet_add(sh, css, strlen(css));
    cr_expect(!css_sheet_rules_may_match(sh, 0, &w), "nothing written yet");
    css_seen_add_element(&w, "p", 1, "m", 1, " b\tc ", 6);
    cr_expect(css_sheet_rules_may_match(sh, 1, &w), "#m.b: an element with id m and class b");
    cr_expect(css_sheet_rules_may_match(sh, 0, &w), "from rule 0: .a no, #m.b yes");
    css_sheet_truncate(sh, 1);
    cr_expect_eq(css_sheet_rule_count(sh), 1u);
    cr_expect(!css_sheet_rules_may_match(sh, 0, &w), ".a was never written");
    css_seen_add_element(&w, "div", 3, NULL, 0, "A", 1);
    cr_expect(!css_sheet_rules_may_match(sh, 0, &w), "class names keep their case, as .a hides");
    css_seen_add_element(&w, "div", 3, NULL, 0, "x a", 3);
    cr_expect(css_sheet_rules_may_match(sh, 0, &w));
    css_sheet_free(sh);
}

/* ---- the lexer's fast paths: each must give the token the byte-at-a-time rules give ---- */

#include <math.h>
#include <stdlib.h>

#include "sanitizer/css_lexer.h"

/* The first token of s[0, n), and the lexer's position after it. */
static css_token first_token(const char *s, size_t n, size_t *end)
{
    css_lexer lx;
    css_token t;
    css_lexer_init(&lx, s, n);
    css_lexer_next(&lx, &t);
    if (end) *end = lx.pos;
    return t;
}

Test(css_lexer, name_text_is_bounded_but_the_name_consumed)
{
    char s[400];
    size_t end;
    memset(s, 'a', sizeof s);
    css_token t = first_token(s, CSS_TOKEN_TEXT_MAX - 1, &end);
    cr_expect_eq(t.type, CT_IDENT);
    cr_expect_eq(t.text_len, (size_t)CSS_TOKEN_TEXT_MAX - 1, "a name that just fits is whole");
    cr_expect_eq(end, (size_t)CSS_TOKEN_TEXT_MAX - 1);
    t = first_token(s, CSS_TOKEN_TEXT_MAX, &end);
    cr_expect_eq(t.text_len, (size_t)CSS_TOKEN_TEXT_MAX - 1);
    cr_expect_eq(end, (size_t)CSS_TOKEN_TEXT_MAX, "the byte past the bound is still consumed");
    s[300] = ':';
    t = first_token(s, 310, &end);
    cr_expect_eq(t.text_len, (size_t)CSS_TOKEN_TEXT_MAX - 1);
    cr_expect_eq(t.text[t.text_len], '\0');
    cr_expect_eq(end, 300u);
}

Test(css_lexer, escape_after_a_long_run)
{
    char s[200];
    size_t end;
    /* 126 bytes, then a 2-byte code point that does not fit, then a byte that does */
    memset(s, 'a', 126);
    memcpy(s + 126, "\\e9 b(", 6);
    css_token t = first_token(s, 132, &end);
    cr_expect_eq(t.type, CT_FUNCTION);
    cr_expect_eq(t.text_len, 127u);
    cr_expect_eq(t.text[126], 'b', "a code point that does not fit is dropped, later bytes kept");
    cr_expect_eq(end, 132u);
    /* 125 bytes, then an escape of one byte, then a run */
    memset(s, 'a', 125);
    memcpy(s + 125, "\\41 bcd", 7);
    t = first_token(s, 132, &end);
    cr_expect_eq(t.text_len, 127u);
    cr_expect_eq(t.text[125], 'A');
    cr_expect_eq(t.text[126], 'b');
    cr_expect_eq(end, 132u);
    /* a run right after an escape, in a short name */
    t = first_token("di\\73play", 9, &end);
    cr_expect_str_eq(t.text, "display");
}

Test(css_lexer, nul_in_a_name_is_replaced)
{
    size_t end;
    css_token t = first_token("a\0b c", 5, &end);
    cr_expect_eq(t.type, CT_IDENT);
    cr_expect_eq(t.text_len, 5u);
    cr_expect_eq(memcmp(t.text, "a\xEF\xBF\xBD" "b", 5), 0);
    cr_expect_eq(end, 3u);
    t = first_token("\0x", 2, &end);
    cr_expect_eq(t.type, CT_IDENT, "NUL starts a name");
    cr_expect_eq(end, 2u);
}

Test(css_lexer, comments_and_whitespace)
{
    css_lexer lx;
    css_token t;
    const char *open = "a/* no end";
    css_lexer_init(&lx, open, strlen(open));
    css_lexer_next(&lx, &t);
    cr_expect_str_eq(t.text, "a");
    css_lexer_next(&lx, &t);
    cr_expect_eq(t.type, CT_EOF, "a comment without its end runs to the end of input");
    cr_expect_eq(t.after_comment, 1);
    cr_expect_eq(lx.pos, strlen(open));

    const char *tricky = "/*/ * /**/b/***/ \t\r\n\fc/*";
    css_lexer_init(&lx, tricky, strlen(tricky));
    css_lexer_next(&lx, &t);
    cr_expect_str_eq(t.text, "b");
    cr_expect_eq(t.after_comment, 1);
    cr_expect_eq(t.start, 10u);
    css_lexer_next(&lx, &t);
    cr_expect_eq(t.type, CT_WHITESPACE);
    cr_expect_eq(t.after_comment, 1);
    cr_expect_eq(lx.pos, 21u, "one token for the whole run of whitespace");
    css_lexer_next(&lx, &t);
    cr_expect_str_eq(t.text, "c");
    cr_expect_eq(t.after_comment, 0);
    css_lexer_next(&lx, &t);
    cr_expect_eq(t.type, CT_EOF);
    cr_expect_eq(t.after_comment, 1);
}

/* Numbers read without strtod() must be the very double strtod() gives. */
Test(css_lexer, numbers_equal_strtod)
{
    const char *nums[] = {"0", "-0", "+0", "1", "1.9", "0.1", ".5", "-.5", "+.5", "2", "0.01",
                          "12.5", "-1000", "-999.99", "0.333333333333333", "999999999999999",
                          "123456789.012345", "9007199254740993", "1234567890123456789",
                          "0.1234567890123456789", "1e3", "1.5E-2", "-2e+2", "1e400",
                          "000000000000000000001.5"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char s[64];
        size_t end;
        snprintf(s, sizeof s, "%spx", nums[i]);
        css_token t = first_token(s, strlen(s), &end);
        double want = strtod(nums[i], NULL);
        cr_expect_eq(t.type, CT_DIMENSION, "%s", s);
        cr_expect(memcmp(&t.number, &want, sizeof want) == 0, "%s: %.17g, strtod %.17g", s,
                  t.number, want);
        cr_expect_str_eq(t.text, "px");
        cr_expect_eq(end, strlen(s));
    }
    css_token t = first_token("-0", 2, NULL);
    cr_expect(t.type == CT_NUMBER && signbit(t.number), "-0 keeps its sign");
}

Test(css_sheet, selectors_read_again_after_comments)
{
    css_sheet *s = css_sheet_new(16);
    const char *css = "/*x*/.a/*y*/{display:none} /**/#b /**/, i.c{opacity:0}"
                      ".d{color:red} .e:hover{display:none} .f{display:none}";
    css_sheet_add(s, css, strlen(css));
    cr_expect(css_sheet_hides(s, "p", NULL, "a"));
    cr_expect(css_sheet_hides(s, "p", "b", NULL));
    cr_expect(css_sheet_hides(s, "i", NULL, "c"));
    cr_expect(!css_sheet_hides(s, "p", NULL, "c"));
    cr_expect(!css_sheet_hides(s, "p", NULL, "d"));
    cr_expect(!css_sheet_hides(s, "p", NULL, "e"));
    cr_expect(css_sheet_hides(s, "p", NULL, "f"));
    cr_expect_eq(css_sheet_rule_count(s), 4u);
    css_sheet_free(s);
}

Test(css_danger, comment_split_names_read_again)
{
    DANGER("width: /**/exp/**/ression(1)");
    DANGER("width: EXP/* x */Ression(1)");
    DANGER("a: b; width: e/**/xpression(1)");
    SAFE("width: exp /**/ression(1)");
    SAFE("width: ex/**/pressions(1)");
}

Test(css_sheet, deep_at_rule_nesting_is_dropped_not_recursed)
{
    size_t levels = 100000;
    char *css = malloc(3 * levels + 32);
    cr_assert(css);
    for (size_t i = 0; i < levels; i++) memcpy(css + 3 * i, "@a{", 3);
    css_sheet *s = css_sheet_new(16);
    cr_expect(css_sheet_add_judged(s, css, 3 * levels) & CSS_DANGEROUS);
    cr_expect(css_sheet_text_flags(css, 3 * levels) & CSS_DANGEROUS);
    /* ordinary nesting is read as before */
    const char *media = "@media screen { @supports (x:y) { @layer l { .n { display:none } } } }";
    cr_expect_eq(css_sheet_add_judged(s, media, strlen(media)) & CSS_DANGEROUS, 0u);
    css_sheet_free(s);
    free(css);
}

/* Text in the colour of its own background, transparent through a filter, content not
 * rendered, and boxes moved off the page by right/bottom, margins or a translation. */
Test(css_hide, same_colour_filter_content_visibility_and_more_off_screen)
{
    HIDES("color:#fff;background-color:#fff");
    HIDES("color:white;background:white");
    HIDES("color:rgb(255,255,255);background-color:rgb(250,250,250)");
    HIDES("color:#000;background:#000 !important");
    HIDES("color:#ffffffff;background:WHITE");
    VISIBLE("color:#333;background:#fff");
    VISIBLE("color:#777;background:#888");                 /* low contrast, readable */
    VISIBLE("color:#fff;background:#fff url(paper.png)"); /* an image may show */
    VISIBLE("color:#fff;background:linear-gradient(#fff,#000)");
    VISIBLE("color:rgba(255,255,255,0.5);background:#fff"); /* not judged */
    VISIBLE("color:#fff");                                 /* background unknown */
    HIDES("filter:opacity(0)");
    HIDES("filter:blur(1px) opacity(0%)");
    VISIBLE("filter:opacity(50%)");
    HIDES("content-visibility:hidden");
    VISIBLE("content-visibility:auto");
    HIDES("position:fixed;right:-2000px");
    HIDES("position:absolute;bottom:-5000px");
    HIDES("margin-left:-10000px");
    HIDES("margin:0 0 0 -10000px");
    HIDES("margin:-5000px 0");
    VISIBLE("margin:0 -20px");
    HIDES("transform:translateX(-9999px)");
    HIDES("transform:translate(0,-2000px)");
    VISIBLE("transform:translate(-50%,-50%)");
    HIDES("transform:scale(0.001)");
    HIDES("scale:1%");
    VISIBLE("transform:scale(0.5)");
}

/* Font size, visibility and colour are inherited, so a descendant can show again what they
 * hide: they are soft (CSS_SOFT_*), and a value a descendant sets again is a CSS_SHOW_*. */
Test(css_hide, soft_hiding_and_showing)
{
    cr_expect_eq(flags_of("font-size:0"), CSS_SOFT_FONT);
    cr_expect_eq(flags_of("visibility:hidden"), CSS_SOFT_VISIBILITY);
    cr_expect_eq(flags_of("color:transparent"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:#fff;background:#fff"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("font-size:0;visibility:hidden"), CSS_SOFT_FONT | CSS_SOFT_VISIBILITY);
    cr_expect_eq(flags_of("font-size:0;opacity:0"), CSS_HIDES); /* hard wins */
    cr_expect_eq(flags_of("font-size:14px"), CSS_SHOW_FONT);
    cr_expect_eq(flags_of("font-size:1rem"), CSS_SHOW_FONT);
    cr_expect_eq(flags_of("font-size:medium"), CSS_SHOW_FONT);
    cr_expect_eq(flags_of("font-size:1em"), 0u);   /* of a parent that may be 0 */
    cr_expect_eq(flags_of("font-size:150%"), 0u);
    cr_expect_eq(flags_of("visibility:visible"), CSS_SHOW_VISIBILITY);
    cr_expect_eq(flags_of("color:#222"), CSS_SHOW_COLOUR);
    cr_expect_eq(flags_of("color:currentcolor"), 0u);
}

Test(css_sheet, rules_that_only_show_are_kept_apart)
{
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, ".row{font-size:0} .col{font-size:16px} p{color:#333}", 52);
    cr_expect_eq(css_sheet_rule_count(s), 1u); /* the hiding rule only */
    cr_expect_eq(css_sheet_hides_n(s, "div", 3, NULL, 0, "row", 3, 0), CSS_SOFT_FONT);
    cr_expect_eq(css_sheet_hides_n(s, "div", 3, NULL, 0, "col", 3, 0), 0u);
    cr_expect_eq(css_sheet_hides_n(s, "div", 3, NULL, 0, "col", 3, 1), CSS_SHOW_FONT);
    /* kept only for the groups something hides by: no rule hides by colour */
    cr_expect_eq(css_sheet_hides_n(s, "p", 1, NULL, 0, NULL, 0, 1), 0u);
    /* a block dropped after all takes its undoing rules with it */
    size_t n = css_sheet_rule_count(s);
    css_sheet_add(s, ".late{font-size:12px}", 21);
    cr_expect_eq(css_sheet_hides_n(s, "b", 1, NULL, 0, "late", 4, 1), CSS_SHOW_FONT);
    css_sheet_truncate(s, n);
    cr_expect_eq(css_sheet_hides_n(s, "b", 1, NULL, 0, "late", 4, 1), 0u);
    css_sheet_free(s);
}

/* Rules that only show are kept from the first block that hides softly on (read twice, so
 * showing rules before the hiding one count), or once the document hid softly inline. */
Test(css_sheet, showing_rules_kept_once_something_hides_softly)
{
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, ".a{font-size:14px}", 18);
    cr_expect_eq(css_sheet_hides_n(s, "p", 1, NULL, 0, "a", 1, 1), 0u);
    css_sheet_add(s, ".b{font-size:14px} .z{font-size:0}", 34);
    cr_expect_eq(css_sheet_hides_n(s, "p", 1, NULL, 0, "b", 1, 1), CSS_SHOW_FONT);
    css_sheet_free(s);
    s = css_sheet_new(0);
    css_sheet_keep_shows(s); /* as the filter does after style="font-size:0" */
    css_sheet_add(s, ".c{visibility:visible}", 22);
    cr_expect_eq(css_sheet_hides_n(s, "p", 1, NULL, 0, "c", 1, 1), CSS_SHOW_VISIBILITY);
    css_sheet_free(s);
}

/* ---- the cascade: a later or more specific declaration undoes a hiding ------------------- */

static unsigned sheet_flags(const char *css, const char *tag, const char *id, const char *cls)
{
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, css, strlen(css));
    unsigned f = css_sheet_hides(s, tag, id, cls);
    css_sheet_free(s);
    return f;
}

/* The same id twice (`#m#m`, written to win the cascade, or what `#m:is(#m)` gives) is that
 * id, with twice its specificity; two different ids match nothing. */
Test(css_cascade, repeated_id)
{
    cr_expect_eq(sheet_flags("#m#m{display:none}", "p", "m", NULL), CSS_HIDES);
    cr_expect_eq(sheet_flags("#m#n{display:none}", "p", "m", NULL), 0u);
    cr_expect_eq(sheet_flags(".x{display:none} #m#m{display:block}", "p", "m", "x"), 0u);
    cr_expect_eq(sheet_flags("#m#m{display:none} #m.x.y{display:block}", "p", "m", "x y"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags("#m:is(.q, #m){opacity:0}", "p", "m", NULL), CSS_HIDES);
}

Test(css_cascade, framework_utilities_undo_in_wider_windows)
{
    /* Tailwind's `hidden md:flex`: visible from 768px on, so kept */
    const char *tw = ".hidden{display:none} @media (min-width:768px){.md\\:flex{display:flex}}";
    cr_expect_eq(sheet_flags(tw, "nav", NULL, "hidden md:flex"), 0u);
    cr_expect_eq(sheet_flags(tw, "nav", NULL, "hidden"), CSS_HIDES);
    /* Bootstrap's `d-none d-md-block`, both !important */
    const char *bs = ".d-none{display:none!important}"
                     "@media (min-width:768px){.d-md-block{display:block!important}}";
    cr_expect_eq(sheet_flags(bs, "div", NULL, "d-none d-md-block"), 0u);
    /* a normal rule does not undo an important one */
    cr_expect_eq(sheet_flags(".d-none{display:none!important} .d-block{display:block}", "div",
                             NULL, "d-none d-block"),
                 CSS_HIDES);
    /* print never applies on a screen; a hiding rule in a media query is not judged */
    cr_expect_eq(sheet_flags(".x{display:none} @media print{.p{display:block}}", "p", NULL, "x p"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags("@media (max-width:600px){.m{display:none}}", "p", NULL, "m"), 0u);
    /* @supports and @layer may apply: their undoing counts */
    cr_expect_eq(sheet_flags(".x{display:none} @supports (display:grid){.g{display:grid}}", "p",
                             NULL, "x g"),
                 0u);
    /* keyframes hold no selectors */
    cr_expect_eq(sheet_flags(".x{opacity:0} @keyframes x{from{opacity:1}}", "x", NULL, "x"),
                 CSS_HIDES);
}

/* An undoing rule's functional pseudo-classes count as Selectors 4 counts them: :not(), :is()
 * and :has() as their most specific argument, :where() as nothing (`.x:not(p)` was counted
 * as two classes, and so beat a later `div.x` that hides). */
Test(css_cascade, functional_pseudo_class_specificity)
{
    cr_expect_eq(sheet_flags(".x:not(p){display:block} div.x{display:none}", "div", NULL, "x"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags(".x:not(.z){display:block} div.x{display:none}", "div", NULL, "x"),
                 0u);
    cr_expect_eq(sheet_flags(":is(#m){display:block} .x{display:none}", "div", "m", "x"), 0u);
    cr_expect_eq(sheet_flags(":is(.x, #zz){display:block} .x{display:none}", "div", "m", "x"),
                 0u); /* the list's most specific selector counts, matched or not */
    cr_expect_eq(sheet_flags(":where(#m){display:block} .x{display:none}", "div", "m", "x"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags(".x{display:none} :where(.x){display:block}", "div", NULL, "x"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags(".x{display:none} :where(.x){display:block!important}", "div", NULL,
                             "x"),
                 0u);
    cr_expect_eq(sheet_flags(":not(#q).x{display:block} div.x.x{display:none}", "div", NULL, "x"),
                 0u);
    cr_expect_eq(sheet_flags(".x:nth-child(n){display:block} div.x.x{display:none}", "div", NULL,
                             "x"),
                 CSS_HIDES);
    /* `*` counts nothing, and still undoes with !important */
    cr_expect_eq(sheet_flags(".x{display:none} *{display:block}", "div", NULL, "x"), CSS_HIDES);
    cr_expect_eq(sheet_flags(".x{display:none} *{display:block!important}", "div", NULL, "x"),
                 0u);
}

/* :is() and :where() of compounds: one selector per item, with the whole selector's
 * specificity (the list's most specific item for :is(), nothing for :where()). */
Test(css_cascade, is_and_where_lists)
{
    cr_expect_eq(sheet_flags(":is(.a, .c){display:none}", "div", NULL, "c"), CSS_HIDES);
    cr_expect_eq(sheet_flags(":is(.a, .c){display:none}", "div", NULL, "b"), 0u);
    cr_expect_eq(sheet_flags(":where(.q, #m){display:none}", "div", "m", NULL), CSS_HIDES);
    cr_expect_eq(sheet_flags(".c:is(p, div){display:none}", "div", NULL, "c"), CSS_HIDES);
    cr_expect_eq(sheet_flags(".c:is(p, span){display:none}", "div", NULL, "c"), 0u);
    cr_expect_eq(sheet_flags("div:is(p){display:none}", "div", NULL, NULL), 0u);
    cr_expect_eq(sheet_flags("div.c:is(div, span){display:none}", "div", NULL, "c"), CSS_HIDES);
    cr_expect_eq(sheet_flags("*:is(div).c{display:none}", "div", NULL, "c"), CSS_HIDES);
    cr_expect_eq(sheet_flags(".c:is(*){display:none}", "div", NULL, "c"), CSS_HIDES);
    /* an item with a combinator is not judged: the rule hides nothing */
    cr_expect_eq(sheet_flags(":is(.a .b, .c){display:none}", "div", NULL, "c"), 0u);
    /* an undoing :where() counts nothing; it names its elements, not every element */
    cr_expect_eq(sheet_flags(".a{display:none} :where(.c){display:block!important}", "div", NULL,
                             "a"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags(".a{display:none} :where(.a){display:block!important}", "div", NULL,
                             "a"),
                 0u);
    cr_expect_eq(sheet_flags(".a{display:none} :is(#z, .a){display:block}", "div", NULL, "a"),
                 0u);
    /* the first rule of a sheet with specificity 0 still counts */
    cr_expect_eq(sheet_flags(":where(.a){display:none}", "div", NULL, "a"), CSS_HIDES);
    /* nine items: past the bound, not judged */
    cr_expect_eq(sheet_flags(":is(.a,.b,.c,.d,.e,.f,.g,.h,.i){display:none}", "div", NULL, "a"),
                 0u);
}

Test(css_cascade, order_and_specificity)
{
    cr_expect_eq(sheet_flags(".hidden{display:none} .block{display:block}", "p", NULL,
                             "hidden block"),
                 0u);
    /* the earlier rule of the same specificity loses */
    cr_expect_eq(sheet_flags(".block{display:block} .hidden{display:none}", "p", NULL,
                             "hidden block"),
                 CSS_HIDES);
    /* an id beats classes; a tag and a class beat a class */
    cr_expect_eq(sheet_flags("#only{display:none} .show{display:block}", "p", "only", "show"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags("p.show{display:block} .x{display:none}", "p", NULL, "x show"), 0u);
    /* another property of the same group: visibility */
    cr_expect_eq(sheet_flags(".invisible{visibility:hidden} .visible{visibility:visible}", "p",
                             NULL, "invisible visible"),
                 CSS_SHOW_VISIBILITY);
    /* an undoing in another group does not help */
    cr_expect_eq(sheet_flags(".x{display:none} .y{visibility:visible}", "p", NULL, "x y"),
                 CSS_HIDES);
    /* screen-reader text shown again from a breakpoint on (Tailwind's not-sr-only) */
    const char *sr = ".sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;"
                     "overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border-width:0}"
                     "@media (min-width:768px){.md\\:not-sr-only{position:static;width:auto;"
                     "height:auto;padding:0;margin:0;overflow:visible;clip:auto}}";
    cr_expect_eq(sheet_flags(sr, "span", NULL, "sr-only md:not-sr-only"), 0u);
    cr_expect_eq(sheet_flags(sr, "span", NULL, "sr-only"), CSS_HIDES);
}

Test(css_cascade, gradient_text_is_painted_by_its_background)
{
    const char *tw = ".bg-clip-text{-webkit-background-clip:text;background-clip:text}"
                     ".text-transparent{color:transparent}";
    cr_expect_eq(sheet_flags(tw, "h1", NULL, "bg-clip-text text-transparent") & CSS_SOFT_HIDES,
                 0u);
    cr_expect_eq(sheet_flags(tw, "h1", NULL, "text-transparent"), CSS_SOFT_COLOUR);
    VISIBLE("background:linear-gradient(#f00,#00f);-webkit-background-clip:text;"
            "-webkit-text-fill-color:transparent");
    VISIBLE("background-clip:text;color:transparent");
}

Test(css_cascade, a_later_padding_opens_a_collapsed_box)
{
    const char *css = ".embed{height:0;overflow:hidden}.ratio-16x9{padding-bottom:56%}";
    cr_expect_eq(sheet_flags(css, "div", NULL, "embed ratio-16x9"), 0u);
    cr_expect_eq(sheet_flags(css, "div", NULL, "embed"), CSS_HIDES);
}

Test(css_cascade, a_shadow_drawn_in_place_paints_transparent_text)
{
    /* recoloured emoji and "glowing" text: the shadow is what a person sees */
    VISIBLE("color:transparent;text-shadow:0 0 0 red");
    VISIBLE("color:transparent;text-shadow:2px 2px 4px rgb(0 0 0 / 0.5)");
    VISIBLE("color:transparent;text-shadow:#333 1px 1px");
    VISIBLE("color:transparent;text-shadow:5000px 0 red, 0 0 0 navy");
    /* no colour of its own (the text's, transparent), a transparent one, or moved or blurred
     * away from the text: still hidden */
    cr_expect_eq(flags_of("color:transparent;text-shadow:0 0 3px"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;text-shadow:0 0 0 #f000"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;text-shadow:0 0 0 rgba(0,0,0,0)"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;text-shadow:1000px 0 0 red"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;text-shadow:0 0 200px red"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;text-shadow:0 0 0 var(--c)"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;text-shadow:none"), CSS_SOFT_COLOUR);
    /* across rules, whichever comes first */
    const char *sh = ".glow{text-shadow:0 0 1px #0ff}.ghost{color:transparent}";
    cr_expect_eq(sheet_flags(sh, "span", NULL, "ghost glow") & CSS_SOFT_HIDES, 0u);
    cr_expect_eq(sheet_flags(sh, "span", NULL, "ghost"), CSS_SOFT_COLOUR);
}

Test(css_cascade, the_style_attribute_in_the_cascade)
{
    css_sheet *s = css_sheet_new(0);
    const char *css = ".hidden{display:none} .gone{display:none!important}";
    css_sheet_add(s, css, strlen(css));
    css_style st;
    css_style_judge("display:block", 13, &st);
    cr_expect_eq(css_sheet_element_flags(s, "p", 1, NULL, 0, "hidden", 6, &st, 0), 0u);
    cr_expect_eq(css_sheet_element_flags(s, "p", 1, NULL, 0, "gone", 4, &st, 0), CSS_HIDES);
    css_style_judge("display:block!important", 23, &st);
    cr_expect_eq(css_sheet_element_flags(s, "p", 1, NULL, 0, "gone", 4, &st, 0), 0u);
    css_style_judge("display:none", 12, &st);
    cr_expect_eq(css_sheet_element_flags(s, "p", 1, NULL, 0, "x", 1, &st, 0), CSS_HIDES);
    css_sheet_free(s);
}

/* The flags of an element with class "x" and the given style attribute under css. */
static unsigned animated(const char *css, const char *style)
{
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, css, strlen(css));
    css_style st;
    css_style_judge(style, strlen(style), &st);
    unsigned f = css_sheet_element_flags(s, "p", 1, NULL, 0, "x", 1, style[0] ? &st : NULL, 0);
    css_sheet_free(s);
    return f;
}

#define FADE_IN "@keyframes fade-in{from{opacity:0}to{opacity:1}}"

Test(css_cascade, an_animation_that_ends_showing_undoes_its_block)
{
    /* a landing page's fade-in: seen a moment later */
    cr_expect_eq(animated(".x{opacity:0;animation:fade-in 1s ease-in forwards}" FADE_IN, ""), 0u);
    cr_expect_eq(animated(FADE_IN ".x{opacity:0;animation:fade-in .8s .2s both}", ""), 0u);
    cr_expect_eq(animated(".x{transform:scale(0);animation:grow .5s forwards}"
                          "@keyframes grow{0%{transform:scale(0)}100%{transform:scale(1)}}",
                          ""),
                 0u);
    cr_expect_eq(animated(".x{opacity:0;animation-name:fade-in;animation-duration:2s;"
                          "animation-fill-mode:forwards}" FADE_IN,
                          ""),
                 0u);
    cr_expect_eq(animated(".x{visibility:hidden;animation:show 1s forwards}"
                          "@keyframes show{to{visibility:visible}}",
                          ""),
                 CSS_SHOW_VISIBILITY);
    cr_expect_eq(animated(".x{opacity:0;animation:spin 1s forwards,fade-in 1s forwards}"
                          "@keyframes spin{to{transform:rotate(1turn)}}" FADE_IN,
                          ""),
                 0u);
    /* in the style attribute, with the sheet's keyframes */
    cr_expect_eq(animated(FADE_IN, "opacity:0;animation:fade-in 1s forwards"), 0u);
    cr_expect_eq(animated(FADE_IN ".x{opacity:0}", "animation:fade-in 1s forwards"), CSS_HIDES);
}

Test(css_cascade, an_animation_that_does_not_end_showing_undoes_nothing)
{
    const char *hide = ".x{opacity:0;animation:";
    static const char *const anims[] = {
        "fade-in 1s}" FADE_IN,                                 /* the last frame is not kept */
        "fade-in 1s forwards;animation-fill-mode:none}" FADE_IN,
        "fade-in 60s forwards}" FADE_IN,                       /* too slow */
        "fade-in 1s 30s forwards}" FADE_IN,                    /* too late */
        "fade-in 1s forwards paused}" FADE_IN,
        "fade-in 1s forwards reverse}" FADE_IN,                /* ends at the first frame */
        "fade-in 1s infinite forwards}" FADE_IN,
        "fade-in 1s 2.5 forwards}" FADE_IN,                    /* ends between frames */
        "fade-out 1s forwards}@keyframes fade-out{to{opacity:0}}",
        "fade-in 1s forwards}@keyframes fade-in{from{opacity:1}}", /* no last frame */
        "nothing 1s forwards}",                                /* no such keyframes */
        "fade-in 1s forwards}@media print{" FADE_IN "}",
        "fade-in 1s forwards}" FADE_IN "@keyframes fade-in{to{opacity:0}}", /* redefined */
        "fade-in 1s forwards;animation-name:none}" FADE_IN,
    };
    char css[512];
    for (size_t i = 0; i < sizeof anims / sizeof anims[0]; i++) {
        snprintf(css, sizeof css, "%s%s", hide, anims[i]);
        cr_expect_eq(animated(css, ""), CSS_HIDES, "%s", css);
    }
    /* past the bound on @keyframes, a name defined again no longer shows */
    char many[8192];
    size_t n = (size_t)snprintf(many, sizeof many, ".x{opacity:0;animation:fade-in 1s forwards}"
                                                   FADE_IN);
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "@keyframes k%d{to{opacity:1}}", i);
    snprintf(many + n, sizeof many - n, "@keyframes fade-in{to{opacity:0}}");
    cr_expect_eq(animated(many, ""), CSS_HIDES);
    /* an important hiding is above animations */
    cr_expect_eq(animated(".x{opacity:0!important;animation:fade-in 1s forwards}" FADE_IN, ""),
                 CSS_HIDES);
}

/* Past the bound on undoing rules, a hiding in their group is not trusted: visible text is not
 * removed on that doubt. */
Test(css_cascade, undoing_rules_past_the_bound)
{
    css_sheet *s = css_sheet_new(4); /* 32 undoing rules */
    char css[4096];
    size_t n = (size_t)snprintf(css, sizeof css, ".x{display:none}");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(css + n, sizeof css - n, ".u%d{display:block}", i);
    css_sheet_add(s, css, n);
    cr_expect_eq(css_sheet_hides(s, "p", NULL, "x"), 0u);
    cr_expect_eq(css_sheet_hides(s, "p", NULL, "x u1"), 0u);
    css_sheet_free(s);
    s = css_sheet_new(4);
    css_sheet_add(s, ".x{display:none} .u{display:block}", 34);
    cr_expect_eq(css_sheet_hides(s, "p", NULL, "x"), CSS_HIDES);
    css_sheet_free(s);
}

Test(css_hide, font_shorthand_text_fill_and_zoom)
{
    cr_expect_eq(flags_of("font:0/0 a"), CSS_SOFT_FONT);
    cr_expect_eq(flags_of("font:italic bold 1px serif"), CSS_SOFT_FONT);
    cr_expect_eq(flags_of("font:700 14px/1.5 sans-serif"), CSS_SHOW_FONT);
    cr_expect_eq(flags_of("font:menu"), CSS_SHOW_FONT);
    cr_expect_eq(flags_of("font-size:0;font:16px a"), CSS_SHOW_FONT);   /* the later one */
    cr_expect_eq(flags_of("font:16px a;font-size:0"), CSS_SOFT_FONT);
    cr_expect_eq(flags_of("font:inherit"), 0u);
    cr_expect_eq(flags_of("-webkit-text-fill-color:transparent"), CSS_SOFT_COLOUR);
    cr_expect_eq(flags_of("color:transparent;-webkit-text-fill-color:#222"), CSS_SHOW_COLOUR);
    HIDES("zoom:0.01");
    HIDES("zoom:1%");
    VISIBLE("zoom:0"); /* read as 100% */
    VISIBLE("zoom:0.8");
    /* a row closing the gaps between inline blocks, a cell setting its font again */
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, ".row{font-size:0} .col{font:14px/1.4 Arial}", 43);
    cr_expect_eq(css_sheet_hides_n(s, "div", 3, NULL, 0, "col", 3, 1), CSS_SHOW_FONT);
    css_sheet_free(s);
}

/* An undoing rule counts for the element it names last, its pseudo-classes and attribute
 * conditions left out, and, when it depends on a state a person turns on, whatever comes
 * before: a panel a checked tab shows (CSS-only tabs, the first one checked on load), a menu
 * shown on hover. A pseudo-element shows nothing of its element. */
Test(css_cascade, undoing_through_complex_selectors)
{
    cr_expect_eq(sheet_flags(".panel{display:none} #t1:checked ~ .p1{display:block}", "div", NULL,
                             "panel p1"),
                 0u);
    cr_expect_eq(sheet_flags(".dropdown{display:none} .nav:hover .dropdown{display:block}", "ul",
                             NULL, "dropdown"),
                 0u);
    cr_expect_eq(sheet_flags(".a{display:none} .b[data-x=\"1\"]:first-child{display:block}", "p",
                             NULL, "a b"),
                 0u);
    /* an ancestor that is not about a state is judged on the open elements (see
     * css_ancestors below): without them, the rule undoes nothing */
    cr_expect_eq(sheet_flags(".a{display:none} div > .b{display:block}", "p", NULL, "a b"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags(".offcanvas{visibility:hidden} .navbar-expand .offcanvas"
                             "{visibility:visible}", "div", NULL, "offcanvas"),
                 CSS_SOFT_VISIBILITY);
    cr_expect_eq(sheet_flags(".x{display:none} .x::before{display:block}", "p", NULL, "x"),
                 CSS_HIDES);
    cr_expect_eq(sheet_flags(".x{display:none} .x:after{display:block}", "p", NULL, "x"),
                 CSS_HIDES);
    /* the whole selector's specificity: two classes beat an earlier id-less rule, not an id */
    cr_expect_eq(sheet_flags("#p{display:none} .a .b{display:block}", "p", "p", "b"), CSS_HIDES);
    /* a hiding rule that names an ancestor hides nothing where no open elements are known */
    cr_expect_eq(sheet_flags(".a .b{display:none}", "p", NULL, "b"), 0u);
}

/* ---- rules that name ancestors, judged on the open elements (css_path) ------------------- */

/* An element of a test path: "tag#id.c1.c2:N/T" split once (ids and classes without '.',
 * '#', ':' or '/'; N its place among its siblings and T among those of its type, unknown
 * without). */
typedef struct test_elem {
    char tag[16], id[16], cls[48];
    int has_id, has_cls;
    unsigned index, type_index;
} test_elem;

typedef struct test_path {
    test_elem e[12];
    size_t n;
} test_path;

static void test_elem_parse(test_elem *e, const char *spec)
{
    memset(e, 0, sizeof *e);
    size_t n = strcspn(spec, "#.:/");
    snprintf(e->tag, sizeof e->tag, "%.*s", (int)n, spec);
    for (const char *p = spec + n; *p;) {
        char kind = *p++;
        size_t k = strcspn(p, "#.:/");
        if (kind == ':') {
            e->index = (unsigned)atoi(p);
        } else if (kind == '/') {
            e->type_index = (unsigned)atoi(p);
        } else if (kind == '#') {
            snprintf(e->id, sizeof e->id, "%.*s", (int)k, p);
            e->has_id = 1;
        } else {
            size_t used = strlen(e->cls);
            snprintf(e->cls + used, sizeof e->cls - used, "%s%.*s", used ? " " : "", (int)k, p);
            e->has_cls = 1;
        }
        p += k;
    }
}

static css_elem test_elem_view(const test_elem *t)
{
    css_elem e = {t->tag, t->has_id ? t->id : NULL, t->has_cls ? t->cls : NULL,
                  strlen(t->tag), strlen(t->id), strlen(t->cls), NULL, NULL, t->index, 0, 0, 0,
                  t->type_index, 0, 0};
    return e;
}

static void test_path_get(const void *ctx, size_t i, css_elem *out)
{
    *out = test_elem_view(&((const test_path *)ctx)->e[i]);
}

/* The flags of the element `self` inside the open elements `path` ("div.a p", the root
 * first; "" for none) under the sheet `css`, the element's attributes "name=value" pairs
 * (NULL-terminated; attrs NULL: not known). */
static int test_attr(const void *ctx, const char *name, const char **value, size_t *len);

static unsigned judge_in(const char *css, const char *path, const char *self,
                         const char *const *attrs)
{
    test_path tp = {.n = 0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
        test_elem_parse(&tp.e[tp.n++], w);
    test_elem me;
    test_elem_parse(&me, self);
    css_elem e = test_elem_view(&me);
    if (attrs) {
        e.attr = test_attr;
        e.attr_ctx = attrs;
    }
    css_path p = {tp.n, test_path_get, &tp, NULL};
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, css, strlen(css));
    unsigned f = css_sheet_judge_element(s, &e, &p, NULL, 0);
    css_sheet_free(s);
    return f;
}

static unsigned path_flags(const char *css, const char *path, const char *self)
{
    return judge_in(css, path, self, NULL);
}

Test(css_ancestors, descendant_and_child_combinators)
{
    const char *desc = ".a .b{display:none}";
    cr_expect_eq(path_flags(desc, "div.a p", "span.b"), CSS_HIDES);
    cr_expect_eq(path_flags(desc, "div.a", "span.b"), CSS_HIDES);
    cr_expect_eq(path_flags(desc, "div.c p", "span.b"), 0u);
    cr_expect_eq(path_flags(desc, "", "span.a.b"), 0u); /* the element is not its own ancestor */
    const char *child = ".a>.b{display:none}";
    cr_expect_eq(path_flags(child, "div.a", "span.b"), CSS_HIDES);
    cr_expect_eq(path_flags(child, "div.a p", "span.b"), 0u);
    cr_expect_eq(path_flags("div span{display:none}", "div p", "span"), CSS_HIDES);
    cr_expect_eq(path_flags("#main .x{visibility:hidden}", "section#main div", "p.x"),
                 CSS_SOFT_VISIBILITY);
    cr_expect_eq(path_flags("ul#nav > li.item a{display:none}", "ul#nav li.item.on", "a"),
                 CSS_HIDES);
    cr_expect_eq(path_flags("ul#nav > li.item a{display:none}", "ul#nav div li.item", "a"), 0u);
}

/* A child combinator after a descendant one: the nearest ancestor that matches the middle
 * compound may not be the one whose parent matches the first (`.a > .m .b` inside
 * .a > .m > .m), so every candidate counts. */
Test(css_ancestors, every_ancestor_is_tried)
{
    const char *css = ".a > .m .b{display:none}";
    cr_expect_eq(path_flags(css, "div.a div.m div.m", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags(css, "div.a div.m span div", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags(css, "div.a span div.m", "p.b"), 0u);
    cr_expect_eq(path_flags(css, "div.m div.a div.x", "p.b"), 0u);
    cr_expect_eq(path_flags(".a .m > .b{display:none}", "div.a div.m span", "p.b"), 0u);
    cr_expect_eq(path_flags(".a .m > .b{display:none}", "div.a span div.m", "p.b"), CSS_HIDES);
}

/* html and body are never open elements here (every visible element is inside both):
 * leading ones are left out, `body > x` keeps x at the top. */
Test(css_ancestors, html_body_and_star)
{
    cr_expect_eq(path_flags("body .b{display:none}", "", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("html body div .b{display:none}", "div", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("body > .b{display:none}", "", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("body > .b{display:none}", "div", "p.b"), 0u);
    cr_expect_eq(path_flags("html > body > .a .b{display:none}", "div.a", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("html > body > .a .b{display:none}", "div div.a", "p.b"), 0u);
    cr_expect_eq(path_flags("html > .b{display:none}", "", "p.b"), 0u);
    cr_expect_eq(path_flags("* .b{display:none}", "", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("div * .b{display:none}", "div span", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("div * .b{display:none}", "div", "p.b"), 0u);
    /* body's own classes are not known: such a rule is not judged to hide */
    cr_expect_eq(path_flags("body.home .b{display:none}", "div", "p.b"), 0u);
}

/* What does not hide: a sibling an ancestor's marks do not know of, attribute conditions on an
 * ancestor whose attributes are not known, state pseudo-classes, more than CSS_ANCESTORS_MAX
 * ancestors, malformed combinators. */
Test(css_ancestors, not_judged)
{
    cr_expect_eq(path_flags(".a + .b .c{display:none}", "div.a div.b", "p.c"), 0u);
    cr_expect_eq(path_flags(".a ~ .b > .c{display:none}", "div.a div.b", "p.c"), 0u);
    cr_expect_eq(path_flags(".a:hover .b{display:none}", "div.a", "p.b"), 0u);
    cr_expect_eq(path_flags("[data-x] .b{display:none}", "div", "p.b"), 0u);
    cr_expect_eq(path_flags("div:last-child .b{display:none}", "div:3", "p.b"), 0u);
    cr_expect_eq(path_flags(".a + .b + .c .d{display:none}", "div.c", "p.d"), 0u);
    cr_expect_eq(path_flags("html + .b{display:none}", "", "p.b"), 0u);
    cr_expect_eq(path_flags(".a > > .b{display:none}", "div.a", "p.b"), 0u);
    cr_expect_eq(path_flags("> .b{display:none}", "div.a", "p.b"), 0u);
    cr_expect_eq(path_flags(".a .b .c .d .e{display:none}", "i.a i.b i.c i.d", "p.e"), CSS_HIDES);
    cr_expect_eq(path_flags(".a .b .c .d .e .f{display:none}", "i.a i.b i.c i.d i.e", "p.f"), 0u);
}

/* The cascade counts the whole selector: an ancestor adds its specificity, and an undoing
 * rule with ancestors undoes only inside them. */
Test(css_ancestors, cascade_with_ancestors)
{
    const char *undo = ".b{display:none} .a .b{display:block}";
    cr_expect_eq(path_flags(undo, "div.a", "p.b"), 0u);
    cr_expect_eq(path_flags(undo, "div.c", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags(".b{display:none} nav > .b{display:block}", "nav", "p.b"), 0u);
    cr_expect_eq(path_flags(".b{display:none} nav > .b{display:block}", "nav div", "p.b"),
                 CSS_HIDES);
    /* two classes win over one, whatever the order */
    cr_expect_eq(path_flags(".a .b{display:none} .b{display:block}", "div.a", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags(".b{display:none} div .b{display:block}", "div", "p.b"), 0u);
    /* an id in an ancestor beats classes */
    cr_expect_eq(path_flags("#m .b{display:none} .x.y.b{display:block}", "div#m", "p.b.x.y"),
                 CSS_HIDES);
    /* soft hiding through an ancestor, shown again by a descendant's own rule */
    cr_expect_eq(path_flags(".a .b{font-size:0}", "div.a", "p.b"), CSS_SOFT_FONT);
}

/* Names are matched as written: ids and classes case-sensitively, a NUL byte ends a value,
 * tags in any case. */
Test(css_ancestors, names_as_written)
{
    cr_expect_eq(path_flags(".A .b{display:none}", "div.a", "p.b"), 0u);
    cr_expect_eq(path_flags("DIV .b{display:none}", "div", "p.b"), CSS_HIDES);
    cr_expect_eq(path_flags("#Main .b{display:none}", "div#main", "p.b"), 0u);
    cr_expect_eq(path_flags(".ab .b{display:none}", "div.a", "p.b"), 0u);
    cr_expect_eq(path_flags(".a .b{display:none}", "div.xa.a", "p.b"), CSS_HIDES);
}

/* The attributes of a test element: "name=value" pairs, NULL-terminated. */
static int test_attr(const void *ctx, const char *name, const char **value, size_t *len)
{
    for (const char *const *a = ctx; *a; a++) {
        const char *eq = strchr(*a, '=');
        size_t n = eq ? (size_t)(eq - *a) : strlen(*a);
        if (strlen(name) == n && memcmp(*a, name, n) == 0) {
            *value = eq ? eq + 1 : "";
            *len = strlen(*value);
            return 1;
        }
    }
    return 0;
}

static unsigned attr_flags(const char *css, const char *path, const char *self,
                           const char *const *attrs)
{
    return judge_in(css, path, self, attrs);
}

/* Attribute conditions on the element a hiding rule names last, as Selectors Level 4 reads
 * them; on an ancestor they are not judged (the open elements keep only ids and classes). */
Test(css_ancestors, attribute_conditions)
{
    const char *data[] = {"data-x=Note me", "lang=en-GB", "title=", NULL};
    const char *none[] = {NULL};
#define A(css, want) cr_expect_eq(attr_flags(css, "div", "p", data), want, "%s", css)
    A("[data-x]{display:none}", CSS_HIDES);
    A("p[data-x]{display:none}", CSS_HIDES);
    A("[data-y]{display:none}", 0u);
    A("[DATA-X]{display:none}", CSS_HIDES); /* names in any case */
    A("[data-x=\"Note me\"]{display:none}", CSS_HIDES);
    A("[data-x='note me']{display:none}", 0u);
    A("[data-x='note me' i]{display:none}", CSS_HIDES);
    A("[data-x='Note me' s]{display:none}", CSS_HIDES);
    A("[data-x~=me]{display:none}", CSS_HIDES);
    A("[data-x~=Note]{display:none}", CSS_HIDES);
    A("[data-x~=not]{display:none}", 0u);
    A("[data-x~='Note me']{display:none}", 0u);
    A("[lang|=en]{display:none}", CSS_HIDES);
    A("[lang|=e]{display:none}", 0u);
    A("[data-x^=Not]{display:none}", CSS_HIDES);
    A("[data-x$=' me']{display:none}", CSS_HIDES);
    A("[data-x*=e\\ m]{display:none}", CSS_HIDES);
    A("[data-x*=xyz]{display:none}", 0u);
    A("[title]{display:none}", CSS_HIDES);
    A("[title^='']{display:none}", 0u); /* an empty string matches no ^=, $=, *= */
    A("[title='']{display:none}", CSS_HIDES);
    A("div [data-x] {display:none}", CSS_HIDES);
    A("[data-x] p{display:none}", 0u);
    A("[ns|data-x]{display:none}", 0u);
    A("[data-x=a b]{display:none}", 0u);
    A("[data-x][lang=en-GB][title]{display:none}", 0u); /* past two conditions: not judged */
#undef A
    cr_expect_eq(attr_flags("[data-x]{display:none}", "div", "p", none), 0u);
    /* a condition counts as a class in the cascade */
    cr_expect_eq(attr_flags("p[data-x]{display:none} p{display:block}", "", "p", data), CSS_HIDES);
    cr_expect_eq(attr_flags("[data-x]{display:none} p.k{display:block}", "", "p.k", data), 0u);
}

/* An undoing rule's attribute conditions are judged too when the attributes are known (an
 * undoing `[data-y]` no element has undid everything before); without them, met. */
Test(css_ancestors, undoing_attribute_conditions)
{
    const char *data[] = {"data-x=1", NULL};
    cr_expect_eq(attr_flags(".h{visibility:hidden} [data-y]{visibility:visible}", "", "p.h", data),
                 CSS_SOFT_VISIBILITY);
    cr_expect_eq(attr_flags(".h{visibility:hidden} [data-x]{visibility:visible}", "", "p.h", data),
                 CSS_SHOW_VISIBILITY);
    cr_expect_eq(attr_flags(".h{display:none} .h[data-x='2']{display:block}", "", "p.h", data),
                 CSS_HIDES);
    cr_expect_eq(attr_flags(".h{display:none} .h[data-x='1']:hover{display:block}", "", "p.h",
                            data),
                 0u);
    cr_expect_eq(sheet_flags(".h{display:none} .h[data-x='2']{display:block}", "p", NULL, "h"), 0u);
}

/* :first-child and :not() of one simple selector on the element a hiding rule names last;
 * :first-child of an undoing one. A place not known matches no hiding and every undoing. */
Test(css_ancestors, first_child_and_not)
{
    const char *data[] = {"data-x=1", NULL};
#define A(css, self, want) cr_expect_eq(attr_flags(css, "div", self, data), want, "%s %s", css, self)
    A("li:first-child{display:none}", "li:1", CSS_HIDES);
    A("li:first-child{display:none}", "li:2", 0u);
    A("li:first-child{display:none}", "li", 0u);
    A(".m :first-child{display:none}", "p:1", 0u); /* the ancestor is div, not .m */
    A("div > :first-child{display:none}", "p:1", CSS_HIDES);
    A("p:not(.keep){display:none}", "p.x", CSS_HIDES);
    A("p:not(.keep){display:none}", "p.keep", 0u);
    A("p:not( #k ){display:none}", "p#k", 0u);
    A("p:not(#k){display:none}", "p#j", CSS_HIDES);
    A(":not(span){display:none}", "span", 0u);
    A(":not(span){display:none}", "p", CSS_HIDES);
    A("p:not([data-x]){display:none}", "p", 0u);
    A("p:not([data-y]){display:none}", "p", CSS_HIDES);
    A("p:not(.a):not(.b){display:none}", "p.b", 0u);
    A("p:not(.a):not(.b){display:none}", "p.c", CSS_HIDES);
    A("p:not(.a, .b){display:none}", "p.c", CSS_HIDES); /* a list: :not(.a):not(.b) */
    A("p:not(.a, .b){display:none}", "p.b", 0u);
    A("p:not(.a,#i){display:none}", "p#i", 0u);
    A("p:not(.a, .b, .c, .d, .e){display:none}", "p.z", 0u); /* past the bound: not judged */
    /* a list counts as its most specific item, not their sum */
    A("p:not(.a, .b){display:none} p.k{display:block}", "p.k", 0u);
    A("p:not(.a, #b){display:none} p.k.l{display:block}", "p.k.l", CSS_HIDES);
    A("p:not(.a.b){display:none}", "p.c", 0u);
    A("p:last-child{display:none}", "p:1", 0u);
    A("p:hover{display:none}", "p:1", 0u);
    /* specificity: :first-child as a class, :not() as its argument */
    A("p:first-child{display:none} p{display:block}", "p.k:1", CSS_HIDES);
    A("p:first-child{display:none} p.k{display:block}", "p.k:1", 0u); /* same, and later */
    A("p:not(#z){display:none} p.k.l{display:block}", "p.k.l:3", CSS_HIDES);
    A(".h{display:none} .h:first-child{display:block}", "p.h:1", 0u);
    A(".h{display:none} .h:first-child{display:block}", "p.h:2", CSS_HIDES);
    A(".h{display:none} .h:first-child{display:block}", "p.h", 0u);
    /* :nth-child(an+b), read as Selectors 4 reads it */
    A("li:nth-child(2n+1){display:none}", "li:3", CSS_HIDES);
    A("li:nth-child(2n+1){display:none}", "li:4", 0u);
    A("li:nth-child(odd){display:none}", "li:1", CSS_HIDES);
    A("li:nth-child(EVEN){display:none}", "li:2", CSS_HIDES);
    A("li:nth-child(even){display:none}", "li:3", 0u);
    A("li:nth-child(3){display:none}", "li:3", CSS_HIDES);
    A("li:nth-child(3){display:none}", "li:4", 0u);
    A("li:nth-child( -n + 2 ){display:none}", "li:2", CSS_HIDES);
    A("li:nth-child(-n+2){display:none}", "li:3", 0u);
    A("li:nth-child(n){display:none}", "li:7", CSS_HIDES);
    A("li:nth-child(+3n - 1){display:none}", "li:5", CSS_HIDES);
    A("li:nth-child(2n-1){display:none}", "li:1", CSS_HIDES);
    A("li:nth-child(0n+0){display:none}", "li:1", 0u);
    A("li:nth-child(2 n){display:none}", "li:2", 0u); /* not an+b: not judged */
    A("li:nth-child(2n of .x){display:none}", "li:2", 0u);
    A("li:nth-child(1234567){display:none}", "li:1", 0u);
    A("li:nth-child(2n){display:none}", "li", 0u); /* place not known */
    A(".h{display:none} .h:nth-child(2){display:block}", "p.h", 0u);
    A(".h{display:none} .h:nth-child(2){display:block}", "p.h:3", CSS_HIDES);
    /* :first-of-type and :nth-of-type(an+b), by the place among siblings of the same tag */
    A("p:first-of-type{display:none}", "p:3/1", CSS_HIDES);
    A("p:first-of-type{display:none}", "p:3/2", 0u);
    A("p:nth-of-type(2n){display:none}", "p:3/2", CSS_HIDES);
    A("p:nth-of-type(2n){display:none}", "p:2/3", 0u);
    A("p:nth-of-type(2n){display:none}", "p:2", 0u); /* place by type not known */
    A("p:nth-of-type(2n of .x){display:none}", "p:2/2", 0u);
    A(".h{display:none} .h:first-of-type{display:block}", "p.h:2/1", 0u);
    A(".h{display:none} .h:first-of-type{display:block}", "p.h:2/2", CSS_HIDES);
    A(".h{display:none} .h:first-of-type{display:block}", "p.h:2", 0u); /* may undo */
    /* a class for specificity: beats an earlier rule with one class and a tag less */
    A("p.h:nth-of-type(1){display:none} p.h.k{display:block}", "p.h.k:1/1", 0u);
    A("p.h.k{display:block} p.h:nth-of-type(1){display:none}", "p.h.k:1/1", CSS_HIDES);
    /* an undoing rule's :not() is judged too */
    A(".h{opacity:0} .h:not(.a){opacity:1}", "p.h.a", CSS_HIDES);
    A(".h{opacity:0} .h:not(.a){opacity:1}", "p.h.b", 0u);
    A(".h{opacity:0} .h:not([data-x]){opacity:1}", "p.h", CSS_HIDES);
#undef A
    cr_expect_eq(sheet_flags(".h{opacity:0} .h:not([data-x]){opacity:1}", "p", NULL, "h"), 0u);
}

/* Sibling compounds: the filter keeps, per parent, the marks its children leave
 * (css_sheet_sibling_marks); an element is judged with those of the siblings before it. */
static unsigned sibling_flags(const char *css, const char *const *siblings, const char *self)
{
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, css, strlen(css));
    uint64_t any = 0, next = 0;
    unsigned index = 1;
    for (const char *const *p = siblings; *p; p++, index++) {
        test_elem t;
        test_elem_parse(&t, *p);
        css_elem e = test_elem_view(&t);
        e.index = index;
        e.prev_any = any; /* as the filter sees each sibling: a chain asks for them */
        e.prev_next = next;
        e.siblings_known = 1;
        uint64_t m = css_sheet_sibling_marks(s, &e);
        any |= m;
        next = m;
    }
    test_elem me;
    test_elem_parse(&me, self);
    css_elem e = test_elem_view(&me);
    e.index = index;
    e.prev_any = any;
    e.prev_next = next;
    e.siblings_known = 1;
    unsigned f = css_sheet_judge_element(s, &e, NULL, NULL, 0);
    css_sheet_free(s);
    return f;
}

/* Positional pseudo-classes and :not() on an ancestor are judged on its place among its
 * siblings as the filter keeps it: a place not known (0) is a match for an undoing rule and not
 * for a hiding one. */
Test(css_ancestors, conditions_on_ancestors)
{
    const char *first = "li:first-child a{display:none}";
    cr_expect_eq(path_flags(first, "ul li:1", "a"), CSS_HIDES);
    cr_expect_eq(path_flags(first, "ul li:2", "a"), 0u);
    cr_expect_eq(path_flags(first, "ul li", "a"), 0u); /* place not known */
    cr_expect_eq(path_flags("div:nth-child(2n) > p{display:none}", "div:4", "p"), CSS_HIDES);
    cr_expect_eq(path_flags("div:nth-child(2n) > p{display:none}", "div:3", "p"), 0u);
    cr_expect_eq(path_flags("section:nth-of-type(2) p{opacity:0}", "section:5/2 div", "p"),
                 CSS_HIDES);
    cr_expect_eq(path_flags("section:nth-of-type(2) p{opacity:0}", "section:2/1 div", "p"), 0u);
    cr_expect_eq(path_flags("div:not(.z) > p{display:none}", "div.y", "p"), CSS_HIDES);
    cr_expect_eq(path_flags("div:not(.z) > p{display:none}", "div.z", "p"), 0u);
    cr_expect_eq(path_flags("div:not([data-x]) > p{display:none}", "div", "p"), 0u);
    /* undoing: only where the conditions are met, or not known */
    const char *undo = ".k{display:none} li:first-child .k{display:block}";
    cr_expect_eq(path_flags(undo, "ul li:1", "b.k"), 0u);
    cr_expect_eq(path_flags(undo, "ul li:2", "b.k"), CSS_HIDES);
    cr_expect_eq(path_flags(undo, "ul li", "b.k"), 0u);
    cr_expect_eq(path_flags(".k{display:none} [data-x] .k{display:block}", "div", "b.k"), 0u);
    cr_expect_eq(path_flags(".k{display:none} div:not([data-x]) .k{display:block}", "div",
                            "b.k"),
                 0u);
    cr_expect_eq(path_flags(".k{display:none} body.home .k{display:block}", "div", "b.k"), 0u);
    /* what an undoing rule's ancestors ask that is not judged is left out: it undoes */
    cr_expect_eq(path_flags(".k{display:none} div:last-child .k{display:block}", "div:1",
                            "b.k"),
                 0u);
    /* the specificity counts the ancestors' pseudo-classes */
    cr_expect_eq(path_flags("li:first-child .k{display:none} li .k.x{display:block}", "ul li:1",
                            "b.k.x"),
                 0u);
    cr_expect_eq(path_flags("li:first-child .k{display:none} li .k{display:block}", "ul li:1",
                            "b.k"),
                 CSS_HIDES);
}

/* Past the caller's budget of comparisons, ancestors are not judged: a hiding rule does not
 * match and an undoing one does; each open element compared takes one. */
Test(css_ancestors, budget)
{
    test_path tp = {.n = 0};
    test_elem_parse(&tp.e[tp.n++], "div.a");
    test_elem_parse(&tp.e[tp.n++], "span");
    test_elem me;
    test_elem_parse(&me, "p.b");
    css_elem e = test_elem_view(&me);
    uint64_t budget = 2;
    css_path p = {tp.n, test_path_get, &tp, &budget};
    css_sheet *s = css_sheet_new(0);
    const char *css = ".a .b{display:none}";
    css_sheet_add(s, css, strlen(css));
    cr_expect_eq(css_sheet_judge_element(s, &e, &p, NULL, 0), CSS_HIDES);
    cr_expect_eq(budget, 0u);
    cr_expect_eq(css_sheet_judge_element(s, &e, &p, NULL, 0), 0u);
    css_sheet_free(s);
    s = css_sheet_new(0);
    css = ".b{display:none} .z .b{display:block}";
    css_sheet_add(s, css, strlen(css));
    budget = 5;
    cr_expect_eq(css_sheet_judge_element(s, &e, &p, NULL, 0), CSS_HIDES);
    budget = 0;
    cr_expect_eq(css_sheet_judge_element(s, &e, &p, NULL, 0), 0u);
    css_sheet_free(s);
}

Test(css_ancestors, sibling_combinators)
{
    const char *ab[] = {"p.a", "i", NULL}, *a[] = {"p.a", NULL}, *none[] = {NULL};
    cr_expect_eq(sibling_flags(".a + .b{display:none}", a, "p.b"), CSS_HIDES);
    cr_expect_eq(sibling_flags(".a + .b{display:none}", ab, "p.b"), 0u);
    cr_expect_eq(sibling_flags(".a ~ .b{display:none}", ab, "p.b"), CSS_HIDES);
    cr_expect_eq(sibling_flags(".a ~ .b{display:none}", none, "p.b"), 0u);
    /* a chain: judged for hiding rules; an undoing one with a chain undoes for every element */
    cr_expect_eq(sibling_flags("p.a:first-child + i ~ .b{display:none}", ab, "p.b"), CSS_HIDES);
    cr_expect_eq(sibling_flags(".x + i ~ .b{display:none}", ab, "p.b"), 0u);
    cr_expect_eq(sibling_flags("* + .b{display:none}", a, "p.b"), CSS_HIDES);
    cr_expect_eq(sibling_flags("* + .b{display:none}", none, "p.b"), 0u);
    cr_expect_eq(sibling_flags(".b{display:none} .x + i ~ .b{display:block}", ab, "p.b"), 0u);
    cr_expect_eq(sibling_flags("i:not(.x) ~ .b{display:none}", ab, "p.b"), CSS_HIDES);
    /* an undoing rule with a sibling undoes after that sibling only */
    cr_expect_eq(sibling_flags(".b{display:none} .a + .b{display:block}", a, "p.b"), 0u);
    cr_expect_eq(sibling_flags(".b{display:none} .a + .b{display:block}", ab, "p.b"), CSS_HIDES);
    /* siblings not known: a hiding rule does not match, an undoing one does */
    cr_expect_eq(sheet_flags(".a + .b{display:none}", "p", NULL, "b"), 0u);
    cr_expect_eq(sheet_flags(".b{display:none} .a ~ .b{display:block}", "p", NULL, "b"), 0u);
}

/* A sheet keeps at most ANC_MAX ancestor compounds and 64 KiB of their names: past that, a
 * rule is not kept (it hides nothing) and the earlier ones still work. */
Test(css_ancestors, bounded_pool)
{
    size_t cap = 200 * 1024;
    char *css = malloc(cap);
    cr_assert(css);
    size_t n = (size_t)snprintf(css, cap, ".a .b{display:none}");
    char name[80];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    for (int i = 0; i < 1200 && n + 256 < cap; i++)
        n += (size_t)snprintf(css + n, cap - n, " .%s%d .c{display:none}", name, i);
    css_sheet *s = css_sheet_new(2000);
    css_sheet_add(s, css, n);
    test_elem a, me;
    test_elem_parse(&a, "div.a");
    test_elem_parse(&me, "p.b");
    test_path tp = {.e = {a}, .n = 1};
    css_path p = {1, test_path_get, &tp, NULL};
    css_elem e = test_elem_view(&me);
    cr_expect_eq(css_sheet_judge_element(s, &e, &p, NULL, 0), CSS_HIDES);
    cr_expect_lt(css_sheet_rule_count(s), 1201u); /* the names' bound came first */
    css_sheet_free(s);
    free(css);
}

/* A block that hides in a group first reads the earlier blocks again for that group's
 * undoing rules: a cell's font size set in the first block shows it inside a row the second
 * block hides; a dropped block is not read again. */
Test(css_cascade, earlier_blocks_read_again_for_a_new_group)
{
    css_sheet *s = css_sheet_new(0);
    css_sheet_add(s, "", 0); /* an empty block: nothing to keep */
    css_sheet_add(s, ".col{font-size:14px} #nav.wide{display:flex}", 44);
    css_sheet_add(s, ".row{font-size:0} .hidden{display:none}", 39);
    cr_expect_eq(css_sheet_hides_n(s, "div", 3, NULL, 0, "col", 3, 1), CSS_SHOW_FONT);
    cr_expect_eq(css_sheet_hides(s, "nav", "nav", "hidden wide"), 0u);
    cr_expect_eq(css_sheet_hides(s, "nav", NULL, "hidden"), CSS_HIDES);
    css_sheet_free(s);
    s = css_sheet_new(0);
    css_sheet_add(s, ".a{visibility:visible}", 22);
    size_t n = css_sheet_rule_count(s);
    css_sheet_add(s, ".b{color:red}", 13);
    css_sheet_truncate(s, n); /* the caller dropped the second block */
    css_sheet_keep_shows(s);  /* style="visibility:hidden" on some element */
    cr_expect_eq(css_sheet_hides_n(s, "p", 1, NULL, 0, "a", 1, 1), CSS_SHOW_VISIBILITY);
    cr_expect_eq(css_sheet_hides_n(s, "p", 1, NULL, 0, "b", 1, 1), 0u);
    css_sheet_free(s);
}
