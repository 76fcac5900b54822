/* tests (sanitizer): split invariance of the tokenizer. Every input of the html5lib tokenizer
 * suite and of the parse5 parser-feedback suite is split at every byte position (two feeds),
 * (documents over 512 bytes: 512 spread positions) and also fed one byte at a time; a large document built from all of them plus the XSS corpus
 * is fed in random splits. The tokens must equal those of a single feed every time. */
#include <criterion/criterion.h>
#include <dirent.h>

#include "test_tokenizer_harness.h"

typedef struct doc {
    tstr in;
    tokenizer_text_state st;
    char last[64];
    bool has_last, tree;
} doc;

typedef struct doc_set {
    doc *d;
    size_t n, cap;
} doc_set;

static void add_doc(doc_set *s, doc d)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->d = realloc(s->d, s->cap * sizeof *s->d);
    }
    s->d[s->n++] = d;
}

static void load_file(doc_set *set, const char *path, bool tree)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    cr_assert(root, "%s: %s", path, jerr.text);
    json_t *tests = json_object_get(root, "tests");
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t) {
        bool dbl = json_is_true(json_object_get(t, "doubleEscaped"));
        json_t *states = json_object_get(t, "initialStates");
        size_t ns = states ? json_array_size(states) : 1;
        const char *last = json_string_value(json_object_get(t, "lastStartTag"));
        for (size_t k = 0; k < ns; k++) {
            doc d = {.in = json_str(json_object_get(t, "input"), dbl), .tree = tree};
            if (states)
                state_from_name(json_string_value(json_array_get(states, k)), &d.st);
            if (last) {
                snprintf(d.last, sizeof d.last, "%s", last);
                d.has_last = true;
            }
            add_doc(set, d);
        }
    }
    json_decref(root);
}

static void load_dir(doc_set *set, const char *sub, bool tree)
{
    char *dir = path_join(corpora_dir(), sub);
    DIR *dh = opendir(dir);
    cr_assert(dh, "cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(dh)))
        if (strstr(e->d_name, ".test") && !strstr(e->d_name, "xmlViolation")) {
            char *p = path_join(dir, e->d_name);
            load_file(set, p, tree);
            free(p);
        }
    closedir(dh);
    free(dir);
}

static size_t check_doc(const doc *d, size_t *cases)
{
    tokenizer_options opt = {.tree_sim = d->tree};
    const char *last = d->has_last ? d->last : NULL;
    tok_list whole = {0};
    tokenize_split(&opt, d->st, last, d->in.p, d->in.n, NULL, 0, &whole);
    size_t failures = 0;
    /* every position for documents up to 512 bytes, 512 evenly spread positions beyond */
    size_t step = d->in.n > 512 ? d->in.n / 512 : 1;
    for (size_t cut = 1; cut < d->in.n; cut += step) {
        tok_list got = {0};
        tokenize_split(&opt, d->st, last, d->in.p, d->in.n, &cut, 1, &got);
        (*cases)++;
        if (!tok_list_equal(&got, &whole) && failures++ < 3)
            fprintf(stderr, "  split at %zu differs: %.*s\n", cut, (int)d->in.n, d->in.p);
        tok_list_free(&got);
    }
    if (d->in.n > 1) {
        size_t *cuts = malloc(d->in.n * sizeof *cuts);
        for (size_t i = 0; i + 1 < d->in.n; i++)
            cuts[i] = i + 1;
        tok_list got = {0};
        tokenize_split(&opt, d->st, last, d->in.p, d->in.n, cuts, d->in.n - 1, &got);
        (*cases)++;
        if (!tok_list_equal(&got, &whole) && failures++ < 3)
            fprintf(stderr, "  byte-by-byte differs: %.*s\n", (int)d->in.n, d->in.p);
        tok_list_free(&got);
        free(cuts);
    }
    tok_list_free(&whole);
    return failures;
}

static void free_set(doc_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->d[i].in.p);
    free(s->d);
}

Test(split, html5lib_every_position, .timeout = 300)
{
    doc_set set = {0};
    load_dir(&set, "html5lib-tests/tokenizer", false);
    size_t failures = 0, cases = 0;
    for (size_t i = 0; i < set.n; i++)
        failures += check_doc(&set.d[i], &cases);
    fprintf(stderr, "split html5lib: %zu documents, %zu split runs, %zu differ\n", set.n, cases,
            failures);
    free_set(&set);
    cr_assert_eq(failures, 0);
}

Test(split, parse5_every_position, .timeout = 300)
{
    doc_set set = {0};
    load_dir(&set, "parse5-parser-feedback", true);
    size_t failures = 0, cases = 0;
    for (size_t i = 0; i < set.n; i++)
        failures += check_doc(&set.d[i], &cases);
    fprintf(stderr, "split parse5: %zu documents, %zu split runs, %zu differ\n", set.n, cases,
            failures);
    free_set(&set);
    cr_assert_eq(failures, 0);
}

static void append_json_strings(tstr *big, const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    cr_assert(root, "%s: %s", path, jerr.text);
    size_t i;
    json_t *v;
    json_array_foreach(root, i, v) {
        if (json_is_string(v)) {
            tstr_append(big, json_string_value(v), json_string_length(v));
            tstr_append(big, "\n</script></style></title></textarea></svg></math>\n", 52);
        }
    }
    json_decref(root);
}

Test(split, large_document_random_splits, .timeout = 300)
{
    doc_set set = {0};
    load_dir(&set, "parse5-parser-feedback", true);
    tstr big = {0};
    tstr_append(&big, "", 0);
    for (size_t i = 0; i < set.n; i++) {
        if (strcasestr(set.d[i].in.p, "plaintext"))
            continue; /* would turn the rest of the document into text */
        tstr_append(&big, set.d[i].in.p, set.d[i].in.n);
        tstr_append(&big, "\n-->\">'></script></style></title></textarea></svg></math>\n", 58);
    }
    free_set(&set);
    static const char *const xss[] = {"dompurify-payloads.json", "h5sc-payloads.json",
                                      "payloadsallthethings-xss.json"};
    for (size_t k = 0; k < 3; k++) {
        char *dir = path_join(corpora_dir(), "xss");
        char *p = path_join(dir, xss[k]);
        append_json_strings(&big, p);
        free(p);
        free(dir);
    }
    tokenizer_options opt = {.tree_sim = true};
    tok_list whole = {0};
    tokenize_split(&opt, TS_DATA, NULL, big.p, big.n, NULL, 0, &whole);
    unsigned seed = 12345;
    size_t failures = 0;
    enum { RUNS = 40, MAXCUTS = 4096 };
    size_t *cuts = malloc(MAXCUTS * sizeof *cuts);
    for (int r = 0; r < RUNS; r++) {
        size_t n = 0, at = 0;
        size_t maxstep = (size_t)1 << (r % 12 + 1);
        while (n < MAXCUTS) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 8) % maxstep;
            if (at >= big.n)
                break;
            cuts[n++] = at;
        }
        tok_list got = {0};
        tokenize_split(&opt, TS_DATA, NULL, big.p, big.n, cuts, n, &got);
        if (!tok_list_equal(&got, &whole))
            failures++;
        tok_list_free(&got);
    }
    fprintf(stderr, "split large: %zu bytes, %zu tokens, %d random splittings, %zu differ\n",
            big.n, whole.n, RUNS, failures);
    free(cuts);
    tok_list_free(&whole);
    free(big.p);
    cr_assert_eq(failures, 0);
}
