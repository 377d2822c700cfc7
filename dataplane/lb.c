/* SPDX-License-Identifier: Apache-2.0 */
/* rte_hash_rcu_qsbr_add() is still experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API 1
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/lb.h"

struct kd_lb *kd_lb_live;

/* One client's pinned endpoint for one frontend. */
struct aff_key {
	rte_be32_t client;
	rte_be32_t ip;
	rte_be16_t port;
	uint8_t proto;
	uint8_t pad;
};

/*
 * Values live beside the hash, indexed by key position; a deleted
 * position is reused only after a grace period (rte_hash's RCU mode), so a
 * reader never sees another client's value under its key.
 */
struct aff_val {
	uint64_t backend;	/* ip << 16 | port, network order fields */
	uint64_t expires;	/* TSC */
};

static struct {
	struct rte_hash *hash;
	struct aff_val *val;
	rte_spinlock_t lock;	/* writers: workers adding, the control thread aging */
	uint64_t hz;
} aff;

const struct kd_lb_frontend *
kd_lb_lookup(const struct kd_lb *lb, rte_be32_t ip, rte_be16_t port, uint8_t proto)
{
	struct kd_lb_key k = { .ip = ip, .port = port, .proto = proto };
	void *data;

	if (lb == NULL || __atomic_load_n(&lb->n_fe, __ATOMIC_RELAXED) == 0 ||
	    rte_hash_lookup_data(lb->hash, &k, &data) < 0)
		return NULL;
	return data;
}

struct kd_lb *
kd_lb_create(const char *name, uint32_t capacity, rte_be32_t hairpin_ip, rte_be32_t node_ip)
{
	/*
	 * Lock-free readers with one writer. The extendable table means an add
	 * fails only when capacity keys are in, never on a cuckoo path, so the
	 * compiler can check room before it changes anything.
	 */
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(capacity, 64u),
		.key_len = sizeof(struct kd_lb_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct kd_lb *lb = calloc(1, sizeof(*lb));

	if (lb == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	lb->hash = rte_hash_create(&hp);
	if (lb->hash == NULL) {
		free(lb);
		return NULL;
	}
	lb->capacity = capacity;
	lb->hairpin_ip = hairpin_ip;
	lb->node_ip = node_ip;
	return lb;
}

void
kd_lb_free(struct kd_lb *lb)
{
	if (lb == NULL)
		return;
	rte_hash_free(lb->hash);
	free(lb);
}

int
kd_lb_set(struct kd_lb *lb, const struct kd_lb_frontend *fe)
{
	int32_t pos;
	bool had = rte_hash_lookup(lb->hash, &fe->key) >= 0;

	if (!had && lb->n_fe >= lb->capacity)
		return -ENOSPC;
	pos = rte_hash_add_key_data(lb->hash, &fe->key, (void *)(uintptr_t)fe);
	if (pos != 0)
		return -ENOSPC;
	if (!had)
		__atomic_store_n(&lb->n_fe, lb->n_fe + 1, __ATOMIC_RELAXED);
	return 0;
}

int32_t
kd_lb_unset(struct kd_lb *lb, const struct kd_lb_key *key)
{
	int32_t pos = rte_hash_del_key(lb->hash, key);

	if (pos < 0)
		return -ENOENT;
	__atomic_store_n(&lb->n_fe, lb->n_fe - 1, __ATOMIC_RELAXED);
	return pos;
}

void
kd_lb_reclaim(struct kd_lb *lb, int32_t slot)
{
	/* Lock-free mode keeps a deleted key's slot until readers are past it. */
	rte_hash_free_key_with_position(lb->hash, slot);
}

static uint64_t
pack(const struct kd_lb_backend *b)
{
	return (uint64_t)b->ip << 16 | b->port;
}

/* The pinned endpoint if it still takes connections from this frontend. */
static const struct kd_lb_backend *
affinity_get(const struct kd_lb_frontend *fe, uint8_t used, const struct aff_key *k,
	     uint64_t now)
{
	int32_t pos = rte_hash_lookup(aff.hash, k);
	uint64_t be;
	uint16_t i;

	if (pos < 0 || __atomic_load_n(&aff.val[pos].expires, __ATOMIC_RELAXED) < now)
		return NULL;
	be = __atomic_load_n(&aff.val[pos].backend, __ATOMIC_RELAXED);
	for (i = 0; i < fe->n_backends; i++)
		if ((fe->be[i].flags & used) && pack(&fe->be[i]) == be)
			return &fe->be[i];
	return NULL;
}

static void
affinity_set(const struct kd_lb_frontend *fe, const struct aff_key *k,
	     const struct kd_lb_backend *b, uint64_t now)
{
	int32_t pos;

	rte_spinlock_lock(&aff.lock);
	pos = rte_hash_add_key(aff.hash, k);
	if (pos >= 0) {
		__atomic_store_n(&aff.val[pos].backend, pack(b), __ATOMIC_RELAXED);
		__atomic_store_n(&aff.val[pos].expires, now + aff.hz * fe->affinity_s,
				 __ATOMIC_RELEASE);
	}
	rte_spinlock_unlock(&aff.lock);
}

const struct kd_lb_backend *
kd_lb_select(const struct kd_lb_frontend *fe, enum kd_lb_side side, rte_be32_t client,
	     uint32_t hash, uint64_t now)
{
	const struct kd_lb_pool *p = &fe->pool[side];
	const struct kd_lb_backend *b;
	struct aff_key k;

	if (unlikely(p->m == 0))
		return NULL;
	if (likely(!(fe->flags & KD_LB_F_AFFINITY)))
		return &p->be[p->maglev[hash % p->m]];
	k = (struct aff_key){ .client = client, .ip = fe->key.ip, .port = fe->key.port,
			      .proto = fe->key.proto };
	b = affinity_get(fe, (uint8_t)(KD_LB_EP_USED << side), &k, now);
	if (b == NULL) {
		/* The client alone picks the endpoint, so a re-pin after expiry is stable. */
		b = &p->be[p->maglev[rte_hash_crc_4byte(client, 0) % p->m]];
	}
	affinity_set(fe, &k, b, now);
	return b;
}

int
kd_lb_init(uint32_t capacity, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = "kd_lb_affinity",
		.entries = capacity,
		.key_len = sizeof(struct aff_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_rcu_config rc = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	int32_t max;

	if (capacity < 8 || qsbr == NULL)
		return -EINVAL;
	aff.hz = rte_get_tsc_hz();
	rte_spinlock_init(&aff.lock);
	aff.hash = rte_hash_create(&hp);
	if (aff.hash == NULL)
		return -rte_errno;
	if (rte_hash_rcu_qsbr_add(aff.hash, &rc) != 0)
		goto fail;
	max = rte_hash_max_key_id(aff.hash);
	aff.val = rte_zmalloc("kd_lb_affinity", sizeof(*aff.val) * ((size_t)max + 1), 0);
	if (max < 0 || aff.val == NULL)
		goto fail;
	return 0;
fail:
	kd_lb_fini();
	return -ENOMEM;
}

void
kd_lb_fini(void)
{
	rte_hash_free(aff.hash);
	rte_free(aff.val);
	aff.hash = NULL;
	aff.val = NULL;
}

unsigned int
kd_lb_affinity_age(uint64_t now)
{
	const void *key;
	void *data;
	uint32_t it = 0;
	unsigned int n = 0;
	int32_t pos;

	if (aff.hash == NULL)
		return 0;
	rte_spinlock_lock(&aff.lock);
	while ((pos = rte_hash_iterate(aff.hash, &key, &data, &it)) >= 0) {
		if (__atomic_load_n(&aff.val[pos].expires, __ATOMIC_RELAXED) >= now)
			continue;
		if (rte_hash_del_key(aff.hash, key) >= 0)
			n++;
	}
	rte_spinlock_unlock(&aff.lock);
	return n;
}

/*
 * Keys in the buckets, not rte_hash_count(): that also counts deleted keys
 * whose slots still wait out their grace period.
 */
uint32_t
kd_lb_affinity_count(void)
{
	const void *key;
	void *data;
	uint32_t it = 0, n = 0;

	if (aff.hash == NULL)
		return 0;
	rte_spinlock_lock(&aff.lock);
	while (rte_hash_iterate(aff.hash, &key, &data, &it) >= 0)
		n++;
	rte_spinlock_unlock(&aff.lock);
	return n;
}
