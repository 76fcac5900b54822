/* proxy/tls_hello: reads the server name (SNI) from a TLS ClientHello, for passthrough tunnels
 * that must only reach the host named in CONNECT. No sockets, no OpenSSL: plain bytes in. */
#ifndef AG_PROXY_TLS_HELLO_H
#define AG_PROXY_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TLS_HELLO_MORE, TLS_HELLO_OK, TLS_HELLO_BAD } tls_hello_status;

/* The largest ClientHello record accepted (a TLS record holds at most 16 KiB + header). */
#define TLS_HELLO_MAX (16384 + 5)

/* Parses the first TLS record of data. OK: sni holds the host name ("" when the ClientHello
 * has none). MORE: the record is incomplete. BAD: not a ClientHello (reason filled). */
tls_hello_status tls_hello_sni(const uint8_t *data, size_t len, char *sni, size_t snisz,
                               char *reason, size_t reasonsz);

#endif
