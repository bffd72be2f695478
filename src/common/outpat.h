/* SPDX-License-Identifier: MIT */
/*
 * outpat.h - output file patterns (--output / --error), as Slurm spells
 * them: %j the job id (an array task's own), %t the task (global rank), %a the array index, %A
 * the array job's id (the job's own outside an array), %x the job name,
 * %% a literal %. Any other %-sequence is refused.
 *
 * A pattern is expanded in two places: the controller knows the job
 * (%j, %x, %A at submission, %a at launch) and leaves %t and %% as they are; the agent, which starts
 * the tasks, expands %t and then %% (final). Expanding %% only last keeps
 * "%%t" a literal "%t" through both steps. I/O-free.
 */
#ifndef NL_COMMON_OUTPAT_H
#define NL_COMMON_OUTPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_outpat_vals {
    const char *job;   /* %j, or NULL to keep "%j" */
    const char *name;  /* %x, or NULL to keep it */
    const char *array; /* %a, or NULL to keep it */
    const char *array_job; /* %A, or NULL to keep it */
    int64_t task;      /* %t, or < 0 to keep it */
    bool final;        /* expand %% to % (the last step only) */
};

/* 0, or -EINVAL with *bad set to the character after a % that means nothing (0 for a final %). */
int nl_outpat_check(const char *pat, char *bad);

/* True when pat asks for one file per task (it holds %t). */
bool nl_outpat_has_task(const char *pat);

/* Expand pat into buf; -ENAMETOOLONG when it does not fit (buf then holds a prefix). */
int nl_outpat_expand(const char *pat, const struct nl_outpat_vals *v, char *buf, size_t size);

#endif
