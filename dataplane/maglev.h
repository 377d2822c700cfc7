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
 * The table size for n backends: the smallest of the primes 251, 509, 1021,
 * 2039, ... (each just below a power of two) that gives every backend at
 * least per_backend entries, and max where that is larger than max or
 * per_backend is 0. A function of n alone, so every node sizes a set alike.
 */
uint32_t kd_maglev_size(uint32_t n, uint32_t per_backend, uint32_t max);

/**
 * Fill table[0..m) with indices into keys[0..n). m must be prime and larger
 * than n; n may be 0 (the table is then all UINT32_MAX). 0 or -EINVAL/-ENOMEM.
 */
int kd_maglev_build(uint32_t *table, uint32_t m, const uint64_t *keys, uint32_t n);

#endif
