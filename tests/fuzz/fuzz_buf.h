/* fuzz: a growing byte buffer and the sink callback that appends to it, for the targets'
 * outputs (sanitized documents, decoded bodies). Aborts when memory runs out: a fuzz run has
 * nothing better to do then. */
#ifndef AG_FUZZ_BUF_H
#define AG_FUZZ_BUF_H

#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static inline int sink(void *ctx, const char *d, size_t n)
{
    buf *b = ctx;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    return 0;
}

#endif
