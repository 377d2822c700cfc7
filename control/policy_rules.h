/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_POLICY_RULES_H
#define KDPU_CONTROL_POLICY_RULES_H

/*
 * What one NetworkPolicy rule admits, in the classifier's terms: a
 * NetworkPolicyPort as a protocol and port range (named ports looked up on a
 * pod's containers), an ipBlock as prefixes (its CIDR less its excepts), and
 * policyTypes as the directions a policy isolates. Pure functions of their
 * arguments, for the policy compiler. Control thread only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "proto/kinds.h"

/** A destination range of one protocol (0: any). */
struct kd_prule_ports {
	uint8_t proto;
	uint16_t lo, hi;
};

/** Whether np names its port (resolved per pod) rather than numbering it. */
bool kd_prule_named(const PB(NetworkPolicyPort) *np);
/**
 * np as a range for traffic to pod (NULL: not a known pod); np NULL is any
 * port of any protocol. False if it can match nothing (a named port the pod
 * does not have).
 */
bool kd_prule_ports(const PB(NetworkPolicyPort) *np, const PB(Pod) *pod,
		    struct kd_prule_ports *r);
/** fn for each prefix (host order) of b's cidr less its excepts. fn's nonzero return stops. */
int kd_prule_block(const PB(IPBlock) *b, int (*fn)(uint32_t net, uint8_t plen, void *arg),
		   void *arg);
/** Whether a policy with spec s isolates in direction egress (false: ingress). */
bool kd_prule_isolates(const PB(NetworkPolicySpec) *s, bool egress);

#endif
