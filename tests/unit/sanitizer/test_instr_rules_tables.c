/* Unit tests for what instr_rules_compile derives from the rules, checked against the rules
 * themselves: every bit of the start tables (first character, two characters, third
 * character, in each start context) must be the anchored rule's own answer to "can a match or
 * partial match start here", whichever shortcut the table builder took to find it; and the
 * prefilter's required literal sets for a few real rule patterns are pinned, so a change to
 * how the analysis computes them cannot change what it chooses unnoticed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/instr.h"
#include "sanitizer/instr_prefilter.h"
#include "sanitizer/instr_rules.h"

#include "rules_from.h"

/* The rule's answer, asked of PCRE2's interpreter (not the JIT code the table builder uses),
 * for context pw followed by the n characters of c. */
static int asks_yes(const sanitizer_rules *r, size_t k, int pw, const int *c, size_t n,
                    pcre2_match_data *md)
{
    unsigned char subj[4];
    size_t o = 0, start;
    if (pw != START_AT_TEXT_START) subj[o++] = pw == START_AFTER_WORD ? 'a' : ' ';
    start = o;
    for (size_t i = 0; i < n; i++) subj[o++] = (unsigned char)c[i];
    int rc = pcre2_match(r->code[k], subj, o, start, PCRE2_PARTIAL_HARD | PCRE2_NO_JIT, md, NULL);
    return rc != PCRE2_ERROR_NOMATCH;
}

static int bit(const uint64_t *mask, size_t k)
{
    return (int)((mask[k / 64] >> (k % 64)) & 1);
}

/* Every table bit of every rule in every context equals the rule's answer. */
static void expect_tables_are_answers(const sanitizer_rules *r)
{
    size_t words = r->mask_words;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    cr_assert_not_null(md);
    cr_assert_not_null(r->start_mask, "these rules have a start table");
    for (size_t k = 0; k < r->n; k++) {
        for (int pw = 0; pw < START_CONTEXTS; pw++) {
            for (int c1 = 0; c1 < 128; c1++) {
                if (!START_TABLE_CHAR(c1)) continue;
                int c[3] = {c1, 0, 0};
                int first = bit(r->first_mask + ((size_t)pw * 128 + (size_t)c1) * words, k);
                cr_assert_eq(first, asks_yes(r, k, pw, c, 1, md), "rule %s context %d '%c'",
                             r->rule[k].id, pw, c1);
                for (int c2 = 0; c2 < 128; c2++) {
                    if (!START_TABLE_CHAR(c2)) continue;
                    c[1] = c2;
                    size_t e = START_TABLE_INDEX(pw, c1, c2);
                    int two = bit(r->start_mask + e * words, k);
                    cr_assert_eq(two, first && asks_yes(r, k, pw, c, 2, md),
                                 "rule %s context %d '%c%c'", r->rule[k].id, pw, c1, c2);
                    if (!two) continue;
                    cr_assert_neq(r->third_index[e], 0u);
                    const uint64_t *block = r->third + (size_t)(r->third_index[e] - 1) * 128 * words;
                    for (int c3 = 0; c3 < 128; c3++) {
                        if (!START_TABLE_CHAR(c3)) continue;
                        c[2] = c3;
                        cr_assert_eq(bit(block + (size_t)c3 * words, k), asks_yes(r, k, pw, c, 3, md),
                                     "rule %s context %d '%c%c%c'", r->rule[k].id, pw, c1, c2, c3);
                    }
                }
            }
        }
    }
    pcre2_match_data_free(md);
}

/* Rules whose answers differ between contexts (\b, \B, ^, \A, multi-line ^) beside rules whose
 * answers cannot (a '^' that negates a class, no boundary at all). */
Test(start_table, every_bit_is_the_rules_answer_in_every_context)
{
    sanitizer_rules *r = rules_from(
        "id: t.boundary\npattern: \\bign(?:ore|ite) all\\b\ndescription: d\n\n"
        "id: t.caret\npattern: ^go [a-c]\ndescription: d\n\n"
        "id: t.text-start\npattern: \\Ahey\\s\ndescription: d\n\n"
        "id: t.multiline\npattern: (?m)^line\\d\ndescription: d\n\n"
        "id: t.either\npattern: (?:^|\\s)tok\ndescription: d\n\n"
        "id: t.class\npattern: [^\\s.!?]{2}ab[^x]\ndescription: d\n\n"
        "id: t.inside\npattern: \\Bing\\b\ndescription: d\n\n"
        "id: t.literal-caret\npattern: a[]^]b\ndescription: d\n\n"
        "id: t.plain\npattern: ok(?:ay|ey)\ndescription: d\n");
    expect_tables_are_answers(r);
    /* the contexts really differ for these rules: the test would see a copied answer */
    size_t words = r->mask_words;
    cr_expect(!bit(r->first_mask + ((size_t)START_AFTER_WORD * 128 + 'i') * words, 0),
              "\\bign cannot start inside a word");
    cr_expect(bit(r->first_mask + ((size_t)START_AT_TEXT_START * 128 + 'g') * words, 1));
    cr_expect(!bit(r->first_mask + ((size_t)START_AFTER_NONWORD * 128 + 'g') * words, 1),
              "^ holds at the start of the text only");
    sanitizer_rules_free(r);
}

Test(start_table, built_in_rules_tables_are_their_answers)
{
    const sanitizer_rules *r = sanitizer_rules_default();
    cr_assert_not_null(r);
    expect_tables_are_answers(r);
}

static void expect_describe(const char *pattern, const char *want, uint32_t want_wmax)
{
    const char *p[1] = {pattern};
    char got[4096];
    instr_prefilter *pf = instr_prefilter_build(p, 1);
    cr_assert_not_null(pf);
    uint32_t wmax = instr_prefilter_describe(pf, 0, got, sizeof got);
    instr_prefilter_free(pf);
    cr_expect_str_eq(got, want, "%s", pattern);
    cr_expect_eq(wmax, want_wmax, "%s", pattern);
}

/* Patterns of built-in rules (override.instructions-void, role.unfiltered-model,
 * persona.inverted-answers, exfil.markdown-image): their sets, members in order, and reach. */
Test(prefilter_choice, real_patterns_keep_their_sets)
{
    expect_describe(
        "\\b(?:previous|prior|above|earlier|preceding|original|initial|old|all|your|system)\\s"
        "(?:instructions|prompts?|rules|directives|guidelines|commands)\\s(?:are|were|is|have "
        "been)\\s(?:now\\s)?(?:void|null|cancell?ed|revoked|obsolete|invalid|false|wrong|fake|"
        "outdated|superseded|replaced|overridden|no longer)\\b",
        "{instructions|prompts are |prompts were|prompts is |prompts have|prompt are |prompt were "
        "|prompt is |prompt have |rules are |rules were |rules is |rules have b|directives a|"
        "directives w|directives i|directives h|guidelines a|guidelines w|guidelines i|"
        "guidelines h|commands are|commands wer|commands is |commands hav} & {void|null|cancelled|"
        "canceled|revoked|obsolete|invalid|false|wrong|fake|outdated|superseded|replaced|"
        "overridden|no longer} & {previous |prior |above |earlier |preceding |original |initial "
        "|old |all |your |system }",
        6);
    expect_describe("\\b(?:unfiltered|uncensored|unrestricted|unlimited|amoral|jailbroken)\\b"
                    "[^\\s.!?]*+(?:\\s[^\\s.!?]++){0,5}\\s(?:ai|language model|chatbot|version of "
                    "(?:chatgpt|gpt|yourself))\\b",
                    "{unfiltered|uncensored|unrestricted|unlimited|amoral|jailbroken} & { ai| "
                    "language mo| chatbot| version of }",
                    8);
    expect_describe("\\b(?:answers?|replies|reply|responds?|respond|answering|replying|"
                    "responding)\\b[^.!?]{0,30}?\\b(?:the (?:exact )?opposite of what|true and "
                    "false in reverse|in reverse to (?:what|how)|the reverse of what)\\b",
                    "{the exact op|the opposite|true and fal|in reverse t|the reverse } & "
                    "{answer|replies|reply|respond}",
                    34);
    expect_describe("!\\[[^\\]]{0,60}\\]\\(\\s?https?://[^)\\s]{0,150}?(?:\\{|\\[|\\$|%7b)",
                    "{]( https://|]( http://|](https://|](http://}", 61);
}
