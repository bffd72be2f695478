/* SPDX-License-Identifier: MIT */
/*
 * agent.h - nordlys-agent: one single-threaded epoll loop that registers
 * the agent's nodes with nordlysd, syncs with it periodically (heartbeat
 * and work channel in one request, docs/api.md) and runs the jobs it is
 * given through the job table (jobs.h).
 *
 * The loop waits on four descriptors and nothing else:
 *   - a signalfd for SIGCHLD (reap), SIGTERM and SIGINT (stop);
 *   - a timerfd for the next sync, register or retry;
 *   - the job table's epoll fd (deadlines: no-op ends, time limits, kills);
 *   - the HTTP client's epoll fd (curl's sockets and timer).
 * No handler blocks; a slow or absent controller only delays syncs.
 */
#ifndef NL_AGENT_AGENT_H
#define NL_AGENT_AGENT_H

struct agent;
struct agent_conf;
struct nl_err;

/*
 * A new agent for conf (borrowed; must outlive the agent). environ is the
 * environment jobs start from (borrowed). Blocks SIGCHLD, SIGTERM and
 * SIGINT for the calling thread (they are read from a signalfd) and
 * ignores SIGPIPE. Returns NULL with err set on failure.
 */
struct agent *agent_new(const struct agent_conf *conf, char *const *environ, struct nl_err *err);

/*
 * Run until SIGTERM/SIGINT (or a fatal answer from the controller) and all
 * jobs have been killed and reaped. Returns the process exit status: 0
 * after a signal, 1 after a fatal error.
 */
int agent_run(struct agent *a);

/* Free everything. NULL-safe. */
void agent_destroy(struct agent *a);

#endif
