/* sanitizer (private): UTF-8 decoding and invisible-character stripping.
 * Invalid UTF-8 is dropped (each invalid byte counts as one removed character) rather than
 * replaced with U+FFFD: invisible_strip() promises an output no longer than its input, and a
 * dropped byte cannot smuggle anything past the rules because the matcher drops the same bytes
 * before it normalises. The output is therefore always valid UTF-8. */
#include "sanitizer/instr.h"
#include "sanitizer/unicode_text.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

int utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned c = s[0];
    int need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= avail) return 0; /* the bytes so far are a valid prefix */
        unsigned b = s[i];
        if ((b & 0xC0) != 0x80) return -1;
        /* Reject overlong, surrogate and out-of-range forms at the second byte, as the
         * Unicode "maximal subpart" rules do. */
        if (i == 1) {
            if (c == 0xE0 && b < 0xA0) return -1;
            if (c == 0xED && b > 0x9F) return -1;
            if (c == 0xF0 && b < 0x90) return -1;
            if (c == 0xF4 && b > 0x8F) return -1;
        }
        v = (v << 6) | (b & 0x3F);
    }
    if (v < min) return -1;
    *cp = v;
    return need + 1;
}

size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int unicode_is_invisible(uint32_t cp)
{
    static const struct { uint32_t lo, hi; } ranges[] = {
        {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x061C, 0x061C},   {0x115F, 0x1160},
        {0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x200B, 0x200F},   {0x202A, 0x202E},
        {0x2060, 0x206F},   {0x3164, 0x3164},   {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},
        {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFF8},   {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
        {0xE0000, 0xE0FFF},
    };
    if (cp < 0xAD) return 0;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (cp < ranges[i].lo) return 0;
        if (cp <= ranges[i].hi) return 1;
    }
    return 0;
}

/* Letters of scripts whose words a zero-width (non-)joiner shapes: Arabic and Persian, Syriac,
 * Thaana, N'Ko, the Indic scripts, Tibetan, Myanmar, Khmer, Mongolian. */
static int in_joining_script(uint32_t cp)
{
    return (cp >= 0x0600 && cp <= 0x08FF && cp != 0x061C) || (cp >= 0x0900 && cp <= 0x0DFF) ||
           (cp >= 0x0F00 && cp <= 0x109F) || (cp >= 0x1780 && cp <= 0x18AF) ||
           (cp >= 0xA8E0 && cp <= 0xA8FF) || (cp >= 0xFB50 && cp <= 0xFDFF) ||
           (cp >= 0xFE70 && cp <= 0xFEFC);
}

/* Pictographs and symbols an emoji sequence is built of. */
static int emoji_like(uint32_t cp)
{
    return (cp >= 0x2190 && cp <= 0x2BFF) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
           cp == 0x00A9 || cp == 0x00AE || cp == 0x203C || cp == 0x2049 || cp == 0x2122 ||
           cp == 0x2139 || cp == 0x3030 || cp == 0x303D || cp == 0x3297 || cp == 0x3299;
}

int unicode_invisible_kept(uint32_t prev, uint32_t cp)
{
    if (cp == 0x200C || cp == 0x200D)
        return in_joining_script(prev) || emoji_like(prev) || prev == 0xFE0F;
    if (cp == 0xFE0E || cp == 0xFE0F) /* text or emoji presentation; keycaps "1\uFE0F\u20E3" */
        return emoji_like(prev) || (prev >= '0' && prev <= '9') || prev == '#' || prev == '*';
    return 0;
}

/* Index of the first byte >= 0x80 at or after i (len if none). */
static inline size_t next_non_ascii(const unsigned char *s, size_t i, size_t len)
{
#ifdef __SSE2__
    /* 64 bytes a step while the text is ASCII (one test for four loads) */
    for (; i + 64 <= len; i += 64) {
        const __m128i *v = (const __m128i *)(s + i);
        __m128i any = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                                   _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3)));
        if (_mm_movemask_epi8(any))
            break;
    }
    for (; i + 16 <= len; i += 16) {
        int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(s + i)));
        if (m)
            return i + (size_t)__builtin_ctz((unsigned)m);
    }
#endif
    /* short text (most text between tags) and the tail: 8 bytes a step */
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
            break;
    }
    while (i < len && s[i] < 0x80)
        i++;
    return i;
}

size_t invisible_strip_partial(const char *in, size_t len, char *out, uint64_t *removed,
                               size_t *consumed)
{
    uint32_t prev = 0;
    return invisible_strip_after(&prev, in, len, out, removed, consumed);
}

size_t invisible_strip_after(uint32_t *last, const char *in, size_t len, char *out,
                             uint64_t *removed, size_t *consumed)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0;
    uint32_t prev = *last; /* the last character kept */
    while (i < len) {
        if (s[i] < 0x80) {
            size_t start = i;
            i = next_non_ascii(s, i, len);
            memmove(out + o, in + start, i - start);
            o += i - start;
            prev = s[i - 1];
            continue;
        }
        uint32_t cp;
        int n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) break; /* incomplete: left for the next piece */
        if (n < 0) {
            (*removed)++;
            i++;
            continue;
        }
        if (unicode_is_invisible(cp) && !unicode_invisible_kept(prev, cp)) {
            (*removed)++;
        } else {
            memmove(out + o, in + i, (size_t)n);
            o += (size_t)n;
            prev = cp;
        }
        i += (size_t)n;
    }
    *consumed = i;
    *last = prev;
    return o;
}

/* Bit b of word b / 64 is set when code points b * 256 .. b * 256 + 255 include an invisible
 * one (in the Basic Multilingual Plane; see unicode_is_invisible()). */
static const uint64_t BMP_BLOCKS_WITH_INVISIBLE[4] = {
    (1ull << 0x00) | (1ull << 0x03) | (1ull << 0x06) | (1ull << 0x11) | (1ull << 0x17) |
        (1ull << 0x18) | (1ull << 0x20) | (1ull << 0x31),
    0, 0, (1ull << (0xFE - 0xC0)) | (1ull << (0xFF - 0xC0))};

/* Most non-ASCII text is letters and punctuation in blocks without invisible characters. */
static inline int may_be_invisible(uint32_t cp)
{
    if (cp >= 0x10000)
        return 1;
    unsigned block = cp >> 8;
    return (int)((BMP_BLOCKS_WITH_INVISIBLE[block >> 6] >> (block & 63)) & 1);
}

size_t invisible_clean_prefix_scan(uint32_t prev, const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = next_non_ascii(s, 0, len);
    if (i > 0) prev = s[i - 1];
    while (i < len) {
        uint32_t cp;
        int n = utf8_decode_common(s + i, len - i, &cp);
        if (n == 0) {
            n = utf8_decode(s + i, len - i, &cp);
            if (n <= 0)
                return i;
        }
        if (may_be_invisible(cp) && unicode_is_invisible(cp) && !unicode_invisible_kept(prev, cp))
            return i;
        prev = cp;
        i += (size_t)n;
        if (i < len && s[i] >= 0x80)
            continue; /* text in another script: one character after the other */
        size_t ascii = i;
        i = next_non_ascii(s, i, len);
        if (i > ascii) prev = s[i - 1];
    }
    return i;
}

size_t invisible_strip(const char *in, size_t len, char *out, uint64_t *removed)
{
    size_t consumed;
    size_t o = invisible_strip_partial(in, len, out, removed, &consumed);
    /* An incomplete sequence at the very end is invalid here: there is no next piece. */
    *removed += len - consumed;
    return o;
}
