/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_POLICY_H
#define KDPU_DATAPLANE_POLICY_H

/*
 * Compiled NetworkPolicy as the workers see it: per local vNIC port and
 * direction, whether the pod is isolated, and an rte_acl context of the
 * allowed (peer address, protocol, destination port) tuples with the policy
 * that allows each. Built by control/translate_policy.c and published on
 * its own RCU-protected pointer, independent of the routing tables, so a
 * label change never rebuilds routes. Consulted only for the first packet of
 * a connection, or once per connection after a policy change.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_config.h>

enum kd_pol_dir { KD_POL_INGRESS = 0, KD_POL_EGRESS = 1 };

#define KD_POL_ISOLATED_IN (1u << KD_POL_INGRESS)
#define KD_POL_ISOLATED_EG (1u << KD_POL_EGRESS)

/* Verdicts: 0 denies; KD_POL_OPEN when the pod is not isolated; else a policy id. */
#define KD_POL_DENY 0u
#define KD_POL_OPEN UINT32_MAX

/* The classifier's input, in network byte order like a packet. */
struct kd_acl_key {
	uint8_t proto;
	uint8_t pad[3];
	rte_be32_t peer;	/* the other end: source on ingress, destination on egress */
	rte_be16_t sport;	/* always wildcard; keeps the 4-byte field groups of rte_acl */
	rte_be16_t dport;
};

struct kd_policy {
	uint64_t gen;			/* changes on every publish */
	uint8_t isolated[RTE_MAX_ETHPORTS];	/* KD_POL_ISOLATED_* */
	struct rte_acl_ctx *acl[RTE_MAX_ETHPORTS][2];	/* NULL: nothing allowed */
	rte_be32_t node_ip[4];		/* the node's own addresses: ingress always allowed */
	uint8_t n_node_ip;
	uint32_t n_policies;
	char (*policy_name)[128];	/* id - 1 -> "namespace/name" */
	/* The policies that isolate each port and direction, for counting denials. */
	uint32_t *isolating[RTE_MAX_ETHPORTS][2];
	uint16_t n_isolating[RTE_MAX_ETHPORTS][2];
	/* Ids given to a policy in this build; their counters start from here. */
	uint32_t *fresh;
	uint32_t n_fresh;
	void *priv;			/* the compiler's bookkeeping */
};

extern struct kd_policy *kd_policy_live;

/** The current compiled policy, or NULL (nothing isolated). Once per worker loop. */
static __rte_always_inline const struct kd_policy *
kd_policy_get(void)
{
	return __atomic_load_n(&kd_policy_live, __ATOMIC_ACQUIRE);
}

/** Verdict for a new connection's packet at vNIC port in direction dir. */
static inline uint32_t
kd_policy_check(const struct kd_policy *p, uint16_t port, enum kd_pol_dir dir, uint8_t proto,
		rte_be32_t peer, rte_be16_t dport)
{
	struct kd_acl_key k = { .proto = proto, .peer = peer, .dport = dport };
	const uint8_t *data[1] = { (const uint8_t *)&k };
	uint32_t res = 0;
	unsigned int i;

	if (p == NULL || !(p->isolated[port] & (1u << dir)))
		return KD_POL_OPEN;
	if (dir == KD_POL_INGRESS)
		for (i = 0; i < p->n_node_ip; i++)
			if (peer == p->node_ip[i])
				return KD_POL_OPEN;
	if (p->acl[port][dir] == NULL)
		return KD_POL_DENY;
	rte_acl_classify(p->acl[port][dir], data, &res, 1, 1);
	return res;
}

#endif
