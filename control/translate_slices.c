/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EndpointSlices joined to their Services as kube-proxy does: by the label
 * kubernetes.io/service-name in the Service's namespace (the store keeps
 * that index, control/store.h), IPv4 slices only;
 * endpoints merged over slices and de-duplicated by address and port (the
 * readier report wins); the endpoint port is the slice port of the Service
 * port's name and protocol, else a numeric targetPort.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>

#include "control/config.h"
#include "control/store.h"
#include "control/translate_slices.h"

uint8_t
kd_translate_slices_proto(int p)
{
	return p == PB_C(PROTOCOL__PROTOCOL_UDP) ? IPPROTO_UDP :
	       p == PB_C(PROTOCOL__PROTOCOL_SCTP) ? IPPROTO_SCTP : IPPROTO_TCP;
}

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* The endpoint port for a Service port in one slice, or 0 if it has none. */
static uint16_t
slice_port(const PB(EndpointSlice) *es, const PB(ServicePort) *sp)
{
	const char *name = sp->name != NULL ? sp->name : "";
	size_t i;

	for (i = 0; i < es->n_ports; i++) {
		const PB(EndpointPort) *p = es->ports[i];

		if (strcmp(p->name != NULL ? p->name : "", name) == 0 &&
		    kd_translate_slices_proto(p->protocol) == kd_translate_slices_proto(sp->protocol))
			return (uint16_t)p->port;
	}
	/* Without a slice port, only a numeric target can be meant. */
	if (sp->target_port == NULL)
		return (uint16_t)sp->port;
	if (sp->target_port->value_case == PB_C(INT_OR_STRING__VALUE_NUMBER))
		return (uint16_t)sp->target_port->number;
	return 0;
}

static bool
cond(const Google__Protobuf__BoolValue *v, bool unset)
{
	return v != NULL ? v->value : unset;
}

int
kd_translate_slices_gather(struct kd_translate_slices_eps *out, const struct kd_store_ref *slices,
			   size_t n, const PB(ServicePort) *sp, const char *node)
{
	size_t i, j, x;

	out->n = 0;
	for (i = 0; i < n; i++) {
		const PB(EndpointSlice) *es = (const PB(EndpointSlice) *)slices[i].obj;
		uint16_t port;

		if (is_set(es->address_type) && strcmp(es->address_type, "IPv4") != 0)
			continue;
		if ((port = slice_port(es, sp)) == 0)
			continue;
		for (j = 0; j < es->n_endpoints; j++) {
			const PB(Endpoint) *ep = es->endpoints[j];
			const PB(EndpointConditions) *c = ep->conditions;
			struct kd_lb_backend b = { .port = rte_cpu_to_be_16(port) }, *nv;
			bool ready = c != NULL ? cond(c->ready, true) : true;
			bool serving = c != NULL ? cond(c->serving, ready) : ready;
			bool term = c != NULL ? cond(c->terminating, false) : false;

			/* Kubernetes: the addresses are fungible; use the first. */
			if (ep->n_addresses == 0 || kd_config_parse_ipv4(ep->addresses[0], &b.ip) != 0)
				continue;
			b.flags = (uint8_t)((ready ? KD_LB_EP_READY : 0) |
					    (serving ? KD_LB_EP_SERVING : 0) |
					    (term ? KD_LB_EP_TERMINATING : 0) |
					    (is_set(ep->node_name) && strcmp(ep->node_name, node) == 0 ?
						     KD_LB_EP_LOCAL : 0));
			for (x = 0; x < out->n; x++)
				if (out->v[x].ip == b.ip && out->v[x].port == b.port)
					break;
			if (x < out->n) {
				/* The same endpoint in two slices: the readier report wins. */
				if ((b.flags & KD_LB_EP_READY) && !(out->v[x].flags & KD_LB_EP_READY))
					out->v[x] = b;
				continue;
			}
			if (out->n == out->cap) {
				size_t cap = out->cap != 0 ? out->cap * 2 : 16;

				nv = realloc(out->v, cap * sizeof(*nv));
				if (nv == NULL)
					return -ENOMEM;
				out->v = nv;
				out->cap = cap;
			}
			out->v[out->n++] = b;
		}
	}
	return 0;
}

uint32_t
kd_translate_slices_choose(struct kd_lb_backend *be, size_t n, bool local, uint8_t used,
			   bool *elsewhere)
{
	uint32_t count = 0;
	size_t i;
	int pass;

	*elsewhere = false;
	for (i = 0; i < n; i++)
		be[i].flags &= (uint8_t)~used;
	for (pass = 0; pass < 2 && count == 0; pass++)
		for (i = 0; i < n; i++) {
			uint8_t f = be[i].flags;
			bool takes = pass == 0 ? (f & KD_LB_EP_READY) != 0 :
				     (f & KD_LB_EP_SERVING) && (f & KD_LB_EP_TERMINATING);

			if (!takes)
				continue;
			if (local && !(f & KD_LB_EP_LOCAL)) {
				*elsewhere = true;
				continue;
			}
			be[i].flags |= used;
			count++;
		}
	return count;
}
