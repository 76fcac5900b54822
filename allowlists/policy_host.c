/* allowlists: one normal form for hosts, used both for policy rules at load time and for the
 * host a client asks for at decision time, so that "Example.COM.", "example.com" and
 * "[::ffff:93.184.216.34]" compare the way a resolver would treat them. */
#include "allowlists/policy_internal.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

static int is_label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Checks an ASCII lowercase name label by label. A name whose last label is all digits (or
 * hex like 0x7f) would be taken by some resolvers as a numeric IPv4 form ("2130706433",
 * "127.1"), so it is refused rather than matched as a name. */
static int validate_name(const char *name, size_t len, const char **why)
{
    if (len == 0) {
        *why = "empty host name";
        return AG_ERR;
    }
    if (len > POLICY_HOST_MAX) {
        *why = "host name longer than 253 characters";
        return AG_ERR;
    }
    size_t label_start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            if (!is_label_char((unsigned char)name[i])) {
                *why = "invalid character in host name";
                return AG_ERR;
            }
            continue;
        }
        size_t label_len = i - label_start;
        if (label_len == 0) {
            *why = "empty label in host name";
            return AG_ERR;
        }
        if (label_len > 63) {
            *why = "host name label longer than 63 characters";
            return AG_ERR;
        }
        label_start = i + 1;
    }
    const char *last = strrchr(name, '.');
    last = last ? last + 1 : name;
    size_t digits = strspn(last, "0123456789");
    int hex = (last[0] == '0' && last[1] == 'x' && last[2 + strspn(last + 2, "0123456789abcdef")] == '\0');
    if (last[digits] == '\0' || hex) {
        *why = "numeric host that is not a dotted-quad IPv4 address";
        return AG_ERR;
    }
    return AG_OK;
}

static int parse_ip(const char *text, host_norm *out)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (strchr(text, ':')) {
        if (inet_pton(AF_INET6, text, out->addr) != 1)
            return 0;
        if (memcmp(out->addr, mapped, sizeof mapped) == 0) {
            memmove(out->addr, out->addr + 12, 4);
            memset(out->addr + 4, 0, 12);
            out->kind = HOST_IPV4;
        } else {
            out->kind = HOST_IPV6;
        }
        return 1;
    }
    if (inet_pton(AF_INET, text, out->addr) != 1)
        return 0;
    out->kind = HOST_IPV4;
    return 1;
}

/* Converts a name with non-ASCII bytes (UTF-8) to punycode with IDNA2008 / UTS #46 mapping,
 * which also folds case. */
static int idna_to_ascii(const char *in, char *out, size_t outsz, const char **why)
{
    char *ascii = NULL;
    int rc = idn2_to_ascii_8z(in, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
        *why = "host name is not a valid internationalized domain name";
        return AG_ERR;
    }
    size_t n = strlen(ascii);
    if (n >= outsz) {
        idn2_free(ascii);
        *why = "host name longer than 253 characters";
        return AG_ERR;
    }
    memcpy(out, ascii, n + 1);
    idn2_free(ascii);
    return AG_OK;
}

int host_normalize(const char *in, size_t len, host_norm *out, const char **why)
{
    char buf[4 * POLICY_HOST_MAX + 8];
    memset(out->addr, 0, sizeof out->addr);
    out->name[0] = '\0';
    if (len >= 2 && in[0] == '[' && in[len - 1] == ']') {
        in++;
        len -= 2;
        if (len >= sizeof buf || memchr(in, ':', len) == NULL) {
            *why = "brackets hold no IPv6 address";
            return AG_ERR;
        }
    }
    if (len == 0) {
        *why = "empty host";
        return AG_ERR;
    }
    if (len >= sizeof buf) {
        *why = "host name longer than 253 characters";
        return AG_ERR;
    }
    memcpy(buf, in, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        *why = "NUL byte in host";
        return AG_ERR;
    }
    if (parse_ip(buf, out))
        return AG_OK;
    if (strchr(buf, ':') || strchr(buf, '%')) {
        *why = "invalid IP address";
        return AG_ERR;
    }
    if (len > 1 && buf[len - 1] == '.')
        buf[--len] = '\0';
    int ascii = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 0x80)
            ascii = 0;
        else if (c >= 'A' && c <= 'Z')
            buf[i] = (char)(c - 'A' + 'a');
    }
    if (ascii) {
        if (len > POLICY_HOST_MAX) {
            *why = "host name longer than 253 characters";
            return AG_ERR;
        }
        memcpy(out->name, buf, len + 1);
    } else if (idna_to_ascii(buf, out->name, sizeof out->name, why) != AG_OK) {
        return AG_ERR;
    }
    out->kind = HOST_NAME;
    return validate_name(out->name, strlen(out->name), why);
}
