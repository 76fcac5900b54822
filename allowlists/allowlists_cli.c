/* allowlists: `agentgate policy check|explain|hash-secret`, the tools a security team uses to
 * review policy files before they reach a proxy. `explain` calls the same policy_decide() the
 * proxy calls, so what it prints is what the proxy would do (before DNS and the address guard). */
#include "allowlists/policy.h"
#include "allowlists/policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#define MAX_REPORTED_ERRORS 200

static const char usage_main[] =
    "usage: agentgate policy COMMAND ...\n"
    "\n"
    "  check FILE|DIR                         validate policy files; every error as file:line\n"
    "  explain --agent A [--policy FILE|DIR] URL\n"
    "                                         the decision for A fetching URL and the rule that\n"
    "                                         made it (default policy: the embedded example)\n"
    "  hash-secret                            read a secret on stdin, print its secret_sha256\n"
    "\n"
    "Exit codes: 0 ok (explain: allowed), 1 check failed (explain: denied), 2 usage error.\n";

static const char usage_check[] =
    "usage: agentgate policy check FILE|DIR\n"
    "\n"
    "Validates a policy file, or every *.yaml / *.yml file of a directory merged in name order.\n"
    "Prints `ok: N agents, M rules`, or each error as `file:line: field: message` on stderr.\n"
    "Exit codes: 0 valid, 1 invalid, 2 usage error.\n";

static const char usage_explain[] =
    "usage: agentgate policy explain --agent A [--policy FILE|DIR] URL\n"
    "\n"
    "URL is http://host[:port]/..., https://host[:port]/... or host:port (as in CONNECT).\n"
    "Prints the decision, the rule that made it, the reason, the TLS mode and the sanitizer\n"
    "mode. Without --policy the example policy embedded in agentgate is used.\n"
    "Exit codes: 0 allowed, 1 denied or policy invalid, 2 usage error.\n";

static const char usage_hash[] =
    "usage: agentgate policy hash-secret < secret.txt\n"
    "\n"
    "Reads one line (the agent's proxy password; the newline is not part of it) and prints the\n"
    "lowercase hex SHA-256 to put in the agent's secret_sha256 field.\n";

static int wants_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

/* ---- check ---- */

static void print_error(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

static int cmd_check(int argc, char **argv)
{
    if (argc == 2 && wants_help(argv[1])) {
        fputs(usage_check, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage_check, stderr);
        return 2;
    }
    policy *p;
    ag_error err;
    if (policy_load_report(argv[1], &p, &err, print_error, NULL, MAX_REPORTED_ERRORS) != AG_OK)
        return 1;
    printf("ok: %zu agents, %zu rules\n", policy_agent_count(p), policy_rule_count(p));
    policy_unref(p);
    return 0;
}

/* ---- explain ---- */

typedef struct target_url {
    char host[4 * POLICY_HOST_MAX + 8];
    uint16_t port;
} target_url;

/* Splits http(s)://[user@]host[:port]/... or host:port into host and port. */
static int parse_target(const char *url, target_url *t, const char **why)
{
    const char *rest = url;
    unsigned long port = 0;
    int need_port = 1;
    if (!strncasecmp(url, "http://", 7)) {
        rest = url + 7;
        port = 80;
        need_port = 0;
    } else if (!strncasecmp(url, "https://", 8)) {
        rest = url + 8;
        port = 443;
        need_port = 0;
    } else if (strstr(url, "://")) {
        *why = "only http:// and https:// URLs (or host:port) can be explained";
        return AG_ERR;
    }
    size_t auth_len = strcspn(rest, "/?#");
    const char *at = memrchr(rest, '@', auth_len);
    if (at) {
        auth_len -= (size_t)(at + 1 - rest);
        rest = at + 1;
    }
    const char *end = rest + auth_len, *host_end, *port_text = NULL;
    if (rest < end && *rest == '[') {
        const char *close = memchr(rest, ']', auth_len);
        if (!close) {
            *why = "missing ']' after an IPv6 address";
            return AG_ERR;
        }
        host_end = close + 1;
        if (host_end < end && *host_end == ':')
            port_text = host_end + 1;
        else if (host_end != end) {
            *why = "unexpected text after ']'";
            return AG_ERR;
        }
    } else {
        const char *colon = memchr(rest, ':', auth_len);
        host_end = colon ? colon : end;
        port_text = colon ? colon + 1 : NULL;
    }
    size_t host_len = (size_t)(host_end - rest);
    if (host_len == 0 || host_len >= sizeof t->host) {
        *why = host_len ? "host too long" : "no host in the URL";
        return AG_ERR;
    }
    memcpy(t->host, rest, host_len);
    t->host[host_len] = '\0';
    if (port_text) {
        char digits[8];
        size_t n = (size_t)(end - port_text);
        if (n == 0 && !need_port) {
            t->port = (uint16_t)port;
            return AG_OK;
        }
        char *stop;
        if (n == 0 || n >= sizeof digits) {
            *why = "port must be a number from 1 to 65535";
            return AG_ERR;
        }
        memcpy(digits, port_text, n);
        digits[n] = '\0';
        port = strtoul(digits, &stop, 10);
        if (*stop || digits[0] < '0' || digits[0] > '9' || port == 0 || port > 65535) {
            *why = "port must be a number from 1 to 65535";
            return AG_ERR;
        }
    } else if (need_port) {
        *why = "without http:// or https:// the target is host:port, as in CONNECT";
        return AG_ERR;
    }
    t->port = (uint16_t)port;
    return AG_OK;
}

static const char *tls_name(policy_tls_mode m)
{
    return m == POLICY_TLS_PASSTHROUGH ? "passthrough" : "mitm";
}

static const char *sanitize_name(policy_sanitize_mode m)
{
    return m == POLICY_SANITIZE_OFF ? "off" : m == POLICY_SANITIZE_SCRIPTS ? "scripts" : "strict";
}

static int cmd_explain(int argc, char **argv)
{
    const char *agent_name = NULL, *policy_path = NULL, *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (wants_help(a)) {
            fputs(usage_explain, stdout);
            return 0;
        } else if (!strcmp(a, "--agent") && i + 1 < argc) {
            agent_name = argv[++i];
        } else if (!strncmp(a, "--agent=", 8)) {
            agent_name = a + 8;
        } else if (!strcmp(a, "--policy") && i + 1 < argc) {
            policy_path = argv[++i];
        } else if (!strncmp(a, "--policy=", 9)) {
            policy_path = a + 9;
        } else if (a[0] == '-' || url) {
            fprintf(stderr, "agentgate policy explain: unexpected argument '%s'\n\n%s", a,
                    usage_explain);
            return 2;
        } else {
            url = a;
        }
    }
    if (!agent_name || !url) {
        fprintf(stderr, "agentgate policy explain: %s\n\n%s",
                !agent_name ? "--agent is required" : "a URL is required", usage_explain);
        return 2;
    }
    target_url t;
    const char *why;
    if (parse_target(url, &t, &why) != AG_OK) {
        fprintf(stderr, "agentgate policy explain: %s: %s\n", url, why);
        return 2;
    }
    policy *p;
    ag_error err;
    int rc = policy_path ? policy_load(policy_path, &p, &err) : policy_load_embedded(&p, &err);
    if (rc != AG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    policy_decision d;
    policy_decide(p, agent_name, t.host, t.port, &d);
    host_norm h;
    int is_name = host_normalize(t.host, strlen(t.host), &h, &why) == AG_OK && h.kind == HOST_NAME;
    printf("decision: %s\n", d.verdict == POLICY_ALLOW ? "allow" : "deny");
    printf("agent: %s\n", agent_name);
    if (is_name && strcmp(h.name, t.host) != 0)
        printf("host: %s (compared as %s)\n", t.host, h.name);
    else
        printf("host: %s\n", t.host);
    printf("port: %u\n", (unsigned)t.port);
    printf("rule: %s\n", d.rule);
    printf("reason: %s\n", d.reason);
    printf("tls: %s\n", tls_name(d.tls));
    printf("sanitize: %s\n", sanitize_name(d.sanitize));
    if (d.report_only)
        printf("mode: report-only (the proxy logs this denial and lets the request through)\n");
    if (is_name && d.verdict == POLICY_ALLOW)
        printf("note: decided on the name only; the proxy also refuses the connection if %s "
               "resolves to a loopback, private, link-local or other reserved address, unless a "
               "private_exceptions rule names the host or its address\n",
               h.name);
    policy_unref(p);
    return d.verdict == POLICY_ALLOW ? 0 : 1;
}

/* ---- hash-secret ---- */

static int cmd_hash_secret(int argc, char **argv)
{
    if (argc == 2 && wants_help(argv[1])) {
        fputs(usage_hash, stdout);
        return 0;
    }
    if (argc != 1) {
        fputs(usage_hash, stderr);
        return 2;
    }
    struct termios saved;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs("secret: ", stderr);
    }
    char line[4096];
    char *got = fgets(line, sizeof line, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputs("\n", stderr);
    }
    if (!got) {
        fputs("agentgate policy hash-secret: no secret on stdin\n", stderr);
        return 1;
    }
    size_t n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n') {
        fputs("agentgate policy hash-secret: secret longer than 4094 bytes\n", stderr);
        return 1;
    }
    if (n && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n && line[n - 1] == '\r')
        line[--n] = '\0';
    if (n == 0) {
        fputs("agentgate policy hash-secret: empty secret\n", stderr);
        return 1;
    }
    char hex[65];
    policy_hash_secret(line, n, hex);
    memset(line, 0, sizeof line);
    printf("%s\n", hex);
    return 0;
}

int policy_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (wants_help(cmd)) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return cmd_explain(argc - 1, argv + 1);
    if (!strcmp(cmd, "hash-secret"))
        return cmd_hash_secret(argc - 1, argv + 1);
    fprintf(stderr, "agentgate policy: unknown command '%s'\n\n%s", cmd, usage_main);
    return 2;
}
