/* agentgate: main() and subcommand dispatch; each module owns its subcommand. */
#include <stdio.h>
#include <string.h>

#include "allowlists/policy.h"
#include "certs/certs.h"
#include "provenance/provenance.h"
#include "proxy/proxy.h"
#include "sanitizer/sanitizer.h"

static const char usage[] =
    "usage: agentgate COMMAND [ARGS]\n"
    "\n"
    "  run        [--config FILE]          run the proxy (embedded defaults without a file)\n"
    "  ca init    [--dir DIR]              create the interception CA (key mode 0600)\n"
    "  ca spki    [--dir DIR]              print the base64 SPKI pin of the CA\n"
    "  ca show    [--dir DIR]              print subject, validity and fingerprint of the CA\n"
    "  policy check   FILE|DIR             validate policy files (errors as file:line)\n"
    "  policy explain --agent A [--policy FILE|DIR] URL\n"
    "                                      print the decision and the rule that made it\n"
    "  policy hash-secret                  read a secret on stdin, print its stored hash\n"
    "  sanitize   [--mode M] [--report FILE] [--rules FILE]... < in.html > out.html\n"
    "  history    [filters] [--format table|jsonl|csv]\n"
    "  history    verify|show ID|top|export|prune\n"
    "\n"
    "Run `agentgate COMMAND --help` for the options of a command.\n"
    "Exit codes: 0 success, 1 check failed or input rejected, 2 usage error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return proxy_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "ca"))
        return certs_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "policy"))
        return policy_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "sanitize"))
        return sanitizer_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "history"))
        return provenance_main(argc - 1, argv + 1);
    fprintf(stderr, "agentgate: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
