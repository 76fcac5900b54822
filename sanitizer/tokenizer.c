/* sanitizer: the HTML5 tokenizer (WHATWG "tokenization", state by state) as a push state
 * machine. Every state consumes input one byte or one run at a time and can stop at any byte:
 * between feeds only the token under construction (bounded arena), a temporary buffer for end
 * tag names, a few bytes of keyword lookahead and the character-reference prefix survive.
 * Text runs are found with a table-driven scan and handed out as slices of the input, so plain
 * text costs no copy. Parse errors are not reported: the sanitizer only needs the tokens. */
#include "sanitizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sanitizer/entities.h"
#include "sanitizer/unicode_text.h"

enum state {
    S_DATA, S_RCDATA, S_RAWTEXT, S_SCRIPT, S_PLAINTEXT,
    S_TAG_OPEN, S_END_TAG_OPEN, S_TAG_NAME,
    S_RCDATA_LT, S_RCDATA_END_OPEN, S_RCDATA_END_NAME,
    S_RAWTEXT_LT, S_RAWTEXT_END_OPEN, S_RAWTEXT_END_NAME,
    S_SCRIPT_LT, S_SCRIPT_END_OPEN, S_SCRIPT_END_NAME,
    S_SCRIPT_ESC_START, S_SCRIPT_ESC_START_DASH,
    S_SCRIPT_ESC, S_SCRIPT_ESC_DASH, S_SCRIPT_ESC_DASH_DASH,
    S_SCRIPT_ESC_LT, S_SCRIPT_ESC_END_OPEN, S_SCRIPT_ESC_END_NAME,
    S_SCRIPT_DESC_START, S_SCRIPT_DESC, S_SCRIPT_DESC_DASH, S_SCRIPT_DESC_DASH_DASH,
    S_SCRIPT_DESC_LT, S_SCRIPT_DESC_END,
    S_BEFORE_ATTR_NAME, S_ATTR_NAME, S_AFTER_ATTR_NAME, S_BEFORE_ATTR_VALUE,
    S_ATTR_VALUE_DQ, S_ATTR_VALUE_SQ, S_ATTR_VALUE_UNQ, S_AFTER_ATTR_VALUE_QUOTED,
    S_SELF_CLOSING, S_BOGUS_COMMENT, S_MARKUP_DECL,
    S_COMMENT_START, S_COMMENT_START_DASH, S_COMMENT, S_COMMENT_LT, S_COMMENT_LT_BANG,
    S_COMMENT_LT_BANG_DASH, S_COMMENT_LT_BANG_DASH_DASH, S_COMMENT_END_DASH, S_COMMENT_END,
    S_COMMENT_END_BANG,
    S_DOCTYPE, S_BEFORE_DOCTYPE_NAME, S_DOCTYPE_NAME, S_AFTER_DOCTYPE_NAME, S_DOCTYPE_KEYWORD,
    S_AFTER_DOCTYPE_PUBLIC_KW, S_BEFORE_DOCTYPE_PUBLIC_ID, S_DOCTYPE_PUBLIC_ID_DQ,
    S_DOCTYPE_PUBLIC_ID_SQ, S_AFTER_DOCTYPE_PUBLIC_ID, S_BETWEEN_DOCTYPE_IDS,
    S_AFTER_DOCTYPE_SYSTEM_KW, S_BEFORE_DOCTYPE_SYSTEM_ID, S_DOCTYPE_SYSTEM_ID_DQ,
    S_DOCTYPE_SYSTEM_ID_SQ, S_AFTER_DOCTYPE_SYSTEM_ID, S_BOGUS_DOCTYPE,
    S_CDATA, S_CDATA_BRACKET, S_CDATA_END,
    S_CHAR_REF, S_NAMED_REF, S_NUMERIC_REF, S_HEX_REF_START, S_DEC_REF_START, S_HEX_REF,
    S_DEC_REF
};

/* Byte classes. */
/* Byte classes. The *_END classes are the bytes that end a tag name, an attribute name and an
 * unquoted attribute value: one table load a byte instead of four compares. */
enum {
    C_WS = 1,
    C_ALPHA = 2,
    C_UPPER = 4,
    C_DIGIT = 8,
    C_HEX = 16,
    C_TAG_NAME_END = 32,
    C_ATTR_NAME_END = 64,
    C_UNQUOTED_END = 128
};

#define TMP_MAX 64
#define PREPROCESS_CHUNK 16384

typedef struct attr_span {
    uint32_t name_off, name_len, value_off, value_len;
} attr_span;

struct tokenizer {
    tokenizer_cb cb;
    void *ctx;
    size_t max_token;
    bool tree_sim;
    int stop;

    enum state state, return_state;

    /* token under construction: all its strings live in one arena, appended in order */
    tok_type ttype;
    bool self_closing, truncated;
    char *buf;
    size_t len, cap;
    attr_span *spans;
    tok_attr *attrs;
    size_t nattrs, attrs_cap;
    bool in_attr, attr_has_value;
    attr_span cur;
    size_t name_len; /* tag / DOCTYPE name length (starts at offset 0) */
    bool has_name, has_pub, has_sys, force_quirks;
    size_t pub_off, pub_len, sys_off, sys_len;

    /* end tag names in raw text, "script" in double-escaping */
    char tmp[TMP_MAX];
    size_t tmp_len;
    char last_start[TMP_MAX];
    size_t last_start_len;

    /* keyword lookahead: "--", "DOCTYPE", "[CDATA[", "PUBLIC", "SYSTEM" */
    char la[8];
    size_t la_len;

    /* character references */
    char ref[40];
    size_t ref_len;
    size_t ent_lo, ent_hi;
    size_t match_idx, match_len; /* match_len 0: no complete name seen */
    uint32_t code;
    bool code_overflow;
    char ref_x;

    bool skip_lf;
    char *scratch;

    tree_sim sim;
    html_token tag_tok, chars_tok; /* reused for every tag / character token */

    size_t peak;
    uint64_t oversize;
};

static uint8_t byte_class[256];
static char lower_byte[256]; /* ASCII lower-casing, other bytes as they are */
static bool classes_ready;

static void classes_init(void)
{
    if (classes_ready)
        return;
    for (int c = 0; c < 256; c++) {
        uint8_t k = 0;
        if (c == '\t' || c == '\n' || c == '\f' || c == ' ')
            k |= C_WS;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            k |= C_ALPHA;
        if (c >= 'A' && c <= 'Z')
            k |= C_UPPER;
        if (c >= '0' && c <= '9')
            k |= C_DIGIT | C_HEX;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            k |= C_HEX;
        if ((k & C_WS) || c == '/' || c == '>' || c == '\0')
            k |= C_TAG_NAME_END;
        if ((k & C_WS) || c == '/' || c == '>' || c == '=' || c == '\0')
            k |= C_ATTR_NAME_END;
        if ((k & C_WS) || c == '&' || c == '>' || c == '\0')
            k |= C_UNQUOTED_END;
        byte_class[c] = k;
        lower_byte[c] = (char)((k & C_UPPER) ? c + 32 : c);
    }
    classes_ready = true;
}

#define IS_WS(c) (byte_class[(unsigned char)(c)] & C_WS)
#define IS_ALPHA(c) (byte_class[(unsigned char)(c)] & C_ALPHA)
#define IS_UPPER(c) (byte_class[(unsigned char)(c)] & C_UPPER)
#define IS_DIGIT(c) (byte_class[(unsigned char)(c)] & C_DIGIT)
#define IS_HEX(c) (byte_class[(unsigned char)(c)] & C_HEX)
#define IS_ALNUM(c) (byte_class[(unsigned char)(c)] & (C_ALPHA | C_DIGIT))
#define IS_CLASS(c, k) (byte_class[(unsigned char)(c)] & (k))
#define LOWER(c) ((char)(IS_UPPER(c) ? (c) + 32 : (c)))

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* First byte in [p, end) equal to a, b or c (end if none). The text states spend nearly all
 * their time here, so it compares 16 bytes at a time where SSE2 is available (all x86-64). */
static inline const char *scan3(const char *p, const char *end, char a, char b, char c)
{
#ifdef __SSE2__
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                 _mm_cmpeq_epi8(x, vc));
        int bits = _mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (p < end && *p != a && *p != b && *p != c)
        p++;
    return p;
}

/* ---- memory ---------------------------------------------------------------------------- */

static void note_memory(tokenizer *t)
{
    size_t m = sizeof *t + t->cap + t->attrs_cap * (sizeof(attr_span) + sizeof(tok_attr)) +
               (t->scratch ? PREPROCESS_CHUNK : 0);
    if (m > t->peak)
        t->peak = m;
}

static void put(tokenizer *t, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (t->len + n > t->max_token) {
        if (!t->truncated)
            t->oversize++;
        t->truncated = true;
        n = t->max_token - t->len;
        if (n == 0)
            return;
    }
    if (t->len + n > t->cap) {
        size_t nc = t->cap ? t->cap : 256;
        while (nc < t->len + n)
            nc *= 2;
        if (nc > t->max_token)
            nc = t->max_token;
        char *nb = realloc(t->buf, nc);
        if (!nb) {
            t->truncated = true;
            return;
        }
        t->buf = nb;
        t->cap = nc;
        note_memory(t);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static inline void put1(tokenizer *t, char c)
{
    if (t->len < t->cap)
        t->buf[t->len++] = c;
    else
        put(t, &c, 1);
}

static void put_lower_slow(tokenizer *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put1(t, LOWER(s[i]));
}

/* Names are lower-cased as they are stored; when they fit, the room is checked once, not per
 * byte (every tag and attribute name passes here). */
static inline void put_lower(tokenizer *t, const char *s, size_t n)
{
    if (n > t->cap - t->len) {
        put_lower_slow(t, s, n);
        return;
    }
    char *d = t->buf + t->len;
    for (size_t i = 0; i < n; i++)
        d[i] = lower_byte[(unsigned char)s[i]];
    t->len += n;
}

/* ---- token emission -------------------------------------------------------------------- */

static void token_reset(tokenizer *t, tok_type type)
{
    t->ttype = type;
    t->len = 0;
    t->nattrs = 0;
    t->in_attr = false;
    t->self_closing = false;
    t->truncated = false;
    t->name_len = 0;
    t->has_name = t->has_pub = t->has_sys = t->force_quirks = false;
    t->pub_off = t->pub_len = t->sys_off = t->sys_len = 0;
}

/* Character tokens reuse t->chars_tok (zeroed at creation, type set there): only the data
 * changes from one to the next. */
static void emit_chars(tokenizer *t, const char *p, size_t n)
{
    if (n == 0 || t->stop)
        return;
    t->chars_tok.data = p;
    t->chars_tok.data_len = n;
    t->chars_tok.cdata = false;
    t->stop = t->cb(t->ctx, &t->chars_tok);
}

static void emit_cdata_chars(tokenizer *t, const char *p, size_t n)
{
    if (n == 0 || t->stop)
        return;
    t->chars_tok.data = p;
    t->chars_tok.data_len = n;
    t->chars_tok.cdata = true;
    t->stop = t->cb(t->ctx, &t->chars_tok);
}

/* The arena, or "" before anything was stored (no pointer arithmetic on NULL). */
static const char *arena(const tokenizer *t)
{
    return t->buf ? t->buf : "";
}

static void emit_comment(tokenizer *t)
{
    html_token tok = {.type = TOK_COMMENT, .data = arena(t), .data_len = t->len,
                      .truncated = t->truncated};
    if (!t->stop)
        t->stop = t->cb(t->ctx, &tok);
}

static void emit_doctype(tokenizer *t)
{
    html_token tok = {.type = TOK_DOCTYPE, .truncated = t->truncated};
    tok.has_name = t->has_name;
    tok.name = arena(t);
    tok.name_len = t->name_len;
    tok.has_public_id = t->has_pub;
    tok.public_id = arena(t) + t->pub_off;
    tok.public_id_len = t->pub_len;
    tok.has_system_id = t->has_sys;
    tok.system_id = arena(t) + t->sys_off;
    tok.system_id_len = t->sys_len;
    tok.force_quirks = t->force_quirks;
    if (!t->stop)
        t->stop = t->cb(t->ctx, &tok);
}

/* Attributes: the name is complete when the value starts or the attribute ends; a duplicate
 * is dropped (its bytes are removed from the arena). */
/* Names are short: a byte loop beats a call to memcmp. */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static void attr_finish(tokenizer *t)
{
    if (!t->in_attr)
        return;
    t->in_attr = false;
    attr_span a = t->cur;
    if (!t->attr_has_value) {
        a.name_len = (uint32_t)(t->len - a.name_off);
        a.value_off = (uint32_t)t->len;
        a.value_len = 0;
    } else {
        a.value_len = (uint32_t)(t->len - a.value_off);
    }
    for (size_t i = 0; i < t->nattrs; i++) {
        attr_span *o = &t->spans[i];
        if (o->name_len == a.name_len &&
            bytes_eq(t->buf + o->name_off, t->buf + a.name_off, a.name_len)) {
            t->len = a.name_off;
            return;
        }
    }
    if (t->nattrs == t->attrs_cap) {
        size_t nc = t->attrs_cap ? t->attrs_cap * 2 : 16;
        size_t bound = t->max_token / 16 + 16;
        if (nc > bound)
            nc = bound;
        if (t->nattrs == nc) {
            if (!t->truncated)
                t->oversize++;
            t->truncated = true;
            t->len = a.name_off;
            return;
        }
        attr_span *ns = realloc(t->spans, nc * sizeof *ns);
        if (!ns) {
            t->truncated = true;
            return;
        }
        t->spans = ns;
        tok_attr *na = realloc(t->attrs, nc * sizeof *na);
        if (!na) {
            t->truncated = true;
            return;
        }
        t->attrs = na;
        t->attrs_cap = nc;
        note_memory(t);
    }
    t->spans[t->nattrs++] = a;
}

static void attr_start(tokenizer *t)
{
    attr_finish(t);
    t->in_attr = true;
    t->attr_has_value = false;
    t->cur.name_off = (uint32_t)t->len;
}

static void attr_value_start(tokenizer *t)
{
    t->cur.name_len = (uint32_t)(t->len - t->cur.name_off);
    t->cur.value_off = (uint32_t)t->len;
    t->attr_has_value = true;
}

static inline __attribute__((always_inline)) bool name_is(const char *n, size_t len,
                                                           const char *lit)
{
    size_t l = strlen(lit);
    return len == l && memcmp(n, lit, l) == 0;
}

static const tok_attr *find_attr(const html_token *tok, const char *name)
{
    for (size_t i = 0; i < tok->nattrs; i++)
        if (name_is(tok->attrs[i].name, tok->attrs[i].name_len, name))
            return &tok->attrs[i];
    return NULL;
}

static bool value_is_ci(const tok_attr *a, const char *lit)
{
    size_t l = strlen(lit);
    if (a->value_len != l)
        return false;
    for (size_t i = 0; i < l; i++)
        if (LOWER(a->value[i]) != lit[i])
            return false;
    return true;
}

/* ---- tree simulation ------------------------------------------------------------------- */

static bool in_list(const char *name, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (name_is(name, len, *list))
            return true;
    return false;
}

/* Start tags that make the parser leave foreign content ("breakout" elements). */
static bool is_breakout(const html_token *tok)
{
    /* the names by length, concatenated: a tag is compared only with names of its length */
    static const char *const by_len[11] = {
        NULL, "bipsu", "brdddldtemh1h2h3h4h5h6hrliolttul", "bigdivimgpresubsupvar",
        "bodycodeheadmenumetanobrrubyspan", "embedsmalltable", "centerstrikestrong", "listing",
        NULL, NULL, "blockquote"};
    size_t len = tok->name_len;
    if (len < 11 && by_len[len]) {
        for (const char *c = by_len[len]; *c; c += len) {
            size_t i = 0;
            while (i < len && c[i] == tok->name[i])
                i++;
            if (i == len)
                return true;
        }
    }
    if (name_is(tok->name, tok->name_len, "font"))
        return find_attr(tok, "color") || find_attr(tok, "face") || find_attr(tok, "size");
    return false;
}

static inline unsigned name_bucket(const char *name, size_t len)
{
    return (unsigned)(len + (unsigned char)name[0]) & 31;
}

/* Pops the nodes above depth d. */
static void foreign_pop_to(tree_sim *t, size_t d)
{
    for (size_t i = d; i < t->depth; i++) {
        const foreign_node *n = &t->stack[i];
        if (n->name_len != 0xff && n->name_len > 0)
            t->name_buckets[name_bucket(n->name, n->name_len)]--;
    }
    t->depth = d;
}

static void foreign_push(tree_sim *t, const html_token *tok, tok_ns ns)
{
    if (t->depth == FOREIGN_MAX) {
        t->depth_overflow++;
        return;
    }
    foreign_node *n = &t->stack[t->depth++];
    n->ns = (uint8_t)ns;
    n->ip = IP_NONE;
    n->name_len = (uint8_t)(tok->name_len < sizeof n->name ? tok->name_len : 0xff);
    memcpy(n->name, tok->name, tok->name_len < sizeof n->name ? tok->name_len : 0);
    if (n->name_len != 0xff && n->name_len > 0)
        t->name_buckets[name_bucket(n->name, n->name_len)]++;
    if (ns == NS_SVG) {
        static const char *const ip[] = {"foreignobject", "desc", "title", NULL};
        if (in_list(tok->name, tok->name_len, ip))
            n->ip = IP_HTML;
    } else {
        static const char *const text_ip[] = {"mi", "mo", "mn", "ms", "mtext", NULL};
        if (in_list(tok->name, tok->name_len, text_ip)) {
            n->ip = IP_MATHML_TEXT;
        } else if (name_is(tok->name, tok->name_len, "annotation-xml")) {
            const tok_attr *enc = find_attr(tok, "encoding");
            n->ip = (enc && (value_is_ci(enc, "text/html") ||
                             value_is_ci(enc, "application/xhtml+xml")))
                        ? IP_HTML : IP_ANNOTATION_XML;
        }
    }
}

static void foreign_pop_to_html(tree_sim *t)
{
    t->depth_overflow = 0;
    size_t d = t->depth;
    while (d > 0) {
        uint8_t ip = t->stack[d - 1].ip;
        if (ip == IP_HTML || ip == IP_MATHML_TEXT)
            break;
        d--;
    }
    foreign_pop_to(t, d);
}

static tokenizer_text_state html_text_state(const char *name, size_t len)
{
    switch (len) {
    case 3:
        return name_is(name, len, "xmp") ? TS_RAWTEXT : TS_DATA;
    case 5:
        return name_is(name, len, "title") ? TS_RCDATA
               : name_is(name, len, "style") ? TS_RAWTEXT : TS_DATA;
    case 6:
        return name_is(name, len, "iframe") ? TS_RAWTEXT
               : name_is(name, len, "script") ? TS_SCRIPT : TS_DATA;
    case 7:
        return name_is(name, len, "noembed") ? TS_RAWTEXT : TS_DATA;
    case 8:
        return name_is(name, len, "textarea") ? TS_RCDATA
               : (name_is(name, len, "noframes") || name_is(name, len, "noscript")) ? TS_RAWTEXT
                                                                                     : TS_DATA;
    case 9:
        return name_is(name, len, "plaintext") ? TS_PLAINTEXT : TS_DATA;
    default:
        return TS_DATA;
    }
}

void tree_sim_start_tag(tree_sim *t, html_token *tok)
{
    tok->ns = NS_HTML;
    tok->next_state = TS_DATA;
    bool html_rules = true;
    if (t->depth > 0 && t->depth_overflow == 0) {
        const foreign_node *top = &t->stack[t->depth - 1];
        switch (top->ip) {
        case IP_HTML:
            break;
        case IP_MATHML_TEXT:
            html_rules = !name_is(tok->name, tok->name_len, "mglyph") &&
                         !name_is(tok->name, tok->name_len, "malignmark");
            break;
        case IP_ANNOTATION_XML:
            html_rules = name_is(tok->name, tok->name_len, "svg");
            break;
        default:
            html_rules = false;
        }
        if (!html_rules && is_breakout(tok)) {
            foreign_pop_to_html(t);
            html_rules = true;
        }
        if (!html_rules) {
            tok->ns = (tok_ns)top->ns;
            if (!tok->self_closing)
                foreign_push(t, tok, tok->ns);
            return;
        }
    } else if (t->depth_overflow > 0) {
        if (is_breakout(tok)) {
            foreign_pop_to_html(t);
        } else {
            tok->ns = (tok_ns)t->stack[t->depth - 1].ns;
            if (!tok->self_closing)
                t->depth_overflow++;
            return;
        }
    }
    if (name_is(tok->name, tok->name_len, "svg") || name_is(tok->name, tok->name_len, "math")) {
        tok->ns = tok->name[0] == 's' ? NS_SVG : NS_MATHML;
        if (!tok->self_closing)
            foreign_push(t, tok, tok->ns);
        return;
    }
    tok->next_state = html_text_state(tok->name, tok->name_len);
    t->in_text_element = tok->next_state != TS_DATA;
}

void tree_sim_end_tag(tree_sim *t, html_token *tok)
{
    tok->ns = NS_HTML;
    if (t->in_text_element) {
        t->in_text_element = false;
        return;
    }
    if (t->depth == 0)
        return;
    if (t->depth_overflow > 0) {
        tok->ns = (tok_ns)t->stack[t->depth - 1].ns;
        t->depth_overflow--;
        return;
    }
    if (name_is(tok->name, tok->name_len, "br") || name_is(tok->name, tok->name_len, "p")) {
        if (t->stack[t->depth - 1].ip == IP_NONE || t->stack[t->depth - 1].ip == IP_ANNOTATION_XML)
            foreign_pop_to_html(t);
        return;
    }
    if (tok->name_len == 0 || tok->name_len >= sizeof t->stack[0].name ||
        t->name_buckets[name_bucket(tok->name, tok->name_len)] == 0)
        return; /* no open foreign element has this name */
    for (size_t i = t->depth; i-- > 0;) {
        const foreign_node *n = &t->stack[i];
        if (n->name_len == tok->name_len && bytes_eq(n->name, tok->name, n->name_len)) {
            tok->ns = (tok_ns)n->ns;
            foreign_pop_to(t, i);
            return;
        }
    }
}

const tree_sim *tokenizer_tree_sim(const tokenizer *t)
{
    return &t->sim;
}

static enum state state_for(tokenizer_text_state ts)
{
    switch (ts) {
    case TS_RCDATA: return S_RCDATA;
    case TS_RAWTEXT: return S_RAWTEXT;
    case TS_SCRIPT: return S_SCRIPT;
    case TS_PLAINTEXT: return S_PLAINTEXT;
    case TS_CDATA: return S_CDATA;
    default: return S_DATA;
    }
}

static void emit_tag(tokenizer *t)
{
    attr_finish(t);
    /* t->tag_tok was zeroed at creation (the fields a tag leaves empty stay so); every field a
     * tag uses is set here, which is cheaper than building a fresh token per tag */
    html_token *tok = &t->tag_tok;
    tok->type = t->ttype;
    tok->name = arena(t);
    tok->name_len = t->name_len;
    tok->self_closing = t->self_closing;
    tok->truncated = t->truncated;
    tok->attrs = NULL;
    tok->nattrs = 0;
    tok->ns = NS_HTML;
    tok->next_state = TS_DATA;
    if (t->ttype == TOK_START_TAG) {
        for (size_t i = 0; i < t->nattrs; i++) {
            const attr_span *s = &t->spans[i];
            t->attrs[i] = (tok_attr){t->buf + s->name_off, s->name_len,
                                     t->buf + s->value_off, s->value_len};
        }
        tok->attrs = t->attrs;
        tok->nattrs = t->nattrs;
        if (t->tree_sim)
            tree_sim_start_tag(&t->sim, tok);
        /* only a tag that starts raw text has an end tag to recognise (no start tag can be
         * emitted until that text ends) */
        if (tok->next_state != TS_DATA) {
            size_t n = t->name_len < TMP_MAX ? t->name_len : 0;
            memcpy(t->last_start, t->buf, n);
            t->last_start_len = n;
        }
    } else if (t->tree_sim) {
        tree_sim_end_tag(&t->sim, tok);
    }
    t->state = state_for(tok->next_state);
    if (!t->stop)
        t->stop = t->cb(t->ctx, tok);
}

/* The tag name is being written at the start of the arena: record its length as it grows. */
static inline void tag_name_append(tokenizer *t, const char *s, size_t n)
{
    put_lower(t, s, n);
    t->name_len = t->len;
}

/* ---- character references -------------------------------------------------------------- */

static bool return_in_attr(const tokenizer *t)
{
    return t->return_state == S_ATTR_VALUE_DQ || t->return_state == S_ATTR_VALUE_SQ ||
           t->return_state == S_ATTR_VALUE_UNQ;
}

static void ref_flush(tokenizer *t, const char *s, size_t n)
{
    if (return_in_attr(t))
        put(t, s, n);
    else
        emit_chars(t, s, n);
}

static void numeric_ref_end(tokenizer *t)
{
    static const uint16_t c1[32] = {
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178};
    uint32_t cp = t->code;
    if (t->code_overflow || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    else if (cp >= 0x80 && cp <= 0x9F)
        cp = c1[cp - 0x80];
    char out[4];
    ref_flush(t, out, utf8_encode(cp, out));
    t->state = t->return_state;
}

/* Narrows [ent_lo, ent_hi) to the names whose byte at position k is c. */
static void entity_narrow(tokenizer *t, size_t k, unsigned char c)
{
    size_t lo = t->ent_lo, hi = t->ent_hi;
    if (k == 0 && lo == 0 && hi == html_entities_count) {
        t->ent_lo = html_entities_first[c];
        t->ent_hi = html_entities_first[c + 1];
        return;
    }
    /* first entry with name[k] >= c (a name of length k sorts as byte 0) */
    size_t a = lo, b = hi;
    while (a < b) {
        size_t m = (a + b) / 2;
        const html_entity *e = &html_entities[m];
        unsigned char ek = e->name_len > k ? (unsigned char)e->name[k] : 0;
        if (ek < c)
            a = m + 1;
        else
            b = m;
    }
    size_t first = a;
    b = hi;
    while (a < b) {
        size_t m = (a + b) / 2;
        const html_entity *e = &html_entities[m];
        unsigned char ek = e->name_len > k ? (unsigned char)e->name[k] : 0;
        if (ek <= c)
            a = m + 1;
        else
            b = m;
    }
    t->ent_lo = first;
    t->ent_hi = a;
}

/* Resolves a named reference: next is the first byte after the consumed prefix (-1 at EOF). */
static void named_ref_resolve(tokenizer *t, int next)
{
    size_t n = t->ref_len;
    if (t->match_len == 0) {
        /* no name matched: the '&' and what was consumed are plain text */
        ref_flush(t, "&", 1);
        ref_flush(t, t->ref, n);
        t->state = t->return_state;
        return;
    }
    const html_entity *e = &html_entities[t->match_idx];
    size_t ml = t->match_len;
    int after = ml < n ? (unsigned char)t->ref[ml] : next;
    if (return_in_attr(t) && t->ref[ml - 1] != ';' && after >= 0 &&
        (after == '=' || IS_ALNUM(after))) {
        ref_flush(t, "&", 1);
        ref_flush(t, t->ref, n);
    } else {
        ref_flush(t, e->utf8, e->utf8_len);
        ref_flush(t, t->ref + ml, n - ml);
    }
    t->state = t->return_state;
}

/* Consumes one byte of a named reference; returns true when it was consumed. */
static bool named_ref_step(tokenizer *t, unsigned char c)
{
    size_t k = t->ref_len;
    if (k >= sizeof t->ref) {
        named_ref_resolve(t, c);
        return false;
    }
    size_t lo = t->ent_lo, hi = t->ent_hi;
    entity_narrow(t, k, c);
    if (t->ent_lo == t->ent_hi) {
        t->ent_lo = lo;
        t->ent_hi = hi;
        named_ref_resolve(t, c);
        return false;
    }
    t->ref[t->ref_len++] = (char)c;
    const html_entity *e = &html_entities[t->ent_lo];
    if (e->name_len == t->ref_len) {
        t->match_idx = t->ent_lo;
        t->match_len = t->ref_len;
        if (c == ';')
            named_ref_resolve(t, -1);
    }
    return true;
}

/* ---- raw text end tags ----------------------------------------------------------------- */

static bool appropriate_end_tag(const tokenizer *t)
{
    return t->last_start_len > 0 && t->name_len == t->last_start_len &&
           memcmp(t->buf, t->last_start, t->last_start_len) == 0;
}

static void flush_end_tag_attempt(tokenizer *t, enum state back)
{
    emit_chars(t, "</", 2);
    emit_chars(t, t->tmp, t->tmp_len);
    t->state = back;
}

/* RCDATA / RAWTEXT / script (escaped) end tag name states. Returns bytes consumed (0 or 1). */
static size_t end_tag_name_step(tokenizer *t, char c, enum state back)
{
    if (IS_WS(c) || c == '/' || c == '>') {
        if (appropriate_end_tag(t)) {
            if (c == '>')
                emit_tag(t);
            else
                t->state = IS_WS(c) ? S_BEFORE_ATTR_NAME : S_SELF_CLOSING;
            return 1;
        }
    } else if (IS_ALPHA(c)) {
        if (t->tmp_len == TMP_MAX) {
            flush_end_tag_attempt(t, back);
            return 0;
        }
        t->tmp[t->tmp_len++] = c;
        tag_name_append(t, &c, 1);
        return 1;
    }
    flush_end_tag_attempt(t, back);
    return 0;
}

static bool tmp_is_script(const tokenizer *t)
{
    if (t->tmp_len != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (LOWER(t->tmp[i]) != "script"[i])
            return false;
    return true;
}

/* ---- the state machine ----------------------------------------------------------------- */

/* The tree builder turns U+0000 in foreign content (outside integration points) into U+FFFD. */
static bool nul_is_replaced(const tokenizer *t)
{
    if (!t->tree_sim || t->sim.depth == 0)
        return false;
    uint8_t ip = t->sim.stack[t->sim.depth - 1].ip;
    return ip != IP_HTML && ip != IP_MATHML_TEXT;
}

static bool cdata_allowed(const tokenizer *t)
{
    return t->tree_sim && t->sim.depth > 0;
}

/* Markup declaration open: matches "--", "doctype" (any case) or "[CDATA[" byte by byte. */
static bool markup_decl_step(tokenizer *t, char c)
{
    t->la[t->la_len] = c;
    size_t n = t->la_len + 1;
    if (n <= 2 && bytes_eq(t->la, "--", n)) {
        t->la_len = n;
        if (n == 2) {
            token_reset(t, TOK_COMMENT);
            t->state = S_COMMENT_START;
        }
        return true;
    }
    bool doctype = n <= 7;
    for (size_t i = 0; doctype && i < n; i++)
        doctype = LOWER(t->la[i]) == "doctype"[i];
    if (doctype) {
        t->la_len = n;
        if (n == 7)
            t->state = S_DOCTYPE;
        return true;
    }
    if (n <= 7 && bytes_eq(t->la, "[CDATA[", n)) {
        t->la_len = n;
        if (n == 7) {
            if (cdata_allowed(t)) {
                t->state = S_CDATA;
            } else {
                token_reset(t, TOK_COMMENT);
                put(t, "[CDATA[", 7);
                t->state = S_BOGUS_COMMENT;
            }
        }
        return true;
    }
    token_reset(t, TOK_COMMENT);
    put(t, t->la, t->la_len);
    t->state = S_BOGUS_COMMENT;
    return false;
}

static bool doctype_keyword_step(tokenizer *t, char c)
{
    char l = LOWER(c);
    if (t->la_len == 0 && (l == 'p' || l == 's')) {
        t->la[t->la_len++] = l;
        return true;
    }
    if (t->la_len > 0) {
        const char *kw = t->la[0] == 'p' ? "public" : "system";
        if (l == kw[t->la_len]) {
            t->la[t->la_len++] = l;
            if (t->la_len == 6)
                t->state = kw[0] == 'p' ? S_AFTER_DOCTYPE_PUBLIC_KW : S_AFTER_DOCTYPE_SYSTEM_KW;
            return true;
        }
    }
    t->force_quirks = true;
    t->state = S_BOGUS_DOCTYPE;
    return false;
}

static void doctype_start_public(tokenizer *t, enum state st)
{
    t->has_pub = true;
    t->pub_off = t->len;
    t->pub_len = 0;
    t->state = st;
}

static void doctype_start_system(tokenizer *t, enum state st)
{
    t->has_sys = true;
    t->sys_off = t->len;
    t->sys_len = 0;
    t->state = st;
}

/* Inside run(): the states a tag goes through in the common case (text, '<', name, attributes
 * with quoted values) hand over straight to the next state's code rather than through the
 * loop's dispatch, which would cost more than most of those states' work. Only where nothing
 * was emitted since the loop's own check of t->stop. */
#define GO(label)                                                                                 \
    if (p < end) {                                                                                \
        c = *p;                                                                                   \
        goto label;                                                                               \
    }                                                                                             \
    break

static void run(tokenizer *t, const char *p, const char *end)
{
    while (p < end && !t->stop) {
        char c = *p;
        switch (t->state) {
        case S_DATA: {
            const char *q = scan3(p, end, '<', '&', '\0');
            emit_chars(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            if (*p == '<') {
                t->state = S_TAG_OPEN;
                p++;
                if (t->stop)
                    break;
                GO(tag_open);
            } else if (*p == '&') {
                t->return_state = S_DATA;
                t->state = S_CHAR_REF;
            } else if (nul_is_replaced(t)) {
                emit_chars(t, REPLACEMENT, 3);
            } else {
                emit_chars(t, "\0", 1);
            }
            p++;
            break;
        }
        case S_RCDATA: {
            const char *q = scan3(p, end, '<', '&', '\0');
            emit_chars(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            if (*p == '<') {
                t->state = S_RCDATA_LT;
            } else if (*p == '&') {
                t->return_state = S_RCDATA;
                t->state = S_CHAR_REF;
            } else {
                emit_chars(t, REPLACEMENT, 3);
            }
            p++;
            break;
        }
        case S_RAWTEXT:
        case S_SCRIPT: {
            const char *q = scan3(p, end, '<', '\0', '\0');
            emit_chars(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            if (*p == '<')
                t->state = t->state == S_RAWTEXT ? S_RAWTEXT_LT : S_SCRIPT_LT;
            else
                emit_chars(t, REPLACEMENT, 3);
            p++;
            break;
        }
        case S_PLAINTEXT: {
            const char *q = memchr(p, '\0', (size_t)(end - p));
            if (!q)
                q = end;
            emit_chars(t, p, (size_t)(q - p));
            p = q;
            if (p < end) {
                emit_chars(t, REPLACEMENT, 3);
                p++;
            }
            break;
        }
        case S_TAG_OPEN:
        tag_open:
            if (c == '!') {
                t->la_len = 0;
                t->state = S_MARKUP_DECL;
                p++;
            } else if (c == '/') {
                t->state = S_END_TAG_OPEN;
                p++;
                GO(end_tag_open);
            } else if (IS_ALPHA(c)) {
                token_reset(t, TOK_START_TAG);
                t->state = S_TAG_NAME;
                goto tag_name;
            } else if (c == '?') {
                token_reset(t, TOK_COMMENT);
                t->state = S_BOGUS_COMMENT;
            } else {
                emit_chars(t, "<", 1);
                t->state = S_DATA;
            }
            break;
        case S_END_TAG_OPEN:
        end_tag_open:
            if (IS_ALPHA(c)) {
                token_reset(t, TOK_END_TAG);
                t->state = S_TAG_NAME;
                goto tag_name;
            } else if (c == '>') {
                t->state = S_DATA;
                p++;
            } else {
                token_reset(t, TOK_COMMENT);
                t->state = S_BOGUS_COMMENT;
            }
            break;
        case S_TAG_NAME:
        tag_name: {
            const char *q = p;
            while (q < end && !IS_CLASS(*q, C_TAG_NAME_END))
                q++;
            tag_name_append(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            c = *p++;
            if (IS_WS(c)) {
                t->state = S_BEFORE_ATTR_NAME;
                GO(before_attr_name);
            } else if (c == '/')
                t->state = S_SELF_CLOSING;
            else if (c == '>')
                emit_tag(t);
            else
                tag_name_append(t, REPLACEMENT, 3);
            break;
        }
        case S_RCDATA_LT:
        case S_RAWTEXT_LT: {
            enum state back = t->state == S_RCDATA_LT ? S_RCDATA : S_RAWTEXT;
            if (c == '/') {
                t->tmp_len = 0;
                t->state = back == S_RCDATA ? S_RCDATA_END_OPEN : S_RAWTEXT_END_OPEN;
                p++;
            } else {
                emit_chars(t, "<", 1);
                t->state = back;
            }
            break;
        }
        case S_RCDATA_END_OPEN:
        case S_RAWTEXT_END_OPEN:
        case S_SCRIPT_END_OPEN:
        case S_SCRIPT_ESC_END_OPEN: {
            enum state back = t->state == S_RCDATA_END_OPEN    ? S_RCDATA
                              : t->state == S_RAWTEXT_END_OPEN ? S_RAWTEXT
                              : t->state == S_SCRIPT_END_OPEN  ? S_SCRIPT
                                                               : S_SCRIPT_ESC;
            if (IS_ALPHA(c)) {
                token_reset(t, TOK_END_TAG);
                t->state = back == S_RCDATA    ? S_RCDATA_END_NAME
                           : back == S_RAWTEXT ? S_RAWTEXT_END_NAME
                           : back == S_SCRIPT  ? S_SCRIPT_END_NAME
                                               : S_SCRIPT_ESC_END_NAME;
            } else {
                emit_chars(t, "</", 2);
                t->state = back;
            }
            break;
        }
        case S_RCDATA_END_NAME:
            p += end_tag_name_step(t, c, S_RCDATA);
            break;
        case S_RAWTEXT_END_NAME:
            p += end_tag_name_step(t, c, S_RAWTEXT);
            break;
        case S_SCRIPT_END_NAME:
            p += end_tag_name_step(t, c, S_SCRIPT);
            break;
        case S_SCRIPT_ESC_END_NAME:
            p += end_tag_name_step(t, c, S_SCRIPT_ESC);
            break;
        case S_SCRIPT_LT:
            if (c == '/') {
                t->tmp_len = 0;
                t->state = S_SCRIPT_END_OPEN;
                p++;
            } else if (c == '!') {
                emit_chars(t, "<!", 2);
                t->state = S_SCRIPT_ESC_START;
                p++;
            } else {
                emit_chars(t, "<", 1);
                t->state = S_SCRIPT;
            }
            break;
        case S_SCRIPT_ESC_START:
        case S_SCRIPT_ESC_START_DASH:
            if (c == '-') {
                emit_chars(t, "-", 1);
                t->state = t->state == S_SCRIPT_ESC_START ? S_SCRIPT_ESC_START_DASH
                                                          : S_SCRIPT_ESC_DASH_DASH;
                p++;
            } else {
                t->state = S_SCRIPT;
            }
            break;
        case S_SCRIPT_ESC:
        case S_SCRIPT_DESC: {
            const char *q = scan3(p, end, '-', '<', '\0');
            emit_chars(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            c = *p++;
            bool dbl = t->state == S_SCRIPT_DESC;
            if (c == '-') {
                emit_chars(t, "-", 1);
                t->state = dbl ? S_SCRIPT_DESC_DASH : S_SCRIPT_ESC_DASH;
            } else if (c == '<') {
                if (dbl)
                    emit_chars(t, "<", 1);
                t->state = dbl ? S_SCRIPT_DESC_LT : S_SCRIPT_ESC_LT;
            } else {
                emit_chars(t, REPLACEMENT, 3);
            }
            break;
        }
        case S_SCRIPT_ESC_DASH:
        case S_SCRIPT_ESC_DASH_DASH:
        case S_SCRIPT_DESC_DASH:
        case S_SCRIPT_DESC_DASH_DASH: {
            bool dbl = t->state == S_SCRIPT_DESC_DASH || t->state == S_SCRIPT_DESC_DASH_DASH;
            bool dashdash = t->state == S_SCRIPT_ESC_DASH_DASH || t->state == S_SCRIPT_DESC_DASH_DASH;
            enum state body = dbl ? S_SCRIPT_DESC : S_SCRIPT_ESC;
            p++;
            if (c == '-') {
                emit_chars(t, "-", 1);
                t->state = dbl ? S_SCRIPT_DESC_DASH_DASH : S_SCRIPT_ESC_DASH_DASH;
            } else if (c == '<') {
                if (dbl)
                    emit_chars(t, "<", 1);
                t->state = dbl ? S_SCRIPT_DESC_LT : S_SCRIPT_ESC_LT;
            } else if (c == '>' && dashdash) {
                emit_chars(t, ">", 1);
                t->state = S_SCRIPT;
            } else if (c == '\0') {
                emit_chars(t, REPLACEMENT, 3);
                t->state = body;
            } else {
                emit_chars(t, p - 1, 1);
                t->state = body;
            }
            break;
        }
        case S_SCRIPT_ESC_LT:
            if (c == '/') {
                t->tmp_len = 0;
                t->state = S_SCRIPT_ESC_END_OPEN;
                p++;
            } else if (IS_ALPHA(c)) {
                t->tmp_len = 0;
                emit_chars(t, "<", 1);
                t->state = S_SCRIPT_DESC_START;
            } else {
                emit_chars(t, "<", 1);
                t->state = S_SCRIPT_ESC;
            }
            break;
        case S_SCRIPT_DESC_START:
        case S_SCRIPT_DESC_END: {
            bool start = t->state == S_SCRIPT_DESC_START;
            if (IS_WS(c) || c == '/' || c == '>') {
                bool is_script = tmp_is_script(t);
                t->state = (is_script == start) ? S_SCRIPT_DESC : S_SCRIPT_ESC;
                emit_chars(t, p, 1);
                p++;
            } else if (IS_ALPHA(c)) {
                if (t->tmp_len < TMP_MAX)
                    t->tmp[t->tmp_len++] = c;
                else
                    t->tmp[0] = '\0'; /* too long to be "script" */
                emit_chars(t, p, 1);
                p++;
            } else {
                t->state = start ? S_SCRIPT_ESC : S_SCRIPT_DESC;
            }
            break;
        }
        case S_SCRIPT_DESC_LT:
            if (c == '/') {
                t->tmp_len = 0;
                emit_chars(t, "/", 1);
                t->state = S_SCRIPT_DESC_END;
                p++;
            } else {
                t->state = S_SCRIPT_DESC;
            }
            break;
        case S_BEFORE_ATTR_NAME:
        before_attr_name:
            if (IS_WS(c)) {
                p++;
            } else if (c == '/' || c == '>') {
                t->state = S_AFTER_ATTR_NAME;
            } else if (c == '=') {
                attr_start(t);
                put1(t, '=');
                t->state = S_ATTR_NAME;
                p++;
            } else {
                attr_start(t);
                t->state = S_ATTR_NAME;
                goto attr_name;
            }
            break;
        case S_ATTR_NAME:
        attr_name: {
            const char *q = p;
            while (q < end && !IS_CLASS(*q, C_ATTR_NAME_END))
                q++;
            put_lower(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            c = *p;
            if (c == '=') {
                attr_value_start(t);
                t->state = S_BEFORE_ATTR_VALUE;
                p++;
                GO(before_attr_value);
            } else if (c == '\0') {
                put(t, REPLACEMENT, 3);
                p++;
            } else {
                t->state = S_AFTER_ATTR_NAME;
            }
            break;
        }
        case S_AFTER_ATTR_NAME:
            if (IS_WS(c)) {
                p++;
            } else if (c == '/') {
                t->state = S_SELF_CLOSING;
                p++;
            } else if (c == '=') {
                attr_value_start(t);
                t->state = S_BEFORE_ATTR_VALUE;
                p++;
            } else if (c == '>') {
                emit_tag(t);
                p++;
            } else {
                attr_start(t);
                t->state = S_ATTR_NAME;
            }
            break;
        case S_BEFORE_ATTR_VALUE:
        before_attr_value:
            if (IS_WS(c)) {
                p++;
            } else if (c == '"') {
                t->state = S_ATTR_VALUE_DQ;
                p++;
                GO(attr_value_quoted);
            } else if (c == '\'') {
                t->state = S_ATTR_VALUE_SQ;
                p++;
                GO(attr_value_quoted);
            } else if (c == '>') {
                emit_tag(t);
                p++;
            } else {
                t->state = S_ATTR_VALUE_UNQ;
            }
            break;
        case S_ATTR_VALUE_DQ:
        case S_ATTR_VALUE_SQ:
        attr_value_quoted: {
            char quote = t->state == S_ATTR_VALUE_DQ ? '"' : '\'';
            const char *q = scan3(p, end, quote, '&', '\0');
            put(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            c = *p++;
            if (c == quote) {
                t->state = S_AFTER_ATTR_VALUE_QUOTED;
                GO(after_attr_value_quoted);
            } else if (c == '&') {
                t->return_state = t->state;
                t->state = S_CHAR_REF;
            } else {
                put(t, REPLACEMENT, 3);
            }
            break;
        }
        case S_ATTR_VALUE_UNQ: {
            const char *q = p;
            while (q < end && !IS_CLASS(*q, C_UNQUOTED_END))
                q++;
            put(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            c = *p++;
            if (IS_WS(c)) {
                t->state = S_BEFORE_ATTR_NAME;
            } else if (c == '&') {
                t->return_state = S_ATTR_VALUE_UNQ;
                t->state = S_CHAR_REF;
            } else if (c == '>') {
                emit_tag(t);
            } else {
                put(t, REPLACEMENT, 3);
            }
            break;
        }
        case S_AFTER_ATTR_VALUE_QUOTED:
        after_attr_value_quoted:
            if (IS_WS(c)) {
                t->state = S_BEFORE_ATTR_NAME;
                p++;
                GO(before_attr_name);
            } else if (c == '/') {
                t->state = S_SELF_CLOSING;
                p++;
            } else if (c == '>') {
                emit_tag(t);
                p++;
            } else {
                t->state = S_BEFORE_ATTR_NAME;
            }
            break;
        case S_SELF_CLOSING:
            if (c == '>') {
                t->self_closing = true;
                emit_tag(t);
                p++;
            } else {
                t->state = S_BEFORE_ATTR_NAME;
            }
            break;
        case S_BOGUS_COMMENT: {
            const char *q = scan3(p, end, '>', '\0', '\0');
            put(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            if (*p++ == '>') {
                emit_comment(t);
                t->state = S_DATA;
            } else {
                put(t, REPLACEMENT, 3);
            }
            break;
        }
        case S_MARKUP_DECL:
            if (markup_decl_step(t, c))
                p++;
            break;
        case S_COMMENT_START:
            if (c == '-') {
                t->state = S_COMMENT_START_DASH;
                p++;
            } else if (c == '>') {
                emit_comment(t);
                t->state = S_DATA;
                p++;
            } else {
                t->state = S_COMMENT;
            }
            break;
        case S_COMMENT_START_DASH:
            if (c == '-') {
                t->state = S_COMMENT_END;
                p++;
            } else if (c == '>') {
                emit_comment(t);
                t->state = S_DATA;
                p++;
            } else {
                put1(t, '-');
                t->state = S_COMMENT;
            }
            break;
        case S_COMMENT: {
            const char *q = scan3(p, end, '<', '-', '\0');
            put(t, p, (size_t)(q - p));
            p = q;
            if (p == end)
                break;
            c = *p++;
            if (c == '<') {
                put1(t, '<');
                t->state = S_COMMENT_LT;
            } else if (c == '-') {
                t->state = S_COMMENT_END_DASH;
            } else {
                put(t, REPLACEMENT, 3);
            }
            break;
        }
        case S_COMMENT_LT:
            if (c == '!') {
                put1(t, '!');
                t->state = S_COMMENT_LT_BANG;
                p++;
            } else if (c == '<') {
                put1(t, '<');
                p++;
            } else {
                t->state = S_COMMENT;
            }
            break;
        case S_COMMENT_LT_BANG:
            if (c == '-') {
                t->state = S_COMMENT_LT_BANG_DASH;
                p++;
            } else {
                t->state = S_COMMENT;
            }
            break;
        case S_COMMENT_LT_BANG_DASH:
            if (c == '-') {
                t->state = S_COMMENT_LT_BANG_DASH_DASH;
                p++;
            } else {
                t->state = S_COMMENT_END_DASH;
            }
            break;
        case S_COMMENT_LT_BANG_DASH_DASH:
            t->state = S_COMMENT_END;
            break;
        case S_COMMENT_END_DASH:
            if (c == '-') {
                t->state = S_COMMENT_END;
                p++;
            } else {
                put1(t, '-');
                t->state = S_COMMENT;
            }
            break;
        case S_COMMENT_END:
            if (c == '>') {
                emit_comment(t);
                t->state = S_DATA;
                p++;
            } else if (c == '!') {
                t->state = S_COMMENT_END_BANG;
                p++;
            } else if (c == '-') {
                put1(t, '-');
                p++;
            } else {
                put(t, "--", 2);
                t->state = S_COMMENT;
            }
            break;
        case S_COMMENT_END_BANG:
            if (c == '-') {
                put(t, "--!", 3);
                t->state = S_COMMENT_END_DASH;
                p++;
            } else if (c == '>') {
                emit_comment(t);
                t->state = S_DATA;
                p++;
            } else {
                put(t, "--!", 3);
                t->state = S_COMMENT;
            }
            break;
        case S_DOCTYPE:
            token_reset(t, TOK_DOCTYPE);
            t->state = S_BEFORE_DOCTYPE_NAME;
            if (IS_WS(c))
                p++;
            break;
        case S_BEFORE_DOCTYPE_NAME:
            if (IS_WS(c)) {
                p++;
            } else if (c == '>') {
                t->force_quirks = true;
                emit_doctype(t);
                t->state = S_DATA;
                p++;
            } else {
                t->has_name = true;
                t->state = S_DOCTYPE_NAME;
            }
            break;
        case S_DOCTYPE_NAME:
            p++;
            if (IS_WS(c)) {
                t->state = S_AFTER_DOCTYPE_NAME;
            } else if (c == '>') {
                emit_doctype(t);
                t->state = S_DATA;
            } else {
                if (c == '\0')
                    put(t, REPLACEMENT, 3);
                else
                    put1(t, LOWER(c));
                t->name_len = t->len;
            }
            break;
        case S_AFTER_DOCTYPE_NAME:
            if (IS_WS(c)) {
                p++;
            } else if (c == '>') {
                emit_doctype(t);
                t->state = S_DATA;
                p++;
            } else {
                t->la_len = 0;
                t->state = S_DOCTYPE_KEYWORD;
            }
            break;
        case S_DOCTYPE_KEYWORD:
            if (doctype_keyword_step(t, c))
                p++;
            break;
        case S_AFTER_DOCTYPE_PUBLIC_KW:
        case S_BEFORE_DOCTYPE_PUBLIC_ID:
            if (IS_WS(c)) {
                if (t->state == S_AFTER_DOCTYPE_PUBLIC_KW)
                    t->state = S_BEFORE_DOCTYPE_PUBLIC_ID;
                p++;
            } else if (c == '"' || c == '\'') {
                doctype_start_public(t, c == '"' ? S_DOCTYPE_PUBLIC_ID_DQ : S_DOCTYPE_PUBLIC_ID_SQ);
                p++;
            } else if (c == '>') {
                t->force_quirks = true;
                emit_doctype(t);
                t->state = S_DATA;
                p++;
            } else {
                t->force_quirks = true;
                t->state = S_BOGUS_DOCTYPE;
            }
            break;
        case S_AFTER_DOCTYPE_SYSTEM_KW:
        case S_BEFORE_DOCTYPE_SYSTEM_ID:
            if (IS_WS(c)) {
                if (t->state == S_AFTER_DOCTYPE_SYSTEM_KW)
                    t->state = S_BEFORE_DOCTYPE_SYSTEM_ID;
                p++;
            } else if (c == '"' || c == '\'') {
                doctype_start_system(t, c == '"' ? S_DOCTYPE_SYSTEM_ID_DQ : S_DOCTYPE_SYSTEM_ID_SQ);
                p++;
            } else if (c == '>') {
                t->force_quirks = true;
                emit_doctype(t);
                t->state = S_DATA;
                p++;
            } else {
                t->force_quirks = true;
                t->state = S_BOGUS_DOCTYPE;
            }
            break;
        case S_DOCTYPE_PUBLIC_ID_DQ:
        case S_DOCTYPE_PUBLIC_ID_SQ:
        case S_DOCTYPE_SYSTEM_ID_DQ:
        case S_DOCTYPE_SYSTEM_ID_SQ: {
            bool pub = t->state == S_DOCTYPE_PUBLIC_ID_DQ || t->state == S_DOCTYPE_PUBLIC_ID_SQ;
            char quote = (t->state == S_DOCTYPE_PUBLIC_ID_DQ || t->state == S_DOCTYPE_SYSTEM_ID_DQ)
                             ? '"' : '\'';
            p++;
            if (c == quote) {
                t->state = pub ? S_AFTER_DOCTYPE_PUBLIC_ID : S_AFTER_DOCTYPE_SYSTEM_ID;
            } else if (c == '>') {
                t->force_quirks = true;
                emit_doctype(t);
                t->state = S_DATA;
            } else {
                if (c == '\0')
                    put(t, REPLACEMENT, 3);
                else
                    put1(t, c);
                if (pub)
                    t->pub_len = t->len - t->pub_off;
                else
                    t->sys_len = t->len - t->sys_off;
            }
            break;
        }
        case S_AFTER_DOCTYPE_PUBLIC_ID:
        case S_BETWEEN_DOCTYPE_IDS:
            if (IS_WS(c)) {
                t->state = S_BETWEEN_DOCTYPE_IDS;
                p++;
            } else if (c == '>') {
                emit_doctype(t);
                t->state = S_DATA;
                p++;
            } else if (c == '"' || c == '\'') {
                doctype_start_system(t, c == '"' ? S_DOCTYPE_SYSTEM_ID_DQ : S_DOCTYPE_SYSTEM_ID_SQ);
                p++;
            } else {
                t->force_quirks = true;
                t->state = S_BOGUS_DOCTYPE;
            }
            break;
        case S_AFTER_DOCTYPE_SYSTEM_ID:
            if (IS_WS(c)) {
                p++;
            } else if (c == '>') {
                emit_doctype(t);
                t->state = S_DATA;
                p++;
            } else {
                t->state = S_BOGUS_DOCTYPE;
            }
            break;
        case S_BOGUS_DOCTYPE: {
            const char *q = memchr(p, '>', (size_t)(end - p));
            if (!q) {
                p = end;
                break;
            }
            p = q + 1;
            emit_doctype(t);
            t->state = S_DATA;
            break;
        }
        case S_CDATA: {
            const char *q = scan3(p, end, ']', '\0', '\0');
            emit_cdata_chars(t, p, (size_t)(q - p));
            p = q;
            if (p < end) {
                if (*p == ']')
                    t->state = S_CDATA_BRACKET;
                else if (nul_is_replaced(t))
                    emit_cdata_chars(t, REPLACEMENT, 3);
                else
                    emit_cdata_chars(t, p, 1);
                p++;
            }
            break;
        }
        case S_CDATA_BRACKET:
            if (c == ']') {
                t->state = S_CDATA_END;
                p++;
            } else {
                emit_cdata_chars(t, "]", 1);
                t->state = S_CDATA;
            }
            break;
        case S_CDATA_END:
            if (c == ']') {
                emit_cdata_chars(t, "]", 1);
                p++;
            } else if (c == '>') {
                t->state = S_DATA;
                p++;
            } else {
                emit_cdata_chars(t, "]]", 2);
                t->state = S_CDATA;
            }
            break;
        case S_CHAR_REF:
            if (IS_ALNUM(c)) {
                t->ref_len = 0;
                t->ent_lo = 0;
                t->ent_hi = html_entities_count;
                t->match_len = 0;
                t->state = S_NAMED_REF;
            } else if (c == '#') {
                t->code = 0;
                t->code_overflow = false;
                t->state = S_NUMERIC_REF;
                p++;
            } else {
                ref_flush(t, "&", 1);
                t->state = t->return_state;
            }
            break;
        case S_NAMED_REF:
            if (named_ref_step(t, (unsigned char)c))
                p++;
            break;
        case S_NUMERIC_REF:
            if (c == 'x' || c == 'X') {
                t->ref_x = c;
                t->state = S_HEX_REF_START;
                p++;
            } else {
                t->state = S_DEC_REF_START;
            }
            break;
        case S_HEX_REF_START:
            if (IS_HEX(c)) {
                t->state = S_HEX_REF;
            } else {
                char s[3] = {'&', '#', t->ref_x};
                ref_flush(t, s, 3);
                t->state = t->return_state;
            }
            break;
        case S_DEC_REF_START:
            if (IS_DIGIT(c)) {
                t->state = S_DEC_REF;
            } else {
                ref_flush(t, "&#", 2);
                t->state = t->return_state;
            }
            break;
        case S_HEX_REF:
        case S_DEC_REF: {
            bool hex = t->state == S_HEX_REF;
            if (hex ? IS_HEX(c) : IS_DIGIT(c)) {
                uint32_t d = IS_DIGIT(c) ? (uint32_t)(c - '0') : (uint32_t)(LOWER(c) - 'a' + 10);
                t->code = t->code * (hex ? 16 : 10) + d;
                if (t->code > 0x10FFFF) {
                    t->code_overflow = true;
                    t->code = 0x110000;
                }
                p++;
            } else {
                if (c == ';')
                    p++;
                numeric_ref_end(t);
            }
            break;
        }
        }
    }
}
#undef GO

/* End of input: each state's EOF rule, possibly via a return state. */
static void run_eof(tokenizer *t)
{
    for (int guard = 0; guard < 8 && !t->stop; guard++) {
        switch (t->state) {
        case S_TAG_OPEN:
            emit_chars(t, "<", 1);
            return;
        case S_END_TAG_OPEN:
            emit_chars(t, "</", 2);
            return;
        case S_RCDATA_LT: case S_RAWTEXT_LT: case S_SCRIPT_LT: case S_SCRIPT_ESC_LT:
            emit_chars(t, "<", 1);
            return;
        case S_RCDATA_END_OPEN: case S_RAWTEXT_END_OPEN: case S_SCRIPT_END_OPEN:
        case S_SCRIPT_ESC_END_OPEN:
            emit_chars(t, "</", 2);
            return;
        case S_RCDATA_END_NAME: case S_RAWTEXT_END_NAME: case S_SCRIPT_END_NAME:
        case S_SCRIPT_ESC_END_NAME:
            flush_end_tag_attempt(t, S_DATA);
            return;
        case S_BOGUS_COMMENT:
        case S_COMMENT_START: case S_COMMENT_START_DASH: case S_COMMENT: case S_COMMENT_LT:
        case S_COMMENT_LT_BANG: case S_COMMENT_LT_BANG_DASH: case S_COMMENT_LT_BANG_DASH_DASH:
        case S_COMMENT_END_DASH: case S_COMMENT_END: case S_COMMENT_END_BANG:
            emit_comment(t);
            return;
        case S_MARKUP_DECL:
            token_reset(t, TOK_COMMENT);
            put(t, t->la, t->la_len);
            emit_comment(t);
            return;
        case S_DOCTYPE: case S_BEFORE_DOCTYPE_NAME:
            token_reset(t, TOK_DOCTYPE);
            t->force_quirks = true;
            emit_doctype(t);
            return;
        case S_DOCTYPE_NAME: case S_AFTER_DOCTYPE_NAME: case S_DOCTYPE_KEYWORD:
        case S_AFTER_DOCTYPE_PUBLIC_KW: case S_BEFORE_DOCTYPE_PUBLIC_ID:
        case S_DOCTYPE_PUBLIC_ID_DQ: case S_DOCTYPE_PUBLIC_ID_SQ: case S_AFTER_DOCTYPE_PUBLIC_ID:
        case S_BETWEEN_DOCTYPE_IDS: case S_AFTER_DOCTYPE_SYSTEM_KW:
        case S_BEFORE_DOCTYPE_SYSTEM_ID: case S_DOCTYPE_SYSTEM_ID_DQ:
        case S_DOCTYPE_SYSTEM_ID_SQ: case S_AFTER_DOCTYPE_SYSTEM_ID:
            t->force_quirks = true;
            emit_doctype(t);
            return;
        case S_BOGUS_DOCTYPE:
            emit_doctype(t);
            return;
        case S_CDATA_BRACKET:
            emit_cdata_chars(t, "]", 1);
            return;
        case S_CDATA_END:
            emit_cdata_chars(t, "]]", 2);
            return;
        case S_CHAR_REF:
            ref_flush(t, "&", 1);
            t->state = t->return_state;
            continue;
        case S_NAMED_REF:
            named_ref_resolve(t, -1);
            continue;
        case S_NUMERIC_REF:
        case S_DEC_REF_START:
            ref_flush(t, "&#", 2);
            t->state = t->return_state;
            continue;
        case S_HEX_REF_START: {
            char s[3] = {'&', '#', t->ref_x};
            ref_flush(t, s, 3);
            t->state = t->return_state;
            continue;
        }
        case S_HEX_REF: case S_DEC_REF:
            numeric_ref_end(t);
            continue;
        default:
            /* text states: nothing pending; tag and attribute states: the tag is dropped */
            return;
        }
    }
}

/* ---- public API ------------------------------------------------------------------------ */

tokenizer *tokenizer_new(const tokenizer_options *opt, tokenizer_cb cb, void *ctx)
{
    classes_init();
    tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cb = cb;
    t->ctx = ctx;
    t->max_token = opt && opt->max_token_bytes ? opt->max_token_bytes : 256 * 1024;
    if (t->max_token < 64)
        t->max_token = 64;
    t->tree_sim = opt && opt->tree_sim;
    t->chars_tok.type = TOK_CHARS;
    t->state = S_DATA;
    note_memory(t);
    return t;
}

void tokenizer_free(tokenizer *t)
{
    if (!t)
        return;
    free(t->buf);
    free(t->spans);
    free(t->attrs);
    free(t->scratch);
    free(t);
}

void tokenizer_set_state(tokenizer *t, tokenizer_text_state st, const char *last_start_tag)
{
    t->state = state_for(st);
    t->last_start_len = 0;
    if (last_start_tag) {
        size_t n = strlen(last_start_tag);
        if (n < TMP_MAX) {
            memcpy(t->last_start, last_start_tag, n);
            t->last_start_len = n;
        }
    }
}

/* Input preprocessing (CR LF and lone CR become LF) happens here, before the states see the
 * bytes; a CR at the end of a feed remembers to drop a LF at the start of the next. */
int tokenizer_feed(tokenizer *t, const char *data, size_t len)
{
    if (t->stop)
        return t->stop;
    if (len && t->skip_lf) {
        t->skip_lf = false;
        if (data[0] == '\n') {
            data++;
            len--;
        }
    }
    if (!memchr(data, '\r', len)) {
        run(t, data, data + len);
        return t->stop;
    }
    if (!t->scratch) {
        t->scratch = malloc(PREPROCESS_CHUNK);
        if (!t->scratch)
            return -1;
        note_memory(t);
    }
    size_t i = 0;
    while (i < len && !t->stop) {
        size_t o = 0;
        while (i < len && o < PREPROCESS_CHUNK) {
            /* the bytes up to the next CR are copied as they are */
            const char *cr = memchr(data + i, '\r', len - i);
            size_t span = (cr ? (size_t)(cr - data) : len) - i;
            if (span > PREPROCESS_CHUNK - o)
                span = PREPROCESS_CHUNK - o;
            memcpy(t->scratch + o, data + i, span);
            o += span;
            i += span;
            if (i == len || o == PREPROCESS_CHUNK)
                break;
            i++; /* the CR: a line feed, and a line feed right after it is dropped */
            t->scratch[o++] = '\n';
            if (i < len) {
                if (data[i] == '\n')
                    i++;
            } else {
                t->skip_lf = true;
            }
        }
        run(t, t->scratch, t->scratch + o);
    }
    return t->stop;
}

int tokenizer_finish(tokenizer *t)
{
    if (!t->stop)
        run_eof(t);
    return t->stop;
}

size_t tokenizer_memory_peak(const tokenizer *t)
{
    return t->peak;
}

uint64_t tokenizer_oversize_count(const tokenizer *t)
{
    return t->oversize;
}
