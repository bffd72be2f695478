/* SPDX-License-Identifier: MIT */
/*
 * bench_stat.h - the few helpers every benchmark here needs: thread CPU
 * time, and the median of a sample. Header-only: each benchmark is its own
 * executable and takes what it uses.
 */
#ifndef NL_BENCH_STAT_H
#define NL_BENCH_STAT_H

#include <stdlib.h>
#include <time.h>

/* CPU time of this thread in ms: on a loaded machine wall time counts other processes too. */
static inline double bench_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* qsort's order for doubles. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (upper one for even n); sorts v. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return v[n / 2];
}

#endif
