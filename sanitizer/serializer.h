/* sanitizer (private): the output side. Sanitized tokens are written back as HTML into a
 * bounded buffer that is flushed to the caller's sink: attribute values always double-quoted
 * and escaped, text escaped, comments and DOCTYPEs rewritten so that they cannot end early.
 * Whatever a browser does with the output, it sees only the markup written here. */
#ifndef AG_SANITIZER_SERIALIZER_H
#define AG_SANITIZER_SERIALIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sanitizer/sanitizer.h"
#include "sanitizer/tokenizer.h"

typedef struct out_buf {
    char *p;
    size_t n, cap;
    sanitizer_sink sink;
    void *ctx;
    int failed;     /* the sink asked to stop, or memory ran out */
    int muted;      /* nonzero: writes are dropped (the filter is not writing for a while) */
    uint64_t total; /* bytes handed to the sink */
    int hold;       /* nonzero: grow (up to limit) instead of flushing, so a caller can take back
                       what it just wrote */
    size_t limit;
} out_buf;

int out_init(out_buf *o, sanitizer_sink sink, void *ctx, size_t cap, size_t limit);
void out_free(out_buf *o);
/* Bytes as they are. The common case (room in the buffer) is inline: tags are written in many
 * small pieces. */
void out_raw_slow(out_buf *o, const char *s, size_t n);
static inline void out_raw(out_buf *o, const char *s, size_t n)
{
    if (n <= o->cap - o->n && !o->muted && !o->failed) {
        memcpy(o->p + o->n, s, n);
        o->n += n;
        return;
    }
    out_raw_slow(o, s, n);
}
/* Text content: & < > escaped, U+0000 dropped (the tree builder drops it too). */
void out_text(out_buf *o, const char *s, size_t n);
/* A style sheet body: '<' written as the CSS escape "\3c " so no tag can start inside it. */
void out_style_text(out_buf *o, const char *s, size_t n);
void out_attr(out_buf *o, const char *name, size_t name_len, const char *value, size_t value_len);
void out_tag_open(out_buf *o, const char *name, size_t len); /* "<name" */
void out_tag_close(out_buf *o, bool self_closing);             /* ">" or "/>" */
void out_end_tag(out_buf *o, const char *name, size_t len);
void out_comment(out_buf *o, const char *data, size_t len);
void out_doctype(out_buf *o, const html_token *t);
int out_flush(out_buf *o);

/* Names the serializer can write back unchanged: ASCII letters, digits and - _ : . plus
 * non-ASCII bytes (tags must start with a letter). Anything else is dropped by the filter. */
bool safe_tag_name(const char *s, size_t n);
bool safe_attr_name(const char *s, size_t n);

#endif
