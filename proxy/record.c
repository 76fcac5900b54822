/* proxy/record: turns a finished exchange into a provenance record (allowed, denied, 407,
 * upstream errors, tunnels) and queues it with prov_submit(); the provenance writer thread
 * does the rest. Also keeps the SHA-256 of the response body as received and as delivered. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/server.h"

int record_open(proxy_server *srv, ag_error *err)
{
    if (!srv->cfg.provenance_enabled)
        return AG_OK;
    if (ag_mkdir_p(srv->cfg.data_dir, 0700, err) != AG_OK)
        return ag_error_prefix(err, "data_dir");
    prov_options opt;
    prov_options_default(&opt);
    opt.queue_capacity = srv->cfg.provenance_queue;
    opt.when_full = srv->cfg.provenance_when_full == PROV_WHEN_FULL_DROP ? PROV_QUEUE_DROP
                                                                          : PROV_QUEUE_BLOCK;
    if (prov_open(srv->cfg.data_dir, &opt, &srv->prov, err) != AG_OK)
        return ag_error_prefix(err, "provenance");
    return AG_OK;
}

void record_close(proxy_server *srv)
{
    if (!srv->prov)
        return;
    prov_stats st;
    prov_get_stats(srv->prov, &st);
    prov_close(srv->prov);
    srv->prov = NULL;
    ag_log(AG_LOG_INFO, "provenance_closed", "submitted=%llu committed=%llu dropped=%llu errors=%llu",
           (unsigned long long)st.submitted, (unsigned long long)st.committed,
           (unsigned long long)st.dropped, (unsigned long long)st.errors);
}

static void hash_reset(EVP_MD_CTX **ctx)
{
    if (!*ctx)
        *ctx = EVP_MD_CTX_new();
    if (*ctx)
        EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL);
}

void record_exchange_begin(proxy_conn *c)
{
    if (!c->w->srv->prov)
        return;
    hash_reset(&c->hash_received);
    hash_reset(&c->hash_delivered);
}

void record_body_received(proxy_conn *c, const char *data, size_t len)
{
    if (c->w->srv->prov && c->hash_received)
        EVP_DigestUpdate(c->hash_received, data, len);
}

void record_body_delivered(proxy_conn *c, const char *data, size_t len)
{
    if (c->w->srv->prov && c->hash_delivered)
        EVP_DigestUpdate(c->hash_delivered, data, len);
}

static prov_decision decision_of(const char *d)
{
    if (!strcmp(d, "allow"))
        return PROV_ALLOW;
    if (!strcmp(d, "deny"))
        return PROV_DENY;
    if (!strcmp(d, "report-only-deny"))
        return PROV_REPORT_ONLY_DENY;
    return PROV_ERROR;
}

void record_exchange(proxy_conn *c, const char *decision)
{
    prov_store *prov = c->w->srv->prov;
    if (!prov)
        return;
    prov_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.request_id, sizeof r.request_id, "%s", c->id);
    r.start_us = c->start_us;
    r.duration_us = ag_monotonic_us() - c->start_mono;
    r.agent = c->agent[0] ? c->agent : NULL;
    r.client_addr = c->client_addr;
    r.listener = c->listener->address;
    r.method = c->req.head.method[0] ? c->req.head.method : NULL;
    char url[sizeof c->target.path + 300];
    char host[sizeof c->target.host];
    if (c->target.host[0]) {
        int v6 = strchr(c->target.host, ':') != NULL;
        const char *scheme = c->tls_intercepted ? "https" : "http";
        unsigned dflt = c->tls_intercepted ? 443 : 80;
        if (c->target.is_connect)
            snprintf(url, sizeof url, "%s%s%s:%u", v6 ? "[" : "", c->target.host, v6 ? "]" : "",
                     c->target.port);
        else if (c->target.port == dflt)
            snprintf(url, sizeof url, "%s://%s%s%s%s", scheme, v6 ? "[" : "", c->target.host,
                     v6 ? "]" : "", c->target.path);
        else
            snprintf(url, sizeof url, "%s://%s%s%s:%u%s", scheme, v6 ? "[" : "", c->target.host,
                     v6 ? "]" : "", c->target.port, c->target.path);
        r.url = url;
        size_t i = 0;
        for (; c->target.host[i] && i + 1 < sizeof host; i++)
            host[i] = (char)tolower((unsigned char)c->target.host[i]);
        host[i] = '\0';
        r.host = host;
    } else if (c->req.head.target) {
        r.url = c->req.head.target;
    }
    r.referer = c->req.head.nheaders ? http_head_get(&c->req.head, "referer") : NULL;
    r.decision = decision_of(decision);
    r.rule = c->decided ? c->decision.rule : NULL;
    r.reason = c->reason[0] ? c->reason : (c->decided ? c->decision.reason : NULL);
    r.upstream_addr = c->up_addr[0] ? c->up_addr : NULL;
    r.tls_fingerprint = c->tls_fingerprint[0] ? c->tls_fingerprint : NULL;
    r.tls_protocol = c->tls_protocol[0] ? c->tls_protocol : NULL;
    r.tls_cipher = c->tls_cipher[0] ? c->tls_cipher : NULL;
    r.status = c->status;
    r.content_type = c->resp_started ? http_head_get(&c->resp.head, "content-type") : NULL;
    r.bytes_in = c->bytes_in;
    r.bytes_out = c->bytes_out;
    if (c->resp_started && c->hash_received && c->hash_delivered) {
        unsigned int n = 0;
        EVP_DigestFinal_ex(c->hash_received, r.body_sha256_received, &n);
        if (c->body_filtered)
            EVP_DigestFinal_ex(c->hash_delivered, r.body_sha256_delivered, &n);
        else
            memcpy(r.body_sha256_delivered, r.body_sha256_received, 32);
        r.has_body_hashes = 1;
    }
    r.sanitizer_report_json = c->sanitizer_report;
    r.sanitizer_removed = c->sanitizer_removed;
    if (prov_submit(prov, &r) != AG_OK)
        ag_log(AG_LOG_WARN, "provenance_submit", "id=%s status=error", c->id);
}

void record_conn_free(proxy_conn *c)
{
    EVP_MD_CTX_free(c->hash_received);
    EVP_MD_CTX_free(c->hash_delivered);
    c->hash_received = c->hash_delivered = NULL;
    free(c->sanitizer_report);
    c->sanitizer_report = NULL;
}
