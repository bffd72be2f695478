/* SPDX-License-Identifier: MIT */
/* signame.c - signals a user may send to a job (see signame.h). */
#include "signame.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    int sig;
} allowed[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"WINCH", SIGWINCH},
        {"URG", SIGURG},
};

#define NALLOWED (sizeof(allowed) / sizeof(allowed[0]))
/* Linux's real-time range as a program sees it (glibc keeps 32 and 33 for itself). */
#define RT_MIN 34
#define RT_MAX 64

static int check_number(long n)
{
    if (n >= RT_MIN && n <= RT_MAX)
        return (int)n;
    for (size_t i = 0; i < NALLOWED; i++)
        if (allowed[i].sig == n)
            return (int)n;
    return n >= 1 && n <= RT_MAX ? -2 : -1;
}

int signame_parse(const char *text)
{
    if (text == NULL || text[0] == '\0')
        return -1;
    if (text[0] >= '0' && text[0] <= '9') {
        char *end = NULL;
        long n = strtol(text, &end, 10);
        return *end == '\0' ? check_number(n) : -1;
    }
    const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (size_t i = 0; i < NALLOWED; i++)
        if (strcasecmp(name, allowed[i].name) == 0)
            return allowed[i].sig;
    if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
        char *end = NULL;
        long k = name[5] == '\0' ? 0 : strtol(name + 5, &end, 10);
        if (name[5] != '\0' && (*end != '\0' || (name[5] != '+' && name[5] != '-')))
            return -1;
        long n = (strncasecmp(name, "RTMIN", 5) == 0 ? RT_MIN : RT_MAX) + k;
        return n >= RT_MIN && n <= RT_MAX ? (int)n : -1;
    }
    static const char *const refused[] = {"KILL", "SEGV", "BUS",  "FPE",  "ILL",  "TRAP",   "SYS",
                                          "PIPE", "CHLD", "TTIN", "TTOU", "PROF", "VTALRM", "XCPU",
                                          "XFSZ", "IO",   "POLL", "PWR",  NULL};
    for (size_t i = 0; refused[i] != NULL; i++)
        if (strcasecmp(name, refused[i]) == 0)
            return -2;
    return -1;
}

void signame_name(int sig, char *buf, unsigned size)
{
    for (size_t i = 0; i < NALLOWED; i++)
        if (allowed[i].sig == sig) {
            snprintf(buf, size, "%s", allowed[i].name);
            return;
        }
    if (sig >= RT_MIN && sig <= RT_MAX)
        snprintf(buf, size, "RTMIN+%d", sig - RT_MIN);
    else
        snprintf(buf, size, "%d", sig);
}

const char *signame_allowed(void)
{
    return "HUP INT QUIT ABRT USR1 USR2 ALRM TERM CONT STOP TSTP WINCH URG RTMIN..RTMAX (34..64)";
}
