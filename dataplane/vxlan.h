/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_VXLAN_H
#define KDPU_DATAPLANE_VXLAN_H

/*
 * VXLAN (RFC 7348) on the uplink. kd_vxlan_uplink_burst() handles everything
 * the uplink receives: VXLAN for our VTEP is checked (I flag, known VNI,
 * local inner destination), decapsulated and routed to its vNIC; ARP and
 * ICMP echo for the VTEP IP go to the responders; the rest is dropped with
 * a reason. kd_vxlan_encap() prepends the remote node's outer header
 * template to a routed inner frame.
 *
 * Worker context. Reads the current table generation only. The uplink's
 * plain IPv4 goes on to dataplane/underlay.h.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/fwd.h"
#include "dataplane/parse.h"
#include "dataplane/tables.h"
#include "dataplane/worker.h"

/* Outer Ethernet + IPv4 + UDP + VXLAN. */
#define KD_VXLAN_OUTER_LEN ((uint16_t)sizeof(struct kd_vxlan_tmpl))

/**
 * Encapsulate m, whose inner Ethernet header starts at offset 0, toward remote
 * node r with the VNI given. flow_hash picks the outer UDP source port.
 * Returns KD_PARSE_OK or the drop reason.
 */
enum kd_drop_reason kd_vxlan_encap(const struct kd_tables *t, const struct kd_rnode *r,
				   struct rte_mbuf *m, uint32_t vni, uint32_t flow_hash);

/**
 * Send a routed inner packet (IPv4 at pm->l3_off, TTL already decremented)
 * to remote node rn of vpc: inner L2 rewritten, Ethernet padding trimmed
 * (it would ride inside the tunnel), outer headers prepended, queued on the
 * uplink; or dropped with the reason.
 */
static __rte_always_inline void
kd_vxlan_send(struct kd_worker *w, const struct kd_tables *t, const struct kd_rnode *rn,
	      const struct kd_vpc *vpc, struct rte_mbuf *m, const struct kd_pkt_meta *pm)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	uint32_t frame = (uint32_t)pm->l3_off + rte_be_to_cpu_16(ip->total_length);
	uint32_t hash = kd_parse_flow_hash(m, pm);	/* before the offsets move */
	enum kd_drop_reason r;

	if (rte_pktmbuf_pkt_len(m) > frame)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - frame));
	kd_fwd_set_l2(m, pm->l3_off, &rn->inner_mac, &vpc->gw_mac);
	r = kd_vxlan_encap(t, rn, m, vpc->vni, hash);
	if (unlikely(r != KD_PARSE_OK)) {
		kd_worker_drop(w, m, r);
		return;
	}
	w->st->event[KD_EV_VXLAN_ENCAP]++;
	kd_worker_tx(w, t->uplink_port, m);
}

/**
 * Strip the outer headers of m; the inner Ethernet header starts at
 * inner_l2_off. Returns false if the frame is too short.
 */
bool kd_vxlan_decap(struct rte_mbuf *m, uint16_t inner_l2_off);

/** Process one burst received on the uplink. */
void kd_vxlan_uplink_burst(struct kd_worker *w, const struct kd_tables *t,
			   struct rte_mbuf **pkts, uint16_t n);

#endif
