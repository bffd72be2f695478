/* SPDX-License-Identifier: MIT */
/*
 * quota.h - live usage per tenant: GPUs held against the nominal quota and
 * borrowing limit, decayed usage for fair share, and accounting (internal).
 *
 * A tenant's GPUs beyond its nominal quota are "borrowed": its running
 * jobs may be preempted to give guaranteed capacity back to tenants inside
 * their quota. Decayed usage halves every half-life:
 *     U(t + dt) = U(t) x 2^(-dt/H) + held GPUs x dt
 * and drives the fair-share factor 2^-(U_t / U_all) / (w_t / w_all)).
 */
#ifndef NL_CORE_QUOTA_H
#define NL_CORE_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_tenants;

struct quota_tenant {
    uint64_t quota, limit; /* nominal; nominal + borrowing */
    uint32_t tier;
    double weight;
    uint64_t alloc;        /* GPUs held now */
    uint64_t alloc_preemptible; /* of which by jobs marked preemptible */
    uint64_t pending, running;
    double usage;          /* decayed GPU-seconds */
    double gpu_s;          /* GPU-seconds since creation */
    double energy_wh;
};

struct quota {
    struct quota_tenant *t;
    size_t n;
    double weight_total;
    int64_t halflife_us;
    int64_t last_us;
    double pue_busy_w;     /* energy per busy GPU per second, W (PUE applied) */
};

void quota_init(struct quota *q, const struct nl_tenants *tenants, int64_t halflife_us,
                double pue_busy_w);
void quota_release(struct quota *q);
/* Decay usage and accumulate accounting up to now. O(tenants). */
void quota_advance(struct quota *q, int64_t now_us);
/* Would gpus more keep tenant within quota + borrowing? */
bool quota_fits(const struct quota *q, uint32_t tenant, uint64_t gpus);
/* Would gpus more keep tenant within its nominal (guaranteed) quota? */
bool quota_guaranteed(const struct quota *q, uint32_t tenant, uint64_t gpus);
/* GPUs the tenant holds beyond its quota. */
uint64_t quota_over(const struct quota *q, uint32_t tenant);
/* Fair-share factor in (0, 1]: 1 for a tenant that used nothing. */
double quota_fair(const struct quota *q, uint32_t tenant);

#endif
