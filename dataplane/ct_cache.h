/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_CT_CACHE_H
#define KDPU_DATAPLANE_CT_CACHE_H

/*
 * A worker's cache in front of the connection table, as OVS's signature match
 * cache is in front of its classifier: buckets of eight (hash, key data)
 * pairs, one cache line each, that point straight at a connection record. A
 * lookup in the table waits on its bucket, then the key store, then the
 * record; a hit here waits on this bucket, then the record, whose own tuple
 * confirms the match (kd_ct_confirm). Entries are filled from the table's
 * hits and replaced in turn when a bucket is full; an entry may outlive its
 * connection, which the confirmation catches. One worker owns a cache and
 * nothing else reads it, so it takes no atomics and no RCU.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

#define KD_CT_CACHE_WAYS 8
#define KD_CT_CACHE_DEFAULT_MAX (1u << 22)	/* entries: 32 MiB */

struct kd_ct_cache_bucket {
	uint32_t hash[KD_CT_CACHE_WAYS];	/* kd_ct_hash() of the key; 0 and data 0: empty */
	uint32_t data[KD_CT_CACHE_WAYS];	/* the table's key data for it */
} __rte_cache_aligned;

struct kd_ct_cache {
	uint32_t mask;		/* buckets - 1 */
	uint32_t victim;	/* the way the next fill of a full bucket replaces */
	struct kd_ct_cache_bucket b[] __rte_cache_aligned;
};

/**
 * A cache of entries (rounded up to a power of two, at least one bucket) on
 * socket; NULL with rte_errno set.
 */
struct kd_ct_cache *kd_ct_cache_create(uint32_t entries, int socket);
void kd_ct_cache_free(struct kd_ct_cache *cc);

/** The default size for a table of capacity connections: one entry each, at most 32 MiB. */
static inline uint32_t
kd_ct_cache_default_entries(uint32_t capacity)
{
	return RTE_MIN(rte_align32pow2(capacity), KD_CT_CACHE_DEFAULT_MAX);
}

/** Bytes of hugepage memory a cache of entries takes. */
size_t kd_ct_cache_memsize(uint32_t entries);

static __rte_always_inline struct kd_ct_cache_bucket *
kd_ct_cache_bucket(const struct kd_ct_cache *cc, uint32_t hash)
{
	return (struct kd_ct_cache_bucket *)&cc->b[hash & cc->mask];
}

static __rte_always_inline void
kd_ct_cache_prefetch(const struct kd_ct_cache *cc, uint32_t hash)
{
	rte_prefetch0(kd_ct_cache_bucket(cc, hash));
}

/**
 * The key data cached for hash, in *data. An empty way reads as hash 0, data
 * 0: a key whose hash is 0 gets record 0 as its candidate, which
 * kd_ct_confirm() then refuses or accepts on the record's own tuple.
 */
static __rte_always_inline bool
kd_ct_cache_find(const struct kd_ct_cache *cc, uint32_t hash, uint32_t *data)
{
	const struct kd_ct_cache_bucket *b = kd_ct_cache_bucket(cc, hash);
#if defined(RTE_ARCH_X86)
	/*
	 * All eight ways at once, the first match winning as in the loop below:
	 * the loop's exit, at a different way for every flow, was a branch the
	 * predictor could not learn.
	 */
	__m128i h = _mm_set1_epi32((int)hash);
	__m128i lo = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&b->hash[0]), h);
	__m128i hi = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)&b->hash[4]), h);
	unsigned int m = (unsigned int)_mm_movemask_epi8(_mm_packs_epi32(lo, hi));

	RTE_BUILD_BUG_ON(KD_CT_CACHE_WAYS != 8);
	if (m == 0)
		return false;
	*data = b->data[__builtin_ctz(m) / 2];	/* two mask bits per way */
	return true;
#else
	unsigned int i;

	for (i = 0; i < KD_CT_CACHE_WAYS; i++)
		if (b->hash[i] == hash) {
			*data = b->data[i];
			return true;
		}
	return false;
#endif
}

/** Remember data for hash: in the way it had, else an empty one, else the next in turn. */
void kd_ct_cache_fill(struct kd_ct_cache *cc, uint32_t hash, uint32_t data);

/** Forget hash: the table no longer has its key. */
void kd_ct_cache_forget(struct kd_ct_cache *cc, uint32_t hash);

#endif
