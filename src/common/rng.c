/* SPDX-License-Identifier: MIT */
/* rng.c - see rng.h. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void nl_rng_seed(struct nl_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t nl_rng_next(struct nl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nl_rng_unit(struct nl_rng *r)
{
    /* The top 53 bits make every double in [0, 1) on the 2^-53 grid equally likely. */
    return (double)(nl_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t nl_rng_range(struct nl_rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    if (span == 0)
        return nl_rng_next(r);
    return lo + nl_rng_next(r) % span;
}

double nl_rng_loguniform(struct nl_rng *r, double lo, double hi)
{
    return exp(log(lo) + nl_rng_unit(r) * (log(hi) - log(lo)));
}

double nl_rng_exp(struct nl_rng *r, double mean)
{
    return -mean * log(1.0 - nl_rng_unit(r));
}

uint64_t nl_hash64(const void *data, uint64_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint64_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return splitmix64(&h);
}
