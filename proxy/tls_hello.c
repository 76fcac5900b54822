/* proxy/tls_hello: a bounds-checked walk over one TLS record holding a ClientHello (RFC 8446
 * 4.1.2), down to the server_name extension (RFC 6066 3). Anything unexpected is BAD: a
 * passthrough tunnel opens only for a ClientHello it understood. */
#include "proxy/tls_hello.h"

#include <stdio.h>
#include <string.h>

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static int take(reader *r, size_t n, const uint8_t **out)
{
    if (r->left < n)
        return -1;
    if (out)
        *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static int take_u8(reader *r, size_t *v)
{
    const uint8_t *b;
    if (take(r, 1, &b))
        return -1;
    *v = b[0];
    return 0;
}

static int take_u16(reader *r, size_t *v)
{
    const uint8_t *b;
    if (take(r, 2, &b))
        return -1;
    *v = (size_t)b[0] << 8 | b[1];
    return 0;
}

static int take_u24(reader *r, size_t *v)
{
    const uint8_t *b;
    if (take(r, 3, &b))
        return -1;
    *v = (size_t)b[0] << 16 | (size_t)b[1] << 8 | b[2];
    return 0;
}

static tls_hello_status bad(char *reason, size_t reasonsz, const char *why)
{
    snprintf(reason, reasonsz, "%s", why);
    return TLS_HELLO_BAD;
}

static tls_hello_status parse_sni_ext(reader *ext, char *sni, size_t snisz, char *reason,
                                      size_t reasonsz)
{
    size_t list_len, type, name_len;
    const uint8_t *name;
    if (take_u16(ext, &list_len) || list_len != ext->left)
        return bad(reason, reasonsz, "malformed server_name extension");
    while (ext->left) {
        if (take_u8(ext, &type) || take_u16(ext, &name_len) || take(ext, name_len, &name))
            return bad(reason, reasonsz, "malformed server_name extension");
        if (type != 0)
            continue;
        if (name_len == 0 || name_len >= snisz || memchr(name, 0, name_len))
            return bad(reason, reasonsz, "invalid server name in ClientHello");
        memcpy(sni, name, name_len);
        sni[name_len] = '\0';
        return TLS_HELLO_OK;
    }
    return TLS_HELLO_OK;
}

tls_hello_status tls_hello_sni(const uint8_t *data, size_t len, char *sni, size_t snisz,
                               char *reason, size_t reasonsz)
{
    sni[0] = '\0';
    if (len < 5)
        return TLS_HELLO_MORE;
    if (data[0] != 0x16 || data[1] != 0x03)
        return bad(reason, reasonsz, "not a TLS handshake");
    size_t rec_len = (size_t)data[3] << 8 | data[4];
    if (rec_len == 0 || rec_len > 16384)
        return bad(reason, reasonsz, "invalid TLS record length");
    if (len < 5 + rec_len)
        return TLS_HELLO_MORE;
    reader r = {data + 5, rec_len};
    size_t type, hs_len, v;
    if (take_u8(&r, &type) || type != 1)
        return bad(reason, reasonsz, "first handshake message is not a ClientHello");
    if (take_u24(&r, &hs_len) || hs_len > r.left)
        return bad(reason, reasonsz, "ClientHello split across TLS records");
    r.left = hs_len;
    if (take(&r, 2 + 32, NULL) || take_u8(&r, &v) || take(&r, v, NULL) ||  /* version, random, session id */
        take_u16(&r, &v) || take(&r, v, NULL) ||                         /* cipher suites */
        take_u8(&r, &v) || take(&r, v, NULL))                            /* compression methods */
        return bad(reason, reasonsz, "truncated ClientHello");
    if (r.left == 0)
        return TLS_HELLO_OK; /* no extensions, so no SNI */
    size_t ext_total;
    if (take_u16(&r, &ext_total) || ext_total != r.left)
        return bad(reason, reasonsz, "malformed ClientHello extensions");
    while (r.left) {
        size_t ext_type, ext_len;
        const uint8_t *ext_data;
        if (take_u16(&r, &ext_type) || take_u16(&r, &ext_len) || take(&r, ext_len, &ext_data))
            return bad(reason, reasonsz, "malformed ClientHello extension");
        if (ext_type == 0) {
            reader ext = {ext_data, ext_len};
            return parse_sni_ext(&ext, sni, snisz, reason, reasonsz);
        }
    }
    return TLS_HELLO_OK;
}
