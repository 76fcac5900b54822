/* allowlists: policy files (YAML) — load, validate with file:line errors, match, decide.
 * A loaded policy is an immutable, reference-counted snapshot; the proxy swaps snapshots on
 * SIGHUP. No libevent, no sockets: the proxy hands in host names and raw addresses. */
#ifndef AG_POLICY_H
#define AG_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef struct policy policy;

typedef enum { POLICY_DENY = 0, POLICY_ALLOW = 1 } policy_verdict;
typedef enum { POLICY_TLS_MITM = 0, POLICY_TLS_PASSTHROUGH = 1 } policy_tls_mode;
typedef enum {
    POLICY_SANITIZE_STRICT = 0,  /* default: scripts, hidden text, invisible chars, instructions */
    POLICY_SANITIZE_SCRIPTS = 1, /* script-execution vectors only */
    POLICY_SANITIZE_OFF = 2
} policy_sanitize_mode;

/* The outcome of policy_decide(): the verdict, the rule that made it and a one-line reason
 * suitable for the X-Agentgate-Reason header (no secrets, no CR/LF). */
typedef struct policy_decision {
    policy_verdict verdict;
    policy_tls_mode tls;           /* from the matching allow rule */
    policy_sanitize_mode sanitize; /* from the agent */
    char rule[160];   /* e.g. "agents.research-bot.allow[2] *.wikipedia.org (policy.yaml:14)"; "default-deny" */
    char reason[256]; /* e.g. "host not in allowlist of agent research-bot" */
    int report_only;  /* the agent has `mode: report-only`: a deny from its own rules (not the
                         global deny list) is to be logged, not enforced */
} policy_decision;

/* Loads a file, or every *.yaml / *.yml file of a directory (sorted by name, merged: agents
 * may not be defined twice). On error returns AG_ERR with "file:line: field: message". */
int policy_load(const char *path, policy **out, ag_error *err);
/* Same, from memory; name is used in error messages (e.g. "<embedded>"). */
int policy_load_buffer(const char *name, const char *yaml, size_t len, policy **out, ag_error *err);

/* Like policy_load(), but reports every validation error (each "file:line: field: message")
 * to on_error, at most max_errors of them, then one "... N more errors" line; err gets the
 * first. on_error may be NULL. Used by `policy check`. */
typedef void (*policy_error_fn)(void *ctx, const char *message);
int policy_load_report(const char *path, policy **out, ag_error *err, policy_error_fn on_error,
                       void *ctx, size_t max_errors);

/* The example policy embedded at build time from allowlists/examples/ (used by `run` without a
 * config file). */
int policy_load_embedded(policy **out, ag_error *err);

policy *policy_ref(policy *p);
void policy_unref(policy *p);

/* Number of agents, and a short summary for logs ("agents=3 rules=12"). */
size_t policy_agent_count(const policy *p);
int policy_has_agent(const policy *p, const char *agent);
/* Number of rules (allow, deny, private exceptions; global and per agent). */
size_t policy_rule_count(const policy *p);

/* Constant-time check of an agent's secret against the stored hash. Returns 1 when the agent
 * exists and the secret matches, else 0 (an unknown agent costs the same time). */
int policy_authenticate(const policy *p, const char *agent, const char *secret, size_t secret_len);

/* Decides whether agent may reach host:port. host is as the client sent it (name or IP literal,
 * IPv6 without brackets); normalisation (case, trailing dot, IDNA) happens inside. */
int policy_decide(const policy *p, const char *agent, const char *host, uint16_t port,
                  policy_decision *d);

/* The address-guard exception: may agent connect to this private/reserved address that
 * `host` resolved to? family is 4 or 6, addr points to 4 or 16 network-order bytes. Returns 1
 * when a private-exception rule (global or the agent's) names the host or a CIDR containing the
 * address, filling d->rule; else 0. */
int policy_private_allowed(const policy *p, const char *agent, const char *host, int family,
                           const uint8_t *addr, policy_decision *d);

/* SHA-256 of a secret as the lowercase hex string stored in policy files (out: 65 bytes). */
void policy_hash_secret(const char *secret, size_t len, char out[65]);

/* `agentgate policy check|explain|hash-secret ...`; argv[0] is "policy". Returns exit code. */
int policy_main(int argc, char **argv);

#endif
