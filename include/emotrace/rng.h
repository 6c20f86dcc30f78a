/* Deterministic random numbers (xoshiro256**), so that training, augmentation
 * and synthetic data are reproducible from a seed. */
#ifndef EMOTRACE_RNG_H
#define EMOTRACE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} et_rng;

void et_rng_seed(et_rng *rng, uint64_t seed);
uint64_t et_rng_next(et_rng *rng);
/* Uniform in [0, 1). */
double et_rng_uniform(et_rng *rng);
/* Uniform integer in [0, n). */
uint32_t et_rng_below(et_rng *rng, uint32_t n);
/* Standard normal. */
double et_rng_normal(et_rng *rng);

#endif
