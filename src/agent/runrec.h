/* SPDX-License-Identifier: MIT */
/*
 * runrec.h - durable records of the runs an agent has started, and the
 * sweep that kills what a dead agent left behind.
 *
 * One small file per run in STATE_DIR/runs, written (tmp + rename) by the
 * run's keeper before the job's first process is created, so that no
 * process of a run ever exists without its record, and removed once the
 * run's end has been acknowledged. A record names every handle on the
 * run's processes: the keeper (with its start time, so a reused pid is
 * never mistaken for it), the run's key (RUNREC_ENV in every task's
 * environment: the one handle that needs neither a living keeper nor a
 * cgroup nor a known pid), its cgroup, and the boot it ran in (after a
 * reboot nothing of it can be alive, so nothing is killed). Once the job
 * exists the keeper writes the record again with its first process (pid
 * and start time; its process group id too). A record without a pid is
 * of a run that never started, or that started just as its keeper died.
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
/* A run's key: 16 random bytes as 32 hex digits, and its NUL. */
#define RUNREC_KEY_LEN 33
/* The variable that carries a run's key in each of its tasks' environments. */
#define RUNREC_ENV "NORDLYS_RUN_KEY"

struct runrec {
    int64_t job;
    uint32_t run;
    char node[RUNREC_NODE_MAX + 1];
    pid_t pid;            /* the job's first process, its process group id too; 0: not known */
    uint64_t start_ticks; /* procs.h */
    pid_t keeper;
    uint64_t keeper_ticks;
    char boot_id[64];
    char cgroup[RUNREC_PATH_MAX]; /* the run's cgroup directory, "" when none */
    char key[RUNREC_KEY_LEN];     /* the run's key, "" when none (a record of an older agent) */
};

/* A new run key (random; unique on this machine whatever happens to the random source). */
void runrec_key_new(char key[RUNREC_KEY_LEN]);

/*
 * Write r as dir/name atomically; dir must exist. Returns 0 or -errno with
 * err naming the file.
 */
int runrec_write(const char *dir, const char *name, const struct runrec *r, struct nl_err *err);

/*
 * Replace dir/name with r. Not by a rename over it: ext4 starts the
 * writeback of a file renamed over another (auto_da_alloc), which cost
 * 2-4 ms a record on a loaded disk. The new version is written whole as
 * dir/name RUNREC_NEXT, then dir/name is removed and the new one renamed
 * to it; a sweep that finds a RUNREC_NEXT without its record takes it for
 * the record (it was whole before the record went). Returns 0 or -errno
 * with err set.
 */
int runrec_update(const char *dir, const char *name, const struct runrec *r, struct nl_err *err);
#define RUNREC_NEXT ".next"

/* Remove dir/name (and its RUNREC_NEXT); a missing file is not an error. */
void runrec_remove(const char *dir, const char *name);

/* Read a record file. Returns 0, or -errno/-EPROTO with err naming the file and field. */
int runrec_read(const char *path, struct runrec *r, struct nl_err *err);

/*
 * SIGKILL what is alive of r's run by every handle, once, without waiting:
 * what a live agent does when a run's keeper died under it. Returns how
 * many processes were found.
 */
size_t runrec_kill(const struct runrec *r);

/*
 * For every record in dir: kill what is left of its run (the keeper's
 * subtree, cgroup, process group, first process, and every process whose
 * environment holds the run's key; each only where it is provably the
 * run's), wait until all of it is gone (at most deadline_s in all), log
 * what was found (a record without a pid whose run left nothing is
 * logged as never started), and remove the record and the run's cgroup.
 * Returns the number of records swept, or -errno with err set when dir
 * cannot be read or a process outlived the deadline (its record is then
 * kept).
 */
int runrec_sweep(const char *dir, double deadline_s, struct nl_err *err);

#endif
