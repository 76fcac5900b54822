/* sanitizer (private): CSS Syntax Level 3 tokenizer used by css.c. It works on UTF-8 bytes,
 * decodes escapes into token text, skips comments (remembering that one was skipped, so a name
 * split by a comment can still be recognised) and computes, for strings and url() tokens, the
 * scheme-relevant prefix a URL parser would see (controls and tab/newline removed). */
#ifndef AG_SANITIZER_CSS_LEXER_H
#define AG_SANITIZER_CSS_LEXER_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CT_EOF,
    CT_IDENT,
    CT_FUNCTION,
    CT_AT_KEYWORD,
    CT_HASH,
    CT_STRING,
    CT_BAD_STRING,
    CT_URL,
    CT_BAD_URL,
    CT_DELIM,
    CT_NUMBER,
    CT_PERCENTAGE,
    CT_DIMENSION,
    CT_WHITESPACE,
    CT_CDO,
    CT_CDC,
    CT_COLON,
    CT_SEMICOLON,
    CT_COMMA,
    CT_LBRACKET,
    CT_RBRACKET,
    CT_LPAREN,
    CT_RPAREN,
    CT_LBRACE,
    CT_RBRACE
} css_token_type;

#define CSS_TOKEN_TEXT_MAX 128
#define CSS_URL_PREFIX_MAX 16

typedef struct css_token {
    css_token_type type;
    char text[CSS_TOKEN_TEXT_MAX]; /* decoded name / string / unit (truncated, NUL-terminated) */
    size_t text_len;
    /* For CT_STRING and CT_URL: lower-cased start of the value without leading C0/space and
     * without tab/CR/LF anywhere, as a URL parser reads a scheme. */
    char url_prefix[CSS_URL_PREFIX_MAX + 1];
    double number;        /* CT_NUMBER, CT_PERCENTAGE, CT_DIMENSION */
    uint32_t delim;       /* CT_DELIM: the code point */
    int hash_is_id;       /* CT_HASH: "id" type flag */
    int after_comment;    /* a comment directly preceded this token (no whitespace between) */
    size_t start;         /* offset of the token in the source (after comments); the lexer's
                           * position after css_lexer_next() is its end */
} css_token;

typedef struct css_lexer {
    const unsigned char *s;
    size_t len, pos;
} css_lexer;

void css_lexer_init(css_lexer *lx, const char *s, size_t len);
/* Fills *t with the next token; CT_EOF at the end (and forever after). */
void css_lexer_next(css_lexer *lx, css_token *t);
/* The whole text of a string token, tok[0, n) being its source from the opening quote (as
 * start..end of a CT_STRING or CT_BAD_STRING token gives it), escapes decoded, into out (at
 * least 4 * n bytes: an escape of two or more bytes decodes to at most four). Returns the
 * length; the token's text field keeps only its first CSS_TOKEN_TEXT_MAX bytes. */
size_t css_string_decode(const char *tok, size_t n, char *out);
/* ASCII case-insensitive comparison of token text with a lower-case literal. */
int css_token_is(const css_token *t, const char *lower);

#endif
