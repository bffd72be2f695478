/* SPDX-License-Identifier: MIT */
/*
 * sim_cmd.c - `nordlys sim`: build a facility, tenants and a workload, run
 * the simulator once per policy, and report side by side.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "commands.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "sim/html_report.h"
#include "sim/sim.h"
#include "sim/simpower.h"
#include "sim/workload.h"

#define SIM_CONF_MAX_BYTES (1u << 20) /* facility and tenants files are small text */
#define SIM_SETS_MAX 32
#define SIM_SEEDS_MAX 64

struct sim_args {
    const char *facility, *tenants, *trace, *policies, *out, *budget_schedule;
    double oversubscribe, budget_mw, start_unix_s;
    bool power;
    struct simpower_schedule sched; /* from --budget-schedule, owned */
    uint32_t nodes, gpus_per_node, nodes_per_rack;
    double load, days, limit_factor, sample_s, pass_s;
    uint64_t seed, max_jobs;
    bool json, check, synthetic;
    const char *sets[SIM_SETS_MAX]; /* --set [POLICY:]key=value, in order */
    int nsets;
    uint64_t seeds[SIM_SEEDS_MAX]; /* --seeds, else the one --seed */
    int nseeds;
    bool many_seeds;      /* --seeds given: the spread report */
    bool user_limits;     /* --limits user */
    bool llm_era;         /* --mix llm */
    uint32_t copies;      /* --copies */
    const char *baseline; /* --baseline, else backfill when it runs */
};

static void sim_usage(FILE *f)
{
    fprintf(f,
            "usage: nordlys sim [options]\n"
            "  --facility NAME|FILE   preset (dev, narvik, narvik-2, loughton, gw10) or facility file [narvik]\n"
            "  --nodes N              instead: a cluster of N nodes (see --gpus-per-node, --nodes-per-rack)\n"
            "  --gpus-per-node G      GPUs per node of --nodes [8]\n"
            "  --nodes-per-rack K     nodes per rack of --nodes [4]\n"
            "  --tenants FILE         tenants file [the reference tenants, sized to the facility]\n"
            "  --set [POLICY:]K=V     a scheduler setting (repeatable), e.g. reservations=8,\n"
            "                         nordlys:topology=no; see docs/architecture.md\n"
            "  --trace FILE           replay a trace CSV (job_id,submit_s,duration_s,gpus,tenant,status)\n"
            "  --synthetic            a synthetic AI-gigafactory workload (the default without --trace)\n"
            "  --mix gigafactory|llm  the synthetic mix: AI gigafactory, or LLM-era (pre-training\n"
            "                         gangs, fine-tuning, evaluation, notebooks) [gigafactory]\n"
            "  --days D               span of the synthetic workload [30]\n"
            "  --load L               scale arrivals to this fraction of capacity [trace: own times; synthetic: 0.9]\n"
            "  --policy P[,P...]      nordlys, fifo, backfill, or all [nordlys]\n"
            "  --seed N               seed for mappings and synthetic draws [1]\n"
            "  --seeds LIST           several seeds (1-5, 1,4,9): each figure's median and worst\n"
            "                         seed, and ratios against --baseline seed by seed\n"
            "  --baseline P           policy the others are compared with [backfill, if run]\n"
            "  --limits exact|Fx|user time limits: the run time, F times it (3x), or as users\n"
            "                         give them: round values, over-estimated [exact]\n"
            "  --limit-factor F       time limit = duration x F, rounded up to a minute [1]\n"
            "  --copies K             trace scaling: K time-shifted copies, tenants dealt anew [1]\n"
            "  --max-jobs N           replay only the first N jobs\n"
            "  --sample S             time-series period in seconds [span/500]\n"
            "  --pass-interval S      least virtual time between scheduling passes; 0 = every event [10]\n"
            "  --check                also check every invariant from scratch at each sample\n"
            "  --json                 one JSON object (several policies: {\"runs\": [...]})\n"
            "  --out DIR              write time series CSVs, report.html and its SVG figures to DIR\n"
            "  --power                the power model: real draw below nameplate, measured with noise,\n"
            "                         capped jobs run slower, PUE from the facility's climate (docs/power.md)\n"
            "  --budget MW            the facility's power budget instead of its own\n"
            "  --budget-schedule FILE the budget over time: lines \"TIME POWER\" (0 230MW, 3d 170MW),\n"
            "                         and racks coming online: \"TIME +N racks [SITE] [POWER]\"\n"
            "                         (20d +2083 racks narvik2 290MW; docs/power.md)\n"
            "  --oversubscribe PCT    PCT %% more racks on each site, the same power limits\n"
            "  --start-unix S         calendar time of the workload's start, for the climate [2026-01-01]\n");
}

static int parse_num(const char *flag, const char *v, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || d < min || d > max) {
        fprintf(stderr, "nordlys sim: %s: '%s' is not a number in %g..%g\n", flag, v, min, max);
        return -1;
    }
    *out = d;
    return 0;
}

/*
 * Apply one --set to cfg: "key=value" applies to every policy,
 * "POLICY:key=value" to that one only. With check, a setting for any
 * policy is validated (so a typo fails before anything runs).
 */
static int apply_set(struct nl_sched_config *cfg, const char *set, bool check)
{
    const char *colon = strchr(set, ':');
    const char *eq = strchr(set, '=');
    const char *kv = set;
    if (colon != NULL && (eq == NULL || colon < eq)) {
        char name[16];
        enum nl_policy p;
        struct nl_err err;
        snprintf(name, sizeof(name), "%.*s", (int)(colon - set), set);
        if (nl_policy_parse(name, &p, &err) < 0) {
            fprintf(stderr, "nordlys sim: --set %s: %s\n", set, err.msg);
            return -1;
        }
        kv = colon + 1;
        if (!check && p != cfg->policy)
            return 0;
    }
    struct nl_err err;
    if (nl_sched_config_set(cfg, kv, &err) < 0) {
        fprintf(stderr, "nordlys sim: --set %s: %s\n", set, err.msg);
        return -1;
    }
    return 0;
}

/* "1-5", "1,4,9" or a mix: distinct seeds in the order given. */
static int parse_seeds(const char *list, struct sim_args *a)
{
    char buf[512];
    if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf) || buf[0] == '\0') {
        fprintf(stderr, "nordlys sim: --seeds: '%s' is not a list of seeds\n", list);
        return -1;
    }
    a->nseeds = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        unsigned long long lo = strtoull(tok, &end, 10), hi = lo;
        if (end != tok && *end == '-' && errno == 0) {
            char *end2;
            hi = strtoull(end + 1, &end2, 10);
            end = end2 == end + 1 ? end : end2;
        }
        if (end == tok || *end != '\0' || errno != 0 || tok[0] == '-' || hi < lo) {
            fprintf(stderr, "nordlys sim: --seeds: '%s' is not a seed or a range A-B\n", tok);
            return -1;
        }
        for (unsigned long long v = lo; v <= hi; v++) {
            if (a->nseeds == SIM_SEEDS_MAX) {
                fprintf(stderr, "nordlys sim: --seeds: at most %d seeds\n", SIM_SEEDS_MAX);
                return -1;
            }
            a->seeds[a->nseeds++] = v;
        }
    }
    a->many_seeds = true;
    return 0;
}

/* "exact", "user" or "3x" (a factor >= 1). */
static int parse_limits(const char *v, struct sim_args *a)
{
    if (strcmp(v, "exact") == 0) {
        a->limit_factor = 1, a->user_limits = false;
        return 0;
    }
    if (strcmp(v, "user") == 0) {
        a->user_limits = true;
        return 0;
    }
    char *end;
    double d = strtod(v, &end);
    if (end == v || strcmp(end, "x") != 0 || !(d >= 1 && d <= 100)) {
        fprintf(stderr, "nordlys sim: --limits: '%s' is not exact, user or a factor like 3x "
                        "(1x..100x)\n", v);
        return -1;
    }
    a->limit_factor = d, a->user_limits = false;
    return 0;
}

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    *a = (struct sim_args){.facility = "narvik",
                           .policies = "nordlys",
                           .gpus_per_node = 8,
                           .nodes_per_rack = 4,
                           .days = 30,
                           .limit_factor = 1,
                           .seed = 1,
                           .load = -1,
                           .pass_s = -1}; /* unset: the simulator's default interval */
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        bool takes = true;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            sim_usage(stdout);
            return 1;
        } else if (strcmp(f, "--json") == 0) {
            a->json = true, takes = false;
        } else if (strcmp(f, "--check") == 0) {
            a->check = true, takes = false;
        } else if (strcmp(f, "--synthetic") == 0) {
            a->synthetic = true, takes = false;
        } else if (strcmp(f, "--power") == 0) {
            a->power = true, takes = false;
        } else if (v != NULL && strcmp(f, "--budget-schedule") == 0) {
            a->budget_schedule = v;
        } else if (v == NULL) {
            fprintf(stderr, "nordlys sim: %s: missing value (or unknown flag)\n", f);
            return -1;
        } else if (strcmp(f, "--facility") == 0) {
            a->facility = v;
        } else if (strcmp(f, "--tenants") == 0) {
            a->tenants = v;
        } else if (strcmp(f, "--trace") == 0) {
            a->trace = v;
        } else if (strcmp(f, "--policy") == 0) {
            a->policies = v;
        } else if (strcmp(f, "--out") == 0) {
            a->out = v;
        } else if (strcmp(f, "--seeds") == 0) {
            if (parse_seeds(v, a) < 0)
                return -1;
        } else if (strcmp(f, "--mix") == 0) {
            if (strcmp(v, "llm") != 0 && strcmp(v, "gigafactory") != 0) {
                fprintf(stderr, "nordlys sim: --mix: '%s' is not gigafactory or llm\n", v);
                return -1;
            }
            a->llm_era = strcmp(v, "llm") == 0;
            a->synthetic = true;
        } else if (strcmp(f, "--limits") == 0) {
            if (parse_limits(v, a) < 0)
                return -1;
        } else if (strcmp(f, "--baseline") == 0) {
            enum nl_policy p;
            struct nl_err err;
            if (nl_policy_parse(v, &p, &err) < 0) {
                fprintf(stderr, "nordlys sim: --baseline: %s\n", err.msg);
                return -1;
            }
            a->baseline = v;
        } else if (strcmp(f, "--set") == 0) {
            if (a->nsets == SIM_SETS_MAX) {
                fprintf(stderr, "nordlys sim: --set: at most %d settings\n", SIM_SETS_MAX);
                return -1;
            }
            struct nl_sched_config probe;
            nl_sched_config_init(&probe, NL_POLICY_NORDLYS);
            if (apply_set(&probe, v, true) < 0)
                return -1;
            a->sets[a->nsets++] = v;
        } else {
            double lo = 0, hi = 1e12;
            if (strcmp(f, "--load") == 0)
                hi = 100;
            if (parse_num(f, v, lo, hi, &d) < 0)
                return -1;
            if (strcmp(f, "--load") == 0)
                a->load = d;
            else if (strcmp(f, "--days") == 0 && d > 0)
                a->days = d;
            else if (strcmp(f, "--seed") == 0)
                a->seed = (uint64_t)d;
            else if (strcmp(f, "--limit-factor") == 0 && d >= 1)
                a->limit_factor = d;
            else if (strcmp(f, "--copies") == 0 && d >= 1 && d <= NL_WORKLOAD_COPIES_MAX &&
                     d == (double)(uint32_t)d)
                a->copies = (uint32_t)d;
            else if (strcmp(f, "--max-jobs") == 0)
                a->max_jobs = (uint64_t)d;
            else if (strcmp(f, "--sample") == 0 && d >= 1)
                a->sample_s = d;
            else if (strcmp(f, "--pass-interval") == 0 && d >= 0)
                a->pass_s = d;
            else if (strcmp(f, "--oversubscribe") == 0 && d <= 1000)
                a->oversubscribe = d;
            else if (strcmp(f, "--budget") == 0 && d > 0)
                a->budget_mw = d;
            else if (strcmp(f, "--start-unix") == 0)
                a->start_unix_s = d;
            else if (strcmp(f, "--nodes") == 0 && d >= 1)
                a->nodes = (uint32_t)d;
            else if (strcmp(f, "--gpus-per-node") == 0 && d >= 1 && d <= NL_GPUS_PER_NODE_MAX)
                a->gpus_per_node = (uint32_t)d;
            else if (strcmp(f, "--nodes-per-rack") == 0 && d >= 1 && d <= NL_NODES_PER_RACK_MAX)
                a->nodes_per_rack = (uint32_t)d;
            else {
                fprintf(stderr, "nordlys sim: %s: unknown flag or value '%s' out of range\n", f, v);
                return -1;
            }
        }
        if (takes)
            i++;
    }
    if (a->trace && a->synthetic) {
        fprintf(stderr, "nordlys sim: --trace and --synthetic: choose one\n");
        return -1;
    }
    if (a->copies > 1 && a->trace == NULL) {
        fprintf(stderr, "nordlys sim: --copies: scales a trace; give --trace\n");
        return -1;
    }
    if (!a->many_seeds) {
        a->seeds[0] = a->seed;
        a->nseeds = 1;
    }
    return 0;
}

static struct nl_facility *load_facility(const struct sim_args *a, struct nl_err *err)
{
    struct nl_facility_spec spec;
    int rc;
    if (a->nodes > 0) {
        uint32_t npr = a->nodes_per_rack;
        while (a->nodes % npr != 0)
            npr--; /* a size flag should just work: shrink racks until they divide the nodes */
        rc = nl_facility_spec_cluster(a->nodes, a->gpus_per_node, npr, &spec, err);
    } else if (strchr(a->facility, '/') == NULL && strchr(a->facility, '.') == NULL) {
        rc = nl_facility_preset(a->facility, &spec, err);
    } else {
        char *text;
        size_t len;
        rc = nl_file_read(a->facility, SIM_CONF_MAX_BYTES, &text, &len, err);
        if (rc == 0) {
            rc = nl_facility_parse(text, len, a->facility, &spec, err);
            free(text);
        }
    }
    if (rc == 0 && a->budget_mw > 0)
        spec.power_budget_w = a->budget_mw * 1e6;
    /* Oversubscription: more racks behind the same meters (site limits and budget unchanged). */
    for (size_t i = 0; rc == 0 && a->oversubscribe > 0 && i < spec.nsites; i++)
        spec.sites[i].racks = (uint32_t)ceil(spec.sites[i].racks * (1 + a->oversubscribe / 100));
    return rc < 0 ? NULL : nl_facility_create(&spec, err);
}

static struct nl_tenants *load_tenants(const struct sim_args *a, uint64_t gpus, struct nl_err *err)
{
    if (a->tenants == NULL)
        return nl_tenants_default(gpus);
    char *text;
    size_t len;
    if (nl_file_read(a->tenants, SIM_CONF_MAX_BYTES, &text, &len, err) < 0)
        return NULL;
    struct nl_tenants *t = nl_tenants_parse(text, len, a->tenants, err);
    free(text);
    return t;
}

static int load_workload(const struct sim_args *a, uint64_t seed, const struct nl_facility *fac,
                         const struct nl_tenants *ten, struct nl_workload *w, struct nl_err *err)
{
    struct nl_workload_opts wo = {.seed = seed,
                                  .limit_factor = a->limit_factor,
                                  .user_limits = a->user_limits,
                                  .copies = a->copies,
                                  .max_jobs = (size_t)a->max_jobs};
    if (a->trace == NULL) {
        struct nl_synth_opts so = {.days = a->days,
                                   .load = a->load >= 0 ? a->load : 0.9,
                                   .seed = seed,
                                   .llm_share = -1,
                                   .llm_era = a->llm_era};
        wo.load = so.load;
        return nl_workload_synthetic(&so, fac, ten, &wo, w, err);
    }
    wo.load = a->load >= 0 ? a->load : 0;
    char *text;
    size_t len;
    int rc = nl_file_read(a->trace, NL_TRACE_BYTES_MAX, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = nl_workload_parse_trace(text, len, a->trace, fac, ten, &wo, w, err);
    free(text);
    return rc;
}

/* Parse "nordlys,fifo" or "all" into policies; returns the count or -1. */
static int parse_policies(const char *list, enum nl_policy *out)
{
    if (strcmp(list, "all") == 0) {
        out[0] = NL_POLICY_NORDLYS;
        out[1] = NL_POLICY_BACKFILL;
        out[2] = NL_POLICY_FIFO;
        return 3;
    }
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", list);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct nl_err err;
        if (n == NL_POLICY_COUNT || nl_policy_parse(tok, &out[n], &err) < 0) {
            fprintf(stderr, "nordlys sim: %s\n",
                    n == NL_POLICY_COUNT ? "policy: too many" : err.msg);
            return -1;
        }
        n++;
    }
    return n;
}

/* Index in pol of the baseline: --baseline, else backfill when it runs; -1 for none. */
static int baseline_index(const struct sim_args *a, const enum nl_policy *pol, int npol)
{
    enum nl_policy want = NL_POLICY_BACKFILL;
    struct nl_err err;
    if (a->baseline != NULL && nl_policy_parse(a->baseline, &want, &err) < 0)
        return -1; /* validated by parse_args */
    for (int i = 0; i < npol; i++)
        if (pol[i] == want)
            return i;
    return -1;
}

/* Each policy on w, into res[0..npol); on failure nothing of res is left to release. */
static int run_seed(const struct sim_args *a, const enum nl_policy *pol, int npol,
                    const struct nl_facility *fac, const struct nl_tenants *ten,
                    const struct nl_workload *w, struct nl_sim_result *res)
{
    /* nl_sim_opts: 0 is the default interval, < 0 a pass after every event. */
    struct nl_sim_opts so = {.sample_us = (int64_t)(a->sample_s * 1e6),
                             .pass_interval_us = a->pass_s < 0    ? 0
                                                 : a->pass_s == 0 ? -1
                                                                  : (int64_t)(a->pass_s * 1e6),
                             .full_checks = a->check,
                             .power = a->power,
                             .start_unix_s = (int64_t)a->start_unix_s,
                             .seed = a->seed};
    so.budget_t_us = a->sched.t_us;
    so.budget_w = a->sched.budget_w;
    so.growth = a->sched.growth;
    so.nbudget = a->sched.n;
    struct nl_err err;
    for (int i = 0; i < npol; i++) {
        struct nl_sched_config cfg;
        nl_sched_config_init(&cfg, pol[i]);
        for (int k = 0; k < a->nsets; k++)
            apply_set(&cfg, a->sets[k], false); /* validated by parse_args */
        if (nl_sim_run(fac, ten, &cfg, w, &so, &res[i], &err) < 0) {
            fprintf(stderr, "nordlys sim: %s\n", err.msg);
            for (int k = 0; k < i; k++)
                nl_sim_result_release(&res[k]);
            return -1;
        }
    }
    return 0;
}

/* Time series and the report: DIR/timeseries-POLICY.csv and DIR/report.html (with its
 * fig-*.svg), or DIR/seed-N/... for several seeds. */
static int write_series(const struct sim_args *a, const struct nl_sim_result *res, int npol)
{
    struct nl_err err;
    for (int s = 0; s < a->nseeds; s++) {
        char dir[4096];
        if (a->many_seeds)
            snprintf(dir, sizeof(dir), "%s/seed-%llu", a->out, (unsigned long long)a->seeds[s]);
        else
            snprintf(dir, sizeof(dir), "%s", a->out);
        char probe[4200];
        snprintf(probe, sizeof(probe), "%s/.", dir);
        int rc = nl_file_mkdir_parents(probe);
        if (rc < 0) {
            fprintf(stderr, "nordlys sim: --out %s: %s\n", dir, strerror(-rc));
            return -1;
        }
        const struct nl_sim_result *rs = &res[(size_t)s * (size_t)npol];
        if (nl_sim_write_series(rs, (size_t)npol, dir, &err) < 0 ||
            html_report_write(rs, (size_t)npol, dir, &err) < 0) {
            fprintf(stderr, "nordlys sim: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static void report(const struct sim_args *a, const struct nl_sim_result *res, int npol, int base)
{
    size_t ns = (size_t)a->nseeds, np = (size_t)npol;
    if (!a->many_seeds && a->json) {
        char *text = nl_sim_report_json(res, np);
        printf("%s\n", text);
        free(text);
    } else if (!a->many_seeds) {
        nl_sim_report_table(res, np, stdout);
    } else if (a->json) {
        char *text = nl_sim_report_seeds_json(res, ns, np, a->seeds, base);
        printf("%s\n", text);
        free(text);
    } else {
        nl_sim_report_seeds(res, ns, np, a->seeds, base, stdout);
    }
}

static int run_all(const struct sim_args *a, const enum nl_policy *pol, int npol,
                   const struct nl_facility *fac, const struct nl_tenants *ten)
{
    /* Before the runs, so that a bad --out costs nothing but this message. */
    if (a->out != NULL) {
        char probe[4096];
        snprintf(probe, sizeof(probe), "%s/.", a->out);
        int rc = nl_file_mkdir_parents(probe);
        if (rc < 0) {
            fprintf(stderr, "nordlys sim: --out %s: %s\n", a->out, strerror(-rc));
            return NL_CLI_FAILED;
        }
    }
    size_t np = (size_t)npol;
    struct nl_sim_result *res = xcalloc((size_t)a->nseeds * np, sizeof(*res));
    int done = 0, status = NL_CLI_OK;
    for (; done < a->nseeds; done++) {
        struct nl_workload w = {0};
        struct nl_err err;
        nl_err_clear(&err);
        int rc = load_workload(a, a->seeds[done], fac, ten, &w, &err);
        if (rc < 0)
            fprintf(stderr, "nordlys sim: %s\n", err.msg);
        else
            rc = run_seed(a, pol, npol, fac, ten, &w, &res[(size_t)done * np]);
        nl_workload_release(&w);
        if (rc < 0) {
            status = NL_CLI_FAILED;
            break;
        }
    }
    bool violated = false;
    if (status == NL_CLI_OK) {
        for (size_t i = 0; i < (size_t)a->nseeds * np; i++)
            violated = violated || nl_sim_violations_total(&res[i]) > 0;
        report(a, res, npol, baseline_index(a, pol, npol));
        if (a->out != NULL && write_series(a, res, npol) < 0)
            status = NL_CLI_FAILED;
    }
    for (size_t i = 0; i < (size_t)done * np; i++)
        nl_sim_result_release(&res[i]);
    free(res);
    if (violated) {
        fprintf(stderr, "nordlys sim: invariant violations found (see \"violations\")\n");
        status = NL_CLI_FAILED;
    }
    return status;
}

int cmd_sim(int argc, char **argv)
{
    struct sim_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc > 0 ? NL_CLI_OK : NL_CLI_USAGE;
    enum nl_policy pol[NL_POLICY_COUNT];
    int npol = parse_policies(a.policies, pol);
    if (npol < 0)
        return NL_CLI_USAGE;
    if (a.baseline != NULL && baseline_index(&a, pol, npol) < 0) {
        fprintf(stderr, "nordlys sim: --baseline %s: not among the policies run (--policy)\n",
                a.baseline);
        return NL_CLI_USAGE;
    }
    struct nl_err err;
    nl_err_clear(&err);
    if (a.budget_schedule != NULL) {
        char *text;
        size_t len;
        rc = nl_file_read(a.budget_schedule, SIM_CONF_MAX_BYTES, &text, &len, &err);
        if (rc == 0) {
            rc = simpower_schedule_parse(text, len, a.budget_schedule, &a.sched, &err);
            free(text);
        }
        if (rc < 0) {
            fprintf(stderr, "nordlys sim: --budget-schedule: %s\n", err.msg);
            return NL_CLI_FAILED;
        }
    }
    struct nl_facility *fac = load_facility(&a, &err);
    struct nl_tenants *ten = fac ? load_tenants(&a, nl_facility_gpus(fac), &err) : NULL;
    int status = NL_CLI_FAILED;
    if (fac == NULL || ten == NULL)
        fprintf(stderr, "nordlys sim: %s\n", err.msg);
    else
        status = run_all(&a, pol, npol, fac, ten);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
    simpower_schedule_release(&a.sched);
    return status;
}
