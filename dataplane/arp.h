/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_ARP_H
#define KDPU_DATAPLANE_ARP_H

/*
 * ARP and the local responders. Owns the underlay neighbour table (next hops
 * of remote VTEPs), proxy ARP for the pod gateway on vNIC ports, ARP and ICMP
 * echo for the VTEP/node IP on the uplink, and ICMP echo for the pod gateway.
 *
 * Neighbour slots are assigned by the control thread for configured next
 * hops, and by workers for underlay peers of new connections
 * (kd_arp_next_hop_slow); they never move. A worker that sees an ARP packet from a slot's IP stores the MAC
 * with one atomic 64-bit write; the encap path reads it with one atomic load,
 * so neither side locks. The control thread sends requests for unresolved or
 * stale slots (kd_arp_request_build) through worker 0's control TX ring.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/parse.h"
#include "dataplane/tables.h"

/* Configured next hops, plus the underlay subnet's hosts that clients or masqueraded
 * destinations use (off-subnet ones share the gateway's slot). */
#define KD_ARP_MAX_NEIGH 1024
#define KD_ARP_MAC_VALID (1ULL << 63)

struct kd_neigh {
	rte_be32_t ip;
	uint64_t mac;		/* KD_ARP_MAC_VALID | MAC bytes; 0 while unresolved */
	uint64_t learned_tsc;
};

struct kd_neigh_table {
	uint32_t n;
	struct kd_neigh e[KD_ARP_MAX_NEIGH];
};

extern struct kd_neigh_table *kd_arp_neigh;

/** Allocate the neighbour table. Control thread, after EAL init. 0 or -errno. */
int kd_arp_init(void);
void kd_arp_fini(void);
/** Register /kdpu/neighbors with rte_telemetry. 0 or -errno. */
int kd_arp_telemetry_register(void);

/** Slot for a next-hop IP, allocated on first use. Any thread. >= 0 or -ENOSPC. */
int kd_arp_neigh_slot(rte_be32_t ip);

/**
 * The neighbour slot toward underlay address dst: the gateway's when dst is
 * off the VTEP subnet and there is one, else dst's own. seen, if not NULL,
 * is the MAC a packet from dst arrived with; it fills a slot that is not
 * resolved yet. Worker context, new connections only. >= 0, -ENOSPC, or
 * -ENETUNREACH off the subnet without a gateway.
 */
int kd_arp_next_hop_slow(const struct kd_tables *t, rte_be32_t dst,
			 const struct rte_ether_addr *seen);

/** Load a slot's MAC; false while unresolved. Worker context. */
static __rte_always_inline bool
kd_arp_neigh_mac(uint16_t slot, struct rte_ether_addr *mac)
{
	uint64_t v = __atomic_load_n(&kd_arp_neigh->e[slot].mac, __ATOMIC_RELAXED);

	if (unlikely(!(v & KD_ARP_MAC_VALID)))
		return false;
	memcpy(mac, &v, RTE_ETHER_ADDR_LEN);
	return true;
}

/**
 * Handle an ARP frame in place. On KD_PARSE_OK the mbuf has become the reply
 * and goes back out of the port it came in on; otherwise it is dropped with
 * the returned reason, or is freed uncounted on KD_PARSE_CONSUMED (a reply we
 * learned from). Uplink: answers for the VTEP IP and learns neighbours.
 * vNIC: answers for every address but the pod's own (proxy ARP).
 */
enum kd_drop_reason kd_arp_input_slow(struct kd_stats *st, const struct kd_tables *t,
				      struct rte_mbuf *m, const struct kd_pkt_meta *pm,
				      bool uplink);

/**
 * Turn an ICMP echo request addressed to us into the reply, in place, with
 * our_mac as the new source. Returns KD_PARSE_OK or a drop reason.
 */
enum kd_drop_reason kd_arp_icmp_echo_slow(struct kd_stats *st, struct rte_mbuf *m,
					  const struct kd_pkt_meta *pm,
					  const struct rte_ether_addr *our_mac);

/** Build a broadcast ARP request for slot's IP on the uplink. NULL if pool empty. */
struct rte_mbuf *kd_arp_request_build(struct rte_mempool *mp, const struct kd_tables *t,
				      uint16_t slot);

#endif
