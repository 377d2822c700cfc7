/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "control/config.h"
#include "control/policy_rules.h"

static uint8_t
proto_num(int p)
{
	return p == PB_C(PROTOCOL__PROTOCOL_UDP) ? IPPROTO_UDP :
	       p == PB_C(PROTOCOL__PROTOCOL_SCTP) ? IPPROTO_SCTP : IPPROTO_TCP;
}

bool
kd_prule_named(const PB(NetworkPolicyPort) *np)
{
	return np != NULL && np->port != NULL &&
	       np->port->value_case == PB_C(INT_OR_STRING__VALUE_NAME);
}

/* A named container port of a pod, for protocol proto; 0 if it has none. */
static uint16_t
named_port(const PB(Pod) *p, const char *name, uint8_t proto)
{
	size_t i, j;

	if (p == NULL || p->spec == NULL)
		return 0;
	for (i = 0; i < p->spec->n_containers; i++) {
		const PB(Container) *c = p->spec->containers[i];

		for (j = 0; j < c->n_ports; j++)
			if (strcmp(c->ports[j]->name, name) == 0 &&
			    proto_num(c->ports[j]->protocol) == proto)
				return (uint16_t)c->ports[j]->container_port;
	}
	return 0;
}

bool
kd_prule_ports(const PB(NetworkPolicyPort) *np, const PB(Pod) *pod, struct kd_prule_ports *r)
{
	r->lo = 0;
	r->hi = UINT16_MAX;
	if (np == NULL) {
		r->proto = 0;
		return true;
	}
	r->proto = proto_num(np->protocol);
	if (np->port == NULL || np->port->value_case == PB_C(INT_OR_STRING__VALUE__NOT_SET))
		return true;
	if (np->port->value_case == PB_C(INT_OR_STRING__VALUE_NUMBER)) {
		r->lo = (uint16_t)np->port->number;
		r->hi = np->end_port != 0 ? (uint16_t)np->end_port : r->lo;
		return true;
	}
	r->lo = r->hi = named_port(pod, np->port->name, r->proto);
	return r->lo != 0;
}

/* Split net/plen in halves until none straddles an except. */
static int
subtract(uint32_t net, uint8_t plen, char *const *except, size_t n_except,
	 int (*fn)(uint32_t, uint8_t, void *), void *arg)
{
	size_t i;

	for (i = 0; i < n_except; i++) {
		rte_be32_t ep;
		uint8_t el;
		uint32_t emask, bmask, e;
		int ret;

		kd_config_parse_cidr(except[i], &ep, &el, false);
		e = rte_be_to_cpu_32(ep);
		emask = el == 0 ? 0 : ~0u << (32 - el);
		bmask = plen == 0 ? 0 : ~0u << (32 - plen);
		if (el <= plen && (net & emask) == (e & emask))
			return 0;	/* the except covers all of it */
		if (el > plen && (e & bmask) == net) {
			ret = subtract(net, (uint8_t)(plen + 1), except, n_except, fn, arg);
			if (ret != 0)
				return ret;
			return subtract(net | (1u << (31 - plen)), (uint8_t)(plen + 1), except,
					n_except, fn, arg);
		}
	}
	return fn(net, plen, arg);
}

int
kd_prule_block(const PB(IPBlock) *b, int (*fn)(uint32_t net, uint8_t plen, void *arg), void *arg)
{
	rte_be32_t net;
	uint8_t plen;
	uint32_t h;

	if (kd_config_parse_cidr(b->cidr, &net, &plen, false) != 0)
		return 0;
	h = rte_be_to_cpu_32(net) & (plen == 0 ? 0 : ~0u << (32 - plen));
	return subtract(h, plen, b->except, b->n_except, fn, arg);
}

bool
kd_prule_isolates(const PB(NetworkPolicySpec) *s, bool egress)
{
	const char *type = egress ? "Egress" : "Ingress";
	size_t i;

	if (s->n_policy_types == 0)
		return !egress || s->n_egress > 0;
	for (i = 0; i < s->n_policy_types; i++)
		if (strcmp(s->policy_types[i], type) == 0)
			return true;
	return false;
}
