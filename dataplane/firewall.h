/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_FIREWALL_H
#define KDPU_DATAPLANE_FIREWALL_H

/*
 * The stateful firewall stage, between routing and transmit. For a burst of
 * routed IPv4 packets it builds connection keys (zone = VPC slot), looks them
 * all up at once, and then:
 *  - a hit moves the connection's state (TCP as Linux does) and counters and
 *    passes, unless the TCP tracker calls the packet invalid, or the policy
 *    changed since the connection was allowed and no longer allows it (then
 *    the connection is cut on this packet);
 *  - a miss is a new connection: the source pod's egress policy and the
 *    destination pod's ingress policy are checked on the post-routing
 *    destination, and an allowed connection is inserted.
 * Replies of an allowed connection always pass. Packets the tracker cannot
 * follow (non-first IPv4 fragments) pass untracked unless an end is isolated.
 *
 * Worker context.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/parse.h"
#include "dataplane/worker.h"

/* An end of the connection that is not a local vNIC. */
#define KD_FW_REMOTE UINT16_MAX

struct kd_fw_pkt {
	struct rte_mbuf *m;
	const struct kd_pkt_meta *pm;	/* inner headers */
	uint16_t zone;			/* VPC slot */
	uint16_t src_port;		/* local vNIC the packet came from, or KD_FW_REMOTE */
	uint16_t dst_port;		/* local vNIC it goes to, or KD_FW_REMOTE */
};

/**
 * Judge n packets; pass[i] is set for those that may go on. Dropped ones are
 * already counted and queued for freeing.
 */
void kd_fw_burst(struct kd_worker *w, struct kd_fw_pkt *p, uint16_t n, uint8_t *pass);

/** Age a slice of this worker's share of the connection table; once per loop. */
void kd_fw_age(struct kd_worker *w, uint64_t now);

#endif
