/* provenance: URL-level history of every exchange in LMDB — record format, the writer thread
 * that commits batches, the SHA-256 hash chain with Ed25519-signed checkpoints, queries and
 * export. Workers only call prov_submit(); they never touch LMDB. */
#ifndef AG_PROVENANCE_H
#define AG_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef enum {
    PROV_ALLOW = 0,
    PROV_DENY = 1,
    PROV_REPORT_ONLY_DENY = 2,
    PROV_ERROR = 3
} prov_decision;

/* One exchange. Strings are copied by prov_submit(); NULL means absent. */
typedef struct prov_record {
    uint64_t seq;         /* assigned by the writer */
    char request_id[40];
    uint64_t start_us;    /* epoch microseconds */
    uint64_t duration_us;
    const char *agent, *client_addr, *listener, *method;
    const char *url;      /* full URL; host:port for passthrough tunnels */
    const char *host;     /* lower-case host, for the host index */
    const char *referer;
    prov_decision decision;
    const char *rule, *reason;
    const char *upstream_addr;                       /* "ip:port" actually connected */
    const char *tls_fingerprint, *tls_protocol, *tls_cipher; /* upstream, when intercepted */
    int status;
    const char *content_type;
    uint64_t bytes_in, bytes_out;                    /* request bytes from client, response bytes to client */
    uint8_t body_sha256_received[32], body_sha256_delivered[32];
    int has_body_hashes;
    const char *sanitizer_report_json;               /* sanitizer_report_json() output, or NULL */
    /* sanitizer_report_removed(); 0 with a report present means "derive it from the report's
     * counts" (done by prov_submit). Drives `history --sanitized`. */
    uint64_t sanitizer_removed;
} prov_record;

typedef enum { PROV_QUEUE_BLOCK = 0, PROV_QUEUE_DROP = 1 } prov_queue_policy;

typedef struct prov_options {
    size_t queue_capacity;      /* records; default 65536 */
    prov_queue_policy when_full;
    unsigned batch_delay_ms;    /* default 50 */
    unsigned checkpoint_secs;   /* default 60 */
    size_t map_size;            /* initial LMDB map size; grows on MDB_MAP_FULL; default 64 MiB */
    size_t map_max;             /* growth stops here (then provenance_error); default 64 GiB */
    size_t batch_max;           /* records per write transaction; default 4096 */
} prov_options;

/* Fills the defaults above (callers then override what they configure). */
void prov_options_default(prov_options *opt);

typedef struct prov_store prov_store;

/* Opens (creating) DATA_DIR/provenance (LMDB) and starts the writer thread. */
int prov_open(const char *data_dir, const prov_options *opt, prov_store **out, ag_error *err);
/* Queues a copy of r. Never blocks under PROV_QUEUE_DROP (counts the drop and logs). */
int prov_submit(prov_store *s, const prov_record *r);
typedef struct prov_stats {
    uint64_t submitted, committed, dropped, batches, map_grows;
    uint64_t blocked;  /* prov_submit calls that waited for room (PROV_QUEUE_BLOCK) */
    uint64_t errors;   /* records lost to a failed commit (map at map_max, I/O error) */
    uint64_t checkpoints;
    uint64_t queued;   /* records waiting in the queue right now */
} prov_stats;
void prov_get_stats(prov_store *s, prov_stats *out);
/* Drains the queue, writes a signed checkpoint, stops the writer and closes LMDB. */
void prov_close(prov_store *s);

/* `agentgate history ...`; argv[0] is "history". Returns exit code. */
int provenance_main(int argc, char **argv);

#endif
