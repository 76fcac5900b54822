/* sanitizer: streaming HTML5 sanitizer. Push bytes in with sanitizer_feed(), get sanitized
 * bytes out through the sink callback; the output is re-serialized from tokens and does not
 * depend on how the input was split. Also: content decoding (gzip/deflate/br, charset to UTF-8)
 * for the proxy. No libevent, no sockets. */
#ifndef AG_SANITIZER_H
#define AG_SANITIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef enum {
    SANITIZE_STRICT = 0,  /* scripts + hidden content + invisible characters + instruction rules */
    SANITIZE_SCRIPTS = 1, /* script-execution vectors only */
    SANITIZE_OFF = 2      /* pass-through (still re-serialized from tokens) */
} sanitize_mode;

/* Output sink: called with sanitized bytes; return 0 to continue, -1 to abort the stream. */
typedef int (*sanitizer_sink)(void *ctx, const char *data, size_t len);

typedef struct sanitizer sanitizer;
typedef struct sanitizer_rules sanitizer_rules; /* compiled instruction-like-span rules (PCRE2) */

typedef struct sanitizer_options {
    sanitize_mode mode;
    size_t max_stream_bytes;      /* memory bound per stream; 0 = default 256 KiB */
    const sanitizer_rules *rules; /* strict mode; NULL = the built-in default rules */
} sanitizer_options;

/* Report categories (counts). */
enum {
    SAN_CAT_SCRIPT,       /* script elements */
    SAN_CAT_HANDLER,      /* on* attributes */
    SAN_CAT_URL,          /* javascript:/vbscript:/data: URLs */
    SAN_CAT_ELEMENT,      /* iframe/object/embed/base/... */
    SAN_CAT_CSS,          /* dangerous CSS */
    SAN_CAT_META,         /* meta refresh, link imports */
    SAN_CAT_HIDDEN,       /* hidden subtrees */
    SAN_CAT_COMMENT,      /* HTML comments */
    SAN_CAT_INVISIBLE,    /* invisible characters */
    SAN_CAT_INSTRUCTION,  /* instruction-like spans */
    SAN_CAT_OVERSIZE,     /* tokens over the memory bound */
    SAN_CAT_COUNT
};

typedef struct sanitizer_report {
    uint64_t counts[SAN_CAT_COUNT];
    uint64_t bytes_in, bytes_out;
    size_t peak_memory;
    /* strict: the stream spent its bound on comparing style rules' ancestors with open
     * elements; from then on those were not judged (hiding rules with ancestors hid less) */
    int css_bound_reached;
    char error[256];   /* non-empty when the stream was cut short (decode error, oversize...) */
    /* Removed tag/attribute names, rule ids and span excerpts: see sanitizer_report_json(). */
    struct sanitizer_report_detail *detail;
} sanitizer_report;

sanitizer *sanitizer_new(const sanitizer_options *opt, sanitizer_sink sink, void *ctx);
int sanitizer_feed(sanitizer *s, const char *data, size_t len, ag_error *err);
int sanitizer_finish(sanitizer *s, ag_error *err);
const sanitizer_report *sanitizer_get_report(const sanitizer *s);
/* Total removals (all categories); 0 means nothing was cut. */
uint64_t sanitizer_report_removed(const sanitizer_report *r);
/* JSON object of the report; caller frees with free(). */
char *sanitizer_report_json(const sanitizer_report *r);
void sanitizer_free(sanitizer *s);

/* Instruction rules: load the shipped rules plus extra files; errors name file:line and
 * PCRE2's message. */
int sanitizer_rules_load(const char *const *paths, size_t npaths, sanitizer_rules **out, ag_error *err);
void sanitizer_rules_free(sanitizer_rules *r);

/* Content decoding in front of the sanitizer: Content-Encoding (identity, gzip, x-gzip,
 * deflate, br) then charset -> UTF-8. Output goes to the sink (usually sanitizer_feed). */
typedef struct content_decoder content_decoder;
/* Returns NULL with err set for an unsupported encoding or charset. */
content_decoder *content_decoder_new(const char *content_encoding, const char *charset,
                                     sanitizer_sink sink, void *ctx, ag_error *err);
int content_decoder_feed(content_decoder *d, const char *data, size_t len, ag_error *err);
int content_decoder_finish(content_decoder *d, ag_error *err);
void content_decoder_free(content_decoder *d);

/* `agentgate sanitize [--mode M] [--report FILE] [--eval DIR]`; argv[0] is "sanitize". */
int sanitizer_main(int argc, char **argv);

#endif
