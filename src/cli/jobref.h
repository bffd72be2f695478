/* SPDX-License-Identifier: MIT */
/*
 * jobref.h - how people name jobs on the command line: "12" (a job, or an
 * array job as a whole) and "12_7" (task 7 of array job 12, as squeue and
 * scancel write it), and how a job's ID cell is written ("12", "12_7",
 * "12_[5-99%10]" for the tasks an array has still to make).
 */
#ifndef NL_CLI_JOBREF_H
#define NL_CLI_JOBREF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cli_client;
struct nl_err;

/* "12" or "12_7": *id, and *index (-1 when there is none). -EINVAL naming the text. */
int cli_jobref_parse(const char *s, int64_t *id, int64_t *index, struct nl_err *err);
/* The API path that shows s's job: "/v1/jobs/12" or "/v1/jobs/12/tasks?index=7". */
void cli_jobref_path(int64_t id, int64_t index, char *buf, size_t size);
/*
 * The job id of s's job: id itself, or a task's own id, asked of the
 * controller (a task not made yet has none: NL_CLI_FAILED, said on
 * stderr). An NL_CLI_* code.
 */
int cli_jobref_resolve(struct cli_client *c, int64_t id, int64_t index, int64_t *out);
/*
 * `nordlys cancel REF...`: every ref checked first (a bad one: the message
 * on stderr and NL_CLI_USAGE, nothing sent), then one DELETE each, a task
 * through its array's tasks endpoint (made or not yet). A refusal is
 * reported and the rest still go. An NL_CLI_* code.
 */
int cli_jobref_cancel(struct cli_client *c, char *const *refs, size_t n, bool json);
/* The ID cell of a JOB object (docs/api.md). Returns buf. */
char *cli_jobref_format(const json_t *job, char *buf, size_t size);

#endif
