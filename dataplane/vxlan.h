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
 * Worker context. Reads the current table generation only.
 */

#include <stdint.h>

#include <rte_mbuf.h>

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
 * Strip the outer headers of m; the inner Ethernet header starts at
 * inner_l2_off. Returns false if the frame is too short.
 */
bool kd_vxlan_decap(struct rte_mbuf *m, uint16_t inner_l2_off);

/** Process one burst received on the uplink. */
void kd_vxlan_uplink_burst(struct kd_worker *w, const struct kd_tables *t,
			   struct rte_mbuf **pkts, uint16_t n);

#endif
