/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EndpointSlices joined to their Services as kube-proxy does: by the label
 * kubernetes.io/service-name in the Service's namespace, IPv4 slices only;
 * endpoints merged over slices and de-duplicated by address and port (the
 * readier report wins); the endpoint port is the slice port of the Service
 * port's name and protocol, else a numeric targetPort.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>

#include "control/config.h"
#include "control/store.h"
#include "control/translate_slices.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

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

/* The Service an IPv4 slice belongs to, by its label; NULL for none. */
static const char *
slice_service(const PB(EndpointSlice) *es)
{
	const PB(ObjectMeta) *m = es->metadata;
	size_t i;

	if (m == NULL || (is_set(es->address_type) && strcmp(es->address_type, "IPv4") != 0))
		return NULL;
	for (i = 0; i < m->n_labels; i++)
		if (strcmp(m->labels[i]->key, SERVICE_NAME_LABEL) == 0)
			return m->labels[i]->value;
	return NULL;
}

/* A reference to (ns, svc) with its hash; the terminating NUL separates the two. */
static struct kd_translate_slices_ref
ref(const char *ns, const char *svc)
{
	uint32_t h = rte_hash_crc(ns, strlen(ns) + 1, 0);

	return (struct kd_translate_slices_ref){
		.h = rte_hash_crc(svc, strlen(svc), h), .ns = ns, .svc = svc,
	};
}

/* By hash, then by name: names are compared only between refs of equal hash. */
static int
cmp_ref(const void *a, const void *b)
{
	const struct kd_translate_slices_ref *x = a, *y = b;
	int c;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	c = strcmp(x->ns, y->ns);
	return c != 0 ? c : strcmp(x->svc, y->svc);
}

/*
 * The store's slices sorted by the (namespace, Service) they belong to,
 * once per build, so that each Service finds its own by binary search.
 */
struct kd_translate_slices_ref *
kd_translate_slices_index(const struct kd_store *s, size_t *n)
{
	const struct kd_store_kind *k = &s->kind[KD_KIND_ENDPOINTSLICE];
	struct kd_translate_slices_ref *r = malloc((k->n ? k->n : 1) * sizeof(*r));
	size_t i;

	*n = 0;
	if (r == NULL)
		return NULL;
	for (i = 0; i < k->n; i++) {
		const PB(EndpointSlice) *es = (const PB(EndpointSlice) *)k->obj[i];
		const char *svc = slice_service(es);

		if (svc != NULL) {
			r[*n] = ref(es->metadata->namespace_, svc);
			r[*n].es = es;
			r[(*n)++].serial = k->serial[i];
		}
	}
	qsort(r, *n, sizeof(*r), cmp_ref);
	return r;
}

size_t
kd_translate_slices_of(const struct kd_translate_slices_ref *idx, size_t n, const PB(Service) *svc,
		       size_t *count)
{
	struct kd_translate_slices_ref key = ref(svc->metadata->namespace_, svc->metadata->name);
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_ref(&idx[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (*count = 0; lo + *count < n && cmp_ref(&idx[lo + *count], &key) == 0; (*count)++)
		;
	return lo;
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
kd_translate_slices_gather(struct kd_translate_slices_eps *out,
			   const struct kd_translate_slices_ref *idx, size_t n_idx,
			   const PB(Service) *svc, const PB(ServicePort) *sp, const char *node)
{
	size_t n, first = kd_translate_slices_of(idx, n_idx, svc, &n), i, j, x;

	out->n = 0;
	for (i = first; i < first + n; i++) {
		const PB(EndpointSlice) *es = idx[i].es;
		uint16_t port;

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
