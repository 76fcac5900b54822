/* tests (sanitizer): the content decoder. Compressed inputs are made here with zlib (gzip,
 * zlib-wrapped and raw deflate); the brotli stream is a fixed vector (made with libbrotlienc
 * from BR_PLAIN). Every case is also fed one byte at a time; a corrupt stream must fail and
 * emit nothing decoded after the error. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sanitizer/sanitizer.h"

#include "sink_buf.h"

/* Decodes in with the given piece size; returns 0/-1 and the output in *out. */
static int decode(const char *enc, const char *cs, const void *in, size_t n, size_t piece, buf *out)
{
    *out = (buf){calloc(1, 1), 0};
    ag_error err = {0};
    content_decoder *d = content_decoder_new(enc, cs, sink, out, &err);
    cr_assert(d, "%s", err.msg);
    const char *p = in;
    int rc = AG_OK;
    if (piece == 0)
        piece = n ? n : 1;
    for (size_t at = 0; at < n && rc == AG_OK; at += piece)
        rc = content_decoder_feed(d, p + at, n - at < piece ? n - at : piece, &err);
    if (rc == AG_OK)
        rc = content_decoder_finish(d, &err);
    content_decoder_free(d);
    return rc;
}

static size_t zcompress(const char *in, unsigned char *out, size_t cap, int window_bits)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)strlen(in);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static const char PLAIN[] = "<p>Hello, world \xC3\xA9 <b>bold</b></p> repeated repeated repeated";

static void check_roundtrip(const char *enc, int window_bits)
{
    unsigned char c[512];
    size_t n = zcompress(PLAIN, c, sizeof c, window_bits);
    for (size_t piece = 0; piece <= 7; piece++) {
        buf out;
        cr_assert_eq(decode(enc, NULL, c, n, piece, &out), AG_OK, "%s piece %zu", enc, piece);
        cr_expect_str_eq(out.p, PLAIN, "%s piece %zu", enc, piece);
        free(out.p);
    }
}

Test(decode, gzip)
{
    check_roundtrip("gzip", 15 + 16);
    check_roundtrip("x-gzip", 15 + 16);
}

Test(decode, deflate_zlib_and_raw)
{
    check_roundtrip("deflate", 15);
    check_roundtrip("deflate", -15);
}

static const char BR_PLAIN[] = "<p>Hello br \xC3\xA9t\xC3\xA9 <script>x</script></p>";
static const unsigned char BR_DATA[] =
    "\x1b\x27\x00\x00\x44\x27\x47\x7a\xb0\x83\x7c\xe7\x84\x03\x6a\x2d\x08\x35\xe1\x52\x94\x52"
    "\x0a\x4a\xe5\x4b\xa9\x1c\xbd\x1e\xb2\xf1\x37\x7f\xd0\x7b\x24\xaf\x88\x58\x06";

Test(decode, brotli)
{
    for (size_t piece = 0; piece <= 3; piece++) {
        buf out;
        cr_assert_eq(decode("br", NULL, BR_DATA, sizeof BR_DATA - 1, piece, &out), AG_OK);
        cr_expect_str_eq(out.p, BR_PLAIN);
        free(out.p);
    }
}

Test(decode, charsets_to_utf8)
{
    struct {
        const char *cs, *in, *want;
    } cases[] = {
        {"iso-8859-1", "caf\xE9 \x80", "caf\xC3\xA9 \xE2\x82\xAC"}, /* latin1 is windows-1252 */
        {"windows-1252", "\x93q\x94", "\xE2\x80\x9Cq\xE2\x80\x9D"},
        {"Shift_JIS", "\x93\xFA\x96\x7B", "\xE6\x97\xA5\xE6\x9C\xAC"},
        {"utf-8", "\xC3\xA9", "\xC3\xA9"},
        {"iso-8859-1", "\xEF\xBB\xBF\xC3\xA9", "\xC3\xA9"}, /* a BOM overrides the label */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t piece = 0; piece <= 2; piece++) {
            buf out;
            cr_assert_eq(decode(NULL, cases[i].cs, cases[i].in, strlen(cases[i].in), piece, &out),
                         AG_OK);
            cr_expect_str_eq(out.p, cases[i].want, "%s piece %zu", cases[i].cs, piece);
            free(out.p);
        }
    }
    /* an invalid Shift_JIS sequence becomes U+FFFD, decoding goes on */
    buf out;
    cr_assert_eq(decode(NULL, "shift_jis", "a\x81\x20z", 4, 0, &out), AG_OK);
    cr_expect_not_null(strstr(out.p, "\xEF\xBF\xBD"), "%s", out.p);
    cr_expect_eq(out.p[out.n - 1], 'z');
    free(out.p);
}

Test(decode, refused_and_unknown)
{
    ag_error err;
    cr_expect_null(content_decoder_new("compress", NULL, sink, NULL, &err));
    cr_expect_not_null(strstr(err.msg, "compress"));
    cr_expect_null(content_decoder_new(NULL, "utf-7", sink, NULL, &err));
    cr_expect_null(content_decoder_new(NULL, "no-such-charset-x", sink, NULL, &err));
}

Test(decode, corrupt_input_fails_and_emits_nothing_after)
{
    unsigned char c[512];
    size_t n = zcompress(PLAIN, c, sizeof c, 15 + 16);
    /* corrupt the deflate body */
    for (size_t i = 12; i < n - 8; i++)
        c[i] ^= 0x5A;
    buf out;
    cr_expect_eq(decode("gzip", NULL, c, n, 0, &out), AG_ERR);
    free(out.p);
    /* truncated stream */
    n = zcompress(PLAIN, c, sizeof c, 15 + 16);
    cr_expect_eq(decode("gzip", NULL, c, n / 2, 0, &out), AG_ERR);
    free(out.p);
    /* not brotli at all */
    cr_expect_eq(decode("br", NULL, "\xff\xff\xff\xff garbage", 12, 0, &out), AG_ERR);
    free(out.p);
    /* after an error, further feeds fail and emit nothing */
    buf b = {calloc(1, 1), 0};
    ag_error err;
    content_decoder *d = content_decoder_new("gzip", NULL, sink, &b, &err);
    cr_expect_eq(content_decoder_feed(d, "not gzip at all", 15, &err), AG_ERR);
    size_t before = b.n;
    n = zcompress(PLAIN, c, sizeof c, 15 + 16);
    cr_expect_eq(content_decoder_feed(d, (const char *)c, n, &err), AG_ERR);
    cr_expect_eq(b.n, before);
    content_decoder_free(d);
    free(b.p);
}

/* Decodes in with charset cs (NULL: none given) whole and in pieces of 1 to max_piece bytes. */
static void expect_decoded(const char *cs, const char *in, const char *want, size_t max_piece)
{
    for (size_t piece = 0; piece <= max_piece; piece++) {
        buf out;
        cr_assert_eq(decode(NULL, cs, in, strlen(in), piece, &out), AG_OK, "%s", in);
        cr_expect_str_eq(out.p, want, "input %s, piece %zu", in, piece);
        free(out.p);
    }
}

/* With no charset from the transport, a byte-order mark or the document's own <meta> in its
 * first 1024 bytes decides, as in a browser; a charset from the transport wins over <meta>.
 * Checked whole and one byte at a time. */
static void expect_sniffed(const char *cs, const char *in, const char *want)
{
    expect_decoded(cs, in, want, 1);
}

Test(decode, charset_declared_in_the_document)
{
    /* "Privet" in windows-1251; EUC-KR "annyeong" */
    expect_sniffed(NULL, "<meta charset=\"windows-1251\"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>",
                   "<meta charset=\"windows-1251\"><p>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
                   "\xd1\x82</p>");
    expect_sniffed(NULL, "<META http-equiv=\"Content-Type\" content=\"text/html; charset=EUC-KR\">"
                         "\xbe\xc8\xb3\xe7",
                   "<META http-equiv=\"Content-Type\" content=\"text/html; charset=EUC-KR\">"
                   "\xec\x95\x88\xeb\x85\x95");
    /* a comment, an attribute value, a content attribute without http-equiv: not declarations */
    expect_sniffed(NULL, "<!-- <meta charset=koi8-r> --><meta charset=iso-8859-1>caf\xe9",
                   "<!-- <meta charset=koi8-r> --><meta charset=iso-8859-1>caf\xc3\xa9");
    expect_sniffed(NULL, "<p title='<meta charset=koi8-r>'>caf\xc3\xa9",
                   "<p title='<meta charset=koi8-r>'>caf\xc3\xa9");
    expect_sniffed(NULL, "<meta content=\"text/html; charset=koi8-r\">\xc3\xa9",
                   "<meta content=\"text/html; charset=koi8-r\">\xc3\xa9");
    /* a UTF-16 label read from ASCII bytes means UTF-8; a refused or unknown one is ignored */
    expect_sniffed(NULL, "<meta charset=utf-16>\xc3\xa9", "<meta charset=utf-16>\xc3\xa9");
    expect_sniffed(NULL, "<meta charset=utf-7>a+AGE-", "<meta charset=utf-7>a+AGE-");
    expect_sniffed(NULL, "<meta charset=no-such-thing>\xc3\xa9",
                   "<meta charset=no-such-thing>\xc3\xa9");
    /* names and values longer than the prescan keeps are cut, not overrun */
    expect_sniffed(NULL, "<x aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1>"
                         "<meta xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx charset=koi8-r>\xc1",
                   "<x aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1>"
                   "<meta xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx charset=koi8-r>"
                   "\xd0\xb0");
    /* the transport's charset and a byte-order mark win */
    expect_sniffed("utf-8", "<meta charset=iso-8859-1>\xc3\xa9",
                   "<meta charset=iso-8859-1>\xc3\xa9");
    expect_sniffed(NULL, "\xef\xbb\xbf<meta charset=iso-8859-1>\xc3\xa9",
                   "<meta charset=iso-8859-1>\xc3\xa9");
    /* past the first 1024 bytes a declaration is not looked for */
    char late[1200], want[1200];
    memset(late, ' ', 1100);
    strcpy(late + 1100, "<meta charset=iso-8859-1>\xe9");
    memcpy(want, late, 1125);
    strcpy(want + 1125, "\xc3\xa9"); /* an undeclared legacy page, below */
    expect_sniffed(NULL, late, want);
}

/* No charset given: whole and in pieces of 1 to 4 bytes (a sequence split every way). */
static void expect_undeclared(const char *in, const char *want)
{
    expect_decoded(NULL, in, want, 4);
}

Test(decode, undeclared_charset_is_utf8_or_windows_1252)
{
    /* not UTF-8 before any UTF-8 character: windows-1252, as a browser reads it */
    expect_undeclared("<p>caf\xe9 \x93q\x94 \x80 5",
                      "<p>caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d \xe2\x82\xac 5");
    expect_undeclared("ab\xe2\x82x", "ab\xc3\xa2\xe2\x80\x9ax"); /* a sequence broken off */
    expect_undeclared("ab\xc3", "ab\xc3\x83");                       /* cut by the end */
    expect_undeclared("\xc0\xaf", "\xc3\x80\xc2\xaf");                /* overlong */
    expect_undeclared("\xed\xa0\x80", "\xc3\xad\xc2\xa0\xe2\x82\xac"); /* a surrogate */
    /* a valid UTF-8 character first settles UTF-8: a later stray byte stays as it is, for the
     * sanitizer's UTF-8 reading */
    expect_undeclared("caf\xc3\xa9 \xf0\x9f\x98\x80 x\xe9", "caf\xc3\xa9 \xf0\x9f\x98\x80 x\xe9");
    expect_undeclared("\xf4\x8f\xbf\xbf\xe9", "\xf4\x8f\xbf\xbf\xe9");
    expect_undeclared("plain ASCII", "plain ASCII");
    /* a declaration, from the transport or the page, is not second-guessed */
    expect_sniffed("utf-8", "caf\xe9", "caf\xe9");
    expect_sniffed(NULL, "<meta charset=utf-8>caf\xe9", "<meta charset=utf-8>caf\xe9");
}
