/* tests (sanitizer): a growable output buffer and the sink that appends to it, shared by the
 * sanitizer's unit tests. Always NUL-terminated so tests can compare with strstr/strcmp. */
#ifndef AG_TESTS_SINK_BUF_H
#define AG_TESTS_SINK_BUF_H

#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t n;
} buf;

static inline int sink(void *ctx, const char *d, size_t n)
{
    buf *b = ctx;
    b->p = realloc(b->p, b->n + n + 1);
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

#endif
