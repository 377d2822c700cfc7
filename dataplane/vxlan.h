/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_VXLAN_H
#define KDPU_DATAPLANE_VXLAN_H

/*
 * VXLAN (RFC 7348) on the uplink. kd_vxlan_uplink_burst() handles everything
 * the uplink receives: VXLAN for our VTEP is checked (I flag, known VNI,
 * local inner destination), decapsulated and routed to its vNIC; ARP and
 * ICMP echo for the VTEP IP go to the responders; the rest is dropped with
 * a reason. Encapsulation is dataplane/egress.h's.
 *
 * Worker context. Reads the current table generation only. The uplink's
 * plain IPv4 goes on to dataplane/underlay.h.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/tables.h"
#include "dataplane/worker.h"

/** Process one burst received on the uplink. */
void kd_vxlan_uplink_burst(struct kd_worker *w, const struct kd_tables *t,
			   struct rte_mbuf **pkts, uint16_t n);

#endif
