/* fuzz: libFuzzer target for the tokenizer and the sanitizer. The first input byte picks the
 * mode and a split size; the rest is fed in pieces of that size. Checks beyond "no crash, no
 * leak" (ASan/UBSan): the output equals the output of a single feed (split invariance), and in
 * scripts mode sanitizing the output again removes nothing (bytes may differ: text of raw-text
 * elements such as noscript is escaped once more), and the start tags of the output and of
 * the output sanitized again are the same names in the same namespaces (stand-in <span>s
 * aside), as a browser would see them: a tag cannot change namespace between passes. The
 * content decoder with no charset given (a byte-order mark or the document's <meta> decides)
 * gives the same UTF-8 whole and in pieces. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/sanitizer.h"
#include "sanitizer/tokenizer.h"

#include "fuzz_buf.h"

static buf sanitize(sanitize_mode mode, const char *in, size_t n, size_t piece, uint64_t *removed,
                    uint64_t *oversize)
{
    buf b = {0};
    sanitizer_options opt = {.mode = mode, .max_stream_bytes = 16384};
    sanitizer *s = sanitizer_new(&opt, sink, &b);
    if (!s)
        abort();
    ag_error err;
    int rc = AG_OK;
    for (size_t at = 0; at < n && rc == AG_OK; at += piece)
        rc = sanitizer_feed(s, in + at, n - at < piece ? n - at : piece, &err);
    if (rc == AG_OK)
        sanitizer_finish(s, &err);
    const sanitizer_report *rep = sanitizer_get_report(s);
    if (removed)
        *removed = sanitizer_report_removed(rep) - rep->counts[SAN_CAT_OVERSIZE];
    if (oversize)
        *oversize = rep->counts[SAN_CAT_OVERSIZE];
    sanitizer_free(s);
    return b;
}

/* Start tags of a document as "<ns>name\n" lines, by the tokenizer's tree simulation. */
static int collect_start_tag(void *ctx, const html_token *t)
{
    if (t->type != TOK_START_TAG || (t->name_len == 4 && memcmp(t->name, "span", 4) == 0))
        return 0;
    char ns = (char)('0' + t->ns);
    sink(ctx, &ns, 1);
    sink(ctx, t->name, t->name_len);
    sink(ctx, "\n", 1);
    return 0;
}

static buf start_tags(const buf *doc)
{
    buf tags = {0};
    tokenizer_options opt = {.max_token_bytes = 1 << 20, .tree_sim = true};
    tokenizer *t = tokenizer_new(&opt, collect_start_tag, &tags);
    if (!t)
        abort();
    tokenizer_feed(t, doc->p ? doc->p : "", doc->n);
    tokenizer_finish(t);
    tokenizer_free(t);
    return tags;
}

static buf decode(const char *in, size_t n, size_t piece)
{
    buf b = {0};
    ag_error err;
    content_decoder *d = content_decoder_new(NULL, NULL, sink, &b, &err);
    if (!d)
        abort();
    int rc = AG_OK;
    for (size_t at = 0; at < n && rc == AG_OK; at += piece)
        rc = content_decoder_feed(d, in + at, n - at < piece ? n - at : piece, &err);
    if (rc == AG_OK)
        content_decoder_finish(d, &err);
    content_decoder_free(d);
    return b;
}

static bool same(const buf *a, const buf *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sanitize_mode mode = (sanitize_mode)(data[0] % 3);
    size_t piece = (size_t)(data[0] >> 2) + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    buf whole = sanitize(mode, in, n, n ? n : 1, NULL, NULL);
    buf split = sanitize(mode, in, n, piece, NULL, NULL);
    if (!same(&whole, &split))
        abort(); /* output depends on how the input was split */
    if (mode == SANITIZE_SCRIPTS) {
        uint64_t removed = 0, oversize = 0;
        buf again = sanitize(mode, whole.p ? whole.p : "", whole.n, whole.n ? whole.n : 1, &removed,
                             &oversize);
        if (removed != 0)
            abort(); /* the sanitized output still held something to remove */
        buf tags_once = start_tags(&whole), tags_twice = start_tags(&again);
        if (oversize == 0 && !same(&tags_once, &tags_twice))
            abort(); /* a tag changed namespace (or vanished) when the output was parsed again */
        free(tags_once.p);
        free(tags_twice.p);
        free(again.p);
    }
    free(whole.p);
    free(split.p);
    buf decoded = decode(in, n, n ? n : 1), decoded_split = decode(in, n, piece);
    if (!same(&decoded, &decoded_split))
        abort(); /* the charset or the characters depend on how the input was split */
    free(decoded.p);
    free(decoded_split.p);
    return 0;
}
