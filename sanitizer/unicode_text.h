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

/* Like invisible_strip(), but stops before an incomplete UTF-8 sequence at the end of the input
 * (the caller passes those bytes again with the next piece). *consumed = bytes of in used. */
size_t invisible_strip_partial(const char *in, size_t len, char *out, uint64_t *removed,
                               size_t *consumed);

/* Length of the longest prefix of in that invisible_strip_partial() would copy unchanged and
 * consume: complete, valid UTF-8 without invisible characters. When it is len, or the rest is
 * an incomplete sequence (utf8_decode() returns 0 there), a caller can use in itself as the
 * stripped text and need not copy it. ASCII is skipped 16 bytes at a time where SSE2 exists. */
size_t invisible_clean_prefix(const char *in, size_t len);

#endif
