/* SPDX-License-Identifier: MIT */
/*
 * bench_outtail.c - the controller's output tails for single-node jobs
 * (issue 12: every node ships now; a one-node job must cost what it did).
 * JOBS jobs of one task each, CHUNKS chunks of BYTES bytes per job in
 * round robin (as syncs bring them), every chunk sent twice (a lost
 * answer's resend) and read back once from the reader's offset, as
 * `nordlys run` follows. Built by bench/outtail-compare.sh against this
 * tree's outtail.c and another's (OLD_OUTTAIL: before the node argument).
 *
 *   bench_outtail [JOBS] [CHUNKS] [BYTES]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld/outtail.h"

#ifdef OLD_OUTTAIL
#define ADD(o, job, run, node, st, off, p, n) outtail_add(o, job, run, st, off, p, n)
#else
#define ADD(o, job, run, node, st, off, p, n) outtail_add(o, job, run, node, st, off, p, n)
#endif

int main(int argc, char **argv)
{
    size_t jobs = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    size_t chunks = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
    size_t bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 4096;
    struct outtail *o = outtail_create(1024 * 1024, (size_t)256 * 1024 * 1024);
    char *chunk = malloc(bytes), *buf = malloc(1024 * 1024);
    uint64_t *read_at = calloc(jobs, sizeof(*read_at));
    memset(chunk, 'x', bytes);
    chunk[bytes - 1] = '\n';
    uint64_t sum = 0;
    for (size_t c = 0; c < chunks; c++)
        for (size_t j = 0; j < jobs; j++) {
            for (int twice = 0; twice < 2; twice++)
                ADD(o, j + 1, 1, (uint32_t)(j % 64), OUTTAIL_STDOUT, (uint64_t)c * bytes, chunk,
                    bytes);
            struct outtail_view v;
            outtail_read(o, j + 1, OUTTAIL_STDOUT, read_at[j], buf, 1024 * 1024, &v);
            read_at[j] = v.offset + v.len;
            sum += v.len;
        }
    printf("jobs %zu chunks %zu bytes %zu: read %llu, held %zu\n", jobs, chunks, bytes,
           (unsigned long long)sum, outtail_bytes(o));
    outtail_destroy(o);
    free(chunk);
    free(buf);
    free(read_at);
    return 0;
}
