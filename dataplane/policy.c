/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy classifier: tuple-space search over the prefix lengths in use,
 * as OVS's classifier does over its masks. One rte_hash holds every port's
 * and direction's prefixes, so a worker probes at most 33 keys, in one bulk
 * lookup that keeps their cache misses in flight together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "dataplane/policy.h"

/* Published by control/publish.c, read by the workers once per loop. */
struct kd_policy *kd_policy_live;

struct kd_pol_cls {
	struct rte_hash *hash;
	uint32_t capacity;
	uint32_t n;
};

_Static_assert(sizeof(struct kd_pol_key) == 8, "struct kd_pol_key has padding");

int
kd_pol_entry_cmp(const struct kd_pol_entry *a, const struct kd_pol_entry *b)
{
	if (a->proto != b->proto)
		return (int)a->proto - (int)b->proto;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return 0;
}

static int
entry_qcmp(const void *a, const void *b)
{
	return kd_pol_entry_cmp(a, b);
}

/* A hundred policies admitting the same peers on the same port cost a worker one entry. */
uint32_t
kd_pol_set_dedupe(struct kd_pol_entry *e, uint32_t n)
{
	uint32_t i, k = 0;

	for (i = 0; i < n; i++)
		if (k == 0 || e[k - 1].proto != e[i].proto || e[k - 1].lo != e[i].lo ||
		    e[k - 1].hi != e[i].hi)
			e[k++] = e[i];
	return k;
}

struct kd_pol_set *
kd_pol_set_new(const struct kd_pol_entry *e, uint32_t n)
{
	struct kd_pol_set *s = malloc(sizeof(*s) + n * sizeof(s->e[0]));

	if (s == NULL)
		return NULL;
	memcpy(s->e, e, n * sizeof(s->e[0]));
	qsort(s->e, n, sizeof(s->e[0]), entry_qcmp);
	s->n = kd_pol_set_dedupe(s->e, n);
	s->pad = 0;
	return s;
}

struct kd_pol_cls *
kd_pol_cls_create(const char *name, uint32_t capacity)
{
	/*
	 * Lock-free readers, one writer. With the extendable table an add fails
	 * only at capacity, which the compiler checks before it writes anything.
	 */
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(capacity, 64u),
		.key_len = sizeof(struct kd_pol_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct kd_pol_cls *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	c->hash = rte_hash_create(&hp);
	if (c->hash == NULL) {
		free(c);
		return NULL;
	}
	c->capacity = capacity;
	return c;
}

void
kd_pol_cls_free(struct kd_pol_cls *c)
{
	if (c == NULL)
		return;
	rte_hash_free(c->hash);
	free(c);
}

uint32_t
kd_pol_cls_count(const struct kd_pol_cls *c)
{
	return c->n;
}

int
kd_pol_cls_set(struct kd_pol_cls *c, const struct kd_pol_key *k, const struct kd_pol_set *s)
{
	bool had = rte_hash_lookup(c->hash, k) >= 0;

	if (!had && c->n >= c->capacity)
		return -ENOSPC;
	if (rte_hash_add_key_data(c->hash, k, (void *)(uintptr_t)s) != 0)
		return -ENOSPC;
	if (!had)
		c->n++;
	return 0;
}

int32_t
kd_pol_cls_unset(struct kd_pol_cls *c, const struct kd_pol_key *k)
{
	int32_t pos = rte_hash_del_key(c->hash, k);

	if (pos >= 0)
		c->n--;
	return pos;
}

void
kd_pol_cls_reclaim(struct kd_pol_cls *c, int32_t slot)
{
	/* Lock-free mode keeps a deleted key's slot until readers are past it. */
	rte_hash_free_key_with_position(c->hash, slot);
}

const struct kd_pol_set *
kd_pol_cls_get(const struct kd_pol_cls *c, const struct kd_pol_key *k)
{
	void *data;

	if (rte_hash_lookup_data(c->hash, k, &data) < 0)
		return NULL;
	return data;
}

static inline uint32_t
scan(const struct kd_pol_set *s, uint8_t proto, uint16_t dport)
{
	uint32_t i;

	for (i = 0; i < s->n; i++) {
		const struct kd_pol_entry *e = &s->e[i];

		if ((e->proto == 0 || e->proto == proto) && dport >= e->lo && dport <= e->hi)
			return e->id;
	}
	return KD_POL_DENY;
}

uint32_t
kd_pol_cls_match(const struct kd_pol_cls *c, uint16_t port, uint8_t dir, uint64_t lens,
		 uint32_t peer, uint8_t proto, uint16_t dport)
{
	struct kd_pol_key keys[33];
	const void *kp[33];
	void *data[33];
	uint64_t hits = 0;
	unsigned int n = 0, i;
	uint32_t id;

	/* Longest prefix first, so the most specific rule names the policy. */
	while (lens != 0 && n < RTE_DIM(keys)) {
		unsigned int len = 63u - (unsigned int)__builtin_clzll(lens);

		lens &= ~(1ull << len);
		keys[n] = (struct kd_pol_key){
			.net = len == 0 ? 0 : peer & (~0u << (32 - len)),
			.port = port, .dir = dir, .plen = (uint8_t)len,
		};
		kp[n] = &keys[n];
		n++;
	}
	if (n == 1) {
		if (rte_hash_lookup_data(c->hash, &keys[0], &data[0]) < 0)
			return KD_POL_DENY;
		return scan(data[0], proto, dport);
	}
	if (rte_hash_lookup_bulk_data(c->hash, kp, n, &hits, data) <= 0)
		return KD_POL_DENY;
	for (i = 0; i < n; i++)
		if ((hits & (1ull << i)) && (id = scan(data[i], proto, dport)) != KD_POL_DENY)
			return id;
	return KD_POL_DENY;
}
