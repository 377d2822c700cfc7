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
 * Outbound, a packet of a translated connection goes to the underlay
 * neighbour the connection recorded (its client's hop, or the next hop
 * toward a masqueraded destination): kd_egress_underlay().
 *
 * Worker context.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/parse.h"
#include "dataplane/tables.h"
#include "dataplane/worker.h"

/** Route plain IPv4 from the uplink; pm[i] holds packet i's parsed headers. */
void kd_underlay_burst(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf **pkts,
		       struct kd_pkt_meta *pm, uint16_t n);

#endif
