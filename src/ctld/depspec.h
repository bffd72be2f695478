/* SPDX-License-Identifier: MIT */
/*
 * depspec.h - the text of --dependency, as Slurm writes it, parsed:
 *
 *     afterok:12:13,afterany:14      every condition (',' : all of them)
 *     afterok:12?afternotok:13       any one condition ('?' : any of them)
 *     after:12+10                    12 began (or ended unstarted) 10 minutes ago
 *     aftercorr:12                   array task N after task N of array 12 completed
 *     singleton                      no live job of the same name and user before it
 *
 * Kinds: after, afterany, afterok, afternotok, aftercorr, singleton. A
 * kind with jobs takes one or more ids after colons; each id is one
 * condition (so "afterok:1:2?afterany:3" has three, any of which will
 * do). '+MINUTES' is after's alone. ',' and '?' are not mixed in one
 * dependency (Slurm refuses that too).
 *
 * Pure: no I/O, nothing of the controller (gate.c evaluates it). Errors
 * start with "dependency: " and name the part at fault.
 */
#ifndef NL_CTLD_DEPSPEC_H
#define NL_CTLD_DEPSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;

/* The most conditions (job ids, and singleton) in one dependency, and its longest text. */
#define DEPSPEC_MAX      64
#define DEPSPEC_TEXT_MAX 1024
/* after:ID+MINUTES: at most a year. */
#define DEPSPEC_MINUTES_MAX (366u * 24u * 60u)

enum depspec_kind {
    DEPSPEC_AFTER,
    DEPSPEC_AFTERANY,
    DEPSPEC_AFTEROK,
    DEPSPEC_AFTERNOTOK,
    DEPSPEC_AFTERCORR,
    DEPSPEC_SINGLETON,
};

/* One condition: a kind and the job it names (0 for singleton). */
struct depspec_cond {
    enum depspec_kind kind;
    uint64_t job;
    uint32_t minutes; /* after:ID+MINUTES; 0 otherwise */
};

struct depspec {
    bool any; /* '?': any one condition met is enough; otherwise every one must be */
    size_t n;
    struct depspec_cond c[DEPSPEC_MAX];
};

/* Parse text into *out: 0, or -EINVAL with err naming what is wrong ("dependency: ..."). */
int depspec_parse(const char *text, struct depspec *out, struct nl_err *err);
/* The kind's name as written ("afterok"). */
const char *depspec_kind_name(enum depspec_kind kind);
/* Whether d has a condition of kind. */
bool depspec_has(const struct depspec *d, enum depspec_kind kind);

#endif
