/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_EGRESS_H
#define KDPU_DATAPLANE_EGRESS_H

/*
 * Where a routed IPv4 packet leaves: to a local vNIC (L2 rewritten to the
 * pod), over VXLAN to a remote node (the node's outer header template,
 * RFC 7348), or out of the uplink to an underlay neighbour. The three ingress
 * paths (vNIC in fwd.c, VXLAN in vxlan.c, plain underlay in underlay.c) all
 * end in kd_egress_deliver() with the next hop their route gave: a vNIC
 * port, KD_NH_REMOTE | node index, or KD_NH_UNDERLAY. TTL is the caller's:
 * a router decrements it (kd_egress_dec_ttl()), our own answers do not.
 *
 * Worker context. Reads the current table generation and the neighbour
 * table (arp.h) only.
 */

#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/arp.h"
#include "dataplane/parse.h"
#include "dataplane/stage.h"
#include "dataplane/tables.h"

/** Router TTL decrement with the RFC 1624 incremental checksum update. */
static __rte_always_inline void
kd_egress_dec_ttl(struct rte_ipv4_hdr *ip)
{
	uint32_t c = ip->hdr_checksum;

	c += rte_cpu_to_be_16(0x0100);
	ip->hdr_checksum = (uint16_t)(c + (c >= 0xffff));
	ip->time_to_live--;
}

/**
 * Replace everything before the IPv4 header at l3_off (Ethernet, VLAN tag,
 * outer headers) with a fresh untagged Ethernet header.
 */
static __rte_always_inline void
kd_egress_set_l2(struct rte_mbuf *m, uint16_t l3_off, const struct rte_ether_addr *dst,
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

/**
 * Encapsulate m, whose inner Ethernet header starts at offset 0, toward remote
 * node r with the VNI given. flow_hash picks the outer UDP source port.
 * Returns KD_PARSE_OK or the drop reason.
 */
enum kd_drop_reason kd_egress_encap(const struct kd_tables *t, const struct kd_rnode *r,
				    struct rte_mbuf *m, uint32_t vni, uint32_t flow_hash);

/**
 * Send a routed inner packet (IPv4 at pm->l3_off, TTL already decremented)
 * to remote node rn of vpc: inner L2 rewritten, Ethernet padding trimmed
 * (it would ride inside the tunnel), outer headers prepended, queued on the
 * uplink; or dropped with the reason.
 */
static __rte_always_inline void
kd_egress_vxlan(struct kd_worker *w, const struct kd_tables *t, const struct kd_rnode *rn,
	      const struct kd_vpc *vpc, struct rte_mbuf *m, const struct kd_pkt_meta *pm)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	uint32_t frame = (uint32_t)pm->l3_off + rte_be_to_cpu_16(ip->total_length);
	uint32_t hash = kd_parse_flow_hash(m, pm);	/* before the offsets move */
	enum kd_drop_reason r;

	if (rte_pktmbuf_pkt_len(m) > frame)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - frame));
	kd_egress_set_l2(m, pm->l3_off, &rn->inner_mac, &vpc->gw_mac);
	r = kd_egress_encap(t, rn, m, vpc->vni, hash);
	if (unlikely(r != KD_PARSE_OK)) {
		kd_stage_drop(w, m, r);
		return;
	}
	w->st->event[KD_EV_VXLAN_ENCAP]++;
	kd_stage_tx(w, t->uplink_port, m);
}

/**
 * Send m (IPv4 at l3_off, TTL already handled) to underlay neighbour slot
 * hop, out of the uplink; dropped (arp_unresolved) while the neighbour is
 * not resolved.
 */
static __rte_always_inline void
kd_egress_underlay(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf *m,
	       uint16_t l3_off, uint16_t hop)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								 l3_off);
	uint32_t frame = (uint32_t)l3_off + rte_be_to_cpu_16(ip->total_length);
	struct rte_ether_addr mac;

	if (unlikely(hop == KD_NEIGH_NONE || !kd_arp_neigh_mac(hop, &mac))) {
		kd_stage_drop(w, m, KD_DROP_ARP_UNRESOLVED);
		return;
	}
	if (rte_pktmbuf_pkt_len(m) > frame)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - frame));
	kd_egress_set_l2(m, l3_off, &mac, &t->uplink_mac);
	w->st->event[KD_EV_UPLINK_PLAIN]++;
	kd_stage_tx(w, t->uplink_port, m);
}

/**
 * Deliver m (IPv4 at pm->l3_off, TTL handled) of vpc to next hop nh: a local
 * vNIC (counting ev_local), a remote node, or underlay neighbour slot neigh.
 */
static __rte_always_inline void
kd_egress_deliver(struct kd_worker *w, const struct kd_tables *t, const struct kd_vpc *vpc,
		  struct rte_mbuf *m, const struct kd_pkt_meta *pm, uint32_t nh, uint16_t neigh,
		  enum kd_event ev_local)
{
	if (unlikely(nh == KD_NH_UNDERLAY)) {
		kd_egress_underlay(w, t, m, pm->l3_off, neigh);
		return;
	}
	if (nh & KD_NH_REMOTE) {
		kd_egress_vxlan(w, t, &t->rnode[nh & KD_NH_INDEX_MASK], vpc, m, pm);
		return;
	}
	/* A bulk LPM lookup leaves its flag bits above the index. */
	nh &= KD_NH_INDEX_MASK;
	kd_egress_set_l2(m, pm->l3_off, &t->vnic[nh].mac, &vpc->gw_mac);
	w->st->event[ev_local]++;
	kd_stage_tx(w, (uint16_t)nh, m);
}

#endif
