/* SPDX-License-Identifier: Apache-2.0 */
/* rte_rcu_qsbr's defer queue is still marked experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API 1
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_cache.h"

/*
 * Key data: record index << 2 | translated << 1 | direction. The translated
 * bit says, before the record is read, whether its line 1 will be. Indices
 * stay under 2^30, so it fits the 32 bits a worker's cache keeps.
 */
/* Every protocol without a tracker of its own is "other" (OVS's l4_protos[]). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
const struct kd_ct_proto *const kd_ct_protos[UINT8_MAX + 1] = {
	[0 ... UINT8_MAX] = &kd_ct_proto_other,
	[IPPROTO_TCP] = &kd_ct_proto_tcp,
	[IPPROTO_UDP] = &kd_ct_proto_udp,
	[IPPROTO_ICMP] = &kd_ct_proto_icmp,
};
#pragma GCC diagnostic pop

#define AGE_SLICE 64
/*
 * Each worker sweeps its aging range once a second, AGE_SLICE records at a
 * time, rather than a slice every loop: a loaded worker used to read two
 * records per packet for it. Lookups check expiry themselves, so the pace
 * delays only the freeing of room; a table over 3/4 full is swept every loop.
 */
#define AGE_SWEEP_S 1

#define DATA(idx, nat, dir) \
	((void *)(uintptr_t)(((uintptr_t)(idx) << 2) | ((uintptr_t)(nat) << 1) | (dir)))
#define DATA_IDX(d) ((uint32_t)((uintptr_t)(d) >> 2))
#define DATA_NAT(d) (((uintptr_t)(d) >> 1) & 1)
#define DATA_DIR(d) ((uint8_t)((uintptr_t)(d) & 1))

/* A deleted record waiting out its grace period: its key slots and its index. */
struct dead {
	uint32_t idx;
	int32_t pos[2];
};

size_t
kd_ct_memsize(uint32_t capacity)
{
	/*
	 * What kd_ct_create allocates, following rte_hash's own layout for two
	 * keys per record: buckets of 8 slots (64 bytes) doubled by the
	 * extendable table, a 32-byte key store entry per key, and its free-slot
	 * rings; then the records, our free ring and the RCU defer queue.
	 */
	size_t keys = (size_t)capacity * 2;
	size_t buckets = rte_align64pow2(keys) / 8;
	size_t sum = buckets * 64 * 2 + (keys + 1) * 32 + rte_align64pow2(keys + 1) * 4 +
		     (buckets + 1) * 4 + (size_t)capacity * sizeof(struct kd_ct_conn) +
		     rte_align64pow2((uint64_t)capacity + 1) * (sizeof(void *) + 24);

	/* Ring headers, alignment and rte_hash's bookkeeping: measured within 10%. */
	return sum + sum / 10;
}

/* The defer queue's free function: every reader has moved on. Writer lock held. */
static void
reclaim(void *p, void *e, unsigned int n)
{
	struct kd_ct *ct = p;
	struct dead *d = e;
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < 2; j++)
			if (d[i].pos[j] >= 0)
				rte_hash_free_key_with_position(ct->hash, d[i].pos[j]);
		rte_ring_sp_enqueue(ct->free, (void *)(uintptr_t)d[i].idx);
	}
}

static uint64_t
secs(const struct kd_ct *ct, uint32_t s)
{
	return ct->hz * s;
}

struct kd_ct *
kd_ct_create(const char *name, uint32_t capacity, const struct kd_ct_timeouts *t,
	     struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.entries = capacity * 2,
		.key_len = sizeof(struct kd_ct_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		/* Lock-free lookups; writers are serialised by ct->wlock. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_rcu_qsbr_dq_parameters dp = {
		.size = capacity,
		.esize = sizeof(struct dead),
		.trigger_reclaim_limit = 32,
		.max_reclaim_size = 64,
		.free_fn = reclaim,
		.v = qsbr,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
	};
	char n[RTE_HASH_NAMESIZE];
	struct kd_ct *ct;
	uint32_t i;

	if (capacity == 0 || capacity > (1u << 30) || qsbr == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	ct = rte_zmalloc("kd_ct", sizeof(*ct), RTE_CACHE_LINE_SIZE);
	if (ct == NULL)
		goto nomem;
	ct->capacity = capacity;
	ct->tmo_s = *t;
	ct->hz = rte_get_tsc_hz();
	ct->conn = rte_zmalloc("kd_ct_conn", sizeof(*ct->conn) * capacity, RTE_CACHE_LINE_SIZE);
	snprintf(n, sizeof(n), "%s_free", name);
	ct->free = rte_ring_create(n, rte_align32pow2(capacity + 1), (int)rte_socket_id(),
				   RING_F_EXACT_SZ);
	hp.name = name;
	ct->hash = rte_hash_create(&hp);
	snprintf(n, sizeof(n), "%s_dq", name);
	dp.name = n;
	dp.p = ct;
	ct->dq = rte_rcu_qsbr_dq_create(&dp);
	if (ct->conn == NULL || ct->free == NULL || ct->hash == NULL || ct->dq == NULL)
		goto nomem;
	rte_spinlock_init(&ct->wlock);
	for (i = 0; i < KD_CT_TCP_STATE_MAX; i++)
		ct->tmo[i] = secs(ct, t->tcp[i]);
	ct->tmo[KD_CT_T_UDP_UNREPLIED] = secs(ct, t->udp_unreplied);
	ct->tmo[KD_CT_T_UDP_REPLIED] = secs(ct, t->udp_replied);
	ct->tmo[KD_CT_T_ICMP] = secs(ct, t->icmp);
	ct->tmo[KD_CT_T_OTHER_UNREPLIED] = secs(ct, t->other_unreplied);
	ct->tmo[KD_CT_T_OTHER_REPLIED] = secs(ct, t->other_replied);
	for (i = 0; i < capacity; i++) {
		rte_spinlock_init(&ct->conn[i].lock);
		rte_ring_enqueue(ct->free, (void *)(uintptr_t)i);
	}
	return ct;
nomem:
	kd_ct_free(ct);
	rte_errno = ENOMEM;
	return NULL;
}

void
kd_ct_free(struct kd_ct *ct)
{
	if (ct == NULL)
		return;
	if (ct->dq != NULL)
		rte_rcu_qsbr_dq_delete(ct->dq);
	rte_hash_free(ct->hash);
	rte_ring_free(ct->free);
	rte_free(ct->conn);
	rte_free(ct);
}

uint32_t
kd_ct_count(const struct kd_ct *ct)
{
	return __atomic_load_n(&ct->n_live, __ATOMIC_RELAXED);
}

/* What a hit's packet will read: line 0, and line 1 if translated or TCP. */
static __rte_always_inline void
found(const struct kd_ct *ct, const struct kd_ct_key *k, uintptr_t data, uint32_t *idx,
      uint8_t *dir)
{
	const struct kd_ct_conn *c = &ct->conn[DATA_IDX(data)];

	rte_prefetch0(c);
	if (DATA_NAT(data) || k->proto == IPPROTO_TCP)
		rte_prefetch0(&c->key[KD_CT_REPLY]);
	*idx = DATA_IDX(data);
	*dir = DATA_DIR(data);
}

unsigned int
kd_ct_lookup_burst(struct kd_ct *ct, struct kd_ct_cache *cc, const struct kd_ct_key *const *keys,
		   const uint32_t *hash, unsigned int n, uint32_t *idx, uint8_t *dir)
{
	const struct kd_ct_key *mkey[RTE_HASH_LOOKUP_BULK_MAX];
	hash_sig_t mhash[RTE_HASH_LOOKUP_BULK_MAX];
	uint8_t at[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned int i, j, k, done, misses = 0;
	uint64_t hits;

	for (done = 0; done < n; done += k) {
		unsigned int m = 0;

		k = RTE_MIN(n - done, (unsigned int)RTE_HASH_LOOKUP_BULK_MAX);

		for (i = 0; i < k; i++) {
			uint32_t d;

			if (cc != NULL && kd_ct_cache_find(cc, hash[done + i], &d)) {
				found(ct, keys[done + i], d, &idx[done + i], &dir[done + i]);
				continue;
			}
			mkey[m] = keys[done + i];
			mhash[m] = hash[done + i];
			at[m++] = (uint8_t)i;
		}
		misses += m;
		if (m == 0)
			continue;
		hits = 0;
		rte_hash_lookup_with_hash_bulk_data(ct->hash, (const void **)(uintptr_t)mkey, mhash,
						    m, &hits, data);
		for (j = 0; j < m; j++) {
			unsigned int x = done + at[j];

			if (!(hits & (1ULL << j))) {
				idx[x] = UINT32_MAX;
				continue;
			}
			found(ct, keys[x], (uintptr_t)data[j], &idx[x], &dir[x]);
			if (cc != NULL)
				kd_ct_cache_fill(cc, hash[x], (uint32_t)(uintptr_t)data[j]);
		}
	}
	return misses;
}

void
kd_ct_lookup_table(struct kd_ct *ct, struct kd_ct_cache *cc, const struct kd_ct_key *key,
		   uint32_t hash, uint32_t *idx, uint8_t *dir)
{
	void *data;

	if (rte_hash_lookup_with_hash_data(ct->hash, key, hash, &data) < 0) {
		*idx = UINT32_MAX;
		if (cc != NULL)
			kd_ct_cache_forget(cc, hash);
		return;
	}
	found(ct, key, (uintptr_t)data, idx, dir);
	if (cc != NULL)
		kd_ct_cache_fill(cc, hash, (uint32_t)(uintptr_t)data);
}

static void
reclaim_locked(struct kd_ct *ct)
{
	unsigned int freed = 0, pending = 0, avail = 0;

	rte_rcu_qsbr_dq_reclaim(ct->dq, UINT32_MAX, &freed, &pending, &avail);
	ct->n_dead = pending;
}

void
kd_ct_reclaim(struct kd_ct *ct)
{
	if (ct->n_dead == 0 || !rte_spinlock_trylock(&ct->wlock))
		return;
	reclaim_locked(ct);
	rte_spinlock_unlock(&ct->wlock);
}

int
kd_ct_insert_with_hash(struct kd_ct *ct, const struct kd_ct_key *key, uint32_t key_hash,
		       const struct kd_ct_key *reply, uint16_t hop, uint64_t now,
		       uint32_t *found, uint8_t *found_dir)
{
	struct kd_ct_key rev;
	struct kd_ct_conn *c;
	hash_sig_t hk, hr;
	uint8_t flags = KD_CT_F_USED;
	bool nat;
	int32_t pos;
	void *slot;
	uint32_t idx;
	int ret;

	kd_ct_key_reverse(&rev, key);
	if (reply == NULL)
		reply = &rev;
	else if (memcmp(reply, &rev, sizeof(rev)) != 0)
		flags |= KD_CT_F_NAT;
	hk = key_hash;
	hr = kd_ct_hash(reply);
	rte_spinlock_lock(&ct->wlock);
	/* Single writer from here: check-then-add cannot race another insert. */
	if (rte_hash_lookup_with_hash_data(ct->hash, key, hk, &slot) >= 0) {
		*found = DATA_IDX(slot);
		*found_dir = DATA_DIR(slot);
		ret = -EEXIST;
		goto out;
	}
	if (rte_hash_lookup_with_hash(ct->hash, reply, hr) >= 0) {
		*found = UINT32_MAX;	/* the reply tuple belongs to another connection */
		ret = -EEXIST;
		goto out;
	}
	if (rte_ring_sc_dequeue(ct->free, &slot) != 0) {
		reclaim_locked(ct);
		if (rte_ring_sc_dequeue(ct->free, &slot) != 0) {
			ret = -ENOSPC;
			goto out;
		}
	}
	idx = (uint32_t)(uintptr_t)slot;
	c = &ct->conn[idx];
	/* The record is complete before a key makes it visible. */
	c->key[KD_CT_ORIG] = *key;
	c->key[KD_CT_REPLY] = *reply;
	c->created = (uint32_t)(now / ct->hz);
	c->pkts[0] = c->pkts[1] = c->bytes[0] = c->bytes[1] = 0;
	c->policy = 0;
	c->pgen = 0;
	c->proto = key->proto;
	c->hop = hop;
	memset(&c->tcp, 0, sizeof(c->tcp));
	__atomic_store_n(&c->expires, now, __ATOMIC_RELAXED);
	__atomic_store_n(&c->flags, flags, __ATOMIC_RELEASE);
	nat = flags & KD_CT_F_NAT;
	ret = rte_hash_add_key_with_hash_data(ct->hash, key, hk, DATA(idx, nat, KD_CT_ORIG));
	if (ret == 0) {
		ret = rte_hash_add_key_with_hash_data(ct->hash, reply, hr, DATA(idx, nat, KD_CT_REPLY));
		if (ret == 0) {
			ct->n_live++;
			ret = (int)idx;
			goto out;
		}
		/* Readers may hold the original key already: it waits out a grace period. */
		pos = rte_hash_del_key_with_hash(ct->hash, key, hk);
		__atomic_store_n(&c->flags, flags | KD_CT_F_DEAD, __ATOMIC_RELEASE);
		rte_rcu_qsbr_dq_enqueue(ct->dq, &(struct dead){ idx, { pos, -1 } });
		ct->n_dead++;
	} else {
		rte_ring_sp_enqueue(ct->free, slot);
	}
out:
	rte_spinlock_unlock(&ct->wlock);
	return ret;
}

static void
delete_locked(struct kd_ct *ct, uint32_t idx)
{
	struct kd_ct_conn *c = &ct->conn[idx];
	struct dead d = { .idx = idx };

	if (__atomic_fetch_or(&c->flags, KD_CT_F_DEAD, __ATOMIC_ACQ_REL) & KD_CT_F_DEAD)
		return;
	d.pos[0] = rte_hash_del_key_with_hash(ct->hash, &c->key[KD_CT_ORIG],
					     kd_ct_hash(&c->key[KD_CT_ORIG]));
	d.pos[1] = rte_hash_del_key_with_hash(ct->hash, &c->key[KD_CT_REPLY],
					     kd_ct_hash(&c->key[KD_CT_REPLY]));
	/* Sized for every record, so the queue cannot be full. */
	rte_rcu_qsbr_dq_enqueue(ct->dq, &d);
	ct->n_live--;
	ct->n_dead++;
}

void
kd_ct_delete(struct kd_ct *ct, uint32_t idx)
{
	rte_spinlock_lock(&ct->wlock);
	delete_locked(ct, idx);
	rte_spinlock_unlock(&ct->wlock);
}

bool
kd_ct_delete_if(struct kd_ct *ct, uint32_t idx, const struct kd_ct_key key[2])
{
	struct kd_ct_conn *c = &ct->conn[idx];
	bool del;

	rte_spinlock_lock(&ct->wlock);
	/* Records are reused only by an insert, under this lock: the check holds. */
	del = (__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) & (KD_CT_F_DEAD | KD_CT_F_USED)) ==
		      KD_CT_F_USED && memcmp(c->key, key, sizeof(c->key)) == 0;
	if (del)
		delete_locked(ct, idx);
	rte_spinlock_unlock(&ct->wlock);
	return del;
}

/*
 * A slice is one 4 KiB page of line 0s, and the next slice comes a while
 * later: the hardware prefetcher, which stops at page ends, never gets
 * ahead of a sweep, and each record would wait on memory in turn. The
 * prefetches run on past a slice's end, so that the next slice's first
 * records are there when it starts rather than waited on as it does.
 */
#define AGE_AHEAD 8

static __rte_always_inline uint32_t
age_prefetch(const struct kd_ct *ct, uint32_t j, uint32_t lo, uint32_t hi)
{
	rte_prefetch0(&ct->conn[j]);
	return j + 1 == hi ? lo : j + 1;
}

unsigned int
kd_ct_age(struct kd_ct *ct, uint32_t *cursor, uint32_t lo, uint32_t hi, uint32_t slice,
	  uint64_t now)
{
	unsigned int n = 0;
	uint32_t i, j = *cursor < lo || *cursor >= hi ? lo : *cursor;
	uint32_t ahead = j;

	for (i = 0; i < AGE_AHEAD; i++)
		ahead = age_prefetch(ct, ahead, lo, hi);
	for (i = 0; i < slice; i++) {
		struct kd_ct_conn *c = &ct->conn[j];

		ahead = age_prefetch(ct, ahead, lo, hi);
		if ((__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) & (KD_CT_F_DEAD | KD_CT_F_USED)) ==
			    KD_CT_F_USED &&
		    (int64_t)(now - __atomic_load_n(&c->expires, __ATOMIC_RELAXED)) > 0) {
			if (n == 0)
				rte_spinlock_lock(&ct->wlock);
			delete_locked(ct, j);
			n++;
		}
		if (++j == hi)
			j = lo;
	}
	if (n != 0)
		rte_spinlock_unlock(&ct->wlock);
	*cursor = j;
	kd_ct_reclaim(ct);
	return n;
}

unsigned int
kd_ct_age_tick(struct kd_ct *ct, struct kd_ct_ager *a, uint64_t now)
{
	if ((int64_t)(now - a->next) < 0 && kd_ct_count(ct) < ct->capacity / 4 * 3)
		return 0;
	if (unlikely(a->gap == 0)) {
		uint32_t range = a->hi > a->lo ? a->hi - a->lo : 1;

		a->gap = RTE_MAX(1u, ct->hz * AGE_SWEEP_S * AGE_SLICE / range);
	}
	a->next = now + a->gap;
	return kd_ct_age(ct, &a->cursor, a->lo, a->hi, AGE_SLICE, now);
}
