/* provenance: placeholder for the subcommand until the module lands. */
#include <stdio.h>
#include "provenance/provenance.h"
int provenance_main(int argc, char **argv) { (void)argc; fprintf(stderr, "agentgate: %s: not available in this build\n", argv[0]); return 2; }
