/* Unit tests for the address guard: every refused range, the embedded-IPv4 forms (mapped,
 * compatible, NAT64, 6to4) and public addresses on both sides of each range boundary. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "proxy/proxy.h"

static const char *classify(const char *text)
{
    uint8_t addr[16];
    if (strchr(text, ':')) {
        cr_assert_eq(inet_pton(AF_INET6, text, addr), 1, "bad test address %s", text);
        return addrguard_classify(6, addr);
    }
    cr_assert_eq(inet_pton(AF_INET, text, addr), 1, "bad test address %s", text);
    return addrguard_classify(4, addr);
}

static void expect(const char *text, const char *want)
{
    const char *got = classify(text);
    if (!want)
        cr_expect_null(got, "%s: expected public, got %s", text, got ? got : "(null)");
    else
        cr_expect(got && strcmp(got, want) == 0, "%s: expected %s, got %s", text, want,
                  got ? got : "(null)");
}

Test(addrguard, ipv4_unspecified_and_this_network)
{
    expect("0.0.0.0", "unspecified");
    expect("0.0.0.1", "this-network");
    expect("0.255.255.255", "this-network");
    expect("1.0.0.0", NULL);
}

Test(addrguard, ipv4_rfc1918)
{
    expect("10.0.0.0", "rfc1918");
    expect("10.255.255.255", "rfc1918");
    expect("9.255.255.255", NULL);
    expect("11.0.0.0", NULL);
    expect("172.16.0.0", "rfc1918");
    expect("172.31.255.255", "rfc1918");
    expect("172.15.255.255", NULL);
    expect("172.32.0.0", NULL);
    expect("192.168.0.1", "rfc1918");
    expect("192.168.255.255", "rfc1918");
    expect("192.167.255.255", NULL);
    expect("192.169.0.0", NULL);
}

Test(addrguard, ipv4_loopback)
{
    expect("127.0.0.1", "loopback");
    expect("127.255.255.254", "loopback");
    expect("126.255.255.255", NULL);
    expect("128.0.0.0", NULL);
}

Test(addrguard, ipv4_link_local_and_metadata)
{
    expect("169.254.169.254", "link-local");
    expect("169.254.0.0", "link-local");
    expect("169.253.255.255", NULL);
    expect("169.255.0.0", NULL);
}

Test(addrguard, ipv4_cgnat)
{
    expect("100.64.0.0", "cgnat");
    expect("100.127.255.255", "cgnat");
    expect("100.63.255.255", NULL);
    expect("100.128.0.0", NULL);
}

Test(addrguard, ipv4_multicast_reserved_broadcast)
{
    expect("224.0.0.1", "multicast");
    expect("239.255.255.255", "multicast");
    expect("223.255.255.255", NULL);
    expect("240.0.0.1", "reserved");
    expect("255.255.255.254", "reserved");
    expect("255.255.255.255", "broadcast");
}

Test(addrguard, ipv4_special_purpose)
{
    expect("192.0.0.8", "ietf-protocol");
    expect("192.0.1.0", NULL);
    expect("192.0.2.1", "documentation");
    expect("198.51.100.7", "documentation");
    expect("203.0.113.200", "documentation");
    expect("203.0.114.0", NULL);
    expect("192.88.99.1", "6to4-relay");
    expect("198.18.0.0", "benchmarking");
    expect("198.19.255.255", "benchmarking");
    expect("198.17.255.255", NULL);
    expect("198.20.0.0", NULL);
}

Test(addrguard, ipv4_public)
{
    expect("93.184.216.34", NULL);
    expect("8.8.8.8", NULL);
    expect("1.1.1.1", NULL);
    expect("223.1.2.3", NULL);
}

Test(addrguard, ipv6_basic_ranges)
{
    expect("::", "unspecified");
    expect("::1", "loopback");
    expect("fc00::1", "ula");
    expect("fd00:ec2::254", "ula");
    expect("fdff:ffff::1", "ula");
    expect("fe80::1", "link-local");
    expect("febf:ffff::1", "link-local");
    expect("fec0::1", "site-local");
    expect("ff02::1", "multicast");
    expect("ff05::1:3", "multicast");
    expect("2001:db8::1", "documentation");
    expect("100::1", "discard");
    expect("2001:0:4136:e378::1", "teredo");
    expect("64:ff9b:1::1", "nat64-local");
}

Test(addrguard, ipv6_public)
{
    expect("2606:2800:220:1:248:1893:25c8:1946", NULL);
    expect("2001:4860:4860::8888", NULL);
    expect("fbff:ffff::1", NULL);
    expect("fe00::1", NULL);
    expect("2001:db9::1", NULL);
    expect("::2:0:0:1", NULL);
}

Test(addrguard, ipv4_mapped)
{
    expect("::ffff:127.0.0.1", "ipv4-mapped:loopback");
    expect("::ffff:10.1.2.3", "ipv4-mapped:rfc1918");
    expect("::ffff:169.254.169.254", "ipv4-mapped:link-local");
    expect("::ffff:100.64.1.1", "ipv4-mapped:cgnat");
    expect("::ffff:0.0.0.0", "ipv4-mapped:unspecified");
    expect("::ffff:224.0.0.1", "ipv4-mapped:multicast");
    expect("::ffff:255.255.255.255", "ipv4-mapped:broadcast");
    expect("::ffff:93.184.216.34", NULL);
}

Test(addrguard, ipv4_compatible)
{
    expect("::127.0.0.1", "ipv4-compatible:loopback");
    expect("::10.0.0.1", "ipv4-compatible:rfc1918");
    expect("::93.184.216.34", "ipv4-compatible");
}

Test(addrguard, nat64_embedded)
{
    expect("64:ff9b::127.0.0.1", "nat64:loopback");
    expect("64:ff9b::a9fe:a9fe", "nat64:link-local");
    expect("64:ff9b::192.168.1.1", "nat64:rfc1918");
    expect("64:ff9b::93.184.216.34", NULL);
}

Test(addrguard, sixto4_embedded)
{
    expect("2002:7f00:1::1", "6to4:loopback");
    expect("2002:a9fe:a9fe::", "6to4:link-local");
    expect("2002:c0a8:101::1", "6to4:rfc1918");
    expect("2002:5db8:d822::1", NULL);
}

Test(addrguard, unknown_family_refused)
{
    uint8_t addr[16] = {0};
    cr_expect_str_eq(addrguard_classify(5, addr), "unknown-family");
}
