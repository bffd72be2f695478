/* SPDX-License-Identifier: MIT */
/*
 * store.c - nordlysd's SQLite store; see store.h.
 *
 * Settings, and why:
 * - WAL: readers never block the writer, and a commit appends to one file
 *   (one fsync) instead of rewriting pages in place.
 * - synchronous=FULL by default: in WAL mode a commit then fsyncs the WAL
 *   before returning, so an acknowledged job survives power loss too.
 *   Group commit makes this affordable: one fsync (about 0.25 ms on this
 *   machine's disk) per loop iteration, not per job. NORMAL is offered as
 *   an option: WAL+NORMAL survives kill -9 of the process (the WAL is in
 *   the kernel's page cache) but not a power cut.
 * - foreign_keys=ON and STRICT tables: the database refuses rows that the
 *   code should never write, so a bug shows at once.
 * - Every statement is prepared once at open (SQLITE_PREPARE_PERSISTENT)
 *   and reset on every path by stmt_done().
 * - The schema is versioned with PRAGMA user_version; migrations[i] moves
 *   a database from version i to i + 1, inside one transaction.
 * - Checkpoints: SQLite's automatic checkpoint (at 1000 WAL pages, about
 *   4 MB) runs inside the COMMIT that crosses it. At 9,000 jobs/s that is
 *   one checkpoint every second or so costing a few milliseconds, within
 *   one loop iteration's budget, so no separate scheduling. 4000 pages was
 *   measured too (bench/RESULTS.md): no difference in throughput or
 *   latency, and a WAL four times larger to replay after a crash.
 * - Job ids are assigned here (next_id, from AUTOINCREMENT's sequence at
 *   open) rather than read back after the INSERT, so that the caller can
 *   name a job's output files before inserting it: one INSERT per
 *   submission instead of an INSERT and an UPDATE.
 */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

#define JOB_COLS                                                                                \
    "id, name, tenant, gpus, time_limit_us, residency, sensitive, preemptible, requeue, "       \
    "grace_us, command, env, cwd, state, submit_us, start_us, end_us, exit_code, exit_signal, " \
    "preemptions, run_us, energy_wh, cpu_s, max_rss_kb, stdout, stderr, kill_requested, runs, " \
    "exit_reason, memory_max_bytes, pids_max, run_as, warn_signal, warn_before_s, power_w, "    \
    "array_job, array_index, nodes, gpus_per_node, tasks_per_node, input"

#define LIVE_STATES "('PENDING', 'RUNNING', 'PREEMPTING')"
/*
 * The same set as comparisons, for the partial indexes' WHERE (schema
 * version 5) and the queries that use them (which must say it the same
 * way for SQLite to use the index). SQLite evaluates a constant IN list of
 * more than two values through a temporary b-tree that it builds on every
 * execution, and it evaluates a partial index's WHERE on the old and the
 * new row of every UPDATE that changes state: with IN, each job start,
 * end or submission built four such b-trees for jobs_live and jobs_ended,
 * most of a start's cost (bench/RESULTS.md, issue 9's drain).
 */
#define LIVE_WHERE "(state = 'PENDING' OR state = 'RUNNING' OR state = 'PREEMPTING')"

/*
 * Page cache: 32 MiB holds the pages a submission touches (the table's and
 * indexes' right edges) and the records of recently started jobs that
 * launches read back; SQLite's 2 MB default made those reads go to the
 * kernel. It is a bound, not an allocation.
 */
#define STORE_CACHE_KIB 32768
/* WAL pages that trigger a checkpoint; see "Checkpoints" above for why 1000. */
#define STORE_WAL_CHECKPOINT_PAGES 1000

/* Schema version 1: jobs, their allocations, and the agents' nodes. */
static const char schema_v1[] =
        "CREATE TABLE jobs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL,"
        " tenant TEXT NOT NULL,"
        " gpus INTEGER NOT NULL CHECK (gpus > 0),"
        " time_limit_us INTEGER NOT NULL CHECK (time_limit_us > 0),"
        " residency TEXT NOT NULL,"
        " sensitive INTEGER NOT NULL CHECK (sensitive IN (0, 1)),"
        " preemptible INTEGER NOT NULL CHECK (preemptible IN (0, 1)),"
        " requeue INTEGER NOT NULL CHECK (requeue IN (0, 1)),"
        " grace_us INTEGER NOT NULL CHECK (grace_us >= 0),"
        " command TEXT NOT NULL,"
        " env TEXT,"
        " cwd TEXT,"
        " state TEXT NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'PREEMPTING', 'COMPLETED',"
        "   'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL')),"
        " submit_us INTEGER NOT NULL,"
        " start_us INTEGER,"
        " end_us INTEGER,"
        " exit_code INTEGER,"
        " exit_signal INTEGER,"
        " preemptions INTEGER NOT NULL DEFAULT 0,"
        " run_us INTEGER NOT NULL DEFAULT 0,"
        " energy_wh REAL NOT NULL DEFAULT 0,"
        " cpu_s REAL NOT NULL DEFAULT 0,"
        " max_rss_kb INTEGER NOT NULL DEFAULT 0,"
        " kill_requested INTEGER NOT NULL DEFAULT 0 CHECK (kill_requested IN (0, 1)),"
        " stdout TEXT,"
        " stderr TEXT"
        ") STRICT;"
        "CREATE INDEX jobs_live ON jobs(id) WHERE state IN " LIVE_STATES ";"
        "CREATE INDEX jobs_tenant ON jobs(tenant, id);"
        "CREATE TABLE job_nodes ("
        " job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
        " seq INTEGER NOT NULL,"
        " node INTEGER NOT NULL CHECK (node >= 0),"
        " mask INTEGER NOT NULL CHECK (mask BETWEEN 1 AND 255),"
        " PRIMARY KEY (job, seq)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE TABLE agents ("
        " id TEXT PRIMARY KEY,"
        " emulated INTEGER NOT NULL CHECK (emulated IN (0, 1))"
        ") STRICT;"
        "CREATE TABLE agent_nodes ("
        " node INTEGER PRIMARY KEY CHECK (node >= 0),"
        " agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE"
        ") STRICT;"
        "CREATE INDEX agent_nodes_agent ON agent_nodes(agent);";

/*
 * Schema version 2: runs counts the job's starts, so that the run number
 * handed to agents (docs/api.md) survives a restart; exit_reason keeps an
 * agent's text for a run that could not start. A job with a start time has
 * run at least once: a running one is at run 1 (agents count from 1).
 */
static const char schema_v2[] =
        "ALTER TABLE jobs ADD COLUMN runs INTEGER NOT NULL DEFAULT 0 CHECK (runs >= 0);"
        "ALTER TABLE jobs ADD COLUMN exit_reason TEXT;"
        "UPDATE jobs SET runs = 1 WHERE start_us IS NOT NULL;";

/*
 * Schema version 3: idempotency keys (a client's retry of a submission
 * finds the job its first try created, in the same transaction as the
 * job), and a one-row table the availability probe writes. The job
 * limits (memory_max_bytes, pids_max) are added by add_missing_columns,
 * which every open runs, so that a database that has them already (from
 * a build that added them under another version) is left as it is.
 */
static const char schema_v3[] =
        "CREATE TABLE IF NOT EXISTS idempotency ("
        " tenant TEXT NOT NULL,"
        " key TEXT NOT NULL,"
        " job INTEGER NOT NULL REFERENCES jobs(id),"
        " request_hash TEXT NOT NULL,"
        " created_us INTEGER NOT NULL,"
        " PRIMARY KEY (tenant, key)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_us);"
        /*
         * Counting ended jobs by state (and tenant) for a list's total: 0.06 s
         * instead of 0.5 s for a scan of 1M jobs. Partial, so that only a
         * job's end writes to it, never its submission or start.
         */
        "CREATE INDEX IF NOT EXISTS jobs_ended ON jobs(state, tenant)"
        " WHERE state NOT IN " LIVE_STATES ";"
        "CREATE TABLE IF NOT EXISTS meta ("
        " key TEXT PRIMARY KEY,"
        " value INTEGER NOT NULL"
        ") STRICT;";

/*
 * Schema version 4: the audit log (src/ctld/audit.h), one row a record:
 * line is the record's exact JSON line, whose "prev" hashes the previous
 * row's line. Written in the transaction of the change it records, so that
 * one COMMIT makes both durable; the code only ever inserts into it.
 */
static const char schema_v4[] = "CREATE TABLE IF NOT EXISTS audit ("
                                " seq INTEGER PRIMARY KEY CHECK (seq > 0),"
                                " line TEXT NOT NULL"
                                ") STRICT;";

/*
 * Schema version 5: jobs_live and jobs_ended hold the same rows as before,
 * their WHERE said with comparisons instead of IN (see LIVE_WHERE).
 */
static const char schema_v5[] = "DROP INDEX IF EXISTS jobs_live;"
                                "CREATE INDEX jobs_live ON jobs(id) WHERE " LIVE_WHERE ";"
                                "DROP INDEX IF EXISTS jobs_ended;"
                                "CREATE INDEX jobs_ended ON jobs(state, tenant)"
                                " WHERE NOT " LIVE_WHERE ";";

/*
 * Schema version 6 (issue 12): what keeps a pending job out of the
 * scheduler (src/ctld/gate.h). gates: a job held or waiting on
 * dependencies (its conditions as submitted); arrays: an array job, whose
 * own row in jobs is the template of its tasks and ends with them, its
 * index set (with %limit) and how many tasks have been made so far (next,
 * in index order), so that a 100,000-task array is two rows until its
 * tasks start. A task is a job row that names its array and index
 * (jobs.array_job and array_index, added by add_missing_columns like the
 * other late columns); the unique index schema_v6_columns makes on them
 * makes a task that was made twice impossible.
 */
static const char schema_v6[] = "CREATE TABLE IF NOT EXISTS gates ("
                                " job INTEGER PRIMARY KEY REFERENCES jobs(id),"
                                " held INTEGER NOT NULL CHECK (held IN (0, 1)),"
                                " dependency TEXT NOT NULL"
                                ") STRICT;"
                                "CREATE TABLE IF NOT EXISTS arrays ("
                                " job INTEGER PRIMARY KEY REFERENCES jobs(id),"
                                " spec TEXT NOT NULL,"
                                " next INTEGER NOT NULL CHECK (next >= 0),"
                                " cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1))"
                                ") STRICT;";

/* What schema version 6 needs of its columns, once add_missing_columns has added them. */
static const char schema_v6_columns[] =
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_array_task ON jobs(array_job, array_index)"
        " WHERE array_job IS NOT NULL;";

/*
 * Schema version 7 (issue 12): drained nodes and operators' reservations,
 * which a restart must find again, and one row per run that ended
 * (job_runs, written with the run's end by record_run) for `nordlys
 * history`, indexed by end time so that a time window reads only its rows.
 * A run's nodes are kept as text ("0,1,5", indexes): a record, not a
 * relation anything joins on.
 */
static const char schema_v7[] =
        "CREATE TABLE IF NOT EXISTS node_drain ("
        " node INTEGER PRIMARY KEY CHECK (node >= 0),"
        " reason TEXT NOT NULL,"
        " by TEXT NOT NULL,"
        " at_us INTEGER NOT NULL"
        ") STRICT;"
        "CREATE TABLE IF NOT EXISTS reservations ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " name TEXT NOT NULL,"
        " tenant TEXT,"
        " start_us INTEGER NOT NULL,"
        " end_us INTEGER NOT NULL CHECK (end_us > start_us),"
        " nodes TEXT NOT NULL,"
        " by TEXT NOT NULL,"
        " created_us INTEGER NOT NULL"
        ") STRICT;"
        "CREATE TABLE IF NOT EXISTS job_runs ("
        " job INTEGER NOT NULL,"
        " run INTEGER NOT NULL CHECK (run >= 0),"
        " name TEXT NOT NULL,"
        " tenant TEXT NOT NULL,"
        " user TEXT NOT NULL,"
        " gpus INTEGER NOT NULL,"
        " state TEXT NOT NULL,"
        " submit_us INTEGER NOT NULL,"
        " start_us INTEGER,"
        " end_us INTEGER NOT NULL,"
        " exit_code INTEGER,"
        " exit_signal INTEGER,"
        " nodes TEXT,"
        " reason TEXT,"
        " PRIMARY KEY (job, run)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS job_runs_end ON job_runs(end_us, job, run);";

/*
 * Schema version 8 (issue 14): what a job's state history needs beyond the
 * jobs row (submitted, the run now) and job_runs (each run's start and
 * end): the events nothing else records, such as a hold, a release or a
 * dependency met. Rows are written only by those rare changes, never by a
 * plain submission or start, so the hot path writes nothing more.
 */
static const char schema_v8[] = "CREATE TABLE IF NOT EXISTS job_events ("
                                " job INTEGER NOT NULL,"
                                " seq INTEGER NOT NULL CHECK (seq >= 0),"
                                " at_us INTEGER NOT NULL,"
                                " kind TEXT NOT NULL,"
                                " detail TEXT NOT NULL,"
                                " PRIMARY KEY (job, seq)"
                                ") STRICT, WITHOUT ROWID;";

/*
 * Schema version 9 (issue 12): indexes that let a history filter read only
 * its rows. With only job_runs_end, a filter that keeps few runs (one user,
 * a small tenant, --state NODE_FAIL) read the whole window to fill a page:
 * a million runs for `--since -30d --all`. nl_store_history walks
 * job_runs_user for a user, and one cursor per (tenant, state) of
 * job_runs_tenant_state, merged in end order, for tenants and states.
 */
static const char schema_v9[] =
        "CREATE INDEX IF NOT EXISTS job_runs_user ON job_runs(user, end_us, job, run);"
        "CREATE INDEX IF NOT EXISTS job_runs_tenant_state"
        " ON job_runs(tenant, state, end_us, job, run);";

/*
 * Schema version 10, expansion online (issue 11): racks added to the
 * running facility, in order; a start builds the facility from its file
 * and applies them again (store_grow.c).
 */
static const char schema_v10[] =
        "CREATE TABLE IF NOT EXISTS facility_growth ("
        " seq INTEGER PRIMARY KEY,"
        " site TEXT NOT NULL,"
        " jurisdiction TEXT NOT NULL,"
        " racks INTEGER NOT NULL CHECK (racks >= 1),"
        " racks_per_pod INTEGER NOT NULL CHECK (racks_per_pod >= 0),"
        " nodes_per_rack INTEGER NOT NULL CHECK (nodes_per_rack >= 0),"
        " gpus_per_node INTEGER NOT NULL CHECK (gpus_per_node >= 0),"
        " site_power_w REAL NOT NULL CHECK (site_power_w >= 0),"
        " facility_power_w REAL NOT NULL CHECK (facility_power_w >= 0),"
        " by TEXT NOT NULL,"
        " at_us INTEGER NOT NULL"
        ") STRICT;";

/*
 * Schema version 11: revoked tokens (issue 10, src/store/store_revoke.h).
 * A row revokes one token (kind 'jti', value its jti) or every token of a
 * user issued at or before before_s (kind 'user', value the sub). Rows are
 * only ever added: the list is the record of who revoked what.
 */
static const char schema_v11[] = "CREATE TABLE IF NOT EXISTS token_revocations ("
                                " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                " kind TEXT NOT NULL CHECK (kind IN ('jti', 'user')),"
                                " value TEXT NOT NULL CHECK (length(value) > 0),"
                                " before_s INTEGER NOT NULL,"
                                " at_us INTEGER NOT NULL,"
                                " by TEXT NOT NULL,"
                                " reason TEXT NOT NULL"
                                ") STRICT;";

/*
 * Schema version 12: controls waiting for an agent's acknowledgement
 * (issue 12, src/store/store_controls.h): a signal or a new time limit for
 * a run, one row per agent that holds ranks of it. seq numbers it for the
 * agent, which applies each seq at most once; AUTOINCREMENT so that a seq
 * is never given twice, even after its row went.
 */
static const char schema_v12[] = "CREATE TABLE IF NOT EXISTS run_controls ("
                                 " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 " agent TEXT NOT NULL,"
                                 " job INTEGER NOT NULL,"
                                 " run INTEGER NOT NULL,"
                                 " signal INTEGER NOT NULL CHECK (signal BETWEEN 0 AND 64),"
                                 " time_limit_s REAL NOT NULL CHECK (time_limit_s >= 0)"
                                 ") STRICT;";

/* Ordered migrations: entry i takes user_version i to i + 1. */
static const char *const migrations[] = {
        schema_v1,
        schema_v2,
        schema_v3,
        schema_v4,
        schema_v5,
        schema_v6,
        schema_v7,
        schema_v8,
        schema_v9,
        schema_v10,
        schema_v11,
        schema_v12,
};

/*
 * Columns added after version 2, each added when a database lacks it (see
 * schema_v3 for why not by version). agents.instance is an agent's
 * persistent key (hex, "" for an agent that sent none), so that after a
 * controller restart a registration under a reloaded agent's name from
 * another instance is refused as it would be while the agent syncs;
 * agents.output_root is where it puts relative output paths ("" unknown).
 */
static const struct {
    const char *table;
    const char *name;
    const char *decl;
} added_columns[] = {
        {"jobs", "memory_max_bytes", "INTEGER NOT NULL DEFAULT 0 CHECK (memory_max_bytes >= 0)"},
        {"jobs", "pids_max", "INTEGER NOT NULL DEFAULT 0 CHECK (pids_max >= 0)"},
        {"agents", "instance", "TEXT NOT NULL DEFAULT ''"},
        {"agents", "output_root", "TEXT NOT NULL DEFAULT ''"},
        /* The Unix account a job runs as (issue 10); "" for jobs submitted before tokens. */
        {"jobs", "run_as", "TEXT NOT NULL DEFAULT ''"},
        /* --signal SIG@SECONDS (issue 12): the signal sent that long before the time limit. */
        {"jobs", "warn_signal", "INTEGER NOT NULL DEFAULT 0 CHECK (warn_signal BETWEEN 0 AND 64)"},
        {"jobs", "warn_before_s", "INTEGER NOT NULL DEFAULT 0 CHECK (warn_before_s >= 0)"},
        /* Expected draw per GPU in W (issue 11, docs/power.md); 0 = the default. */
        {"jobs", "power_w", "REAL NOT NULL DEFAULT 0 CHECK (power_w >= 0)"},
        /* IT energy of its runs (energy_wh is the facility's, PUE applied). */
        {"jobs", "it_energy_wh", "REAL NOT NULL DEFAULT 0"},
        /* A task of a job array: its array job and index (issue 12); NULL for other jobs. */
        {"jobs", "array_job", "INTEGER"},
        {"jobs", "array_index", "INTEGER"},
        /* Shape and tasks (issue 12): 0 nodes = gpus split freely; input = task 0's stdin. */
        {"jobs", "nodes", "INTEGER NOT NULL DEFAULT 0 CHECK (nodes >= 0)"},
        {"jobs", "gpus_per_node", "INTEGER NOT NULL DEFAULT 0 CHECK (gpus_per_node >= 0)"},
        {"jobs", "tasks_per_node", "INTEGER NOT NULL DEFAULT 1 CHECK (tasks_per_node >= 1)"},
        {"jobs", "input", "TEXT"},
};

/*
 * PRAGMA application_id of a nordlys database ("NLYS"): a file that
 * carries another one belongs to another program and is never written.
 */
#define STORE_APPLICATION_ID 0x4e4c5953
/* Free space the probe wants before it calls a full disk usable again (a WAL's worth). */
#define STORE_PROBE_FREE_BYTES (4u * 1024u * 1024u)

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Every statement, prepared at open. Numbered parameters so that SQL and binds line up. */
enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_JOB_INSERT,
    ST_JOB_SET_OUTPUT,
    ST_JOB_START,
    ST_JOB_RUNS,
    ST_ALLOC_DELETE,
    ST_ALLOC_INSERT,
    ST_ALLOC_GET,
    ST_JOB_SET_STATE,
    ST_JOB_REQUEUE,
    ST_JOB_KILL_REQUESTED,
    ST_JOB_END,
    ST_JOB_GET,
    ST_JOBS_LIVE,
    ST_JOBS_LIST,
    ST_USAGE,
    ST_AGENT_UPSERT,
    ST_AGENT_NODES_DELETE,
    ST_AGENT_NODE_SET,
    ST_AGENTS_PRUNE,
    ST_AGENTS_LOAD,
    ST_LAST_ID,
    ST_JOBS_COUNT,
    ST_JOBS_COUNT_LIVE,
    ST_JOBS_COUNT_ENDED,
    ST_IDEM_GET,
    ST_IDEM_PUT,
    ST_IDEM_EXPIRE,
    ST_PROBE,
    ST_AUDIT_INSERT,
    ST_AUDIT_LAST,
    ST_AUDIT_WALK,
    ST_JOB_UPDATE,
    ST_JOB_RESUBMIT,
    ST_RUN_RECORD,
    ST_JOBS_LIST_LIVE,
    ST_META_GET,
    ST_META_SET,
    ST_JOB_ADD_IT_ENERGY,
    ST_USAGE_JOBS,
    ST_GATE_PUT,
    ST_GATE_DELETE,
    ST_GATES_LOAD,
    ST_ARRAY_PUT,
    ST_ARRAY_GET,
    ST_ARRAYS_LIVE,
    ST_JOB_SET_ARRAY,
    ST_ARRAY_TASKS,
    ST_ARRAY_TASK_FIND,
    ST_JOB_STATE,
    ST_SINGLETON,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_JOB_INSERT] =
                "INSERT INTO jobs (name, tenant, gpus, time_limit_us, residency, sensitive,"
                " preemptible, requeue, grace_us, command, env, cwd, state, submit_us, id,"
                " stdout, stderr, memory_max_bytes, pids_max, run_as, warn_signal, warn_before_s,"
                " power_w, nodes, gpus_per_node, tasks_per_node, input)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'PENDING', ?13, ?14,"
                " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        [ST_JOB_SET_OUTPUT] = "UPDATE jobs SET stdout = ?2, stderr = ?3 WHERE id = ?1",
        /* No RETURNING: SQLite builds a temporary b-tree for it on every execution. */
        [ST_JOB_START] = "UPDATE jobs SET state = 'RUNNING', start_us = ?2, runs = runs + 1"
                         " WHERE id = ?1",
        [ST_JOB_RUNS] = "SELECT runs FROM jobs WHERE id = ?1",
        [ST_ALLOC_DELETE] = "DELETE FROM job_nodes WHERE job = ?1",
        [ST_ALLOC_INSERT] = "INSERT INTO job_nodes (job, seq, node, mask) VALUES (?1, ?2, ?3, ?4)",
        [ST_ALLOC_GET] = "SELECT node, mask FROM job_nodes WHERE job = ?1 ORDER BY seq",
        [ST_JOB_SET_STATE] =
                "UPDATE jobs SET state = ?2, end_us = CASE WHEN ?3 > 0 THEN ?3 ELSE end_us END"
                " WHERE id = ?1",
        [ST_JOB_REQUEUE] = "UPDATE jobs SET state = 'PENDING', start_us = NULL,"
                           " preemptions = preemptions + ?2, run_us = run_us + ?3,"
                           " energy_wh = energy_wh + ?4, kill_requested = 0"
                           " WHERE id = ?1",
        [ST_JOB_KILL_REQUESTED] = "UPDATE jobs SET kill_requested = 1 WHERE id = ?1",
        [ST_JOB_END] = "UPDATE jobs SET state = ?2, end_us = ?3, exit_code = ?4, exit_signal = ?5,"
                       " run_us = run_us + ?6, energy_wh = energy_wh + ?7, cpu_s = cpu_s + ?8,"
                       " max_rss_kb = max(max_rss_kb, ?9), exit_reason = ?10 WHERE id = ?1",
        [ST_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
        /* Not those the gate keeps out of the scheduler (held, waiting, array jobs: gate.h). */
        [ST_JOBS_LIVE] = "SELECT " JOB_COLS " FROM jobs WHERE " LIVE_WHERE
                         " AND id NOT IN (SELECT job FROM gates)"
                         " AND id NOT IN (SELECT job FROM arrays) ORDER BY id",
        [ST_JOBS_LIST] = "SELECT " JOB_COLS " FROM jobs"
                         " WHERE (?1 IS NULL OR instr(?1, ',' || state || ',') > 0)"
                         " AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR id < ?3)"
                         " ORDER BY id DESC LIMIT ?4",
        [ST_USAGE] = "SELECT tenant, sum(gpus * run_us) / 3.6e9, sum(energy_wh),"
                     " sum(state = 'COMPLETED'), sum(state IN ('FAILED', 'TIMEOUT', 'NODE_FAIL'))"
                     " FROM jobs GROUP BY tenant ORDER BY tenant",
        [ST_AGENT_UPSERT] = "INSERT INTO agents (id, emulated, instance, output_root)"
                            " VALUES (?1, ?2, ?3, ?4)"
                            " ON CONFLICT (id) DO UPDATE SET emulated = excluded.emulated,"
                            " instance = excluded.instance, output_root = excluded.output_root",
        [ST_AGENT_NODES_DELETE] = "DELETE FROM agent_nodes WHERE agent = ?1",
        [ST_AGENT_NODE_SET] = "INSERT OR REPLACE INTO agent_nodes (node, agent) VALUES (?1, ?2)",
        [ST_AGENTS_PRUNE] =
                "DELETE FROM agents WHERE id NOT IN (SELECT DISTINCT agent FROM agent_nodes)",
        [ST_AGENTS_LOAD] = "SELECT a.id, a.emulated, n.node, a.instance, a.output_root"
                           " FROM agent_nodes n"
                           " JOIN agents a ON a.id = n.agent ORDER BY a.id, n.node",
        [ST_LAST_ID] = "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'",
        [ST_JOBS_COUNT] = "SELECT count(*) FROM jobs",
        /* One ended state, through the partial index jobs_ended. */
        [ST_JOBS_COUNT_ENDED] = "SELECT count(*) FROM jobs WHERE NOT " LIVE_WHERE
                                " AND state = ?1 AND (?2 IS NULL OR tenant = ?2)",
        /* Live states only: the partial index jobs_live holds exactly those rows. */
        [ST_JOBS_COUNT_LIVE] = "SELECT count(*) FROM jobs WHERE " LIVE_WHERE
                               " AND instr(?1, ',' || state || ',') > 0"
                               " AND (?2 IS NULL OR tenant = ?2)",
        [ST_IDEM_GET] = "SELECT job, request_hash, created_us FROM idempotency"
                        " WHERE tenant = ?1 AND key = ?2 AND created_us >= ?3",
        /* REPLACE: an expired key not yet deleted is taken over by its new use. */
        [ST_IDEM_PUT] = "INSERT OR REPLACE INTO idempotency (tenant, key, job, request_hash,"
                        " created_us) VALUES (?1, ?2, ?3, ?4, ?5)",
        [ST_IDEM_EXPIRE] = "DELETE FROM idempotency WHERE (tenant, key) IN (SELECT tenant, key"
                           " FROM idempotency WHERE created_us < ?1 ORDER BY created_us LIMIT ?2)",
        [ST_PROBE] = "INSERT INTO meta (key, value) VALUES ('probe', 1)"
                     " ON CONFLICT (key) DO UPDATE SET value = value + 1",
        /* Plain INSERT: a seq taken already is an error, never an overwrite. */
        [ST_AUDIT_INSERT] = "INSERT INTO audit (seq, line) VALUES (?1, ?2)",
        [ST_AUDIT_LAST] = "SELECT seq, line FROM audit ORDER BY seq DESC LIMIT 1",
        [ST_AUDIT_WALK] = "SELECT seq, line FROM audit WHERE seq > ?1 ORDER BY seq",
        [ST_JOB_UPDATE] = "UPDATE jobs SET name = ?2, gpus = ?3, time_limit_us = ?4,"
                          " grace_us = ?5, requeue = ?6 WHERE id = ?1",
        /* A finished job back to PENDING (requeue): its last run's end is forgotten. */
        [ST_JOB_RESUBMIT] = "UPDATE jobs SET state = 'PENDING', start_us = NULL, end_us = NULL,"
                            " exit_code = NULL, exit_signal = NULL, exit_reason = NULL,"
                            " kill_requested = 0 WHERE id = ?1",
        /*
         * The listing when only live states are asked for (`nordlys queue`):
         * through the partial index jobs_live, so that a million finished
         * jobs are never read to find the queue's few (bench/RESULTS.md,
         * issue 12's history benchmark).
         */
        [ST_JOBS_LIST_LIVE] = "SELECT " JOB_COLS " FROM jobs INDEXED BY jobs_live"
                              " WHERE " LIVE_WHERE
                              " AND instr(?1, ',' || state || ',') > 0"
                              " AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR id < ?3)"
                              " ORDER BY id DESC LIMIT ?4",
        /*
         * A run's history row from its job's row: ?2 NULL and ?3 NULL take
         * the (terminal) state and end of the row; a requeue gives its own
         * state and the run's length ?3 (end = start + length).
         */
        [ST_RUN_RECORD] =
                "INSERT OR REPLACE INTO job_runs (job, run, name, tenant, user, gpus, state,"
                " submit_us, start_us, end_us, exit_code, exit_signal, nodes, reason)"
                " SELECT id, runs, name, tenant, run_as, gpus, coalesce(?2, state), submit_us,"
                " start_us, CASE WHEN ?3 IS NULL THEN end_us ELSE start_us + ?3 END,"
                " CASE WHEN ?2 IS NULL THEN exit_code END, CASE WHEN ?2 IS NULL THEN exit_signal END,"
                " (SELECT group_concat(node, ',') FROM (SELECT node FROM job_nodes WHERE job = ?1"
                " ORDER BY seq)), CASE WHEN ?2 IS NULL THEN exit_reason END"
                " FROM jobs WHERE id = ?1 AND (?3 IS NOT NULL OR end_us IS NOT NULL)",
        [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
        [ST_JOB_ADD_IT_ENERGY] = "UPDATE jobs SET it_energy_wh = it_energy_wh + ?2 WHERE id = ?1",
        [ST_USAGE_JOBS] = "SELECT id, tenant, name, gpus, run_us, energy_wh, it_energy_wh, end_us,"
                          " state FROM jobs WHERE state NOT IN " LIVE_STATES
                          " AND end_us >= ?1 AND end_us < ?2 AND (?3 IS NULL OR tenant = ?3)"
                          " ORDER BY end_us, id",
        [ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                        " ON CONFLICT (key) DO UPDATE SET value = ?2",
        [ST_GATE_PUT] = "INSERT OR REPLACE INTO gates (job, held, dependency) VALUES (?1, ?2, ?3)",
        [ST_GATE_DELETE] = "DELETE FROM gates WHERE job = ?1",
        [ST_GATES_LOAD] = "SELECT g.job, g.held, g.dependency FROM gates g JOIN jobs j"
                          " ON j.id = g.job WHERE j.state = 'PENDING' ORDER BY g.job",
        [ST_ARRAY_PUT] = "INSERT OR REPLACE INTO arrays (job, spec, next, cancelled)"
                         " VALUES (?1, ?2, ?3, ?4)",
        [ST_ARRAY_GET] = "SELECT job, spec, next, cancelled FROM arrays WHERE job = ?1",
        [ST_ARRAYS_LIVE] = "SELECT a.job, a.spec, a.next, a.cancelled FROM arrays a JOIN jobs j"
                           " ON j.id = a.job WHERE j.state = 'PENDING' ORDER BY a.job",
        [ST_JOB_SET_ARRAY] = "UPDATE jobs SET array_job = ?2, array_index = ?3 WHERE id = ?1",
        [ST_ARRAY_TASKS] = "SELECT id, array_index, state FROM jobs WHERE array_job = ?1"
                           " ORDER BY array_index",
        [ST_ARRAY_TASK_FIND] = "SELECT id FROM jobs WHERE array_job = ?1 AND array_index = ?2",
        [ST_JOB_STATE] = "SELECT state, tenant FROM jobs WHERE id = ?1",
        /* Live jobs only, through the partial index jobs_live. */
        [ST_SINGLETON] = "SELECT id FROM jobs WHERE " LIVE_WHERE " AND id < ?4"
                         " AND name = ?3 AND tenant = ?1 AND run_as = ?2 LIMIT 1",
};

struct nl_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[ST_COUNT];
    sqlite3_stmt *ext[STORE_EXT_STMTS]; /* prepared on first use by store_ops.c */
    bool in_txn;
    /*
     * SQLite rolled the open transaction back by itself after an error
     * (SQLITE_FULL, SQLITE_IOERR...: sqlite3_get_autocommit says so).
     * Every later write of the transaction fails, and so does its COMMIT,
     * instead of running in autocommit mode one statement at a time.
     */
    bool txn_lost;
    struct nl_err lost;
    uint64_t txn_writes;
    /*
     * The id the next insert takes, and its value when the transaction
     * began (a rollback gives back the ids it used, as SQLite does).
     */
    uint64_t next_id, txn_first_id;
};

/* ---- errors: SQLite result codes become negative errno values here only ---- */

static int errno_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CONSTRAINT:
        return -EINVAL;
    case SQLITE_NOTFOUND:
        return -ENOENT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_NOMEM:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

static int db_error(struct nl_store *st, int rc, const char *what, struct nl_err *err)
{
    return nl_err_set(err, errno_of(rc), "store: %s: %s", what, sqlite3_errmsg(st->db));
}

/* Reset a statement and its bindings; every path through a statement ends here. */
static void stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Step a statement that returns no rows (a write), then reset it. */
static int stmt_exec(struct nl_store *st, enum stmt_id id, const char *what, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[id];
    int rc = sqlite3_step(s);
    stmt_done(s);
    if (rc != SQLITE_DONE) {
        int code = db_error(st, rc, what, err);
        if (st->in_txn && id != ST_COMMIT && !st->txn_lost && sqlite3_get_autocommit(st->db)) {
            st->txn_lost = true;
            nl_err_set(&st->lost, code, "store: %s: %s (the transaction was rolled back)", what,
                       sqlite3_errmsg(st->db));
        }
        return code;
    }
    if (id != ST_BEGIN && id != ST_COMMIT && id != ST_ROLLBACK)
        st->txn_writes++;
    return 0;
}

static int need_txn(struct nl_store *st, const char *what, struct nl_err *err)
{
    if (!st->in_txn)
        return nl_err_set(err, -EPERM, "store: %s: no transaction open", what);
    if (st->txn_lost)
        return nl_err_set(err, st->lost.code, "%s", st->lost.msg);
    return 0;
}

/* An UPDATE by id that changed no row means the job does not exist. */
static int exec_by_id(struct nl_store *st, enum stmt_id id, uint64_t job, const char *what,
                      struct nl_err *err)
{
    int rc = stmt_exec(st, id, what, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return nl_err_set(err, -ENOENT, "store: %s: no job %llu", what, (unsigned long long)job);
    return rc;
}

/* ---- open, migrate, close ---- */

static int exec_sql(struct nl_store *st, const char *sql, const char *what, struct nl_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        nl_err_set(err, errno_of(rc), "store: %s: %s", what, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return errno_of(rc);
    }
    return 0;
}

/* One integer from a PRAGMA or query (its first column), or 0 with no row. */
static int query_int(struct nl_store *st, const char *sql, int *out, struct nl_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    *out = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        rc = SQLITE_OK;
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : db_error(st, rc, sql, err);
}

/*
 * Is the opened file a nordlys database? Ours carries our application_id;
 * one written before application_id was set has user_version 1 or 2 and a
 * jobs table. A file with no tables at all is empty. Anything else is
 * another program's database, and is refused (-EMEDIUMTYPE) rather than
 * written into.
 */
static int check_identity(struct nl_store *st, const char *path, struct nl_err *err)
{
    int app = 0, version = 0, tables = 0, jobs = 0;
    if (query_int(st, "PRAGMA application_id", &app, err) < 0 ||
        query_int(st, "PRAGMA user_version", &version, err) < 0 ||
        query_int(st, "SELECT count(*) FROM sqlite_schema", &tables, err) < 0 ||
        query_int(st, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'jobs'",
                  &jobs, err) < 0)
        return nl_err_set(err, -EMEDIUMTYPE, "store: %s: not a usable SQLite database (%s)", path,
                          sqlite3_errmsg(st->db));
    if (app == STORE_APPLICATION_ID || (app == 0 && version >= 1 && version <= 2 && jobs == 1))
        return 0;
    if (app == 0 && version == 0 && tables == 0)
        return nl_err_set(err, -EMEDIUMTYPE,
                          "store: %s: an empty SQLite database (no tables), not a nordlys database",
                          path);
    return nl_err_set(err, -EMEDIUMTYPE,
                      "store: %s: a SQLite database of another application (application_id "
                      "0x%08x, user_version %d%s), not a nordlys database",
                      path, (unsigned)app, version, jobs ? "" : ", no jobs table");
}

/* Whether column i of added_columns[] is missing: 0 or 1 in *missing. */
static int column_missing(struct nl_store *st, size_t i, int *missing, struct nl_err *err)
{
    char sql[256];
    int n = 0;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'",
             added_columns[i].table, added_columns[i].name);
    int rc = query_int(st, sql, &n, err);
    *missing = n == 0;
    return rc;
}

/* Add the columns of added_columns[] that the database lacks (in the migration's transaction). */
static int add_missing_columns(struct nl_store *st, struct nl_err *err)
{
    for (size_t i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]); i++) {
        char sql[256];
        int missing = 0;
        int rc = column_missing(st, i, &missing, err);
        if (rc < 0)
            return rc;
        if (!missing)
            continue;
        snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", added_columns[i].table,
                 added_columns[i].name, added_columns[i].decl);
        if ((rc = exec_sql(st, sql, "add column", err)) < 0)
            return rc;
    }
    return 0;
}

/*
 * Apply migrations from the database's version up to SCHEMA_VERSION, all
 * in one transaction, so that a crash mid-migration leaves the old schema.
 * A database that needs nothing is not written (it may sit on a full disk).
 */
static int migrate(struct nl_store *st, const char *path, struct nl_err *err)
{
    int version = 0, app = 0, missing = 0;
    int rc = query_int(st, "PRAGMA user_version", &version, err);
    if (rc == 0)
        rc = query_int(st, "PRAGMA application_id", &app, err);
    for (size_t i = 0; rc == 0 && version >= 1 && !missing &&
                       i < sizeof(added_columns) / sizeof(added_columns[0]);
         i++)
        rc = column_missing(st, i, &missing, err);
    if (rc < 0)
        return rc;
    if (version > SCHEMA_VERSION)
        return nl_err_set(err, -EPROTO,
                          "store: %s: schema version %d is newer than this nordlys (%d)", path,
                          version, SCHEMA_VERSION);
    if (version == SCHEMA_VERSION && app == STORE_APPLICATION_ID && missing == 0)
        return 0;
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE", "migrate", err)) < 0)
        return rc;
    for (int v = version; v < SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof(what), "migration to version %d", v + 1);
        if ((rc = exec_sql(st, migrations[v], what, err)) < 0)
            goto out;
    }
    if ((rc = add_missing_columns(st, err)) < 0 ||
        (rc = exec_sql(st, schema_v6_columns, "migration to version 6", err)) < 0)
        goto out;
    char sql[96];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
             SCHEMA_VERSION, STORE_APPLICATION_ID);
    if ((rc = exec_sql(st, sql, "user_version", err)) < 0)
        goto out;
    rc = exec_sql(st, "COMMIT", "migrate", err);
out:
    if (rc < 0)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int configure(struct nl_store *st, const struct nl_store_opts *opts, struct nl_err *err)
{
    /* journal_mode answers with a row; sqlite3_exec ignores it, so check the mode afterwards. */
    int rc = exec_sql(st, "PRAGMA journal_mode = WAL", "journal_mode", err);
    if (rc < 0)
        return rc;
    rc = exec_sql(st,
                  opts->sync_normal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
                  "synchronous", err);
    if (rc < 0)
        return rc;
    if ((rc = exec_sql(st, "PRAGMA foreign_keys = ON", "foreign_keys", err)) < 0)
        return rc;
    /*
     * No write before COMMIT: with spilling off, a transaction's pages stay
     * in memory until COMMIT writes them to the WAL, and temporary tables
     * stay in memory too. A full disk then fails the COMMIT (which rolls
     * back cleanly) and never a statement in the middle of an iteration.
     */
    if ((rc = exec_sql(st, "PRAGMA cache_spill = OFF; PRAGMA temp_store = MEMORY", "cache_spill",
                       err)) < 0)
        return rc;
    char sql[96];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d",
             STORE_CACHE_KIB, STORE_WAL_CHECKPOINT_PAGES);
    if ((rc = exec_sql(st, sql, "cache", err)) < 0)
        return rc;
    /* Another process (the sqlite3 shell, a backup) may hold the lock briefly. */
    sqlite3_busy_timeout(st->db, 2000);
    return 0;
}

static int prepare_all(struct nl_store *st, struct nl_err *err)
{
    for (int i = 0; i < ST_COUNT; i++) {
        int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return db_error(st, rc, stmt_sql[i], err);
    }
    return 0;
}

/*
 * What is at path before SQLite opens it: *exists false for no file (a new
 * store), -EMEDIUMTYPE for a file that cannot be a nordlys database: zero
 * bytes (SQLite would silently make a new, empty database of it), or not
 * starting with SQLite's header.
 */
static int check_file(const char *path, bool *exists, struct nl_err *err)
{
    struct stat sb;
    *exists = false;
    if (stat(path, &sb) < 0) {
        if (errno == ENOENT)
            return 0;
        return nl_err_set(err, -errno, "store: %s: %s", path, strerror(errno));
    }
    *exists = true;
    if (!S_ISREG(sb.st_mode))
        return nl_err_set(err, -EMEDIUMTYPE, "store: %s: not a regular file", path);
    if (sb.st_size == 0) {
        /* A database whose only commits are still in its WAL: SQLite reads them. */
        char wal[4096];
        snprintf(wal, sizeof(wal), "%s-wal", path);
        if (stat(wal, &sb) == 0 && sb.st_size > 0)
            return 0;
        return nl_err_set(err, -EMEDIUMTYPE,
                          "store: %s: the file is empty (0 bytes), not a nordlys database", path);
    }
    static const char magic[16] = "SQLite format 3";
    char head[16] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nl_err_set(err, -errno, "store: %s: %s", path, strerror(errno));
    ssize_t n = read(fd, head, sizeof(head));
    close(fd);
    if (n != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0)
        return nl_err_set(err, -EMEDIUMTYPE,
                          "store: %s: not a SQLite database (%lld bytes without SQLite's header)",
                          path, (long long)sb.st_size);
    return 0;
}

/* Move a refused file (and its -wal, -shm) aside as PATH.refused-SECONDS, for --init. */
static int move_aside(const char *path, struct nl_err *err)
{
    char to[4200];
    snprintf(to, sizeof(to), "%s.refused-%lld", path, (long long)time(NULL));
    if (rename(path, to) < 0)
        return nl_err_set(err, -errno, "store: %s: cannot move aside: %s", path, strerror(errno));
    const char *suffix[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char from[4200], dst[4300];
        snprintf(from, sizeof(from), "%s%s", path, suffix[i]);
        snprintf(dst, sizeof(dst), "%s%s", to, suffix[i]);
        if (rename(from, dst) < 0 && errno != ENOENT)
            return nl_err_set(err, -errno, "store: %s: cannot move aside: %s", from,
                              strerror(errno));
    }
    return 0;
}

static struct nl_store *open_file(const struct nl_store_opts *opts, bool exists, struct nl_err *err)
{
    struct nl_store *st = xcalloc(1, sizeof(*st));
    st->path = xstrdup(opts->path);
    int rc =
            sqlite3_open_v2(opts->path, &st->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        nl_err_set(err, errno_of(rc), "store: %s: %s", opts->path,
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    /* Identity first: nothing (not even the switch to WAL) is written into another's file. */
    if ((exists && check_identity(st, opts->path, err) < 0) || configure(st, opts, err) < 0 ||
        migrate(st, opts->path, err) < 0 || prepare_all(st, err) < 0)
        goto fail;
    /* AUTOINCREMENT's sequence never goes down, so ids are never reused after a restart. */
    st->next_id = nl_store_last_id(st) + 1;
    return st;
fail:
    nl_store_close(st);
    return NULL;
}

struct nl_store *nl_store_open(const struct nl_store_opts *opts, struct nl_err *err)
{
    if (opts == NULL || opts->path == NULL || opts->path[0] == '\0') {
        nl_err_set(err, -EINVAL, "store: path: empty");
        return NULL;
    }
    bool exists = false;
    struct nl_err why = {0};
    int rc = check_file(opts->path, &exists, &why);
    struct nl_store *st = NULL;
    if (rc == 0 && (st = open_file(opts, exists, &why)) != NULL)
        return st;
    if (why.code != -EMEDIUMTYPE || !opts->init) {
        nl_err_set(err, why.code, "%s", why.msg);
        return NULL;
    }
    if (move_aside(opts->path, err) < 0)
        return NULL;
    return open_file(opts, false, err);
}

/* ---- for the store's other files (store_int.h) ---- */

sqlite3 *store_db(struct nl_store *st)
{
    return st->db;
}

sqlite3_stmt **store_ext_stmts(struct nl_store *st)
{
    return st->ext;
}

int store_need_txn(struct nl_store *st, const char *what, struct nl_err *err)
{
    return need_txn(st, what, err);
}

int store_db_error(struct nl_store *st, int rc, const char *what, struct nl_err *err)
{
    return db_error(st, rc, what, err);
}

int store_exec(struct nl_store *st, sqlite3_stmt *s, const char *what, struct nl_err *err)
{
    int rc = sqlite3_step(s);
    stmt_done(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int code = db_error(st, rc, what, err);
        if (st->in_txn && !st->txn_lost && sqlite3_get_autocommit(st->db)) {
            st->txn_lost = true;
            nl_err_set(&st->lost, code, "store: %s: %s (the transaction was rolled back)", what,
                       sqlite3_errmsg(st->db));
        }
        return code;
    }
    st->txn_writes++;
    return 0;
}

void store_wrote(struct nl_store *st)
{
    st->txn_writes++;
}

void nl_store_close(struct nl_store *st)
{
    if (st == NULL)
        return;
    if (st->in_txn)
        nl_store_rollback(st);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    for (int i = 0; i < STORE_EXT_STMTS; i++)
        sqlite3_finalize(st->ext[i]);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

int nl_store_schema_version(void)
{
    return SCHEMA_VERSION;
}

/* ---- transactions ---- */

int nl_store_begin(struct nl_store *st, struct nl_err *err)
{
    if (st->in_txn)
        return nl_err_set(err, -EBUSY, "store: begin: a transaction is already open");
    int rc = stmt_exec(st, ST_BEGIN, "begin", err);
    if (rc == 0) {
        st->in_txn = true;
        st->txn_writes = 0;
        st->txn_first_id = st->next_id;
    }
    return rc;
}

int nl_store_commit(struct nl_store *st, struct nl_err *err)
{
    if (!st->in_txn)
        return nl_err_set(err, -EPERM, "store: commit: no transaction open");
    if (st->txn_lost) {
        int code = nl_err_set(err, st->lost.code, "%s", st->lost.msg);
        nl_store_rollback(st);
        return code;
    }
    int rc = stmt_exec(st, ST_COMMIT, "commit", err);
    if (rc < 0) {
        nl_store_rollback(st);
        return rc;
    }
    st->in_txn = false;
    st->txn_writes = 0;
    return 0;
}

void nl_store_rollback(struct nl_store *st)
{
    if (!st->in_txn)
        return;
    /* A failed COMMIT may already have rolled back; ROLLBACK then fails harmlessly. */
    sqlite3_stmt *s = st->stmt[ST_ROLLBACK];
    sqlite3_step(s);
    stmt_done(s);
    st->in_txn = false;
    st->txn_lost = false;
    st->txn_writes = 0;
    st->next_id = st->txn_first_id;
}

bool nl_store_in_txn(const struct nl_store *st)
{
    return st->in_txn;
}

uint64_t nl_store_txn_writes(const struct nl_store *st)
{
    return st->txn_writes;
}

/* ---- job records ---- */

void nl_store_job_init(struct nl_store_job *job)
{
    memset(job, 0, sizeof(*job));
    nl_job_spec_init(&job->spec);
    job->tasks_per_node = 1;
}

void nl_store_job_release(struct nl_store_job *job)
{
    if (job == NULL)
        return;
    free(job->command_json);
    free(job->env_json);
    free(job->cwd);
    free(job->stdout_path);
    free(job->stderr_path);
    free(job->alloc);
    free(job->exit_reason);
    free(job->input_path);
    nl_store_job_init(job);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *text)
{
    if (text != NULL)
        sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

int nl_store_job_insert(struct nl_store *st, const struct nl_store_job *job, uint64_t *id,
                        struct nl_err *err)
{
    int rc = need_txn(st, "insert", err);
    if (rc < 0)
        return rc;
    if (job->command_json == NULL)
        return nl_err_set(err, -EINVAL, "store: insert: command: missing");
    const struct nl_job_spec *sp = &job->spec;
    sqlite3_stmt *s = st->stmt[ST_JOB_INSERT];
    sqlite3_bind_text(s, 1, job->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, job->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, sp->gpus);
    sqlite3_bind_int64(s, 4, sp->time_limit_us);
    sqlite3_bind_text(s, 5, sp->residency.code, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, sp->sensitive);
    sqlite3_bind_int(s, 7, sp->preemptible);
    sqlite3_bind_int(s, 8, sp->requeue);
    sqlite3_bind_int64(s, 9, sp->grace_us);
    sqlite3_bind_text(s, 10, job->command_json, -1, SQLITE_STATIC);
    bind_text_or_null(s, 11, job->env_json);
    bind_text_or_null(s, 12, job->cwd);
    sqlite3_bind_int64(s, 13, job->submit_us);
    sqlite3_bind_int64(s, 14, (int64_t)st->next_id);
    bind_text_or_null(s, 15, job->stdout_path);
    bind_text_or_null(s, 16, job->stderr_path);
    sqlite3_bind_int64(s, 17, (int64_t)job->memory_max_bytes);
    sqlite3_bind_int64(s, 18, (int64_t)job->pids_max);
    sqlite3_bind_text(s, 19, job->run_as, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 20, job->warn_signal);
    sqlite3_bind_int64(s, 21, job->warn_before_s);
    sqlite3_bind_double(s, 22, sp->power_w);
    sqlite3_bind_int64(s, 23, sp->nodes);
    sqlite3_bind_int64(s, 24, sp->gpus_per_node);
    sqlite3_bind_int64(s, 25, job->tasks_per_node > 0 ? job->tasks_per_node : 1);
    bind_text_or_null(s, 26, job->input_path);
    if ((rc = stmt_exec(st, ST_JOB_INSERT, "insert", err)) < 0)
        return rc;
    *id = st->next_id++;
    return 0;
}

uint64_t nl_store_next_id(const struct nl_store *st)
{
    return st->next_id;
}

int nl_store_job_set_output(struct nl_store *st, uint64_t id, const char *stdout_path,
                            const char *stderr_path, struct nl_err *err)
{
    int rc = need_txn(st, "set output", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_JOB_SET_OUTPUT];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    bind_text_or_null(s, 2, stdout_path);
    bind_text_or_null(s, 3, stderr_path);
    return exec_by_id(st, ST_JOB_SET_OUTPUT, id, "set output", err);
}

/* Write alloc as job id's allocation; fresh: the job never had one, so nothing to delete. */
static int alloc_replace(struct nl_store *st, uint64_t id, const struct nl_alloc_node *alloc,
                         size_t n, bool fresh, struct nl_err *err)
{
    int rc = 0;
    if (!fresh) {
        sqlite3_bind_int64(st->stmt[ST_ALLOC_DELETE], 1, (int64_t)id);
        rc = stmt_exec(st, ST_ALLOC_DELETE, "start", err);
    }
    sqlite3_stmt *s = st->stmt[ST_ALLOC_INSERT];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(s, 1, (int64_t)id);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        sqlite3_bind_int64(s, 3, alloc[i].node);
        sqlite3_bind_int(s, 4, alloc[i].mask);
        rc = stmt_exec(st, ST_ALLOC_INSERT, "start", err);
    }
    return rc;
}

int nl_store_job_start(struct nl_store *st, uint64_t id, int64_t start_us,
                       const struct nl_alloc_node *alloc, size_t n, uint32_t *run,
                       struct nl_err *err)
{
    int rc = need_txn(st, "start", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st->stmt[ST_JOB_START], 1, (int64_t)id);
    sqlite3_bind_int64(st->stmt[ST_JOB_START], 2, start_us);
    if ((rc = exec_by_id(st, ST_JOB_START, id, "start", err)) < 0)
        return rc;
    /* The new run number, read back in the same transaction (a rowid lookup, page cached). */
    sqlite3_stmt *s = st->stmt[ST_JOB_RUNS];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    int step = sqlite3_step(s);
    uint32_t runs = step == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
    stmt_done(s);
    if (step == SQLITE_DONE)
        return nl_err_set(err, -ENOENT, "store: start: no job %llu", (unsigned long long)id);
    if (step != SQLITE_ROW)
        return db_error(st, step, "start", err);
    if (run != NULL)
        *run = runs;
    /* A first start has no old rows: skipping the DELETE saves a statement per start. */
    return alloc_replace(st, id, alloc, n, runs == 1, err);
}

/*
 * The history row of job id's run that just ended (its row says how), or,
 * with state non-NULL, of a run that was requeued after run_us.
 */
static int record_run(struct nl_store *st, uint64_t id, const char *state, int64_t run_us,
                      struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_RUN_RECORD];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    if (state != NULL) {
        sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, run_us);
    }
    return stmt_exec(st, ST_RUN_RECORD, "run record", err);
}

int nl_store_job_set_state(struct nl_store *st, uint64_t id, enum nl_job_state state,
                           int64_t end_us, struct nl_err *err)
{
    int rc = need_txn(st, "set state", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_JOB_SET_STATE];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    sqlite3_bind_text(s, 2, nl_job_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, end_us);
    if ((rc = exec_by_id(st, ST_JOB_SET_STATE, id, "set state", err)) < 0 ||
        !nl_job_state_terminal(state))
        return rc;
    return record_run(st, id, NULL, 0, err);
}

int nl_store_job_requeue(struct nl_store *st, uint64_t id, bool preempted, int64_t run_us,
                         double energy_wh, struct nl_err *err)
{
    int rc = need_txn(st, "requeue", err);
    if (rc < 0)
        return rc;
    /* Recorded first: the requeue clears the start time and the allocation it reads. */
    if ((rc = record_run(st, id, preempted ? "PREEMPTED" : "REQUEUED", run_us, err)) < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_JOB_REQUEUE];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    sqlite3_bind_int(s, 2, preempted ? 1 : 0);
    sqlite3_bind_int64(s, 3, run_us);
    sqlite3_bind_double(s, 4, energy_wh);
    if ((rc = exec_by_id(st, ST_JOB_REQUEUE, id, "requeue", err)) < 0)
        return rc;
    return alloc_replace(st, id, NULL, 0, false, err);
}

int nl_store_job_update(struct nl_store *st, const struct nl_store_job *job, struct nl_err *err)
{
    int rc = need_txn(st, "update", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_JOB_UPDATE];
    sqlite3_bind_int64(s, 1, (int64_t)job->id);
    sqlite3_bind_text(s, 2, job->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, job->spec.gpus);
    sqlite3_bind_int64(s, 4, job->spec.time_limit_us);
    sqlite3_bind_int64(s, 5, job->spec.grace_us);
    sqlite3_bind_int(s, 6, job->spec.requeue);
    return exec_by_id(st, ST_JOB_UPDATE, job->id, "update", err);
}

int nl_store_job_resubmit(struct nl_store *st, uint64_t id, struct nl_err *err)
{
    int rc = need_txn(st, "resubmit", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st->stmt[ST_JOB_RESUBMIT], 1, (int64_t)id);
    if ((rc = exec_by_id(st, ST_JOB_RESUBMIT, id, "resubmit", err)) < 0)
        return rc;
    return alloc_replace(st, id, NULL, 0, false, err);
}

int nl_store_job_kill_requested(struct nl_store *st, uint64_t id, struct nl_err *err)
{
    int rc = need_txn(st, "kill", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st->stmt[ST_JOB_KILL_REQUESTED], 1, (int64_t)id);
    return exec_by_id(st, ST_JOB_KILL_REQUESTED, id, "kill", err);
}

int nl_store_job_end(struct nl_store *st, uint64_t id, const struct nl_store_end *e,
                     struct nl_err *err)
{
    int rc = need_txn(st, "end", err);
    if (rc < 0)
        return rc;
    if (!nl_job_state_terminal(e->state))
        return nl_err_set(err, -EINVAL, "store: end: state: %s is not terminal",
                          nl_job_state_name(e->state));
    sqlite3_stmt *s = st->stmt[ST_JOB_END];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    sqlite3_bind_text(s, 2, nl_job_state_name(e->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, e->end_us);
    if (e->has_exit) {
        sqlite3_bind_int(s, 4, e->exit_code);
        sqlite3_bind_int(s, 5, e->exit_signal);
    } else {
        sqlite3_bind_null(s, 4);
        sqlite3_bind_null(s, 5);
    }
    sqlite3_bind_int64(s, 6, e->run_us);
    sqlite3_bind_double(s, 7, e->energy_wh);
    sqlite3_bind_double(s, 8, e->cpu_s);
    sqlite3_bind_int64(s, 9, e->max_rss_kb);
    bind_text_or_null(s, 10, e->reason);
    if ((rc = exec_by_id(st, ST_JOB_END, id, "end", err)) < 0)
        return rc;
    return record_run(st, id, NULL, 0, err);
}

/* ---- reading job records ---- */

static char *column_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static void column_copy(sqlite3_stmt *s, int i, char *buf, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static int64_t column_i64_or0(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, i);
}

static void row_to_job(sqlite3_stmt *s, struct nl_store_job *job)
{
    job->id = (uint64_t)sqlite3_column_int64(s, 0);
    column_copy(s, 1, job->name, sizeof(job->name));
    column_copy(s, 2, job->tenant, sizeof(job->tenant));
    job->spec.gpus = (uint32_t)sqlite3_column_int64(s, 3);
    job->spec.time_limit_us = sqlite3_column_int64(s, 4);
    column_copy(s, 5, job->spec.residency.code, sizeof(job->spec.residency.code));
    job->spec.sensitive = sqlite3_column_int(s, 6) != 0;
    job->spec.preemptible = sqlite3_column_int(s, 7) != 0;
    job->spec.requeue = sqlite3_column_int(s, 8) != 0;
    job->spec.grace_us = sqlite3_column_int64(s, 9);
    job->command_json = column_dup(s, 10);
    job->env_json = column_dup(s, 11);
    job->cwd = column_dup(s, 12);
    const unsigned char *state = sqlite3_column_text(s, 13);
    if (state == NULL || nl_job_state_parse((const char *)state, &job->state) < 0)
        job->state = NL_JOB_NONE;
    job->submit_us = sqlite3_column_int64(s, 14);
    job->start_us = column_i64_or0(s, 15);
    job->end_us = column_i64_or0(s, 16);
    job->has_exit = sqlite3_column_type(s, 17) != SQLITE_NULL;
    job->exit_code = sqlite3_column_int(s, 17);
    job->exit_signal = sqlite3_column_int(s, 18);
    job->preemptions = (uint32_t)sqlite3_column_int64(s, 19);
    job->run_us = sqlite3_column_int64(s, 20);
    job->energy_wh = sqlite3_column_double(s, 21);
    job->cpu_s = sqlite3_column_double(s, 22);
    job->max_rss_kb = sqlite3_column_int64(s, 23);
    job->stdout_path = column_dup(s, 24);
    job->stderr_path = column_dup(s, 25);
    job->kill_requested = sqlite3_column_int(s, 26) != 0;
    job->runs = (uint32_t)sqlite3_column_int64(s, 27);
    job->exit_reason = column_dup(s, 28);
    job->memory_max_bytes = (uint64_t)sqlite3_column_int64(s, 29);
    job->pids_max = (uint32_t)sqlite3_column_int64(s, 30);
    const unsigned char *run_as = sqlite3_column_text(s, 31);
    snprintf(job->run_as, sizeof(job->run_as), "%s", run_as ? (const char *)run_as : "");
    job->warn_signal = sqlite3_column_int(s, 32);
    job->warn_before_s = sqlite3_column_int64(s, 33);
    job->spec.power_w = sqlite3_column_double(s, 34);
    job->array_job = (uint64_t)column_i64_or0(s, 35);
    job->array_index = (uint32_t)column_i64_or0(s, 36);
    job->spec.nodes = (uint32_t)sqlite3_column_int64(s, 37);
    job->spec.gpus_per_node = (uint32_t)sqlite3_column_int64(s, 38);
    job->tasks_per_node = (uint32_t)sqlite3_column_int64(s, 39);
    job->input_path = column_dup(s, 40);
}

static int load_alloc(struct nl_store *st, struct nl_store_job *job, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_ALLOC_GET];
    sqlite3_bind_int64(s, 1, (int64_t)job->id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (job->nalloc == cap) {
            cap = xgrow(cap, job->nalloc + 1);
            job->alloc = xreallocarray(job->alloc, cap, sizeof(*job->alloc));
        }
        job->alloc[job->nalloc].node = (uint32_t)sqlite3_column_int64(s, 0);
        job->alloc[job->nalloc].mask = (uint8_t)sqlite3_column_int(s, 1);
        job->nalloc++;
    }
    stmt_done(s);
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "load allocation", err);
}

int nl_store_job_get(struct nl_store *st, uint64_t id, struct nl_store_job *job, struct nl_err *err)
{
    nl_store_job_release(job);
    sqlite3_stmt *s = st->stmt[ST_JOB_GET];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        row_to_job(s, job);
    stmt_done(s);
    if (rc == SQLITE_DONE)
        return nl_err_set(err, -ENOENT, "job %llu: not found", (unsigned long long)id);
    if (rc != SQLITE_ROW)
        return db_error(st, rc, "get job", err);
    return load_alloc(st, job, err);
}

/* Step through a statement's rows, calling fn with each record. */
static int walk_jobs(struct nl_store *st, enum stmt_id id, nl_store_job_fn fn, void *arg,
                     struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[id];
    struct nl_store_job job;
    nl_store_job_init(&job);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        row_to_job(s, &job);
        if ((ret = load_alloc(st, &job, err)) == 0)
            ret = fn(&job, arg);
        nl_store_job_release(&job);
        if (ret != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "list jobs", err);
}

int nl_store_jobs_live(struct nl_store *st, nl_store_job_fn fn, void *arg, struct nl_err *err)
{
    return walk_jobs(st, ST_JOBS_LIVE, fn, arg, err);
}

/*
 * Bind a filter's states (?1, as ",PENDING,RUNNING," so that one instr()
 * tests membership of a comma list; buf holds the text) and tenant (?2).
 */
static void bind_filter(sqlite3_stmt *s, const struct nl_store_filter *f, char *buf, size_t size)
{
    if (f->states != 0) {
        size_t n = 0;
        buf[n++] = ',';
        buf[n] = '\0';
        for (int i = 1; i < NL_JOB_STATE_COUNT && n < size; i++)
            if (f->states & (1u << i))
                n += (size_t)snprintf(buf + n, size - n, "%s,",
                                      nl_job_state_name((enum nl_job_state)i));
        sqlite3_bind_text(s, 1, buf, -1, SQLITE_STATIC);
    }
    bind_text_or_null(s, 2, f->tenant);
}

int nl_store_jobs_list(struct nl_store *st, const struct nl_store_filter *f, nl_store_job_fn fn,
                       void *arg, struct nl_err *err)
{
    const unsigned live = (1u << NL_JOB_PENDING) | (1u << NL_JOB_RUNNING) | (1u << NL_JOB_PREEMPTING);
    enum stmt_id id = f->states != 0 && (f->states & ~live) == 0 ? ST_JOBS_LIST_LIVE : ST_JOBS_LIST;
    sqlite3_stmt *s = st->stmt[id];
    char states[160];
    bind_filter(s, f, states, sizeof(states));
    if (f->before_id != 0)
        sqlite3_bind_int64(s, 3, (int64_t)f->before_id);
    sqlite3_bind_int64(s, 4, f->limit ? (int64_t)f->limit : -1);
    return walk_jobs(st, id, fn, arg, err);
}

/* Step a count(*) statement (bound by the caller) and reset it. */
static int count_rows(struct nl_store *st, enum stmt_id id, uint64_t *n, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[id];
    int rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    stmt_done(s);
    return rc == SQLITE_ROW ? 0 : db_error(st, rc, "count jobs", err);
}

/*
 * Live states through the partial index jobs_live (the queue: small),
 * each ended state through jobs_ended; never a scan of every job's row.
 */
int nl_store_jobs_count(struct nl_store *st, const struct nl_store_filter *f, uint64_t *n,
                        struct nl_err *err)
{
    *n = 0;
    if (f->states == 0 && f->tenant == NULL)
        return count_rows(st, ST_JOBS_COUNT, n, err);
    unsigned live = (1u << NL_JOB_PENDING) | (1u << NL_JOB_RUNNING) | (1u << NL_JOB_PREEMPTING);
    unsigned want = f->states ? f->states : ~0u;
    uint64_t part = 0;
    int rc = 0;
    if (want & live) {
        struct nl_store_filter lf = *f;
        lf.states = want & live;
        char states[160];
        bind_filter(st->stmt[ST_JOBS_COUNT_LIVE], &lf, states, sizeof(states));
        if ((rc = count_rows(st, ST_JOBS_COUNT_LIVE, &part, err)) < 0)
            return rc;
        *n += part;
    }
    for (int i = 1; i < NL_JOB_STATE_COUNT; i++) {
        if (!(want & (1u << i)) || (live & (1u << i)))
            continue;
        sqlite3_stmt *s = st->stmt[ST_JOBS_COUNT_ENDED];
        sqlite3_bind_text(s, 1, nl_job_state_name((enum nl_job_state)i), -1, SQLITE_STATIC);
        bind_text_or_null(s, 2, f->tenant);
        if ((rc = count_rows(st, ST_JOBS_COUNT_ENDED, &part, err)) < 0)
            return rc;
        *n += part;
    }
    return 0;
}

int nl_store_usage(struct nl_store *st, nl_store_usage_fn fn, void *arg, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_USAGE];
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_usage u = {
                .tenant = (const char *)sqlite3_column_text(s, 0),
                .gpu_hours = sqlite3_column_double(s, 1),
                .energy_wh = sqlite3_column_double(s, 2),
                .jobs_completed = (uint64_t)sqlite3_column_int64(s, 3),
                .jobs_failed = (uint64_t)sqlite3_column_int64(s, 4),
        };
        if ((ret = fn(&u, arg)) != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "usage", err);
}

/* ---- agents ---- */

int nl_store_agent_set(struct nl_store *st, const struct nl_store_agent *agent,
                       const uint32_t *nodes, size_t n, struct nl_err *err)
{
    int rc = need_txn(st, "agent", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_AGENT_UPSERT];
    sqlite3_bind_text(s, 1, agent->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, agent->emulated ? 1 : 0);
    sqlite3_bind_text(s, 3, agent->instance ? agent->instance : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, agent->output_root ? agent->output_root : "", -1, SQLITE_STATIC);
    if ((rc = stmt_exec(st, ST_AGENT_UPSERT, "agent", err)) < 0)
        return rc;
    sqlite3_bind_text(st->stmt[ST_AGENT_NODES_DELETE], 1, agent->id, -1, SQLITE_STATIC);
    if ((rc = stmt_exec(st, ST_AGENT_NODES_DELETE, "agent", err)) < 0)
        return rc;
    s = st->stmt[ST_AGENT_NODE_SET];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(s, 1, nodes[i]);
        sqlite3_bind_text(s, 2, agent->id, -1, SQLITE_STATIC);
        rc = stmt_exec(st, ST_AGENT_NODE_SET, "agent node", err);
    }
    if (rc < 0)
        return rc;
    return stmt_exec(st, ST_AGENTS_PRUNE, "agent prune", err);
}

/* A TEXT column, "" for NULL. */
static const char *column_text(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? t : "";
}

int nl_store_agents_load(struct nl_store *st, nl_store_agent_fn fn, void *arg, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_AGENTS_LOAD];
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_agent a = {.id = column_text(s, 0),
                                   .emulated = sqlite3_column_int(s, 1) != 0,
                                   .instance = column_text(s, 3),
                                   .output_root = column_text(s, 4)};
        ret = fn(&a, (uint32_t)sqlite3_column_int64(s, 2), arg);
        if (ret != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "load agents", err);
}

uint64_t nl_store_last_id(struct nl_store *st)
{
    sqlite3_stmt *s = st->stmt[ST_LAST_ID];
    uint64_t id = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        id = (uint64_t)sqlite3_column_int64(s, 0);
    stmt_done(s);
    return id;
}

void nl_store_ids_reserve(struct nl_store *st, uint64_t last_used)
{
    if (last_used >= st->next_id) {
        st->next_id = last_used + 1;
        if (!st->in_txn)
            st->txn_first_id = st->next_id;
        else if (st->txn_first_id <= last_used)
            st->txn_first_id = last_used + 1;
    }
}

/* ---- idempotency keys ---- */

int nl_store_idem_get(struct nl_store *st, const char *tenant, const char *key,
                      int64_t not_before_us, struct nl_store_idem *out, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_IDEM_GET];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, not_before_us);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->job = (uint64_t)sqlite3_column_int64(s, 0);
        column_copy(s, 1, out->request_hash, sizeof(out->request_hash));
        out->created_us = sqlite3_column_int64(s, 2);
    }
    stmt_done(s);
    if (rc == SQLITE_DONE)
        return nl_err_set(err, -ENOENT, "idempotency key: not found");
    return rc == SQLITE_ROW ? 0 : db_error(st, rc, "idempotency key", err);
}

int nl_store_idem_put(struct nl_store *st, const char *tenant, const char *key,
                      const struct nl_store_idem *idem, struct nl_err *err)
{
    int rc = need_txn(st, "idempotency key", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_IDEM_PUT];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)idem->job);
    sqlite3_bind_text(s, 4, idem->request_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, idem->created_us);
    return stmt_exec(st, ST_IDEM_PUT, "idempotency key", err);
}

int nl_store_idem_expire(struct nl_store *st, int64_t before_us, size_t max, size_t *deleted,
                         struct nl_err *err)
{
    *deleted = 0;
    int rc = need_txn(st, "expire idempotency keys", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st->stmt[ST_IDEM_EXPIRE], 1, before_us);
    sqlite3_bind_int64(st->stmt[ST_IDEM_EXPIRE], 2, (int64_t)max);
    if ((rc = stmt_exec(st, ST_IDEM_EXPIRE, "expire idempotency keys", err)) < 0)
        return rc;
    *deleted = (size_t)sqlite3_changes(st->db);
    if (*deleted == 0)
        st->txn_writes--; /* nothing changed: this iteration need not commit for it */
    return 0;
}

/* ---- availability ---- */

int nl_store_probe(struct nl_store *st, struct nl_err *err)
{
    if (st->in_txn)
        return nl_err_set(err, -EBUSY, "store: probe: a transaction is open");
    char *copy = xstrdup(st->path);
    struct statvfs vfs;
    int rc = statvfs(dirname(copy), &vfs);
    free(copy);
    if (rc == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < STORE_PROBE_FREE_BYTES)
        return nl_err_set(err, -ENOSPC,
                          "store: %s: %llu bytes free, waiting for %u: database or disk is full",
                          st->path, (unsigned long long)vfs.f_bavail * vfs.f_frsize,
                          STORE_PROBE_FREE_BYTES);
    if ((rc = nl_store_begin(st, err)) < 0)
        return rc;
    if ((rc = stmt_exec(st, ST_PROBE, "probe", err)) < 0) {
        nl_store_rollback(st);
        return rc;
    }
    return nl_store_commit(st, err);
}

/* ---- the audit log ---- */

int nl_store_audit_append(struct nl_store *st, uint64_t seq, const char *line, size_t len,
                          struct nl_err *err)
{
    int rc = need_txn(st, "audit record", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_AUDIT_INSERT];
    sqlite3_bind_int64(s, 1, (int64_t)seq);
    sqlite3_bind_text(s, 2, line, (int)len, SQLITE_STATIC);
    return stmt_exec(st, ST_AUDIT_INSERT, "audit record", err);
}

int nl_store_audit_last(struct nl_store *st, uint64_t *seq, char **line, struct nl_err *err)
{
    *seq = 0;
    *line = NULL;
    sqlite3_stmt *s = st->stmt[ST_AUDIT_LAST];
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(s, 0);
        *line = xstrdup(column_text(s, 1));
    }
    stmt_done(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, rc, "audit head", err);
}

int nl_store_audit_walk(struct nl_store *st, uint64_t after, nl_store_audit_fn fn, void *arg,
                        struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_AUDIT_WALK];
    sqlite3_bind_int64(s, 1, (int64_t)after);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *line = column_text(s, 1);
        ret = fn((uint64_t)sqlite3_column_int64(s, 0), line, strlen(line), arg);
        if (ret != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "audit records", err);
}

/* ---- settings (the meta table) ---- */

int nl_store_meta_get(struct nl_store *st, const char *key, int64_t *value, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_META_GET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(s, 0);
    stmt_done(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "meta", err);
}

int nl_store_meta_set(struct nl_store *st, const char *key, int64_t value, struct nl_err *err)
{
    int rc = need_txn(st, "meta", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_META_SET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    return stmt_exec(st, ST_META_SET, "meta", err);
}

/* ---- energy accounting (docs/power.md) ---- */

int nl_store_job_add_it_energy(struct nl_store *st, uint64_t job, double wh, struct nl_err *err)
{
    int rc = need_txn(st, "it energy", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_JOB_ADD_IT_ENERGY];
    sqlite3_bind_int64(s, 1, (int64_t)job);
    sqlite3_bind_double(s, 2, wh);
    return exec_by_id(st, ST_JOB_ADD_IT_ENERGY, job, "it energy", err);
}

int nl_store_usage_jobs(struct nl_store *st, int64_t since_us, int64_t until_us, const char *tenant,
                        nl_store_usage_job_fn fn, void *arg, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_USAGE_JOBS];
    sqlite3_bind_int64(s, 1, since_us);
    sqlite3_bind_int64(s, 2, until_us);
    if (tenant != NULL)
        sqlite3_bind_text(s, 3, tenant, -1, SQLITE_STATIC);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_usage_job u = {
                .id = (uint64_t)sqlite3_column_int64(s, 0),
                .tenant = (const char *)sqlite3_column_text(s, 1),
                .name = (const char *)sqlite3_column_text(s, 2),
                .gpus = (uint32_t)sqlite3_column_int64(s, 3),
                .run_us = sqlite3_column_int64(s, 4),
                .energy_wh = sqlite3_column_double(s, 5),
                .it_energy_wh = sqlite3_column_double(s, 6),
                .end_us = sqlite3_column_int64(s, 7),
                .state = (const char *)sqlite3_column_text(s, 8),
        };
        if ((ret = fn(&u, arg)) != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "usage", err);
}

/* ---- the gate: held jobs, dependencies, job arrays ---- */

int nl_store_gate_put(struct nl_store *st, const struct nl_store_gate *g, struct nl_err *err)
{
    int rc = need_txn(st, "gate", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_GATE_PUT];
    sqlite3_bind_int64(s, 1, (int64_t)g->job);
    sqlite3_bind_int(s, 2, g->held);
    sqlite3_bind_text(s, 3, g->dependency ? g->dependency : "", -1, SQLITE_STATIC);
    return stmt_exec(st, ST_GATE_PUT, "gate", err);
}

int nl_store_gate_delete(struct nl_store *st, uint64_t job, struct nl_err *err)
{
    int rc = need_txn(st, "gate", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st->stmt[ST_GATE_DELETE], 1, (int64_t)job);
    return stmt_exec(st, ST_GATE_DELETE, "gate", err);
}

int nl_store_gates_load(struct nl_store *st, nl_store_gate_fn fn, void *arg, struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_GATES_LOAD];
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_gate g = {.job = (uint64_t)sqlite3_column_int64(s, 0),
                                  .held = sqlite3_column_int(s, 1) != 0,
                                  .dependency = column_text(s, 2)};
        if ((ret = fn(&g, arg)) != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "load gates", err);
}

int nl_store_array_put(struct nl_store *st, const struct nl_store_array *a, struct nl_err *err)
{
    int rc = need_txn(st, "array", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_ARRAY_PUT];
    sqlite3_bind_int64(s, 1, (int64_t)a->job);
    sqlite3_bind_text(s, 2, a->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)a->next);
    sqlite3_bind_int(s, 4, a->cancelled);
    return stmt_exec(st, ST_ARRAY_PUT, "array", err);
}

/* Step an arrays statement (job, spec, next, cancelled), calling fn per row; *rows counted. */
static int walk_arrays(struct nl_store *st, sqlite3_stmt *s, nl_store_array_fn fn, void *arg,
                       size_t *rows, struct nl_err *err)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct nl_store_array a = {.job = (uint64_t)sqlite3_column_int64(s, 0),
                                   .spec = column_text(s, 1),
                                   .next = (uint64_t)sqlite3_column_int64(s, 2),
                                   .cancelled = sqlite3_column_int(s, 3) != 0};
        (*rows)++;
        if ((ret = fn(&a, arg)) != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "load arrays", err);
}

int nl_store_array_get(struct nl_store *st, uint64_t job, nl_store_array_fn fn, void *arg,
                       struct nl_err *err)
{
    size_t rows = 0;
    sqlite3_bind_int64(st->stmt[ST_ARRAY_GET], 1, (int64_t)job);
    int rc = walk_arrays(st, st->stmt[ST_ARRAY_GET], fn, arg, &rows, err);
    if (rc == 0 && rows == 0)
        return nl_err_set(err, -ENOENT, "job %llu: not an array job", (unsigned long long)job);
    return rc;
}

int nl_store_arrays_live(struct nl_store *st, nl_store_array_fn fn, void *arg, struct nl_err *err)
{
    size_t rows = 0;
    return walk_arrays(st, st->stmt[ST_ARRAYS_LIVE], fn, arg, &rows, err);
}

int nl_store_job_set_array(struct nl_store *st, uint64_t id, uint64_t array, uint32_t index,
                           struct nl_err *err)
{
    int rc = need_txn(st, "array task", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[ST_JOB_SET_ARRAY];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    sqlite3_bind_int64(s, 2, (int64_t)array);
    sqlite3_bind_int64(s, 3, index);
    return exec_by_id(st, ST_JOB_SET_ARRAY, id, "array task", err);
}

int nl_store_array_tasks(struct nl_store *st, uint64_t array, nl_store_task_fn fn, void *arg,
                         struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_ARRAY_TASKS];
    sqlite3_bind_int64(s, 1, (int64_t)array);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        enum nl_job_state state = NL_JOB_NONE;
        const unsigned char *t = sqlite3_column_text(s, 2);
        if (t == NULL || nl_job_state_parse((const char *)t, &state) < 0)
            state = NL_JOB_NONE;
        if ((ret = fn((uint64_t)sqlite3_column_int64(s, 0), (uint32_t)sqlite3_column_int64(s, 1),
                      state, arg)) != 0)
            break;
    }
    stmt_done(s);
    if (ret != 0)
        return ret;
    return rc == SQLITE_DONE ? 0 : db_error(st, rc, "array tasks", err);
}

int nl_store_array_task_find(struct nl_store *st, uint64_t array, uint32_t index, uint64_t *id,
                             struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_ARRAY_TASK_FIND];
    sqlite3_bind_int64(s, 1, (int64_t)array);
    sqlite3_bind_int64(s, 2, index);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = (uint64_t)sqlite3_column_int64(s, 0);
    stmt_done(s);
    if (rc == SQLITE_DONE)
        return nl_err_set(err, -ENOENT, "job %llu: task %u has not been made",
                          (unsigned long long)array, index);
    return rc == SQLITE_ROW ? 0 : db_error(st, rc, "array task", err);
}

int nl_store_job_state(struct nl_store *st, uint64_t id, enum nl_job_state *state, char *tenant,
                       struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_JOB_STATE];
    sqlite3_bind_int64(s, 1, (int64_t)id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        if (t == NULL || nl_job_state_parse((const char *)t, state) < 0)
            *state = NL_JOB_NONE;
        if (tenant != NULL)
            column_copy(s, 1, tenant, NL_NAME_MAX);
    }
    stmt_done(s);
    if (rc == SQLITE_DONE)
        return nl_err_set(err, -ENOENT, "job %llu: not found", (unsigned long long)id);
    return rc == SQLITE_ROW ? 0 : db_error(st, rc, "job state", err);
}

int nl_store_singleton_blocker(struct nl_store *st, const char *tenant, const char *run_as,
                               const char *name, uint64_t before, uint64_t *blocker,
                               struct nl_err *err)
{
    sqlite3_stmt *s = st->stmt[ST_SINGLETON];
    sqlite3_bind_text(s, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, run_as, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (int64_t)before);
    int rc = sqlite3_step(s);
    *blocker = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    stmt_done(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, rc, "singleton", err);
}
