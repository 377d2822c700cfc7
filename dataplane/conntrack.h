/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_CONNTRACK_H
#define KDPU_DATAPLANE_CONNTRACK_H

/*
 * Connection tracking. One record per connection in a preallocated array,
 * reachable from both directions' keys in one rte_hash (lock-free readers,
 * RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF). The zone (VPC slot) is part of
 * the key, so equal tuples in different VPCs are different connections.
 *
 * Every worker looks up and creates connections. Lookups are lock-free, so
 * every packet of an established connection is; the writers of the hash
 * (the first packet of a connection, expiry) serialise on one spinlock, as
 * rte_hash's own multi-writer mode would. Both
 * directions of one connection may run on different workers at once: TCP
 * state moves under a per-record try-lock, and a packet that finds it taken
 * passes on the state it read (it never waits).
 *
 * At scale a lookup in the hash waits on three memory reads in a row (bucket,
 * key store, record), so each worker keeps a cache in front of it
 * (ct_cache.h) that points straight at records: a hit waits on one read
 * before the record's, and the record confirms it.
 *
 * Aging never stalls a worker: each worker sweeps its part of the record
 * array in small slices, paced to once a second, and deletes expired keys; a
 * lookup that finds an expired record treats it as gone. A deleted record and its key
 * slots go to an RCU defer queue and are reused only after every worker has
 * reported quiescent, so a lookup in flight never sees a reused record.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_spinlock.h>

#include "dataplane/ct_proto.h"
#include "dataplane/ct_tcp.h"

struct rte_hash;
struct rte_ring;
struct rte_rcu_qsbr;
struct rte_rcu_qsbr_dq;
struct kd_ct_cache;

/* Tuple of one direction. ICMP echo: port[0] is the identifier, port[1] 0. */
struct kd_ct_key {
	rte_be32_t ip[2];	/* source, destination */
	rte_be16_t port[2];	/* source, destination */
	uint8_t proto;
	uint8_t pad;
	uint16_t zone;
} __rte_aligned(8);	/* rte_hash_crc reads it 8 bytes at a time */

enum kd_ct_dir { KD_CT_ORIG = 0, KD_CT_REPLY = 1 };

#define KD_CT_NO_HOP UINT16_MAX

/* Timeouts, seconds; defaults are Linux's (nf_conntrack_*_timeout_*). */
struct kd_ct_timeouts {
	uint32_t tcp[KD_CT_TCP_STATE_MAX];
	uint32_t udp_unreplied, udp_replied;
	uint32_t icmp;
	uint32_t other_unreplied, other_replied;
};

#define KD_CT_F_REPLIED 0x01	/* a packet went the reply way */
#define KD_CT_F_DEAD 0x02	/* being deleted; lookups treat it as absent */
#define KD_CT_F_USED 0x04	/* ever inserted (aging skips never-used records) */
/*
 * The reply key is not the original's reverse: the connection is
 * translated. A packet matching key[d] is rewritten to the reverse of
 * key[!d], so the two keys are the whole NAT state.
 */
#define KD_CT_F_NAT 0x08

/*
 * Two cache lines: the size that decides how many connections fit in a card.
 * Line 0 is what every packet of a connection reads and writes, and ends
 * with the original tuple, so that a worker's cache hit is confirmed on the
 * line the packet reads anyway (the reply tuple of an untranslated
 * connection is its reverse). Line 1, the reply tuple and the TCP state, is
 * read only by a translated or TCP connection's packets (see
 * kd_ct_lookup_burst).
 */
struct kd_ct_conn {
	uint64_t expires;		/* TSC */
	uint64_t pkts[2], bytes[2];
	uint32_t pgen;			/* policy generation it was last judged by */
	uint8_t flags;
	uint8_t proto;
	uint16_t hop;			/* underlay neighbour slot of an underlay end, see arp.h */
	struct kd_ct_key key[2];	/* original (line 0), reply (line 1) */
	uint32_t policy;		/* the policy that allowed it (0: pod not isolated) */
	uint32_t created;		/* seconds of TSC */
	rte_spinlock_t lock;		/* TCP state only; taken with trylock */
	struct kd_ct_tcp tcp;
} __rte_aligned(64);
_Static_assert(sizeof(struct kd_ct_conn) == 128, "a connection record is two cache lines");
_Static_assert(offsetof(struct kd_ct_conn, key) == 48,
	       "the per-packet fields and the original tuple share line 0");

/* Timeout slots after the TCP states. */
enum {
	KD_CT_T_UDP_UNREPLIED = KD_CT_TCP_STATE_MAX,
	KD_CT_T_UDP_REPLIED,
	KD_CT_T_ICMP,
	KD_CT_T_OTHER_UNREPLIED,
	KD_CT_T_OTHER_REPLIED,
	KD_CT_T_MAX,
};

struct kd_ct {
	struct rte_hash *hash;		/* key -> record index, two keys per record */
	struct kd_ct_conn *conn;
	struct rte_ring *free;		/* free record indices */
	struct rte_rcu_qsbr_dq *dq;	/* deleted records waiting out a grace period */
	rte_spinlock_t wlock;		/* hash writers: inserts and deletes */
	uint32_t n_live, n_dead;	/* written under wlock */
	uint32_t capacity;
	uint64_t hz;
	uint64_t tmo[KD_CT_T_MAX];	/* TSC ticks, see kd_ct_timeout() */
	struct kd_ct_timeouts tmo_s;
};

/** How long c lives without another packet, in TSC ticks, given its state. */
static __rte_always_inline uint64_t
kd_ct_timeout(const struct kd_ct *ct, const struct kd_ct_conn *c)
{
	const struct kd_ct_proto *l4 = kd_ct_proto_of(c->proto);

	if (l4->tmo_by_state)
		return ct->tmo[c->tcp.state];
	return ct->tmo[l4->tmo[(c->flags & KD_CT_F_REPLIED) != 0]];
}

/** Defaults: Linux's. */
static inline void
kd_ct_timeouts_default(struct kd_ct_timeouts *t)
{
	/* Linux 6.x nf_conntrack defaults. */
	static const uint32_t tcp[KD_CT_TCP_STATE_MAX] = {
		[KD_CT_TCP_NONE] = 0,
		[KD_CT_TCP_SYN_SENT] = 120,
		[KD_CT_TCP_SYN_RECV] = 60,
		[KD_CT_TCP_ESTABLISHED] = 432000,
		[KD_CT_TCP_FIN_WAIT] = 120,
		[KD_CT_TCP_CLOSE_WAIT] = 60,
		[KD_CT_TCP_LAST_ACK] = 30,
		[KD_CT_TCP_TIME_WAIT] = 120,
		[KD_CT_TCP_CLOSE] = 10,
		[KD_CT_TCP_SYN_SENT2] = 120,
	};

	memcpy(t->tcp, tcp, sizeof(tcp));
	t->udp_unreplied = 30;
	t->udp_replied = 120;
	t->icmp = 30;
	t->other_unreplied = 600;
	t->other_replied = 600;
}


/**
 * A table for capacity connections; deleted records return after a grace
 * period of qsbr, on which every worker reports.
 * NULL with rte_errno set. Control thread, before the workers start.
 */
struct kd_ct *kd_ct_create(const char *name, uint32_t capacity, const struct kd_ct_timeouts *t,
			   struct rte_rcu_qsbr *qsbr);
void kd_ct_free(struct kd_ct *ct);

/** Bytes of hugepage memory a table of capacity connections takes. */
size_t kd_ct_memsize(uint32_t capacity);

/** Reverse of a key: the tuple the reply carries. */
static inline void
kd_ct_key_reverse(struct kd_ct_key *r, const struct kd_ct_key *k)
{
	r->ip[0] = k->ip[1];
	r->ip[1] = k->ip[0];
	r->port[0] = k->port[1];
	r->port[1] = k->port[0];
	r->proto = k->proto;
	r->pad = 0;
	r->zone = k->zone;
}

/**
 * The hash the table files key under: rte_hash_crc over the 16-byte key,
 * seed 0, inline; kd_ct_hash_words() takes the key's two 8-byte words, for a
 * key still in registers. Lookups and inserts pass it in, so it is computed once
 * per packet for the worker's cache and the table.
 */
static __rte_always_inline uint32_t
kd_ct_hash_words(uint64_t a, uint64_t b)
{
	return rte_hash_crc_8byte(b, rte_hash_crc_8byte(a, 0));
}

static __rte_always_inline uint32_t
kd_ct_hash(const struct kd_ct_key *k)
{
	uint64_t a, b;

	RTE_BUILD_BUG_ON(sizeof(*k) != 16);
	memcpy(&a, k, 8);
	memcpy(&b, (const uint8_t *)k + 8, 8);
	return kd_ct_hash_words(a, b);
}

/**
 * Look up n keys at once, hash[i] being kd_ct_hash(keys[i]); cc, the
 * worker's cache, may be NULL. For each hit, idx[i] is the record index and
 * dir[i] the direction the key matched; misses get idx[i] = UINT32_MAX. A
 * hit is a candidate until kd_ct_confirm() says so, on a record line this
 * prefetches: line 0, and line 1 for a translated or TCP connection. Returns
 * how many keys the cache did not have.
 */
unsigned int kd_ct_lookup_burst(struct kd_ct *ct, struct kd_ct_cache *cc,
				const struct kd_ct_key *const *keys, const uint32_t *hash,
				unsigned int n, uint32_t *idx, uint8_t *dir);

/**
 * The table alone, for a candidate kd_ct_confirm() refused: repairs cc
 * (may be NULL) with what the table says. Same results as above.
 */
void kd_ct_lookup_table(struct kd_ct *ct, struct kd_ct_cache *cc, const struct kd_ct_key *key,
			uint32_t hash, uint32_t *idx, uint8_t *dir);

/**
 * Whether record idx is a live connection whose key in direction dir is k.
 * A cache entry may outlive its connection, and the record its slot: it is
 * confirmed against the record itself. Safe for a reader between two
 * quiescent reports: a record's keys change only when it is reused, after a
 * grace period that began once it was marked dead.
 */
static __rte_always_inline bool
kd_ct_confirm(const struct kd_ct *ct, uint32_t idx, uint8_t dir, const struct kd_ct_key *k)
{
	const struct kd_ct_conn *c = &ct->conn[idx];
	uint8_t f = __atomic_load_n(&c->flags, __ATOMIC_ACQUIRE);
	const struct kd_ct_key *o = &c->key[KD_CT_ORIG];

	if ((f & (KD_CT_F_DEAD | KD_CT_F_USED)) != KD_CT_F_USED)
		return false;
	if (dir == KD_CT_ORIG)
		return memcmp(o, k, sizeof(*k)) == 0;
	if (f & KD_CT_F_NAT)
		return memcmp(&c->key[KD_CT_REPLY], k, sizeof(*k)) == 0;
	/* Untranslated: the reply tuple is the original's reverse, on line 0. */
	return o->ip[0] == k->ip[1] && o->ip[1] == k->ip[0] && o->port[0] == k->port[1] &&
	       o->port[1] == k->port[0] && o->proto == k->proto && o->zone == k->zone;
}

/**
 * Insert a connection whose original direction is key (reply: key's
 * reverse, or reply when not NULL, as after NAT: the record is then marked
 * KD_CT_F_NAT if the two differ). hop is stored in the record before it
 * becomes visible (KD_CT_NO_HOP: none). Returns the record index,
 * or -ENOSPC when the table is full, or -errno. -EEXIST when key is already
 * there (an earlier packet of the burst, or another worker, created it):
 * *found and *found_dir then say where, or *found is UINT32_MAX when it is
 * the reply key that belongs to another connection. key_hash is
 * kd_ct_hash(key), which the firewall already has from the lookup.
 */
int kd_ct_insert_with_hash(struct kd_ct *ct, const struct kd_ct_key *key, uint32_t key_hash,
			   const struct kd_ct_key *reply, uint16_t hop, uint64_t now,
			   uint32_t *found, uint8_t *found_dir);

/** The same, for a caller that has not hashed key yet. */
static inline int
kd_ct_insert(struct kd_ct *ct, const struct kd_ct_key *key, const struct kd_ct_key *reply,
	     uint16_t hop, uint64_t now, uint32_t *found, uint8_t *found_dir)
{
	return kd_ct_insert_with_hash(ct, key, kd_ct_hash(key), reply, hop, now, found, found_dir);
}

/** Delete a record's keys; its slot returns after a grace period. */
void kd_ct_delete(struct kd_ct *ct, uint32_t idx);

/**
 * Delete record idx only if it is live and still has the keys key[0..1]
 * (copies the caller took): for the control thread, which reads records
 * outside the grace periods that guard their reuse. Returns whether it did.
 */
bool kd_ct_delete_if(struct kd_ct *ct, uint32_t idx, const struct kd_ct_key key[2]);

/** Reuse the records whose grace period is over; skipped if another writer is busy. */
void kd_ct_reclaim(struct kd_ct *ct);

/**
 * Delete expired records among the next slice records of [lo, hi) from
 * *cursor; returns how many. Workers age disjoint ranges.
 */
unsigned int kd_ct_age(struct kd_ct *ct, uint32_t *cursor, uint32_t lo, uint32_t hi,
		       uint32_t slice, uint64_t now);

/* One worker's share of aging: records [lo, hi), swept a slice at a time. */
struct kd_ct_ager {
	uint32_t lo, hi, cursor;
	uint64_t next, gap;		/* TSC of the next slice, and between two */
};

/**
 * Once per worker loop: age the next slice of a's share when it is due,
 * pacing a whole sweep to a second (at once while the table is over 3/4
 * full). Returns how many connections expired.
 */
unsigned int kd_ct_age_tick(struct kd_ct *ct, struct kd_ct_ager *a, uint64_t now);

/** Number of live connections. */
uint32_t kd_ct_count(const struct kd_ct *ct);

#endif
