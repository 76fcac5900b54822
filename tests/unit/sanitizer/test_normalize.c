/* Unit tests for the normalised view (normalize.c): folding, homoglyphs, whitespace, invisible
 * characters, and the map back to original byte offsets. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/normalize.h"

static void expect_norm(const char *in, const char *want)
{
    char *got = normalize_text(in, strlen(in));
    cr_assert_not_null(got);
    cr_expect_str_eq(got, want, "normalising [%s]", in);
    free(got);
}

Test(normalize, case_and_whitespace)
{
    expect_norm("IGNORE  All\t\n previous", "ignore all previous");
    expect_norm("a\xC2\xA0\xE2\x80\x83" "b", "a b");       /* NBSP, EM SPACE */
    expect_norm("  lead", " lead");
}

Test(normalize, compatibility_forms)
{
    expect_norm("\xEF\xBC\xA9\xEF\xBD\x87\xEF\xBD\x8E\xEF\xBD\x8F\xEF\xBD\x92\xEF\xBD\x85", "ignore"); /* full-width */
    expect_norm("\xEF\xAC\x81le", "file");                   /* fi ligature */
    expect_norm("\xF0\x9D\x90\x88\xF0\x9D\x90\xA0", "ig");   /* mathematical bold */
    expect_norm("\xE2\x93\x98", "i");                        /* circled i */
    expect_norm("Stra\xC3\x9F" "e", "strasse");
    expect_norm("pr\xC3\xA9" "c\xC3\xA9" "dentes", "precedentes");
}

Test(normalize, homoglyphs)
{
    /* Cyrillic i-g-n-o-r-e look-alikes: "іgnоrе" and upper-case "ІGNОRЕ" */
    expect_norm("\xD1\x96gn\xD0\xBEr\xD0\xB5", "ignore");
    expect_norm("\xD0\x86GN\xD0\x9ER\xD0\x95", "ignore");
    /* Greek: "ρrevιοus" */
    expect_norm("\xCF\x81rev\xCE\xB9\xCE\xBFus", "previous");
    expect_norm("don\xE2\x80\x99t", "don't");
}

Test(normalize, invisible_and_invalid_ignored)
{
    expect_norm("ig\xE2\x80\x8Bno\xC2\xADre", "ignore");
    expect_norm("ig\xF3\xA0\x81\xA1nore", "ignore");
    expect_norm("ig\xFFnore", "ignore");
    expect_norm("a \xE2\x80\x8B b", "a b");
}

Test(normalize, map_back_to_original_offsets)
{
    /* "Ｉ" (3 bytes) "\u200b" (3 bytes) "g" "  " "X" */
    const char *in = "\xEF\xBC\xA9\xE2\x80\x8Bg  X";
    norm_state st = {0};
    norm_buf b = {0};
    cr_assert_eq(norm_feed(&st, &b, in, strlen(in), 100), 0);
    cr_assert_eq(b.len, 4);
    cr_expect_eq(memcmp(b.text, "ig x", 4), 0);
    cr_expect_eq(norm_src_start(&b, 0), 100);
    cr_expect_eq(norm_src_end(&b, 0), 103);
    cr_expect_eq(norm_src_start(&b, 1), 106); /* the zero-width space has no output byte */
    cr_expect_eq(norm_src_start(&b, 2), 107);
    cr_expect_eq(norm_src_end(&b, 2), 108);
    cr_expect_eq(norm_src_start(&b, 3), 109);
    norm_buf_free(&b);
}

Test(normalize, split_characters_across_pieces)
{
    const char *in = "\xEF\xBC\xA9\xD1\x96x";
    size_t n = strlen(in);
    for (size_t cut = 0; cut <= n; cut++) {
        norm_state st = {0};
        norm_buf b = {0};
        norm_feed(&st, &b, in, cut, 0);
        norm_feed(&st, &b, in + cut, n - cut, cut);
        cr_assert_eq(b.len, 3, "split at %zu", cut);
        cr_expect_eq(memcmp(b.text, "iix", 3), 0);
        cr_expect_eq(norm_src_start(&b, 1), 3);
        cr_expect_eq(norm_src_end(&b, 1), 5);
        norm_buf_free(&b);
    }
}

/* The instruction prefilter scans normalised text for ASCII literals without folding case or
 * whitespace itself: the view must hold lower case only and every space as ' '. */
Test(normalize, only_lower_case_and_plain_spaces)
{
    char all[128];
    for (int i = 1; i < 128; i++) all[i - 1] = (char)i;
    all[127] = '\0';
    char *got = normalize_text(all, 127);
    cr_assert_not_null(got);
    for (const char *p = got; *p; p++) {
        cr_expect(!(*p >= 'A' && *p <= 'Z'), "upper case 0x%02x in the view", (unsigned char)*p);
        cr_expect(!(*p >= '\t' && *p <= '\r'), "control space 0x%02x in the view", (unsigned char)*p);
    }
    free(got);
    /* KELVIN SIGN and LONG S match 'k' and 's' caselessly: the view holds the ASCII letter */
    expect_norm("\xE2\x84\xAAill \xC5\xBFystem", "kill system");
}
