/* proxy: placeholder for the subcommand until the module lands. */
#include <stdio.h>
#include "proxy/proxy.h"
int proxy_main(int argc, char **argv) { (void)argc; fprintf(stderr, "agentgate: %s: not available in this build\n", argv[0]); return 2; }
