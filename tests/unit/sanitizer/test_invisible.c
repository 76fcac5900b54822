/* Unit tests for invisible_strip(): each invisible class removed and counted, visible text and
 * invalid UTF-8 handled. */
#include <criterion/criterion.h>
#include <string.h>

#include "sanitizer/instr.h"
#include "sanitizer/unicode_text.h"

static char *strip(const char *in, size_t len, uint64_t *removed)
{
    static char out[1024];
    size_t n = invisible_strip(in, len, out, removed);
    out[n] = '\0';
    return out;
}

static void expect_stripped(const char *in, const char *want, uint64_t want_removed)
{
    uint64_t removed = 0;
    char *got = strip(in, strlen(in), &removed);
    cr_expect_str_eq(got, want);
    cr_expect_eq(removed, want_removed, "removed %llu, want %llu for %s",
                 (unsigned long long)removed, (unsigned long long)want_removed, want);
}

Test(invisible, tag_characters)
{
    /* "hi" followed by TAG LATIN SMALL LETTER A..C and CANCEL TAG */
    expect_stripped("hi\xF3\xA0\x81\xA1\xF3\xA0\x81\xA2\xF3\xA0\x81\xA3\xF3\xA0\x81\xBF!", "hi!", 4);
    expect_stripped("\xF3\xA0\x80\x81x", "x", 1); /* U+E0001 LANGUAGE TAG */
}

Test(invisible, zero_width)
{
    expect_stripped("ig\xE2\x80\x8Bno\xE2\x80\x8Cre\xE2\x80\x8D all", "ignore all", 3);
    expect_stripped("a\xE2\x81\xA0" "b\xEF\xBB\xBF" "c", "abc", 2);
}

Test(invisible, bidi_controls)
{
    expect_stripped("\xE2\x80\xAA" "a\xE2\x80\xAB" "b\xE2\x80\xAC" "c\xE2\x80\xAD" "d\xE2\x80\xAE" "e", "abcde", 5);
    expect_stripped("\xE2\x81\xA6" "x\xE2\x81\xA7" "y\xE2\x81\xA8" "z\xE2\x81\xA9", "xyz", 4);
    expect_stripped("l\xE2\x80\x8Er\xE2\x80\x8F", "lr", 2);
}

Test(invisible, other_default_ignorables)
{
    expect_stripped("soft\xC2\xADhyphen", "softhyphen", 1);       /* U+00AD */
    expect_stripped("a\xCD\x8F" "b", "ab", 1);                     /* U+034F */
    expect_stripped("a\xD8\x9C" "b", "ab", 1);                     /* U+061C */
    expect_stripped("a\xE1\x85\x9F\xE1\x85\xA0" "b", "ab", 2);     /* U+115F U+1160 */
    expect_stripped("a\xE1\x9E\xB4" "b", "ab", 1);                 /* U+17B4 */
    expect_stripped("a\xE1\xA0\x8B\xE1\xA0\x8E" "b", "ab", 2);     /* U+180B U+180E */
    expect_stripped("a\xE3\x85\xA4" "b", "ab", 1);                 /* U+3164 */
    expect_stripped("a\xEF\xB8\x8F" "b", "ab", 1);                 /* U+FE0F */
    expect_stripped("a\xEF\xBE\xA0" "b", "ab", 1);                 /* U+FFA0 */
    expect_stripped("a\xF0\x9B\xB2\xA0" "b", "ab", 1);             /* U+1BCA0 */
    expect_stripped("a\xF0\x9D\x85\xB3" "b", "ab", 1);             /* U+1D173 */
    expect_stripped("a\xF3\xA0\x84\x80" "b", "ab", 1);             /* U+E0100 */
}

Test(invisible, visible_text_kept)
{
    const char *s = "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x8C\xB3 \xD0\xBF\xD1\x80\xD0\xB8 \xC2\xA0 <>&";
    expect_stripped(s, s, 0);
    expect_stripped("", "", 0);
}

Test(invisible, invalid_utf8_dropped_and_counted)
{
    expect_stripped("a\xFF" "b", "ab", 1);
    expect_stripped("a\xC0\xAF" "b", "ab", 2);          /* overlong '/' */
    expect_stripped("a\xED\xA0\x80" "b", "ab", 3);      /* surrogate U+D800 */
    expect_stripped("a\xF4\x90\x80\x80" "b", "ab", 4);  /* > U+10FFFF */
    expect_stripped("a\x80\x80" "b", "ab", 2);          /* stray continuations */
    expect_stripped("ab\xE2\x80", "ab", 2);             /* truncated at the end */
}

Test(invisible, partial_holds_incomplete_tail)
{
    char out[16];
    uint64_t removed = 0;
    size_t consumed;
    size_t n = invisible_strip_partial("ab\xE2\x80", 4, out, &removed, &consumed);
    cr_expect_eq(n, 2);
    cr_expect_eq(consumed, 2);
    cr_expect_eq(removed, 0);
}

Test(invisible, output_never_longer_than_input)
{
    unsigned char in[256];
    char out[256];
    for (int i = 0; i < 256; i++) in[i] = (unsigned char)(255 - i);
    uint64_t removed = 0;
    size_t n = invisible_strip((const char *)in, sizeof in, out, &removed);
    cr_expect_leq(n, sizeof in);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = utf8_decode((const unsigned char *)out + i, n - i, &cp);
        cr_assert_gt(k, 0, "output is valid UTF-8");
        i += (size_t)k;
    }
}

/* Joiners and variation selectors that shape what a person sees stay: Persian writes U+200C
 * inside words, emoji sequences join with U+200D, U+FE0F asks for the emoji form. Between
 * Latin letters they are still removed, and the clean-prefix scan agrees with the strip. */
Test(invisible, joiners_that_shape_text_are_kept)
{
    /* "mi-shavad" in Persian: MIM YEH ZWNJ SHEEN VAV DAL */
    const char *fa = "\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xB4\xD9\x88\xD8\xAF";
    expect_stripped(fa, fa, 0);
    cr_expect_eq(invisible_clean_prefix(fa, strlen(fa)), strlen(fa));
    /* family: MAN ZWJ WOMAN ZWJ GIRL; a red heart with U+FE0F; keycap one */
    const char *family = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";
    expect_stripped(family, family, 0);
    expect_stripped("I \xE2\x9D\xA4\xEF\xB8\x8F it", "I \xE2\x9D\xA4\xEF\xB8\x8F it", 0);
    expect_stripped("1\xEF\xB8\x8F\xE2\x83\xA3", "1\xEF\xB8\x8F\xE2\x83\xA3", 0);
    /* devanagari KSSA with an explicit half form: KA VIRAMA ZWJ SSA */
    expect_stripped("\xE0\xA4\x95\xE0\xA5\x8D\xE2\x80\x8D\xE0\xA4\xB7",
                    "\xE0\xA4\x95\xE0\xA5\x8D\xE2\x80\x8D\xE0\xA4\xB7", 0);
    /* between Latin letters, at the start, after a space: removed */
    expect_stripped("ig\xE2\x80\x8Dnore \xE2\x80\x8C" "all", "ignore all", 2);
    expect_stripped("\xE2\x80\x8D\xF0\x9F\x91\xA9", "\xF0\x9F\x91\xA9", 1);
    expect_stripped("x\xEF\xB8\x8Fy", "xy", 1);
    /* tag characters stay removed even after an emoji (flag sequences) */
    expect_stripped("\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xBF", "\xF0\x9F\x8F\xB4", 2);
    const char *latin = "ab\xE2\x80\x8D" "c";
    cr_expect_eq(invisible_clean_prefix(latin, strlen(latin)), 2u);
}
