#include "emotrace/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void et_rng_seed(et_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t et_rng_next(et_rng *rng)
{
    uint64_t *s = rng->s;
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

double et_rng_uniform(et_rng *rng)
{
    return (double)(et_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

uint32_t et_rng_below(et_rng *rng, uint32_t n)
{
    return n ? (uint32_t)(((et_rng_next(rng) >> 32) * (uint64_t)n) >> 32) : 0;
}

double et_rng_normal(et_rng *rng)
{
    /* Box-Muller; one value per call keeps the stream simple to reproduce. */
    double u1 = et_rng_uniform(rng), u2 = et_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
