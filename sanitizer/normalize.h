/* sanitizer (private): the normalised view of visible text that instruction rules match on.
 * Case-folded, compatibility-folded (NFKC_Casefold via utf8proc, marks stripped so accents do
 * not matter), common Cyrillic/Greek/Cherokee homoglyphs and typographic quotes/dashes mapped
 * to ASCII, symbols with no compatibility form (©, arrows, emoji) read as spaces, whitespace
 * runs collapsed to one space, invisible characters and invalid UTF-8 dropped,
 * escapes written out as text (%72, \x72, \u0072, &#114;, &#x72;) read as the printable ASCII
 * character they stand for.
 * Every output byte records the original byte range of the character it came from, so a match
 * on the normalised text maps back to a cut on the original. Streaming: state carries the
 * whitespace run, an incomplete UTF-8 sequence and the start of a possible escape across
 * pieces. */
#ifndef AG_SANITIZER_NORMALIZE_H
#define AG_SANITIZER_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct norm_fold_cache norm_fold_cache;

typedef struct norm_buf {
    char *text;          /* normalised UTF-8 (not NUL-terminated) */
    uint64_t *src_start; /* per byte: original offset where its source character starts */
    uint8_t *src_len;    /* per byte: length of that character in the original (1-4 bytes) */
    size_t len, cap;
    int oom;             /* an allocation failed; the buffer is incomplete */
    norm_fold_cache *fold_cache; /* folded forms of recent non-ASCII characters (normalize.c) */
} norm_buf;

/* The longest start of an escape that may still be completed ("&#1114111" before its ';'). */
#define NORM_ESC_MAX 10

typedef struct norm_state {
    int in_space;                /* the last emitted character was a collapsed space */
    int maybe_escape;            /* a byte that may start an escape was emitted */
    unsigned char pending[4];    /* incomplete UTF-8 sequence carried to the next piece */
    size_t npending;
    /* view bytes that may begin an escape the next piece completes, with their sources */
    char esc[NORM_ESC_MAX];
    uint64_t esc_start[NORM_ESC_MAX];
    uint8_t esc_len[NORM_ESC_MAX];
    size_t nesc;
    int esc_space_before;        /* the view's byte before them is a space */
} norm_state;

/* Original offset where the character that produced normalised byte i starts, and just past
 * its end. Readers use these, not the arrays, so the representation may change. */
static inline uint64_t norm_src_start(const norm_buf *b, size_t i) { return b->src_start[i]; }
static inline uint64_t norm_src_end(const norm_buf *b, size_t i)
{
    return b->src_start[i] + b->src_len[i];
}

/* Normalises text (original offsets start at base) onto out. Returns 0, or -1 on allocation
 * failure. Bytes of an incomplete trailing sequence, and the start of an escape the next piece
 * may complete, wait in st for the next call. */
int norm_feed(norm_state *st, norm_buf *out, const char *text, size_t len, uint64_t base);
/* Original offset from which the text fed so far (up to fed_end) is not in the view yet. */
static inline uint64_t norm_held_from(const norm_state *st, uint64_t fed_end)
{
    return st->nesc ? st->esc_start[0] : fed_end - st->npending;
}
/* Ends the text: an escape left unfinished goes into out as the text it is, an incomplete
 * sequence is invalid and dropped; the state resets. Returns -1 on allocation failure. */
int norm_finish(norm_state *st, norm_buf *out);
/* Drops the first n bytes of out (n on a character boundary). */
void norm_buf_drop(norm_buf *b, size_t n);
void norm_buf_free(norm_buf *b);

/* Convenience for tests and tools: normalises a whole string into a NUL-terminated malloc'd
 * buffer (caller frees). */
char *normalize_text(const char *text, size_t len);

#endif
