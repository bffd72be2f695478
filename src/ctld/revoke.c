/* SPDX-License-Identifier: MIT */
/*
 * revoke.c - the revocation list; see revoke.h. Entries live in one array
 * (oldest first, for the listing); an open-addressing table of indexes
 * (linear probing, at most half full) finds a (kind, value) in one or two
 * probes.
 */
#include "revoke.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "store/store_revoke.h"

struct revoke {
    struct revoke_entry *e;
    size_t n, cap;
    uint32_t *slot; /* index + 1 of the entry that speaks for a (kind, value); 0 = empty */
    size_t nslots;  /* a power of two, >= 2 * n; 0 while nothing is revoked */
};

struct revoke *revoke_create(void)
{
    return xcalloc(1, sizeof(struct revoke));
}

void revoke_destroy(struct revoke *r)
{
    if (r == NULL)
        return;
    free(r->e);
    free(r->slot);
    free(r);
}

const char *revoke_kind_name(enum revoke_kind k)
{
    return k == REVOKE_JTI ? "jti" : "user";
}

int revoke_kind_parse(const char *name)
{
    if (name != NULL && strcmp(name, "jti") == 0)
        return REVOKE_JTI;
    if (name != NULL && strcmp(name, "user") == 0)
        return REVOKE_USER;
    return -1;
}

static uint64_t key_hash(enum revoke_kind k, const char *value, size_t len)
{
    return nl_hash64(value, len) ^ (k == REVOKE_JTI ? 0x9E3779B97F4A7C15ULL : 0);
}

/* The slot of (k, value): its entry's, or the empty one where it would go. */
static size_t find(const struct revoke *r, enum revoke_kind k, const char *value)
{
    size_t len = strlen(value), mask = r->nslots - 1;
    for (size_t i = key_hash(k, value, len) & mask;; i = (i + 1) & mask) {
        uint32_t s = r->slot[i];
        if (s == 0)
            return i;
        const struct revoke_entry *e = &r->e[s - 1];
        if (e->kind == k && strcmp(e->value, value) == 0)
            return i;
    }
}

static void rehash(struct revoke *r, size_t nslots)
{
    uint32_t *old = r->slot;
    size_t nold = r->nslots;
    r->slot = xcalloc(nslots, sizeof(*r->slot));
    r->nslots = nslots;
    for (size_t i = 0; i < nold; i++)
        if (old[i] != 0) {
            const struct revoke_entry *e = &r->e[old[i] - 1];
            r->slot[find(r, e->kind, e->value)] = old[i];
        }
    free(old);
}

static int check_text(const char *field, const char *v, size_t max, struct nl_err *err)
{
    size_t n = strlen(v);
    if (n == 0 || n > max)
        return nl_err_set(err, -EINVAL, "%s: length %zu is not 1..%zu", field, n, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return nl_err_set(err, -EINVAL, "%s: control character at byte %zu", field, i);
    return 0;
}

int revoke_add(struct revoke *r, const struct revoke_entry *e, struct nl_err *err)
{
    struct token_claims probe;
    size_t max = e->kind == REVOKE_JTI ? sizeof(probe.jti) - 1 : sizeof(probe.sub) - 1;
    int rc = check_text(revoke_kind_name(e->kind), e->value, max, err);
    if (rc < 0)
        return rc;
    if (r->n + 1 > UINT32_MAX - 1)
        return nl_err_set(err, -ENOSPC, "revocations: the list is full");
    if (2 * (r->n + 1) > r->nslots)
        rehash(r, r->nslots ? 2 * r->nslots : 64);
    if (r->n == r->cap) {
        r->cap = xgrow(r->cap, r->n + 1);
        r->e = xreallocarray(r->e, r->cap, sizeof(*r->e));
    }
    r->e[r->n] = *e;
    size_t i = find(r, e->kind, e->value);
    /* A user revoked again: the latest cut-off speaks (an earlier one is within it). */
    if (r->slot[i] == 0 || (e->kind == REVOKE_USER && e->before_s > r->e[r->slot[i] - 1].before_s))
        r->slot[i] = (uint32_t)(r->n + 1);
    r->n++;
    return 0;
}

static void say(char *why, size_t n, const char *what, const struct revoke_entry *e)
{
    char when[32] = "?";
    time_t t = (time_t)(e->at_us / 1000000);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(why, n, "token: revoked (%s) at %s by %s%s%s", what, when, e->by,
             e->reason[0] ? ": " : "", e->reason);
}

bool revoke_check(const struct revoke *r, const struct token_claims *c, char *why, size_t n)
{
    if (r == NULL || r->n == 0)
        return false;
    if (c->jti[0] != '\0') {
        uint32_t s = r->slot[find(r, REVOKE_JTI, c->jti)];
        if (s != 0) {
            char what[64];
            snprintf(what, sizeof(what), "jti %s", c->jti);
            say(why, n, what, &r->e[s - 1]);
            return true;
        }
    }
    uint32_t s = r->slot[find(r, REVOKE_USER, c->sub)];
    if (s != 0 && c->iat <= r->e[s - 1].before_s) {
        char what[TOKEN_NAME_MAX + 48];
        snprintf(what, sizeof(what), "every token of user %s issued until %lld", c->sub,
                 (long long)r->e[s - 1].before_s);
        say(why, n, what, &r->e[s - 1]);
        return true;
    }
    return false;
}

int64_t revoke_user_before(const struct revoke *r, const char *user)
{
    if (r->n == 0)
        return INT64_MIN;
    uint32_t s = r->slot[find(r, REVOKE_USER, user)];
    return s != 0 ? r->e[s - 1].before_s : INT64_MIN;
}

size_t revoke_count(const struct revoke *r)
{
    return r->n;
}

const struct revoke_entry *revoke_get(const struct revoke *r, size_t i)
{
    return i < r->n ? &r->e[i] : NULL;
}

struct load_ctx {
    struct revoke *r;
    struct nl_err *err;
};

static int load_row(const struct nl_store_revocation *s, void *arg)
{
    struct load_ctx *x = arg;
    struct revoke_entry e = {.before_s = s->before_s, .at_us = s->at_us};
    int kind = revoke_kind_parse(s->kind);
    if (kind < 0)
        return nl_err_set(x->err, -EINVAL, "token revocations: unknown kind '%s'", s->kind);
    e.kind = (enum revoke_kind)kind;
    snprintf(e.value, sizeof(e.value), "%s", s->value);
    snprintf(e.by, sizeof(e.by), "%s", s->by);
    snprintf(e.reason, sizeof(e.reason), "%s", s->reason);
    return revoke_add(x->r, &e, x->err);
}

int revoke_load(struct revoke *r, struct nl_store *st, struct nl_err *err)
{
    struct load_ctx x = {r, err};
    return nl_store_revocations_load(st, load_row, &x, err);
}

int revoke_store(struct nl_store *st, const struct revoke_entry *e, struct nl_err *err)
{
    const struct nl_store_revocation s = {.kind = revoke_kind_name(e->kind),
                                          .value = e->value,
                                          .before_s = e->before_s,
                                          .at_us = e->at_us,
                                          .by = e->by,
                                          .reason = e->reason};
    return nl_store_revocation_add(st, &s, err);
}
