/* SPDX-License-Identifier: MIT */
/*
 * auth.c - the one authentication and authorisation point.
 *
 * Every request passes auth_check before its handler runs (api_dispatch);
 * handlers never look at the caller. Until tokens and roles arrive (a
 * later issue), the local development set-up trusts loopback callers as
 * admin and refuses everyone else anything but the public routes, so that
 * a controller listening on a public address by mistake exposes nothing.
 */
#include "auth.h"

#include <errno.h>
#include <string.h>

#include "ctld/http.h"
#include "nordlys/err.h"

int auth_check(const struct http_req *req, enum api_role role, struct auth_identity *who,
               struct nl_err *err)
{
    memset(who, 0, sizeof(*who));
    if (http_req_loopback(req)) {
        who->role = ROLE_ADMIN;
        return 0;
    }
    who->role = ROLE_PUBLIC;
    if (role == ROLE_PUBLIC)
        return 0;
    return nl_err_set(err, -EACCES, "%s: only loopback callers are trusted until tokens exist",
                      http_req_peer(req));
}
