/* SPDX-License-Identifier: MIT */
/*
 * fuzz_agent_answer.c - libFuzzer target for the agent's decoders of what
 * the controller sends (src/agent/proto.c): the register answer, the sync
 * answer with its launches, kills and holds, the node list of GET
 * /v1/nodes and an error body. The agent runs as root and execs what a
 * launch says, so a decoder that crashes or lets a malformed launch
 * through is a way in. Every decoder sees every input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto.h"
#include "nordlys/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded launch must be what proto.h promises the launcher. */
static void check_work(const struct proto_work *w)
{
    for (size_t i = 0; i < w->nlaunch; i++) {
        const struct proto_launch *l = &w->launch[i];
        if (l->argc < 1 || l->argv == NULL || l->argv[l->argc] != NULL || l->node == NULL)
            abort();
        for (size_t k = 0; k < l->argc; k++)
            if (l->argv[k] == NULL)
                abort();
        if (l->env == NULL || l->env[l->nenv] != NULL)
            abort();
        for (size_t k = 0; k < l->nenv; k++)
            if (l->env[k] == NULL || strchr(l->env[k], '=') == NULL)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct nl_err err = {0};

    struct proto_reg_answer ra;
    memset(&ra, 0, sizeof(ra));
    if (proto_decode_register(body, size, &ra, &err) == 0) {
        if (ra.agent_id == NULL)
            abort();
        proto_reg_answer_release(&ra);
    } else if (err.msg[0] == '\0') {
        abort();
    }

    struct proto_work w;
    memset(&w, 0, sizeof(w));
    nl_err_clear(&err);
    if (proto_decode_sync(body, size, &w, &err) == 0)
        check_work(&w);
    else if (err.msg[0] == '\0' || w.nlaunch != 0 || w.nkill != 0 || w.nhold != 0)
        abort(); /* all-or-nothing, with a reason */
    proto_work_release(&w);

    char **names = NULL;
    size_t n = 0;
    nl_err_clear(&err);
    if (proto_decode_node_names(body, size, 64, &names, &n, &err) == 0) {
        if (n > 64)
            abort();
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }

    char msg[128];
    proto_error_message(body, size, msg, sizeof(msg));
    if (strlen(msg) >= sizeof(msg))
        abort();
    return 0;
}
