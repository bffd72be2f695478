/* SPDX-License-Identifier: MIT */
/*
 * manual.h - man pages and bash completion, written from the commands'
 * own option tables.
 *
 * `nordlys help --man CMD` and `nordlys completion bash` print what
 * `nordlys CMD --help` prints, in roff and as a bash completion function:
 * one source (struct cli_spec, opt.h), three renderings, so a new option
 * appears in all three or in none. A command without an option table
 * (`nordlys sim` parses its own) is given by its --help text instead; its
 * page shows that text as it is, and its completion offers every "--word"
 * the text names.
 *
 * No I/O but the FILE the caller passes.
 */
#ifndef NL_CLI_MANUAL_H
#define NL_CLI_MANUAL_H

#include <stddef.h>
#include <stdio.h>

struct cli_spec;

/* What the manual knows of one command; every pointer borrowed. */
struct cli_manual_cmd {
    const char *name;            /* "submit" */
    const char *sub;             /* the word that reaches the options ("token create"), or NULL */
    const char *oneline;         /* the line `nordlys --help` shows for it */
    const struct cli_spec *spec; /* its option table, or NULL */
    const char *help_text;       /* its --help output when spec is NULL, else NULL */
};

/* The page nordlys-NAME(1) for cmd, in roff (man(7) macros). */
void cli_manual_page(FILE *out, const struct cli_manual_cmd *cmd, const char *version);

/* The page nordlys(1): every command, the environment, the exit status. */
void cli_manual_index(FILE *out, const struct cli_manual_cmd *cmds, size_t n, const char *version);

/*
 * A bash completion script for nordlys: command names (plus extra_words,
 * a NULL-terminated list such as "help"), then each command's options.
 */
void cli_manual_bash(FILE *out, const struct cli_manual_cmd *cmds, size_t n,
                     const char *const *extra_words);

#endif
