/* SPDX-License-Identifier: MIT */
/*
 * procs.h - what /proc says about processes, and the kills built on it:
 * the start time that tells a process from a later one with the same pid,
 * and every descendant of a process (the keeper's subtree, launch.h).
 *
 * Pids are reused; a (pid, start time) pair is not, within one boot. The
 * start time is field 22 of /proc/PID/stat, in clock ticks since boot.
 * Every walk reads /proc once; a process that exits meanwhile is skipped.
 */
#ifndef NL_AGENT_PROCS_H
#define NL_AGENT_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct procs_stat {
    pid_t ppid;
    pid_t pgrp;
    char state;           /* 'R', 'S', 'D', 'Z' (zombie: already dead), ... */
    uint64_t start_ticks; /* field 22 */
};

/* Read /proc/PID/stat. Returns 0, or -errno (-ENOENT: no such process, or reaped meanwhile). */
int procs_stat(pid_t pid, struct procs_stat *st);

/* pid lives (not a zombie) and started at start_ticks: it is the process we mean. */
bool procs_same(pid_t pid, uint64_t start_ticks);

/*
 * Send sig to every live (non-zombie) descendant of root, found by following
 * parent links; root itself is spared. Returns how many were signalled.
 */
size_t procs_signal_descendants(pid_t root, int sig);

/*
 * Live members of process group pgrp that started at or after min_ticks
 * (0: any); with sig != 0 each is also sent sig. Returns their number.
 */
size_t procs_group_members(pid_t pgrp, uint64_t min_ticks, int sig);

/*
 * Call fn for every live (non-zombie) process, from one walk of /proc;
 * fn's arg is passed through.
 */
void procs_each(void (*fn)(pid_t pid, const struct procs_stat *st, void *arg), void *arg);

/*
 * The value of name in the environment pid started with
 * (/proc/PID/environ; a process may have changed its own since), copied
 * into buf. Returns 0, -ENOENT when it has no such variable with a value
 * that fits buf (or is gone), or -errno (-EACCES: another user's process,
 * for an agent that is not root).
 */
int procs_env_value(pid_t pid, const char *name, char *buf, size_t size);

/* This boot's id (/proc/sys/kernel/random/boot_id), "" when unreadable. */
void procs_boot_id(char *buf, size_t size);

#endif
