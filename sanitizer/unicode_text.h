/* sanitizer (private): UTF-8 decoding and the invisible-character class shared by
 * invisible_strip() and the instruction matcher's normaliser, so both treat the same bytes the
 * same way: what is dropped from the output is also ignored when matching. */
#ifndef AG_SANITIZER_UNICODE_TEXT_H
#define AG_SANITIZER_UNICODE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 character at s. Returns its length (1-4) and sets *cp; 0 when the bytes
 * are a valid but incomplete prefix (more input needed); -1 when s[0] does not start a valid
 * sequence (overlong forms, surrogates, > U+10FFFF, stray continuation bytes). */
int utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp);

/* Encodes cp into out (room for 4 bytes); returns the length. */
size_t utf8_encode(uint32_t cp, char *out);

/* 1 for Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15): tag characters,
 * zero-width characters, bidi controls, variation selectors, fillers, invisible operators. */
int unicode_is_invisible(uint32_t cp);

/* 1 when the invisible cp after the character prev is kept because it shapes what a person
 * sees: a zero-width (non-)joiner after a letter of a script that joins (Persian writes
 * U+200C inside words) or in an emoji sequence, a variation selector after a symbol, emoji or
 * keycap digit. invisible_strip*() and invisible_clean_prefix() keep those; the matcher's
 * normalised view ignores them as it ignores every invisible character. */
int unicode_invisible_kept(uint32_t prev, uint32_t cp);

/* Like invisible_strip(), but stops before an incomplete UTF-8 sequence at the end of the input
 * (the caller passes those bytes again with the next piece). *consumed = bytes of in used. */
size_t invisible_strip_partial(const char *in, size_t len, char *out, uint64_t *removed,
                               size_t *consumed);
/* The same, for a piece that follows the character *last (0: none) and setting *last to the
 * last character kept: a joiner at the start of a piece is judged as in one whole text. */
size_t invisible_strip_after(uint32_t *last, const char *in, size_t len, char *out,
                             uint64_t *removed, size_t *consumed);

/* Length of the longest prefix of in that invisible_strip_after() (after the character prev)
 * would copy unchanged and consume: complete, valid UTF-8 without invisible characters it
 * removes. When it is len, or the rest is an incomplete sequence (utf8_decode() returns 0
 * there), a caller can use in itself as the stripped text and need not copy it. ASCII is
 * skipped 16 bytes at a time where SSE2 exists. */
size_t invisible_clean_prefix_scan(uint32_t prev, const char *in, size_t len);
static inline size_t invisible_clean_prefix_after(uint32_t prev, const char *in, size_t len)
{
    /* short ASCII text (the spaces and line breaks between tags, most attribute values) is
     * answered here: a call would cost more than the bytes */
    if (len <= 16) {
        size_t i = 0;
        while (i < len && (unsigned char)in[i] < 0x80)
            i++;
        if (i == len)
            return len;
    }
    return invisible_clean_prefix_scan(prev, in, len);
}
static inline size_t invisible_clean_prefix(const char *in, size_t len)
{
    return invisible_clean_prefix_after(0, in, len);
}

/* Two- and three-byte sequences whose lead byte allows every continuation byte (no overlong or
 * surrogate form is possible), decoded inline; 0 for anything else (the caller then asks
 * utf8_decode()). */
static inline int utf8_decode_common(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xDF && avail >= 2 && (s[1] & 0xC0) == 0x80) {
        *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c >= 0xE1 && c <= 0xEF && c != 0xED && avail >= 3 && (s[1] & 0xC0) == 0x80 &&
        (s[2] & 0xC0) == 0x80) {
        *cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    return 0;
}

#endif
