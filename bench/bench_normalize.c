/* bench: throughput of the instruction matcher's text normaliser (sanitizer/normalize.c), single
 * thread. Loads HTML documents (a NUL-separated file list such as bench/build-benign-corpus.sh
 * writes, up to --max-mb) and feeds them to norm_feed the way the instruction matcher does: one
 * stream per document (or per text run), in slices of --slice bytes (4 KiB), dropping all but
 * the last 64 normalised bytes after each slice. Two inputs are measured: the documents' raw
 * bytes, and their text runs (character tokens between tags, as the HTML tokenizer delivers
 * them), which is what the matcher sees. Prints MB/s (median of --runs, thread CPU time) and a
 * digest (FNV-1a over every normalised byte and both of its original offsets), so a faster
 * normaliser can show it produces the same view. A streaming check then repeats the digest
 * with 1- and 13-byte slices over the first --check-mb of each input; all must match.
 * Usage: bench_normalize [--runs N] [--max-mb N] [--check-mb N] [--slice N] [--only html|text]
 *        LIST0_FILE
 * (--only measures one input, for profiling) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_corpus.h"
#include "common/common.h"
#include "sanitizer/instr.h"
#include "sanitizer/normalize.h"
#include "sanitizer/tokenizer.h"

/* Text runs as the sanitizer gives them to the instruction matcher: character tokens up to a
 * tag of an element that ends a run (sanitizer_element_breaks_run). The runs are copied into
 * one arena (sized up front, so it never moves) and each becomes a stream. */
typedef struct run_collector {
    char *arena;
    size_t len, cap;
    size_t run_start;
    corpus *runs;
} run_collector;

static void end_run(run_collector *rc)
{
    if (rc->len > rc->run_start)
        corpus_add(rc->runs, rc->arena + rc->run_start, rc->len - rc->run_start);
    rc->run_start = rc->len;
}

static int is_run_break_tag(const html_token *t)
{
    return sanitizer_element_breaks_run(t->name, t->name_len);
}
static int collect_token(void *ctx, const html_token *t)
{
    run_collector *rc = ctx;
    if (t->type == TOK_START_TAG || t->type == TOK_END_TAG) {
        if (is_run_break_tag(t)) end_run(rc);
        return 0;
    }
    if (t->type != TOK_CHARS) return 0;
    if (t->data_len > rc->cap - rc->len) {
        fprintf(stderr, "bench_normalize: text arena overflow\n");
        exit(2);
    }
    memcpy(rc->arena + rc->len, t->data, t->data_len);
    rc->len += t->data_len;
    return 0;
}

/* Returns the arena the runs point into. */
static char *extract_text_runs(const corpus *html, corpus *text)
{
    /* Decoding may grow text (U+0000 becomes U+FFFD): room for twice the markup. */
    run_collector rc = {malloc(2 * html->bytes + 1), 0, 2 * html->bytes + 1, 0, text};
    if (!rc.arena) exit(2);
    for (size_t i = 0; i < html->n; i++) {
        tokenizer_options o = {.tree_sim = true};
        tokenizer *t = tokenizer_new(&o, collect_token, &rc);
        if (!t) exit(2);
        for (size_t at = 0; at < html->d[i].n; at += 65536)
            tokenizer_feed(t, html->d[i].p + at,
                           html->d[i].n - at < 65536 ? html->d[i].n - at : 65536);
        tokenizer_finish(t);
        tokenizer_free(t);
        end_run(&rc);
    }
    return rc.arena;
}

static volatile size_t sink_guard;

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static void digest_view(digest *d, const norm_buf *b, size_t from)
{
    for (size_t i = from; i < b->len; i++) {
        uint64_t s = norm_src_start(b, i), e = norm_src_end(b, i);
        digest_hash(d, &b->text[i], 1);
        digest_hash(d, &s, sizeof s);
        digest_hash(d, &e, sizeof e);
        d->bytes++;
    }
}

#define KEEP_BYTES 64

/* Keeps the last KEEP_BYTES normalised bytes (moved back to a character start) as the matcher
 * keeps search context, so norm_buf_drop runs as often as it does there. */
static size_t keep_tail(norm_buf *b)
{
    if (b->len <= KEEP_BYTES) return b->len;
    size_t drop = b->len - KEEP_BYTES;
    while (drop < b->len && ((unsigned char)b->text[drop] & 0xC0) == 0x80) drop++;
    norm_buf_drop(b, drop);
    return b->len;
}

/* One pass over every document; with d set, digests the view as it is produced. */
static int feed_all(const corpus *c, size_t slice, size_t max_bytes, norm_buf *b, digest *d)
{
    size_t done = 0;
    for (size_t i = 0; i < c->n && done < max_bytes; i++) {
        norm_state st = {0};
        size_t digested = 0;
        b->len = 0;
        for (size_t at = 0; at < c->d[i].n; at += slice) {
            size_t n = c->d[i].n - at < slice ? c->d[i].n - at : slice;
            if (norm_feed(&st, b, c->d[i].p + at, n, at) != 0) return -1;
            if (d) digest_view(d, b, digested);
            sink_guard += b->len;
            digested = keep_tail(b);
        }
        if (norm_finish(&st, b) != 0) return -1;
        if (d) digest_view(d, b, digested);
        sink_guard += b->len;
        digested = keep_tail(b);
        done += c->d[i].n;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int measure(const char *label, const corpus *c, int runs, size_t slice)
{
    norm_buf b = {0};
    double t[64];
    for (int r = 0; r < runs; r++) {
        double t0 = cpu_seconds();
        if (feed_all(c, slice, SIZE_MAX, &b, NULL) != 0) return -1;
        t[r] = cpu_seconds() - t0;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    digest d = DIGEST_INIT;
    if (feed_all(c, slice, SIZE_MAX, &b, &d) != 0) return -1;
    norm_buf_free(&b);
    printf("| %-10s | %9zu | %9.1f | %9.1f | %12llu | %016llx |\n", label, c->n,
           (double)c->bytes / 1048576.0,
           (double)c->bytes / 1048576.0 / t[runs / 2], (unsigned long long)d.bytes,
           (unsigned long long)d.h);
    return 0;
}

static int streaming_check(const char *label, const corpus *c, size_t max_bytes)
{
    static const size_t slices[] = {4096, 13, 1};
    uint64_t first = 0;
    int same = 1;
    printf("| %-10s |", label);
    for (size_t k = 0; k < sizeof slices / sizeof slices[0]; k++) {
        norm_buf b = {0};
        digest d = DIGEST_INIT;
        if (feed_all(c, slices[k], max_bytes, &b, &d) != 0) return -1;
        norm_buf_free(&b);
        if (k == 0) first = d.h;
        same &= d.h == first;
        printf(" %016llx |", (unsigned long long)d.h);
    }
    printf(" %-4s |\n", same ? "yes" : "NO");
    return same ? 0 : 1;
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t max_mb = 120, check_mb = 8, slice = 4096;
    const char *list = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-mb") == 0 && i + 1 < argc)
            max_mb = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--check-mb") == 0 && i + 1 < argc)
            check_mb = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--slice") == 0 && i + 1 < argc)
            slice = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (argv[i][0] != '-' && !list)
            list = argv[i];
        else {
            fprintf(stderr, "usage: bench_normalize [--runs N] [--max-mb N] [--check-mb N] "
                            "[--slice N] [--only html|text] LIST0_FILE\n");
            return 2;
        }
    }
    if (!list) {
        fprintf(stderr, "bench_normalize: no corpus list given (run bench/build-benign-corpus.sh, "
                        "then pass DEST/html-files.lst0)\n");
        return 2;
    }
    if (runs < 1 || runs > 64) runs = 5;
    if (slice < 1) slice = 4096;
    corpus html = {0}, text = {0};
    corpus_load_list(&html, list, max_mb * 1048576);
    char *arena = extract_text_runs(&html, &text);

    printf("norm_feed in %zu-byte slices, median of %d runs (thread CPU time)\n", slice, runs);
    printf("| %-10s | %9s | %9s | %9s | %12s | %-16s |\n", "input", "streams", "MB", "MB/s",
           "view bytes", "digest");
    printf("|------------|-----------|-----------|-----------|--------------|------------------|\n");
    int html_on = !only || strcmp(only, "html") == 0, text_on = !only || strcmp(only, "text") == 0;
    if ((html_on && measure("html bytes", &html, runs, slice) != 0) ||
        (text_on && measure("text runs", &text, runs, slice) != 0)) {
        fprintf(stderr, "bench_normalize: norm_feed failed\n");
        return 1;
    }

    printf("\nstreaming check over the first %zu MB: digest by slice size\n", check_mb);
    printf("| %-10s | %-16s | %-16s | %-16s | same |\n", "input", "4096", "13", "1");
    printf("|------------|------------------|------------------|------------------|------|\n");
    int bad = html_on ? streaming_check("html bytes", &html, check_mb * 1048576) : 0;
    bad |= text_on ? streaming_check("text runs", &text, check_mb * 1048576) : 0;
    corpus_free(&html, 1);
    corpus_free(&text, 0);
    free(arena);
    return bad ? 1 : 0;
}
