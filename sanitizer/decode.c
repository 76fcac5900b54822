/* sanitizer: content decoding in front of the sanitizer. Two streaming stages: the
 * Content-Encoding (gzip, deflate in its zlib or raw form, br) and the charset (iconv to UTF-8,
 * with the WHATWG label aliases browsers use, a byte-order mark overriding the label, the
 * document's own <meta> declaration read from its first 1024 bytes when the transport gave no
 * charset, windows-1252 for a page that declares none and is not UTF-8, and U+FFFD for invalid
 * sequences as a browser decoder produces). Memory is bounded
 * by fixed buffers; after any error nothing more is emitted, so no undecoded bytes can reach the
 * sanitizer's sink. */
#include <brotli/decode.h>
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "sanitizer/sanitizer.h"

#define DECODE_BUF 16384
#define PRESCAN_BYTES 1024 /* where a browser looks for <meta charset> */
#define ZNAME (d->enc == ENC_GZIP ? "gzip" : "deflate")

typedef enum { ENC_IDENTITY, ENC_GZIP, ENC_DEFLATE, ENC_BR } encoding_kind;

struct content_decoder {
    sanitizer_sink sink;
    void *ctx;
    bool failed, finished;

    encoding_kind enc;
    z_stream z;
    bool z_ready, z_done;
    unsigned char z_head[2];
    size_t z_head_len; /* deflate: bytes seen before choosing zlib or raw */
    BrotliDecoderState *br;
    bool br_done;

    /* charset stage */
    char charset[64]; /* iconv name; empty: UTF-8 pass-through */
    iconv_t cd;
    bool cd_open;
    bool sniff;           /* no charset was given: the document's <meta> may declare one */
    unsigned char head[PRESCAN_BYTES]; /* the first bytes, held until the charset is known */
    size_t head_len;
    bool bom_checked;     /* the charset is settled (byte-order mark, <meta> or default) */
    bool guess_utf8;      /* nothing declared one: UTF-8 until a byte says otherwise */
    char carry[16]; /* an incomplete multibyte sequence */
    size_t carry_len;

    char out[DECODE_BUF];
};

/* WHATWG encoding labels mapped to the glibc iconv names of the same decoders. */
static const struct {
    const char *label, *iconv;
} CHARSET_ALIASES[] = {
    {"utf-8", ""}, {"utf8", ""}, {"unicode-1-1-utf-8", ""},
    {"iso-8859-1", "CP1252"}, {"latin1", "CP1252"}, {"l1", "CP1252"}, {"us-ascii", "CP1252"},
    {"ascii", "CP1252"}, {"windows-1252", "CP1252"}, {"cp1252", "CP1252"},
    {"iso_8859-1", "CP1252"}, {"iso8859-1", "CP1252"}, {"cp819", "CP1252"},
    {"shift_jis", "CP932"}, {"shift-jis", "CP932"}, {"sjis", "CP932"}, {"ms_kanji", "CP932"},
    {"windows-31j", "CP932"}, {"x-sjis", "CP932"},
    {"euc-kr", "CP949"}, {"ks_c_5601-1987", "CP949"}, {"windows-949", "CP949"},
    {"gb2312", "GB18030"}, {"gbk", "GB18030"}, {"gb18030", "GB18030"}, {"x-gbk", "GB18030"},
    {"big5", "BIG5-HKSCS"}, {"euc-jp", "EUC-JP"}, {"iso-2022-jp", "ISO-2022-JP"},
    {"utf-16", "UTF-16LE"}, {"utf-16le", "UTF-16LE"}, {"utf-16be", "UTF-16BE"},
    {"iso-8859-9", "CP1254"}, {"latin5", "CP1254"}, {"tis-620", "CP874"},
    {"iso-8859-11", "CP874"}};

/* Labels browsers refuse to decode (the page would show as something else entirely). */
static const char *const REFUSED_CHARSETS[] = {"utf-7", "x-imap4-modified-utf7", "utf-32",
                                               "utf-32le", "utf-32be", "hz-gb-2312",
                                               "iso-2022-kr", "iso-2022-cn", NULL};

/* The iconv name for a charset label ("" for UTF-8, the label itself when it has no alias);
 * NULL for a label browsers refuse. Quotes and spaces around the label are ignored. */
static const char *charset_iconv_name(const char *label, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", label);
    char *l = buf;
    while (*l == ' ' || *l == '"' || *l == '\'')
        l++;
    size_t n = strlen(l);
    while (n && (l[n - 1] == ' ' || l[n - 1] == '"' || l[n - 1] == '\''))
        l[--n] = '\0';
    for (const char *const *r = REFUSED_CHARSETS; *r; r++)
        if (strcasecmp(l, *r) == 0)
            return NULL;
    for (size_t i = 0; i < sizeof CHARSET_ALIASES / sizeof CHARSET_ALIASES[0]; i++)
        if (strcasecmp(l, CHARSET_ALIASES[i].label) == 0)
            return CHARSET_ALIASES[i].iconv;
    return l;
}

/* what is "gzip", "deflate", "br" or a charset name; why is the problem. */
static int decoder_fail(content_decoder *d, ag_error *err, const char *stage, const char *what,
                         const char *why)
{
    d->failed = true;
    return ag_errorf(err, "%s %s: %s", stage, what, why);
}

static int emit(content_decoder *d, const char *p, size_t n, ag_error *err)
{
    if (n == 0)
        return AG_OK;
    if (d->sink(d->ctx, p, n) != 0) {
        d->failed = true;
        return ag_errorf(err, "content decoder: the sanitizer refused the decoded data");
    }
    return AG_OK;
}

/* ---- charset stage --------------------------------------------------------------------- */

static int charset_open(content_decoder *d, const char *name, ag_error *err)
{
    snprintf(d->charset, sizeof d->charset, "%s", name);
    if (!name[0])
        return AG_OK;
    d->cd = iconv_open("UTF-8", name);
    if (d->cd == (iconv_t)-1)
        return ag_errorf(err, "charset: %s is not supported by iconv", name);
    d->cd_open = true;
    return AG_OK;
}

/* ---- undeclared charset: UTF-8 or windows-1252 ---------------------------------------- */

/* The UTF-8 sequence at p[0, n) (p[0] >= 0x80): its length when valid and complete, 0 when
 * invalid, -1 when valid so far but cut off by the end of the input. */
static int utf8_sequence(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    int need;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n)
            return -1;
        if (p[k] < (k == 1 ? lo : 0x80) || p[k] > (k == 1 ? hi : 0xBF))
            return 0;
    }
    return need;
}

static int transcode(content_decoder *d, const char *in, size_t len, ag_error *err);

/* The page is not UTF-8: read as windows-1252 from here on, as browsers read a page that
 * declares no charset. Bytes held in carry are decoded first. */
static int guess_legacy(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    d->guess_utf8 = false;
    if (charset_open(d, "CP1252", err) != AG_OK) {
        d->failed = true;
        return AG_ERR;
    }
    char held[sizeof d->carry];
    size_t n = d->carry_len;
    memcpy(held, d->carry, n);
    d->carry_len = 0;
    if (transcode(d, held, n, err) != AG_OK)
        return AG_ERR;
    return transcode(d, in, len, err);
}

/* With no charset declared anywhere, a page is read as UTF-8 while its bytes are: the first
 * valid multibyte character settles UTF-8 (a later invalid byte is then an error in a UTF-8
 * page, U+FFFD), and an invalid sequence before any makes it a legacy page, read as
 * windows-1252 from that byte on. Everything before was ASCII, which both read alike, so the
 * text is as if the choice had been made at the start, however the input was split. */
static int guess_input(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    const unsigned char *u = (const unsigned char *)in;
    if (len == 0)
        return AG_OK;
    if (d->carry_len > 0) { /* a sequence cut at the end of the previous piece */
        unsigned char seq[4];
        size_t have = d->carry_len, add = len < 4 - have ? len : 4 - have;
        memcpy(seq, d->carry, have);
        memcpy(seq + have, u, add);
        int r = utf8_sequence(seq, have + add);
        if (r == 0)
            return guess_legacy(d, in, len, err);
        if (r < 0) {
            memcpy(d->carry + have, u, add);
            d->carry_len += add;
            return AG_OK;
        }
        d->guess_utf8 = false;
        d->carry_len = 0;
        if (emit(d, (const char *)seq, have, err) != AG_OK)
            return AG_ERR;
        return emit(d, in, len, err);
    }
    size_t i = 0;
    while (i < len && u[i] < 0x80)
        i++;
    if (emit(d, in, i, err) != AG_OK)
        return AG_ERR;
    if (i == len)
        return AG_OK;
    int r = utf8_sequence(u + i, len - i);
    if (r == 0)
        return guess_legacy(d, in + i, len - i, err);
    if (r < 0) {
        memcpy(d->carry, u + i, len - i);
        d->carry_len = len - i;
        return AG_OK;
    }
    d->guess_utf8 = false;
    return emit(d, in + i, len - i, err);
}

/* Input goes through a small staging buffer (an incomplete sequence from the previous piece,
 * then up to 4 KiB of new input), so a character split across pieces decodes as one. */
static int transcode(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    if (!d->cd_open)
        return d->guess_utf8 ? guess_input(d, in, len, err) : emit(d, in, len, err);
    char stage[sizeof d->carry + 4096];
    while (len > 0) {
        size_t take = len < 4096 ? len : 4096;
        memcpy(stage, d->carry, d->carry_len);
        memcpy(stage + d->carry_len, in, take);
        in += take;
        len -= take;
        char *ip = stage;
        size_t il = d->carry_len + take;
        d->carry_len = 0;
        while (il > 0) {
            char *op = d->out;
            size_t ol = sizeof d->out;
            size_t r = iconv(d->cd, &ip, &il, &op, &ol);
            if (emit(d, d->out, (size_t)(op - d->out), err) != AG_OK)
                return AG_ERR;
            if (r != (size_t)-1 || errno == E2BIG)
                continue;
            if (errno == EINVAL && il <= sizeof d->carry) {
                /* incomplete sequence at the end: kept for the next piece */
                memcpy(d->carry, ip, il);
                d->carry_len = il;
                break;
            }
            if (errno == EILSEQ || errno == EINVAL) {
                /* as a browser decoder does: U+FFFD, then resume at the next byte */
                if (emit(d, "\xEF\xBF\xBD", 3, err) != AG_OK)
                    return AG_ERR;
                ip++;
                il--;
                continue;
            }
            return decoder_fail(d, err, "charset", d->charset, "conversion failed");
        }
    }
    return AG_OK;
}

/* Case-insensitive: does p[0, n) start with the lower-case ASCII lit? */
static bool head_is(const unsigned char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n < l)
        return false;
    for (size_t i = 0; i < l; i++)
        if ((p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) != (unsigned char)lit[i])
            return false;
    return true;
}

static bool prescan_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* An attribute at p[*i] (WHATWG "get an attribute", simplified): its lower-case name and raw
 * value into the buffers (truncated); false at '>' or the end. */
static bool prescan_attr(const unsigned char *p, size_t n, size_t *i, char *name,
                         size_t name_cap, char *value, size_t value_cap)
{
    size_t k = *i, nl = 0, vl = 0;
    while (k < n && (prescan_space(p[k]) || p[k] == '/'))
        k++;
    if (k >= n || p[k] == '>') {
        *i = k;
        return false;
    }
    while (k < n && p[k] != '=' && p[k] != '>' && p[k] != '/' && !prescan_space(p[k])) {
        if (nl + 1 < name_cap)
            name[nl++] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
        k++;
    }
    while (k < n && prescan_space(p[k]))
        k++;
    if (k < n && p[k] == '=') {
        k++;
        while (k < n && prescan_space(p[k]))
            k++;
        if (k < n && (p[k] == '"' || p[k] == '\'')) {
            unsigned char q = p[k++];
            while (k < n && p[k] != q) {
                if (vl + 1 < value_cap)
                    value[vl++] = (char)p[k];
                k++;
            }
            k++;
        } else {
            while (k < n && p[k] != '>' && !prescan_space(p[k])) {
                if (vl + 1 < value_cap)
                    value[vl++] = (char)p[k];
                k++;
            }
        }
    }
    name[nl] = value[vl] = '\0';
    *i = k;
    return true;
}

/* The charset in a content attribute ("text/html; charset=EUC-KR"); false for none. */
static bool charset_from_content(const char *v, char *out, size_t cap)
{
    for (const char *c = v; (c = strchr(c, '=')) != NULL; c++) {
        const char *k = c;
        while (k > v && k[-1] == ' ')
            k--;
        if (k - v < 7 || strncasecmp(k - 7, "charset", 7) != 0)
            continue;
        const char *b = c + 1;
        while (*b == ' ')
            b++;
        if (*b == '"' || *b == '\'')
            b++;
        size_t n = strcspn(b, "\"'; \t");
        if (n == 0 || n >= cap)
            return false;
        memcpy(out, b, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

/* The charset a document declares in its first bytes: <meta charset=...>, or <meta
 * http-equiv=content-type content="...; charset=...">, outside comments; false for none. The
 * WHATWG prescan, simplified: other tags are skipped to their '>'. */
static bool prescan_charset(const unsigned char *p, size_t n, char *out, size_t cap)
{
    size_t i = 0;
    while (i < n) {
        if (head_is(p + i, n - i, "<!--")) {
            size_t k = i + 4;
            while (k + 2 < n && !(p[k] == '-' && p[k + 1] == '-' && p[k + 2] == '>'))
                k++;
            i = k + 2; /* its '>' (the loop steps past it) */
        } else if (head_is(p + i, n - i, "<meta") && i + 5 < n &&
                   (prescan_space(p[i + 5]) || p[i + 5] == '/')) {
            char name[32], value[128], found[64] = "";
            bool pragma = false, need_pragma = false;
            i += 5;
            while (prescan_attr(p, n, &i, name, sizeof name, value, sizeof value)) {
                if (strcmp(name, "http-equiv") == 0 && strcasecmp(value, "content-type") == 0)
                    pragma = true;
                else if (strcmp(name, "charset") == 0 && !found[0])
                    snprintf(found, sizeof found, "%s", value), need_pragma = false;
                else if (strcmp(name, "content") == 0 && !found[0] &&
                         charset_from_content(value, found, sizeof found))
                    need_pragma = true;
            }
            if (found[0] && (!need_pragma || pragma)) {
                snprintf(out, cap, "%s", found);
                return true;
            }
        } else if (p[i] == '<' && i + 1 < n &&
                   (p[i + 1] == '/' || p[i + 1] == '!' || p[i + 1] == '?' ||
                    (unsigned)((p[i + 1] | 0x20) - 'a') < 26u)) {
            char name[32], value[128];
            i += 2;
            while (i < n && !prescan_space(p[i]) && p[i] != '>')
                i++;
            while (prescan_attr(p, n, &i, name, sizeof name, value, sizeof value))
                ;
        }
        i++;
    }
    return false;
}

/* The document's declared charset as an iconv name, when the transport gave none: a label of
 * UTF-16 means UTF-8 there (the bytes were ASCII-compatible enough to read the tag), an
 * unknown or refused label is ignored, as in browsers. NULL: none usable. */
static const char *sniffed_charset(const content_decoder *d, char *buf, size_t cap)
{
    char label[64];
    if (!prescan_charset(d->head, d->head_len, label, sizeof label))
        return NULL;
    if (strncasecmp(label, "utf-16", 6) == 0)
        return "";
    if (strcasecmp(label, "x-user-defined") == 0)
        return "CP1252";
    const char *name = charset_iconv_name(label, buf, cap);
    if (!name || !name[0])
        return name;
    iconv_t t = iconv_open("UTF-8", name);
    if (t == (iconv_t)-1)
        return NULL;
    iconv_close(t);
    return name;
}

/* The first bytes are held until the charset is settled: a byte-order mark decides over any
 * declared charset, as in browsers; without a charset from the transport, a <meta> in the
 * first PRESCAN_BYTES bytes does. */
static int charset_input(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    if (!d->bom_checked) {
        size_t need = d->sniff ? PRESCAN_BYTES : 3;
        size_t take = need - d->head_len < len ? need - d->head_len : len;
        if (take) {
            memcpy(d->head + d->head_len, in, take);
            d->head_len += take;
            in += take;
            len -= take;
        }
        if (d->head_len < need && !d->finished)
            return AG_OK;
        d->bom_checked = true;
        const unsigned char *b = d->head;
        size_t skip = 0;
        const char *force = NULL;
        char buf[64];
        if (d->head_len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
            force = "";
            skip = 3;
        } else if (d->head_len >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
            force = "UTF-16LE";
            skip = 2;
        } else if (d->head_len >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
            force = "UTF-16BE";
            skip = 2;
        } else if (d->sniff) {
            force = sniffed_charset(d, buf, sizeof buf);
            d->guess_utf8 = force == NULL;
        }
        if (force && strcmp(force, d->charset) != 0) {
            if (d->cd_open)
                iconv_close(d->cd);
            d->cd_open = false;
            if (charset_open(d, force, err) != AG_OK) {
                d->failed = true;
                return AG_ERR;
            }
        }
        if (transcode(d, (const char *)b + skip, d->head_len - skip, err) != AG_OK)
            return AG_ERR;
    }
    return transcode(d, in, len, err);
}

/* ---- content-encoding stage ------------------------------------------------------------ */

static int inflate_input(content_decoder *d, const unsigned char *in, size_t len, ag_error *err)
{
    if (d->z_done) {
        if (len > 0)
            return decoder_fail(d, err, "content-encoding", ZNAME, "data after the end of the stream");
        return AG_OK;
    }
    d->z.next_in = (unsigned char *)in;
    d->z.avail_in = (uInt)len;
    for (;;) {
        d->z.next_out = (unsigned char *)d->out;
        d->z.avail_out = sizeof d->out;
        int r = inflate(&d->z, Z_NO_FLUSH);
        size_t got = sizeof d->out - d->z.avail_out;
        if (r != Z_OK && r != Z_STREAM_END && !(r == Z_BUF_ERROR && got == 0))
            return decoder_fail(d, err, "content-encoding", ZNAME, "corrupt compressed data");
        /* decoded bytes are emitted only after zlib accepted them */
        char copy[DECODE_BUF];
        memcpy(copy, d->out, got);
        if (charset_input(d, copy, got, err) != AG_OK)
            return AG_ERR;
        if (r == Z_STREAM_END) {
            d->z_done = true;
            if (d->z.avail_in > 0)
                return decoder_fail(d, err, "content-encoding", ZNAME, "data after the end of the stream");
            break;
        }
        if (d->z.avail_in == 0 && d->z.avail_out != 0)
            break;
        if (got == 0)
            break;
    }
    return AG_OK;
}

static int deflate_input(content_decoder *d, const unsigned char *in, size_t len, ag_error *err)
{
    if (!d->z_ready) {
        /* "deflate" is zlib-wrapped by the standard and raw in some servers: the first two
         * bytes tell them apart */
        while (d->z_head_len < 2 && len > 0) {
            d->z_head[d->z_head_len++] = *in++;
            len--;
        }
        if (d->z_head_len < 2 && !d->finished)
            return AG_OK;
        bool zlib_header = d->z_head_len == 2 && (d->z_head[0] & 0x0F) == 8 &&
                           ((d->z_head[0] << 8) | d->z_head[1]) % 31 == 0;
        if (inflateInit2(&d->z, zlib_header ? 15 : -15) != Z_OK)
            return decoder_fail(d, err, "content-encoding", "deflate", "cannot initialise zlib");
        d->z_ready = true;
        unsigned char head[2];
        memcpy(head, d->z_head, d->z_head_len);
        if (d->z_head_len && inflate_input(d, head, d->z_head_len, err) != AG_OK)
            return AG_ERR;
    }
    return inflate_input(d, in, len, err);
}

static int brotli_input(content_decoder *d, const unsigned char *in, size_t len, ag_error *err)
{
    if (d->br_done) {
        if (len > 0)
            return decoder_fail(d, err, "content-encoding", "br", "data after the end of the stream");
        return AG_OK;
    }
    size_t avail_in = len;
    const uint8_t *next_in = in;
    for (;;) {
        size_t avail_out = sizeof d->out;
        uint8_t *next_out = (uint8_t *)d->out;
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(d->br, &avail_in, &next_in, &avail_out, &next_out, NULL);
        if (r == BROTLI_DECODER_RESULT_ERROR)
            return decoder_fail(d, err, "content-encoding", "br",
                                BrotliDecoderErrorString(BrotliDecoderGetErrorCode(d->br)));
        size_t got = sizeof d->out - avail_out;
        char copy[DECODE_BUF];
        memcpy(copy, d->out, got);
        if (charset_input(d, copy, got, err) != AG_OK)
            return AG_ERR;
        if (r == BROTLI_DECODER_RESULT_SUCCESS) {
            d->br_done = true;
            if (avail_in > 0)
                return decoder_fail(d, err, "content-encoding", "br", "data after the end of the stream");
            return AG_OK;
        }
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            return AG_OK;
    }
}

static int encoded_input(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    const unsigned char *u = (const unsigned char *)in;
    switch (d->enc) {
    case ENC_GZIP:
        return inflate_input(d, u, len, err);
    case ENC_DEFLATE:
        return deflate_input(d, u, len, err);
    case ENC_BR:
        return brotli_input(d, u, len, err);
    default:
        return charset_input(d, in, len, err);
    }
}

/* ---- public API ------------------------------------------------------------------------ */

content_decoder *content_decoder_new(const char *encoding, const char *charset,
                                     sanitizer_sink sink, void *ctx, ag_error *err)
{
    content_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        ag_errorf(err, "content decoder: out of memory");
        return NULL;
    }
    d->sink = sink;
    d->ctx = ctx;
    const char *e = encoding ? encoding : "";
    while (*e == ' ' || *e == '\t')
        e++;
    if (!*e || strcasecmp(e, "identity") == 0) {
        d->enc = ENC_IDENTITY;
    } else if (strcasecmp(e, "gzip") == 0 || strcasecmp(e, "x-gzip") == 0) {
        d->enc = ENC_GZIP;
        if (inflateInit2(&d->z, 15 + 16) != Z_OK) {
            ag_errorf(err, "content-encoding gzip: cannot initialise zlib");
            free(d);
            return NULL;
        }
        d->z_ready = true;
    } else if (strcasecmp(e, "deflate") == 0) {
        d->enc = ENC_DEFLATE;
    } else if (strcasecmp(e, "br") == 0) {
        d->enc = ENC_BR;
        d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!d->br) {
            ag_errorf(err, "content-encoding br: out of memory");
            free(d);
            return NULL;
        }
    } else {
        ag_errorf(err, "content-encoding: '%s' is not supported (identity, gzip, deflate, br)", e);
        free(d);
        return NULL;
    }
    char label[64];
    d->sniff = charset == NULL;
    const char *name = charset_iconv_name(charset ? charset : "utf-8", label, sizeof label);
    if (!name) {
        ag_errorf(err, "charset: '%s' is refused (browsers do not decode it)", label);
        content_decoder_free(d);
        return NULL;
    }
    if (charset_open(d, name, err) != AG_OK) {
        content_decoder_free(d);
        return NULL;
    }
    return d;
}

int content_decoder_feed(content_decoder *d, const char *data, size_t len, ag_error *err)
{
    if (d->failed)
        return ag_errorf(err, "content decoder: stream already failed");
    if (d->finished)
        return ag_errorf(err, "content decoder: data after finish");
    return encoded_input(d, data, len, err);
}

int content_decoder_finish(content_decoder *d, ag_error *err)
{
    if (d->failed)
        return ag_errorf(err, "content decoder: stream already failed");
    d->finished = true;
    if (d->enc == ENC_DEFLATE && !d->z_ready && deflate_input(d, NULL, 0, err) != AG_OK)
        return AG_ERR;
    if ((d->enc == ENC_GZIP || d->enc == ENC_DEFLATE) && !d->z_done)
        return decoder_fail(d, err, "content-encoding", ZNAME, "truncated compressed data");
    if (d->enc == ENC_BR && !d->br_done)
        return decoder_fail(d, err, "content-encoding", "br", "truncated compressed data");
    if (!d->bom_checked && charset_input(d, NULL, 0, err) != AG_OK)
        return AG_ERR;
    if (d->guess_utf8 && d->carry_len > 0 && guess_legacy(d, NULL, 0, err) != AG_OK)
        return AG_ERR;
    if (d->carry_len > 0) {
        d->carry_len = 0;
        if (emit(d, "\xEF\xBF\xBD", 3, err) != AG_OK)
            return AG_ERR;
    }
    if (d->cd_open) {
        /* stateful encodings (ISO-2022-JP) may have a final shift sequence */
        char *op = d->out;
        size_t ol = sizeof d->out;
        iconv(d->cd, NULL, NULL, &op, &ol);
        if (emit(d, d->out, (size_t)(op - d->out), err) != AG_OK)
            return AG_ERR;
    }
    return AG_OK;
}

void content_decoder_free(content_decoder *d)
{
    if (!d)
        return;
    if (d->z_ready)
        inflateEnd(&d->z);
    if (d->br)
        BrotliDecoderDestroyInstance(d->br);
    if (d->cd_open)
        iconv_close(d->cd);
    free(d);
}
