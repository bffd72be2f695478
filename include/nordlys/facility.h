/* SPDX-License-Identifier: MIT */
/*
 * facility.h - the physical facility: sites, pods, racks, nodes, GPUs and
 * their power limits.
 *
 * A facility changes only by growing (nl_facility_grow). The hierarchy is
 *
 *     facility > site > pod (spine group) > rack (NVLink domain) > node > GPU
 *
 * Each site has a uniform shape (racks of nodes_per_rack nodes of
 * gpus_per_node GPUs, grouped racks_per_pod to a pod, the last pod possibly
 * partial), so positions are index arithmetic and no per-GPU object exists.
 * Site names are lower-case letters, digits and '_' (no '-', which
 * separates the parts of node names). Nodes, racks and pods are numbered globally, site by site: node
 * n of the facility is in rack n / nodes_per_rack of its site, and so on.
 * The NVL72 rack of the reference deployment is 18 nodes ("trays") of 4
 * GPUs; a classic HGX cluster is racks of 8-GPU nodes.
 *
 * Free/allocated state lives in the scheduler, not here: one facility can
 * back several schedulers (the simulator runs policies side by side).
 *
 * Jurisdictions are two-letter codes ("NO", "UK", "SE", ...). A site's EEA
 * membership is derived from its code (EU-27 plus NO, IS, LI).
 */
#ifndef NL_NORDLYS_FACILITY_H
#define NL_NORDLYS_FACILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;

/* Limits on what a facility spec may ask for; each keeps an index type small. */
#define NL_SITES_MAX       32   /* a job's eligible sites are a 32-bit mask */
#define NL_NAME_MAX        32   /* names of facilities, sites, tenants, tiers */
#define NL_GPUS_PER_NODE_MAX 8  /* a node's free GPUs are an 8-bit mask */
#define NL_NODES_PER_RACK_MAX 64 /* a rack's free count fits in uint16 */
#define NL_RACKS_PER_POD_MAX 1024
#define NL_GPUS_MAX        (64u * 1000u * 1000u) /* 6.4e7: 10x the 10 GW plans */

struct nl_site_spec {
    char name[NL_NAME_MAX];
    char jurisdiction[3]; /* ISO-style two-letter code, upper case */
    uint32_t racks;         /* NVLink domains in the site */
    uint32_t racks_per_pod; /* racks under one spine group; the last pod may be partial */
    uint32_t nodes_per_rack;
    uint32_t gpus_per_node;
    double power_w; /* site power limit (facility power, PUE applied); 0 = none */
};

struct nl_facility_spec {
    char name[NL_NAME_MAX];
    double power_budget_w; /* facility power budget, PUE applied; 0 = none */
    double pue;            /* facility power = IT power x pue; >= 1 */
    double gpu_busy_w;     /* IT draw of one busy GPU with its share of node and rack */
    double gpu_idle_w;     /* IT draw of one idle GPU with its share */
    double rack_power_w;   /* per-rack IT power limit; 0 = none */
    /*
     * Power distribution and cooling below the site (docs/power.md). Rows
     * and loops are runs of consecutive racks of one site; their limits are
     * IT watts (heat a loop rejects is the IT draw of its racks). 0 = none.
     */
    uint32_t racks_per_row;  /* racks on one power-distribution row (0: no row level) */
    double row_power_w;      /* per-row IT limit */
    uint32_t racks_per_loop; /* racks on one closed liquid-cooling loop (0: no loop level) */
    double loop_power_w;     /* per-loop heat-rejection capacity */
    /* Lowest per-GPU power cap, as a fraction of gpu_busy_w; 0 means the default 0.6. */
    double gpu_cap_min;
    /*
     * Outside-temperature PUE: with a climate ("narvik"), PUE(T) = pue +
     * pue_per_c x max(0, T - pue_free_c) for the month's mean temperature T;
     * with none ("") PUE is the constant pue. See nl_facility_pue_at.
     */
    char climate[16];
    double pue_free_c, pue_per_c;
    /* Grid carbon intensity for emissions, gCO2 per kWh drawn; 0 = unknown (docs/power.md). */
    double grid_gco2_per_kwh;
    size_t nsites;
    struct nl_site_spec sites[NL_SITES_MAX];
};

/* Read-only description of one site, with its global index ranges. */
struct nl_site_info {
    const char *name;         /* borrowed, valid for the facility's lifetime */
    const char *jurisdiction; /* borrowed, likewise */
    bool eea;
    uint32_t racks_per_pod, nodes_per_rack, gpus_per_node;
    uint32_t gpus_per_rack;
    uint32_t first_pod, first_rack, first_node;
    uint64_t first_gpu;
    uint32_t npods, nracks, nnodes;
    uint64_t ngpus;
    double power_w;
};

/* Position of one node, from nl_facility_node_pos(). */
struct nl_node_pos {
    uint32_t site, pod, rack, node; /* global indexes */
    uint32_t rack_in_pod, node_in_rack;
};

/*
 * Fill spec with a built-in preset: "dev", "narvik" (1,389 NVL72 racks =
 * 100,008 GPUs, 230 MW), "narvik-2" (520 MW, ~250k GPUs), "loughton" (UK,
 * ~23k GPUs), "gw10" (10 GW, ~5 million GPUs over several sites).
 * Returns 0, or -ENOENT with err naming the preset and listing the known ones.
 */
int nl_facility_preset(const char *name, struct nl_facility_spec *spec, struct nl_err *err);

/* NULL-terminated list of preset names; borrowed, static. */
const char *const *nl_facility_preset_names(void);

/*
 * Parse a facility file held in memory (text of len bytes). fname is used
 * only in messages. On error returns -EINVAL and err reads
 * "FNAME:LINE: FIELD: what is wrong". No I/O: the caller reads the file.
 * Format: see docs/facility-file.md.
 */
int nl_facility_parse(const char *text, size_t len, const char *fname,
                      struct nl_facility_spec *spec, struct nl_err *err);

/*
 * Spec for a small cluster of n_nodes nodes of gpus_per_node GPUs, in racks
 * of nodes_per_rack, one site in jurisdiction "NO", no power limits. Used to
 * replay a trace on a cluster like the one it came from.
 */
int nl_facility_spec_cluster(uint32_t n_nodes, uint32_t gpus_per_node, uint32_t nodes_per_rack,
                             struct nl_facility_spec *spec, struct nl_err *err);

/* Check every field of spec; -EINVAL with the field named on the first error. */
int nl_facility_spec_check(const struct nl_facility_spec *spec, struct nl_err *err);

/* Returns a new facility, destroy with nl_facility_destroy; NULL with err set on a bad spec. */
struct nl_facility *nl_facility_create(const struct nl_facility_spec *spec, struct nl_err *err);
void nl_facility_destroy(struct nl_facility *fac);

/*
 * Expansion: racks joining a running facility (docs/power.md). The racks
 * join the last site (taking its shape) or make a new site after it (from
 * the last site's shape and jurisdiction unless given), so every node,
 * rack, pod and GPU keeps its index and name; the new ones are numbered
 * after all others. Their power is added to the site's limit (a site
 * without one stays without) and to the facility's budget (likewise).
 */
struct nl_facility_growth {
    char site[NL_NAME_MAX];
    char jurisdiction[3];   /* a new site's; "" = the last site's */
    uint32_t racks;         /* >= 1 */
    uint32_t racks_per_pod, nodes_per_rack, gpus_per_node; /* 0 = the site's */
    double site_power_w;     /* added to the site's limit, facility power (PUE applied) */
    double facility_power_w; /* added to the facility's budget */
};

/*
 * Grow fac in place. Pointers and indexes it handed out stay valid;
 * nl_facility_spec then describes the grown facility (a facility created
 * from it is the same). Every scheduler over fac must catch up with
 * nl_sched_grow before its next call. 0, or -EINVAL with err naming the
 * field, and fac unchanged.
 */
int nl_facility_grow(struct nl_facility *fac, const struct nl_facility_growth *g,
                     struct nl_err *err);

/* Returns a borrowed spec, valid for the facility's lifetime. */
const struct nl_facility_spec *nl_facility_spec(const struct nl_facility *fac);
const char *nl_facility_name(const struct nl_facility *fac);
uint64_t nl_facility_gpus(const struct nl_facility *fac);
uint32_t nl_facility_nodes(const struct nl_facility *fac);
uint32_t nl_facility_racks(const struct nl_facility *fac);
uint32_t nl_facility_pods(const struct nl_facility *fac);
uint32_t nl_facility_nsites(const struct nl_facility *fac);
/* Largest gpus_per_node / gpus_per_rack over all sites. */
uint32_t nl_facility_max_gpus_per_rack(const struct nl_facility *fac);

/* Fill info for site (0 <= site < nsites). */
void nl_facility_site(const struct nl_facility *fac, uint32_t site, struct nl_site_info *info);
/* Site index by name, or -ENOENT. */
int nl_facility_site_find(const struct nl_facility *fac, const char *name);

/* Position of a global node index (node < nl_facility_nodes). */
void nl_facility_node_pos(const struct nl_facility *fac, uint32_t node, struct nl_node_pos *pos);
/* Site of a rack / node, by binary search over the site ranges. */
uint32_t nl_facility_rack_site(const struct nl_facility *fac, uint32_t rack);
uint32_t nl_facility_node_site(const struct nl_facility *fac, uint32_t node);
uint32_t nl_facility_node_gpus(const struct nl_facility *fac, uint32_t node);

/* Node name "site-pPP-rRRRR-nNN" into buf; returns buf. */
char *nl_facility_node_name(const struct nl_facility *fac, uint32_t node, char *buf, size_t size);
/* Global node index from a name made by nl_facility_node_name, or -ENOENT. */
int64_t nl_facility_node_find(const struct nl_facility *fac, const char *name);

/* The per-GPU cap floor in W: gpu_cap_min (or its default) x gpu_busy_w. */
double nl_facility_cap_min_w(const struct nl_facility_spec *spec);

/*
 * Mean outside temperature (deg C) of month (0 = January) in a named climate,
 * or NAN when the climate is unknown. Known: "narvik" (docs/power.md cites
 * the source).
 */
double nl_climate_month_c(const char *climate, int month);

/* PUE at a time (microseconds since the Unix epoch, UTC) under spec's climate. */
double nl_facility_pue_at(const struct nl_facility_spec *spec, int64_t unix_us);

/* True when jurisdiction (two letters) is a member of the EEA. */
bool nl_jurisdiction_eea(const char *jurisdiction);

#endif
