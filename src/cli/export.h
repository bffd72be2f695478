/* SPDX-License-Identifier: MIT */
/*
 * export.h - which of the submitter's environment a job gets (--export).
 *
 * sbatch's convention, which Slurm users rely on without knowing it: by
 * default (ALL) the job sees the environment it was submitted from, its
 * PATH, its virtualenv, its module settings. NONE sends nothing (the job
 * gets only what the agent and nordlys set), and a list
 * "VAR1,VAR2=value" sends exactly those (a name alone takes the value the
 * submitter has; one it does not have is left out). "ALL,VAR=value"
 * sends everything and sets or overrides VAR.
 *
 * The caller's credentials never leave: NORDLYS_TOKEN is skipped by ALL
 * and refused by name. Everything sent must fit the protocol's limits
 * (common/proto_limits.h); a variable that does not is an error naming it,
 * because a job that silently lacks a variable fails later, far away.
 *
 * Pure: the environment comes in as an envp array, nothing is read here.
 */
#ifndef NL_CLI_EXPORT_H
#define NL_CLI_EXPORT_H

#include <jansson.h>

struct nl_err;

/*
 * Build the variables spec (NULL means ALL) selects from envp (a
 * NULL-terminated "K=V" array, as environ). On success *out is a new JSON
 * object of strings (json_decref it). Returns 0, or -EINVAL with err
 * naming "--export" and the variable or item at fault.
 */
int cli_export_build(const char *spec, char *const *envp, json_t **out, struct nl_err *err);

/* Is name (len bytes) a variable that holds the caller's credentials? */
int cli_export_is_secret(const char *name, size_t len);

#endif
