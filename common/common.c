/* common: error values, key=value logging to stderr, clocks, and the default data directory. */
#include "common/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ag_errorf(ag_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return AG_ERR;
}

int ag_error_prefix(ag_error *err, const char *fmt, ...)
{
    if (!err)
        return AG_ERR;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return AG_ERR;
}

static ag_log_level log_min = AG_LOG_INFO;

void ag_log_set_level(ag_log_level min) { log_min = min; }

void ag_log(ag_log_level level, const char *event, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_min)
        return;
    char line[4096], ts[40];
    int n = snprintf(line, sizeof line, "time=%s level=%s event=%s",
                     ag_format_time(ts, sizeof ts, ag_now_us()), names[level], event);
    if (fmt && *fmt && n > 0 && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        n = m < 0 ? n : n + m;
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

const char *ag_log_quote(char *out, size_t outsz, const char *value)
{
    if (outsz == 0)
        return out;
    if (!value)
        value = "-";
    int bare = *value != '\0';
    for (const unsigned char *p = (const unsigned char *)value; *p && bare; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            bare = 0;
    if (bare) {
        snprintf(out, outsz, "%s", value);
        return out;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)value; *p && o + 6 < outsz; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f) {
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    if (o + 1 < outsz)
        out[o++] = '"';
    out[o < outsz ? o : outsz - 1] = '\0';
    return out;
}

uint64_t ag_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t ag_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *ag_format_time(char *out, size_t outsz, uint64_t epoch_us)
{
    time_t secs = (time_t)(epoch_us / 1000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%06uZ", base, (unsigned)(epoch_us % 1000000u));
    return out;
}

const char *ag_default_data_dir(char *out, size_t outsz)
{
    const char *v = getenv("AGENTGATE_DATA_DIR");
    if (v && *v) {
        snprintf(out, outsz, "%s", v);
    } else if ((v = getenv("XDG_STATE_HOME")) && *v) {
        snprintf(out, outsz, "%s/agentgate", v);
    } else if ((v = getenv("HOME")) && *v) {
        snprintf(out, outsz, "%s/.local/state/agentgate", v);
    } else {
        snprintf(out, outsz, "./agentgate-data");
    }
    return out;
}

int ag_mkdir_p(const char *path, unsigned mode, ag_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ag_errorf(err, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ag_errorf(err, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        return ag_errorf(err, "%s: cannot create directory: %s", buf, strerror(errno));
    return AG_OK;
}
