/* sanitizer (private): text normalisation for instruction matching (see normalize.h).
 * ASCII takes a fast path (lower-case, whitespace collapse); other characters go through a
 * homoglyph table, then utf8proc (compatibility decomposition + case folding + mark
 * stripping), then the table again for what the decomposition produced. */
#include "sanitizer/normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "sanitizer/unicode_text.h"

/* Look-alikes mapped to the ASCII letter a reader takes them for. Applied before case folding
 * (upper-case Greek Eta looks like H, lower-case eta like n) and again after it. Sorted. */
static const struct { uint32_t from; uint32_t to; } homoglyphs[] = {
    {0x0131, 'i'}, {0x0251, 'a'}, {0x0261, 'g'}, {0x02BC, '\''}, {0x0391, 'A'}, {0x0392, 'B'},
    {0x0395, 'E'}, {0x0396, 'Z'}, {0x0397, 'H'}, {0x0399, 'I'}, {0x039A, 'K'}, {0x039C, 'M'},
    {0x039D, 'N'}, {0x039F, 'O'}, {0x03A1, 'P'}, {0x03A4, 'T'}, {0x03A5, 'Y'}, {0x03A7, 'X'},
    {0x03B1, 'a'}, {0x03B5, 'e'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'}, {0x03BF, 'o'},
    {0x03C1, 'p'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'}, {0x0405, 'S'}, {0x0406, 'I'},
    {0x0408, 'J'}, {0x0410, 'A'}, {0x0412, 'B'}, {0x0415, 'E'}, {0x041A, 'K'}, {0x041C, 'M'},
    {0x041D, 'H'}, {0x041E, 'O'}, {0x0420, 'P'}, {0x0421, 'C'}, {0x0422, 'T'}, {0x0423, 'Y'},
    {0x0425, 'X'}, {0x0430, 'a'}, {0x0432, 'b'}, {0x0435, 'e'}, {0x043A, 'k'}, {0x043C, 'm'},
    {0x043D, 'h'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0442, 't'}, {0x0443, 'y'},
    {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'}, {0x04BB, 'h'}, {0x04CF, 'l'},
    {0x0501, 'd'}, {0x051A, 'Q'}, {0x051B, 'q'}, {0x051C, 'W'}, {0x051D, 'w'}, {0x2010, '-'},
    {0x2011, '-'}, {0x2012, '-'}, {0x2013, '-'}, {0x2014, '-'}, {0x2015, '-'}, {0x2018, '\''},
    {0x2019, '\''}, {0x201A, '\''}, {0x201B, '\''}, {0x201C, '"'}, {0x201D, '"'}, {0x201E, '"'},
    {0x201F, '"'}, {0x2032, '\''}, {0x2212, '-'},
};

static uint32_t homoglyph(uint32_t cp)
{
    size_t lo = 0, hi = sizeof homoglyphs / sizeof homoglyphs[0];
    if (cp < 0x0131) return cp;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (homoglyphs[mid].from == cp) return homoglyphs[mid].to;
        if (homoglyphs[mid].from < cp) lo = mid + 1;
        else hi = mid;
    }
    return cp;
}

static int is_space_cp(uint32_t cp)
{
    switch (cp) {
    case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

static int buf_reserve(norm_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra) cap *= 2;
    char *t = realloc(b->text, cap);
    if (!t) return -1;
    b->text = t;
    uint64_t *s = realloc(b->src_start, cap * sizeof *s);
    if (!s) return -1;
    b->src_start = s;
    uint64_t *e = realloc(b->src_end, cap * sizeof *e);
    if (!e) return -1;
    b->src_end = e;
    b->cap = cap;
    return 0;
}

static void emit_bytes(norm_buf *b, const char *bytes, size_t n, uint64_t from, uint64_t to)
{
    if (buf_reserve(b, n) != 0) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        b->text[b->len] = bytes[i];
        b->src_start[b->len] = from;
        b->src_end[b->len] = to;
        b->len++;
    }
}

/* One folded code point: collapses spaces, lower-cases ASCII. */
static void emit_cp(norm_state *st, norm_buf *b, uint32_t cp, uint64_t from, uint64_t to)
{
    char enc[4];
    if (is_space_cp(cp)) {
        if (st->in_space) return;
        st->in_space = 1;
        emit_bytes(b, " ", 1, from, to);
        return;
    }
    st->in_space = 0;
    if (cp >= 'A' && cp <= 'Z') cp += 32;
    emit_bytes(b, enc, utf8_encode(cp, enc), from, to);
}

static void fold_non_ascii(norm_state *st, norm_buf *b, uint32_t cp, uint64_t from, uint64_t to)
{
    utf8proc_int32_t out[18];
    int last_boundclass = 0;
    uint32_t mapped = homoglyph(cp);
    if (mapped < 0x80) {
        emit_cp(st, b, mapped, from, to);
        return;
    }
    if (is_space_cp(cp)) {
        emit_cp(st, b, ' ', from, to);
        return;
    }
    utf8proc_ssize_t n = utf8proc_decompose_char(
        (utf8proc_int32_t)cp, out, (utf8proc_ssize_t)(sizeof out / sizeof out[0]),
        UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
            UTF8PROC_IGNORE,
        &last_boundclass);
    if (n < 0 || n > (utf8proc_ssize_t)(sizeof out / sizeof out[0])) {
        emit_cp(st, b, cp, from, to); /* not foldable here: keep it as it is */
        return;
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        uint32_t c = homoglyph((uint32_t)out[i]);
        if (unicode_is_invisible(c)) continue;
        emit_cp(st, b, c, from, to);
    }
}

int norm_feed(norm_state *st, norm_buf *out, const char *text, size_t len, uint64_t base)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    if (buf_reserve(out, len + 4) != 0) return -1;

    /* Finish a character split across pieces. */
    while (st->npending > 0 && i < len) {
        unsigned char tmp[4];
        size_t have = st->npending;
        memcpy(tmp, st->pending, have);
        size_t take = 0;
        while (have + take < 4 && i + take < len) {
            tmp[have + take] = s[i + take];
            take++;
        }
        uint32_t cp;
        int n = utf8_decode(tmp, have + take, &cp);
        uint64_t from = base - st->npending;
        if (n == 0) { /* still incomplete: everything available belongs to it */
            memcpy(st->pending + have, s + i, take);
            st->npending += take;
            return 0;
        }
        if (n < 0) { /* the first pending byte is invalid: drop it, retry with the rest */
            memmove(st->pending, st->pending + 1, --st->npending);
            if (st->npending == 0) break;
            continue;
        }
        size_t used = (size_t)n - have;
        if (!unicode_is_invisible(cp)) fold_non_ascii(st, out, cp, from, base + i + used);
        i += used;
        st->npending = 0;
    }
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            /* ASCII fast path: the buffer was reserved for len bytes above, and ASCII never
             * produces more than one byte. */
            if (out->len + 1 > out->cap && buf_reserve(out, len - i + 4) != 0) return -1;
            if (c == ' ' || (c >= '\t' && c <= '\r')) {
                if (!st->in_space) {
                    st->in_space = 1;
                    out->text[out->len] = ' ';
                    out->src_start[out->len] = base + i;
                    out->src_end[out->len] = base + i + 1;
                    out->len++;
                }
            } else {
                st->in_space = 0;
                out->text[out->len] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
                out->src_start[out->len] = base + i;
                out->src_end[out->len] = base + i + 1;
                out->len++;
            }
            i++;
            continue;
        }
        uint32_t cp;
        int n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            memcpy(st->pending, s + i, len - i);
            st->npending = len - i;
            return 0;
        }
        if (n < 0) {
            i++;
            continue;
        }
        if (!unicode_is_invisible(cp)) fold_non_ascii(st, out, cp, base + i, base + i + (size_t)n);
        i += (size_t)n;
    }
    return out->oom ? -1 : 0;
}

void norm_finish(norm_state *st)
{
    st->npending = 0;
    st->in_space = 0;
}

void norm_buf_drop(norm_buf *b, size_t n)
{
    if (n == 0) return;
    if (n > b->len) n = b->len;
    memmove(b->text, b->text + n, b->len - n);
    memmove(b->src_start, b->src_start + n, (b->len - n) * sizeof *b->src_start);
    memmove(b->src_end, b->src_end + n, (b->len - n) * sizeof *b->src_end);
    b->len -= n;
}

void norm_buf_free(norm_buf *b)
{
    free(b->text);
    free(b->src_start);
    free(b->src_end);
    memset(b, 0, sizeof *b);
}

char *normalize_text(const char *text, size_t len)
{
    norm_state st = {0};
    norm_buf b = {0};
    if (norm_feed(&st, &b, text, len, 0) != 0 || buf_reserve(&b, 1) != 0 || b.oom) {
        norm_buf_free(&b);
        return NULL;
    }
    norm_finish(&st);
    char *out = malloc(b.len + 1);
    if (out) {
        memcpy(out, b.text, b.len);
        out[b.len] = '\0';
    }
    norm_buf_free(&b);
    return out;
}
