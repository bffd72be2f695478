/* SPDX-License-Identifier: MIT */
/*
 * tenant.h - tiers and tenants with their quotas.
 *
 * A tier is a named priority class; a lower rank is a stronger claim
 * (sovereign 0, anchor 1, regional 2 in the reference). A tenant belongs to
 * one tier and has a nominal GPU quota (guaranteed: the scheduler preempts
 * borrowed work to give it back), a borrowing limit (GPUs it may use beyond
 * its quota while they are idle; that work is preemptible), a fair-share
 * weight, a home jurisdiction (informational) and the jurisdictions its
 * jobs may run in (a bound on placement, beside each job's residency).
 *
 * A tenants set is built once and then read-only; the scheduler keeps the
 * live usage. Tenants and tiers are addressed by index (0..count-1) in the
 * order they were added.
 */
#ifndef NL_NORDLYS_TENANT_H
#define NL_NORDLYS_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nordlys/facility.h"

struct nl_err;

#define NL_TIERS_MAX   16
#define NL_TENANTS_MAX 4096 /* tenant indexes fit in uint16 in job records */
/* Allowed-jurisdiction entries per tenant: room for every EEA member and more. */
#define NL_TENANT_JUR_MAX 40

struct nl_tier_spec {
    char name[NL_NAME_MAX];
    uint32_t rank; /* 0 is the strongest claim */
};

struct nl_tenant_spec {
    char name[NL_NAME_MAX];
    uint32_t tier;        /* index into the tiers */
    uint64_t quota_gpus;  /* nominal, guaranteed */
    uint64_t borrow_gpus; /* may use up to quota + borrow */
    double weight;        /* fair-share weight, > 0 */
    char jurisdiction[3]; /* home jurisdiction: informational, does not bound placement */
    /*
     * Where its jobs may run: each entry a two-letter code or "EEA" (the
     * same words as a job's residency); none means any jurisdiction. A
     * site must satisfy one entry and the job's residency.
     */
    uint32_t njurisdictions;
    char jurisdictions[NL_TENANT_JUR_MAX][4];
};

/*
 * Parse an allowed-jurisdictions list into t: "any", or comma-separated
 * two-letter codes and "EEA" (case-insensitive, spaces around entries
 * allowed). -EINVAL naming "jurisdictions" for an empty, unknown, repeated
 * or excess entry; t is unchanged then.
 */
int nl_tenant_jurisdictions_parse(const char *text, struct nl_tenant_spec *t, struct nl_err *err);
/* True when a site in jurisdiction (two letters, EEA flag) is allowed for t. */
bool nl_tenant_allows(const struct nl_tenant_spec *t, const char *jurisdiction, bool eea);
/* t's allowed jurisdictions as "NO,EEA" or "any", cut to size; returns buf. */
const char *nl_tenant_jurisdictions_str(const struct nl_tenant_spec *t, char *buf, size_t size);

/* Returns a new empty set, destroy with nl_tenants_destroy. */
struct nl_tenants *nl_tenants_create(void);
void nl_tenants_destroy(struct nl_tenants *t);

/* Add a tier; returns its index, or -EEXIST / -ENOSPC / -EINVAL with err set. */
int nl_tenants_add_tier(struct nl_tenants *t, const struct nl_tier_spec *tier, struct nl_err *err);
/* Add a tenant; returns its index, or a negative code with err naming the field. */
int nl_tenants_add(struct nl_tenants *t, const struct nl_tenant_spec *spec, struct nl_err *err);

size_t nl_tenants_count(const struct nl_tenants *t);
size_t nl_tenants_tier_count(const struct nl_tenants *t);
/* Borrowed pointers, valid until the set is destroyed or added to. */
const struct nl_tenant_spec *nl_tenants_get(const struct nl_tenants *t, uint32_t idx);
const struct nl_tier_spec *nl_tenants_tier(const struct nl_tenants *t, uint32_t idx);
/* Index by name, or -ENOENT. */
int nl_tenants_find(const struct nl_tenants *t, const char *name);
int nl_tenants_tier_find(const struct nl_tenants *t, const char *name);

/*
 * The reference tenants for a facility of total_gpus GPUs: tiers sovereign,
 * anchor, regional, and tenants
 *   nor-research (sovereign, 25% quota), nor-startups (sovereign, 10%),
 *   anchor (anchor, 40%), uk (regional, 5%), nordics (regional, 5%),
 *   ne-europe (regional, 5%),
 * with borrowing up to the whole facility. Returns a new set, destroy with
 * nl_tenants_destroy.
 */
struct nl_tenants *nl_tenants_default(uint64_t total_gpus);

/*
 * Parse a tenants file held in memory; returns a new set (destroy with
 * nl_tenants_destroy) or NULL with err "FNAME:LINE: FIELD: what is wrong".
 * Format: see docs/workloads.md, "Tenants files".
 */
struct nl_tenants *nl_tenants_parse(const char *text, size_t len, const char *fname,
                                    struct nl_err *err);

#endif
