/* sanitizer (private): push-style HTML5 tokenizer. Follows the WHATWG tokenization states one
 * by one and can suspend at any byte: only the token being built and a few bytes of lookahead
 * are kept between feeds, so the tokens do not depend on how the input was split (text may be
 * delivered in differently sized pieces; consumers treat adjacent character tokens as one).
 * With tree_sim on, it also does the small part of tree construction that switches text states
 * (title/textarea, style/xmp/iframe/noembed/noframes/noscript, script, plaintext) and tracks
 * SVG/MathML foreign content (CDATA sections, self-closing tags, HTML breakout elements).
 * Input is bytes (UTF-8 expected); invalid sequences pass through unchanged. */
#ifndef AG_SANITIZER_TOKENIZER_H
#define AG_SANITIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { TOK_CHARS, TOK_START_TAG, TOK_END_TAG, TOK_COMMENT, TOK_DOCTYPE } tok_type;

/* Namespace of the element a tag opens or closes (tree_sim only; HTML otherwise). */
typedef enum { NS_HTML = 0, NS_SVG = 1, NS_MATHML = 2 } tok_ns;

/* Text state a tokenizer starts in (tests) and the state a start tag switched to. */
typedef enum {
    TS_DATA, TS_RCDATA, TS_RAWTEXT, TS_SCRIPT, TS_PLAINTEXT, TS_CDATA
} tokenizer_text_state;

typedef struct tok_attr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} tok_attr;

typedef struct html_token {
    tok_type type;
    /* TOK_CHARS: data; TOK_COMMENT: data; tags: name (lower-case); DOCTYPE: name. */
    const char *name;
    size_t name_len;
    const char *data;
    size_t data_len;
    const tok_attr *attrs;
    size_t nattrs;
    bool self_closing;
    bool truncated;  /* the token was larger than the memory bound: content cut short */
    bool cdata;      /* TOK_CHARS from a CDATA section */
    tok_ns ns;
    /* Text state the tokenizer enters after this start tag (tree_sim). */
    tokenizer_text_state next_state;
    /* DOCTYPE */
    bool has_name, has_public_id, has_system_id, force_quirks;
    const char *public_id, *system_id;
    size_t public_id_len, system_id_len;
} html_token;

/* Returns 0 to continue, nonzero to stop: tokenizer_feed/finish then return that value. */
typedef int (*tokenizer_cb)(void *ctx, const html_token *tok);

typedef struct tokenizer_options {
    size_t max_token_bytes; /* bound on one token's stored content; 0 = 256 KiB */
    bool tree_sim;          /* switch text states and track foreign content like a browser */
} tokenizer_options;

/* The tree simulation: the SVG/MathML elements open (HTML elements are not tracked, except
 * whether a raw-text element is open). The tokenizer keeps one for its input; the filter keeps
 * another for what it has written, so that both can be compared. */
enum { IP_NONE, IP_HTML, IP_MATHML_TEXT, IP_ANNOTATION_XML }; /* integration point kinds */

#define FOREIGN_MAX 256

typedef struct foreign_node {
    uint8_t ns, ip, name_len; /* name_len 0xff: the name was too long to keep */
    char name[29];
} foreign_node;

typedef struct tree_sim {
    foreign_node stack[FOREIGN_MAX];
    size_t depth, depth_overflow;
    bool in_text_element;
    /* nodes on the stack per bucket of (name length + first byte): most end tags name nothing
     * on the stack, and this answers so without walking it */
    uint16_t name_buckets[32];
} tree_sim;

/* How the tree builder treats the next start tag in a simulated tree: as HTML (no foreign
 * element open, or an HTML integration point), or by the rules of the element at the top. */
typedef enum {
    CTX_HTML, CTX_SVG, CTX_MATHML, CTX_MATHML_TEXT, CTX_ANNOTATION_XML,
    CTX_SVG_DEEP, CTX_MATHML_DEEP /* nested beyond FOREIGN_MAX */
} tree_context;

/* Set tok->ns and tok->next_state for a start tag, and update the stack. */
void tree_sim_start_tag(tree_sim *ts, html_token *tok);
/* Set tok->ns for an end tag, and update the stack. */
void tree_sim_end_tag(tree_sim *ts, html_token *tok);
static inline tree_context tree_sim_context(const tree_sim *ts)
{
    if (ts->depth == 0)
        return CTX_HTML;
    const foreign_node *top = &ts->stack[ts->depth - 1];
    if (ts->depth_overflow > 0)
        return top->ns == NS_SVG ? CTX_SVG_DEEP : CTX_MATHML_DEEP;
    switch (top->ip) {
    case IP_HTML: return CTX_HTML;
    case IP_MATHML_TEXT: return CTX_MATHML_TEXT;
    case IP_ANNOTATION_XML: return CTX_ANNOTATION_XML;
    default: return top->ns == NS_SVG ? CTX_SVG : CTX_MATHML;
    }
}

typedef struct tokenizer tokenizer;

tokenizer *tokenizer_new(const tokenizer_options *opt, tokenizer_cb cb, void *ctx);
void tokenizer_free(tokenizer *t);
/* Test hook: start in a given state, with a given "last start tag" (may be NULL). */
void tokenizer_set_state(tokenizer *t, tokenizer_text_state st, const char *last_start_tag);
int tokenizer_feed(tokenizer *t, const char *data, size_t len);
int tokenizer_finish(tokenizer *t);
/* The tokenizer's tree simulation, as it stands after the last token delivered. */
const tree_sim *tokenizer_tree_sim(const tokenizer *t);
/* Bytes of memory currently held (token buffers, stacks) and the peak so far. */
size_t tokenizer_memory_peak(const tokenizer *t);
/* Tokens that exceeded the bound (content truncated). */
uint64_t tokenizer_oversize_count(const tokenizer *t);

#endif
