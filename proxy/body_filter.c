/* proxy/body_filter: in-flight sanitizing of HTML responses. For text/html and
 * application/xhtml+xml bodies of agents whose sanitize mode is not off, the body goes
 * content decoder (gzip/deflate/br, charset to UTF-8) -> sanitizer -> the client, sent chunked
 * with Content-Length and Content-Encoding dropped, the charset declared as UTF-8 and a CSP
 * forbidding scripts added. A decoding or sanitizing error drops the rest of the body: no
 * unsanitized byte ever reaches the agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/server.h"
#include "sanitizer/sanitizer.h"

struct body_filter {
    proxy_conn *c;
    content_decoder *dec;
    sanitizer *san;
    int failed;
};

static const char *const filtered_drop[] = {
    "content-length", "content-encoding", "content-type", "content-md5", "digest", NULL,
};

int body_filter_init_rules(proxy_server *srv, ag_error *err)
{
    if (srv->cfg.nsanitizer_rules == 0)
        return AG_OK; /* the sanitizer's built-in rules */
    const char *paths[PROXY_MAX_RULE_FILES];
    for (size_t i = 0; i < srv->cfg.nsanitizer_rules; i++)
        paths[i] = srv->cfg.sanitizer_rules[i];
    if (sanitizer_rules_load(paths, srv->cfg.nsanitizer_rules, &srv->san_rules, err) != AG_OK)
        return ag_error_prefix(err, "sanitizer.rules");
    return AG_OK;
}

void body_filter_free_rules(proxy_server *srv)
{
    if (srv->san_rules)
        sanitizer_rules_free(srv->san_rules);
    srv->san_rules = NULL;
}

/* The media type of a Content-Type value, lower-cased, without parameters. */
static void media_type(const char *ct, char *out, size_t outsz)
{
    size_t n = 0;
    while (*ct == ' ')
        ct++;
    for (; *ct && *ct != ';' && *ct != ' ' && n + 1 < outsz; ct++)
        out[n++] = (char)((*ct >= 'A' && *ct <= 'Z') ? *ct + 32 : *ct);
    out[n] = '\0';
}

static void charset_of(const char *ct, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *p = ct;
    while ((p = strchr(p, ';'))) {
        p++;
        while (*p == ' ')
            p++;
        if (strncasecmp(p, "charset=", 8))
            continue;
        p += 8;
        if (*p == '"')
            p++;
        size_t n = 0;
        while (*p && *p != '"' && *p != ';' && *p != ' ' && n + 1 < outsz)
            out[n++] = *p++;
        out[n] = '\0';
        return;
    }
}

int body_filter_applies(const proxy_conn *c)
{
    if (c->decision.sanitize == POLICY_SANITIZE_OFF || c->resp.body_kind == HTTP_BODY_NONE)
        return 0;
    const char *ct = http_head_get(&c->resp.head, "content-type");
    if (!ct)
        return 0;
    char mt[64];
    media_type(ct, mt, sizeof mt);
    return !strcmp(mt, "text/html") || !strcmp(mt, "application/xhtml+xml");
}

static int deliver(void *ctx, const char *data, size_t len)
{
    body_filter *f = ctx;
    if (len)
        conn_write_body(f->c, data, len);
    return 0;
}

static int to_sanitizer(void *ctx, const char *data, size_t len)
{
    body_filter *f = ctx;
    ag_error err = {{0}};
    if (sanitizer_feed(f->san, data, len, &err) != AG_OK) {
        snprintf(f->c->reason, sizeof f->c->reason, "sanitizer: %s", err.msg);
        return -1;
    }
    return 0;
}

body_filter *body_filter_new(proxy_conn *c, const char **extra_headers, const char *const **drop,
                             char *reason, size_t reasonsz)
{
    const char *ct = http_head_get(&c->resp.head, "content-type");
    const char *enc = http_head_get(&c->resp.head, "content-encoding");
    char mt[64], charset[64];
    media_type(ct ? ct : "", mt, sizeof mt);
    charset_of(ct ? ct : "", charset, sizeof charset);
    body_filter *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(reason, reasonsz, "out of memory");
        return NULL;
    }
    f->c = c;
    sanitizer_options opt;
    memset(&opt, 0, sizeof opt);
    opt.mode = c->decision.sanitize == POLICY_SANITIZE_SCRIPTS ? SANITIZE_SCRIPTS : SANITIZE_STRICT;
    opt.max_stream_bytes = c->w->srv->cfg.sanitizer_max_stream_bytes;
    opt.rules = c->w->srv->san_rules;
    f->san = sanitizer_new(&opt, deliver, f);
    ag_error err = {{0}};
    if (f->san)
        f->dec = content_decoder_new(enc, charset[0] ? charset : NULL, to_sanitizer, f, &err);
    if (!f->san || !f->dec) {
        snprintf(reason, reasonsz, "cannot sanitize the response: %s",
                 err.msg[0] ? err.msg : "out of memory");
        body_filter_free(f);
        return NULL;
    }
    *extra_headers = !strcmp(mt, "application/xhtml+xml")
                         ? "Content-Type: application/xhtml+xml; charset=utf-8\r\n"
                           "Content-Security-Policy: script-src 'none'; object-src 'none'\r\n"
                         : "Content-Type: text/html; charset=utf-8\r\n"
                           "Content-Security-Policy: script-src 'none'; object-src 'none'\r\n";
    *drop = filtered_drop;
    return f;
}

void body_filter_feed(body_filter *f, const char *data, size_t len)
{
    if (f->failed)
        return; /* after an error the rest of the body is dropped */
    ag_error err = {{0}};
    if (content_decoder_feed(f->dec, data, len, &err) != AG_OK) {
        f->failed = 1;
        if (!f->c->reason[0])
            snprintf(f->c->reason, sizeof f->c->reason, "decoding: %s", err.msg);
    }
}

static void take_report(body_filter *f)
{
    const sanitizer_report *r = sanitizer_get_report(f->san);
    free(f->c->sanitizer_report);
    f->c->sanitizer_report = sanitizer_report_json(r);
    f->c->sanitizer_removed = sanitizer_report_removed(r);
    if (r->error[0] && !f->c->reason[0])
        snprintf(f->c->reason, sizeof f->c->reason, "sanitizer: %s", r->error);
}

void body_filter_finish(body_filter *f)
{
    ag_error err = {{0}};
    if (!f->failed && content_decoder_finish(f->dec, &err) != AG_OK) {
        f->failed = 1;
        snprintf(f->c->reason, sizeof f->c->reason, "decoding: %s", err.msg);
    }
    if (sanitizer_finish(f->san, &err) != AG_OK && !f->c->reason[0])
        snprintf(f->c->reason, sizeof f->c->reason, "sanitizer: %s", err.msg);
    take_report(f);
}

void body_filter_free(body_filter *f)
{
    if (!f)
        return;
    if (f->san && !f->c->sanitizer_report)
        take_report(f); /* an exchange cut short still records what was removed */
    content_decoder_free(f->dec);
    sanitizer_free(f->san);
    free(f);
}
