/* SPDX-License-Identifier: MIT */
/*
 * scratch.h - per-node scratch directories, wiped between tenants.
 *
 * With --scratch-dir DIR every node this agent runs has its scratch
 * directory DIR/NODE (also for an agent of one node: one rule, and two
 * agents may share DIR). DIR is the agent's (0755), DIR/NODE is 01777
 * like /tmp: jobs run as their users, each owns what it creates there,
 * and none can remove another's files. A job finds it in NORDLYS_SCRATCH
 * and TMPDIR.
 *
 * The wipe rule, per node (docs/security.md, sovereignty):
 *  - before a job starts on an idle node, the scratch is wiped unless what
 *    may be inside is known to be its own tenant's (a job without a tenant,
 *    from a controller that sends none, is never known to be anyone's:
 *    always wiped before);
 *  - when a sensitive job ends and the node is idle, the scratch is wiped
 *    at once (with other jobs still there, when the last one ends);
 *  - at agent start nothing is known: the first job wipes.
 * A sensitive job is refused on a node where another tenant's job (or a
 * job of unknown tenant) runs, and the other way round: the scheduler
 * never places them so (its isolation invariant), this is the agent's own
 * fence. A wipe that fails refuses the launch (fail closed) and is logged.
 *
 * Wipes run on the loop thread: a very large scratch delays the loop.
 * Loop thread only.
 */
#ifndef NL_AGENT_SCRATCH_H
#define NL_AGENT_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;
struct agent_scratch;

/* Deepest directory level the wipe descends to before moving a subtree up (fd use is bounded). */
#define SCRATCH_WIPE_DEPTH_MAX 64

/*
 * Scratch under root (created 0755 with its parents when missing); NULL
 * with err naming --scratch-dir on failure. Destroy with scratch_destroy.
 */
struct agent_scratch *scratch_new(const char *root, struct nl_err *err);
void scratch_destroy(struct agent_scratch *s);
/* The absolute root. */
const char *scratch_root(const struct agent_scratch *s);

/*
 * A job of tenant (NULL: unknown) starts on node (index node_idx): create
 * the node's directory if needed, wipe it if the rule says so, count the
 * job, and put the directory's path in path. 0, or a negative errno with
 * err set and nothing counted: the launch must fail.
 */
int scratch_acquire(struct agent_scratch *s, uint32_t node_idx, const char *node,
                    const char *tenant, bool sensitive, int64_t job, char *path, size_t size,
                    struct nl_err *err);
/* The job scratch_acquire counted has ended (wipes when the rule says so). */
void scratch_release(struct agent_scratch *s, uint32_t node_idx, const char *node,
                     const char *tenant, bool sensitive, int64_t job);

/*
 * Remove everything inside dir, leaving dir itself: symbolic links are
 * removed, never followed; nothing outside dir is touched (a directory on
 * another file system inside it is an error, left alone). *removed counts
 * the entries removed. 0, or a negative errno with err naming the path.
 */
int scratch_wipe(const char *dir, uint64_t *removed, struct nl_err *err);

#endif
