/* SPDX-License-Identifier: MIT */
/*
 * runrec.h - durable records of the runs an agent has started, and the
 * sweep that kills what a dead agent left behind.
 *
 * One small file per run in STATE_DIR/runs, written (tmp + fsync + rename)
 * before the run is first reported to the controller as running and
 * removed once its end has been acknowledged. A record names every handle
 * on the run's processes: its first process and the keeper (each with its
 * start time, so a reused pid is never mistaken for them), its process
 * group, its cgroup, and the boot it ran in (after a reboot nothing of it
 * can be alive, so nothing is killed).
 *
 * The keeper (launch.h) kills a run when its agent dies; the records are
 * for what the keeper could not do (the keeper was killed too, or the
 * machine is slow): an agent sweeps them before it registers, so no run of
 * a previous agent can still execute when the controller starts it again.
 */
#ifndef NL_AGENT_RUNREC_H
#define NL_AGENT_RUNREC_H

#include <stdint.h>
#include <sys/types.h>

#include "common/proto_limits.h"

struct nl_err;

#define RUNREC_NODE_MAX 128
_Static_assert(RUNREC_NODE_MAX >= NL_PROTO_NODE_NAME_MAX, "a record holds any node name");
#define RUNREC_PATH_MAX 512

struct runrec {
    int64_t job;
    uint32_t run;
    char node[RUNREC_NODE_MAX + 1];
    pid_t pid;            /* the job's first process; its process group id too */
    uint64_t start_ticks; /* procs.h */
    pid_t keeper;
    uint64_t keeper_ticks;
    char boot_id[64];
    char cgroup[RUNREC_PATH_MAX]; /* the run's cgroup directory, "" when none */
};

/*
 * Write r as dir/name atomically; dir must exist. Returns 0 or -errno with
 * err naming the file.
 */
int runrec_write(const char *dir, const char *name, const struct runrec *r, struct nl_err *err);

/* Remove dir/name; a missing file is not an error. */
void runrec_remove(const char *dir, const char *name);

/* Read a record file. Returns 0, or -errno/-EPROTO with err naming the file and field. */
int runrec_read(const char *path, struct runrec *r, struct nl_err *err);

/*
 * For every record in dir: kill what is left of its run (cgroup, process
 * group, first process and keeper, each only where it is provably the
 * run's), wait until all of it is gone (at most deadline_s in all), log
 * what was found, and remove the record and the run's cgroup. Returns the
 * number of records swept, or -errno with err set when dir cannot be read
 * or a process outlived the deadline (its record is then kept).
 */
int runrec_sweep(const char *dir, double deadline_s, struct nl_err *err);

#endif
