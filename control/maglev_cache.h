/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_MAGLEV_CACHE_H
#define KDPU_CONTROL_MAGLEV_CACHE_H

/*
 * Maglev tables by endpoint set, kept from one Service build to the next.
 * A table depends only on its table size and the set of endpoint keys
 * (dataplane/maglev.h), so a Service that did not change, or two frontends
 * of one Service, reuse it instead of filling it again: a build then costs
 * little more than copying tables. Each build stamps the entries it uses
 * with its generation; kd_mcache_sweep() frees the others after a build.
 *
 * Control thread only.
 */

#include <stdint.h>

struct kd_mcache;

struct kd_mcache *kd_mcache_create(void);
void kd_mcache_free(struct kd_mcache *c);

/**
 * The table of size m over keys[0..n) (sorted ascending, n >= 1): m entries,
 * each an index into keys. Built on first use. NULL when out of memory.
 * Valid until the next kd_mcache_sweep() that does not keep it.
 */
const uint16_t *kd_mcache_get(struct kd_mcache *c, uint32_t m, const uint64_t *keys, uint32_t n,
			      uint64_t gen);

/** Free the tables that generation gen did not use. */
void kd_mcache_sweep(struct kd_mcache *c, uint64_t gen);

#endif
