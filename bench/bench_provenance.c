/* bench_provenance: provenance store throughput and query latency, printed as a table of
 * medians with ratios against baselines measured in the same run (per-record commits for
 * ingest, an unindexed scan for the agent query).
 *
 *   bench_provenance [--records N] [--dir DIR]     run the benchmark (default 1000000 records)
 *   bench_provenance --load DATA_DIR [--batch-delay-ms N] < records.jsonl
 *       store the JSON records given on stdin (field names as `history --format jsonl`)
 *       through prov_open/prov_submit/prov_close; the integration tests use this to build
 *       stores with known contents. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "provenance/provenance.h"

/* ---- --load: JSON lines to records ---- */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static uint64_t jnum(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static int hex32(const char *s, uint8_t *out)
{
    if (!s || strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int record_from_json(json_t *o, prov_record *r, char **report)
{
    memset(r, 0, sizeof *r);
    snprintf(r->request_id, sizeof r->request_id, "%s", jstr(o, "request_id") ? jstr(o, "request_id") : "");
    r->start_us = json_object_get(o, "start_us") ? jnum(o, "start_us") : ag_now_us();
    r->duration_us = jnum(o, "duration_us");
    r->agent = jstr(o, "agent");
    r->client_addr = jstr(o, "client_addr");
    r->listener = jstr(o, "listener");
    r->method = jstr(o, "method");
    r->url = jstr(o, "url");
    r->host = jstr(o, "host");
    r->referer = jstr(o, "referer");
    const char *dec = jstr(o, "decision");
    r->decision = !dec || !strcmp(dec, "allow") ? PROV_ALLOW
                  : !strcmp(dec, "deny")        ? PROV_DENY
                  : !strcmp(dec, "error")       ? PROV_ERROR
                                                : PROV_REPORT_ONLY_DENY;
    r->rule = jstr(o, "rule");
    r->reason = jstr(o, "reason");
    r->upstream_addr = jstr(o, "upstream_addr");
    r->tls_fingerprint = jstr(o, "tls_fingerprint");
    r->tls_protocol = jstr(o, "tls_protocol");
    r->tls_cipher = jstr(o, "tls_cipher");
    r->status = (int)jnum(o, "status");
    r->content_type = jstr(o, "content_type");
    r->bytes_in = jnum(o, "bytes_in");
    r->bytes_out = jnum(o, "bytes_out");
    r->sanitizer_removed = jnum(o, "sanitizer_removed");
    if (jstr(o, "body_sha256_received")) {
        if (hex32(jstr(o, "body_sha256_received"), r->body_sha256_received) ||
            hex32(jstr(o, "body_sha256_delivered"), r->body_sha256_delivered))
            return -1;
        r->has_body_hashes = 1;
    }
    json_t *rep = json_object_get(o, "sanitizer_report");
    *report = rep ? json_dumps(rep, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
    r->sanitizer_report_json = *report;
    return 0;
}

static int load_main(const char *data_dir, unsigned batch_delay_ms)
{
    prov_options opt;
    prov_options_default(&opt);
    opt.batch_delay_ms = batch_delay_ms;
    prov_store *s;
    ag_error err;
    if (prov_open(data_dir, &opt, &s, &err) != AG_OK) {
        fprintf(stderr, "bench_provenance: %s\n", err.msg);
        return 1;
    }
    char line[1 << 16];
    unsigned long lineno = 0, bad = 0;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        prov_record r;
        char *report = NULL;
        if (!o || record_from_json(o, &r, &report) != 0 || prov_submit(s, &r) != AG_OK) {
            fprintf(stderr, "bench_provenance: stdin line %lu: %s\n", lineno,
                    o ? "bad record" : je.text);
            bad++;
        }
        free(report);
        json_decref(o);
    }
    prov_close(s);
    return bad ? 1 : 0;
}

/* ---- synthetic records ---- */

#define N_AGENTS 20
#define N_HOSTS 2000

typedef struct gen {
    uint64_t rng, t0, n, span_us;
    char agent[32], host[64], url[256], ua[64], rid[40];
} gen;

static uint64_t next_rand(gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static void gen_record(gen *g, uint64_t i, prov_record *r)
{
    memset(r, 0, sizeof *r);
    uint64_t x = next_rand(g);
    snprintf(g->agent, sizeof g->agent, "agent-%02llu", (unsigned long long)(x % N_AGENTS));
    snprintf(g->host, sizeof g->host, "site%llu.example%llu.com",
             (unsigned long long)(x / 7 % N_HOSTS), (unsigned long long)(x / 13 % 5));
    snprintf(g->url, sizeof g->url, "https://%s/articles/%llu/view?ref=feed&page=%llu", g->host,
             (unsigned long long)(x >> 20 & 0xfffff), (unsigned long long)(x >> 40 & 0xff));
    /* ids shaped like the proxy's: start time, worker, per-worker counter */
    snprintf(r->request_id, sizeof r->request_id, "%llx-%d-%llu",
             (unsigned long long)(g->t0 / 1000000u), (int)(i % 2), (unsigned long long)(i / 2));
    r->start_us = g->t0 + i * (g->span_us / g->n);
    r->duration_us = x % 900000;
    r->agent = g->agent;
    r->client_addr = "127.0.0.1:51234";
    r->listener = "127.0.0.1:3128";
    r->method = "GET";
    r->url = g->url;
    r->host = g->host;
    r->decision = x % 10 == 0 ? PROV_DENY : PROV_ALLOW;
    r->rule = r->decision == PROV_DENY ? "default-deny" : "docs.allow[2]";
    r->status = r->decision == PROV_DENY ? 403 : 200;
    r->upstream_addr = r->decision == PROV_DENY ? NULL : "93.184.216.34:443";
    r->tls_protocol = r->upstream_addr ? "TLSv1.3" : NULL;
    r->tls_cipher = r->upstream_addr ? "TLS_AES_128_GCM_SHA256" : NULL;
    r->tls_fingerprint = r->upstream_addr
        ? "9f:86:d0:81:88:4c:7d:65:9a:2f:ea:a0:c5:5a:d0:15:a3:bf:4f:1b:2b:0b:82:2c:d1:5d:6c:15:b0:f0:0a:08"
        : NULL;
    r->content_type = "text/html; charset=utf-8";
    r->bytes_in = 420;
    r->bytes_out = 20000 + x % 50000;
    r->has_body_hashes = r->decision == PROV_ALLOW;
    memset(r->body_sha256_received, (int)(x & 0xff), 32);
    memset(r->body_sha256_delivered, (int)(x >> 8 & 0xff), 32);
    r->sanitizer_removed = r->has_body_hashes ? x % 4 : 0;
    r->sanitizer_report_json =
        r->sanitizer_removed
            ? "{\"counts\":{\"script\":2,\"handler\":1,\"hidden\":0,\"instruction\":1},"
              "\"rules\":[\"ignore-previous\"],\"spans\":[\"Ignore all previous instructions\"]}"
            : NULL;
}

/* ---- measurements ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* CPU seconds used by this process so far (all threads): on a shared machine the wall-clock
 * rate depends on what else runs, CPU per record much less so. */
static double cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void rm_store(const char *dir)
{
    const char *names[] = {"data.mdb", "lock.mdb", "checkpoints", "checkpoint.key"};
    char p[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/provenance/%s", dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/provenance", dir);
    rmdir(p);
    rmdir(dir);
}

/* CPU seconds of this process's thread named `name` (the provenance writer), from
 * /proc/self/task; -1 when there is none. */
static double thread_cpu_secs(const char *name)
{
    DIR *dir = opendir("/proc/self/task");
    double secs = -1;
    struct dirent *de;
    while (dir && secs < 0 && (de = readdir(dir))) {
        char p[300], comm[64] = "", stat[1024];
        snprintf(p, sizeof p, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(p, sizeof p, "/proc/self/task/%s/stat", de->d_name);
        f = fopen(p, "r");
        size_t len = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f)
            fclose(f);
        stat[len] = '\0';
        /* fields after the ")" closing comm: state is field 3, utime 14, stime 15 */
        const char *q = strrchr(stat, ')');
        unsigned long long ut, st;
        if (q && sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                        &st) == 2)
            secs = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (dir)
        closedir(dir);
    return secs;
}

static double last_writer_cpu_secs; /* of the last ingest(), -1 when not measured */

/* Ingests n records; returns records/s measured from the first submit to the drained close. */
static double ingest(const char *dir, uint64_t n, size_t batch_max, uint64_t t0, uint64_t span_us,
                     prov_stats *st)
{
    prov_options opt;
    prov_options_default(&opt);
    opt.batch_max = batch_max;
    opt.queue_capacity = batch_max * 16 > 65536 ? batch_max * 16 : 65536;
    prov_store *s;
    ag_error err;
    if (prov_open(dir, &opt, &s, &err) != AG_OK) {
        fprintf(stderr, "bench_provenance: %s\n", err.msg);
        exit(1);
    }
    gen g = {.rng = 0x9e3779b97f4a7c15ull, .t0 = t0, .n = n, .span_us = span_us};
    prov_record r;
    uint64_t start = ag_monotonic_us();
    for (uint64_t i = 0; i < n; i++) {
        gen_record(&g, i, &r);
        prov_submit(s, &r);
    }
    /* wait for the writer to drain the queue, then read its CPU time before it exits */
    for (;;) {
        prov_get_stats(s, st);
        if (st->committed + st->dropped + st->errors >= n)
            break;
        usleep(2000);
    }
    last_writer_cpu_secs = thread_cpu_secs("prov-writer");
    prov_close(s);
    double secs = (double)(ag_monotonic_us() - start) / 1e6;
    return (double)n / secs;
}

/* Worker-side cost: microseconds per prov_submit() with room in the queue (the generator's
 * own time measured separately and subtracted). */
static double submit_cost_us(const char *dir, uint64_t n, uint64_t t0, uint64_t span_us)
{
    prov_options opt;
    prov_options_default(&opt);
    opt.queue_capacity = n + 1;
    prov_store *s;
    ag_error err;
    if (prov_open(dir, &opt, &s, &err) != AG_OK) {
        fprintf(stderr, "bench_provenance: %s\n", err.msg);
        exit(1);
    }
    gen g = {.rng = 0x9e3779b97f4a7c15ull, .t0 = t0, .n = n, .span_us = span_us};
    prov_record r;
    uint64_t start = ag_monotonic_us();
    for (uint64_t i = 0; i < n; i++)
        gen_record(&g, i, &r);
    uint64_t gen_us = ag_monotonic_us() - start;
    g.rng = 0x9e3779b97f4a7c15ull;
    start = ag_monotonic_us();
    for (uint64_t i = 0; i < n; i++) {
        gen_record(&g, i, &r);
        prov_submit(s, &r);
    }
    uint64_t total_us = ag_monotonic_us() - start;
    prov_close(s);
    return (double)(total_us > gen_us ? total_us - gen_us : 0) / (double)n;
}

/* Runs `agentgate history ARGS` with stdout discarded; returns milliseconds. */
static double time_cli(int argc, char **argv)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    uint64_t start = ag_monotonic_us();
    int rc = provenance_main(argc, argv);
    fflush(stdout);
    double ms = (double)(ag_monotonic_us() - start) / 1e3;
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(devnull);
    if (rc != 0) {
        fprintf(stderr, "bench_provenance: history query failed (exit %d)\n", rc);
        exit(1);
    }
    return ms;
}

static void disk_usage(const char *dir, double *pages_bytes, double *file_bytes,
                       double *record_bytes)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/provenance", dir);
    MDB_env *env;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 8);
    if (mdb_env_open(env, p, MDB_RDONLY, 0600) != 0) {
        fprintf(stderr, "bench_provenance: cannot open %s\n", p);
        exit(1);
    }
    MDB_txn *t;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &t);
    const char *dbs[] = {"records", "by_time", "by_agent", "by_host", "host_gens", "by_reqid", "meta"};
    double total = 0;
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        MDB_dbi dbi;
        MDB_stat st;
        if (mdb_dbi_open(t, dbs[i], 0, &dbi) != 0 || mdb_stat(t, dbi, &st) != 0)
            continue;
        double b = (double)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
                   st.ms_psize;
        total += b;
        if (i == 0)
            *record_bytes = b;
    }
    mdb_txn_abort(t);
    mdb_env_close(env);
    struct stat sb;
    snprintf(p, sizeof p, "%s/provenance/data.mdb", dir);
    stat(p, &sb);
    *pages_bytes = total;
    *file_bytes = (double)sb.st_blocks * 512.0; /* allocated: the map file is sparse */
}

/* The newest start time in a store (the by_time index, the same in every store format). */
static uint64_t newest_start_us(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/provenance", dir);
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 8);
    if (mdb_env_open(env, p, MDB_RDONLY, 0600) != 0 || mdb_txn_begin(env, NULL, MDB_RDONLY, &t) ||
        mdb_dbi_open(t, "by_time", 0, &dbi) || mdb_cursor_open(t, dbi, &c) ||
        mdb_cursor_get(c, &k, &v, MDB_LAST) || k.mv_size != 16) {
        fprintf(stderr, "bench_provenance: no records in %s\n", p);
        exit(1);
    }
    uint64_t us = 0;
    for (int i = 0; i < 8; i++)
        us = us << 8 | ((const uint8_t *)k.mv_data)[i];
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    mdb_env_close(env);
    return us;
}

/* Query latencies over the hour before newest_us (an absolute window, so a store built
 * earlier is measured over the same records): the agent query against the csv dump of the
 * hour, one host's newest 100, and top --by host. Medians of 11 (3 for the dump). */
static void query_rows(const char *d, uint64_t newest_us)
{
    char since[32], until[32];
    time_t s0 = (time_t)((newest_us - 3600000000ull) / 1000000u) + 1;
    time_t s1 = (time_t)(newest_us / 1000000u) + 1;
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", gmtime(&s0));
    strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", gmtime(&s1));
    enum { QRUNS = 11 };
    double q[QRUNS], scan[QRUNS], top[QRUNS], host[QRUNS];
    char *qargv[] = {"history", "--agent", "agent-07", "--since", since, "--until", until,
                     "--limit", "100", "--data-dir", (char *)d};
    char *hargv[] = {"history", "--host", "site7.example3.com", "--since", since, "--until",
                     until, "--limit", "100", "--data-dir", (char *)d};
    char *sargv[] = {"history", "--url", "site", "--since", since, "--until", until, "--limit",
                     "0", "--format", "csv", "--data-dir", (char *)d};
    char *targv[] = {"history", "top", "--by", "host", "--since", since, "--until", until,
                     "--data-dir", (char *)d};
    for (int r = 0; r < QRUNS; r++) {
        q[r] = time_cli(11, qargv);
        host[r] = time_cli(11, hargv);
        top[r] = time_cli(10, targv);
        scan[r] = r < 3 ? time_cli(13, sargv) : scan[0];
    }
    printf("window %s .. %s\n", since, until);
    printf("%-52s %11.2f ms %11.2f ms %9.1fx\n",
           "--agent X, 1h, --limit 100 (vs 1h csv dump)", median(q, QRUNS), median(scan, 3),
           median(scan, 3) / median(q, QRUNS));
    printf("%-52s %11.2f ms\n", "--host H, 1h, --limit 100", median(host, QRUNS));
    printf("%-52s %11.2f ms\n", "top --by host, 1h", median(top, QRUNS));
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    size_t batch = 4096;
    uint64_t span_hours = 10;
    const char *dir = NULL;
    int build_only = 0, query_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--load") && i + 1 < argc) {
            unsigned delay = 50;
            if (i + 3 < argc && !strcmp(argv[i + 2], "--batch-delay-ms"))
                delay = (unsigned)atoi(argv[i + 3]);
            return load_main(argv[i + 1], delay);
        } else if (!strcmp(argv[i], "--records") && i + 1 < argc) {
            n = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--span-hours") && i + 1 < argc) {
            span_hours = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--build-only")) {
            build_only = 1;
        } else if (!strcmp(argv[i], "--query-only")) {
            query_only = 1;
        } else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_provenance [--records N] [--span-hours H] [--batch N] [--dir DIR]\n"
                            "                        [--build-only | --query-only]\n"
                            "       bench_provenance --load DATA_DIR [--batch-delay-ms N] < records.jsonl\n");
            return 2;
        }
    }
    char tmpl[] = "/tmp/bench_provenance.XXXXXX";
    char base[4096];
    snprintf(base, sizeof base, "%s", dir ? dir : mkdtemp(tmpl));
    char d[4200];
    uint64_t span_us = span_hours * 3600ull * 1000000u;
    uint64_t now = ag_now_us(), t0 = now - span_us;
    ag_log_set_level(AG_LOG_WARN);
    prov_stats st;

    if (build_only) {
        /* one row: the sustained rate building the whole store, and its size */
        snprintf(d, sizeof d, "%s/big", base);
        double cpu0 = cpu_secs();
        double rate = ingest(d, n, batch, t0, span_us, &st);
        double cpu_us = (cpu_secs() - cpu0) * 1e6 / (double)n;
        double pages, file, rec_bytes = 0;
        disk_usage(d, &pages, &file, &rec_bytes);
        double writer_us = last_writer_cpu_secs * 1e6 / (double)n;
        printf("build %llu records: %.0f/s, CPU/record %.2f us all threads, %.2f us writer "
               "thread (one core: %.0f/s), %.0f B/record in pages, %.0f B allocated\n",
               (unsigned long long)n, rate, cpu_us, writer_us, 1e6 / writer_us,
               pages / (double)n, file / (double)n);
        if (!dir) {
            rm_store(d);
            rmdir(base);
        }
        return 0;
    }

    if (query_only) {
        if (!dir) {
            fprintf(stderr, "bench_provenance: --query-only needs --dir of a --build-only run\n");
            return 2;
        }
        snprintf(d, sizeof d, "%s/big", base);
        query_rows(d, newest_start_us(d));
        return 0;
    }

    /* ingest: batched (3 runs of 200k) against one transaction per record (5k) */
    enum { RUNS = 3 };
    double rates[RUNS];
    for (int r = 0; r < RUNS; r++) {
        snprintf(d, sizeof d, "%s/ingest%d", base, r);
        rates[r] = ingest(d, 200000, batch, t0, span_us, &st);
        rm_store(d);
    }
    double batched = median(rates, RUNS);
    snprintf(d, sizeof d, "%s/single", base);
    double single = ingest(d, 5000, 1, t0, span_us, &st);
    rm_store(d);

    double submit_us[RUNS];
    for (int r = 0; r < RUNS; r++) {
        snprintf(d, sizeof d, "%s/submit%d", base, r);
        submit_us[r] = submit_cost_us(d, 100000, t0, span_us);
        rm_store(d);
    }
    double submit_med = median(submit_us, RUNS);

    /* the query store */
    snprintf(d, sizeof d, "%s/big", base);
    double big_rate = ingest(d, n, batch, t0, span_us, &st);
    double pages, file, rec_bytes = 0;
    disk_usage(d, &pages, &file, &rec_bytes);

    enum { QRUNS = 11 };
    double q[QRUNS], scan[QRUNS], top[QRUNS];
    char *qargv[] = {"history", "--agent", "agent-07", "--since", "1h", "--limit", "100",
                     "--data-dir", d};
    char *sargv[] = {"history", "--url", "site", "--since", "1h", "--limit", "0", "--format",
                     "csv", "--data-dir", d};
    char *targv[] = {"history", "top", "--by", "host", "--since", "1h", "--data-dir", d};
    for (int r = 0; r < QRUNS; r++) {
        q[r] = time_cli(9, qargv);
        top[r] = time_cli(8, targv);
        scan[r] = r < 3 ? time_cli(11, sargv) : scan[0];
    }
    double qm = median(q, QRUNS), tm = median(top, QRUNS), sm = median(scan, 3);

    printf("provenance benchmark: %llu records over the last %llu h (%llu in the last hour), "
           "%d agents, %d hosts, batch %zu\n\n", (unsigned long long)n,
           (unsigned long long)span_hours, (unsigned long long)(n / (span_hours ? span_hours : 1)),
           N_AGENTS, N_HOSTS, batch);
    printf("%-52s %14s %14s %10s\n", "measurement", "median", "baseline", "ratio");
    printf("%-52s %11.0f/s %11.0f/s %9.1fx\n", "ingest, batched (200k, 3 runs) vs 1 record/txn",
           batched, single, batched / single);
    printf("%-52s %11.0f/s %14s %10s\n", "ingest while building the query store", big_rate, "-",
           "-");
    printf("%-52s %11.2f us %14s %10s\n", "prov_submit() per record, worker side (100k, 3 runs)",
           submit_med, "-", "-");
    printf("%-52s %12.0f B %12.0f B %10s\n", "on disk per record (pages used; blocks allocated)",
           pages / (double)n, file / (double)n, "-");
    printf("%-52s %12.0f B %14s %10s\n", "  of which the records database", rec_bytes / (double)n,
           "-", "-");
    printf("%-52s %11.2f ms %11.2f ms %9.1fx\n",
           "--agent X --since 1h --limit 100 (vs 1h csv dump)", qm, sm, sm / qm);
    printf("%-52s %11.2f ms %14s %10s\n", "top --by host --since 1h", tm, "-", "-");
    printf("\ntargets: ingest >= 100000/s, <= 1024 B/record, query < 50 ms, top < 1000 ms\n");
    if (!dir) {
        rm_store(d);
        rmdir(base);
    }
    return 0;
}
