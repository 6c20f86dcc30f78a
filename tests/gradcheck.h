/* Finite-difference gradient checks for nets built from architecture JSON. */
#ifndef EMOTRACE_GRADCHECK_H
#define EMOTRACE_GRADCHECK_H

#include <stdint.h>

/* Builds the net, fills the input and parameters with random values, and
 * compares the analytic gradient of L = sum(out * R) (R random, fixed) with
 * central differences for every parameter value and input value (up to
 * max_checks of each, sampled). train selects training-mode forward (batch
 * statistics; dropout masks are held fixed by reseeding). Returns the worst
 * relative error ||a - n|| / max(||a|| + ||n||, tiny) over all checked
 * tensors, or a negative value if the net could not be built. */
double gradcheck_net(const char *arch_json, int batch, int seq_len, int train, uint64_t seed, int max_checks);

#endif
