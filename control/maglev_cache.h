/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_MAGLEV_CACHE_H
#define KDPU_CONTROL_MAGLEV_CACHE_H

/*
 * Maglev tables by endpoint set, kept from one Service build to the next.
 * A table depends only on its table size and the set of endpoint keys
 * (dataplane/maglev.h), so a Service that did not change, or two frontends
 * of one Service, share it instead of filling it again. Tables are
 * refcounted: a built table set holds a reference on each table its pools
 * point to, and drops it when it is released, after the grace period that
 * retires it; a table no set holds is freed.
 *
 * Control thread only.
 */

#include <stdint.h>

struct kd_maglev_cache;

struct kd_maglev_cache *kd_maglev_cache_create(void);
void kd_maglev_cache_free(struct kd_maglev_cache *c);

/**
 * The table of size m over keys[0..n) (sorted ascending, n >= 1): m entries,
 * each an index into keys, with a reference taken. Built on first use.
 * NULL when out of memory.
 */
const uint16_t *kd_maglev_cache_get(struct kd_maglev_cache *c, uint32_t m, const uint64_t *keys,
			      uint32_t n);

/** Drop a reference kd_maglev_cache_get() took; the last one frees the table. */
void kd_maglev_cache_put(struct kd_maglev_cache *c, const uint16_t *t);

/** Tables held, for tests. */
uint32_t kd_maglev_cache_count(const struct kd_maglev_cache *c);

#endif
