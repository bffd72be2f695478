/* SPDX-License-Identifier: MIT */
/*
 * signame.h - the signals a user may send to a job (`nordlys signal`,
 * `--signal SIG@SECONDS`), by name or number, shared by the controller
 * (which checks requests) and the command line (which checks early).
 *
 * Allowed: HUP INT QUIT ABRT USR1 USR2 ALRM TERM CONT STOP TSTP WINCH URG
 * and the real-time signals (RTMIN..RTMAX, 34..64). Not SIGKILL: ending a
 * job is `nordlys cancel`, which records why and keeps the grace period;
 * nor the signals the kernel raises for faults (SEGV, BUS, FPE, ILL,
 * TRAP, SYS) or for terminals and children (PIPE, CHLD, TTIN, TTOU), and
 * the profiling and limit ones (PROF, VTALRM, XCPU, XFSZ): sent by hand
 * they only confuse a program's handlers. Pure.
 */
#ifndef NL_COMMON_SIGNAME_H
#define NL_COMMON_SIGNAME_H

/*
 * Parse "USR1", "SIGUSR1", "usr1" or "10": the signal number, or -1 when
 * it is not a signal, -2 when it is one that may not be sent.
 */
int signame_parse(const char *text);
/* The name of an allowed signal without "SIG" ("USR1", "RTMIN+2"), into buf. */
void signame_name(int sig, char *buf, unsigned size);
/* The allowed names, for messages: "HUP INT ... URG RTMIN..RTMAX". */
const char *signame_allowed(void);

#endif
