/* SPDX-License-Identifier: MIT */
/* auth.h - the one authentication and authorisation point of the API. */
#ifndef NL_CTLD_AUTH_H
#define NL_CTLD_AUTH_H

#include "ctld/routes.h"
#include "nordlys/facility.h"

struct http_req;
struct nl_err;

struct auth_identity {
    enum api_role role;
    char tenant[NL_NAME_MAX]; /* "" = every tenant (admin) */
};

/*
 * Decide whether the caller of req may use a route needing role. 0 and
 * *who filled, or -EACCES (403) / -EPERM (401) with err saying why.
 * Loopback callers are trusted as admin until tokens arrive (a later issue
 * adds them here, without touching any handler).
 */
int auth_check(const struct http_req *req, enum api_role role, struct auth_identity *who,
               struct nl_err *err);

#endif
