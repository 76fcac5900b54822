/* common: the few things every module shares — the error value, key=value logging,
 * and clocks. Kept tiny on purpose; anything module-specific lives in its module. */
#ifndef AG_COMMON_H
#define AG_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Errors are values: a function that can fail returns AG_ERR (-1) and fills an ag_error with
 * one human-readable line naming the file, line or field at fault. Never a secret. */
#define AG_OK 0
#define AG_ERR (-1)

typedef struct ag_error {
    char msg[512];
} ag_error;

/* Formats into err (if non-NULL) and returns AG_ERR, so callers can `return ag_errorf(...)`. */
int ag_errorf(ag_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes an existing message: "prefix: old message". Returns AG_ERR. */
int ag_error_prefix(ag_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logging: one line per event on stderr, "time=... level=... event=... k=v ...".
 * The caller passes the key=value tail already formatted; values with spaces must be quoted
 * with ag_log_quote(). Thread-safe (one write(2) per line). */
typedef enum { AG_LOG_DEBUG, AG_LOG_INFO, AG_LOG_WARN, AG_LOG_ERROR } ag_log_level;
void ag_log_set_level(ag_log_level min);
void ag_log(ag_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes value into out as a log-safe token: bare if it has no space, quote, '=' or control
 * character, else double-quoted with \" \\ and \xNN escapes. Always NUL-terminates. */
const char *ag_log_quote(char *out, size_t outsz, const char *value);

/* Clocks. */
uint64_t ag_now_us(void);       /* CLOCK_REALTIME, microseconds since the epoch */
uint64_t ag_monotonic_us(void); /* CLOCK_MONOTONIC, microseconds */
/* RFC 3339 UTC with microseconds: 2026-11-26T10:00:00.123456Z. out must hold 32 bytes. */
const char *ag_format_time(char *out, size_t outsz, uint64_t epoch_us);

/* Default data directory: $AGENTGATE_DATA_DIR, else $XDG_STATE_HOME/agentgate, else
 * $HOME/.local/state/agentgate, else ./agentgate-data. Shared by `run`, `ca`, `history`. */
const char *ag_default_data_dir(char *out, size_t outsz);
/* mkdir -p with mode for the last component; returns AG_ERR with the path named. */
int ag_mkdir_p(const char *path, unsigned mode, ag_error *err);

#endif
