/* proxy: the address guard. Classifies the address a connection is actually about to be made
 * to, so that a public host name resolving to loopback, a private network or the cloud metadata
 * service is refused (DNS rebinding, SSRF). A pure function: the dialer calls it for every
 * resolved address and consults policy_private_allowed() only when it returns a range name. */
#include "proxy/proxy.h"

#include <stddef.h>
#include <string.h>

/* The IPv4 classes, in the order of the name tables below. */
typedef enum {
    V4_PUBLIC = 0,
    V4_UNSPECIFIED,
    V4_THIS_NETWORK,
    V4_RFC1918,
    V4_LOOPBACK,
    V4_LINK_LOCAL,
    V4_CGNAT,
    V4_IETF_PROTOCOL,
    V4_DOCUMENTATION,
    V4_6TO4_RELAY,
    V4_BENCHMARKING,
    V4_MULTICAST,
    V4_BROADCAST,
    V4_RESERVED,
    V4_CLASS_COUNT
} v4_class;

/* Names are static strings so callers may keep the pointer; an address embedded in an IPv6
 * form is named "<form>:<ipv4 class>" so the log says both how and where. */
static const char *const v4_names[V4_CLASS_COUNT] = {
    NULL, "unspecified", "this-network", "rfc1918", "loopback", "link-local", "cgnat",
    "ietf-protocol", "documentation", "6to4-relay", "benchmarking", "multicast", "broadcast",
    "reserved",
};
static const char *const mapped_names[V4_CLASS_COUNT] = {
    NULL, "ipv4-mapped:unspecified", "ipv4-mapped:this-network", "ipv4-mapped:rfc1918",
    "ipv4-mapped:loopback", "ipv4-mapped:link-local", "ipv4-mapped:cgnat",
    "ipv4-mapped:ietf-protocol", "ipv4-mapped:documentation", "ipv4-mapped:6to4-relay",
    "ipv4-mapped:benchmarking", "ipv4-mapped:multicast", "ipv4-mapped:broadcast",
    "ipv4-mapped:reserved",
};
static const char *const compat_names[V4_CLASS_COUNT] = {
    "ipv4-compatible", "ipv4-compatible:unspecified", "ipv4-compatible:this-network",
    "ipv4-compatible:rfc1918", "ipv4-compatible:loopback", "ipv4-compatible:link-local",
    "ipv4-compatible:cgnat", "ipv4-compatible:ietf-protocol", "ipv4-compatible:documentation",
    "ipv4-compatible:6to4-relay", "ipv4-compatible:benchmarking", "ipv4-compatible:multicast",
    "ipv4-compatible:broadcast", "ipv4-compatible:reserved",
};
static const char *const nat64_names[V4_CLASS_COUNT] = {
    NULL, "nat64:unspecified", "nat64:this-network", "nat64:rfc1918", "nat64:loopback",
    "nat64:link-local", "nat64:cgnat", "nat64:ietf-protocol", "nat64:documentation",
    "nat64:6to4-relay", "nat64:benchmarking", "nat64:multicast", "nat64:broadcast",
    "nat64:reserved",
};
static const char *const sixto4_names[V4_CLASS_COUNT] = {
    NULL, "6to4:unspecified", "6to4:this-network", "6to4:rfc1918", "6to4:loopback",
    "6to4:link-local", "6to4:cgnat", "6to4:ietf-protocol", "6to4:documentation",
    "6to4:6to4-relay", "6to4:benchmarking", "6to4:multicast", "6to4:broadcast", "6to4:reserved",
};

typedef struct v4_range {
    uint32_t net;
    unsigned prefix;
    v4_class cls;
} v4_range;

/* Special-purpose ranges (IANA IPv4 Special-Purpose Address Registry and RFC 1112/5737/6598).
 * The more specific entries come first where ranges nest. */
static const v4_range v4_ranges[] = {
    {0x00000000u, 32, V4_UNSPECIFIED},   /* 0.0.0.0 */
    {0x00000000u, 8, V4_THIS_NETWORK},   /* 0.0.0.0/8 */
    {0x0a000000u, 8, V4_RFC1918},        /* 10.0.0.0/8 */
    {0x64400000u, 10, V4_CGNAT},         /* 100.64.0.0/10 */
    {0x7f000000u, 8, V4_LOOPBACK},       /* 127.0.0.0/8 */
    {0xa9fe0000u, 16, V4_LINK_LOCAL},    /* 169.254.0.0/16, cloud metadata 169.254.169.254 */
    {0xac100000u, 12, V4_RFC1918},       /* 172.16.0.0/12 */
    {0xc0000000u, 24, V4_IETF_PROTOCOL}, /* 192.0.0.0/24 */
    {0xc0000200u, 24, V4_DOCUMENTATION}, /* 192.0.2.0/24 TEST-NET-1 */
    {0xc0586300u, 24, V4_6TO4_RELAY},    /* 192.88.99.0/24 */
    {0xc0a80000u, 16, V4_RFC1918},       /* 192.168.0.0/16 */
    {0xc6120000u, 15, V4_BENCHMARKING},  /* 198.18.0.0/15 */
    {0xc6336400u, 24, V4_DOCUMENTATION}, /* 198.51.100.0/24 TEST-NET-2 */
    {0xcb007100u, 24, V4_DOCUMENTATION}, /* 203.0.113.0/24 TEST-NET-3 */
    {0xe0000000u, 4, V4_MULTICAST},      /* 224.0.0.0/4 */
    {0xffffffffu, 32, V4_BROADCAST},     /* 255.255.255.255 */
    {0xf0000000u, 4, V4_RESERVED},       /* 240.0.0.0/4 */
};

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static v4_class classify_v4(const uint8_t *addr)
{
    uint32_t a = load_be32(addr);
    for (size_t i = 0; i < sizeof v4_ranges / sizeof v4_ranges[0]; i++) {
        uint32_t mask = v4_ranges[i].prefix == 0 ? 0 : 0xffffffffu << (32 - v4_ranges[i].prefix);
        if ((a & mask) == v4_ranges[i].net)
            return v4_ranges[i].cls;
    }
    return V4_PUBLIC;
}

/* Does addr start with the first `bits` bits of prefix? */
static int v6_has_prefix(const uint8_t *addr, const uint8_t *prefix, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(addr, prefix, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (addr[whole] & mask) == (prefix[whole] & mask);
}

static const char *classify_v6(const uint8_t *a)
{
    static const uint8_t zero[16] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t nat64_local[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
    static const uint8_t sixto4[2] = {0x20, 0x02};
    static const uint8_t teredo[4] = {0x20, 0x01, 0x00, 0x00};
    static const uint8_t doc[4] = {0x20, 0x01, 0x0d, 0xb8};
    static const uint8_t discard[8] = {0x01, 0x00};
    static const uint8_t ula[1] = {0xfc};
    static const uint8_t link_local[2] = {0xfe, 0x80};
    static const uint8_t site_local[2] = {0xfe, 0xc0};
    static const uint8_t multicast[1] = {0xff};

    if (memcmp(a, zero, 15) == 0) {
        if (a[15] == 0)
            return "unspecified";
        if (a[15] == 1)
            return "loopback";
    }
    if (v6_has_prefix(a, mapped, 96))
        return mapped_names[classify_v4(a + 12)];
    if (v6_has_prefix(a, zero, 96)) /* ::a.b.c.d, deprecated (RFC 4291) and never routable */
        return compat_names[classify_v4(a + 12)];
    if (v6_has_prefix(a, nat64, 96))
        return nat64_names[classify_v4(a + 12)];
    if (v6_has_prefix(a, nat64_local, 48))
        return "nat64-local";
    if (v6_has_prefix(a, sixto4, 16))
        return sixto4_names[classify_v4(a + 2)];
    if (v6_has_prefix(a, teredo, 32))
        return "teredo";
    if (v6_has_prefix(a, doc, 32))
        return "documentation";
    if (v6_has_prefix(a, discard, 64))
        return "discard";
    if (v6_has_prefix(a, ula, 7)) /* fc00::/7, includes fd00:ec2::254 (AWS metadata over v6) */
        return "ula";
    if (v6_has_prefix(a, link_local, 10))
        return "link-local";
    if (v6_has_prefix(a, site_local, 10))
        return "site-local";
    if (v6_has_prefix(a, multicast, 8))
        return "multicast";
    return NULL;
}

const char *addrguard_classify(int family, const uint8_t *addr)
{
    if (!addr)
        return "unspecified";
    switch (family) {
    case 4:
        return v4_names[classify_v4(addr)];
    case 6:
        return classify_v6(addr);
    default:
        return "unknown-family"; /* refuse what cannot be classified */
    }
}
