/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_FWD_H
#define KDPU_DATAPLANE_FWD_H

/*
 * IPv4 routing of pod traffic. kd_fwd_vnic_burst() takes a burst from one
 * vNIC port: anti-spoofing on the source, one bulk rte_lpm lookup in the
 * vNIC's VPC, then delivery to a local vNIC or VXLAN encapsulation toward
 * the remote node that owns the destination's pod CIDR. The DPU is the pods'
 * router: it answers ARP for everything but the pod itself, decrements TTL and
 * rewrites L2.
 *
 * Worker context. Reads the current table generation only.
 */

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/tables.h"
#include "dataplane/worker.h"

/**
 * Replace everything before the IPv4 header at l3_off (Ethernet, VLAN tag,
 * outer headers) with a fresh untagged Ethernet header.
 */
static __rte_always_inline void
kd_fwd_set_l2(struct rte_mbuf *m, uint16_t l3_off, const struct rte_ether_addr *dst,
	      const struct rte_ether_addr *src)
{
	struct rte_ether_hdr *eth;

	if (l3_off != RTE_ETHER_HDR_LEN)
		rte_pktmbuf_adj(m, (uint16_t)(l3_off - RTE_ETHER_HDR_LEN));
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
}

/** Process one burst received on vNIC port `port`. */
void kd_fwd_vnic_burst(struct kd_worker *w, const struct kd_tables *t, uint16_t port,
		       struct rte_mbuf **pkts, uint16_t n);

#endif
