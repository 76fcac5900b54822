/* sanitizer: content decoding in front of the sanitizer. Two streaming stages: the
 * Content-Encoding (gzip, deflate in its zlib or raw form, br) and the charset (iconv to UTF-8,
 * with the WHATWG label aliases browsers use, a byte-order mark overriding the label, and
 * U+FFFD for invalid sequences as a browser decoder produces). Memory is bounded by fixed
 * buffers; after any error nothing more is emitted, so no undecoded bytes can reach the
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
    unsigned char bom[3];
    size_t bom_len;
    bool bom_checked;
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

/* Input goes through a small staging buffer (an incomplete sequence from the previous piece,
 * then up to 4 KiB of new input), so a character split across pieces decodes as one. */
static int transcode(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    if (!d->cd_open)
        return emit(d, in, len, err);
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

/* A byte-order mark decides the encoding over the declared charset, as in browsers. */
static int charset_input(content_decoder *d, const char *in, size_t len, ag_error *err)
{
    if (!d->bom_checked) {
        while (d->bom_len < 3 && len > 0) {
            d->bom[d->bom_len++] = (unsigned char)*in++;
            len--;
        }
        if (d->bom_len < 3 && len == 0 && !d->finished)
            return AG_OK;
        d->bom_checked = true;
        const unsigned char *b = d->bom;
        size_t skip = 0;
        const char *force = NULL;
        if (d->bom_len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
            force = "";
            skip = 3;
        } else if (d->bom_len >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
            force = "UTF-16LE";
            skip = 2;
        } else if (d->bom_len >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
            force = "UTF-16BE";
            skip = 2;
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
        if (transcode(d, (const char *)b + skip, d->bom_len - skip, err) != AG_OK)
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
    snprintf(label, sizeof label, "%s", charset ? charset : "utf-8");
    char *l = label;
    while (*l == ' ' || *l == '"' || *l == '\'')
        l++;
    size_t n = strlen(l);
    while (n && (l[n - 1] == ' ' || l[n - 1] == '"' || l[n - 1] == '\''))
        l[--n] = '\0';
    for (const char *const *r = REFUSED_CHARSETS; *r; r++)
        if (strcasecmp(l, *r) == 0) {
            ag_errorf(err, "charset: '%s' is refused (browsers do not decode it)", l);
            content_decoder_free(d);
            return NULL;
        }
    const char *name = l;
    for (size_t i = 0; i < sizeof CHARSET_ALIASES / sizeof CHARSET_ALIASES[0]; i++)
        if (strcasecmp(l, CHARSET_ALIASES[i].label) == 0) {
            name = CHARSET_ALIASES[i].iconv;
            break;
        }
    if (!*l)
        name = "";
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
