/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_TABLES_H
#define KDPU_DATAPLANE_TABLES_H

/*
 * The published table generation: ports' roles, VPCs with their VNI and
 * route table (rte_lpm), vNICs by port, remote nodes with their VXLAN outer
 * header templates. The control thread builds a generation with the
 * kd_tables_* builder calls, validates it, and publishes it by swapping one
 * pointer (release); the old generation is freed after an RCU QSBR grace
 * period (kd_tables_wait()). A published generation is never
 * modified. Workers read it through kd_tables_get() once per loop and report
 * quiescent after TX.
 *
 * Init order: kd_tables_init() after rte_eal_init(), before workers launch;
 * kd_tables_fini() after they stop; it frees a generation still live.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

struct rte_hash;
struct rte_lpm;
struct rte_rcu_qsbr;

#define KD_MAX_VPCS 64
#define KD_NAME_LEN 64

/*
 * Connection zone of the underlay: plain IP on the uplink, beyond the VTEP
 * (Service clients outside the cluster, destinations of pod egress). VPCs
 * are zones 0..KD_MAX_VPCS-1.
 */
#define KD_ZONE_UNDERLAY KD_MAX_VPCS
#define KD_MAX_CLUSTER_CIDRS 16
#define KD_NEIGH_NONE UINT16_MAX

/* LPM next hop: a local vNIC's port id, or a remote node index with this bit. */
#define KD_NH_REMOTE (1u << 23)
#define KD_NH_INDEX_MASK (KD_NH_REMOTE - 1)
/* A next hop no LPM returns (they have 24 bits): the packet leaves for the underlay. */
#define KD_NH_UNDERLAY UINT32_MAX

enum kd_port_role {
	KD_PORT_NONE = 0,
	KD_PORT_UPLINK,
	KD_PORT_VNIC,
};

struct kd_vpc {
	bool used;
	uint32_t vni;			/* host order */
	rte_be32_t gw_ip;
	struct rte_ether_addr gw_mac;
	struct rte_lpm *lpm;		/* pod /32s -> vNIC port, pod CIDRs -> remote node */
	char name[KD_NAME_LEN];
};

struct kd_vnic {
	bool used;
	uint16_t vpc;
	rte_be32_t ip;			/* 0: any source allowed */
	struct rte_ether_addr mac;	/* the pod's MAC */
	char pci[32];
	char pod[KD_NAME_LEN];
};

/* Outer headers for one remote VTEP; the worker fills lengths, VNI, sport, MAC. */
struct kd_vxlan_tmpl {
	struct rte_ether_hdr eth;
	struct rte_ipv4_hdr ip;
	struct rte_udp_hdr udp;
	struct rte_vxlan_hdr vxlan;
} __rte_packed __rte_aligned(2);

/* Outer Ethernet + IPv4 + UDP + VXLAN. */
#define KD_VXLAN_OUTER_LEN ((uint16_t)sizeof(struct kd_vxlan_tmpl))

struct kd_rnode {
	struct kd_vxlan_tmpl tmpl;
	uint32_t ip_csum_base;		/* raw sum of tmpl.ip with total_length 0 */
	uint16_t neigh;			/* underlay next hop, see arp.h */
	struct rte_ether_addr inner_mac;
	char name[KD_NAME_LEN];
};

struct kd_cidr {
	rte_be32_t prefix, mask;
};

static __rte_always_inline bool
kd_cidr_match(const struct kd_cidr *c, rte_be32_t ip)
{
	return (ip & c->mask) == c->prefix;
}

struct kd_tables {
	uint64_t gen;
	uint16_t uplink_port;		/* RTE_MAX_ETHPORTS when there is none */
	uint16_t uplink_mtu;
	rte_be32_t vtep_ip;
	uint8_t vtep_plen;
	rte_be32_t gateway_ip;		/* underlay gateway, 0 if none */
	struct rte_ether_addr uplink_mac;
	uint8_t port_role[RTE_MAX_ETHPORTS];
	struct kd_vnic vnic[RTE_MAX_ETHPORTS];
	struct kd_vpc vpc[KD_MAX_VPCS];
	struct rte_hash *vni_hash;	/* VNI -> vpc index */
	uint32_t max_routes;
	uint32_t n_rnodes, max_rnodes;
	struct kd_rnode *rnode;
	/* The underlay side of Services and of pod egress (KD_ZONE_UNDERLAY). */
	int16_t svc_vpc;		/* VPC of endpoints reached from the underlay; -1: none */
	uint16_t gw_neigh;		/* neighbour slot of the gateway, or KD_NEIGH_NONE */
	uint16_t masq_lo, masq_hi;	/* masquerade source ports; masq_hi 0: off */
	uint8_t n_cluster;
	struct kd_cidr cluster[KD_MAX_CLUSTER_CIDRS];	/* never masqueraded */
};

extern struct kd_tables *kd_tables_live;

/** The current generation; worker context, once per loop. */
static __rte_always_inline const struct kd_tables *
kd_tables_get(void)
{
	return __atomic_load_n(&kd_tables_live, __ATOMIC_ACQUIRE);
}

/** VPC index for a VNI, or -1. */
int kd_tables_vpc_by_vni(const struct kd_tables *t, uint32_t vni);

/**
 * Set up the QSBR variable for n_readers threads: the workers (ids 0 to n - 1)
 * and any other thread that reads published tables. Control thread. 0 or -errno.
 */
int kd_tables_init(unsigned int n_readers);

/** The QSBR variable workers report to. */
struct rte_rcu_qsbr *kd_tables_qsbr(void);
void kd_tables_fini(void);

/** An empty generation; NULL with rte_errno set. Control thread. */
struct kd_tables *kd_tables_new(uint32_t max_routes, uint32_t max_rnodes);
void kd_tables_free(struct kd_tables *t);

/* Builder calls on an unpublished generation. Each returns 0 or -errno. */
int kd_tables_set_uplink(struct kd_tables *t, uint16_t port, uint16_t mtu,
			 const struct rte_ether_addr *mac, rte_be32_t vtep_ip, uint8_t plen,
			 rte_be32_t gateway_ip);
/** Every port the workers poll gets a role; a vNIC port may stay unprovisioned. */
int kd_tables_set_port_role(struct kd_tables *t, uint16_t port, enum kd_port_role role);
int kd_tables_add_vpc(struct kd_tables *t, uint16_t idx, const char *name, uint32_t vni,
		      rte_be32_t gw_ip, const struct rte_ether_addr *gw_mac);
int kd_tables_add_vnic(struct kd_tables *t, uint16_t port, uint16_t vpc, rte_be32_t ip,
		       const struct rte_ether_addr *mac, const char *pci, const char *pod);
/** Adds a remote node and returns its index (>= 0), or -errno. neigh: arp.h slot. */
int kd_tables_add_rnode(struct kd_tables *t, const char *name, rte_be32_t vtep_ip,
			const struct rte_ether_addr *inner_mac, uint16_t neigh);
int kd_tables_add_route(struct kd_tables *t, uint16_t vpc, rte_be32_t prefix, uint8_t plen,
			uint32_t next_hop);

/**
 * The underlay side: the VPC whose pods serve Services to underlay clients
 * (-1: none), the gateway's neighbour slot, and masquerade of pod traffic
 * to destinations outside cidrs with source ports [lo, hi] (hi 0: off).
 */
int kd_tables_set_underlay(struct kd_tables *t, int svc_vpc, uint16_t gw_neigh,
			   const struct kd_cidr *cidrs, unsigned int n, uint16_t lo, uint16_t hi);

/**
 * Wait until every worker has passed a quiescent state: what was unpublished
 * before the call is no longer held by any worker. Control thread only;
 * control/publish.c waits once per table it makes live.
 */
void kd_tables_wait(void);

/**
 * Publish one pointer on its own: store next in *live (release),
 * kd_tables_wait(), and return the previous pointer for the caller to free.
 */
void *kd_tables_swap(void **live, void *next);

#endif
