/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_LB_H
#define KDPU_DATAPLANE_LB_H

/*
 * Service load balancing as the workers see it. A frontend is one
 * (virtual IP, port, protocol) of a Service: a clusterIP, an externalIP, a
 * LoadBalancer ingress IP, or the node IP with a nodePort. It holds every
 * endpoint the EndpointSlices give it (with their conditions, for display
 * and counting) and two pools, one for in-cluster clients (pods) and one
 * for clients on the underlay. A pool is a Maglev table over the endpoints
 * that take new connections, already chosen by the compiler
 * (control/translate_service.c) from readiness, terminating fallback and
 * traffic policy, and says whether underlay clients are source-translated
 * to the node (externalTrafficPolicy Cluster). An empty pool refuses the
 * connection (no endpoints: RST or ICMP, as kube-proxy's REJECT) or drops it
 * (a Local policy with endpoints elsewhere only, as kube-proxy does).
 *
 * The frontend index is one lock-free rte_hash for the daemon's life,
 * updated in place by the control thread (its only writer) while workers
 * read it: a changed Service replaces only its own frontends, each an
 * immutable object freed a grace period after it left the index. A
 * frontend is consulted only on a connection's first packet; the
 * translation then lives in the connection record, so an endpoint change
 * never moves an established connection. ClientIP session affinity is the
 * one piece of state the workers write: a shared hash of (client,
 * frontend) -> endpoint that outlives frontends and is aged by the control
 * thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_spinlock.h>

#include "dataplane/tables.h"

struct rte_hash;
struct rte_rcu_qsbr;

struct kd_lb_key {
	rte_be32_t ip;
	rte_be16_t port;
	uint8_t proto;
	uint8_t pad;
};

/* Endpoint conditions, as EndpointSlice reports them. */
#define KD_LB_EP_READY 0x01
#define KD_LB_EP_SERVING 0x02
#define KD_LB_EP_TERMINATING 0x04
#define KD_LB_EP_LOCAL 0x08	/* on this node */
#define KD_LB_EP_USED 0x10	/* in pool KD_LB_IN's table; << KD_LB_EXT: in the other */

struct kd_lb_backend {
	rte_be32_t ip;
	rte_be16_t port;
	uint8_t flags;		/* KD_LB_EP_* */
	uint8_t pad;
};

/* Whose pool: clients in pods, or on the underlay. */
enum kd_lb_side { KD_LB_IN = 0, KD_LB_EXT = 1 };

/* What an empty pool does with a new connection. */
enum kd_lb_empty { KD_LB_REFUSE = 0, KD_LB_DROP = 1 };

struct kd_lb_pool {
	uint32_t m;			/* Maglev table size; 0: no endpoint takes connections */
	const uint16_t *maglev;		/* m indices into be[], shared by pools of equal be[] */
	const struct kd_lb_backend *be;	/* the endpoints that take connections, in key order */
	uint8_t empty;			/* enum kd_lb_empty, when m is 0 */
	uint8_t snat;			/* source-translate to the node (policy Cluster) */
};

#define KD_LB_F_AFFINITY 0x01	/* sessionAffinity ClientIP */
#define KD_LB_F_EXTERNAL 0x02	/* reachable from the underlay */

enum kd_lb_kind { KD_LB_CLUSTER_IP = 0, KD_LB_EXTERNAL_IP, KD_LB_LB_INGRESS, KD_LB_NODE_PORT };

struct kd_lb_frontend {
	struct kd_lb_key key;
	const char *svc;		/* "namespace/name" of its Service */
	uint16_t n_backends;
	uint8_t flags;			/* KD_LB_F_* */
	uint8_t kind;			/* enum kd_lb_kind */
	uint32_t affinity_s;		/* affinity timeout, seconds */
	struct kd_lb_pool pool[2];	/* by enum kd_lb_side */
	const struct kd_lb_backend *be;
	uint16_t n_ranges;		/* loadBalancerSourceRanges; 0: every client */
	const struct kd_cidr *ranges;
	uint32_t moved;			/* table entries that changed endpoint in this build */
	uint32_t moved_kept;		/* of those, entries whose old endpoint is still used */
	char port_name[64];
};

struct kd_lb {
	struct rte_hash *hash;		/* struct kd_lb_key -> const struct kd_lb_frontend * */
	uint32_t n_fe;			/* frontends in hash; 0 spares workers the lookup */
	uint32_t capacity;
	uint64_t gen;			/* changes applied */
	rte_be32_t hairpin_ip;		/* source of a pod's connection to itself */
	rte_be32_t node_ip;		/* source of underlay clients, policy Cluster */
};

extern struct kd_lb *kd_lb_live;

/** The current Service tables, or NULL. Once per burst. */
static __rte_always_inline const struct kd_lb *
kd_lb_get(void)
{
	return __atomic_load_n(&kd_lb_live, __ATOMIC_ACQUIRE);
}

/** The frontend for a destination, or NULL. */
const struct kd_lb_frontend *kd_lb_lookup(const struct kd_lb *lb, rte_be32_t ip,
					  rte_be16_t port, uint8_t proto);

/** An empty index for capacity frontends, named name; NULL with rte_errno set. */
struct kd_lb *kd_lb_create(const char *name, uint32_t capacity, rte_be32_t hairpin_ip,
			   rte_be32_t node_ip);
void kd_lb_free(struct kd_lb *lb);
/**
 * Writer side, control thread only. kd_lb_set() adds fe or replaces the
 * frontend of its key (the caller frees that one a grace period later):
 * 0, or -ENOSPC when the index is full. kd_lb_unset() removes a key and
 * returns its slot, for kd_lb_reclaim() after a grace period (or -ENOENT).
 */
int kd_lb_set(struct kd_lb *lb, const struct kd_lb_frontend *fe);
int32_t kd_lb_unset(struct kd_lb *lb, const struct kd_lb_key *key);
void kd_lb_reclaim(struct kd_lb *lb, int32_t slot);

/**
 * The endpoint of pool side for a new connection from client with flow
 * hash hash, or NULL when the pool is empty. Honours and refreshes session
 * affinity.
 */
const struct kd_lb_backend *kd_lb_select(const struct kd_lb_frontend *fe, enum kd_lb_side side,
					 rte_be32_t client, uint32_t hash, uint64_t now);

/** Whether client may use the frontend (loadBalancerSourceRanges). */
static __rte_always_inline bool
kd_lb_source_allowed(const struct kd_lb_frontend *fe, rte_be32_t client)
{
	uint16_t i;

	for (i = 0; i < fe->n_ranges; i++)
		if (kd_cidr_match(&fe->ranges[i], client))
			return true;
	return fe->n_ranges == 0;
}

/** The shared affinity table: capacity entries. 0 or -errno. Before workers start. */
int kd_lb_init(uint32_t affinity_capacity, struct rte_rcu_qsbr *qsbr);
void kd_lb_fini(void);
/** Drop affinity entries idle for longer than their timeout. Control thread. */
unsigned int kd_lb_affinity_age(uint64_t now);
/** Affinity entries in use. */
uint32_t kd_lb_affinity_count(void);

#endif
