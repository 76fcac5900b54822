/* Unit tests: the writer thread — batching, the batch delay, both queue-full policies (with a
 * second process holding LMDB's write lock so the writer is provably stuck), map growth from a
 * tiny map and the error when it may not grow, and clear errors for missing/corrupt stores. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "prov_test_util.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A child process that takes the store's write lock on request, stalling our writer. */
typedef struct locker {
    pid_t pid;
    int cmd, ack;
} locker;

static void locker_child(const char *data_dir, int cmd, int ack)
{
    char c;
    if (read(cmd, &c, 1) != 1)
        _exit(1);
    prov_env e;
    ag_error err;
    MDB_txn *t;
    if (prov_env_open(&e, data_dir, 0, 0, &err) != AG_OK || mdb_txn_begin(e.env, NULL, 0, &t))
        _exit(2);
    if (write(ack, "l", 1) != 1 || read(cmd, &c, 1) != 1)
        _exit(3);
    mdb_txn_abort(t);
    prov_env_close(&e);
    _exit(0);
}

static locker locker_start(const char *data_dir)
{
    int c[2], a[2];
    cr_assert_eq(pipe(c), 0);
    cr_assert_eq(pipe(a), 0);
    locker l = {0};
    l.pid = fork();
    cr_assert_geq(l.pid, 0);
    if (l.pid == 0) {
        close(c[1]);
        close(a[0]);
        locker_child(data_dir, c[0], a[1]);
    }
    close(c[0]);
    close(a[1]);
    l.cmd = c[1];
    l.ack = a[0];
    return l;
}

static void locker_lock(locker *l)
{
    char c;
    cr_assert_eq(write(l->cmd, "L", 1), 1);
    cr_assert_eq(read(l->ack, &c, 1), 1, "the locker could not take the write lock");
}

static void locker_release(locker *l)
{
    int st;
    cr_assert_eq(write(l->cmd, "R", 1), 1);
    cr_assert_eq(waitpid(l->pid, &st, 0), l->pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(l->cmd);
    close(l->ack);
}

static void wait_queue_empty(prov_store *s)
{
    prov_stats st;
    for (int i = 0; i < 500; i++) {
        prov_get_stats(s, &st);
        if (st.queued == 0)
            return;
        sleep_ms(10);
    }
    cr_assert_fail("the writer never took the first batch");
}

static uint64_t count_records(const char *data_dir)
{
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, data_dir, 1, 0, &err), AG_OK, "%s", err.msg);
    prov_verify_result res;
    cr_assert_eq(prov_verify(&e, &res, &err), AG_OK, "%s", err.msg);
    cr_assert(res.ok, "verify: %s", res.problem);
    prov_env_close(&e);
    return res.records;
}

static prov_store *open_store(const char *dir, size_t cap, size_t batch, unsigned delay_ms,
                              prov_queue_policy pol)
{
    prov_options o;
    prov_options_default(&o);
    o.queue_capacity = cap;
    o.batch_max = batch;
    o.batch_delay_ms = delay_ms;
    o.when_full = pol;
    prov_store *s;
    ag_error err;
    cr_assert_eq(prov_open(dir, &o, &s, &err), AG_OK, "%s", err.msg);
    return s;
}

static void submit_n(prov_store *s, uint64_t first, uint64_t n, int *fails)
{
    for (uint64_t i = first; i < first + n; i++) {
        test_rec t;
        test_record(i, &t);
        if (prov_submit(s, &t.r) != AG_OK && fails)
            (*fails)++;
    }
}

Test(writer, batches_by_size_then_by_close)
{
    char *dir = make_tmpdir();
    prov_store *s = open_store(dir, 1000, 100, 300, PROV_QUEUE_BLOCK);
    submit_n(s, 0, 250, NULL);
    prov_stats st;
    prov_get_stats(s, &st);
    cr_assert_eq(st.submitted, 250);
    prov_close(s); /* drains */
    s = open_store(dir, 1000, 100, 300, PROV_QUEUE_BLOCK);
    prov_close(s);
    cr_assert_eq(count_records(dir), 250);
    rm_tree(dir);
    free(dir);
}

Test(writer, batch_count_and_delay)
{
    char *dir = make_tmpdir();
    prov_store *s = open_store(dir, 1000, 100, 300, PROV_QUEUE_BLOCK);
    submit_n(s, 0, 250, NULL);
    sleep_ms(1500);
    prov_stats st;
    prov_get_stats(s, &st);
    cr_assert_eq(st.committed, 250);
    cr_assert_eq(st.batches, 3, "250 records in batches of 100 took %llu transactions",
                 (unsigned long long)st.batches);
    /* one record waits at most the batch delay, not for a full batch */
    submit_n(s, 250, 1, NULL);
    sleep_ms(1000);
    prov_get_stats(s, &st);
    cr_assert_eq(st.committed, 251);
    cr_assert_eq(st.batches, 4);
    prov_close(s);
    rm_tree(dir);
    free(dir);
}

/* Sends this process's stderr to a file so a test can read the log lines. */
static int capture_stderr(const char *path)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    return saved;
}

static char *restore_stderr(int saved, const char *path)
{
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char *text = calloc(1, 1 << 16);
    size_t n = fread(text, 1, (1 << 16) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

Test(writer, queue_full_drop_counts_exactly)
{
    char *dir = make_tmpdir();
    char log[600];
    snprintf(log, sizeof log, "%s.log", dir);
    int saved = capture_stderr(log);
    locker l = locker_start(dir);
    prov_store *s = open_store(dir, 8, 8, 10000, PROV_QUEUE_DROP);
    locker_lock(&l);
    int fails = 0;
    submit_n(s, 0, 8, &fails); /* a full queue is flushed at once... */
    wait_queue_empty(s);       /* ...and the writer is now stuck on the lock */
    submit_n(s, 8, 20, &fails);
    prov_stats st;
    prov_get_stats(s, &st);
    cr_assert_eq(st.dropped, 12, "dropped %llu", (unsigned long long)st.dropped);
    cr_assert_eq(fails, 12);
    cr_assert_eq(st.queued, 8);
    locker_release(&l);
    prov_close(s);
    char *text = restore_stderr(saved, log);
    unlink(log);
    /* loud, not silent: logged at once (then at most once a second) */
    cr_assert(strstr(text, "level=error event=provenance_drop total=1 ") != NULL, "%s", text);
    free(text);
    cr_assert_eq(count_records(dir), 16);
    rm_tree(dir);
    free(dir);
}

Test(writer, checkpoints_periodically_and_at_close)
{
    char *dir = make_tmpdir();
    prov_options o;
    prov_options_default(&o);
    o.checkpoint_secs = 1;
    o.batch_delay_ms = 5;
    prov_store *s;
    ag_error err;
    cr_assert_eq(prov_open(dir, &o, &s, &err), AG_OK, "%s", err.msg);
    submit_n(s, 0, 5, NULL);
    prov_stats st = {0};
    for (int i = 0; i < 300 && st.checkpoints == 0; i++) {
        sleep_ms(10);
        prov_get_stats(s, &st);
    }
    cr_assert_eq(st.checkpoints, 1, "no checkpoint within 3 s");
    submit_n(s, 5, 5, NULL);
    prov_close(s);
    char p[600], line[512];
    snprintf(p, sizeof p, "%s/provenance/checkpoints", dir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    unsigned long long seqs[2] = {0, 0};
    int n = 0;
    while (n < 2 && fgets(line, sizeof line, f))
        seqs[n++] = strtoull(line, NULL, 10);
    fclose(f);
    cr_assert_eq(n, 2);
    cr_assert_eq(seqs[0], 5);
    cr_assert_eq(seqs[1], 10);
    struct stat ks;
    snprintf(p, sizeof p, "%s/provenance/checkpoint.key", dir);
    cr_assert_eq(stat(p, &ks), 0);
    cr_assert_eq(ks.st_mode & 0777, 0600);
    cr_assert_eq(count_records(dir), 10);
    rm_tree(dir);
    free(dir);
}

typedef struct blocked_producer {
    prov_store *s;
    volatile int done;
} blocked_producer;

static void *produce_five(void *arg)
{
    blocked_producer *p = arg;
    submit_n(p->s, 16, 5, NULL);
    p->done = 1;
    return NULL;
}

Test(writer, queue_full_block_loses_nothing)
{
    char *dir = make_tmpdir();
    locker l = locker_start(dir);
    prov_store *s = open_store(dir, 8, 8, 10000, PROV_QUEUE_BLOCK);
    locker_lock(&l);
    submit_n(s, 0, 8, NULL);
    wait_queue_empty(s);
    submit_n(s, 8, 8, NULL); /* fills the queue again */
    blocked_producer p = {s, 0};
    pthread_t th;
    pthread_create(&th, NULL, produce_five, &p);
    sleep_ms(300);
    prov_stats st;
    prov_get_stats(s, &st);
    cr_assert_eq(p.done, 0, "the producer did not wait for room");
    cr_assert_eq(st.blocked, 1);
    cr_assert_eq(st.dropped, 0);
    locker_release(&l);
    pthread_join(th, NULL);
    prov_close(s);
    cr_assert_eq(count_records(dir), 21);
    rm_tree(dir);
    free(dir);
}

Test(writer, map_grows_from_a_tiny_map)
{
    char *dir = make_tmpdir();
    prov_options o;
    prov_options_default(&o);
    o.map_size = 128 << 10;
    o.batch_delay_ms = 5;
    prov_store *s;
    ag_error err;
    cr_assert_eq(prov_open(dir, &o, &s, &err), AG_OK, "%s", err.msg);
    submit_n(s, 0, 5000, NULL);
    prov_close(s);
    s = NULL;
    cr_assert_eq(count_records(dir), 5000);
    /* the grown size sticks: reopening with the tiny size keeps the data */
    cr_assert_eq(prov_open(dir, &o, &s, &err), AG_OK, "%s", err.msg);
    submit_n(s, 5000, 10, NULL);
    prov_close(s);
    cr_assert_eq(count_records(dir), 5010);
    rm_tree(dir);
    free(dir);
}

Test(writer, map_growth_is_counted)
{
    char *dir = make_tmpdir();
    prov_options o;
    prov_options_default(&o);
    o.map_size = 128 << 10;
    o.batch_delay_ms = 5;
    prov_store *s;
    ag_error err;
    cr_assert_eq(prov_open(dir, &o, &s, &err), AG_OK, "%s", err.msg);
    submit_n(s, 0, 5000, NULL);
    for (int i = 0; i < 500; i++) {
        prov_stats st;
        prov_get_stats(s, &st);
        if (st.committed == 5000) {
            cr_assert_geq(st.map_grows, 1);
            cr_assert_eq(st.errors, 0);
            prov_close(s);
            rm_tree(dir);
            free(dir);
            return;
        }
        sleep_ms(20);
    }
    cr_assert_fail("records were not committed");
}

Test(writer, map_at_its_maximum_fails_loudly_not_fatally)
{
    char *dir = make_tmpdir();
    prov_options o;
    prov_options_default(&o);
    o.map_size = o.map_max = 128 << 10;
    o.batch_delay_ms = 5;
    o.batch_max = 100;
    prov_store *s;
    ag_error err;
    cr_assert_eq(prov_open(dir, &o, &s, &err), AG_OK, "%s", err.msg);
    submit_n(s, 0, 5000, NULL);
    for (int i = 0; i < 500; i++) {
        prov_stats st;
        prov_get_stats(s, &st);
        if (st.committed + st.errors == 5000)
            break;
        sleep_ms(20);
    }
    prov_stats st;
    prov_get_stats(s, &st);
    prov_close(s);
    cr_assert_gt(st.errors, 0);
    cr_assert_gt(st.committed, 0);
    cr_assert_eq(st.committed + st.errors, 5000);
    cr_assert_eq(count_records(dir), st.committed);
    rm_tree(dir);
    free(dir);
}

Test(store, missing_and_corrupt_stores_are_named)
{
    char *dir = make_tmpdir();
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, dir, 1, 0, &err), AG_ERR);
    cr_assert(strstr(err.msg, "no provenance store at") && strstr(err.msg, dir), "%s", err.msg);
    char p[512];
    snprintf(p, sizeof p, "%s/provenance", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/provenance/data.mdb", dir);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 4096; i++)
        fputc('x', f);
    fclose(f);
    cr_assert_eq(prov_env_open(&e, dir, 1, 0, &err), AG_ERR);
    cr_assert(strstr(err.msg, "/provenance") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "corrupt") != NULL, "%s", err.msg);
    prov_store *s;
    cr_assert_eq(prov_open(dir, NULL, &s, &err), AG_ERR);
    cr_assert(strstr(err.msg, "/provenance") != NULL, "%s", err.msg);
    rm_tree(dir);
    free(dir);
}

Test(writer, report_counts_become_sanitizer_removed)
{
    char *dir = make_tmpdir();
    prov_store *s = open_store(dir, 100, 10, 5, PROV_QUEUE_BLOCK);
    test_rec t;
    test_record(1, &t);
    t.r.sanitizer_removed = 0;
    t.r.sanitizer_report_json = "{\"counts\":{\"script\":2,\"hidden\":3,\"comment\":0}}";
    cr_assert_eq(prov_submit(s, &t.r), AG_OK);
    prov_close(s);
    prov_env e;
    ag_error err;
    cr_assert_eq(prov_env_open(&e, dir, 1, 0, &err), AG_OK);
    MDB_txn *tx;
    mdb_txn_begin(e.env, NULL, MDB_RDONLY, &tx);
    uint8_t kb[8];
    prov_be64_put(kb, 1);
    MDB_val k = {8, kb}, v;
    cr_assert_eq(mdb_get(tx, e.records, &k, &v), 0);
    prov_decoded d = {0};
    cr_assert_eq(prov_record_decode(1, v.mv_data, v.mv_size, 1, &d, &err), AG_OK);
    cr_assert_eq(d.rec.sanitizer_removed, 5);
    prov_decoded_free(&d);
    mdb_txn_abort(tx);
    prov_env_close(&e);
    rm_tree(dir);
    free(dir);
}
