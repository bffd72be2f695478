/* SPDX-License-Identifier: MIT */
/* jobref.c - job names on the command line; see jobref.h. */
#include "jobref.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "nordlys/err.h"
#include "opt.h"

int cli_jobref_parse(const char *s, int64_t *id, int64_t *index, struct nl_err *err)
{
    char head[32];
    const char *us = strchr(s, '_');
    *index = -1;
    if (us == NULL)
        return cli_parse_job_id(s, id, err);
    size_t n = (size_t)(us - s);
    if (n == 0 || n >= sizeof(head))
        return nl_err_set(err, -EINVAL, "job id: '%.40s' is not ID or ID_INDEX", s);
    memcpy(head, s, n);
    head[n] = '\0';
    if (cli_parse_job_id(head, id, err) < 0)
        return err->code;
    if (cli_parse_int("array index", us + 1, 0, 9999999, index, err) < 0)
        return nl_err_set(err, -EINVAL, "job id: '%.40s': the index after '_' must be 0 to 9999999",
                          s);
    return 0;
}

void cli_jobref_path(int64_t id, int64_t index, char *buf, size_t size)
{
    if (index < 0)
        snprintf(buf, size, "/v1/jobs/%lld", (long long)id);
    else
        snprintf(buf, size, "/v1/jobs/%lld/tasks?index=%lld", (long long)id, (long long)index);
}

int cli_jobref_resolve(struct cli_client *c, int64_t id, int64_t index, int64_t *out)
{
    *out = id;
    if (index < 0)
        return NL_CLI_OK;
    char path[96];
    json_t *answer = NULL;
    cli_jobref_path(id, index, path, sizeof(path));
    int rc = cli_client_call(c, "GET", path, NULL, &answer);
    if (rc != NL_CLI_OK)
        return rc;
    double task = cli_json_num(json_object_get(answer, "job"), "id");
    json_decref(answer);
    if (!isfinite(task)) {
        fprintf(stderr,
                "nordlys: job %lld_%lld: not made yet (its array makes tasks as earlier ones "
                "end); name the array (%lld) to act on all of its tasks\n",
                (long long)id, (long long)index, (long long)id);
        return NL_CLI_FAILED;
    }
    *out = (int64_t)task;
    return NL_CLI_OK;
}

char *cli_jobref_format(const json_t *job, char *buf, size_t size)
{
    double id = cli_json_num(job, "id");
    double array = cli_json_num(job, "array_job_id");
    double task = cli_json_num(job, "array_task_id");
    const json_t *arr = json_object_get(job, "array");
    if (isfinite(array) && isfinite(task)) {
        snprintf(buf, size, "%.0f_%.0f", array, task);
    } else if (json_is_object(arr) && strcmp(cli_json_str(job, "state"), "PENDING") == 0) {
        const char *pending = cli_json_str(arr, "pending");
        double limit = cli_json_num(arr, "max_running");
        if (strcmp(pending, "-") == 0 || pending[0] == '\0')
            snprintf(buf, size, "%.0f_*", id);
        else if (isfinite(limit))
            snprintf(buf, size, "%.0f_[%s%%%.0f]", id, pending, limit);
        else
            snprintf(buf, size, "%.0f_[%s]", id, pending);
    } else if (isfinite(id)) {
        snprintf(buf, size, "%.0f", id);
    } else {
        snprintf(buf, size, "-");
    }
    return buf;
}
