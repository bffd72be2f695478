/* SPDX-License-Identifier: MIT */
/*
 * sched_conf.c - set one scheduler knob from "key=value" text, so that the
 * simulator's --set and the controller's configuration share one spelling
 * and one validation (like Slurm's SchedulerParameters). No I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nordlys/err.h"
#include "conf.h"
#include "nordlys/sched.h"
#include "predict.h"

#define SEC 1000000LL

static int set_seconds(const char *key, const char *value, int64_t *out, struct nl_err *err)
{
    double d;
    int rc = conf_double(key, value, 1, 1e9, &d, err);
    if (rc == 0)
        *out = (int64_t)(d * (double)SEC);
    return rc;
}

int nl_sched_config_set(struct nl_sched_config *cfg, const char *kv, struct nl_err *err)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv)
        return nl_err_set(err, -EINVAL, "'%s': expected key=value", kv);
    char key[32];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof(key))
        return nl_err_set(err, -EINVAL, "'%.*s': no such scheduler setting", (int)klen, kv);
    memcpy(key, kv, klen);
    key[klen] = '\0';
    const char *v = eq + 1;
    if (strcmp(key, "w_tier") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->w_tier, err);
    if (strcmp(key, "w_fair") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->w_fair, err);
    if (strcmp(key, "w_age") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->w_age, err);
    if (strcmp(key, "w_size") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->w_size, err);
    if (strcmp(key, "w_limit") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->w_limit, err);
    if (strcmp(key, "age_ref") == 0)
        return set_seconds(key, v, &cfg->age_ref_us, err);
    if (strcmp(key, "fair_halflife") == 0)
        return set_seconds(key, v, &cfg->fair_halflife_us, err);
    if (strcmp(key, "topology_wait") == 0) {
        if (strcmp(v, "never") == 0) {
            cfg->topology_wait_us = -1;
            return 0;
        }
        double d;
        int rc = conf_double(key, v, 0, 1e9, &d, err);
        if (rc == 0)
            cfg->topology_wait_us = (int64_t)(d * (double)SEC);
        return rc;
    }
    if (strcmp(key, "reservations") == 0)
        return conf_u32(key, v, 0, 1024, &cfg->reservations, err);
    if (strcmp(key, "depth") == 0)
        return conf_u32(key, v, 0, UINT32_MAX, &cfg->depth, err);
    if (strcmp(key, "drain") == 0)
        return conf_u32(key, v, 0, 1024, &cfg->drain, err);
    if (strcmp(key, "shaped") == 0)
        return conf_bool(key, v, &cfg->shaped, err);
    if (strcmp(key, "shaped_max") == 0)
        return conf_u32(key, v, 0, 65536, &cfg->shaped_max, err);
    if (strcmp(key, "estimates") == 0)
        return conf_u32(key, v, 0, 100000, &cfg->estimates, err);
    if (strcmp(key, "preempt") == 0)
        return conf_bool(key, v, &cfg->preempt, err);
    if (strcmp(key, "power_capping") == 0)
        return conf_bool(key, v, &cfg->power_capping, err);
    if (strcmp(key, "power_claim") == 0)
        return conf_bool(key, v, &cfg->power_claim, err);
    if (strcmp(key, "power_margin") == 0)
        return conf_double(key, v, 0, 0.2, &cfg->power_margin, err);
    if (strcmp(key, "reclaim_ratio") == 0)
        return conf_double(key, v, 0, 1e9, &cfg->reclaim_ratio, err);
    if (strcmp(key, "drain_preempt") == 0)
        return conf_double(key, v, 0, 1, &cfg->drain_preempt, err);
    if (strcmp(key, "drain_preempt_gpus") == 0)
        return conf_u32(key, v, 0, UINT32_MAX, &cfg->drain_preempt_gpus, err);
    if (strcmp(key, "las") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->las_gpuh, err);
    if (strcmp(key, "las_queues") == 0)
        return conf_u32(key, v, 2, 8, &cfg->las_queues, err);
    if (strcmp(key, "las_min_run") == 0)
        return set_seconds(key, v, &cfg->las_min_run_us, err);
    if (strcmp(key, "w_las") == 0)
        return conf_double(key, v, 0, 1e12, &cfg->w_las, err);
    if (strcmp(key, "predict") == 0)
        return conf_u32(key, v, 0, PREDICT_HISTORY_MAX, &cfg->predict, err);
    if (strcmp(key, "predict_q") == 0)
        return conf_double(key, v, 0.01, 1, &cfg->predict_q, err);
    if (strcmp(key, "topology") == 0)
        return conf_bool(key, v, &cfg->topology, err);
    if (strcmp(key, "quotas") == 0)
        return conf_bool(key, v, &cfg->quotas, err);
    return nl_err_set(err, -EINVAL,
                      "'%s': no such scheduler setting (w_tier, w_fair, w_age, w_size, w_limit, age_ref, "
                      "fair_halflife, topology_wait, reservations, depth, drain, shaped, shaped_max, estimates, preempt, reclaim_ratio, drain_preempt, drain_preempt_gpus, las, las_queues, las_min_run, w_las, predict, predict_q, topology, quotas, power_capping, power_claim, power_margin)",
                      key);
}
