/* SPDX-License-Identifier: MIT */
/*
 * main.c - nordlys-agent: parse the configuration, build the agent, run,
 * tear down in reverse. See docs/agent.md.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "common/log.h"
#include "common/version.h"
#include "gpucheck.h"
#include "nordlys/err.h"
#include "opt.h"

extern char **environ;

/*
 * The host name, with anything outside the agent-name alphabet replaced by
 * '-'; the agent appends the first digits of its instance key (agent.h).
 */
static void default_name(char *buf, size_t size)
{
    char host[64] = "agent";
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "agent");
    host[sizeof(host) - 1] = '\0';
    char *dot = strchr(host, '.');
    if (dot != NULL && dot != host)
        *dot = '\0';
    for (char *p = host; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            *p = '-';
    snprintf(buf, size, "%s", host);
}

int main(int argc, char **argv)
{
    char name[96];
    default_name(name, sizeof(name));
    struct agent_conf conf = {0};
    struct nl_err err = {0};
    /* Before the options: --version needs no configuration to be valid. */
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("nordlys-agent %s\n", nl_version());
        return 0;
    }
    /* A read-only look at this machine's GPUs (gpucheck.h); no configuration either. */
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "--gpu-check") == 0)
        return gpucheck_run(argc == 3 ? argv[2] : NULL, stdout);
    if (agent_conf_parse(&conf, argc, argv, environ, name, &err) < 0) {
        fprintf(stderr, "nordlys-agent: %s\n(see nordlys-agent --help)\n", err.msg);
        return 2;
    }
    int rc = 0;
    if (conf.help) {
        agent_conf_usage(stdout);
        printf("  --version  print the version and exit\n");
        printf("  --gpu-check [NVML]  read this machine's GPUs through NVML once, print them, say\n"
               "                      whether each value is plausible, change nothing (exit 0 ok,\n"
               "                      1 implausible, 3 no NVML)\n");
        goto out;
    }
    if (conf.print_config) {
        agent_conf_print(&conf, stdout);
        goto out;
    }
    nl_log_init("agent", NL_LOG_INFO, conf.verbose ? NL_LOGC_AGENT : 0);
    struct agent *a = agent_new(&conf, environ, &err);
    if (a == NULL) {
        log_err("%s", err.msg);
        rc = 1;
        goto out;
    }
    rc = agent_run(a);
    agent_destroy(a);
out:
    agent_conf_release(&conf);
    return rc;
}
