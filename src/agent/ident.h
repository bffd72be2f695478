/* SPDX-License-Identifier: MIT */
/*
 * ident.h - the Unix account a job runs as (docs/agent.md, "Jobs run as
 * their user"), and the file-system identity the agent takes while it
 * creates that job's output, so that a path a job names is opened with
 * the job's permissions and never with the agent's.
 *
 * An agent running as root starts each job with its account's uid, gid
 * and supplementary groups (the launch's "user"); root itself only when
 * the launch says "allow_root" (the controller's --allow-root-jobs). An
 * agent not running as root cannot change identity: it runs jobs as its
 * own user, and refuses a launch that names another account unless it was
 * started with --run-as-self (then every job runs as the agent's user).
 *
 * ident_fs_enter/leave switch only the calling thread's file-system ids
 * (raw setfsuid/setfsgid/setgroups system calls, which the kernel applies
 * per thread; glibc's wrappers would change every thread of the process),
 * so curl's threads never see another identity.
 */
#ifndef NL_AGENT_IDENT_H
#define NL_AGENT_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct nl_err;

struct ident {
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups (initgroups' list), owned */
    size_t ngroups;
    char *name, *home, *shell; /* owned */
};

/*
 * Look up account user (getpwnam_r, getgrouplist) into *out. Returns 0, or
 * -ENOENT ("user 'x': no such account on this node"), -EPERM for uid 0
 * without allow_root ("user 'root': jobs as root need the controller's
 * --allow-root-jobs"), or -EINVAL for an empty name, with err naming the
 * account. On failure *out is left zeroed.
 */
int ident_resolve(const char *user, bool allow_root, struct ident *out, struct nl_err *err);

/* The account this process runs as (its effective uid). */
int ident_self(struct ident *out, struct nl_err *err);

/* Free what ident_resolve or ident_self filled in and zero it. NULL-safe. */
void ident_release(struct ident *id);

/* A copy of src into *dst (release both). */
void ident_copy(struct ident *dst, const struct ident *src);

/* The calling thread's file-system identity before ident_fs_enter. */
struct ident_saved {
    bool switched;
    uid_t fsuid;
    gid_t fsgid;
    gid_t *groups;
    size_t ngroups;
};

/*
 * Make the calling thread's file-system accesses id's (fsuid, fsgid,
 * supplementary groups) until ident_fs_leave; files and directories it
 * creates meanwhile are owned by id. A no-op, returning 0, when the
 * process is not root (it can only be itself). Returns -errno with err set.
 */
int ident_fs_enter(const struct ident *id, struct ident_saved *saved, struct nl_err *err);
void ident_fs_leave(struct ident_saved *saved);

#endif
