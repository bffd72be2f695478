/* SPDX-License-Identifier: MIT */
/*
 * routes.c - the matcher of HTTP routes: from a method and a path to a
 * row of a route table (api_routes.c holds the table of docs/api.md).
 */
#include "routes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A job id: 1 to 19 decimal digits, no sign, no leading zero, no overflow. */
static int parse_id(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19 || s[0] == '0')
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/*
 * Compare path with pattern segment by segment. Returns 1 on a match, 0
 * when the shapes differ, -1 when the shape matches but {id} is not an id.
 */
static int match_path(const char *pattern, const char *path, struct route_params *p)
{
    bool bad_id = false;
    while (*pattern && *path) {
        const char *pe = strchr(pattern + 1, '/'), *se = strchr(path + 1, '/');
        size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern);
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (pl == 5 && strncmp(pattern, "/{id}", 5) == 0) {
            if (sl < 1 || parse_id(path + 1, sl - 1, &p->id) < 0) {
                bad_id = true;
                size_t n = sl - 1 < sizeof(p->bad) - 1 ? sl - 1 : sizeof(p->bad) - 1;
                memcpy(p->bad, path + 1, n);
                p->bad[n] = '\0';
            }
        } else if (pl != sl || strncmp(pattern, path, pl) != 0) {
            return 0;
        }
        pattern += pl;
        path += sl;
    }
    if (*pattern || *path)
        return 0;
    return bad_id ? -1 : 1;
}

enum route_result routes_match(const struct route *table, size_t n, const char *method,
                               const char *path, size_t *index, struct route_params *p)
{
    enum route_result res = ROUTE_NO_PATH;
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        struct route_params tmp = {0};
        int m = match_path(table[i].pattern, path, &tmp);
        if (m == 0)
            continue;
        if (m < 0) {
            if (res == ROUTE_NO_PATH) {
                res = ROUTE_BAD_ID;
                memcpy(p->bad, tmp.bad, sizeof(p->bad));
            }
            continue;
        }
        if (strcmp(table[i].method, method) != 0) {
            res = ROUTE_NO_METHOD;
            continue;
        }
        *index = i;
        *p = tmp;
        return ROUTE_FOUND;
    }
    return res;
}
