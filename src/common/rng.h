/* SPDX-License-Identifier: MIT */
/*
 * rng.h - a small deterministic random source (xoshiro256** seeded by
 * splitmix64) for the simulator's synthetic workloads and property tests.
 * Same seed, same sequence, on every machine. Not for anything secret.
 */
#ifndef NL_COMMON_RNG_H
#define NL_COMMON_RNG_H

#include <stdint.h>

struct nl_rng {
    uint64_t s[4];
};

void nl_rng_seed(struct nl_rng *r, uint64_t seed);
uint64_t nl_rng_next(struct nl_rng *r);
/* Uniform in [0, 1). */
double nl_rng_unit(struct nl_rng *r);
/* Uniform integer in [lo, hi] (inclusive); lo <= hi. */
uint64_t nl_rng_range(struct nl_rng *r, uint64_t lo, uint64_t hi);
/* Log-uniform in [lo, hi], lo > 0. */
double nl_rng_loguniform(struct nl_rng *r, double lo, double hi);
/* Exponential with the given mean. */
double nl_rng_exp(struct nl_rng *r, double mean);
/* A 64-bit hash of bytes (FNV-1a then a splitmix64 finaliser), for stable mappings. */
uint64_t nl_hash64(const void *data, uint64_t len);

#endif
