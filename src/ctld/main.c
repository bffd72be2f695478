/* SPDX-License-Identifier: MIT */
/*
 * main.c - nordlysd, the nordlys controller: a table of contents.
 *
 * Parse the configuration, set up logging, build the controller (which
 * builds its subsystems in dependency order and reloads the store), run
 * the loop until SIGINT/SIGTERM, then take everything down in reverse.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/version.h"
#include "ctld/config.h"
#include "ctld/ctld.h"
#include "ctld/token.h"
#include "nordlys/err.h"

/*
 * Heap kept after frees, grown at a time, and the size from which a block
 * is mmapped on its own (32 MiB, glibc's largest): see main.
 */
#define CTLD_HEAP_KEEP_BYTES (256 * 1024 * 1024)
#define CTLD_HEAP_PAD_BYTES  (16 * 1024 * 1024)
#define CTLD_HEAP_MMAP_BYTES (32 * 1024 * 1024)

static enum nl_log_level log_level_of(const char *name)
{
    if (strcmp(name, "err") == 0)
        return NL_LOG_ERR;
    if (strcmp(name, "warn") == 0)
        return NL_LOG_WARN;
    if (strcmp(name, "debug") == 0)
        return NL_LOG_DEBUG;
    return NL_LOG_INFO;
}

static int setup_log(const struct ctld_config *cfg)
{
    enum nl_log_level level = log_level_of(cfg->log_level);
    nl_log_init("ctld", level, level == NL_LOG_DEBUG ? ~0u : 0);
    if (cfg->log_file[0] != '\0' && nl_log_open(cfg->log_file) < 0) {
        fprintf(stderr, "nordlysd: log-file: %s: cannot open\n", cfg->log_file);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ctld_config cfg;
    struct nl_err err = {0};
    /*
     * Everything the controller writes (the database with every job's
     * environment, the signing key, the audit log) is its own: jobs run as
     * other users on the same hosts and must not read it.
     */
    umask(077);
    /* Before the options: --version needs no configuration to be valid. */
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("nordlysd %s\n", nl_version());
        return 0;
    }
    /* `nordlysd token ...`: mint a token offline and exit (token_cmd.c). */
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_cmd_main(argc - 1, argv + 1);
    if (ctld_config_parse(&cfg, argc, argv, getenv, &err) < 0) {
        fprintf(stderr, "nordlysd: %s\n", err.msg);
        return 2;
    }
    int rc = 0;
    if (cfg.help || cfg.print_config) {
        if (cfg.help) {
            ctld_config_usage(stdout);
            printf("  --version  print the version and exit\n");
        } else
            ctld_config_print(&cfg, stdout);
        goto out;
    }
    if (setup_log(&cfg) < 0) {
        rc = 2;
        goto out;
    }
    /* A client that hangs up mid-answer must not kill the controller. */
    signal(SIGPIPE, SIG_IGN);
    /*
     * Keep freed heap instead of giving it back: every loop iteration
     * allocates and frees a batch of requests, answers and JSON trees, and
     * glibc's default (trim above 128 KiB) returned the top of the heap with
     * brk at the end of each batch only to grow it again in the next. Those
     * brk calls and their TLB flushes were 8% of the controller's time at
     * 8,000 submissions/s (perf, bench/RESULTS.md "Live system"). The heap
     * keeps its high-water mark, which is what a daemon needs anyway.
     * Fixing the trim threshold also fixes the mmap threshold (glibc stops
     * adapting it), so it is raised too: an agent's sync body of a few MB
     * is then reused heap, not a fresh mmap with its page faults each time.
     * This tunes glibc's allocator, nordlysd's in builds without jemalloc
     * (src/ctld/CMakeLists.txt); jemalloc keeps freed pages and gives them
     * back over seconds (its decay), not at the end of each batch.
     */
    mallopt(M_TRIM_THRESHOLD, CTLD_HEAP_KEEP_BYTES);
    mallopt(M_TOP_PAD, CTLD_HEAP_PAD_BYTES);
    mallopt(M_MMAP_THRESHOLD, CTLD_HEAP_MMAP_BYTES);
    struct ctld *c = ctld_create(&cfg, &err);
    if (c == NULL) {
        log_err("cannot start: %s", err.msg);
        /* With a log file, the operator who started us is still told why on stderr. */
        if (cfg.log_file[0] != '\0')
            fprintf(stderr, "nordlysd: cannot start: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (ctld_loop_run(c, &err) < 0) {
        log_err("loop: %s", err.msg);
        rc = 1;
    }
    ctld_destroy(c);
    log_info("stopped");
out:
    nl_log_close();
    ctld_config_release(&cfg);
    return rc;
}
