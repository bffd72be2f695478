/* SPDX-License-Identifier: MIT */
/*
 * bench_runrec.c - what a run's record costs per launch (src/agent/runrec.c),
 * wall time, on the file system of DIR:
 *   - before: the agent wrote one record (a new name) at STARTED, in its loop;
 *   - now: the keeper writes it before the job starts (a new name) and again
 *     with the job's pid (runrec_update: NAME.next, unlink, rename), off the
 *     agent's loop;
 *   - rejected: the second version renamed over the first, which makes
 *     ext4 start the file's writeback (auto_da_alloc).
 * Each round does N launches' worth (and the removal at acknowledgement);
 * it prints the median of REPS rounds, in microseconds per launch, as one
 * JSON line.
 *
 *   bench_runrec [DIR] [N] [REPS]     (defaults: a new directory in /tmp, 1000, 7)
 */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/procs.h"
#include "agent/runrec.h"
#include "common/clock.h"
#include "nordlys/err.h"

enum way {
    BEFORE,
    NOW,
    OVER
};

static double round_us(const char *dir, int n, enum way way)
{
    struct runrec r = {.job = 12345, .run = 1, .keeper = 4242, .keeper_ticks = 99};
    snprintf(r.node, sizeof(r.node), "n0");
    procs_boot_id(r.boot_id, sizeof(r.boot_id));
    runrec_key_new(r.key);
    struct nl_err err = {0};
    int64_t t0 = nl_clock_monotonic_us();
    for (int i = 0; i < n; i++) {
        r.pid = way == BEFORE ? 4243 : 0;
        if (runrec_write(dir, "12345.1.0", &r, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
        r.pid = 4243;
        if (way == NOW)
            runrec_update(dir, "12345.1.0", &r, &err);
        else if (way == OVER)
            runrec_write(dir, "12345.1.0", &r, &err);
        runrec_remove(dir, "12345.1.0");
    }
    return (double)(nl_clock_monotonic_us() - t0) / n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/bench-runrec-XXXXXX";
    const char *dir = argc > 1 && argv[1][0] != '\0' ? argv[1] : mkdtemp(tmp);
    int n = argc > 2 ? atoi(argv[2]) : 1000, reps = argc > 3 ? atoi(argv[3]) : 7;
    if (dir == NULL || n <= 0 || reps <= 0 || reps > 99) {
        fprintf(stderr, "usage: bench_runrec [DIR] [N] [REPS (1-99)]\n");
        return 2;
    }
    double v[3][99];
    for (int k = 0; k < reps; k++) /* alternating, so that load changes hit each alike */
        for (int w = 0; w < 3; w++)
            v[w][k] = round_us(dir, n, (enum way)w);
    for (int w = 0; w < 3; w++)
        qsort(v[w], (size_t)reps, sizeof(double), cmp);
    printf("{\"n\": %d, \"reps\": %d, \"before_us\": %.1f, \"now_us\": %.1f, \"over_us\": %.1f}\n",
           n, reps, v[BEFORE][reps / 2], v[NOW][reps / 2], v[OVER][reps / 2]);
    if (dir == tmp)
        rmdir(tmp);
    return 0;
}
