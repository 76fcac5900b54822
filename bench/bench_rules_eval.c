/* bench: evaluation of the instruction-like span rules. Each string of the injection corpora
 * (JSON arrays of strings) is embedded in an otherwise benign paragraph and run through the
 * matcher; the table shows, per file, the share of injection strings caught (the cut overlaps
 * the injected string) or, for benign files, the share of strings where anything was cut.
 * Optionally measures cuts per MB of visible text extracted from a real HTML corpus, and the
 * matcher's own throughput on that text.
 *
 *   bench_rules_eval [--corpus DIR] [--heldout DIR] [--html DIR|FILE|LIST0] [--rules FILE]...
 *                    [--show N] [--max-mb N]
 *
 * --html takes a tree of .html files, one .html file, or a NUL-separated list of files (the
 * html-files.lst0 that bench/build-benign-corpus.sh writes, which bench_sanitizer reads too).
 * --show N prints up to N misses and N wrongly cut strings per file (rule id and excerpt). */
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_corpus.h"
#include "common/common.h"
#include "sanitizer/instr.h"
#include "sanitizer/instr_rules.h"
#include "sanitizer/sanitizer.h"

#define PREFIX "The museum opens at nine, and the guided tours start every hour from the main hall. "
#define SUFFIX " Visitors can buy tickets at the entrance or online, and children under six enter free."
#define MAX_FILES 256

typedef struct eval_opts {
    const char *corpus;
    const char *heldout;
    const char *html;
    const char *rule_paths[16];
    size_t nrules;
    int show;
    double max_mb;
} eval_opts;

typedef struct totals {
    size_t strings, hits;
} totals;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one paragraph; returns the number of cuts, and whether a cut overlaps [a, b). */
static size_t run_paragraph(instr_matcher *m, const char *text, size_t len, uint64_t a,
                            uint64_t b, int *overlap, instr_cut *first)
{
    instr_cut c;
    size_t n = 0;
    *overlap = 0;
    instr_feed(m, text, len);
    instr_end_run(m);
    while (instr_next_cut(m, &c)) {
        if (n == 0 && first) *first = c;
        if (c.start < b && c.end > a) {
            if (!*overlap && first) *first = c;
            *overlap = 1;
        }
        n++;
    }
    return n;
}

static int eval_file(const char *dir, const char *name, const char *label, int benign,
                     const sanitizer_rules *rules, const eval_opts *o, totals *sum)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root || !json_is_array(root)) {
        fprintf(stderr, "%s:%d: %s\n", path, jerr.line, root ? "not a JSON array" : jerr.text);
        json_decref(root);
        return -1;
    }
    instr_matcher *m = instr_matcher_new(rules, 0);
    size_t strings = 0, hits = 0;
    int shown = 0;
    size_t cap = 1 << 16;
    char *para = malloc(cap);
    for (size_t i = 0; i < json_array_size(root); i++) {
        const char *s = json_string_value(json_array_get(root, i));
        if (!s) continue;
        size_t sl = strlen(s), need = sizeof PREFIX + sl + sizeof SUFFIX;
        if (need > cap) {
            cap = need * 2;
            para = realloc(para, cap);
        }
        size_t pl = strlen(PREFIX);
        memcpy(para, PREFIX, pl);
        memcpy(para + pl, s, sl);
        memcpy(para + pl + sl, SUFFIX, strlen(SUFFIX));
        size_t len = pl + sl + strlen(SUFFIX);
        int overlap;
        instr_cut first;
        size_t ncuts = run_paragraph(m, para, len, pl, pl + sl, &overlap, &first);
        int hit = benign ? ncuts > 0 : overlap;
        strings++;
        hits += (size_t)hit;
        if (o->show > 0 && shown < o->show && (benign ? hit : !hit)) {
            shown++;
            if (benign)
                printf("    cut   %-32s %.120s\n", first.rule_id, first.excerpt);
            else
                printf("    miss  %.150s\n", s);
        }
    }
    free(para);
    instr_matcher_free(m);
    json_decref(root);
    printf("| %-44s | %-6s | %7zu | %7zu | %6.1f%% |\n", label, benign ? "benign" : "attack", strings,
           hits, strings ? 100.0 * (double)hits / (double)strings : 0.0);
    sum->strings += strings;
    sum->hits += hits;
    return 0;
}

static void eval_dir(const char *dir, const char *prefix, const sanitizer_rules *rules,
                     const eval_opts *o)
{
    DIR *d = opendir(dir);
    char *names[MAX_FILES];
    size_t n = 0;
    totals attack = {0, 0}, benign = {0, 0};
    if (!d) {
        fprintf(stderr, "%s: cannot open directory\n", dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        if (strstr(e->d_name, ".attribution.") || strstr(e->d_name, "-fixtures") ||
            strstr(e->d_name, "-items"))
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        char label[300];
        int is_benign = strncmp(names[i], "benign", 6) == 0;
        snprintf(label, sizeof label, "%s%s", prefix, names[i]);
        eval_file(dir, names[i], label, is_benign, rules, o, is_benign ? &benign : &attack);
        free(names[i]);
    }
    printf("| %-44s | %-6s | %7zu | %7zu | %6.1f%% |\n", "(all attack strings)", "attack",
           attack.strings, attack.hits,
           attack.strings ? 100.0 * (double)attack.hits / (double)attack.strings : 0.0);
    printf("| %-44s | %-6s | %7zu | %7zu | %6.1f%% |\n", "(all benign strings)", "benign",
           benign.strings, benign.hits,
           benign.strings ? 100.0 * (double)benign.hits / (double)benign.strings : 0.0);
}

/* ---- HTML corpus: visible text extraction good enough to count rule hits ------------------ */

typedef struct html_stats {
    const eval_opts *o;
    uint64_t html_bytes, files;
    char *text; /* the current run */
    size_t tlen, tcap;
    char *all;  /* every run, back to back; runs[] holds their ends */
    size_t alen, acap;
    size_t *runs;
    size_t nruns, rcap;
} html_stats;

static html_stats *g_html; /* nftw has no user pointer */

static int is_block_tag(const char *t, size_t n)
{
    static const char *const blocks[] = {
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
        "br", "td", "th", "tr", "table", "pre", "section", "article", "header", "footer",
        "nav", "aside", "blockquote", "hr", "title", "body", "head", "html", "main", "form",
        "option", "figure", "figcaption", "caption", "details", "summary", "address", "meta"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (strlen(blocks[i]) == n && strncasecmp(blocks[i], t, n) == 0) return 1;
    return 0;
}

static void text_put(html_stats *h, const char *s, size_t n)
{
    if (h->tlen + n > h->tcap) {
        h->tcap = (h->tlen + n) * 2;
        h->text = realloc(h->text, h->tcap);
    }
    memcpy(h->text + h->tlen, s, n);
    h->tlen += n;
}

static void flush_run(html_stats *h)
{
    if (h->tlen == 0) return;
    if (h->alen + h->tlen > h->acap) {
        h->acap = (h->alen + h->tlen) * 2;
        h->all = realloc(h->all, h->acap);
    }
    memcpy(h->all + h->alen, h->text, h->tlen);
    h->alen += h->tlen;
    if (h->nruns == h->rcap) {
        h->rcap = h->rcap ? h->rcap * 2 : 4096;
        h->runs = realloc(h->runs, h->rcap * sizeof *h->runs);
    }
    h->runs[h->nruns++] = h->alen;
    h->tlen = 0;
}

static void extract_and_match(html_stats *h, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == '<') {
            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *e = memmem(s + i + 4, n - i - 4, "-->", 3);
                i = e ? (size_t)(e - s) + 3 : n;
                continue;
            }
            size_t j = i + 1;
            int closing = j < n && s[j] == '/';
            if (closing) j++;
            size_t ns = j;
            while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                             (s[j] >= '0' && s[j] <= '9')))
                j++;
            size_t nl = j - ns;
            const char *gt = memchr(s + j, '>', n - j);
            size_t end = gt ? (size_t)(gt - s) + 1 : n;
            if (!closing && ((nl == 6 && strncasecmp(s + ns, "script", 6) == 0) ||
                             (nl == 5 && strncasecmp(s + ns, "style", 5) == 0))) {
                const char *close = NULL;
                for (size_t k = end; k + 2 + nl <= n; k++) {
                    if (s[k] == '<' && s[k + 1] == '/' && strncasecmp(s + k + 2, s + ns, nl) == 0) {
                        close = s + k;
                        break;
                    }
                }
                const char *gt2 = close ? memchr(close, '>', (size_t)(s + n - close)) : NULL;
                i = gt2 ? (size_t)(gt2 - s) + 1 : n;
                flush_run(h);
                continue;
            }
            if (nl > 0 && is_block_tag(s + ns, nl)) flush_run(h);
            i = end;
            continue;
        }
        if (s[i] == '&') {
            static const struct { const char *name; const char *text; } ents[] = {
                {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
                {"&#39;", "'"}, {"&nbsp;", " "}, {"&#8217;", "'"}, {"&rsquo;", "'"}};
            int done = 0;
            for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++) {
                size_t l = strlen(ents[k].name);
                if (n - i >= l && memcmp(s + i, ents[k].name, l) == 0) {
                    text_put(h, ents[k].text, strlen(ents[k].text));
                    i += l;
                    done = 1;
                    break;
                }
            }
            if (done) continue;
        }
        size_t j = i + 1;
        while (j < n && s[j] != '<' && s[j] != '&') j++;
        text_put(h, s + i, j - i);
        i = j;
    }
    flush_run(h);
}

/* Reads one HTML file into the corpus; 1 once the --max-mb budget is reached. */
static int html_add_file(html_stats *h, const char *path)
{
    if ((double)h->html_bytes / 1e6 >= h->o->max_mb) return 1;
    size_t n;
    char *buf = corpus_read_file(path, &n);
    if (!buf) {
        fprintf(stderr, "%s: cannot read (skipped)\n", path);
        return 0;
    }
    h->html_bytes += n;
    h->files++;
    extract_and_match(h, buf, n);
    free(buf);
    return 0;
}

static int html_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t l = strlen(path);
    (void)st;
    (void)ftw;
    if (type != FTW_F || l < 5 || strcasecmp(path + l - 5, ".html") != 0) return 0;
    return html_add_file(g_html, path);
}

/* Every file named in a NUL-separated list. */
static void html_add_list(html_stats *h, const char *list)
{
    size_t ln;
    char *names = corpus_read_file(list, &ln);
    if (!names) return;
    for (size_t i = 0; i < ln;) {
        size_t l = strnlen(names + i, ln - i);
        char path[4096];
        snprintf(path, sizeof path, "%.*s", (int)l, names + i);
        if (l > 0 && html_add_file(h, path)) break;
        i += l + 1;
    }
    free(names);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One timed pass of a matcher over every run; returns microseconds, counts cuts. */
static uint64_t match_pass(const html_stats *h, const sanitizer_rules *rules, uint64_t *cuts,
                           int show)
{
    instr_matcher *m = instr_matcher_new(rules, 0);
    instr_cut c;
    int shown = 0;
    uint64_t t0 = ag_monotonic_us();
    size_t start = 0;
    *cuts = 0;
    for (size_t i = 0; i < h->nruns; i++) {
        instr_feed(m, h->all + start, h->runs[i] - start);
        instr_end_run(m);
        while (instr_next_cut(m, &c)) {
            (*cuts)++;
            if (shown < show) {
                shown++;
                printf("    html cut %-30s %.140s\n", c.rule_id, c.excerpt);
            }
        }
        start = h->runs[i];
    }
    uint64_t us = ag_monotonic_us() - t0;
    instr_matcher_free(m);
    return us;
}

/* Baseline ceiling: one memchr sweep of the same bytes. */
static uint64_t memchr_pass(const html_stats *h, uint64_t *found)
{
    uint64_t t0 = ag_monotonic_us();
    const char *p = h->all, *end = h->all + h->alen;
    *found = 0;
    while (p < end && (p = memchr(p, '\x01', (size_t)(end - p)))) {
        (*found)++;
        p++;
    }
    return ag_monotonic_us() - t0;
}

static int eval_html(const char *root, const sanitizer_rules *rules, const eval_opts *o)
{
    html_stats h;
    memset(&h, 0, sizeof h);
    h.o = o;
    g_html = &h;
    struct stat st;
    if (stat(root, &st) != 0) {
        fprintf(stderr, "%s: not found\n", root);
        return 1;
    }
    size_t rl = strlen(root);
    if (S_ISREG(st.st_mode) && !(rl >= 5 && strcasecmp(root + rl - 5, ".html") == 0))
        html_add_list(&h, root);
    else
        nftw(root, html_visit, 32, FTW_PHYS);
    if (h.files == 0) {
        fprintf(stderr, "%s: no HTML files (give a directory of .html files, one .html file, "
                        "or a NUL-separated list such as html-files.lst0)\n", root);
        return 1;
    }
    /* The same matcher with no rules: normalisation and bookkeeping only. */
    sanitizer_rules *none = NULL;
    ag_error err;
    uint64_t t_rules[3], t_norm[3], t_mem[3], cuts = 0, dummy = 0;
    for (int r = 0; r < 3; r++) {
        t_mem[r] = memchr_pass(&h, &dummy);
        t_rules[r] = match_pass(&h, rules, &cuts, r == 0 ? o->show : 0);
        t_norm[r] = 0;
        none = calloc(1, sizeof *none);
        if (none && instr_rules_compile(none, &err) == AG_OK)
            t_norm[r] = match_pass(&h, none, &dummy, 0);
        sanitizer_rules_free(none);
    }
    qsort(t_rules, 3, sizeof t_rules[0], cmp_u64);
    qsort(t_norm, 3, sizeof t_norm[0], cmp_u64);
    qsort(t_mem, 3, sizeof t_mem[0], cmp_u64);
    double mb = (double)h.html_bytes / 1e6, tmb = (double)h.alen / 1e6;
    printf("\n| HTML corpus | files | HTML MB | text MB | runs | rule cuts | cuts per HTML MB |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    printf("| %s | %llu | %.1f | %.1f | %zu | %llu | %.3f |\n", root, (unsigned long long)h.files,
           mb, tmb, h.nruns, (unsigned long long)cuts, mb > 0 ? (double)cuts / mb : 0.0);
    printf("\n| pass over the extracted text (median of 3) | MB/s of text | time ratio |\n");
    printf("| --- | ---: | ---: |\n");
    double base = (double)(t_norm[1] ? t_norm[1] : 1);
    printf("| memchr sweep (ceiling) | %.0f | %.3f |\n", tmb * 1e6 / ((double)t_mem[1] + 1),
           (double)t_mem[1] / base);
    printf("| matcher, no rules: normalisation only (baseline) | %.1f | 1.000 |\n",
           tmb * 1e6 / ((double)t_norm[1] + 1));
    printf("| matcher, built-in rules | %.1f | %.2f |\n", tmb * 1e6 / ((double)t_rules[1] + 1),
           (double)t_rules[1] / base);
    free(h.text);
    free(h.all);
    free(h.runs);
    return 0;
}

int main(int argc, char **argv)
{
    eval_opts o;
    memset(&o, 0, sizeof o);
    o.corpus = AG_SOURCE_DIR "/../shared/corpora/injection";
    o.heldout = AG_SOURCE_DIR "/bench/eval";
    o.max_mb = 1e9;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--corpus") == 0 && v) o.corpus = argv[++i];
        else if (strcmp(a, "--heldout") == 0 && v) o.heldout = argv[++i];
        else if (strcmp(a, "--html") == 0 && v) o.html = argv[++i];
        else if (strcmp(a, "--rules") == 0 && v && o.nrules < 16) o.rule_paths[o.nrules++] = argv[++i];
        else if (strcmp(a, "--rules") == 0 && v) {
            fprintf(stderr, "%s: at most 16 --rules files\n", argv[0]);
            return 2;
        }
        else if (strcmp(a, "--show") == 0 && v) o.show = atoi(argv[++i]);
        else if (strcmp(a, "--max-mb") == 0 && v) o.max_mb = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--corpus DIR] [--heldout DIR] [--html DIR|FILE|LIST0] "
                            "[--rules FILE]... [--show N] [--max-mb N]\n", argv[0]);
            return 2;
        }
    }
    sanitizer_rules *rules = NULL;
    ag_error err;
    if (sanitizer_rules_load(o.rule_paths, o.nrules, &rules, &err) != AG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("| file | kind | strings | caught / cut | share |\n");
    printf("| --- | --- | ---: | ---: | ---: |\n");
    eval_dir(o.corpus, "", rules, &o);
    if (o.heldout && *o.heldout) eval_dir(o.heldout, "held-out/", rules, &o);
    int rc = o.html ? eval_html(o.html, rules, &o) : 0;
    sanitizer_rules_free(rules);
    return rc;
}
