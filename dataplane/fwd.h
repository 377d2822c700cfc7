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

#include <rte_mbuf.h>

#include "dataplane/tables.h"
#include "dataplane/worker.h"

/** Process one burst received on vNIC port `port`. */
void kd_fwd_vnic_burst(struct kd_worker *w, const struct kd_tables *t, uint16_t port,
		       struct rte_mbuf **pkts, uint16_t n);

#endif
