/* SPDX-License-Identifier: MIT */
/*
 * cred.h - the agent's credential: the bearer token it sends on register
 * and on every sync (docs/agent.md, "Credential and TLS").
 *
 * The token comes from --token-file (a file only its owner can read: no
 * group or other permission bits, owned by the agent's user, as ssh
 * insists for private keys), else from NORDLYS_TOKEN. A file that others
 * could read is refused rather than used: a token is as good as the
 * agent's identity, which covers every job its nodes run.
 */
#ifndef NL_AGENT_CRED_H
#define NL_AGENT_CRED_H

#include <sys/stat.h>
#include <sys/types.h>

struct nl_err;

/* A token is at most this long (a JWT with a long node list stays far below). */
#define CRED_TOKEN_MAX 16384

/*
 * The checks a token file must pass, given its lstat: a regular file, no
 * group or other permission bits, owned by owner. Returns 0 or -EPERM /
 * -EINVAL with err naming the file, its mode and owner, and the fix.
 */
int cred_check_file(const char *file, const struct stat *st, uid_t owner, struct nl_err *err);

/*
 * The token: file's contents when file is not NULL (checked as above,
 * trailing white space removed), else env_token (may be NULL). *token is a
 * new string, or NULL when neither gives one. A token must be one line of
 * printable ASCII without spaces (it goes into an HTTP header). Returns 0
 * or a negative code with err naming the file or NORDLYS_TOKEN.
 */
int cred_token_load(const char *file, const char *env_token, char **token, struct nl_err *err);

#endif
