/* SPDX-License-Identifier: MIT */
/*
 * token.h - where the command line finds its bearer token: NORDLYS_TOKEN,
 * else the file given by --token-file, else ~/.config/nordlys/token. A
 * token file must be readable by its owner only (mode 0600 or 0400): a
 * token is a password, and one that others can read is refused with the
 * file and its mode named, before anything is sent.
 */
#ifndef NL_CLI_TOKEN_H
#define NL_CLI_TOKEN_H

struct nl_err;

/*
 * The token into *out (owned, free()), or *out NULL when there is none
 * (no variable, no --token-file, no default file). file: --token-file or
 * NULL; getenv_fn: getenv (tests pass their own). -EACCES (a file others
 * may read), -ENOENT (--token-file missing) or -EINVAL (empty or not one
 * line) with err naming the file.
 */
int cli_token_load(const char *file, char *(*getenv_fn)(const char *), char **out,
                   struct nl_err *err);

#endif
