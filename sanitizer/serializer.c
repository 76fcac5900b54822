/* sanitizer: serialization of sanitized tokens (see serializer.h). Output accumulates in one
 * buffer and goes to the sink when the buffer is full or the filter flushes at the end of a
 * feed, so the sink sees few, large writes. */
#include "sanitizer/serializer.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

int out_init(out_buf *o, sanitizer_sink sink, void *ctx, size_t cap, size_t limit)
{
    memset(o, 0, sizeof *o);
    o->p = malloc(cap);
    if (!o->p)
        return AG_ERR;
    o->cap = cap;
    o->sink = sink;
    o->ctx = ctx;
    o->limit = limit > cap ? limit : cap;
    return AG_OK;
}

void out_free(out_buf *o)
{
    free(o->p);
    o->p = NULL;
}

int out_flush(out_buf *o)
{
    if (o->n > 0 && !o->failed) {
        if (o->sink(o->ctx, o->p, o->n) != 0)
            o->failed = 1;
        else
            o->total += o->n;
    }
    o->n = 0;
    return o->failed ? AG_ERR : AG_OK;
}

void out_raw_slow(out_buf *o, const char *s, size_t n)
{
    if (o->muted)
        return;
    while (n > 0 && !o->failed) {
        size_t room = o->cap - o->n;
        if (room == 0 && o->hold) {
            size_t nc = o->cap * 2 > o->limit ? o->limit : o->cap * 2;
            char *np = nc > o->cap ? realloc(o->p, nc) : NULL;
            if (!np) {
                o->failed = 1; /* more markup held than the memory bound allows */
                return;
            }
            o->p = np;
            o->cap = nc;
            continue;
        }
        if (room == 0) {
            out_flush(o);
            continue;
        }
        size_t k = n < room ? n : room;
        memcpy(o->p + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
    }
}

/* Bytes that need escaping: 1 in text, 2 only in attribute values. */
static const unsigned char ESCAPE_CLASS[256] = {['&'] = 1, ['<'] = 1, ['>'] = 1, ['\0'] = 1,
                                                ['"'] = 2};

/* Index of the first byte at or after i that may need escaping (n if none): 16 bytes at a
 * time with SSE2, then the table. */
static size_t next_escape(const char *s, size_t i, size_t n, bool attr)
{
#ifdef __SSE2__
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  nul = _mm_setzero_si128(), quot = _mm_set1_epi8(attr ? '"' : '&');
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, nul)));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, quot));
        int m = _mm_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz((unsigned)m);
    }
#endif
    unsigned char mask = attr ? 3 : 1;
    for (; i < n; i++)
        if (ESCAPE_CLASS[(unsigned char)s[i]] & mask)
            return i;
    return n;
}

static void out_escaped(out_buf *o, const char *s, size_t n, bool attr)
{
    size_t start = 0;
    for (size_t i = next_escape(s, 0, n, attr); i < n; i = next_escape(s, i + 1, n, attr)) {
        const char *rep;
        size_t rl;
        switch (s[i]) {
        case '&': rep = "&amp;", rl = 5; break;
        case '<': rep = "&lt;", rl = 4; break;
        case '>': rep = "&gt;", rl = 4; break;
        case '"': rep = "&quot;", rl = 6; break;
        default: rep = "", rl = 0; break;
        }
        out_raw(o, s + start, i - start);
        out_raw(o, rep, rl);
        start = i + 1;
    }
    out_raw(o, s + start, n - start);
}

void out_text(out_buf *o, const char *s, size_t n)
{
    out_escaped(o, s, n, false);
}

void out_style_text(out_buf *o, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '<' && s[i] != '\0')
            continue;
        out_raw(o, s + start, i - start);
        if (s[i] == '<')
            out_raw(o, "\\3c ", 4);
        start = i + 1;
    }
    out_raw(o, s + start, n - start);
}

void out_attr(out_buf *o, const char *name, size_t name_len, const char *value, size_t value_len)
{
    out_raw(o, " ", 1);
    out_raw(o, name, name_len);
    out_raw(o, "=\"", 2);
    out_escaped(o, value, value_len, true);
    out_raw(o, "\"", 1);
}

void out_tag_open(out_buf *o, const char *name, size_t len)
{
    out_raw(o, "<", 1);
    out_raw(o, name, len);
}

void out_tag_close(out_buf *o, bool self_closing)
{
    if (self_closing)
        out_raw(o, "/>", 2);
    else
        out_raw(o, ">", 1);
}

void out_end_tag(out_buf *o, const char *name, size_t len)
{
    out_raw(o, "</", 2);
    out_raw(o, name, len);
    out_raw(o, ">", 1);
}

/* Comment data without '>' and without a leading '-' cannot close the comment early or
 * merge with "<!--"; the data is otherwise kept. */
void out_comment(out_buf *o, const char *data, size_t len)
{
    out_raw(o, "<!--", 4);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        bool bad = data[i] == '>' || data[i] == '\0' || (data[i] == '-' && (i == 0 || i + 1 == len)) ||
                   (data[i] == '!' && i + 1 == len);
        if (!bad)
            continue;
        out_raw(o, data + start, i - start);
        out_raw(o, " ", 1);
        start = i + 1;
    }
    out_raw(o, data + start, len - start);
    out_raw(o, "-->", 3);
}

static void out_doctype_id(out_buf *o, const char *s, size_t n)
{
    /* an identifier is quoted with whichever quote it lacks; '>' would end the DOCTYPE */
    char q = memchr(s, '"', n) ? '\'' : '"';
    out_raw(o, " ", 1);
    out_raw(o, &q, 1);
    for (size_t i = 0; i < n; i++)
        if (s[i] != q && s[i] != '>')
            out_raw(o, s + i, 1);
    out_raw(o, &q, 1);
}

void out_doctype(out_buf *o, const html_token *t)
{
    out_raw(o, "<!DOCTYPE", 9);
    if (t->has_name && t->name_len > 0) {
        out_raw(o, " ", 1);
        for (size_t i = 0; i < t->name_len; i++) {
            char c = t->name[i];
            if (c != '>' && c != ' ' && c != '\t' && c != '\n' && c != '\f')
                out_raw(o, &c, 1);
        }
    }
    if (t->has_public_id) {
        out_raw(o, " PUBLIC", 7);
        out_doctype_id(o, t->public_id, t->public_id_len);
        if (t->has_system_id)
            out_doctype_id(o, t->system_id, t->system_id_len);
    } else if (t->has_system_id) {
        out_raw(o, " SYSTEM", 7);
        out_doctype_id(o, t->system_id, t->system_id_len);
    }
    out_raw(o, ">", 1);
}

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' ||
           c == '.' || c >= 0x80;
}

bool safe_tag_name(const char *s, size_t n)
{
    if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!name_char((unsigned char)s[i]))
            return false;
    return true;
}

bool safe_attr_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)s[i]))
            return false;
    return true;
}
