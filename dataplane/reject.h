/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_REJECT_H
#define KDPU_DATAPLANE_REJECT_H

/*
 * Refusals, as kube-proxy gives them for a Service with no endpoints: a TCP
 * segment becomes a RST from the address it was sent to, anything else an
 * ICMP port unreachable quoting it. The answer is built in place in the
 * same mbuf, at the same L3 offset, addressed back to the sender, so the
 * caller routes and transmits it like any other packet. Worker context,
 * rare path.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

/** Turn the IPv4 packet at l3_off into its refusal; false if it cannot be. */
bool kd_reject_build(struct rte_mbuf *m, uint16_t l3_off, uint16_t l4_off);

#endif
