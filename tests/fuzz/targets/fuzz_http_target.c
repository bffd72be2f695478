/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_target.c - libFuzzer target for the controller's reading of a
 * request target: the strict %-decoding and checks of http.c
 * (decode_target, static there, hence the #include of the source file),
 * then the route matcher (routes_match) over the API's route table, the
 * way every request is dispatched. An accepted target's path and query
 * must be UTF-8 (answers quote them). The input is "METHOD TARGET": the
 * bytes up to the first space are the method.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The HTTP layer's own file: decode_target is internal to it. */
#include "ctld/http.c"

#include "ctld/api.h"
#include "ctld/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The query of an accepted target as libmicrohttpd hands its values to
 * http_req_query (%XX decoded): handlers quote values back in JSON error
 * messages, so it must be UTF-8 as the path must.
 */
static bool query_utf8(const char *target)
{
    const char *q = strchr(target, '?');
    if (q == NULL)
        return true;
    size_t n = 0, len = strlen(q);
    unsigned char *d = xmalloc(len + 1);
    for (size_t i = 1; i < len; i++) {
        int hi = q[i] == '%' ? hex_digit(q[i + 1]) : -1;
        int lo = hi >= 0 ? hex_digit(q[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            d[n++] = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else {
            d[n++] = (unsigned char)q[i];
        }
    }
    bool ok = utf8_valid(d, n);
    free(d);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* MHD hands over a NUL-terminated target of at most HTTP_TARGET_MAX bytes. */
    if (size > HTTP_TARGET_MAX + 16)
        return 0;
    char *text = xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *sp = strchr(text, ' ');
    const char *method = "GET", *target = text;
    if (sp != NULL) {
        *sp = '\0';
        method = text;
        target = sp + 1;
    }
    char *why = NULL;
    char *path = decode_target(target, &why);
    if (path == NULL) {
        if (why == NULL || why[0] == '\0' || !utf8_valid((const unsigned char *)why, strlen(why)))
            abort(); /* the reason is echoed in a JSON answer: it must be UTF-8 */
        free(why);
    } else {
        if (!utf8_valid((const unsigned char *)path, strlen(path)) || !query_utf8(target))
            abort();
        size_t n, index;
        const struct route *table = api_routes(&n);
        struct route_params p;
        memset(&p, 0, sizeof(p));
        enum route_result r = routes_match(table, n, method, path, &index, &p);
        if (r == ROUTE_FOUND && index >= n)
            abort();
        if (r == ROUTE_BAD_ID && memchr(p.bad, '\0', sizeof(p.bad)) == NULL)
            abort();
        free(path);
    }
    free(text);
    return 0;
}
