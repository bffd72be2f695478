/* SPDX-License-Identifier: MIT */
/*
 * statedir.h - the agent's state directory as the agent's identity: an
 * exclusive lock held for the process's life, so two agents never share
 * one directory (and its run records), and a persistent random instance
 * key, sent on registration, by which the controller tells this agent
 * from another one that claims the same name or nodes.
 */
#ifndef NL_AGENT_STATEDIR_H
#define NL_AGENT_STATEDIR_H

#include <stddef.h>

#include "common/proto_limits.h"

struct nl_err;

/* 16 random bytes as 32 hex digits, and its NUL. */
#define STATEDIR_INSTANCE_LEN 33
_Static_assert(STATEDIR_INSTANCE_LEN - 1 <= NL_PROTO_INSTANCE_MAX,
               "the instance key must fit the protocol's instance field");

/*
 * Take an exclusive flock on DIR/agent.lock (created 0644) and write our
 * pid into it. On success *fd holds the lock (O_CLOEXEC; keep it open for
 * the process's life) and 0 is returned. When another process holds it:
 * -EBUSY with err naming the directory and the holder's pid.
 *
 * The lock's holders are the agent and, for a moment, its keepers: a
 * keeper keeps its copy until it has written its run's record (launch.h),
 * so that a next agent's sweep cannot miss the record. So when the pid in
 * the file is gone (the agent died), the lock is waited for, up to wait_s
 * seconds, before -EBUSY names the dead agent and its keepers.
 */
int statedir_lock(const char *dir, double wait_s, int *fd, struct nl_err *err);

/*
 * The instance key in DIR/instance, created (0600, atomically) at the
 * first start. Returns 0 with hex filled, or -errno with err set.
 */
int statedir_instance(const char *dir, char hex[STATEDIR_INSTANCE_LEN], struct nl_err *err);

#endif
