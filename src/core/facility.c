/* SPDX-License-Identifier: MIT */
/*
 * facility.c - the immutable facility: spec validation, global index
 * ranges per site, positions and names of nodes.
 *
 * No per-GPU or per-node object exists here: a node's site, pod and rack
 * follow from its global index and the site ranges, so a 5-million-GPU
 * facility costs a few hundred bytes.
 */
#include "nordlys/facility.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "nordlys/err.h"

struct nl_facility {
    struct nl_facility_spec spec;
    struct nl_site_info site[NL_SITES_MAX];
    uint32_t nnodes, nracks, npods;
    uint64_t ngpus;
    uint32_t max_gpus_per_rack;
};

/* EU-27 plus the EEA members outside the EU (Norway, Iceland, Liechtenstein). */
static const char *const eea_codes[] = {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "IS", "LI",
};

bool nl_jurisdiction_eea(const char *jurisdiction)
{
    for (size_t i = 0; i < sizeof(eea_codes) / sizeof(eea_codes[0]); i++)
        if (strcmp(jurisdiction, eea_codes[i]) == 0)
            return true;
    return false;
}

static int check_site(const struct nl_site_spec *st, size_t i, struct nl_err *err)
{
    if (st->name[0] == '\0')
        return nl_err_set(err, -EINVAL, "site %zu: name: missing", i);
    for (const char *p = st->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return nl_err_set(err, -EINVAL, "site %s: name: may hold only a-z, 0-9 and '_'",
                              st->name);
    if (strlen(st->jurisdiction) != 2)
        return nl_err_set(err, -EINVAL, "site %s: jurisdiction: missing", st->name);
    if (st->gpus_per_node < 1 || st->gpus_per_node > NL_GPUS_PER_NODE_MAX)
        return nl_err_set(err, -EINVAL, "site %s: gpus_per_node: %u is outside 1..%d", st->name,
                          st->gpus_per_node, NL_GPUS_PER_NODE_MAX);
    if (st->nodes_per_rack < 1 || st->nodes_per_rack > NL_NODES_PER_RACK_MAX)
        return nl_err_set(err, -EINVAL, "site %s: nodes_per_rack: %u is outside 1..%d", st->name,
                          st->nodes_per_rack, NL_NODES_PER_RACK_MAX);
    if (st->racks_per_pod < 1 || st->racks_per_pod > NL_RACKS_PER_POD_MAX)
        return nl_err_set(err, -EINVAL, "site %s: racks_per_pod: %u is outside 1..%d", st->name,
                          st->racks_per_pod, NL_RACKS_PER_POD_MAX);
    if (st->racks < 1)
        return nl_err_set(err, -EINVAL, "site %s: racks: must be at least 1", st->name);
    if (!(st->power_w >= 0))
        return nl_err_set(err, -EINVAL, "site %s: power: must not be negative", st->name);
    return 0;
}

int nl_facility_spec_check(const struct nl_facility_spec *spec, struct nl_err *err)
{
    if (spec->name[0] == '\0')
        return nl_err_set(err, -EINVAL, "name: missing");
    if (spec->nsites < 1 || spec->nsites > NL_SITES_MAX)
        return nl_err_set(err, -EINVAL, "sites: %zu sites, expected 1..%d", spec->nsites,
                          NL_SITES_MAX);
    if (!(spec->pue >= 1.0 && spec->pue <= 3.0))
        return nl_err_set(err, -EINVAL, "pue: %g is outside 1..3", spec->pue);
    if (!(spec->gpu_busy_w > 0) || !(spec->gpu_idle_w >= 0) ||
        spec->gpu_idle_w > spec->gpu_busy_w)
        return nl_err_set(err, -EINVAL, "gpu_busy_w/gpu_idle_w: need busy > 0 and 0 <= idle <= busy");
    if (!(spec->power_budget_w >= 0) || !(spec->rack_power_w >= 0) ||
        !(spec->row_power_w >= 0) || !(spec->loop_power_w >= 0))
        return nl_err_set(err, -EINVAL, "power: budgets must not be negative");
    if (!(spec->gpu_cap_min >= 0 && spec->gpu_cap_min <= 1))
        return nl_err_set(err, -EINVAL, "gpu_cap_min: %g is outside 0..1", spec->gpu_cap_min);
    uint64_t gpus = 0;
    for (size_t i = 0; i < spec->nsites; i++) {
        const struct nl_site_spec *st = &spec->sites[i];
        int rc = check_site(st, i, err);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->sites[j].name, st->name) == 0)
                return nl_err_set(err, -EINVAL, "site %s: name: defined twice", st->name);
        uint64_t rack_gpus = (uint64_t)st->nodes_per_rack * st->gpus_per_node;
        if (rack_gpus > 0xffff)
            return nl_err_set(err, -EINVAL, "site %s: a rack of %llu GPUs is over 65535", st->name,
                              (unsigned long long)rack_gpus);
        if (spec->rack_power_w > 0 && spec->rack_power_w < rack_gpus * spec->gpu_idle_w)
            return nl_err_set(err, -EINVAL,
                              "rack_power_w: %g W is below the idle draw of a rack of site %s",
                              spec->rack_power_w, st->name);
        gpus += (uint64_t)st->racks * rack_gpus;
        if (gpus > NL_GPUS_MAX)
            return nl_err_set(err, -EINVAL, "site %s: the facility exceeds %u GPUs", st->name,
                              NL_GPUS_MAX);
    }
    return 0;
}

/* Site ranges from the spec: sites numbered in order, each after the last. */
static void layout(struct nl_facility *fac)
{
    fac->nnodes = fac->nracks = fac->npods = 0;
    fac->ngpus = 0;
    fac->max_gpus_per_rack = 0;
    for (size_t i = 0; i < fac->spec.nsites; i++) {
        const struct nl_site_spec *st = &fac->spec.sites[i];
        struct nl_site_info *si = &fac->site[i];
        si->name = st->name;
        si->jurisdiction = st->jurisdiction;
        si->eea = nl_jurisdiction_eea(st->jurisdiction);
        si->racks_per_pod = st->racks_per_pod;
        si->nodes_per_rack = st->nodes_per_rack;
        si->gpus_per_node = st->gpus_per_node;
        si->gpus_per_rack = st->nodes_per_rack * st->gpus_per_node;
        si->nracks = st->racks;
        si->npods = (st->racks + st->racks_per_pod - 1) / st->racks_per_pod;
        si->nnodes = st->racks * st->nodes_per_rack;
        si->ngpus = (uint64_t)si->nnodes * st->gpus_per_node;
        si->first_pod = fac->npods;
        si->first_rack = fac->nracks;
        si->first_node = fac->nnodes;
        si->first_gpu = fac->ngpus;
        si->power_w = st->power_w;
        fac->npods += si->npods;
        fac->nracks += si->nracks;
        fac->nnodes += si->nnodes;
        fac->ngpus += si->ngpus;
        if (si->gpus_per_rack > fac->max_gpus_per_rack)
            fac->max_gpus_per_rack = si->gpus_per_rack;
    }
}

struct nl_facility *nl_facility_create(const struct nl_facility_spec *spec, struct nl_err *err)
{
    if (nl_facility_spec_check(spec, err) < 0)
        return NULL;
    struct nl_facility *fac = xcalloc(1, sizeof(*fac));
    fac->spec = *spec;
    layout(fac);
    return fac;
}

/* A shape field of a growth: 0 takes the site's own, anything else must equal it. */
static int same_shape(const char *field, uint32_t want, uint32_t *have, const char *site,
                      bool is_new, struct nl_err *err)
{
    if (want == 0 || want == *have)
        return 0;
    if (is_new) {
        *have = want;
        return 0;
    }
    return nl_err_set(err, -EINVAL, "%s: %u differs from site %s's %u (added racks take their site's shape)",
                      field, want, site, *have);
}

int nl_facility_grow(struct nl_facility *fac, const struct nl_facility_growth *g,
                     struct nl_err *err)
{
    if (g->racks < 1)
        return nl_err_set(err, -EINVAL, "racks: must be at least 1");
    if (!(g->site_power_w >= 0) || !(g->facility_power_w >= 0))
        return nl_err_set(err, -EINVAL, "power: must not be negative");
    struct nl_facility_spec next = fac->spec;
    int s = nl_facility_site_find(fac, g->site);
    bool is_new = s < 0;
    struct nl_site_spec *st;
    if (is_new) {
        if (next.nsites >= NL_SITES_MAX)
            return nl_err_set(err, -EINVAL, "site: %s would be site %zu of at most %d", g->site,
                              next.nsites + 1, NL_SITES_MAX);
        st = &next.sites[next.nsites++];
        /* A new site starts from the last one's shape and jurisdiction. */
        *st = next.sites[next.nsites - 2];
        if (strlen(g->site) >= sizeof(st->name))
            return nl_err_set(err, -EINVAL, "site: name longer than %d characters",
                              NL_NAME_MAX - 1);
        snprintf(st->name, sizeof(st->name), "%s", g->site);
        if (g->jurisdiction[0] != '\0')
            snprintf(st->jurisdiction, sizeof(st->jurisdiction), "%s", g->jurisdiction);
        st->racks = 0;
        st->power_w = 0;
    } else {
        /*
         * Only the last site can grow in place: nodes, racks and pods are
         * numbered site by site, and racks inserted before another site's
         * would renumber it under running jobs.
         */
        if ((size_t)s != next.nsites - 1)
            return nl_err_set(err, -EINVAL,
                              "site: %s is not the last site (%s): racks join the last site or "
                              "a new one, so that no node is renumbered",
                              g->site, next.sites[next.nsites - 1].name);
        st = &next.sites[s];
        if (g->jurisdiction[0] != '\0' && strcmp(g->jurisdiction, st->jurisdiction) != 0)
            return nl_err_set(err, -EINVAL, "jurisdiction: %s differs from site %s's %s",
                              g->jurisdiction, st->name, st->jurisdiction);
    }
    int rc;
    if ((rc = same_shape("racks_per_pod", g->racks_per_pod, &st->racks_per_pod, st->name, is_new,
                         err)) < 0 ||
        (rc = same_shape("nodes_per_rack", g->nodes_per_rack, &st->nodes_per_rack, st->name,
                         is_new, err)) < 0 ||
        (rc = same_shape("gpus_per_node", g->gpus_per_node, &st->gpus_per_node, st->name, is_new,
                         err)) < 0)
        return rc;
    if (st->racks > UINT32_MAX - g->racks)
        return nl_err_set(err, -EINVAL, "racks: %u more is too many", g->racks);
    st->racks += g->racks;
    /* A site without a limit stays without one; a new site's limit is its power. */
    if (is_new || st->power_w > 0)
        st->power_w += g->site_power_w;
    if (next.power_budget_w > 0)
        next.power_budget_w += g->facility_power_w;
    if ((rc = nl_facility_spec_check(&next, err)) < 0)
        return rc;
    fac->spec = next;
    layout(fac);
    return 0;
}

void nl_facility_destroy(struct nl_facility *fac)
{
    free(fac);
}

const struct nl_facility_spec *nl_facility_spec(const struct nl_facility *fac)
{
    return &fac->spec;
}

const char *nl_facility_name(const struct nl_facility *fac)
{
    return fac->spec.name;
}

uint64_t nl_facility_gpus(const struct nl_facility *fac)
{
    return fac->ngpus;
}

uint32_t nl_facility_nodes(const struct nl_facility *fac)
{
    return fac->nnodes;
}

uint32_t nl_facility_racks(const struct nl_facility *fac)
{
    return fac->nracks;
}

uint32_t nl_facility_pods(const struct nl_facility *fac)
{
    return fac->npods;
}

uint32_t nl_facility_nsites(const struct nl_facility *fac)
{
    return (uint32_t)fac->spec.nsites;
}

uint32_t nl_facility_max_gpus_per_rack(const struct nl_facility *fac)
{
    return fac->max_gpus_per_rack;
}

void nl_facility_site(const struct nl_facility *fac, uint32_t site, struct nl_site_info *info)
{
    *info = fac->site[site];
}

int nl_facility_site_find(const struct nl_facility *fac, const char *name)
{
    for (size_t i = 0; i < fac->spec.nsites; i++)
        if (strcmp(fac->spec.sites[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

/*
 * The site whose range holds index i, sites being in index order: the last
 * site whose first index (first_node, or first_rack when `racks`) is <= i.
 */
static uint32_t site_of(const struct nl_facility *fac, uint32_t i, bool racks)
{
    uint32_t lo = 0, hi = (uint32_t)fac->spec.nsites - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if ((racks ? fac->site[mid].first_rack : fac->site[mid].first_node) <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

uint32_t nl_facility_node_site(const struct nl_facility *fac, uint32_t node)
{
    return site_of(fac, node, false);
}

uint32_t nl_facility_rack_site(const struct nl_facility *fac, uint32_t rack)
{
    return site_of(fac, rack, true);
}

uint32_t nl_facility_node_gpus(const struct nl_facility *fac, uint32_t node)
{
    return fac->site[nl_facility_node_site(fac, node)].gpus_per_node;
}

void nl_facility_node_pos(const struct nl_facility *fac, uint32_t node, struct nl_node_pos *pos)
{
    uint32_t s = nl_facility_node_site(fac, node);
    const struct nl_site_info *si = &fac->site[s];
    uint32_t local = node - si->first_node;
    uint32_t rack_local = local / si->nodes_per_rack;
    pos->site = s;
    pos->node = node;
    pos->node_in_rack = local % si->nodes_per_rack;
    pos->rack = si->first_rack + rack_local;
    pos->rack_in_pod = rack_local % si->racks_per_pod;
    pos->pod = si->first_pod + rack_local / si->racks_per_pod;
}

char *nl_facility_node_name(const struct nl_facility *fac, uint32_t node, char *buf, size_t size)
{
    struct nl_node_pos pos;
    nl_facility_node_pos(fac, node, &pos);
    const struct nl_site_info *si = &fac->site[pos.site];
    snprintf(buf, size, "%s-p%03u-r%03u-n%02u", si->name, pos.pod - si->first_pod,
             pos.rack_in_pod, pos.node_in_rack);
    return buf;
}

int64_t nl_facility_node_find(const struct nl_facility *fac, const char *name)
{
    const char *dash = strchr(name, '-');
    if (dash == NULL || (size_t)(dash - name) >= NL_NAME_MAX)
        return -ENOENT;
    char site[NL_NAME_MAX];
    memcpy(site, name, (size_t)(dash - name));
    site[dash - name] = '\0';
    int s = nl_facility_site_find(fac, site);
    if (s < 0)
        return -ENOENT;
    unsigned pod, rack, node;
    char tail;
    if (sscanf(dash, "-p%u-r%u-n%u%c", &pod, &rack, &node, &tail) != 3)
        return -ENOENT;
    const struct nl_site_info *si = &fac->site[s];
    uint64_t rack_local = (uint64_t)pod * si->racks_per_pod + rack;
    if (rack >= si->racks_per_pod || node >= si->nodes_per_rack || rack_local >= si->nracks)
        return -ENOENT;
    int64_t idx = (int64_t)si->first_node + (int64_t)rack_local * si->nodes_per_rack + node;
    /* Only the canonical spelling is accepted, so each node has one name. */
    char canon[96];
    nl_facility_node_name(fac, (uint32_t)idx, canon, sizeof(canon));
    return strcmp(canon, name) == 0 ? idx : -ENOENT;
}
