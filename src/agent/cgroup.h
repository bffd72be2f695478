/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - one cgroup v2 per job, where the kernel offers cgroup v2 and
 * the agent may write to it.
 *
 * Layout: ROOT/nordlys/AGENT/LEAF, where ROOT is the cgroup2 mount
 * (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid
 * one), AGENT the agent's name and LEAF names one job on one node. A job's
 * processes are placed in their leaf by the child itself before exec, so
 * nothing the job starts can escape it; at exit the leaf is emptied with
 * cgroup.kill (kernel 5.14+) by the run's keeper (launch.h), which waits
 * until every process of the run is reaped, and then removed.
 *
 * The cpu, memory and pids controllers are enabled below nordlys/ when the
 * parent offers them; without them the cgroup still groups and kills.
 * Where cgroups are unavailable, agent_cg_open says why in one log line
 * and returns NULL, and jobs run without them.
 */
#ifndef NL_AGENT_CGROUP_H
#define NL_AGENT_CGROUP_H

#include <stdint.h>

struct agent_cg;

/*
 * setting: "auto" (probe /sys/fs/cgroup, then /sys/fs/cgroup/unified),
 * "none", or the path of a cgroup2 mount. Returns a new handle (free with
 * agent_cg_close) or NULL, having logged the reason once.
 */
struct agent_cg *agent_cg_open(const char *setting, const char *agent_name);
void agent_cg_close(struct agent_cg *cg);

/* The agent's directory, "/sys/fs/cgroup/nordlys/host1-42". */
const char *agent_cg_path(const struct agent_cg *cg);

/* Limits written into a job's leaf; 0 = none (the controller's "max"). */
struct agent_cg_limits {
    int64_t memory_max; /* memory.max, bytes */
    int64_t pids_max;   /* pids.max */
};

/*
 * Create leaf, write lim (NULL: none) and open its cgroup.procs for writing
 * (O_CLOEXEC) into *procs_fd; the child writes "0" to it to move itself
 * in. Returns 0 or -errno (the job then runs without a cgroup). A limit
 * the leaf cannot take (its controller is not enabled) is logged, and the
 * job runs without it.
 */
int agent_cg_job_create(struct agent_cg *cg, const char *leaf, const struct agent_cg_limits *lim,
                        int *procs_fd);

/* Kill everything left in leaf (cgroup.kill) and remove it; best effort, NULL-safe. */
void agent_cg_job_remove(struct agent_cg *cg, const char *leaf);

#endif
