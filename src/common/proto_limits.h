/* SPDX-License-Identifier: MIT */
/*
 * proto_limits.h - the limits of the agent protocol (docs/agent.md), one
 * table that both sides use: the controller checks what it accepts from
 * clients and agents against it, and the agent checks what it decodes from
 * the controller against the same numbers, so that the two cannot disagree
 * (a launch the controller built is never refused by its agent, and
 * nothing an agent may send is refused by its controller).
 *
 * Each limit says why it has its value. They are bounds against mistakes
 * and forged bodies, not allocations. Plain constants only: this header
 * includes nothing but <stdint.h> and is fit for libnordlys too.
 */
#ifndef NL_COMMON_PROTO_LIMITS_H
#define NL_COMMON_PROTO_LIMITS_H

#include <stdint.h>

/* ---- sizes of bodies ---- */

/*
 * A register or sync body (agent to controller). An agent registering
 * 25,000 emulated nodes sends about 25,000 x 40 bytes = 1 MB of names, and
 * its sync lists as many running jobs: 16 MiB covers a whole narvik
 * facility behind one agent, and bounds what one forged body costs.
 */
#define NL_PROTO_BODY_MAX (16u * 1024u * 1024u)
/*
 * A register or sync answer (controller to agent): launches carry the
 * command line and environment of each rank, so a gang of thousands of
 * ranks with a large environment needs far more than a sync body. 1 GiB
 * is the agent's bound against a runaway answer.
 */
#define NL_PROTO_ANSWER_MAX (1024u * 1024u * 1024u)

/* ---- names ---- */

/* An agent's name (--agent-name): people read it in logs and `nordlys nodes`. */
#define NL_PROTO_AGENT_ID_MAX 128
/* An agent's instance: its persistent key in hex; 64 digits hold a 256-bit key. */
#define NL_PROTO_INSTANCE_MAX 64
/* A node's name as the facility file spells it (a host name is at most 64 bytes). */
#define NL_PROTO_NODE_NAME_MAX 128

/* ---- counts per message ---- */

/*
 * Nodes one agent may stand for (the "nodes" of a register). The largest
 * facility we emulate behind one agent has 25,000 nodes; 65,536 leaves
 * room, and 65,536 names of NL_PROTO_NODE_NAME_MAX bytes still fit in
 * NL_PROTO_BODY_MAX.
 */
#define NL_PROTO_NODES_MAX 65536u
/*
 * Entries of one list in a sync or its answer ("running", "exits",
 * "launch", "kill", "hold"): one per job per node, and a node of 8 GPUs
 * runs at most 8 jobs, so 8 x NL_PROTO_NODES_MAX.
 */
#define NL_PROTO_SYNC_ENTRIES_MAX (8u * NL_PROTO_NODES_MAX)

/* ---- a job's launch ---- */

/*
 * Arguments of a command line: 4,096 is far above any real launcher line
 * and, with the 64 KiB request body, bounds what one job record costs
 * (execve's own limit, ARG_MAX 2 MiB, is reached later).
 */
#define NL_PROTO_ARGS_MAX 4096u
/*
 * Environment entries a job request may set (1,024), and entries the
 * controller adds to each launch (CUDA_VISIBLE_DEVICES, NORDLYS_*, the
 * torch.distributed rendezvous: 17 today, 64 reserved). A launch carries
 * at most NL_PROTO_LAUNCH_ENV_MAX; the agent must accept that many.
 */
#define NL_PROTO_ENV_MAX        1024u
#define NL_PROTO_ENV_ADDED_MAX  64u
#define NL_PROTO_LAUNCH_ENV_MAX (NL_PROTO_ENV_MAX + NL_PROTO_ENV_ADDED_MAX)
/*
 * An environment variable's name, and its value: Linux refuses one
 * "NAME=value" string longer than MAX_ARG_STRLEN (32 pages, 128 KiB) at
 * execve, so a value is at most 128 KiB less the name and '='.
 */
#define NL_PROTO_ENV_NAME_MAX  256u
#define NL_PROTO_ENV_VALUE_MAX (128u * 1024u - NL_PROTO_ENV_NAME_MAX - 2u)
/*
 * One argument of a command line: Linux refuses one longer than
 * MAX_ARG_STRLEN (128 KiB, with its NUL) at execve, so the controller
 * refuses it at submission rather than the job failing at its start. A
 * batch script (`nordlys submit script.sh`) travels as one such argument
 * of /bin/sh. Slurm's default
 * max_script_size is 4 MB, but a script that long is data, not a script.
 */
#define NL_PROTO_ARG_MAX    (128u * 1024u - 1u)
#define NL_PROTO_SCRIPT_MAX NL_PROTO_ARG_MAX
/*
 * A job request's body (POST /v1/jobs): a script of NL_PROTO_SCRIPT_MAX,
 * escaped as JSON (a newline is two bytes, so about 1.1x for real text),
 * plus an exported environment of a few to some tens of KiB; 512 KiB
 * holds both with room, and bounds what one request costs to parse.
 */
#define NL_PROTO_JOB_REQUEST_MAX (512u * 1024u)
/* A path (cwd, stdout, stderr): Linux's PATH_MAX. */
#define NL_PROTO_PATH_MAX 4096u
/*
 * A job's time limit: one year (366 days). The scheduler's bound
 * (NL_JOB_TIME_LIMIT_MAX_US in nordlys/job.h); anything longer is a unit
 * mistake, and an agent accepting more would only hide one.
 */
#define NL_PROTO_TIME_LIMIT_MAX_S (366u * 24u * 3600u)
/*
 * A job's grace between SIGTERM and SIGKILL, for a timeout, a cancel or a
 * preemption: one hour to checkpoint (NL_JOB_GRACE_MAX_US); longer holds
 * a preempted job's GPUs from the job that preempted it. Kills carry the
 * job's grace, so the same bound holds for a kill.
 */
#define NL_PROTO_GRACE_MAX_S 3600u
/* The grace of a job that asked for none (the controller fills it in every launch). */
#define NL_PROTO_GRACE_DEFAULT_S 60u
/* Per-node cgroup limits: up to 16 TiB of memory (in MiB, as requests say it) ... */
#define NL_PROTO_MEMORY_MB_MAX    16777216u
#define NL_PROTO_MEMORY_BYTES_MAX ((uint64_t)NL_PROTO_MEMORY_MB_MAX << 20)
/* ... and up to 4,194,304 processes, Linux's pid_max ceiling. */
#define NL_PROTO_PIDS_MAX 4194304u

/* ---- runs and exits ---- */

/*
 * A job's run number: which start of the job a launch, a process, an exit
 * or a kill belongs to (1 = its first start; stored with the job).
 */
#define NL_PROTO_RUN_MAX INT32_MAX
/*
 * An exit's reason is one line for people (an errno message after a
 * path): 1 KiB holds a PATH_MAX-long path's first part and the message.
 */
#define NL_PROTO_EXIT_REASON_MAX 1024u

/* ---- job output, shipped in syncs (issue 12) ---- */

/*
 * Output bytes of one stream of one run in one sync ("output" entries):
 * 64 KiB a second is a log line every 100 us, far above what people read
 * as it comes, and keeps a sync of many chatty jobs small.
 */
#define NL_PROTO_OUTPUT_CHUNK_MAX (64u * 1024u)
/*
 * Output bytes of all runs in one sync: 1 MiB (1.4 MiB as base64) keeps a
 * sync of an agent with thousands of chatty jobs well within
 * NL_PROTO_BODY_MAX; a run left out is shipped by a later sync.
 */
#define NL_PROTO_OUTPUT_SYNC_MAX (1024u * 1024u)
/*
 * The tail of each stream the controller keeps (GET /v1/jobs/{id}/output).
 * An agent whose backlog of unshipped output passes it skips ahead to the
 * last NL_PROTO_OUTPUT_TAIL_MAX bytes: older ones would only be dropped.
 */
#define NL_PROTO_OUTPUT_TAIL_MAX (1024u * 1024u)
/*
 * Entries of one sync's output list: 4,096 (at most some 800 KB of JSON
 * around the bytes), so that a sync with output stays
 * NL_PROTO_OUTPUT_BODY_ROOM below NL_PROTO_BODY_MAX.
 */
#define NL_PROTO_OUTPUT_ENTRIES_MAX 4096u
/* Room a sync body leaves for its output list; a sync with less room ships none. */
#define NL_PROTO_OUTPUT_BODY_ROOM (3u * 1024u * 1024u)
/* A signal a sync answer or a launch may carry: 1..64 (Linux's SIGRTMAX). */
#define NL_PROTO_SIGNAL_MAX 64

/* ---- timing the register answer gives ---- */

/* sync_interval_ms and node_timeout_ms an agent accepts (the controller's options stay within). */
#define NL_PROTO_SYNC_INTERVAL_MS_MAX 3600000u
#define NL_PROTO_NODE_TIMEOUT_MS_MAX  3600000u

/*
 * Tasks (processes) of one launch, its "tasks" list: a process per GPU of
 * the largest node and more for CPU-bound helpers; each has its own
 * environment additions, pipes and output files at the agent.
 */
#define NL_PROTO_TASKS_MAX 256u

#endif
