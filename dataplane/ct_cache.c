/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_errno.h>
#include <rte_malloc.h>

#include "dataplane/ct_cache.h"

static uint32_t
buckets(uint32_t entries)
{
	return rte_align32pow2(RTE_MAX(entries, (uint32_t)KD_CT_CACHE_WAYS) / KD_CT_CACHE_WAYS);
}

size_t
kd_ct_cache_memsize(uint32_t entries)
{
	return sizeof(struct kd_ct_cache) + (size_t)buckets(entries) * sizeof(struct kd_ct_cache_bucket);
}

struct kd_ct_cache *
kd_ct_cache_create(uint32_t entries, int socket)
{
	struct kd_ct_cache *cc;

	if (entries > (1u << 30)) {
		rte_errno = EINVAL;
		return NULL;
	}
	cc = rte_zmalloc_socket("kd_ct_cache", kd_ct_cache_memsize(entries), RTE_CACHE_LINE_SIZE,
				socket);
	if (cc == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	cc->mask = buckets(entries) - 1;
	return cc;
}

void
kd_ct_cache_free(struct kd_ct_cache *cc)
{
	rte_free(cc);
}

void
kd_ct_cache_fill(struct kd_ct_cache *cc, uint32_t hash, uint32_t data)
{
	struct kd_ct_cache_bucket *b = kd_ct_cache_bucket(cc, hash);
	unsigned int i, way = KD_CT_CACHE_WAYS;

	for (i = 0; i < KD_CT_CACHE_WAYS; i++) {
		if (b->hash[i] == hash) {
			way = i;
			break;
		}
		if (way == KD_CT_CACHE_WAYS && b->hash[i] == 0 && b->data[i] == 0)
			way = i;
	}
	if (way == KD_CT_CACHE_WAYS)
		way = cc->victim++ % KD_CT_CACHE_WAYS;
	b->hash[way] = hash;
	b->data[way] = data;
}

void
kd_ct_cache_forget(struct kd_ct_cache *cc, uint32_t hash)
{
	struct kd_ct_cache_bucket *b = kd_ct_cache_bucket(cc, hash);
	unsigned int i;

	for (i = 0; i < KD_CT_CACHE_WAYS; i++)
		if (b->hash[i] == hash) {
			b->hash[i] = 0;
			b->data[i] = 0;
		}
}
