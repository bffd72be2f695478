/* SPDX-License-Identifier: MIT */
/*
 * preset.c - the built-in facilities, the facility file format, and small
 * clusters for replaying a trace where it came from.
 *
 * Power figures. An NVL72 rack of GB200-class GPUs draws ~120-140 kW at
 * full load with direct-to-chip liquid cooling; 1,800 W per GPU carries its
 * share of CPUs, NVLink switches and NICs (72 x 1.8 kW = 130 kW per rack),
 * and an idle GPU with its share draws ~350 W. So narvik's 100,008 GPUs
 * draw at most 180 MW of IT power, 198 MW with a PUE of 1.1: inside the
 * 230 MW phase-1 budget, which binds once the budget shrinks (a grid event)
 * or the PUE rises.
 */
#include "nordlys/facility.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "nordlys/err.h"

#define MW 1e6

static const char *const preset_names[] = {"dev", "narvik", "narvik-2", "loughton", "gw10", NULL};

const char *const *nl_facility_preset_names(void)
{
    return preset_names;
}

static void base(struct nl_facility_spec *spec, const char *name, double budget_w, double pue)
{
    memset(spec, 0, sizeof(*spec));
    snprintf(spec->name, sizeof(spec->name), "%s", name);
    spec->power_budget_w = budget_w;
    spec->pue = pue;
    spec->gpu_busy_w = 1800;
    spec->gpu_idle_w = 350;
    spec->rack_power_w = 140e3;
    spec->gpu_cap_min = 0.6;
    spec->pue_free_c = 5;
    spec->pue_per_c = 0.01;
}

/*
 * Power distribution and cooling of an NVL72 hall: rows of 16 racks on a
 * 2.2 MW busway (16 x 130 kW = 2.08 MW at nameplate), four rows to a closed
 * liquid loop rejecting 8.6 MW. Neither binds at nameplate on its own; they
 * bind under oversubscription or a facility file that says so.
 */
static void nvl72_power(struct nl_facility_spec *spec)
{
    spec->racks_per_row = 16;
    spec->row_power_w = 2.2 * MW;
    spec->racks_per_loop = 64;
    spec->loop_power_w = 8.6 * MW;
}

/* Add an NVL72 site: racks of 18 nodes ("trays") of 4 GPUs, 8 racks to a pod (576 GPUs). */
static void nvl72_site(struct nl_facility_spec *spec, const char *name, const char *jur,
                       uint32_t racks, double power_w)
{
    struct nl_site_spec *st = &spec->sites[spec->nsites++];
    snprintf(st->name, sizeof(st->name), "%s", name);
    snprintf(st->jurisdiction, sizeof(st->jurisdiction), "%s", jur);
    st->racks = racks;
    st->racks_per_pod = 8;
    st->nodes_per_rack = 18;
    st->gpus_per_node = 4;
    st->power_w = power_w;
}

int nl_facility_preset(const char *name, struct nl_facility_spec *spec, struct nl_err *err)
{
    if (strcmp(name, "dev") == 0) {
        /* A laptop: 2 racks of 2 nodes of 4 GPUs = 16 GPUs. */
        base(spec, "dev", 0.05 * MW, 1.1);
        struct nl_site_spec *st = &spec->sites[spec->nsites++];
        snprintf(st->name, sizeof(st->name), "dev");
        snprintf(st->jurisdiction, sizeof(st->jurisdiction), "NO");
        st->racks = 2;
        st->racks_per_pod = 2;
        st->nodes_per_rack = 2;
        st->gpus_per_node = 4;
        st->power_w = 0.05 * MW;
        spec->rack_power_w = 0;
    } else if (strcmp(name, "narvik") == 0) {
        base(spec, "narvik", 230 * MW, 1.1);
        nvl72_power(spec);
        snprintf(spec->climate, sizeof(spec->climate), "narvik");
        nvl72_site(spec, "narvik", "NO", 1389, 230 * MW); /* 100,008 GPUs */
    } else if (strcmp(name, "narvik-2") == 0) {
        /* Phase 1 plus the 290 MW expansion: 3,472 racks = 249,984 GPUs, 495 MW at full load. */
        base(spec, "narvik-2", 520 * MW, 1.1);
        nvl72_power(spec);
        snprintf(spec->climate, sizeof(spec->climate), "narvik");
        nvl72_site(spec, "narvik1", "NO", 1389, 230 * MW);
        nvl72_site(spec, "narvik2", "NO", 2083, 290 * MW);
    } else if (strcmp(name, "loughton") == 0) {
        /* UK sister site: 320 racks = 23,040 GB200; a warmer climate, PUE 1.2. */
        base(spec, "loughton", 55 * MW, 1.2);
        nvl72_site(spec, "loughton", "UK", 320, 55 * MW);
    } else if (strcmp(name, "gw10") == 0) {
        /*
         * 10 GW plans: 69,445 racks = 5,000,040 GPUs over five sites in
         * four EEA jurisdictions and the UK; 9.9 GW at full load.
         */
        base(spec, "gw10", 10000 * MW, 1.1);
        nvl72_site(spec, "no1", "NO", 20000, 2900 * MW);
        nvl72_site(spec, "se1", "SE", 15000, 2150 * MW);
        nvl72_site(spec, "fi1", "FI", 15000, 2150 * MW);
        nvl72_site(spec, "de1", "DE", 10000, 1450 * MW);
        nvl72_site(spec, "uk1", "UK", 9445, 1370 * MW);
    } else {
        return nl_err_set(err, -ENOENT,
                          "facility: no preset '%s' (known: dev, narvik, narvik-2, loughton, gw10)",
                          name);
    }
    return 0;
}

int nl_facility_spec_cluster(uint32_t n_nodes, uint32_t gpus_per_node, uint32_t nodes_per_rack,
                             struct nl_facility_spec *spec, struct nl_err *err)
{
    if (n_nodes < 1)
        return nl_err_set(err, -EINVAL, "nodes: must be at least 1");
    if (nodes_per_rack < 1 || n_nodes % nodes_per_rack != 0)
        return nl_err_set(err, -EINVAL, "nodes: %u is not a multiple of %u nodes per rack",
                          n_nodes, nodes_per_rack);
    base(spec, "cluster", 0, 1.1);
    spec->rack_power_w = 0;
    struct nl_site_spec *st = &spec->sites[spec->nsites++];
    snprintf(st->name, sizeof(st->name), "cluster");
    snprintf(st->jurisdiction, sizeof(st->jurisdiction), "NO");
    st->racks = n_nodes / nodes_per_rack;
    st->racks_per_pod = 8;
    st->nodes_per_rack = nodes_per_rack;
    st->gpus_per_node = gpus_per_node;
    return nl_facility_spec_check(spec, err);
}

/* --- facility files ------------------------------------------------------ */

struct fparse {
    struct nl_facility_spec *spec;
    struct nl_site_spec *site; /* current [site NAME] section, or NULL */
};

static int facility_key(struct nl_facility_spec *spec, const struct conf_item *it,
                        struct nl_err *err)
{
    const char *k = it->key, *v = it->value;
    if (strcmp(k, "name") == 0)
        return conf_name(k, v, true, spec->name, sizeof(spec->name), err);
    if (strcmp(k, "power_budget_mw") == 0) {
        int rc = conf_double(k, v, 0, 1e6, &spec->power_budget_w, err);
        spec->power_budget_w *= MW;
        return rc;
    }
    if (strcmp(k, "pue") == 0)
        return conf_double(k, v, 1.0, 3.0, &spec->pue, err);
    if (strcmp(k, "gpu_busy_w") == 0)
        return conf_double(k, v, 1, 1e5, &spec->gpu_busy_w, err);
    if (strcmp(k, "gpu_idle_w") == 0)
        return conf_double(k, v, 0, 1e5, &spec->gpu_idle_w, err);
    if (strcmp(k, "rack_power_kw") == 0) {
        int rc = conf_double(k, v, 0, 1e5, &spec->rack_power_w, err);
        spec->rack_power_w *= 1e3;
        return rc;
    }
    if (strcmp(k, "racks_per_row") == 0)
        return conf_u32(k, v, 0, NL_GPUS_MAX, &spec->racks_per_row, err);
    if (strcmp(k, "row_power_kw") == 0) {
        int rc = conf_double(k, v, 0, 1e7, &spec->row_power_w, err);
        spec->row_power_w *= 1e3;
        return rc;
    }
    if (strcmp(k, "racks_per_loop") == 0)
        return conf_u32(k, v, 0, NL_GPUS_MAX, &spec->racks_per_loop, err);
    if (strcmp(k, "loop_power_kw") == 0) {
        int rc = conf_double(k, v, 0, 1e7, &spec->loop_power_w, err);
        spec->loop_power_w *= 1e3;
        return rc;
    }
    if (strcmp(k, "gpu_cap_min") == 0)
        return conf_double(k, v, 0.1, 1.0, &spec->gpu_cap_min, err);
    if (strcmp(k, "climate") == 0) {
        if (v[0] != '\0' && isnan(nl_climate_month_c(v, 0)))
            return nl_err_set(err, -EINVAL, "climate: '%s' is not known (known: narvik)", v);
        snprintf(spec->climate, sizeof(spec->climate), "%s", v);
        return 0;
    }
    if (strcmp(k, "grid_gco2_per_kwh") == 0)
        return conf_double(k, v, 0, 2000, &spec->grid_gco2_per_kwh, err);
    if (strcmp(k, "pue_free_c") == 0)
        return conf_double(k, v, -50, 50, &spec->pue_free_c, err);
    if (strcmp(k, "pue_per_c") == 0)
        return conf_double(k, v, 0, 0.2, &spec->pue_per_c, err);
    return nl_err_set(err, -EINVAL, "%s: unknown facility key", k);
}

static int site_key(struct nl_site_spec *st, const struct conf_item *it, struct nl_err *err)
{
    const char *k = it->key, *v = it->value;
    if (strcmp(k, "jurisdiction") == 0)
        return conf_jurisdiction(k, v, st->jurisdiction, err);
    if (strcmp(k, "racks") == 0)
        return conf_u32(k, v, 1, NL_GPUS_MAX, &st->racks, err);
    if (strcmp(k, "racks_per_pod") == 0)
        return conf_u32(k, v, 1, NL_RACKS_PER_POD_MAX, &st->racks_per_pod, err);
    if (strcmp(k, "nodes_per_rack") == 0)
        return conf_u32(k, v, 1, NL_NODES_PER_RACK_MAX, &st->nodes_per_rack, err);
    if (strcmp(k, "gpus_per_node") == 0)
        return conf_u32(k, v, 1, NL_GPUS_PER_NODE_MAX, &st->gpus_per_node, err);
    if (strcmp(k, "power_mw") == 0) {
        int rc = conf_double(k, v, 0, 1e6, &st->power_w, err);
        st->power_w *= MW;
        return rc;
    }
    return nl_err_set(err, -EINVAL, "%s: unknown site key", k);
}

static int facility_item(void *arg, const struct conf_item *it, struct nl_err *err)
{
    struct fparse *fp = arg;
    if (it->key == NULL) {
        if (strcmp(it->kind, "site") != 0)
            return nl_err_set(err, -EINVAL, "[%s]: unknown section (expected [site NAME])",
                              it->kind);
        if (fp->spec->nsites >= NL_SITES_MAX)
            return nl_err_set(err, -EINVAL, "[site %s]: more than %d sites", it->name,
                              NL_SITES_MAX);
        fp->site = &fp->spec->sites[fp->spec->nsites++];
        memset(fp->site, 0, sizeof(*fp->site));
        fp->site->racks_per_pod = 8;
        fp->site->nodes_per_rack = 18;
        fp->site->gpus_per_node = 4;
        return conf_name("site", it->name, false, fp->site->name, sizeof(fp->site->name), err);
    }
    if (fp->site == NULL)
        return facility_key(fp->spec, it, err);
    return site_key(fp->site, it, err);
}

int nl_facility_parse(const char *text, size_t len, const char *fname,
                      struct nl_facility_spec *spec, struct nl_err *err)
{
    struct nl_facility_spec tmp;
    base(&tmp, "", 0, 1.1);
    struct fparse fp = {.spec = &tmp, .site = NULL};
    int rc = conf_parse(text, len, fname, facility_item, &fp, err);
    if (rc < 0)
        return rc;
    if (tmp.name[0] == '\0')
        return nl_err_set(err, -EINVAL, "%s: name: missing (add 'name = ...')", fname);
    if (tmp.nsites == 0)
        return nl_err_set(err, -EINVAL, "%s: sites: no [site NAME] section", fname);
    for (size_t i = 0; i < tmp.nsites; i++)
        if (tmp.sites[i].racks == 0)
            return nl_err_set(err, -EINVAL, "%s: site %s: racks: missing", fname,
                              tmp.sites[i].name);
        else if (tmp.sites[i].jurisdiction[0] == '\0')
            return nl_err_set(err, -EINVAL, "%s: site %s: jurisdiction: missing", fname,
                              tmp.sites[i].name);
    rc = nl_facility_spec_check(&tmp, err);
    if (rc < 0)
        return nl_err_prefix(err, "%s: ", fname);
    *spec = tmp;
    return 0;
}
