/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_UNDERLAY_H
#define KDPU_DATAPLANE_UNDERLAY_H

/*
 * The underlay beyond the VTEP: plain IPv4 on the uplink. Inbound, the
 * uplink stage hands over every IPv4 packet that is not VXLAN or an echo
 * for the node; kd_underlay_burst() runs it through the firewall in the
 * underlay zone. What it lets in is a known connection (the reply of a
 * masqueraded pod connection, the next packet of a Service client) or the
 * first packet of a Service client of a NodePort, LoadBalancer or external
 * IP; it is routed in the zone its translation leads to (a local vNIC, or
 * a remote node over VXLAN). Everything else is dropped: the underlay is
 * never relayed to itself.
 *
 * Outbound, kd_underlay_tx() sends a packet of a translated connection to
 * the underlay neighbour the connection recorded (its client's hop, or the
 * next hop toward a masqueraded destination).
 *
 * Worker context.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/arp.h"
#include "dataplane/fwd.h"
#include "dataplane/parse.h"
#include "dataplane/tables.h"
#include "dataplane/worker.h"

/* A next hop no LPM returns (they have 24 bits): the packet leaves for the underlay. */
#define KD_NH_UNDERLAY UINT32_MAX

/** Route plain IPv4 from the uplink; pm[i] holds packet i's parsed headers. */
void kd_underlay_burst(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf **pkts,
		       struct kd_pkt_meta *pm, uint16_t n);

/**
 * Send m (IPv4 at l3_off, TTL already handled) to underlay neighbour slot
 * hop, out of the uplink; dropped (arp_unresolved) while the neighbour is
 * not resolved.
 */
static __rte_always_inline void
kd_underlay_tx(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf *m,
	       uint16_t l3_off, uint16_t hop)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								 l3_off);
	uint32_t frame = (uint32_t)l3_off + rte_be_to_cpu_16(ip->total_length);
	struct rte_ether_addr mac;

	if (unlikely(hop == KD_NEIGH_NONE || !kd_arp_neigh_mac(hop, &mac))) {
		kd_worker_drop(w, m, KD_DROP_ARP_UNRESOLVED);
		return;
	}
	if (rte_pktmbuf_pkt_len(m) > frame)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - frame));
	kd_fwd_set_l2(m, l3_off, &mac, &t->uplink_mac);
	w->st->event[KD_EV_UPLINK_PLAIN]++;
	kd_worker_tx(w, t->uplink_port, m);
}

#endif
