/* proxy: listeners, one libevent loop per worker thread, the connection state machine,
 * HTTP/1.1 framing, dialing with the address guard, CONNECT tunnels, TLS interception glue,
 * in-flight sanitizing and provenance records. The only module that knows about sockets. */
#ifndef AG_PROXY_H
#define AG_PROXY_H

#include <stdint.h>

#include "common/common.h"

/* Address guard: the name of the reserved range addr falls in ("loopback", "rfc1918",
 * "link-local", "cgnat", "multicast", "unspecified", "ula", "ipv4-mapped:...", ...), or NULL
 * for a public address. family is 4 or 6; addr is 4 or 16 network-order bytes. */
const char *addrguard_classify(int family, const uint8_t *addr);

/* `agentgate run [--config FILE] ...`; argv[0] is "run". Returns exit code. */
int proxy_main(int argc, char **argv);

#endif
