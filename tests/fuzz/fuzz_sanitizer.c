/* fuzz: libFuzzer target for the tokenizer and the sanitizer. The first input byte picks the
 * mode and a split size; the rest is fed in pieces of that size. Checks beyond "no crash, no
 * leak" (ASan/UBSan): the output equals the output of a single feed (split invariance), and in
 * scripts mode sanitizing the output again removes nothing (bytes may differ: text of raw-text
 * elements such as noscript is escaped once more). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/sanitizer.h"

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static int sink(void *ctx, const char *d, size_t n)
{
    buf *b = ctx;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    return 0;
}

static buf sanitize(sanitize_mode mode, const char *in, size_t n, size_t piece, uint64_t *removed)
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
    if (removed)
        *removed = sanitizer_report_removed(sanitizer_get_report(s)) -
                   sanitizer_get_report(s)->counts[SAN_CAT_OVERSIZE];
    sanitizer_free(s);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sanitize_mode mode = (sanitize_mode)(data[0] % 3);
    size_t piece = (size_t)(data[0] >> 2) + 1;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    buf whole = sanitize(mode, in, n, n ? n : 1, NULL);
    buf split = sanitize(mode, in, n, piece, NULL);
    if (whole.n != split.n || (whole.n && memcmp(whole.p, split.p, whole.n) != 0))
        abort(); /* output depends on how the input was split */
    if (mode == SANITIZE_SCRIPTS) {
        uint64_t removed = 0;
        buf again = sanitize(mode, whole.p ? whole.p : "", whole.n, whole.n ? whole.n : 1, &removed);
        if (removed != 0)
            abort(); /* the sanitized output still held something to remove */
        free(again.p);
    }
    free(whole.p);
    free(split.p);
    return 0;
}
