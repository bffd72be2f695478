/* SPDX-License-Identifier: MIT */
/*
 * token_cmd.c - `nordlysd token`: mint a token offline with the key of a
 * state directory (bootstrap, tests, scripts/run-local.sh), creating the
 * key when the controller has not started there yet. Whoever can read
 * STATE/jwt.key can mint any token: that is the admin's bootstrap, and
 * why the key is 0600. `nordlysd token rotate-key|retire-key` rotate it
 * (token.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/xalloc.h"
#include "ctld/token.h"
#include "nordlys/err.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: nordlysd token --state-dir DIR --user U --role admin|operator|user|agent\n"
                 "                      [--tenant T]... [--unix-user A] [--nodes N1,N2|*] "
                 "[--ttl 30d]\n"
                 "Prints a token signed with DIR/jwt.key (created if absent).\n"
                 "       nordlysd token rotate-key --state-dir DIR\n"
                 "Makes a new DIR/jwt.key; the old one becomes DIR/jwt.key.old, which still\n"
                 "verifies (never signs) from the controller's next start until retired:\n"
                 "       nordlysd token retire-key --state-dir DIR\n");
}

static int parse(int argc, char **argv, struct token_claims *c, const char **state_dir,
                 int64_t *ttl, struct nl_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc)
            return nl_err_set(err, -EINVAL, "%s: needs a value (see --help)", a);
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(a, "--state-dir") == 0)
            *state_dir = v;
        else if (strcmp(a, "--user") == 0)
            snprintf(c->sub, sizeof(c->sub), "%s", v);
        else if (strcmp(a, "--role") == 0) {
            if ((c->role = token_role_parse(v)) == TOKEN_ROLE_NONE)
                return nl_err_set(err, -EINVAL,
                                  "--role: '%s' is not admin, operator, user or agent", v);
        } else if (strcmp(a, "--tenant") == 0) {
            if (c->ntenants >= TOKEN_TENANTS_MAX)
                return nl_err_set(err, -EINVAL, "--tenant: more than %d", TOKEN_TENANTS_MAX);
            snprintf(c->tenants[c->ntenants++], TOKEN_NAME_MAX, "%s", v);
        } else if (strcmp(a, "--unix-user") == 0)
            snprintf(c->unix_user, sizeof(c->unix_user), "%s", v);
        else if (strcmp(a, "--nodes") == 0) {
            char *copy = xstrdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save))
                rc = token_claims_add_node(c, t, err);
            free(copy);
        } else if (strcmp(a, "--ttl") == 0)
            rc = token_parse_ttl(v, ttl, err);
        else
            return nl_err_set(err, -EINVAL, "%s: unknown option (see --help)", a);
        if (rc < 0)
            return rc;
    }
    if (*state_dir == NULL)
        return nl_err_set(err, -EINVAL, "--state-dir: required");
    if (c->sub[0] == '\0')
        return nl_err_set(err, -EINVAL, "--user: required");
    if (c->role == TOKEN_ROLE_NONE)
        return nl_err_set(err, -EINVAL, "--role: required");
    return 0;
}

/* `nordlysd token rotate-key|retire-key --state-dir DIR`: the exit status. */
static int key_cmd(int argc, char **argv)
{
    struct nl_err err = {0};
    int rc;
    if (argc != 4 || strcmp(argv[2], "--state-dir") != 0) {
        rc = nl_err_set(&err, -EINVAL, "%s: usage: nordlysd token %s --state-dir DIR", argv[1],
                        argv[1]);
    } else if (strcmp(argv[1], "rotate-key") == 0) {
        rc = token_key_rotate(argv[3], &err);
        if (rc == 0)
            printf("%s/jwt.key: new; the previous key is %s/jwt.key.old and verifies until "
                   "retired; restart nordlysd\n",
                   argv[3], argv[3]);
    } else {
        rc = token_key_retire(argv[3], &err);
        if (rc == 0)
            printf("%s/jwt.key.old: retired; restart nordlysd\n", argv[3]);
    }
    if (rc < 0) {
        fprintf(stderr, "nordlysd token: %s\n", err.msg);
        return 2;
    }
    return 0;
}

int token_cmd_main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "rotate-key") == 0 || strcmp(argv[1], "retire-key") == 0))
        return key_cmd(argc, argv);
    struct token_claims c;
    token_claims_init(&c);
    struct nl_err err = {0};
    const char *state_dir = NULL;
    int64_t ttl = 30 * 86400;
    struct token_key key;
    char *text = NULL;
    int rc = parse(argc, argv, &c, &state_dir, &ttl, &err);
    if (rc == 0 && mkdir(state_dir, 0700) < 0 && errno != EEXIST)
        rc = nl_err_set(&err, -errno, "--state-dir: %s: cannot create", state_dir);
    if (rc == 0)
        rc = token_key_load(state_dir, true, &key, &err);
    if (rc == 0) {
        c.iat = (int64_t)time(NULL);
        c.exp = c.iat + ttl;
        rc = token_mint(&key, &c, &text, &err);
    }
    token_claims_release(&c);
    if (rc < 0) {
        fprintf(stderr, "nordlysd token: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}
