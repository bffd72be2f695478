/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - the store tests' fixture: a real store in a temporary
 * directory, opened by fixture_setup and removed with its WAL files by
 * fixture_teardown. Included by each test file (cmocka.h before it).
 */
#ifndef NL_TEST_STORE_FIXTURE_H
#define NL_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nordlys/err.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    char path[96];
    struct nl_store *st;
};

static inline struct nl_store *open_store(const char *path)
{
    struct nl_store_opts opts = {.path = path};
    struct nl_err err = {0};
    struct nl_store *st = nl_store_open(&opts, &err);
    if (st == NULL)
        fail_msg("open %s: %s", path, err.msg);
    return st;
}

/* A fresh store in a new directory /tmp/PREFIX-XXXXXX. */
static inline struct fixture *fixture_open(const char *prefix)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    f->st = open_store(f->path);
    return f;
}

static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    nl_store_close(f->st);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

#endif
