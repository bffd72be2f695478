/* SPDX-License-Identifier: MIT */
/* procs.c - /proc walks for the keeper and the leftover sweep; see procs.h. */
#include "procs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"

int procs_stat(pid_t pid, struct procs_stat *st)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int e = errno;
    close(fd);
    /*
     * A process reaped between the open and the read answers ESRCH: it is
     * gone, as ENOENT says. Callers rely on that to tell a dead run's group
     * (its leader gone) from one whose leader id belongs to someone else.
     */
    if (n <= 0)
        return n < 0 && e != ESRCH ? -e : -ENOENT;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
     */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -EPROTO;
    p += 2;
    /* Field 3 is the state; field 22 is the 20th after it. */
    st->state = *p;
    long ppid = 0, pgrp = 0;
    unsigned long long start = 0;
    int got = sscanf(p,
                     "%*c %ld %ld %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
                     "%llu",
                     &ppid, &pgrp, &start);
    if (got != 3)
        return -EPROTO;
    st->ppid = (pid_t)ppid;
    st->pgrp = (pid_t)pgrp;
    st->start_ticks = start;
    return 0;
}

bool procs_same(pid_t pid, uint64_t start_ticks)
{
    struct procs_stat st;
    return pid > 0 && procs_stat(pid, &st) == 0 && st.state != 'Z' && st.start_ticks == start_ticks;
}

struct entry {
    pid_t pid;
    struct procs_stat st;
};

/* Every process in /proc with its stat; a new array (free it). */
static struct entry *snapshot(size_t *n)
{
    size_t cap = 256, k = 0;
    struct entry *v = xcalloc(cap, sizeof(*v));
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        struct procs_stat st;
        if (procs_stat((pid_t)pid, &st) < 0)
            continue;
        if (k == cap) {
            cap = xgrow(cap, k + 1);
            v = xreallocarray(v, cap, sizeof(*v));
        }
        v[k++] = (struct entry){(pid_t)pid, st};
    }
    if (d != NULL)
        closedir(d);
    *n = k;
    return v;
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = ((const struct entry *)a)->pid, y = ((const struct entry *)b)->pid;
    return (x > y) - (x < y);
}

size_t procs_signal_descendants(pid_t root, int sig)
{
    size_t n;
    struct entry *v = snapshot(&n);
    qsort(v, n, sizeof(*v), cmp_pid);
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].st.state == 'Z' || v[i].pid == root)
            continue;
        /* Follow parents up to root or the top; the depth bound stops a cycle seen mid-change. */
        pid_t p = v[i].st.ppid;
        for (size_t depth = 0; p > 1 && p != root && depth < n; depth++) {
            struct entry key = {.pid = p};
            const struct entry *up = bsearch(&key, v, n, sizeof(*v), cmp_pid);
            p = up != NULL ? up->st.ppid : 0;
        }
        if (p == root) {
            kill(v[i].pid, sig);
            hit++;
        }
    }
    free(v);
    return hit;
}

size_t procs_group_members(pid_t pgrp, uint64_t min_ticks, int sig)
{
    size_t n;
    struct entry *v = snapshot(&n);
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].st.pgrp != pgrp || v[i].st.state == 'Z' || v[i].st.start_ticks < min_ticks)
            continue;
        if (sig != 0)
            kill(v[i].pid, sig);
        hit++;
    }
    free(v);
    return hit;
}

void procs_each(void (*fn)(pid_t pid, const struct procs_stat *st, void *arg), void *arg)
{
    size_t n;
    struct entry *v = snapshot(&n);
    for (size_t i = 0; i < n; i++)
        if (v[i].st.state != 'Z')
            fn(v[i].pid, &v[i].st, arg);
    free(v);
}

int procs_env_value(pid_t pid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /*
     * Entries are NUL-terminated "NAME=value" strings, read in chunks: an
     * entry cut by a chunk's end is carried over in part, as far as it
     * could still fit (name, '=', and size - 1 bytes of value).
     */
    size_t nlen = strlen(name), keep = nlen + size, have = 0;
    char chunk[8192], *cur = xmalloc(keep + 1);
    bool skip = false; /* the current entry is longer than any of ours: not it */
    int rc = -ENOENT;
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got < 0)
                rc = errno == ESRCH ? -ENOENT : -errno;
            break;
        }
        for (ssize_t i = 0; i < got && rc == -ENOENT; i++) {
            if (chunk[i] != '\0') {
                if (!skip && have < keep)
                    cur[have++] = chunk[i];
                else
                    skip = true;
                continue;
            }
            if (!skip && have > nlen && memcmp(cur, name, nlen) == 0 && cur[nlen] == '=') {
                size_t vlen = have - nlen - 1;
                if (vlen < size) {
                    memcpy(buf, cur + nlen + 1, vlen);
                    buf[vlen] = '\0';
                    rc = 0;
                }
            }
            have = 0;
            skip = false;
        }
        if (rc != -ENOENT)
            break;
    }
    free(cur);
    close(fd);
    return rc;
}

void procs_boot_id(char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}
