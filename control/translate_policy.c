/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes NetworkPolicy, as the API reference defines it:
 * - a pod is isolated for ingress (egress) once any policy in its namespace
 *   selects it with Ingress (Egress) among its policyTypes; policyTypes left
 *   empty means Ingress, plus Egress if the policy has egress rules;
 * - policies are additive: a connection is allowed if any rule of any
 *   policy selecting the pod allows it;
 * - a rule's peers are ORed, its ports are ORed, and an empty list of
 *   either matches everything;
 * - a peer with podSelector selects pods of the policy's namespace; with
 *   namespaceSelector, all pods of the matching namespaces; with both, the
 *   matching pods of the matching namespaces; ipBlock is a CIDR minus its
 *   excepts;
 * - a named port is looked up on the pod receiving the traffic: the
 *   selected pod for ingress, each peer pod for egress.
 * The result is, per local vNIC and direction, a list of allowed
 * (peer prefix, protocol, port range) with the id of the policy that allows
 * it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "control/config.h"
#include "control/policy_ids.h"
#include "control/store.h"
#include "control/validate.h"
#include "control/selector.h"
#include "control/translate_policy.h"
#include "dataplane/tables.h"

#define MAX_POLICIES 65536

/* No padding: rule lists are compared and sorted as bytes. */
struct rule {
	uint32_t net;		/* host order */
	uint32_t id;		/* policy id, >= 1 */
	uint16_t lo, hi;	/* destination ports */
	uint8_t plen;
	uint8_t proto;		/* 0: any */
	uint8_t pad[2];
};

struct rules {
	struct rule *v;
	size_t n, cap;
};

/* A compiled context, shared by every compiled policy whose list is identical. */
struct acl_entry {
	struct acl_entry *next;
	uint16_t port;
	uint8_t dir;
	uint32_t refs;
	size_t n;
	struct rule *rules;
	struct rte_acl_ctx *ctx;
};

struct kd_translate_policy {
	const struct kd_config *cfg;
	const uint16_t *port_ids;
	struct acl_entry *cache;
	uint64_t acl_builds;
	uint64_t gen;
	struct kd_policy_ids ids;
};

/* What the compiler hangs on a compiled policy. */
struct priv {
	struct acl_entry *used[RTE_MAX_ETHPORTS][2];
};

RTE_ACL_RULE_DEF(kd_acl_rule, 4);

static const struct rte_acl_field_def acl_fields[4] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint8_t), .field_index = 0,
	  .input_index = 0, .offset = offsetof(struct kd_acl_key, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t), .field_index = 1,
	  .input_index = 1, .offset = offsetof(struct kd_acl_key, peer) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = 2,
	  .input_index = 2, .offset = offsetof(struct kd_acl_key, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = 3,
	  .input_index = 2, .offset = offsetof(struct kd_acl_key, dport) },
};

struct kd_translate_policy *
kd_translate_policy_create(const struct kd_config *cfg, const uint16_t *port_ids)
{
	struct kd_translate_policy *pc = calloc(1, sizeof(*pc));

	if (pc != NULL) {
		pc->cfg = cfg;
		pc->port_ids = port_ids;
	}
	return pc;
}

static void
entry_put(struct kd_translate_policy *pc, struct acl_entry *e)
{
	struct acl_entry **pp;

	if (e == NULL || --e->refs != 0)
		return;
	for (pp = &pc->cache; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	rte_acl_free(e->ctx);
	free(e->rules);
	free(e);
}

void
kd_translate_policy_discard(struct kd_translate_policy *pc, struct kd_policy *p)
{
	struct priv *pv;
	unsigned int i, d;

	if (p == NULL)
		return;
	pv = p->priv;
	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (d = 0; d < 2; d++)
			entry_put(pc, pv->used[i][d]);
	free(pv);
	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (d = 0; d < 2; d++)
			free(p->isolating[i][d]);
	free(p->policy_name);
	free(p->fresh);
	free(p);
}

/* Remember that policy id isolates port in direction dir. */
static int
isolates(struct kd_policy *p, int port, unsigned int dir, uint32_t id)
{
	uint32_t *v = realloc(p->isolating[port][dir],
			      (p->n_isolating[port][dir] + 1u) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	v[p->n_isolating[port][dir]++] = id;
	p->isolating[port][dir] = v;
	return 0;
}

void
kd_translate_policy_free(struct kd_translate_policy *pc)
{
	if (pc == NULL)
		return;
	kd_policy_ids_fini(&pc->ids);
	free(pc);
}

uint64_t
kd_translate_policy_acl_builds(const struct kd_translate_policy *pc)
{
	return pc->acl_builds;
}

/* ---------------------------------------------------------------- pods */

/* A pod as the compiler sees it: where it lives, its labels, its addresses. */
struct pod {
	const PB(Pod) *obj;		/* may be NULL for a netdev's pod not (yet) known */
	char ns[64];
	const PB(Namespace) *nsobj;
	/* Without a Namespace object, the label the API server would give it. */
	PB(ObjectMeta__LabelsEntry) ns_label, *ns_label_p;
	uint32_t ip[4];			/* host order */
	unsigned int n_ip;
	int port;			/* local vNIC port, or -1 */
};

struct world {
	const struct kd_store *s;
	struct pod *pods;
	size_t n_pods;
};

static void
add_ip(struct pod *p, const char *s)
{
	rte_be32_t ip;
	unsigned int i;

	if (s == NULL || kd_config_parse_ipv4(s, &ip) != 0 || p->n_ip == RTE_DIM(p->ip))
		return;
	for (i = 0; i < p->n_ip; i++)
		if (p->ip[i] == rte_be_to_cpu_32(ip))
			return;
	p->ip[p->n_ip++] = rte_be_to_cpu_32(ip);
}

static void *
pod_labels(const struct pod *p, size_t *n)
{
	if (p->obj == NULL || p->obj->metadata == NULL) {
		*n = 0;
		return NULL;
	}
	*n = p->obj->metadata->n_labels;
	return p->obj->metadata->labels;
}

static void *
ns_labels(const struct pod *p, size_t *n)
{
	if (p->nsobj == NULL) {
		*n = 1;
		return (void *)(uintptr_t)&p->ns_label_p;
	}
	if (p->nsobj->metadata == NULL) {
		*n = 0;
		return NULL;
	}
	*n = p->nsobj->metadata->n_labels;
	return p->nsobj->metadata->labels;
}

static int
local_port(const struct kd_translate_policy *pc, const char *pci)
{
	unsigned int i;

	for (i = 0; i < pc->cfg->n_ports; i++)
		if (pc->cfg->ports[i].role == KD_CFG_ROLE_VNIC && strcmp(pc->cfg->ports[i].pci, pci) == 0)
			return pc->port_ids[i];
	return -1;
}

/* Every known pod, with the addresses of the netdevs that serve local ones. */
static int
gather(const struct kd_translate_policy *pc, struct world *w)
{
	const struct kd_store_kind *pods = &w->s->kind[KD_KIND_POD];
	const struct kd_store_kind *nds = &w->s->kind[KD_KIND_NETDEV];
	size_t i, j;
	char ns[64], id[254], nsname[80];

	w->pods = calloc(pods->n + nds->n + 1, sizeof(*w->pods));
	if (w->pods == NULL)
		return -ENOMEM;
	for (i = 0; i < pods->n; i++) {
		const PB(Pod) *o = (const PB(Pod) *)pods->obj[i];
		struct pod *p = &w->pods[w->n_pods++];

		p->obj = o;
		p->port = -1;
		snprintf(p->ns, sizeof(p->ns), "%s", o->metadata->namespace_);
		if (o->status != NULL) {
			add_ip(p, o->status->pod_ip);
			for (j = 0; j < o->status->n_pod_ips; j++)
				add_ip(p, o->status->pod_ips[j]->ip);
		}
	}
	for (i = 0; i < nds->n; i++) {
		const PB(Netdev) *d = (const PB(Netdev) *)nds->obj[i];
		struct pod *p = NULL;

		if (d->spec->pod[0] == '\0' ||
		    kd_kind_name_parse(&kd_kinds[KD_KIND_POD], d->spec->pod, ns, sizeof(ns), id,
				  sizeof(id)) != 0)
			continue;
		for (j = 0; j < w->n_pods; j++)
			if (w->pods[j].obj != NULL && strcmp(w->pods[j].obj->name, d->spec->pod) == 0)
				p = &w->pods[j];
		if (p == NULL) {
			/* A netdev's pod is still a pod of its namespace, if without labels yet. */
			p = &w->pods[w->n_pods++];
			p->port = -1;
			snprintf(p->ns, sizeof(p->ns), "%s", ns);
		}
		p->port = local_port(pc, d->spec->pci_address);
		if (d->spec->n_ips == 1)
			add_ip(p, d->spec->ips[0]);
	}
	for (i = 0; i < w->n_pods; i++) {
		struct pod *p = &w->pods[i];

		snprintf(nsname, sizeof(nsname), "namespaces/%s", p->ns);
		p->nsobj = (const PB(Namespace) *)kd_store_get(w->s, KD_KIND_NAMESPACE, nsname);
		PB_FN(object_meta__labels_entry__init)(&p->ns_label);
		p->ns_label.key = (char *)(uintptr_t)KD_NAMESPACE_NAME_LABEL;
		p->ns_label.value = p->ns;
		p->ns_label_p = &p->ns_label;
	}
	return 0;
}

/* ---------------------------------------------------------------- rules */

static int
push(struct rules *r, const struct rule *x)
{
	if (r->n == r->cap) {
		size_t cap = r->cap != 0 ? r->cap * 2 : 32;
		struct rule *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *x;
	return 0;
}

static uint8_t
proto_num(int p)
{
	return p == PB_C(PROTOCOL__PROTOCOL_UDP) ? IPPROTO_UDP :
	       p == PB_C(PROTOCOL__PROTOCOL_SCTP) ? IPPROTO_SCTP : IPPROTO_TCP;
}

/* A named container port of a pod, for protocol proto; 0 if it has none. */
static uint16_t
named_port(const struct pod *p, const char *name, uint8_t proto)
{
	size_t i, j;

	if (p->obj == NULL || p->obj->spec == NULL)
		return 0;
	for (i = 0; i < p->obj->spec->n_containers; i++) {
		const PB(Container) *c = p->obj->spec->containers[i];

		for (j = 0; j < c->n_ports; j++)
			if (strcmp(c->ports[j]->name, name) == 0 &&
			    proto_num(c->ports[j]->protocol) == proto)
				return (uint16_t)c->ports[j]->container_port;
	}
	return 0;
}

/*
 * Port match of one NetworkPolicyPort for traffic to pod `to` (NULL when the
 * destination is not a known pod): protocol and range. False if it can match
 * nothing (a named port the pod does not have).
 */
static bool
port_range(const PB(NetworkPolicyPort) *np, const struct pod *to, struct rule *r)
{
	r->proto = proto_num(np->protocol);
	r->lo = 0;
	r->hi = UINT16_MAX;
	if (np->port == NULL || np->port->value_case == PB_C(INT_OR_STRING__VALUE__NOT_SET))
		return true;
	if (np->port->value_case == PB_C(INT_OR_STRING__VALUE_NUMBER)) {
		r->lo = (uint16_t)np->port->number;
		r->hi = np->end_port != 0 ? (uint16_t)np->end_port : r->lo;
		return true;
	}
	if (to == NULL)
		return false;
	r->lo = r->hi = named_port(to, np->port->name, r->proto);
	return r->lo != 0;
}

/* CIDR minus excepts, as prefixes; split halves until none straddles an except. */
static int
subtract(struct rules *out, struct rule base, char *const *except, size_t n_except)
{
	size_t i;

	for (i = 0; i < n_except; i++) {
		rte_be32_t ep;
		uint8_t el;
		uint32_t emask, bmask, e;

		kd_config_parse_cidr(except[i], &ep, &el, false);
		e = rte_be_to_cpu_32(ep);
		emask = el == 0 ? 0 : ~0u << (32 - el);
		bmask = base.plen == 0 ? 0 : ~0u << (32 - base.plen);
		if (el <= base.plen && (base.net & emask) == (e & emask))
			return 0;	/* the except covers all of it */
		if (el > base.plen && (e & bmask) == base.net) {
			struct rule lo = base, hi = base;

			lo.plen = hi.plen = (uint8_t)(base.plen + 1);
			hi.net = base.net | (1u << (31 - base.plen));
			if (subtract(out, lo, except, n_except) != 0)
				return -ENOMEM;
			return subtract(out, hi, except, n_except);
		}
	}
	return push(out, &base);
}

/* Emit the rules of one peer list x port list, for traffic to or from pod `self`. */
static int
emit(struct rules *out, const struct world *w, const char *policy_ns, uint32_t id,
     PB(NetworkPolicyPeer) *const *peers, size_t n_peers, PB(NetworkPolicyPort) *const *ports,
     size_t n_ports, const struct pod *self, bool ingress)
{
	PB(NetworkPolicyPort) any = PB_C(NETWORK_POLICY_PORT__INIT);
	PB(NetworkPolicyPort) *const any_list[1] = { &any };
	size_t i, j, k, a;
	unsigned int q;
	int ret;

	if (n_ports == 0) {
		ports = any_list;
		n_ports = 1;
	}
	for (j = 0; j < n_ports; j++) {
		bool all_protos = ports[j] == &any;

		/* No peers: any address. Egress to a named port still needs pods that have it. */
		if (n_peers == 0) {
			bool named = ports[j]->port != NULL &&
				     ports[j]->port->value_case == PB_C(INT_OR_STRING__VALUE_NAME);

			if (ingress || !named) {
				struct rule r = { .net = 0, .plen = 0, .id = id };

				if (!port_range(ports[j], ingress ? self : NULL, &r))
					continue;
				if (all_protos)
					r.proto = 0;
				if ((ret = push(out, &r)) != 0)
					return ret;
				continue;
			}
			for (k = 0; k < w->n_pods; k++) {
				struct rule r = { .plen = 32, .id = id };

				if (!port_range(ports[j], &w->pods[k], &r))
					continue;
				for (q = 0; q < w->pods[k].n_ip; q++) {
					r.net = w->pods[k].ip[q];
					if ((ret = push(out, &r)) != 0)
						return ret;
				}
			}
			continue;
		}
		for (i = 0; i < n_peers; i++) {
			const PB(NetworkPolicyPeer) *p = peers[i];

			if (p->ip_block != NULL) {
				struct rule r = { .id = id };
				rte_be32_t net;

				/* Egress to a named port: the pods inside the block that have it. */
				if (!ingress && ports[j]->port != NULL &&
				    ports[j]->port->value_case == PB_C(INT_OR_STRING__VALUE_NAME)) {
					for (k = 0; k < w->n_pods; k++)
						for (a = 0; a < w->pods[k].n_ip; a++) {
							struct rule pr = { .net = w->pods[k].ip[a],
									   .plen = 32, .id = id };

							if (!kd_selector_ip_block(p->ip_block, pr.net) ||
							    !port_range(ports[j], &w->pods[k], &pr))
								continue;
							if ((ret = push(out, &pr)) != 0)
								return ret;
						}
					continue;
				}
				if (!port_range(ports[j], ingress ? self : NULL, &r))
					continue;
				if (all_protos)
					r.proto = 0;
				kd_config_parse_cidr(p->ip_block->cidr, &net, &r.plen, false);
				r.net = rte_be_to_cpu_32(net) & (r.plen == 0 ? 0 : ~0u << (32 - r.plen));
				if ((ret = subtract(out, r, p->ip_block->except,
						    p->ip_block->n_except)) != 0)
					return ret;
				continue;
			}
			for (k = 0; k < w->n_pods; k++) {
				const struct pod *o = &w->pods[k];
				struct rule r = { .plen = 32, .id = id };
				void *lab;
				size_t nl;

				if (p->namespace_selector != NULL) {
					lab = ns_labels(o, &nl);
					if (!kd_selector_match(p->namespace_selector, lab, nl))
						continue;
				} else if (strcmp(o->ns, policy_ns) != 0) {
					continue;
				}
				lab = pod_labels(o, &nl);
				if (p->pod_selector != NULL && !kd_selector_match(p->pod_selector, lab, nl))
					continue;
				if (!port_range(ports[j], ingress ? self : o, &r))
					continue;
				if (all_protos)
					r.proto = 0;
				for (a = 0; a < o->n_ip; a++) {
					r.net = o->ip[a];
					if ((ret = push(out, &r)) != 0)
						return ret;
				}
			}
		}
	}
	return 0;
}

static bool
has_type(const PB(NetworkPolicySpec) *s, const char *type)
{
	size_t i;

	if (s->n_policy_types == 0)
		return strcmp(type, "Ingress") == 0 || s->n_egress > 0;
	for (i = 0; i < s->n_policy_types; i++)
		if (strcmp(s->policy_types[i], type) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- ACL */

static struct acl_entry *
acl_get(struct kd_translate_policy *pc, uint16_t port, uint8_t dir, const struct rules *r,
	struct kd_err *e)
{
	struct rte_acl_param ap = {
		.socket_id = (int)rte_socket_id(),
		.rule_size = RTE_ACL_RULE_SZ(RTE_DIM(acl_fields)),
		.max_rule_num = (uint32_t)r->n,
	};
	struct rte_acl_config cfg = { .num_categories = 1, .num_fields = RTE_DIM(acl_fields) };
	struct acl_entry *a;
	char name[RTE_ACL_NAMESIZE];
	size_t i;
	int ret;

	for (a = pc->cache; a != NULL; a = a->next)
		if (a->port == port && a->dir == dir && a->n == r->n &&
		    memcmp(a->rules, r->v, r->n * sizeof(*r->v)) == 0) {
			a->refs++;
			return a;
		}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		goto nomem;
	a->rules = malloc(r->n * sizeof(*r->v));
	if (a->rules == NULL)
		goto nomem;
	memcpy(a->rules, r->v, r->n * sizeof(*r->v));
	snprintf(name, sizeof(name), "kdpol%" PRIu64, pc->acl_builds);
	ap.name = name;
	a->ctx = rte_acl_create(&ap);
	if (a->ctx == NULL)
		goto nomem;
	for (i = 0; i < r->n; i++) {
		struct kd_acl_rule ar;
		const struct rule *x = &r->v[i];

		memset(&ar, 0, sizeof(ar));
		ar.data.category_mask = 1;
		ar.data.priority = 1;
		ar.data.userdata = x->id;
		ar.field[0].value.u8 = x->proto;
		ar.field[0].mask_range.u8 = x->proto != 0 ? 0xff : 0;
		ar.field[1].value.u32 = x->net;
		ar.field[1].mask_range.u32 = x->plen;
		ar.field[2].value.u16 = 0;
		ar.field[2].mask_range.u16 = UINT16_MAX;
		ar.field[3].value.u16 = x->lo;
		ar.field[3].mask_range.u16 = x->hi;
		ret = rte_acl_add_rules(a->ctx, (const struct rte_acl_rule *)&ar, 1);
		if (ret != 0)
			goto fail;
	}
	memcpy(cfg.defs, acl_fields, sizeof(acl_fields));
	ret = rte_acl_build(a->ctx, &cfg);
	if (ret != 0)
		goto fail;
	pc->acl_builds++;
	a->port = port;
	a->dir = dir;
	a->n = r->n;
	a->refs = 1;
	a->next = pc->cache;
	pc->cache = a;
	return a;
fail:
	kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy of port %u: rte_acl: %s", port, strerror(-ret));
	goto out;
nomem:
	kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy of port %u: out of memory", port);
out:
	if (a != NULL) {
		rte_acl_free(a->ctx);
		free(a->rules);
		free(a);
	}
	return NULL;
}

_Static_assert(sizeof(struct rule) == 16, "struct rule has padding");

static int
rule_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct rule));
}

/* ---------------------------------------------------------------- build */

struct kd_policy *
kd_translate_policy_build(struct kd_translate_policy *pc, const struct kd_store *s, struct kd_err *e)
{
	const struct kd_store_kind *nps = &s->kind[KD_KIND_NETWORKPOLICY];
	struct world w = { .s = s };
	struct rules r[RTE_MAX_ETHPORTS][2];
	struct kd_policy *p = calloc(1, sizeof(*p));
	struct priv *pv = calloc(1, sizeof(*pv));
	uint8_t *seen = calloc(pc->ids.n + nps->n + 1, 1);
	uint32_t *ids = calloc(nps->n + 1, sizeof(*ids));
	size_t i, j, k;
	unsigned int port, d;

	memset(r, 0, sizeof(r));
	if (p == NULL || pv == NULL) {
		free(p);
		free(pv);
		p = NULL;
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
		goto out;
	}
	p->priv = pv;
	if (seen == NULL || ids == NULL || gather(pc, &w) != 0)
		goto nomem;
	for (i = 0; i < nps->n; i++) {
		const PB(NetworkPolicy) *np = (const PB(NetworkPolicy) *)nps->obj[i];
		char name[128];

		bool fresh;

		snprintf(name, sizeof(name), "%s/%s", np->metadata->namespace_, np->metadata->name);
		ids[i] = kd_policy_ids_get(&pc->ids, name, MAX_POLICIES, seen, &fresh);
		if (fresh) {
			uint32_t *v = realloc(p->fresh, (p->n_fresh + 1) * sizeof(*v));

			if (v == NULL)
				goto nomem;
			p->fresh = v;
			v[p->n_fresh++] = ids[i];
		}
		if (ids[i] == 0) {
			kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: more than %d policies",
				    MAX_POLICIES);
			goto fail;
		}
	}
	kd_policy_ids_sweep(&pc->ids, seen);
	/* Per local pod: the policies that select it, and what they allow. */
	for (k = 0; k < w.n_pods; k++) {
		const struct pod *self = &w.pods[k];
		size_t nl;
		void *lab = pod_labels(self, &nl);

		if (self->port < 0)
			continue;
		for (i = 0; i < nps->n; i++) {
			const PB(NetworkPolicy) *np = (const PB(NetworkPolicy) *)nps->obj[i];
			const PB(NetworkPolicySpec) *sp = np->spec;
			const char *pns = np->metadata->namespace_;

			if (strcmp(pns, self->ns) != 0 || !kd_selector_match(sp->pod_selector, lab, nl))
				continue;
			if (has_type(sp, "Ingress")) {
				p->isolated[self->port] |= KD_POL_ISOLATED_IN;
				if (isolates(p, self->port, KD_POL_INGRESS, ids[i]) != 0)
					goto nomem;
				for (j = 0; j < sp->n_ingress; j++)
					if (emit(&r[self->port][KD_POL_INGRESS], &w, pns, ids[i],
						 sp->ingress[j]->from, sp->ingress[j]->n_from,
						 sp->ingress[j]->ports, sp->ingress[j]->n_ports, self,
						 true) != 0)
						goto nomem;
			}
			if (has_type(sp, "Egress")) {
				p->isolated[self->port] |= KD_POL_ISOLATED_EG;
				if (isolates(p, self->port, KD_POL_EGRESS, ids[i]) != 0)
					goto nomem;
				for (j = 0; j < sp->n_egress; j++)
					if (emit(&r[self->port][KD_POL_EGRESS], &w, pns, ids[i],
						 sp->egress[j]->to, sp->egress[j]->n_to,
						 sp->egress[j]->ports, sp->egress[j]->n_ports, self,
						 false) != 0)
						goto nomem;
			}
		}
	}
	/* Sorted, so equal sets compare equal and reuse their compiled context. */
	for (port = 0; port < RTE_MAX_ETHPORTS; port++)
		for (d = 0; d < 2; d++) {
			if (r[port][d].n == 0)
				continue;
			qsort(r[port][d].v, r[port][d].n, sizeof(struct rule), rule_cmp);
			pv->used[port][d] = acl_get(pc, (uint16_t)port, (uint8_t)d, &r[port][d], e);
			if (pv->used[port][d] == NULL)
				goto fail;
			p->acl[port][d] = pv->used[port][d]->ctx;
		}
	/* Traffic from the node itself is always allowed in (Kubernetes' rule). */
	if (pc->cfg->vtep_ip != 0)
		p->node_ip[p->n_node_ip++] = pc->cfg->vtep_ip;
	for (i = 0; i < s->kind[KD_KIND_VPC].n && p->n_node_ip < RTE_DIM(p->node_ip); i++) {
		const PB(Vpc) *v = (const PB(Vpc) *)s->kind[KD_KIND_VPC].obj[i];

		kd_config_parse_ipv4(v->spec->gateway_ip, &p->node_ip[p->n_node_ip++]);
	}
	p->n_policies = pc->ids.n;
	p->policy_name = calloc(pc->ids.n + 1, sizeof(*p->policy_name));
	if (p->policy_name == NULL)
		goto nomem;
	if (pc->ids.n != 0)
		memcpy(p->policy_name, pc->ids.name, pc->ids.n * sizeof(*pc->ids.name));
	p->gen = ++pc->gen;
	goto out;
nomem:
	kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
fail:
	kd_translate_policy_discard(pc, p);
	p = NULL;
out:
	for (port = 0; port < RTE_MAX_ETHPORTS; port++)
		for (d = 0; d < 2; d++)
			free(r[port][d].v);
	free(w.pods);
	free(seen);
	free(ids);
	return p;
}
