/* tests (sanitizer): shared helpers for the tokenizer tests. Tokens are turned into canonical
 * strings (adjacent character tokens merged, attributes sorted) so a run can be compared with
 * the html5lib-tests JSON expectations or with another run of the same input split elsewhere. */
#ifndef AG_TEST_TOKENIZER_HARNESS_H
#define AG_TEST_TOKENIZER_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/tokenizer.h"

typedef struct tstr {
    char *p;
    size_t n;
} tstr;

typedef struct tok_list {
    tstr *items;
    size_t n, cap;
    bool last_chars;
} tok_list;

static inline void tstr_append(tstr *s, const char *p, size_t n)
{
    s->p = realloc(s->p, s->n + n + 1);
    if (n)
        memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = '\0';
}

static inline void tok_list_push(tok_list *l, const char *p, size_t n, bool chars)
{
    if (chars && l->last_chars && l->n > 0) {
        tstr_append(&l->items[l->n - 1], p, n);
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n] = (tstr){0};
    tstr_append(&l->items[l->n], p, n);
    l->n++;
    l->last_chars = chars;
}

static inline void tok_list_free(tok_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].p);
    free(l->items);
    *l = (tok_list){0};
}

static inline bool tok_list_equal(const tok_list *a, const tok_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].n != b->items[i].n || memcmp(a->items[i].p, b->items[i].p, a->items[i].n))
            return false;
    return true;
}

typedef struct kv {
    const char *k, *v;
    size_t kn, vn;
} kv;

static inline int kv_cmp(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    size_t n = a->kn < b->kn ? a->kn : b->kn;
    int c = memcmp(a->k, b->k, n);
    return c ? c : (a->kn > b->kn) - (a->kn < b->kn);
}

/* Canonical form of a tag: "S:name[/]" + sorted "\x01name\x02value" pairs. */
static inline tstr canon_tag(char kind, const char *name, size_t name_len, kv *attrs, size_t nattrs,
                      bool self_closing)
{
    tstr s = {0};
    char head[2] = {kind, ':'};
    tstr_append(&s, head, 2);
    tstr_append(&s, name, name_len);
    if (self_closing)
        tstr_append(&s, "/", 1);
    qsort(attrs, nattrs, sizeof *attrs, kv_cmp);
    for (size_t i = 0; i < nattrs; i++) {
        tstr_append(&s, "\x01", 1);
        tstr_append(&s, attrs[i].k, attrs[i].kn);
        tstr_append(&s, "\x02", 1);
        tstr_append(&s, attrs[i].v, attrs[i].vn);
    }
    return s;
}

static inline void canon_opt(tstr *s, bool present, const char *p, size_t n)
{
    tstr_append(s, "\x01", 1);
    if (present) {
        tstr_append(s, "=", 1);
        tstr_append(s, p, n);
    } else {
        tstr_append(s, "null", 4);
    }
}

static inline int collect_token(void *ctx, const html_token *t)
{
    tok_list *l = ctx;
    switch (t->type) {
    case TOK_CHARS: {
        if (!l->last_chars) {
            tok_list_push(l, "C:", 2, false);
            l->last_chars = true;
        }
        tok_list_push(l, t->data, t->data_len, true);
        break;
    }
    case TOK_START_TAG:
    case TOK_END_TAG: {
        kv *a = calloc(t->nattrs + 1, sizeof *a);
        size_t n = t->type == TOK_START_TAG ? t->nattrs : 0;
        for (size_t i = 0; i < n; i++)
            a[i] = (kv){t->attrs[i].name, t->attrs[i].value, t->attrs[i].name_len,
                        t->attrs[i].value_len};
        tstr s = canon_tag(t->type == TOK_START_TAG ? 'S' : 'E', t->name, t->name_len, a, n,
                           t->type == TOK_START_TAG && t->self_closing);
        tok_list_push(l, s.p, s.n, false);
        free(s.p);
        free(a);
        break;
    }
    case TOK_COMMENT: {
        tstr s = {0};
        tstr_append(&s, "M:", 2);
        tstr_append(&s, t->data, t->data_len);
        tok_list_push(l, s.p, s.n, false);
        free(s.p);
        break;
    }
    case TOK_DOCTYPE: {
        tstr s = {0};
        tstr_append(&s, "D:", 2);
        canon_opt(&s, t->has_name, t->name, t->name_len);
        canon_opt(&s, t->has_public_id, t->public_id, t->public_id_len);
        canon_opt(&s, t->has_system_id, t->system_id, t->system_id_len);
        tstr_append(&s, t->force_quirks ? "\x01q" : "\x01ok", t->force_quirks ? 2 : 3);
        tok_list_push(l, s.p, s.n, false);
        free(s.p);
        break;
    }
    }
    return 0;
}

/* ---- JSON side ---------------------------------------------------------------------------- */

static inline size_t wtf8_encode(unsigned cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static inline int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

/* A JSON string, with the second \uHHHH unescaping when double_escaped. */
static inline tstr json_str(json_t *j, bool double_escaped)
{
    tstr s = {0};
    const char *p = json_string_value(j);
    size_t n = json_string_length(j);
    tstr_append(&s, "", 0);
    if (!double_escaped) {
        tstr_append(&s, p, n);
        return s;
    }
    for (size_t i = 0; i < n;) {
        unsigned v, w;
        if (p[i] == '\\' && i + 6 <= n && p[i + 1] == 'u' && hex4(p + i + 2, &v) == 0) {
            i += 6;
            if (v >= 0xD800 && v < 0xDC00 && i + 6 <= n && p[i] == '\\' && p[i + 1] == 'u' &&
                hex4(p + i + 2, &w) == 0 && w >= 0xDC00 && w < 0xE000) {
                v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00);
                i += 6;
            }
            char o[4];
            tstr_append(&s, o, wtf8_encode(v, o));
        } else {
            tstr_append(&s, p + i, 1);
            i++;
        }
    }
    return s;
}

static inline void expected_tokens(json_t *output, bool dbl, tok_list *l)
{
    size_t i;
    json_t *tok;
    json_array_foreach(output, i, tok) {
        const char *kind = json_string_value(json_array_get(tok, 0));
        if (strcmp(kind, "Character") == 0) {
            tstr d = json_str(json_array_get(tok, 1), dbl);
            if (!l->last_chars) {
                tok_list_push(l, "C:", 2, false);
                l->last_chars = true;
            }
            tok_list_push(l, d.p, d.n, true);
            free(d.p);
        } else if (strcmp(kind, "StartTag") == 0 || strcmp(kind, "EndTag") == 0) {
            bool start = kind[0] == 'S';
            tstr name = json_str(json_array_get(tok, 1), dbl);
            json_t *attrs = start ? json_array_get(tok, 2) : NULL;
            size_t na = attrs ? json_object_size(attrs) : 0, k = 0;
            kv *a = calloc(na + 1, sizeof *a);
            tstr *keep = calloc(2 * na + 1, sizeof *keep);
            const char *key;
            json_t *val;
            if (attrs) {
                json_object_foreach(attrs, key, val) {
                    json_t *kj = json_string(key);
                    keep[2 * k] = json_str(kj, dbl);
                    json_decref(kj);
                    keep[2 * k + 1] = json_str(val, dbl);
                    a[k] = (kv){keep[2 * k].p, keep[2 * k + 1].p, keep[2 * k].n, keep[2 * k + 1].n};
                    k++;
                }
            }
            bool sc = start && json_is_true(json_array_get(tok, 3));
            tstr s = canon_tag(start ? 'S' : 'E', name.p, name.n, a, k, sc);
            tok_list_push(l, s.p, s.n, false);
            for (size_t x = 0; x < 2 * k; x++)
                free(keep[x].p);
            free(keep);
            free(a);
            free(s.p);
            free(name.p);
        } else if (strcmp(kind, "Comment") == 0) {
            tstr d = json_str(json_array_get(tok, 1), dbl);
            tstr s = {0};
            tstr_append(&s, "M:", 2);
            tstr_append(&s, d.p, d.n);
            tok_list_push(l, s.p, s.n, false);
            free(s.p);
            free(d.p);
        } else if (strcmp(kind, "DOCTYPE") == 0) {
            tstr s = {0};
            tstr_append(&s, "D:", 2);
            for (int f = 1; f <= 3; f++) {
                json_t *v = json_array_get(tok, (size_t)f);
                if (json_is_string(v)) {
                    tstr d = json_str(v, dbl);
                    canon_opt(&s, true, d.p, d.n);
                    free(d.p);
                } else {
                    canon_opt(&s, false, NULL, 0);
                }
            }
            bool ok = json_is_true(json_array_get(tok, 4));
            tstr_append(&s, ok ? "\x01ok" : "\x01q", ok ? 3 : 2);
            tok_list_push(l, s.p, s.n, false);
            free(s.p);
        }
    }
}

static inline bool state_from_name(const char *name, tokenizer_text_state *st)
{
    static const struct { const char *n; tokenizer_text_state s; } map[] = {
        {"Data state", TS_DATA}, {"PLAINTEXT state", TS_PLAINTEXT}, {"RCDATA state", TS_RCDATA},
        {"RAWTEXT state", TS_RAWTEXT}, {"Script data state", TS_SCRIPT},
        {"CDATA section state", TS_CDATA}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].n, name) == 0) {
            *st = map[i].s;
            return true;
        }
    return false;
}

/* Runs a tokenizer over input fed in pieces: splits[] are ascending cut positions. */
static inline void tokenize_split(const tokenizer_options *opt, tokenizer_text_state st,
                           const char *last_tag, const char *in, size_t n,
                           const size_t *splits, size_t nsplits, tok_list *out)
{
    tokenizer *t = tokenizer_new(opt, collect_token, out);
    tokenizer_set_state(t, st, last_tag);
    size_t at = 0;
    for (size_t i = 0; i < nsplits; i++) {
        tokenizer_feed(t, in + at, splits[i] - at);
        at = splits[i];
    }
    tokenizer_feed(t, in + at, n - at);
    tokenizer_finish(t);
    tokenizer_free(t);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static const char *corpora_dir(void)
{
    const char *d = getenv("AG_CORPORA_DIR");
    return d ? d : AG_SOURCE_DIR "/../shared/corpora";
}

#endif
