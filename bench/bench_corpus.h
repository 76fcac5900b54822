/* bench (private): the document corpus the sanitizer benchmarks share: a NUL-separated file
 * list (as bench/build-benign-corpus.sh writes) loaded into memory up to a byte budget.
 * Header-only, as each benchmark is its own program; failures end the program with status 2. */
#ifndef AG_BENCH_CORPUS_H
#define AG_BENCH_CORPUS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct doc {
    const char *p;
    size_t n;
} doc;

typedef struct corpus {
    doc *d;
    size_t n, cap, bytes;
} corpus;

static inline void corpus_add(corpus *c, const char *p, size_t n)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->d = realloc(c->d, c->cap * sizeof *c->d);
        if (!c->d) {
            fprintf(stderr, "bench: out of memory\n");
            exit(2);
        }
    }
    c->d[c->n++] = (doc){p, n};
    c->bytes += n;
}

/* The whole file in a malloc'd buffer (*n bytes); NULL when it cannot be opened. */
static inline char *corpus_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc(sz > 0 ? (size_t)sz : 1);
    *n = sz > 0 && p ? fread(p, 1, (size_t)sz, f) : 0;
    fclose(f);
    return p;
}

/* Adds every listed file (each owning its bytes) until max_bytes are loaded. */
static inline void corpus_load_list(corpus *c, const char *list, size_t max_bytes)
{
    size_t ln;
    char *names = corpus_read_file(list, &ln);
    if (!names) {
        fprintf(stderr, "bench: cannot read the file list %s\n", list);
        exit(2);
    }
    for (size_t i = 0; i < ln && c->bytes < max_bytes;) {
        const char *name = names + i;
        size_t l = strnlen(name, ln - i);
        char path[4096];
        snprintf(path, sizeof path, "%.*s", (int)l, name);
        size_t n;
        char *p = corpus_read_file(path, &n);
        if (p) corpus_add(c, p, n);
        i += l + 1;
    }
    free(names);
}

/* A digest of output, to show a faster build produces the same bytes: FNV-1a over them. */
typedef struct digest {
    uint64_t h;
    uint64_t bytes; /* counted by the caller's measure */
} digest;

#define DIGEST_INIT {0xcbf29ce484222325ull, 0}

static inline void digest_hash(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) d->h = (d->h ^ b[i]) * 0x100000001b3ull;
}

/* Frees the list, and each document's bytes when the documents own them (a corpus of pieces
 * of one arena does not). */
static inline void corpus_free(corpus *c, int owns_docs)
{
    for (size_t i = 0; owns_docs && i < c->n; i++) free((void *)c->d[i].p);
    free(c->d);
    memset(c, 0, sizeof *c);
}

#endif
