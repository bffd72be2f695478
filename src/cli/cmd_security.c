/* SPDX-License-Identifier: MIT */
/*
 * cmd_security.c - `nordlys token create` (an admin mints a token through
 * POST /v1/tokens), `nordlys token revoke|revocations` (POST
 * /v1/tokens/revoke, GET /v1/tokens/revocations) and `nordlys audit verify|export` (the audit log's
 * chain checked, or its records between two times written out as JSON
 * lines for an auditor), from a file (--file) or from the controller
 * (GET /v1/audit, as an admin).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "client.h"
#include "commands.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "opt.h"

/* The largest audit log read from a file. */
#define CLI_AUDIT_FILE_MAX (1024u * 1024u * 1024u)

/* ---- token create ---- */

static const struct cli_opt token_opts[] = {
        {"user", "U", "the user's name (the token's sub)"},
        {"role", "R", "admin, operator, user or agent"},
        {"tenant", "T", "a tenant the user acts for (repeatable; a user token needs one)"},
        {"unix-user", "A", "the Unix account the user's jobs run as (default: the user's name)"},
        {"nodes", "N1,N2", "agent tokens: the nodes it may serve, or '*'"},
        {"ttl", "DURATION", "lifetime: 30d (default), 12h, 90m, 3600"},
};

static const struct cli_spec token_spec = {
        .name = "token create",
        .usage = "--user U --role R [--tenant T]... [--unix-user A] [--nodes N,..] [--ttl 30d]",
        .summary = "Mint a token (admin only) and print it. Keep it in a file of mode 0600\n"
                   "(~/.config/nordlys/token) or in NORDLYS_TOKEN.",
        .opts = token_opts,
        .nopts = sizeof(token_opts) / sizeof(token_opts[0]),
};

struct token_req {
    json_t *body;
};

static int on_token_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    json_t *b = ((struct token_req *)ctx)->body;
    int64_t ttl = 0;
    switch (idx) {
    case 0:
        json_object_set_new(b, "user", json_string(val));
        break;
    case 1:
        json_object_set_new(b, "role", json_string(val));
        break;
    case 2:
        json_array_append_new(json_object_get(b, "tenants"), json_string(val));
        break;
    case 3:
        json_object_set_new(b, "unix_user", json_string(val));
        break;
    case 4: {
        json_t *n = json_array();
        char *copy = xstrdup(val), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(n, json_string(t));
        free(copy);
        json_object_set_new(b, "nodes", n);
        break;
    }
    default:
        if (cli_parse_duration("--ttl", val, &ttl, err) < 0)
            return -EINVAL;
        json_object_set_new(b, "ttl_s", json_integer(ttl));
    }
    return 0;
}

static int token_create(int argc, char **argv)
{
    struct token_req r = {.body = json_pack("{s:[]}", "tenants")};
    struct cli_args args = {0};
    json_t *answer = NULL;
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&token_spec, argc, argv, on_token_opt, &r, &args);
    if (rc != CLI_RUN)
        goto out;
    if (json_object_get(r.body, "user") == NULL || json_object_get(r.body, "role") == NULL) {
        fprintf(stderr, "nordlys token create: --user and --role are required\n");
        rc = NL_CLI_USAGE;
        goto out;
    }
    if (json_array_size(json_object_get(r.body, "tenants")) == 0)
        json_object_del(r.body, "tenants");
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out;
    rc = cli_client_call(c, "POST", "/v1/tokens", r.body, &answer);
    if (rc == NL_CLI_OK) {
        if (args.json)
            cli_print_json(answer);
        else
            printf("%s\n", cli_json_str(answer, "token"));
    }
out:
    json_decref(answer);
    json_decref(r.body);
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}

/* ---- token revoke / revocations ---- */

static const struct cli_opt revoke_opts[] = {
        {"jti", "ID", "revoke the one token with this id (its jti: token create --json shows it)"},
        {"user", "U", "revoke every token of user U issued until now"},
        {"reason", "TEXT", "why, for the list and the audit log"},
};

static const struct cli_spec revoke_spec = {
        .name = "token revoke",
        .usage = "--jti ID | --user U [--reason TEXT]",
        .summary = "Revoke a token, or every token a user holds (admin only): from the next\n"
                   "request on they get 401, across restarts. A user's tokens minted after\n"
                   "this are not affected.",
        .opts = revoke_opts,
        .nopts = sizeof(revoke_opts) / sizeof(revoke_opts[0]),
};

static int on_revoke_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    static const char *const keys[] = {"jti", "user", "reason"};
    json_object_set_new(((struct token_req *)ctx)->body, keys[idx], json_string(val));
    return 0;
}

static void print_revocation(const json_t *r)
{
    json_t *until = json_object_get(r, "issued_until");
    printf("%s %s revoked by %s", cli_json_str(r, "kind"), cli_json_str(r, "value"),
           cli_json_str(r, "by"));
    if (json_is_integer(until))
        printf(" (tokens issued until %lld)", (long long)json_integer_value(until));
    const char *why = cli_json_str(r, "reason");
    if (why[0] && strcmp(why, "-") != 0)
        printf(": %s", why);
    printf("\n");
}

static int token_revoke(int argc, char **argv)
{
    struct token_req r = {.body = json_object()};
    struct cli_args args = {0};
    json_t *answer = NULL;
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&revoke_spec, argc, argv, on_revoke_opt, &r, &args);
    if (rc != CLI_RUN)
        goto out;
    if ((json_object_get(r.body, "jti") == NULL) == (json_object_get(r.body, "user") == NULL)) {
        fprintf(stderr, "nordlys token revoke: give one of --jti and --user\n");
        rc = NL_CLI_USAGE;
        goto out;
    }
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out;
    rc = cli_client_call(c, "POST", "/v1/tokens/revoke", r.body, &answer);
    if (rc == NL_CLI_OK) {
        if (args.json)
            cli_print_json(answer);
        else
            print_revocation(json_object_get(answer, "revoked"));
    }
out:
    json_decref(answer);
    json_decref(r.body);
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}

static const struct cli_spec revocations_spec = {
        .name = "token revocations",
        .usage = "",
        .summary = "List the revoked tokens and users, oldest first (admin only).",
};

static int token_revocations(int argc, char **argv)
{
    struct cli_args args = {0};
    json_t *answer = NULL;
    struct cli_client *c = NULL;
    int rc = cli_parse_args(&revocations_spec, argc, argv, NULL, NULL, &args);
    if (rc != CLI_RUN)
        goto out;
    c = cli_client_create(args.url);
    if ((rc = cli_client_use_token(c, args.token_file)) != NL_CLI_OK)
        goto out;
    rc = cli_client_call(c, "GET", "/v1/tokens/revocations", NULL, &answer);
    if (rc == NL_CLI_OK) {
        json_t *list = json_object_get(answer, "revocations"), *v;
        size_t i;
        if (args.json)
            cli_print_json(answer);
        else
            json_array_foreach(list, i, v) print_revocation(v);
    }
out:
    json_decref(answer);
    cli_client_destroy(c);
    cli_args_release(&args);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "create") == 0)
        return token_create(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
        return token_revoke(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "revocations") == 0)
        return token_revocations(argc - 1, argv + 1);
    fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
            "usage: nordlys token create --user U --role R [--tenant T]... [--ttl 30d]\n"
            "       nordlys token revoke --jti ID | --user U [--reason TEXT]\n"
            "       nordlys token revocations\n");
    return argc >= 2 && strcmp(argv[1], "--help") == 0 ? NL_CLI_OK : NL_CLI_USAGE;
}

/* ---- audit verify / export ---- */

static const struct cli_opt audit_opts[] = {
        {"file", "FILE", "read this audit log (STATE/audit.log) instead of GET /v1/audit"},
        {"since", "TIME", "export: records at or after TIME (2026-11-29 or 2026-11-29T13:00:00Z)"},
        {"until", "TIME", "export: records before TIME"},
};

static const struct cli_spec audit_spec = {
        .name = "audit",
        .usage = "verify|export [--file FILE] [--since TIME] [--until TIME]",
        .summary = "verify: check the audit log's hash chain and name the first record that was\n"
                   "altered, removed or reordered (exit 1). export: write the records between\n"
                   "--since and --until as JSON lines.",
        .opts = audit_opts,
        .nopts = sizeof(audit_opts) / sizeof(audit_opts[0]),
        .min_pos = 1,
        .max_pos = 1,
};

struct audit_opts_val {
    const char *file, *since, *until;
};

static int on_audit_opt(void *ctx, size_t idx, const char *val, struct nl_err *err)
{
    (void)err;
    struct audit_opts_val *o = ctx;
    *(idx == 0 ? &o->file : idx == 1 ? &o->since : &o->until) = val;
    return 0;
}

/* The log's lines: from the file, or from the controller (with its head hash). */
struct audit_lines {
    char *text; /* the file, split in place */
    json_t *answer;
    const char **lines;
    size_t *lens, n;
    const char *head;
};

static int load_file(const char *path, struct audit_lines *l)
{
    size_t len = 0;
    struct nl_err err = {0};
    if (nl_file_read(path, CLI_AUDIT_FILE_MAX, &l->text, &len, &err) < 0) {
        fprintf(stderr, "nordlys audit: %s\n", err.msg);
        return NL_CLI_FAILED;
    }
    size_t cap = 0;
    for (char *s = l->text, *e; s < l->text + len; s = e + 1) {
        e = memchr(s, '\n', (size_t)(l->text + len - s));
        if (e == NULL)
            e = l->text + len; /* a last line without its newline still counts */
        if (l->n == cap) {
            cap = xgrow(cap, l->n + 1);
            l->lines = xreallocarray(l->lines, cap, sizeof(*l->lines));
            l->lens = xreallocarray(l->lens, cap, sizeof(*l->lens));
        }
        l->lines[l->n] = s;
        l->lens[l->n++] = (size_t)(e - s);
    }
    return NL_CLI_OK;
}

static int load_remote(const struct cli_args *args, struct audit_lines *l)
{
    struct cli_client *c = cli_client_create(args->url);
    int rc = cli_client_use_token(c, args->token_file);
    if (rc == NL_CLI_OK)
        rc = cli_client_call(c, "GET", "/v1/audit", NULL, &l->answer);
    cli_client_destroy(c);
    if (rc != NL_CLI_OK)
        return rc;
    json_t *arr = json_object_get(l->answer, "lines");
    l->n = json_array_size(arr);
    l->lines = xcalloc(l->n ? l->n : 1, sizeof(*l->lines));
    l->lens = xcalloc(l->n ? l->n : 1, sizeof(*l->lens));
    for (size_t i = 0; i < l->n; i++) {
        json_t *s = json_array_get(arr, i);
        l->lines[i] = json_is_string(s) ? json_string_value(s) : "";
        l->lens[i] = json_is_string(s) ? json_string_length(s) : 0;
    }
    l->head = json_string_value(json_object_get(l->answer, "head"));
    return NL_CLI_OK;
}

static int verify(const struct audit_lines *l, const char *from)
{
    struct audit_bad bad;
    if (audit_chain_check(l->lines, l->lens, l->n, l->head, &bad) < 0) {
        printf("audit log %s: line %zu (seq %lld): %s\n", from, bad.line, (long long)bad.seq,
               bad.why);
        return NL_CLI_FAILED;
    }
    printf("audit log %s: %zu records, chain intact\n", from, l->n);
    return NL_CLI_OK;
}

static int export_lines(const struct audit_lines *l, const char *since, const char *until)
{
    for (size_t i = 0; i < l->n; i++) {
        json_t *rec = json_loadb(l->lines[i], l->lens[i], 0, NULL);
        const char *t = json_string_value(json_object_get(rec, "time"));
        /* ISO 8601 UTC times of one width compare as text. */
        bool in = t != NULL && (since == NULL || strcmp(t, since) >= 0) &&
                  (until == NULL || strcmp(t, until) < 0);
        if (in)
            printf("%.*s\n", (int)l->lens[i], l->lines[i]);
        json_decref(rec);
    }
    return NL_CLI_OK;
}

int cmd_audit(int argc, char **argv)
{
    struct audit_opts_val o = {0};
    struct cli_args args = {0};
    struct audit_lines l = {0};
    int rc = cli_parse_args(&audit_spec, argc, argv, on_audit_opt, &o, &args);
    if (rc != CLI_RUN)
        goto out;
    const char *what = args.pos[0];
    if (strcmp(what, "verify") != 0 && strcmp(what, "export") != 0) {
        fprintf(stderr, "nordlys audit: '%s' is not verify or export\n", what);
        rc = NL_CLI_USAGE;
        goto out;
    }
    rc = o.file ? load_file(o.file, &l) : load_remote(&args, &l);
    if (rc != NL_CLI_OK)
        goto out;
    rc = strcmp(what, "verify") == 0 ? verify(&l, o.file ? o.file : args.url)
                                     : export_lines(&l, o.since, o.until);
out:
    free(l.text);
    free(l.lines);
    free(l.lens);
    json_decref(l.answer);
    cli_args_release(&args);
    return rc;
}
