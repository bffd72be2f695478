/* SPDX-License-Identifier: MIT */
/*
 * export.c - the submitter's environment for a job, as --export selects it.
 */
#include "export.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto_limits.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

/* Variables that hold the caller's credentials: the job must never see them. */
static const char *const secret_vars[] = {"NORDLYS_TOKEN"};

int cli_export_is_secret(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(secret_vars) / sizeof(secret_vars[0]); i++)
        if (strlen(secret_vars[i]) == len && strncmp(secret_vars[i], name, len) == 0)
            return 1;
    return 0;
}

/* The value of name (len bytes) in envp, or NULL. */
static const char *env_find(char *const *envp, const char *name, size_t len)
{
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i] + len + 1;
    return NULL;
}

/* Check one variable against the protocol's limits and add it to out. */
static int put(json_t *out, const char *name, size_t len, const char *val, struct nl_err *err)
{
    if (len > NL_PROTO_ENV_NAME_MAX)
        return nl_err_set(err, -EINVAL, "--export: the name '%.40s...' is longer than %u bytes",
                          name, NL_PROTO_ENV_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return nl_err_set(err, -EINVAL,
                              "--export: a variable's name holds a control character");
    size_t vlen = strlen(val);
    if (vlen > NL_PROTO_ENV_VALUE_MAX)
        return nl_err_set(err, -EINVAL,
                          "--export: %.*s is %zu bytes, more than a job's variable may hold "
                          "(%u); unset it, or choose variables with --export=VAR,...",
                          (int)len, name, vlen, NL_PROTO_ENV_VALUE_MAX);
    json_t *v = json_stringn(val, vlen);
    if (v == NULL)
        return nl_err_set(err, -EINVAL,
                          "--export: the value of %.*s is not UTF-8, which a job request must be",
                          (int)len, name);
    json_object_setn_new_nocheck(out, name, len, v);
    if (json_object_size(out) > NL_PROTO_ENV_MAX)
        return nl_err_set(err, -EINVAL,
                          "--export: more than %u variables; choose some with --export=VAR,...",
                          NL_PROTO_ENV_MAX);
    return 0;
}

static int put_all(json_t *out, char *const *envp, struct nl_err *err)
{
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *eq = strchr(envp[i], '=');
        if (eq == NULL || eq == envp[i])
            continue; /* not "K=V": nothing a shell would export */
        size_t len = (size_t)(eq - envp[i]);
        if (cli_export_is_secret(envp[i], len))
            continue;
        int rc = put(out, envp[i], len, eq + 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* One item of a list: "VAR" or "VAR=value". */
static int put_item(json_t *out, const char *item, size_t n, char *const *envp, struct nl_err *err)
{
    const char *eq = memchr(item, '=', n);
    size_t len = eq != NULL ? (size_t)(eq - item) : n;
    if (!valid_name(item, len))
        return nl_err_set(err, -EINVAL, "--export: '%.*s' is not a variable name", (int)len, item);
    if (cli_export_is_secret(item, len))
        return nl_err_set(err, -EINVAL,
                          "--export: %.*s holds your credentials and is never exported", (int)len,
                          item);
    if (eq != NULL) {
        char *val = xstrndup(eq + 1, n - len - 1);
        int rc = put(out, item, len, val, err);
        free(val);
        return rc;
    }
    const char *val = env_find(envp, item, len);
    return val != NULL ? put(out, item, len, val, err) : 0; /* unset: as sbatch, left out */
}

int cli_export_build(const char *spec, char *const *envp, json_t **out, struct nl_err *err)
{
    json_t *o = json_object();
    int rc = 0;
    if (spec == NULL || strcmp(spec, "ALL") == 0) {
        rc = put_all(o, envp, err);
    } else if (strcmp(spec, "NONE") == 0) {
        rc = 0;
    } else if (spec[0] == '\0') {
        rc = nl_err_set(err, -EINVAL, "--export: empty (use ALL, NONE or VAR,VAR=value,...)");
    } else {
        const char *p = spec;
        bool first = true;
        while (rc == 0) {
            const char *comma = strchr(p, ',');
            size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
            if (first && n == 3 && strncmp(p, "ALL", 3) == 0)
                rc = put_all(o, envp, err);
            else if (first && n == 4 && strncmp(p, "NONE", 4) == 0)
                rc = 0;
            else if (n == 0)
                rc = nl_err_set(err, -EINVAL, "--export: '%s' has an empty item", spec);
            else
                rc = put_item(o, p, n, envp, err);
            first = false;
            if (comma == NULL)
                break;
            p = comma + 1;
        }
    }
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}
