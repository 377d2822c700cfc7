/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_MAGLEV_H
#define KDPU_DATAPLANE_MAGLEV_H

/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of
 * prime size M in which every backend owns about M/N entries, filled from
 * per-backend permutations so that removing one backend moves little more
 * than that backend's own entries. Backends are identified by a stable key
 * (an endpoint's address and port), never by their position in a list, so
 * the table depends only on the set of backends. Built by the control
 * thread; the packet path only indexes it with a flow hash.
 */

#include <stdbool.h>
#include <stdint.h>

/** Whether n is prime; table sizes must be. */
bool kd_maglev_is_prime(uint32_t n);

/**
 * Fill table[0..m) with indices into keys[0..n). m must be prime and larger
 * than n; n may be 0 (the table is then all UINT32_MAX). 0 or -EINVAL/-ENOMEM.
 */
int kd_maglev_build(uint32_t *table, uint32_t m, const uint64_t *keys, uint32_t n);

#endif
