/* sanitizer (private): CSS tokenizer following CSS Syntax Level 3, section 4 ("Tokenization"),
 * over UTF-8 bytes. Non-ASCII bytes count as name code points, which is what the specification
 * says of every code point >= U+0080. Token text is decoded (escapes resolved) and truncated to a
 * fixed size: callers judge keywords and schemes, which are short. */
#include "sanitizer/css_lexer.h"

#include <stdlib.h>
#include <string.h>

#define EOF_CP (-1)

static int peek(const css_lexer *lx, size_t k)
{
    size_t i = lx->pos + k;
    return i < lx->len ? lx->s[i] : EOF_CP;
}

static int is_newline(int c) { return c == '\n' || c == '\r' || c == '\f'; }
static int is_ws(int c) { return is_newline(c) || c == ' ' || c == '\t'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hex_val(int c)
{
    if (is_digit(c)) return c - '0';
    return (c | 0x20) - 'a' + 10;
}
static int is_name_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 || c == 0;
}
static int is_name(int c) { return is_name_start(c) || is_digit(c) || c == '-'; }

static int valid_escape(int c1, int c2) { return c1 == '\\' && !is_newline(c2); }

static int starts_ident(int c1, int c2, int c3)
{
    if (c1 == '-') return is_name_start(c2) || c2 == '-' || valid_escape(c2, c3);
    if (c1 == '\\') return valid_escape(c1, c2);
    return c1 != EOF_CP && is_name_start(c1);
}

/* Byte classes for the loops that run over every byte of a style sheet (names, whitespace) and
 * for the first byte of every token: one table load instead of a chain of comparisons. NUL is
 * a name (start) byte too, but it is decoded (to U+FFFD), so it is left out of the classes and
 * taken by the slow paths. */
enum { BC_NAME_PLAIN = 1, BC_WS = 2, BC_NAME_START_PLAIN = 4 };

#define BYTE_IS_NAME_START(c) \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || (c) == '_' || (c) >= 0x80)
#define BYTE_CLASS(c)                                                                        \
    (BYTE_IS_NAME_START(c)                        ? BC_NAME_PLAIN | BC_NAME_START_PLAIN     \
     : ((c) >= '0' && (c) <= '9') || (c) == '-'   ? BC_NAME_PLAIN                           \
     : (c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r' || (c) == '\f' ? BC_WS      \
                                                  : 0)
#define BYTE_CLASS_ROW(b)                                                                    \
    BYTE_CLASS(b), BYTE_CLASS(b + 1), BYTE_CLASS(b + 2), BYTE_CLASS(b + 3), BYTE_CLASS(b + 4), \
        BYTE_CLASS(b + 5), BYTE_CLASS(b + 6), BYTE_CLASS(b + 7), BYTE_CLASS(b + 8),          \
        BYTE_CLASS(b + 9), BYTE_CLASS(b + 10), BYTE_CLASS(b + 11), BYTE_CLASS(b + 12),       \
        BYTE_CLASS(b + 13), BYTE_CLASS(b + 14), BYTE_CLASS(b + 15)

static const unsigned char byte_class[256] = {
    BYTE_CLASS_ROW(0x00), BYTE_CLASS_ROW(0x10), BYTE_CLASS_ROW(0x20), BYTE_CLASS_ROW(0x30),
    BYTE_CLASS_ROW(0x40), BYTE_CLASS_ROW(0x50), BYTE_CLASS_ROW(0x60), BYTE_CLASS_ROW(0x70),
    BYTE_CLASS_ROW(0x80), BYTE_CLASS_ROW(0x90), BYTE_CLASS_ROW(0xA0), BYTE_CLASS_ROW(0xB0),
    BYTE_CLASS_ROW(0xC0), BYTE_CLASS_ROW(0xD0), BYTE_CLASS_ROW(0xE0), BYTE_CLASS_ROW(0xF0),
};

/* First index at or after i whose byte is not of class cls (len when there is none). */
static size_t skip_class(const unsigned char *s, size_t i, size_t len, unsigned cls)
{
    while (i < len && (byte_class[s[i]] & cls)) i++;
    return i;
}

static int starts_number(int c1, int c2, int c3)
{
    if (c1 == '+' || c1 == '-') return is_digit(c2) || (c2 == '.' && is_digit(c3));
    if (c1 == '.') return is_digit(c2);
    return is_digit(c1);
}

/* cp as UTF-8 into buf (4 bytes); returns the length. NUL, surrogates and out-of-range code
 * points become U+FFFD, as CSS escapes decode. */
static size_t utf8_put(char *buf, uint32_t cp)
{
    size_t n;
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        buf[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        buf[0] = (char)(0xF0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return n;
}

static void text_put_cp(css_token *t, uint32_t cp)
{
    char buf[4];
    size_t n = utf8_put(buf, cp);
    if (t->text_len + n < CSS_TOKEN_TEXT_MAX) {
        memcpy(t->text + t->text_len, buf, n);
        t->text_len += n;
        t->text[t->text_len] = '\0';
    }
}

/* Raw byte of a non-ASCII sequence: copied as is (the input is UTF-8 already). */
static void text_put_byte(css_token *t, int c)
{
    if (c == 0) {
        text_put_cp(t, 0xFFFD);
        return;
    }
    /* an ASCII byte is its own UTF-8 encoding, as is a byte of a non-ASCII sequence */
    if (t->text_len + 1 < CSS_TOKEN_TEXT_MAX) {
        t->text[t->text_len++] = (char)c;
        t->text[t->text_len] = '\0';
    }
}

/* Appends n plain bytes (no NUL, already UTF-8), as many as fit: the same bytes text_put_byte()
 * would keep one at a time. */
static void text_put_run(css_token *t, const unsigned char *p, size_t n)
{
    size_t room = CSS_TOKEN_TEXT_MAX - 1 - t->text_len;
    if (n > room) n = room;
    memcpy(t->text + t->text_len, p, n);
    t->text_len += n;
    t->text[t->text_len] = '\0';
}

/* Tracks the scheme-relevant prefix of a URL value: leading C0 controls and spaces dropped,
 * tab/CR/LF dropped everywhere (the URL parser does both), ASCII lower-cased. */
static void url_prefix_put(css_token *t, uint32_t cp)
{
    size_t n = strlen(t->url_prefix);
    if (cp == '\t' || cp == '\n' || cp == '\r') return;
    if (n == 0 && cp <= 0x20) return;
    if (n >= CSS_URL_PREFIX_MAX) return;
    if (cp >= 'A' && cp <= 'Z') cp += 32;
    t->url_prefix[n] = cp < 0x80 ? (char)cp : '?';
    t->url_prefix[n + 1] = '\0';
}

/* Consumes an escape (the backslash is already consumed); returns the code point. */
static uint32_t consume_escape(css_lexer *lx)
{
    int c = peek(lx, 0);
    if (c == EOF_CP) return 0xFFFD;
    if (is_hex(c)) {
        uint32_t v = 0;
        for (int i = 0; i < 6 && is_hex(peek(lx, 0)); i++) {
            v = v * 16 + (uint32_t)hex_val(peek(lx, 0));
            lx->pos++;
        }
        if (peek(lx, 0) == '\r' && peek(lx, 1) == '\n') lx->pos += 2;
        else if (is_ws(peek(lx, 0))) lx->pos++;
        if (v == 0 || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) return 0xFFFD;
        return v;
    }
    lx->pos++;
    /* A multi-byte UTF-8 sequence after a backslash: decode it so the code point is exact. */
    if (c >= 0xC0) {
        int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        uint32_t v = (uint32_t)c & (0x3Fu >> extra);
        for (int i = 0; i < extra && peek(lx, 0) >= 0x80 && peek(lx, 0) < 0xC0; i++) {
            v = (v << 6) | ((uint32_t)peek(lx, 0) & 0x3F);
            lx->pos++;
        }
        return v;
    }
    return c == 0 ? 0xFFFD : (uint32_t)c;
}

/* A name: runs of plain name bytes are copied whole (bytes past the text bound are consumed
 * and dropped); only NUL and escapes go through the code-point path. */
static void consume_name(css_lexer *lx, css_token *t)
{
    for (;;) {
        size_t run = lx->pos;
        lx->pos = skip_class(lx->s, lx->pos, lx->len, BC_NAME_PLAIN);
        if (lx->pos > run && t->text_len < CSS_TOKEN_TEXT_MAX - 1)
            text_put_run(t, lx->s + run, lx->pos - run);
        int c = peek(lx, 0);
        if (c == 0) {
            text_put_cp(t, 0xFFFD);
            lx->pos++;
        } else if (valid_escape(c, peek(lx, 1))) {
            lx->pos++;
            text_put_cp(t, consume_escape(lx));
        } else {
            return;
        }
    }
}

/* Digits a double holds exactly, with the powers of ten it holds exactly: a mantissa of at most
 * this many digits divided by 10^k (k <= 15) is one correctly rounded division, the same double
 * strtod() returns for the text. */
#define EXACT_DIGITS_MAX 15
static const double exact_pow10[EXACT_DIGITS_MAX + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
};

/* Digits at the lexer's position into buf (bounded) and into *mantissa (exact while *ndigits
 * stays <= EXACT_DIGITS_MAX). */
static void consume_digits(css_lexer *lx, char *buf, size_t *n, size_t cap, uint64_t *mantissa,
                           size_t *ndigits)
{
    int c;
    while (is_digit(c = peek(lx, 0))) {
        if (*n < cap) buf[(*n)++] = (char)c;
        *mantissa = *mantissa * 10 + (uint64_t)(c - '0');
        ++*ndigits;
        lx->pos++;
    }
}

static void consume_number(css_lexer *lx, css_token *t)
{
    char buf[64];
    size_t n = 0;
    uint64_t mantissa = 0;
    size_t ndigits = 0, nfrac = 0;
    int negative = 0, exponent = 0;
    int c = peek(lx, 0);
    if (c == '+' || c == '-') {
        negative = c == '-';
        buf[n++] = (char)c;
        lx->pos++;
    }
    consume_digits(lx, buf, &n, sizeof buf - 8, &mantissa, &ndigits);
    if (peek(lx, 0) == '.' && is_digit(peek(lx, 1))) {
        if (n < sizeof buf - 8) buf[n++] = '.';
        lx->pos++;
        size_t before = ndigits;
        consume_digits(lx, buf, &n, sizeof buf - 8, &mantissa, &ndigits);
        nfrac = ndigits - before;
    }
    c = peek(lx, 0);
    if ((c == 'e' || c == 'E') &&
        (is_digit(peek(lx, 1)) ||
         ((peek(lx, 1) == '+' || peek(lx, 1) == '-') && is_digit(peek(lx, 2))))) {
        exponent = 1;
        buf[n++] = 'e';
        lx->pos++;
        if (peek(lx, 0) == '+' || peek(lx, 0) == '-') {
            buf[n++] = (char)peek(lx, 0);
            lx->pos++;
        }
        while (is_digit(peek(lx, 0))) {
            if (n < sizeof buf - 1) buf[n++] = (char)peek(lx, 0);
            lx->pos++;
        }
    }
    if (!exponent && ndigits <= EXACT_DIGITS_MAX) {
        double v = (double)mantissa / exact_pow10[nfrac];
        t->number = negative ? -v : v;
        return;
    }
    buf[n] = '\0';
    t->number = strtod(buf, NULL);
}

static void consume_numeric(css_lexer *lx, css_token *t)
{
    consume_number(lx, t);
    if (starts_ident(peek(lx, 0), peek(lx, 1), peek(lx, 2))) {
        t->type = CT_DIMENSION;
        consume_name(lx, t);
    } else if (peek(lx, 0) == '%') {
        lx->pos++;
        t->type = CT_PERCENTAGE;
    } else {
        t->type = CT_NUMBER;
    }
}

static void consume_string(css_lexer *lx, css_token *t, int quote)
{
    t->type = CT_STRING;
    for (;;) {
        int c = peek(lx, 0);
        if (c == EOF_CP) return;
        if (c == quote) {
            lx->pos++;
            return;
        }
        if (is_newline(c)) {
            t->type = CT_BAD_STRING; /* the newline is not consumed */
            return;
        }
        lx->pos++;
        if (c == '\\') {
            int n = peek(lx, 0);
            if (n == EOF_CP) continue;
            if (is_newline(n)) {
                lx->pos += (n == '\r' && peek(lx, 1) == '\n') ? 2 : 1;
                continue;
            }
            uint32_t cp = consume_escape(lx);
            text_put_cp(t, cp);
            url_prefix_put(t, cp);
            continue;
        }
        text_put_byte(t, c);
        url_prefix_put(t, (uint32_t)c);
    }
}

static void consume_bad_url_remnants(css_lexer *lx)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == EOF_CP) return;
        lx->pos++;
        if (c == ')') return;
        if (valid_escape(c, peek(lx, 0))) consume_escape(lx);
    }
}

static void consume_url(css_lexer *lx, css_token *t)
{
    t->type = CT_URL;
    while (is_ws(peek(lx, 0))) lx->pos++;
    for (;;) {
        int c = peek(lx, 0);
        if (c == EOF_CP) return;
        if (c == ')') {
            lx->pos++;
            return;
        }
        if (is_ws(c)) {
            while (is_ws(peek(lx, 0))) lx->pos++;
            if (peek(lx, 0) == ')' || peek(lx, 0) == EOF_CP) {
                if (peek(lx, 0) == ')') lx->pos++;
                return;
            }
            t->type = CT_BAD_URL;
            consume_bad_url_remnants(lx);
            return;
        }
        if (c == '"' || c == '\'' || c == '(' || (c < 0x20 && c != '\t') || c == 0x7F) {
            t->type = CT_BAD_URL;
            consume_bad_url_remnants(lx);
            return;
        }
        lx->pos++;
        if (c == '\\') {
            if (valid_escape(c, peek(lx, 0))) {
                uint32_t cp = consume_escape(lx);
                text_put_cp(t, cp);
                url_prefix_put(t, cp);
                continue;
            }
            t->type = CT_BAD_URL;
            consume_bad_url_remnants(lx);
            return;
        }
        text_put_byte(t, c);
        url_prefix_put(t, (uint32_t)c);
    }
}

static void consume_ident_like(css_lexer *lx, css_token *t)
{
    consume_name(lx, t);
    if (css_token_is(t, "url") && peek(lx, 0) == '(') {
        lx->pos++;
        while (is_ws(peek(lx, 0)) && is_ws(peek(lx, 1))) lx->pos++;
        int c = peek(lx, 0), c2 = peek(lx, 1);
        if (c == '"' || c == '\'' || (is_ws(c) && (c2 == '"' || c2 == '\''))) {
            t->type = CT_FUNCTION;
            return;
        }
        t->text_len = 0;
        t->text[0] = '\0';
        consume_url(lx, t);
        return;
    }
    if (peek(lx, 0) == '(') {
        lx->pos++;
        t->type = CT_FUNCTION;
        return;
    }
    t->type = CT_IDENT;
}

void css_lexer_init(css_lexer *lx, const char *s, size_t len)
{
    lx->s = (const unsigned char *)s;
    lx->len = len;
    lx->pos = 0;
}

int css_token_is(const css_token *t, const char *lower)
{
    size_t n = strlen(lower);
    if (t->text_len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t->text[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != lower[i]) return 0;
    }
    return 1;
}

/* End of the comment whose body starts at i: just past its closing star-slash, or len when the
 * comment is not closed. */
static size_t comment_end(const unsigned char *s, size_t i, size_t len)
{
    while (i < len) {
        const unsigned char *star = memchr(s + i, '*', len - i);
        if (!star) break;
        i = (size_t)(star - s) + 1;
        if (i < len && s[i] == '/') return i + 1;
    }
    return len;
}

/* Skips comments; returns 1 when at least one was skipped. Out of line, as lex_other() is:
 * css_lexer_next() calls it only at a '/'. */
static __attribute__((noinline)) int skip_comments(css_lexer *lx)
{
    int skipped = 0;
    while (peek(lx, 0) == '/' && peek(lx, 1) == '*') {
        lx->pos = comment_end(lx->s, lx->pos + 2, lx->len);
        skipped = 1;
    }
    return skipped;
}

/* Tokens of one punctuation byte, by byte (CT_EOF: not one). */
static const unsigned char punct_token[256] = {
    ['('] = CT_LPAREN, [')'] = CT_RPAREN,   ['['] = CT_LBRACKET, [']'] = CT_RBRACKET,
    ['{'] = CT_LBRACE, ['}'] = CT_RBRACE,   [','] = CT_COMMA,    [':'] = CT_COLON,
    [';'] = CT_SEMICOLON,
};

/* Every token but whitespace, names and punctuation, starting with byte c. Kept out of line:
 * css_lexer_next() runs for every token, and its common paths stay small without these. */
static __attribute__((noinline)) void lex_other(css_lexer *lx, css_token *t, int c)
{
    switch (c) {
    case '"':
    case '\'':
        lx->pos++;
        consume_string(lx, t, c);
        return;
    case '#':
        if (is_name(peek(lx, 1)) || valid_escape(peek(lx, 1), peek(lx, 2))) {
            lx->pos++;
            t->type = CT_HASH;
            t->hash_is_id = starts_ident(peek(lx, 0), peek(lx, 1), peek(lx, 2));
            consume_name(lx, t);
            return;
        }
        break;
    case '+':
    case '.':
        if (starts_number(c, peek(lx, 1), peek(lx, 2))) {
            consume_numeric(lx, t);
            return;
        }
        break;
    case '-':
        if (starts_number(c, peek(lx, 1), peek(lx, 2))) {
            consume_numeric(lx, t);
            return;
        }
        if (peek(lx, 1) == '-' && peek(lx, 2) == '>') {
            lx->pos += 3;
            t->type = CT_CDC;
            return;
        }
        if (starts_ident(c, peek(lx, 1), peek(lx, 2))) {
            consume_ident_like(lx, t);
            return;
        }
        break;
    case '<':
        if (peek(lx, 1) == '!' && peek(lx, 2) == '-' && peek(lx, 3) == '-') {
            lx->pos += 4;
            t->type = CT_CDO;
            return;
        }
        break;
    case '@':
        if (starts_ident(peek(lx, 1), peek(lx, 2), peek(lx, 3))) {
            lx->pos++;
            t->type = CT_AT_KEYWORD;
            consume_name(lx, t);
            return;
        }
        break;
    case '\\':
        if (valid_escape(c, peek(lx, 1))) {
            consume_ident_like(lx, t);
            return;
        }
        break;
    default:
        if (is_digit(c)) {
            consume_numeric(lx, t);
            return;
        }
        if (is_name_start(c)) { /* NUL */
            consume_ident_like(lx, t);
            return;
        }
        break;
    }
    lx->pos++;
    t->type = CT_DELIM;
    t->delim = (uint32_t)c;
}

void css_lexer_next(css_lexer *lx, css_token *t)
{
    t->type = CT_EOF;
    t->text_len = 0;
    t->text[0] = '\0';
    t->url_prefix[0] = '\0';
    t->number = 0;
    t->delim = 0;
    t->hash_is_id = 0;
    t->after_comment = lx->pos < lx->len && lx->s[lx->pos] == '/' && skip_comments(lx);
    t->start = lx->pos;
    if (lx->pos >= lx->len) return;

    int c = lx->s[lx->pos];
    if (byte_class[c] & BC_WS) {
        lx->pos = skip_class(lx->s, lx->pos, lx->len, BC_WS);
        t->type = CT_WHITESPACE;
    } else if (punct_token[c] != CT_EOF) {
        lx->pos++;
        t->type = (css_token_type)punct_token[c];
    } else if (byte_class[c] & BC_NAME_START_PLAIN) {
        consume_ident_like(lx, t);
    } else {
        lex_other(lx, t, c);
    }
}

size_t css_string_decode(const char *tok, size_t n, char *out)
{
    css_lexer lx;
    size_t o = 0;
    css_lexer_init(&lx, tok, n);
    int quote = peek(&lx, 0);
    if (quote != '"' && quote != '\'')
        return 0;
    lx.pos++;
    for (;;) {
        int c = peek(&lx, 0);
        if (c == EOF_CP || c == quote || is_newline(c))
            return o;
        lx.pos++;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        int e = peek(&lx, 0);
        if (e == EOF_CP)
            continue;
        if (is_newline(e)) {
            lx.pos += (e == '\r' && peek(&lx, 1) == '\n') ? 2 : 1;
            continue;
        }
        o += utf8_put(out + o, consume_escape(&lx));
    }
}
