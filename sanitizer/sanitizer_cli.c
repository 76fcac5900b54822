/* sanitizer: `agentgate sanitize` — runs the streaming sanitizer (optionally behind the content
 * decoder) from stdin to stdout in fixed-size pieces, and writes the report as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitizer/sanitizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: agentgate sanitize [--mode strict|scripts|off] [--report FILE]\n"
            "                          [--rules FILE]... [--content-encoding gzip|deflate|br|identity]\n"
            "                          [--charset NAME] [--max-bytes N] < in.html > out.html\n"
            "  --mode              strict (default): scripts, hidden content, invisible characters\n"
            "                      and instruction-like text; scripts: script vectors only;\n"
            "                      off: re-serialized without removing anything\n"
            "  --report FILE       write the removal report as JSON (\"-\" for stderr)\n"
            "  --rules FILE        instruction rules added to the built-in ones (as the config's\n"
            "                      sanitizer.rules; repeatable, up to 16); a bad rule is an\n"
            "                      error naming its file and line\n"
            "  --content-encoding  decode the input first (as a Content-Encoding header says)\n"
            "  --charset           transcode the input from this charset to UTF-8 first\n"
            "                      (default: a byte-order mark, else the <meta> charset the\n"
            "                      document declares in its first 1024 bytes, else UTF-8\n"
            "                      unless a byte before the first UTF-8 character is not\n"
            "                      UTF-8: windows-1252, as browsers read undeclared pages)\n"
            "  --max-bytes N       memory bound per stream (default 262144)\n"
            "Exit status: 0 done, 1 input rejected (decode error, oversize), 2 usage error.\n");
}

static int write_stdout(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t w = write(STDOUT_FILENO, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

typedef struct cli_pipe {
    sanitizer *s;
    ag_error err;
    int failed;
} cli_pipe;

static int feed_sanitizer(void *ctx, const char *data, size_t len)
{
    cli_pipe *p = ctx;
    if (sanitizer_feed(p->s, data, len, &p->err) != AG_OK) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

static int write_report(const char *path, const sanitizer_report *r)
{
    char *json = sanitizer_report_json(r);
    if (!json) {
        fprintf(stderr, "agentgate sanitize: cannot format the report\n");
        return AG_ERR;
    }
    FILE *f = strcmp(path, "-") == 0 ? stderr : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "agentgate sanitize: --report %s: %s\n", path, strerror(errno));
        free(json);
        return AG_ERR;
    }
    fprintf(f, "%s\n", json);
    free(json);
    if (f != stderr && fclose(f) != 0) {
        fprintf(stderr, "agentgate sanitize: --report %s: %s\n", path, strerror(errno));
        return AG_ERR;
    }
    return AG_OK;
}

int sanitizer_main(int argc, char **argv)
{
    sanitizer_options opt = {.mode = SANITIZE_STRICT};
    const char *report = NULL, *encoding = NULL, *charset = NULL;
    const char *rule_paths[16];
    size_t nrules = 0;
    for (int i = 1; i < argc; i += 2) { /* options take a value each */
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!val) {
            fprintf(stderr, "agentgate sanitize: %s: unknown option or missing value\n", a);
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--mode") == 0) {
            if (strcmp(val, "strict") == 0)
                opt.mode = SANITIZE_STRICT;
            else if (strcmp(val, "scripts") == 0)
                opt.mode = SANITIZE_SCRIPTS;
            else if (strcmp(val, "off") == 0)
                opt.mode = SANITIZE_OFF;
            else {
                fprintf(stderr, "agentgate sanitize: --mode: expected strict, scripts or off, got '%s'\n", val);
                return 2;
            }
        } else if (strcmp(a, "--report") == 0) {
            report = val;
        } else if (strcmp(a, "--rules") == 0) {
            if (nrules == sizeof rule_paths / sizeof rule_paths[0]) {
                fprintf(stderr, "agentgate sanitize: --rules: at most 16 files\n");
                return 2;
            }
            rule_paths[nrules++] = val;
        } else if (strcmp(a, "--content-encoding") == 0) {
            encoding = val;
        } else if (strcmp(a, "--charset") == 0) {
            charset = val;
        } else if (strcmp(a, "--max-bytes") == 0) {
            char *end;
            unsigned long long n = strtoull(val, &end, 10);
            if (*end || n < 1024) {
                fprintf(stderr, "agentgate sanitize: --max-bytes: expected a number >= 1024, got '%s'\n", val);
                return 2;
            }
            opt.max_stream_bytes = (size_t)n;
        } else {
            fprintf(stderr, "agentgate sanitize: %s: unknown option\n", a);
            usage(stderr);
            return 2;
        }
    }
    cli_pipe p = {0};
    sanitizer_rules *rules = NULL;
    if (nrules > 0) {
        if (sanitizer_rules_load(rule_paths, nrules, &rules, &p.err) != AG_OK) {
            fprintf(stderr, "agentgate sanitize: %s\n", p.err.msg);
            return 2;
        }
        opt.rules = rules;
    }
    p.s = sanitizer_new(&opt, write_stdout, NULL);
    if (!p.s) {
        fprintf(stderr, "agentgate sanitize: cannot create the sanitizer (out of memory or rules)\n");
        sanitizer_rules_free(rules);
        return 1;
    }
    /* without --charset, a byte-order mark or the document's <meta> decides, as in a browser
     * given no charset by the server; UTF-8 otherwise */
    content_decoder *dec = content_decoder_new(encoding, charset, feed_sanitizer, &p, &p.err);
    if (!dec) {
        fprintf(stderr, "agentgate sanitize: %s\n", p.err.msg);
        sanitizer_free(p.s);
        sanitizer_rules_free(rules);
        return 2;
    }
    static char buf[65536];
    int rc = AG_OK;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ag_errorf(&p.err, "stdin: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        rc = dec ? content_decoder_feed(dec, buf, (size_t)n, &p.err)
                 : sanitizer_feed(p.s, buf, (size_t)n, &p.err);
        if (rc != AG_OK)
            break;
    }
    if (rc == AG_OK && dec)
        rc = content_decoder_finish(dec, &p.err);
    if (rc == AG_OK)
        rc = sanitizer_finish(p.s, &p.err);
    if (rc != AG_OK)
        fprintf(stderr, "agentgate sanitize: %s\n", p.err.msg);
    int status = rc == AG_OK ? 0 : 1;
    if (report && write_report(report, sanitizer_get_report(p.s)) != AG_OK)
        status = 1;
    content_decoder_free(dec);
    sanitizer_free(p.s);
    sanitizer_rules_free(rules); /* after the sanitizer, which uses them to the end */
    return status;
}
