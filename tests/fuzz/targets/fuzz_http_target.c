/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_target.c - libFuzzer target for the controller's reading of a
 * request target: the strict %-decoding and checks of http.c
 * (decode_target, static there, hence the #include of the source file),
 * then the route matcher (routes_match) over the API's route table, the
 * way every request is dispatched. The input is "METHOD TARGET": the
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
        if (!utf8_valid((const unsigned char *)path, strlen(path)))
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
