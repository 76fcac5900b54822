/* provenance: `agentgate history` — filtered listings (table, jsonl, csv), show, top, follow,
 * export, verify and prune. Every read is a read-only LMDB transaction, so it runs beside a
 * proxy that is writing the same store from another process. */
#include "provenance/prov_internal.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef enum { FMT_TABLE, FMT_JSONL, FMT_CSV } out_format;
typedef enum { CMD_LIST, CMD_SHOW, CMD_TOP, CMD_EXPORT, CMD_VERIFY, CMD_PRUNE } history_cmd;

/* Options each subcommand accepts (a bit per option group). */
enum {
    OPT_FILTERS = 1, OPT_FORMAT = 2, OPT_FOLLOW = 4, OPT_BY = 8, OPT_FROM_SEQ = 16,
    OPT_BEFORE = 32, OPT_LIMIT = 64
};

typedef struct cli_opts {
    history_cmd cmd;
    char data_dir[4096];
    prov_filter f;
    out_format format;
    int follow, limit_given;
    const char *by, *before, *show_id;
    uint64_t from_seq;
} cli_opts;

static const char help_list[] =
    "usage: agentgate history [FILTERS] [--format table|jsonl|csv] [--limit N] [--follow]\n"
    "       agentgate history show SEQ|REQUEST_ID      one record, every field\n"
    "       agentgate history top --by host|agent|rule [FILTERS] [--limit N]\n"
    "       agentgate history export [--from-seq N] [--limit N]   JSONL, oldest first\n"
    "       agentgate history verify                   check the hash chain and checkpoints\n"
    "       agentgate history prune --before TIME      delete older records, keep the chain\n"
    "\n"
    "Filters:\n"
    "  --agent NAME          exact agent name\n"
    "  --host GLOB           host name glob (fnmatch, case-insensitive), e.g. '*.example.com'\n"
    "  --url SUBSTR          URL contains SUBSTR\n"
    "  --decision D          allow | deny | report-only-deny | error\n"
    "  --status N            HTTP status code\n"
    "  --since TIME          RFC 3339 (2026-11-26T10:00:00Z) or an age (30s, 30m, 2h, 7d, 2w)\n"
    "  --until TIME          same forms; records that started before TIME\n"
    "  --rule SUBSTR         the deciding rule contains SUBSTR\n"
    "  --sanitized           only records where the sanitizer removed something\n"
    "Output:\n"
    "  --limit N             at most N records, newest first (default 100; 0 = all)\n"
    "  --format F            table (default), jsonl (every field) or csv\n"
    "  --follow              print new matching records as they are written, until\n"
    "                        interrupted (or, with --limit N, after N records)\n"
    "  --data-dir DIR        the data directory of `agentgate run` (default: as `run`)\n"
    "\n"
    "Exit codes: 0 success, 1 verification failed or store unusable, 2 usage error.\n";

static const char help_show[] =
    "usage: agentgate history show SEQ|REQUEST_ID [--format table|jsonl] [--data-dir DIR]\n"
    "Prints one record with every field.\n";
static const char help_top[] =
    "usage: agentgate history top --by host|agent|rule [FILTERS] [--limit N] [--format F]\n"
    "Counts records per host, agent or rule (most first; default --limit 20).\n"
    "Filters as for `agentgate history`, e.g. --since 1h.\n";
static const char help_export[] =
    "usage: agentgate history export [--from-seq N] [--limit N] [--data-dir DIR]\n"
    "Writes every field of every record as JSON lines, oldest first. Resume an interrupted\n"
    "export with --from-seq (the last exported seq + 1).\n";
static const char help_verify[] =
    "usage: agentgate history verify [--data-dir DIR]\n"
    "Walks the hash chain from the anchor and checks every signed checkpoint. Prints the\n"
    "first broken sequence number and exits 1 when the history was edited, reordered,\n"
    "truncated or rewritten.\n";
static const char help_prune[] =
    "usage: agentgate history prune --before TIME [--data-dir DIR]\n"
    "Deletes the oldest records that started before TIME (RFC 3339 or an age like 30d) and\n"
    "records an anchor so `history verify` still passes.\n";

static const char *cmd_help(history_cmd c)
{
    switch (c) {
    case CMD_SHOW: return help_show;
    case CMD_TOP: return help_top;
    case CMD_EXPORT: return help_export;
    case CMD_VERIFY: return help_verify;
    case CMD_PRUNE: return help_prune;
    case CMD_LIST: break;
    }
    return help_list;
}

static unsigned cmd_options(history_cmd c)
{
    switch (c) {
    case CMD_LIST: return OPT_FILTERS | OPT_FORMAT | OPT_FOLLOW | OPT_LIMIT;
    case CMD_SHOW: return OPT_FORMAT;
    case CMD_TOP: return OPT_FILTERS | OPT_FORMAT | OPT_BY | OPT_LIMIT;
    case CMD_EXPORT: return OPT_FROM_SEQ | OPT_LIMIT;
    case CMD_VERIFY: return 0;
    case CMD_PRUNE: return OPT_BEFORE;
    }
    return 0;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("agentgate history: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see agentgate history --help)\n", stderr);
    va_end(ap);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return AG_ERR;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return AG_ERR;
    *out = v;
    return AG_OK;
}

/* Applies one option; returns 0, or the exit code of a usage error. */
static int apply_option(cli_opts *o, const char *name, const char *val)
{
    uint64_t n;
    if (!strcmp(name, "--agent")) {
        o->f.agent = val;
    } else if (!strcmp(name, "--host")) {
        o->f.host_glob = val;
    } else if (!strcmp(name, "--url")) {
        o->f.url_sub = val;
    } else if (!strcmp(name, "--rule")) {
        o->f.rule_sub = val;
    } else if (!strcmp(name, "--decision")) {
        if (prov_decision_parse(val, &o->f.decision) != AG_OK)
            return usage_error("--decision: '%s' is not allow, deny, report-only-deny or error",
                               val);
        o->f.has_decision = 1;
    } else if (!strcmp(name, "--status")) {
        if (parse_u64(val, &n) != AG_OK || n < 100 || n > 999)
            return usage_error("--status: '%s' is not an HTTP status code", val);
        o->f.status = (int)n;
    } else if (!strcmp(name, "--since") || !strcmp(name, "--until") ||
               !strcmp(name, "--before")) {
        uint64_t t;
        if (prov_parse_time(val, ag_now_us(), &t) != AG_OK)
            return usage_error("%s: '%s' is not a time (RFC 3339 like 2026-11-26T10:00:00Z, "
                               "or an age like 30m, 2h, 7d)", name, val);
        if (!strcmp(name, "--since"))
            o->f.since_us = t;
        else if (!strcmp(name, "--until"))
            o->f.until_us = t ? t : 1;
        else
            o->before = val;
    } else if (!strcmp(name, "--limit")) {
        if (parse_u64(val, &n) != AG_OK)
            return usage_error("--limit: '%s' is not a count", val);
        o->f.limit = n;
        o->limit_given = 1;
    } else if (!strcmp(name, "--format")) {
        if (!strcmp(val, "table"))
            o->format = FMT_TABLE;
        else if (!strcmp(val, "jsonl") || !strcmp(val, "json"))
            o->format = FMT_JSONL;
        else if (!strcmp(val, "csv"))
            o->format = FMT_CSV;
        else
            return usage_error("--format: '%s' is not table, jsonl or csv", val);
    } else if (!strcmp(name, "--by")) {
        if (strcmp(val, "host") && strcmp(val, "agent") && strcmp(val, "rule"))
            return usage_error("--by: '%s' is not host, agent or rule", val);
        o->by = val;
    } else if (!strcmp(name, "--from-seq")) {
        if (parse_u64(val, &o->from_seq) != AG_OK)
            return usage_error("--from-seq: '%s' is not a sequence number", val);
    } else if (!strcmp(name, "--data-dir")) {
        if (!*val)
            return usage_error("--data-dir: empty path");
        snprintf(o->data_dir, sizeof o->data_dir, "%s", val);
    }
    return 0;
}

static unsigned option_group(const char *name)
{
    static const char *const filters[] = {"--agent", "--host", "--url", "--rule", "--decision",
                                          "--status", "--since", "--until", "--sanitized"};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (!strcmp(name, filters[i]))
            return OPT_FILTERS;
    if (!strcmp(name, "--format"))
        return OPT_FORMAT;
    if (!strcmp(name, "--follow"))
        return OPT_FOLLOW;
    if (!strcmp(name, "--by"))
        return OPT_BY;
    if (!strcmp(name, "--from-seq"))
        return OPT_FROM_SEQ;
    if (!strcmp(name, "--before"))
        return OPT_BEFORE;
    if (!strcmp(name, "--limit"))
        return OPT_LIMIT;
    if (!strcmp(name, "--data-dir"))
        return 0x10000;
    return 0;
}

static int parse_command(const char *w, history_cmd *c)
{
    static const struct { const char *name; history_cmd cmd; } cmds[] = {
        {"show", CMD_SHOW}, {"top", CMD_TOP}, {"export", CMD_EXPORT},
        {"verify", CMD_VERIFY}, {"prune", CMD_PRUNE}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (!strcmp(w, cmds[i].name)) {
            *c = cmds[i].cmd;
            return 1;
        }
    }
    return 0;
}

/* Returns -1 to continue, else an exit code (help printed, or a usage error). */
static int parse_args(int argc, char **argv, cli_opts *o)
{
    int i = 1;
    o->cmd = CMD_LIST;
    /* --data-dir may come before the subcommand: `history --data-dir D verify` */
    int lead = 1;
    while (lead < argc && (!strcmp(argv[lead], "--data-dir") || !strncmp(argv[lead], "--data-dir=", 11)))
        lead += argv[lead][10] == '=' ? 1 : 2;
    if (lead < argc && argv[lead][0] != '-' && parse_command(argv[lead], &o->cmd)) {
        for (int j = 1; j < lead; j++) {
            int rc = apply_option(o, "--data-dir", argv[j][10] == '=' ? argv[j] + 11 : argv[++j]);
            if (rc)
                return rc;
        }
        i = lead + 1;
    }
    unsigned allowed = cmd_options(o->cmd) | 0x10000;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(cmd_help(o->cmd), stdout);
            return 0;
        }
        if (a[0] != '-' || a[1] != '-') {
            if (o->cmd == CMD_SHOW && !o->show_id) {
                o->show_id = a;
                continue;
            }
            return usage_error("unexpected argument '%s'", a);
        }
        char name[64];
        const char *eq = strchr(a, '='), *val = NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        snprintf(name, sizeof name, "%.*s", (int)(nlen < 63 ? nlen : 63), a);
        unsigned group = option_group(name);
        if (!group)
            return usage_error("unknown option '%s'", name);
        if (!(group & allowed))
            return usage_error("option '%s' does not apply here", name);
        if (!strcmp(name, "--sanitized") || !strcmp(name, "--follow")) {
            if (eq)
                return usage_error("option '%s' takes no value", name);
            if (name[2] == 's')
                o->f.sanitized_only = 1;
            else
                o->follow = 1;
            continue;
        }
        /* "--agent --limit 5" is a forgotten value, not an agent named --limit
         * (such a value can still be given as --agent=--limit) */
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            val = argv[++i];
        else
            return usage_error("option '%s' needs a value", name);
        int rc = apply_option(o, name, val);
        if (rc)
            return rc;
    }
    if (o->cmd == CMD_SHOW && !o->show_id)
        return usage_error("show: which record? give a SEQ or a REQUEST_ID");
    if (o->cmd == CMD_TOP && !o->by)
        return usage_error("top: --by host|agent|rule is required");
    if (o->cmd == CMD_PRUNE && !o->before)
        return usage_error("prune: --before TIME is required");
    if (!o->limit_given)
        o->f.limit = o->cmd == CMD_TOP ? 20 : o->cmd == CMD_EXPORT ? 0 : 100;
    return -1;
}

/* ---- output helpers ---- */

/* Control characters in recorded values (a hostile URL) are never sent to the terminal. */
static void put_safe(FILE *out, const char *s, size_t max)
{
    size_t n = strlen(s);
    int cut = max && n > max;
    if (cut)
        n = max - 3;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
    if (cut)
        fputs("...", out);
}

/* Recorded values come from the network (a Content-Type chosen by an origin): a cell that a
 * spreadsheet would run as a formula gets a leading ' (the usual CSV-injection defence). */
static void csv_field(FILE *out, const char *s, int last)
{
    s = s ? s : "";
    int formula = *s && strchr("=+-@\t\r", *s) != NULL;
    if (formula || strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        if (formula)
            fputc('\'', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static const char csv_header[] =
    "seq,request_id,time,duration_us,agent,client_addr,listener,method,url,host,referer,"
    "decision,rule,reason,upstream_addr,tls_fingerprint,tls_protocol,tls_cipher,status,"
    "content_type,bytes_in,bytes_out,sanitizer_removed,body_sha256_received,"
    "body_sha256_delivered,hash\n";

static void print_csv(FILE *out, const prov_decoded *d)
{
    const prov_record *r = &d->rec;
    char seq[24], ts[40], dur[24], st[16], bi[24], bo[24], rem[24];
    char h1[65] = "", h2[65] = "", hh[65];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)r->seq);
    snprintf(dur, sizeof dur, "%llu", (unsigned long long)r->duration_us);
    snprintf(st, sizeof st, "%d", r->status);
    snprintf(bi, sizeof bi, "%llu", (unsigned long long)r->bytes_in);
    snprintf(bo, sizeof bo, "%llu", (unsigned long long)r->bytes_out);
    snprintf(rem, sizeof rem, "%llu", (unsigned long long)r->sanitizer_removed);
    if (r->has_body_hashes) {
        prov_hex(r->body_sha256_received, 32, h1);
        prov_hex(r->body_sha256_delivered, 32, h2);
    }
    prov_hex(d->hash, 32, hh);
    const char *f[] = {seq, r->request_id, ag_format_time(ts, sizeof ts, r->start_us), dur,
                       r->agent, r->client_addr, r->listener, r->method, r->url, r->host,
                       r->referer, prov_decision_name(r->decision), r->rule, r->reason,
                       r->upstream_addr, r->tls_fingerprint, r->tls_protocol, r->tls_cipher,
                       r->status ? st : "", r->content_type, bi, bo, rem, h1, h2, hh};
    size_t n = sizeof f / sizeof f[0];
    for (size_t i = 0; i < n; i++)
        csv_field(out, f[i], i + 1 == n);
}

static int print_jsonl(FILE *out, const prov_decoded *d)
{
    char *j = prov_record_json(d);
    if (!j)
        return AG_ERR;
    fputs(j, out);
    fputc('\n', out);
    free(j);
    return AG_OK;
}

/* ---- table: rows are kept so the columns can be aligned ---- */

enum { COL_TIME, COL_SEQ, COL_AGENT, COL_DECISION, COL_STATUS, COL_METHOD, COL_REMOVED, COL_URL,
       COL_COUNT };
#define URL_WIDTH 72

typedef struct table {
    char **cells; /* rows * COL_COUNT */
    size_t rows, cap;
    size_t width[COL_COUNT];
} table;

static const char *const col_names[COL_COUNT] = {"TIME", "SEQ", "AGENT", "DECISION", "STATUS",
                                                 "METHOD", "REMOVED", "URL"};

static void row_cells(const prov_record *r, char *cells[COL_COUNT])
{
    char ts[40], buf[32];
    ag_format_time(ts, sizeof ts, r->start_us);
    memcpy(ts + 19, "Z", 2); /* seconds are enough for a listing */
    cells[COL_TIME] = strdup(ts);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->seq);
    cells[COL_SEQ] = strdup(buf);
    cells[COL_AGENT] = strdup(r->agent ? r->agent : "-");
    cells[COL_DECISION] = strdup(prov_decision_name(r->decision));
    snprintf(buf, sizeof buf, "%d", r->status);
    cells[COL_STATUS] = strdup(r->status ? buf : "-");
    cells[COL_METHOD] = strdup(r->method ? r->method : "-");
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->sanitizer_removed);
    cells[COL_REMOVED] = strdup(buf);
    cells[COL_URL] = strdup(r->url ? r->url : "-");
}

static void print_row(FILE *out, char *const cells[COL_COUNT], const size_t *width)
{
    for (int c = 0; c < COL_COUNT; c++) {
        put_safe(out, cells[c], c == COL_URL ? URL_WIDTH : 40);
        if (c + 1 < COL_COUNT) {
            size_t n = strlen(cells[c]);
            n = n > 40 ? 40 : n;
            for (size_t pad = n; pad < width[c] + 2; pad++)
                fputc(' ', out);
        }
    }
    fputc('\n', out);
}

static int table_add(void *ctx, const prov_decoded *d)
{
    table *t = ctx;
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 128;
        char **p = realloc(t->cells, cap * COL_COUNT * sizeof *p);
        if (!p)
            return 1;
        t->cells = p;
        t->cap = cap;
    }
    char **row = t->cells + t->rows * COL_COUNT;
    row_cells(&d->rec, row);
    for (int c = 0; c < COL_COUNT; c++) {
        size_t n = row[c] ? strlen(row[c]) : 0;
        n = n > 40 ? 40 : n;
        if (n > t->width[c])
            t->width[c] = n;
        if (!row[c])
            row[c] = strdup("");
    }
    t->rows++;
    return 0;
}

static void table_print(FILE *out, table *t)
{
    char *hdr[COL_COUNT];
    for (int c = 0; c < COL_COUNT; c++) {
        hdr[c] = (char *)col_names[c];
        if (strlen(col_names[c]) > t->width[c])
            t->width[c] = strlen(col_names[c]);
    }
    print_row(out, hdr, t->width);
    for (size_t r = 0; r < t->rows; r++)
        print_row(out, t->cells + r * COL_COUNT, t->width);
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->rows * COL_COUNT; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* ---- list and follow ---- */

typedef struct printer {
    FILE *out;
    out_format format;
} printer;

static int print_record(void *ctx, const prov_decoded *d)
{
    printer *p = ctx;
    if (p->format == FMT_JSONL)
        return print_jsonl(p->out, d) != AG_OK;
    print_csv(p->out, d);
    return 0;
}

static int cmd_list(prov_env *e, cli_opts *o)
{
    ag_error err;
    int rc;
    if (o->format == FMT_TABLE) {
        table t = {0};
        rc = prov_query(e, &o->f, 0, table_add, &t, NULL, &err);
        if (rc == AG_OK)
            table_print(stdout, &t);
        table_free(&t);
    } else {
        printer p = {stdout, o->format};
        if (o->format == FMT_CSV)
            fputs(csv_header, stdout);
        rc = prov_query(e, &o->f, o->format == FMT_JSONL, print_record, &p, NULL, &err);
    }
    if (rc != AG_OK) {
        fprintf(stderr, "agentgate history: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static volatile sig_atomic_t follow_stop;
static void on_follow_signal(int sig) { (void)sig; follow_stop = 1; }

static uint64_t head_seq(prov_env *e)
{
    MDB_txn *t;
    prov_chain_point head = {0};
    if (prov_txn_begin(e, MDB_RDONLY, &t, NULL) == AG_OK) {
        prov_meta_get_point(e, t, "head", &head);
        mdb_txn_abort(t);
    }
    return head.seq;
}

/* Prints matching records with seq > *last, oldest first; counts into *printed. */
static int follow_poll(prov_env *e, cli_opts *o, uint64_t *last, uint64_t *printed,
                       ag_error *err)
{
    MDB_txn *t;
    if (prov_txn_begin(e, MDB_RDONLY, &t, err) != AG_OK)
        return AG_ERR;
    MDB_cursor *c;
    mdb_cursor_open(t, e->records, &c);
    uint8_t kb[8];
    prov_be64_put(kb, *last + 1);
    MDB_val k = {8, kb}, v;
    prov_decoded d = {0};
    int rc = AG_OK;
    for (int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); r == 0;
         r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq = prov_be64_get(k.mv_data);
        if ((rc = prov_record_decode(seq, v.mv_data, v.mv_size, o->format == FMT_JSONL, &d,
                                     err)) != AG_OK)
            break;
        *last = seq;
        if (!prov_filter_match(&o->f, &d.rec))
            continue;
        if (o->format == FMT_TABLE) {
            char *cells[COL_COUNT];
            static const size_t widths[COL_COUNT] = {20, 8, 12, 8, 6, 7, 7, 0}; /* as the header */
            row_cells(&d.rec, cells);
            print_row(stdout, cells, widths);
            for (int i = 0; i < COL_COUNT; i++)
                free(cells[i]);
        } else {
            printer p = {stdout, o->format};
            print_record(&p, &d);
        }
        if (++*printed == o->f.limit && o->limit_given)
            break;
    }
    prov_decoded_free(&d);
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    fflush(stdout);
    return rc;
}

static int cmd_follow(prov_env *e, cli_opts *o)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_follow_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    uint64_t last = head_seq(e), printed = 0;
    ag_error err;
    if (o->format == FMT_CSV) {
        fputs(csv_header, stdout);
    } else if (o->format == FMT_TABLE) {
        static const size_t widths[COL_COUNT] = {20, 8, 12, 8, 6, 7, 7, 0};
        print_row(stdout, (char *const *)col_names, widths);
    }
    fflush(stdout);
    while (!follow_stop && !(o->limit_given && printed >= o->f.limit)) {
        if (follow_poll(e, o, &last, &printed, &err) != AG_OK) {
            fprintf(stderr, "agentgate history: %s\n", err.msg);
            return 1;
        }
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- show ---- */

static int find_seq(prov_env *e, MDB_txn *t, const char *id, uint64_t *seq)
{
    if (parse_u64(id, seq) == AG_OK)
        return AG_OK;
    MDB_val k = {strlen(id), (void *)id}, v;
    if (k.mv_size == 0 || k.mv_size > 39 || mdb_get(t, e->by_reqid, &k, &v) != 0 ||
        v.mv_size != 8)
        return AG_ERR;
    *seq = prov_be64_get(v.mv_data);
    return AG_OK;
}

static void show_human(const prov_decoded *d)
{
    char *j = prov_record_json(d);
    json_t *o = j ? json_loads(j, 0, NULL) : NULL;
    free(j);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        printf("%-22s ", key);
        if (json_is_string(val)) {
            put_safe(stdout, json_string_value(val), 0);
            putchar('\n');
        } else if (json_is_integer(val)) {
            printf("%lld\n", (long long)json_integer_value(val));
        } else {
            char *s = json_dumps(val, JSON_COMPACT | JSON_PRESERVE_ORDER);
            put_safe(stdout, s ? s : "", 0);
            putchar('\n');
            free(s);
        }
    }
    json_decref(o);
}

static int cmd_show(prov_env *e, cli_opts *o)
{
    MDB_txn *t;
    ag_error err;
    if (prov_txn_begin(e, MDB_RDONLY, &t, &err) != AG_OK) {
        fprintf(stderr, "agentgate history: %s\n", err.msg);
        return 1;
    }
    uint64_t seq = 0;
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    int found = find_seq(e, t, o->show_id, &seq) == AG_OK;
    if (found) {
        prov_be64_put(kb, seq);
        found = mdb_get(t, e->records, &k, &v) == 0;
    }
    int rc = 0;
    if (!found) {
        fprintf(stderr, "agentgate history show: no record '%s' in %s\n", o->show_id, e->dir);
        rc = 1;
    } else {
        prov_decoded d = {0};
        if (prov_record_decode(seq, v.mv_data, v.mv_size, 1, &d, &err) != AG_OK) {
            fprintf(stderr, "agentgate history show: %s: %s\n", e->dir, err.msg);
            rc = 1;
        } else if (o->format == FMT_JSONL) {
            print_jsonl(stdout, &d);
        } else {
            show_human(&d);
        }
        prov_decoded_free(&d);
    }
    mdb_txn_abort(t);
    return rc;
}

/* ---- top ---- */

typedef struct top_entry {
    char *key;
    uint64_t count;
} top_entry;

typedef struct top_table {
    top_entry *slots;
    size_t cap, used;
    const char *by;
} top_table;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int top_grow(top_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    top_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return AG_ERR;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].key)
            continue;
        size_t j = str_hash(t->slots[i].key) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return AG_OK;
}

static int top_add(void *ctx, const prov_decoded *d)
{
    top_table *t = ctx;
    const prov_record *r = &d->rec;
    const char *key = !strcmp(t->by, "host") ? r->host : !strcmp(t->by, "agent") ? r->agent : r->rule;
    key = key ? key : "-";
    if ((t->used + 1) * 2 > t->cap && top_grow(t) != AG_OK)
        return 1;
    size_t j = str_hash(key) & (t->cap - 1);
    while (t->slots[j].key && strcmp(t->slots[j].key, key) != 0)
        j = (j + 1) & (t->cap - 1);
    if (!t->slots[j].key) {
        if (!(t->slots[j].key = strdup(key)))
            return 1;
        t->used++;
    }
    t->slots[j].count++;
    return 0;
}

static int top_cmp(const void *a, const void *b)
{
    const top_entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->key, y->key);
}

static int cmd_top(prov_env *e, cli_opts *o)
{
    top_table t = {.by = o->by};
    ag_error err;
    uint64_t limit = o->f.limit;
    o->f.limit = 0; /* the limit applies to the groups, not the records counted */
    int rc = prov_query(e, &o->f, 0, top_add, &t, NULL, &err);
    if (rc != AG_OK) {
        fprintf(stderr, "agentgate history top: %s\n", err.msg);
        free(t.slots);
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < t.cap; i++)
        if (t.slots[i].key)
            t.slots[n++] = t.slots[i];
    qsort(t.slots, n, sizeof *t.slots, top_cmp);
    if (o->format == FMT_CSV)
        printf("count,%s\n", o->by);
    else if (o->format == FMT_TABLE)
        printf("%-10s %s\n", "COUNT", !strcmp(o->by, "host") ? "HOST" : !strcmp(o->by, "agent") ? "AGENT" : "RULE");
    for (size_t i = 0; i < n; i++) {
        if (!limit || i < limit) {
            if (o->format == FMT_JSONL) {
                json_t *j = json_pack("{s:I,s:s}", "count", (json_int_t)t.slots[i].count, o->by,
                                      t.slots[i].key);
                char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
                if (s)
                    puts(s);
                free(s);
                json_decref(j);
            } else if (o->format == FMT_CSV) {
                printf("%llu,", (unsigned long long)t.slots[i].count);
                csv_field(stdout, t.slots[i].key, 1);
            } else {
                printf("%-10llu ", (unsigned long long)t.slots[i].count);
                put_safe(stdout, t.slots[i].key, 0);
                putchar('\n');
            }
        }
        free(t.slots[i].key);
    }
    free(t.slots);
    return 0;
}

/* ---- export, verify, prune ---- */

static int cmd_export(prov_env *e, cli_opts *o)
{
    MDB_txn *t;
    ag_error err;
    if (prov_txn_begin(e, MDB_RDONLY, &t, &err) != AG_OK) {
        fprintf(stderr, "agentgate history export: %s\n", err.msg);
        return 1;
    }
    MDB_cursor *c;
    mdb_cursor_open(t, e->records, &c);
    uint8_t kb[8];
    prov_be64_put(kb, o->from_seq);
    MDB_val k = {8, kb}, v;
    prov_decoded d = {0};
    uint64_t n = 0;
    int rc = 0;
    for (int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); r == 0 && (!o->f.limit || n < o->f.limit);
         r = mdb_cursor_get(c, &k, &v, MDB_NEXT), n++) {
        if (prov_record_decode(prov_be64_get(k.mv_data), v.mv_data, v.mv_size, 1, &d, &err) !=
            AG_OK) {
            fprintf(stderr, "agentgate history export: %s: %s\n", e->dir, err.msg);
            rc = 1;
            break;
        }
        if (print_jsonl(stdout, &d) != AG_OK || ferror(stdout)) {
            fprintf(stderr, "agentgate history export: cannot write: %s\n", strerror(errno));
            rc = 1;
            break;
        }
    }
    prov_decoded_free(&d);
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    return rc;
}

static int cmd_verify(prov_env *e)
{
    prov_verify_result res;
    ag_error err;
    if (prov_verify(e, &res, &err) != AG_OK) {
        fprintf(stderr, "agentgate history verify: %s\n", err.msg);
        return 1;
    }
    if (res.note[0])
        fprintf(stderr, "note: %s\n", res.note);
    if (!res.ok) {
        printf("BROKEN at seq %llu: %s\n", (unsigned long long)res.first_bad_seq, res.problem);
        return 1;
    }
    printf("ok: %llu records (seq %llu..%llu) chained from anchor %llu; %llu signed checkpoints "
           "match\n", (unsigned long long)res.records,
           (unsigned long long)(res.records ? res.anchor_seq + 1 : 0),
           (unsigned long long)res.last_seq, (unsigned long long)res.anchor_seq,
           (unsigned long long)res.checkpoints_checked);
    return 0;
}

static int cmd_prune(prov_env *ro, const cli_opts *o)
{
    uint64_t before;
    prov_parse_time(o->before, ag_now_us(), &before);
    prov_env rw;
    ag_error err;
    prov_env_close(ro); /* one environment per process: reopen it for writing */
    if (prov_env_open(&rw, o->data_dir, 0, 0, &err) != AG_OK) {
        fprintf(stderr, "agentgate history prune: %s\n", err.msg);
        return 1;
    }
    uint64_t n = 0;
    int rc = prov_prune(&rw, before, &n, &err);
    if (rc != AG_OK)
        fprintf(stderr, "agentgate history prune: %s\n", err.msg);
    else
        printf("pruned %llu records\n", (unsigned long long)n);
    prov_env_close(&rw);
    return rc == AG_OK ? 0 : 1;
}

int provenance_main(int argc, char **argv)
{
    cli_opts o;
    memset(&o, 0, sizeof o);
    ag_default_data_dir(o.data_dir, sizeof o.data_dir);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    prov_env e;
    ag_error err;
    if (prov_env_open(&e, o.data_dir, 1, 0, &err) != AG_OK) {
        fprintf(stderr, "agentgate history: %s\n", err.msg);
        return 1;
    }
    switch (o.cmd) {
    case CMD_LIST: rc = o.follow ? cmd_follow(&e, &o) : cmd_list(&e, &o); break;
    case CMD_SHOW: rc = cmd_show(&e, &o); break;
    case CMD_TOP: rc = cmd_top(&e, &o); break;
    case CMD_EXPORT: rc = cmd_export(&e, &o); break;
    case CMD_VERIFY: rc = cmd_verify(&e); break;
    case CMD_PRUNE: rc = cmd_prune(&e, &o); break;
    }
    prov_env_close(&e);
    return rc;
}
