/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_POLICY_H
#define KDPU_DATAPLANE_POLICY_H

/*
 * Compiled NetworkPolicy as the workers see it. Per local vNIC port and
 * direction: whether the pod is isolated, and which peer prefixes it admits.
 * The admitted tuples live in one classifier (struct kd_pol_cls), a
 * tuple-space search: a lock-free rte_hash from (port, direction, prefix
 * length, prefix) to an immutable set of (protocol, port range, policy id),
 * probed once per prefix length in use, longest first. The control thread
 * changes it key by key, in place, so a change costs what it touches; the
 * small header (struct kd_policy: isolation, prefix lengths in use, the
 * counting lists) is swapped under RCU around those writes, so a reader
 * never sees fewer permissions than both the old and the new state give.
 * Consulted only for the first packet of a connection, or once per
 * connection after a policy change.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_config.h>

enum kd_pol_dir { KD_POL_INGRESS = 0, KD_POL_EGRESS = 1 };

#define KD_POL_ISOLATED_IN (1u << KD_POL_INGRESS)
#define KD_POL_ISOLATED_EG (1u << KD_POL_EGRESS)

/* Verdicts: 0 denies; KD_POL_OPEN when the pod is not isolated; else a policy id. */
#define KD_POL_DENY 0u
#define KD_POL_OPEN UINT32_MAX

/* One classifier key: a peer prefix (host order, masked) of one port and direction. */
struct kd_pol_key {
	uint32_t net;
	uint16_t port;
	uint8_t dir;
	uint8_t plen;
};

/* What one prefix admits: destination ports lo..hi of proto (0: any), allowed by id. */
struct kd_pol_entry {
	uint32_t id;
	uint16_t lo, hi;
	uint8_t proto;
	uint8_t pad[3];
};

/*
 * Immutable once published: each (protocol, range) once, with the lowest
 * policy id that gives it, in kd_pol_entry_cmp() order.
 */
struct kd_pol_set {
	uint32_t n;
	uint32_t pad;
	struct kd_pol_entry e[];
};

struct kd_pol_cls;

/** A set of the n entries e (any order, repeats allowed) as workers read it; NULL: no memory. */
struct kd_pol_set *kd_pol_set_new(const struct kd_pol_entry *e, uint32_t n);
/**
 * Keep the first of each (protocol, range) of the n entries e, which are in
 * kd_pol_entry_cmp() order, so the lowest id stays; returns how many remain.
 */
uint32_t kd_pol_set_dedupe(struct kd_pol_entry *e, uint32_t n);
/** The order of a set's entries: protocol, range, id. */
int kd_pol_entry_cmp(const struct kd_pol_entry *a, const struct kd_pol_entry *b);

struct kd_policy {
	uint64_t gen;			/* changes on every publish */
	uint8_t isolated[RTE_MAX_ETHPORTS];	/* KD_POL_ISOLATED_* */
	uint64_t lens[RTE_MAX_ETHPORTS][2];	/* bit L: some prefix of length L is in cls */
	const struct kd_pol_cls *cls;
	rte_be32_t node_ip[4];		/* the node's own addresses: ingress always allowed */
	uint8_t n_node_ip;
	uint32_t n_policies;
	/* The compiler's id - 1 -> "namespace/name" table; control thread only. */
	char (*const *policy_name)[128];
	/* The policies that isolate each port and direction, for counting denials. */
	uint32_t *isolating[RTE_MAX_ETHPORTS][2];
	uint32_t n_isolating[RTE_MAX_ETHPORTS][2];
	/* Ids given to a policy in this build; their counters start from here. */
	uint32_t *fresh;
	uint32_t n_fresh;
	void *priv;			/* the compiler's bookkeeping */
};

extern struct kd_policy *kd_policy_live;

/** The current compiled policy, or NULL (nothing isolated). Once per worker loop. */
static inline const struct kd_policy *
kd_policy_get(void)
{
	return __atomic_load_n(&kd_policy_live, __ATOMIC_ACQUIRE);
}

/** The name of policy id (1-based), "" when the id is free. Control thread only. */
static inline const char *
kd_policy_name(const struct kd_policy *p, uint32_t id)
{
	return (*p->policy_name)[id - 1];
}

/**
 * A classifier for capacity keys (lock-free readers, one writer); NULL with
 * rte_errno set.
 */
struct kd_pol_cls *kd_pol_cls_create(const char *name, uint32_t capacity);
void kd_pol_cls_free(struct kd_pol_cls *c);
/** Keys in the classifier. */
uint32_t kd_pol_cls_count(const struct kd_pol_cls *c);
/** Publish s under k, adding k or replacing its set (the caller frees the old one later). */
int kd_pol_cls_set(struct kd_pol_cls *c, const struct kd_pol_key *k, const struct kd_pol_set *s);
/** Remove k; returns its slot, to hand to kd_pol_cls_reclaim() after a grace period. */
int32_t kd_pol_cls_unset(struct kd_pol_cls *c, const struct kd_pol_key *k);
void kd_pol_cls_reclaim(struct kd_pol_cls *c, int32_t slot);
/** The set published under k, or NULL. */
const struct kd_pol_set *kd_pol_cls_get(const struct kd_pol_cls *c, const struct kd_pol_key *k);

/** The policy id that admits (peer, proto, dport), probing the lengths in lens; 0 if none. */
uint32_t kd_pol_cls_match(const struct kd_pol_cls *c, uint16_t port, uint8_t dir, uint64_t lens,
			  uint32_t peer, uint8_t proto, uint16_t dport);

/** Verdict for a new connection's packet at vNIC port in direction dir. */
static inline uint32_t
kd_policy_check(const struct kd_policy *p, uint16_t port, enum kd_pol_dir dir, uint8_t proto,
		rte_be32_t peer, rte_be16_t dport)
{
	unsigned int i;

	if (p == NULL || !(p->isolated[port] & (1u << dir)))
		return KD_POL_OPEN;
	if (dir == KD_POL_INGRESS)
		for (i = 0; i < p->n_node_ip; i++)
			if (peer == p->node_ip[i])
				return KD_POL_OPEN;
	if (p->cls == NULL || p->lens[port][dir] == 0)
		return KD_POL_DENY;
	return kd_pol_cls_match(p->cls, port, (uint8_t)dir, p->lens[port][dir],
				rte_be_to_cpu_32(peer), proto, rte_be_to_cpu_16(dport));
}

#endif
