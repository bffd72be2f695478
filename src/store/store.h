/* SPDX-License-Identifier: MIT */
/*
 * store.h - the controller's durable state in one SQLite file.
 *
 * The store keeps every job ever submitted (ids are never reused) and the
 * agents' node lists, which is all that nordlysd must reload after a
 * restart; everything else (free GPUs, reasons, priorities) is rebuilt by
 * the scheduler from these records. It is the only code that includes
 * sqlite3.h, and SQLite errors become negative errno codes here and
 * nowhere else.
 *
 * Writes happen inside a transaction the caller opens with
 * nl_store_begin() and ends with nl_store_commit(): nordlysd opens one per
 * loop iteration and answers no client that depends on it before COMMIT
 * has returned (group commit). Write functions called outside a
 * transaction fail with -EPERM, so a forgotten begin is a bug found at
 * once, not an autocommit per row.
 *
 * What the store does not do: validate requests (nl_sched_validate does),
 * parse JSON (command and env are kept as the JSON text the caller gives),
 * or know file paths other than its own database.
 *
 * Calling context: one thread; no function blocks for long except
 * nl_store_commit, which waits for the disk (fsync) when synchronous=FULL.
 *
 * Another backend (PostgreSQL) would implement this same interface: no
 * SQLite type or error leaves store.c, errors are negative errno values
 * (-ENOSPC/-EIO from a commit that cannot be made, -EMEDIUMTYPE for a
 * database that is not ours, -ENOENT for no such record), every write is
 * inside the caller's begin/commit, and ids come from the store in
 * increasing order (next_id may be kept in memory: one writer, see
 * nordlysd's state-directory lock). What is SQLite's alone: opts.path,
 * opts.sync_normal, opts.init and the free-space part of nl_store_probe.
 */
#ifndef NL_STORE_STORE_H
#define NL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/facility.h"
#include "nordlys/job.h"
#include "nordlys/sched.h"

struct nl_err;
struct nl_store;

/* A job name is for people; longer names are refused (4xx), not cut. */
#define NL_STORE_JOB_NAME_MAX 128

/* Options for nl_store_open; {0} plus a path means the defaults. */
struct nl_store_opts {
    const char *path; /* database file; borrowed during the call */
    /*
     * false (the default): synchronous=FULL, every COMMIT is on disk
     * before it returns, which survives power loss as well as kill -9.
     * true: synchronous=NORMAL, which in WAL mode survives a process
     * crash but may lose the last commits on power loss.
     */
    bool sync_normal;
    /*
     * false (the default): a file at path that is not a nordlys database
     * (zero bytes, not SQLite, an empty SQLite file, another program's
     * database) is refused with -EMEDIUMTYPE. true: such a file is moved
     * aside to PATH.refused-SECONDS (with its -wal and -shm; nothing is
     * deleted) and a new database is made. A nordlys database is opened
     * as it is either way: init never wipes one.
     */
    bool init;
};

/*
 * One job record. Strings marked "owned" belong to the record: fill with
 * nl_store_job_init, free with nl_store_job_release. Times are Unix
 * microseconds, 0 when unset.
 */
/* A Unix account name (POSIX allows 32 characters; room for longer directory names). */
#define NL_STORE_RUN_AS_MAX 64

struct nl_store_job {
    uint64_t id; /* assigned by nl_store_job_insert */
    char name[NL_STORE_JOB_NAME_MAX];
    char tenant[NL_NAME_MAX];
    struct nl_job_spec spec; /* spec.tenant is not stored: the tenant is kept by name */
    enum nl_job_state state;
    int64_t submit_us, start_us, end_us;
    char *command_json;          /* owned: a JSON array of strings, never NULL once stored */
    char *env_json;              /* owned: a JSON object of strings, or NULL */
    char *cwd;                   /* owned, or NULL */
    char *stdout_path;           /* owned, or NULL */
    char *stderr_path;           /* owned, or NULL */
    struct nl_alloc_node *alloc; /* owned: the last allocation, nalloc entries */
    size_t nalloc;
    bool has_exit; /* exit_code/exit_signal are meaningful */
    int exit_code, exit_signal;
    uint32_t preemptions;
    bool kill_requested; /* cancelled while running: the kill must survive a restart */
    int64_t run_us;      /* total time run over all starts that ended */
    double energy_wh;    /* energy of the runs that ended, facility level */
    double cpu_s;        /* CPU time reported by the agents */
    int64_t max_rss_kb;
    uint32_t runs;     /* starts so far: the run number of the current or last run, 0 if none */
    char *exit_reason; /* owned, or NULL: why the last run ended, when an agent said */
    uint64_t memory_max_bytes;        /* the job's cgroup memory.max per node, 0 = no limit */
    uint32_t pids_max;                /* the job's cgroup pids.max per node, 0 = no limit */
    char run_as[NL_STORE_RUN_AS_MAX]; /* the Unix account it runs as; "" = none recorded */
    uint32_t tasks_per_node;          /* processes per node (its shape is in spec), >= 1 */
    char *input_path;                 /* owned, or NULL: task 0's stdin, a path on the node */
    int warn_signal;       /* --signal: sent warn_before_s before the time limit; 0 = none */
    int64_t warn_before_s; /* seconds before the time limit */
    uint64_t array_job;   /* a task of a job array: the array job's id; 0 for other jobs */
    uint32_t array_index; /* a task's index in its array (meaningful when array_job != 0) */
};

void nl_store_job_init(struct nl_store_job *job);
/* Frees the owned strings and allocation and re-initialises job. NULL-safe. */
void nl_store_job_release(struct nl_store_job *job);

/* How a run ended, for nl_store_job_end. */
struct nl_store_end {
    enum nl_job_state state; /* a terminal state */
    int64_t end_us;
    bool has_exit;
    int exit_code, exit_signal;
    int64_t run_us;   /* this run's time, added to the stored total */
    double energy_wh; /* this run's energy, added to the stored total */
    double cpu_s;     /* added to the stored figure */
    int64_t max_rss_kb;
    const char *reason; /* why it ended, for people ("exec /x: No such file..."); NULL if none */
};

/*
 * Open (creating if there is no file) the database, apply pending
 * migrations, prepare every statement. Returns a new store, close with
 * nl_store_close; NULL with err set ("store: PATH: unable to open
 * database file") on failure. A database written by a newer nordlys
 * (user_version above ours) is refused (-EPROTO) rather than misread; a
 * file that is not a nordlys database is refused with -EMEDIUMTYPE and a
 * message saying what it is (see opts.init). A database that needs no
 * migration is not written, so that one on a full disk still opens.
 */
struct nl_store *nl_store_open(const struct nl_store_opts *opts, struct nl_err *err);
/* Rolls back an open transaction and closes. NULL-safe. */
void nl_store_close(struct nl_store *st);

/* Schema version this build writes (PRAGMA user_version after open). */
int nl_store_schema_version(void);

/*
 * BEGIN IMMEDIATE: take the write lock now, so that a commit never fails
 * for a lock taken late. -EBUSY if already in a transaction.
 */
int nl_store_begin(struct nl_store *st, struct nl_err *err);
/*
 * COMMIT; on failure the transaction is rolled back and -EIO/-ENOSPC
 * returned. Writes happen at COMMIT only (the page cache never spills in
 * the middle of a transaction), so a full disk fails here, not in a write
 * function; if SQLite nonetheless rolls a transaction back by itself after
 * an error, every later write of it and its COMMIT fail with that error.
 */
int nl_store_commit(struct nl_store *st, struct nl_err *err);
/* ROLLBACK; a no-op outside a transaction. */
void nl_store_rollback(struct nl_store *st);
bool nl_store_in_txn(const struct nl_store *st);
/* Write statements run in the open transaction (0 once it has committed or rolled back). */
uint64_t nl_store_txn_writes(const struct nl_store *st);

/*
 * Insert a new job from job's request fields (name, tenant, spec,
 * command_json, env_json, cwd, submit_us, stdout_path, stderr_path; state
 * must be PENDING) and set *id to its new id, which is larger than every
 * id ever assigned and equal to what nl_store_next_id() said just before.
 * Borrows job. -EPERM outside a transaction, -EINVAL for a missing command.
 */
int nl_store_job_insert(struct nl_store *st, const struct nl_store_job *job, uint64_t *id,
                        struct nl_err *err);
/*
 * The id the next nl_store_job_insert will assign, so that a caller can
 * name the job's files before inserting it and write the record with one
 * INSERT (an UPDATE per submission for the paths cost about 10% of the
 * insert path). Valid until the next insert or rollback.
 */
uint64_t nl_store_next_id(const struct nl_store *st);
/* Set the output file paths of a job (borrowed). -ENOENT if no such job. */
int nl_store_job_set_output(struct nl_store *st, uint64_t id, const char *stdout_path,
                            const char *stderr_path, struct nl_err *err);
/*
 * RUNNING since start_us on alloc (n entries, borrowed), replacing any old
 * allocation; the job's run count goes up by one and *run (if non-NULL)
 * gets the new run number (1 for the first start).
 */
int nl_store_job_start(struct nl_store *st, uint64_t id, int64_t start_us,
                       const struct nl_alloc_node *alloc, size_t n, uint32_t *run,
                       struct nl_err *err);
/* Change only the state (PREEMPTING, or CANCELLED for a job that never ran plus end_us). */
int nl_store_job_set_state(struct nl_store *st, uint64_t id, enum nl_job_state state,
                           int64_t end_us, struct nl_err *err);
/*
 * Back to PENDING after a preemption (preempted: preemptions + 1) or a
 * node failure: the allocation, start time and kill request are cleared;
 * run_us and energy_wh (this run's share) are added to the stored totals.
 */
int nl_store_job_requeue(struct nl_store *st, uint64_t id, bool preempted, int64_t run_us,
                         double energy_wh, struct nl_err *err);
/*
 * Remember that a running job was cancelled, so that a restarted
 * controller still kills it.
 */
/*
 * Write the fields a user may change with `nordlys update` (name, gpus,
 * time limit, grace, requeue) from job (job->id names the row).
 */
int nl_store_job_update(struct nl_store *st, const struct nl_store_job *job, struct nl_err *err);
/*
 * A finished job back to PENDING (`nordlys requeue`): its last run's end,
 * exit and allocation are cleared; its totals (runs, run time, energy)
 * stay. -ENOENT for no such job.
 */
int nl_store_job_resubmit(struct nl_store *st, uint64_t id, struct nl_err *err);
int nl_store_job_kill_requested(struct nl_store *st, uint64_t id, struct nl_err *err);
/* The job has ended as e says (borrowed). The allocation is kept as history. */
int nl_store_job_end(struct nl_store *st, uint64_t id, const struct nl_store_end *e,
                     struct nl_err *err);

/*
 * Fill job (initialised by the caller; released and refilled here) with
 * record id. -ENOENT if there is none.
 */
int nl_store_job_get(struct nl_store *st, uint64_t id, struct nl_store_job *job,
                     struct nl_err *err);

/*
 * Called once per record; job is borrowed for the call. Returning non-zero
 * stops the walk and becomes the walk's return value.
 */
typedef int (*nl_store_job_fn)(const struct nl_store_job *job, void *arg);

/* Every live job (PENDING, RUNNING, PREEMPTING) in id order, for the restart. */
int nl_store_jobs_live(struct nl_store *st, nl_store_job_fn fn, void *arg, struct nl_err *err);

/* Filters of nl_store_jobs_list; {0} lists everything. */
struct nl_store_filter {
    unsigned states;    /* bit (1u << state) per wanted state; 0 = all */
    const char *tenant; /* borrowed; NULL = all */
    size_t limit;       /* 0 = no limit */
    uint64_t before_id; /* only ids below this (paging); 0 = no bound */
};

/* Jobs matching f, newest (highest id) first. */
int nl_store_jobs_list(struct nl_store *st, const struct nl_store_filter *f, nl_store_job_fn fn,
                       void *arg, struct nl_err *err);
/* How many jobs match f's states and tenant (its limit and before_id are ignored). */
int nl_store_jobs_count(struct nl_store *st, const struct nl_store_filter *f, uint64_t *n,
                        struct nl_err *err);

/* Ended work per tenant, from nl_store_usage. */
struct nl_store_usage {
    const char *tenant; /* borrowed for the callback */
    double gpu_hours;   /* gpus x run time of every ended run */
    double energy_wh;
    uint64_t jobs_completed, jobs_failed; /* failed: FAILED, TIMEOUT, NODE_FAIL */
};

typedef int (*nl_store_usage_fn)(const struct nl_store_usage *u, void *arg);
int nl_store_usage(struct nl_store *st, nl_store_usage_fn fn, void *arg, struct nl_err *err);

/* An agent as stored (strings borrowed). */
struct nl_store_agent {
    const char *id;
    const char *instance;    /* its persistent key (hex); NULL or "" for none (a legacy agent) */
    const char *output_root; /* where it resolves relative output paths; NULL or "" if unknown */
    bool emulated;
};

/*
 * Make agent->id the owner of nodes (n global node indexes, borrowed),
 * replacing its earlier list and taking any of them from another agent;
 * agents left with no node are forgotten. The instance is kept with the
 * agent, so that its name stays its own across a controller restart, and
 * its output root, so that a job's output path can still be shown whole.
 */
int nl_store_agent_set(struct nl_store *st, const struct nl_store_agent *agent,
                       const uint32_t *nodes, size_t n, struct nl_err *err);

/*
 * Called once per stored (agent, node) pair, ordered by agent; borrowed
 * for the call (instance and output_root are "" when unknown).
 */
typedef int (*nl_store_agent_fn)(const struct nl_store_agent *agent, uint32_t node, void *arg);
int nl_store_agents_load(struct nl_store *st, nl_store_agent_fn fn, void *arg, struct nl_err *err);

/* Highest job id ever assigned (0 for a fresh store). */
uint64_t nl_store_last_id(struct nl_store *st);
/*
 * Never assign last_used or any id below it (ids already used outside
 * this database, e.g. by the job directories of a facility whose database
 * was lost). Memory only: the caller repeats it at every open.
 */
void nl_store_ids_reserve(struct nl_store *st, uint64_t last_used);

/* ---- idempotency keys: a submission's key, so that a retry finds its job ---- */

/* A key is 1 to this many printable ASCII characters (the caller checks). */
#define NL_STORE_IDEM_KEY_MAX 255

struct nl_store_idem {
    uint64_t job;          /* the job the key's first use created */
    char request_hash[72]; /* the caller's digest of the request (text) */
    int64_t created_us;    /* when the key was first used */
};

/*
 * The record of tenant's key (both borrowed) if it was used at or after
 * not_before_us (older ones are expired, whether deleted yet or not);
 * -ENOENT if none. Sees the open transaction's own writes.
 */
int nl_store_idem_get(struct nl_store *st, const char *tenant, const char *key,
                      int64_t not_before_us, struct nl_store_idem *out, struct nl_err *err);
/* Record tenant's key for idem->job, in the transaction that inserts the job. */
int nl_store_idem_put(struct nl_store *st, const char *tenant, const char *key,
                      const struct nl_store_idem *idem, struct nl_err *err);
/*
 * Delete at most max keys used before before_us, oldest first (bounded, so
 * that a backlog never makes one iteration long); *deleted says how many.
 */
int nl_store_idem_expire(struct nl_store *st, int64_t before_us, size_t max, size_t *deleted,
                         struct nl_err *err);

/*
 * Can the store commit again? Outside a transaction: 0 when the
 * database's filesystem has room for a WAL's worth of pages (4 MiB) and a
 * one-row transaction commits; -ENOSPC/-EIO with the reason otherwise.
 */
int nl_store_probe(struct nl_store *st, struct nl_err *err);

/* ---- the audit log: one row a record (src/ctld/audit.h), inserted only ---- */

/*
 * Add record seq (its exact line, len bytes, no newline) in the open
 * transaction; a seq already there is an error (records are never replaced).
 */
int nl_store_audit_append(struct nl_store *st, uint64_t seq, const char *line, size_t len,
                          struct nl_err *err);
/* The last record: its seq and line (*line malloc'd; 0 and NULL when there is none). */
int nl_store_audit_last(struct nl_store *st, uint64_t *seq, char **line, struct nl_err *err);
/* Called for each record, in seq order; non-zero stops the walk and is returned. */
typedef int (*nl_store_audit_fn)(uint64_t seq, const char *line, size_t len, void *arg);
/* Walk the records after seq after (0: all), as they are now (the open transaction's included). */
int nl_store_audit_walk(struct nl_store *st, uint64_t after, nl_store_audit_fn fn, void *arg,
                        struct nl_err *err);

/*
 * Settings kept across restarts (the meta table: text key, integer value),
 * e.g. "power_budget_w". get: 1 and *value set, 0 when the key is absent,
 * or a negative code. set: inside a transaction, like every write.
 */
int nl_store_meta_get(struct nl_store *st, const char *key, int64_t *value, struct nl_err *err);
int nl_store_meta_set(struct nl_store *st, const char *key, int64_t value, struct nl_err *err);

/* Add IT energy (Wh, no PUE) to a job's total, inside a transaction. -ENOENT for no such job. */
int nl_store_job_add_it_energy(struct nl_store *st, uint64_t job, double wh, struct nl_err *err);

/* One ended job for usage reports (strings borrowed for the callback). */
struct nl_store_usage_job {
    uint64_t id;
    const char *tenant, *name, *state;
    uint32_t gpus;
    int64_t run_us, end_us;
    double energy_wh, it_energy_wh;
};
typedef int (*nl_store_usage_job_fn)(const struct nl_store_usage_job *u, void *arg);
/*
 * Ended jobs whose end is in [since_us, until_us), of tenant (NULL: all), by
 * end time; fn's non-zero return stops the walk and is returned.
 */
int nl_store_usage_jobs(struct nl_store *st, int64_t since_us, int64_t until_us, const char *tenant,
                        nl_store_usage_job_fn fn, void *arg, struct nl_err *err);

/* ---- the gate (src/ctld/gate.h): held jobs, dependencies, job arrays (issue 12) ---- */

/* A job kept out of the scheduler: held, or waiting on its dependencies (as submitted). */
struct nl_store_gate {
    uint64_t job;
    bool held;
    const char *dependency; /* borrowed; "" for none */
};

/* Record (or replace) job's gate in the open transaction. */
int nl_store_gate_put(struct nl_store *st, const struct nl_store_gate *g, struct nl_err *err);
/* The job may go to the scheduler: forget its gate (no row is not an error). */
int nl_store_gate_delete(struct nl_store *st, uint64_t job, struct nl_err *err);
typedef int (*nl_store_gate_fn)(const struct nl_store_gate *g, void *arg);
/* The gates of PENDING jobs, in id order (strings borrowed for the call). */
int nl_store_gates_load(struct nl_store *st, nl_store_gate_fn fn, void *arg, struct nl_err *err);

/* An array job: its own job row is the template of its tasks. */
struct nl_store_array {
    uint64_t job;
    const char *spec; /* borrowed: the index set with its %limit, as common/idxset.h reads it */
    uint64_t next;    /* tasks made so far, in index order */
    bool cancelled;   /* no more tasks are made */
};

/* Record (or replace) an array in the open transaction. */
int nl_store_array_put(struct nl_store *st, const struct nl_store_array *a, struct nl_err *err);
typedef int (*nl_store_array_fn)(const struct nl_store_array *a, void *arg);
/* Array job's record, to fn; -ENOENT when job is not an array job. */
int nl_store_array_get(struct nl_store *st, uint64_t job, nl_store_array_fn fn, void *arg,
                       struct nl_err *err);
/* The arrays whose job is still PENDING (live), in id order. */
int nl_store_arrays_live(struct nl_store *st, nl_store_array_fn fn, void *arg, struct nl_err *err);
/* Mark job (inserted in this transaction) as task index of array. */
int nl_store_job_set_array(struct nl_store *st, uint64_t id, uint64_t array, uint32_t index,
                           struct nl_err *err);
typedef int (*nl_store_task_fn)(uint64_t id, uint32_t index, enum nl_job_state state, void *arg);
/* The tasks made so far of array, by index. */
int nl_store_array_tasks(struct nl_store *st, uint64_t array, nl_store_task_fn fn, void *arg,
                         struct nl_err *err);
/* The id of task index of array; -ENOENT if it has not been made. */
int nl_store_array_task_find(struct nl_store *st, uint64_t array, uint32_t index, uint64_t *id,
                             struct nl_err *err);
/* A job's state and tenant (tenant: NL_NAME_MAX bytes or NULL) without reading the record. */
int nl_store_job_state(struct nl_store *st, uint64_t id, enum nl_job_state *state, char *tenant,
                       struct nl_err *err);
/*
 * A live job (pending, running) of tenant and run_as named name with an id
 * below before: *blocker its id, or 0 when there is none (--dependency
 * singleton).
 */
int nl_store_singleton_blocker(struct nl_store *st, const char *tenant, const char *run_as,
                               const char *name, uint64_t before, uint64_t *blocker,
                               struct nl_err *err);

#endif
