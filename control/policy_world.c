/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes NetworkPolicy, kept compiled as objects change.
 *
 * Semantics (the API reference): a pod is isolated for ingress (egress) once
 * a policy of its namespace selects it with that type; policies are additive;
 * a rule's peers are ORed, its ports are ORed, an empty list of either
 * matches everything; podSelector alone selects pods of the policy's
 * namespace, namespaceSelector pods of matching namespaces, both together the
 * matching pods of the matching namespaces; ipBlock is a CIDR less its
 * excepts; a named port is looked up on the pod receiving the traffic.
 *
 * The compiled form is a sum: for every policy P and local pod L that P
 * selects, the tuples P admits for L (its static ipBlock and any-peer
 * rules, plus, for every selector peer q of P and every pod X in q, X's
 * addresses with q's ports). The sets (policy_sets.c) count each tuple's
 * derivations, so every relation this file keeps is changed one pair at a
 * time, with the tuples of that pair added or taken away:
 *   selection  (P, L)  policy P selects local pod L;
 *   membership (q, X)  pod X is in peer q's selection;
 *   match      (q, N)  namespace N is in q's namespaceSelector.
 * A pod that changes leaves every relation and enters them again, testing
 * only the peers that can hold it (its namespace's, those whose
 * namespaceSelector takes its namespace, and the few that take any pod), so
 * a change costs what it touches, never a pass over every policy or pod. A
 * policy's peers hold pods only while the policy selects a local pod: the
 * many policies that select none cost their objects, and no links.
 *
 * Over 800 lines: the relations and the tuples each pair gives are one
 * invariant (the sets hold exactly the sum above); split, the private types
 * of policies, peers and pods would need a header of their own.
 */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/grow.h"
#include "control/policy_ids.h"
#include "control/policy_rules.h"
#include "control/policy_sets.h"
#include "control/policy_world.h"
#include "control/selector.h"
#include "control/store.h"
#include "control/validate.h"
#include "dataplane/policy.h"

#define MAX_POLICIES 65536

/* ---------------------------------------------------------------- relations */

/* One pair of a relation, listed on both sides; removal is O(1) from either. */
struct link {
	void *a, *b;
	uint32_t ia, ib;		/* positions in the a side's and the b side's list */
};

struct links {
	struct link **v;
	uint32_t n, cap;
};

/* Objects that sit in one plain list keep their position in it (at). */
struct vec {
	void **v;
	uint32_t n, cap;
};

static struct link *
link_add(void *a, struct links *la, void *b, struct links *lb)
{
	struct link *l;

	if (kd_grow((void **)&la->v, &la->cap, la->n, sizeof(*la->v)) != 0 ||
	    kd_grow((void **)&lb->v, &lb->cap, lb->n, sizeof(*lb->v)) != 0 ||
	    (l = malloc(sizeof(*l))) == NULL)
		return NULL;
	*l = (struct link){ .a = a, .b = b, .ia = la->n, .ib = lb->n };
	la->v[la->n++] = l;
	lb->v[lb->n++] = l;
	return l;
}

static void
link_del(struct link *l, struct links *la, struct links *lb)
{
	struct link *m = la->v[--la->n];

	la->v[l->ia] = m;
	m->ia = l->ia;
	m = lb->v[--lb->n];
	lb->v[l->ib] = m;
	m->ib = l->ib;
	free(l);
}

static int
vec_add(struct vec *v, void *x, uint32_t *at)
{
	if (kd_grow((void **)&v->v, &v->cap, v->n, sizeof(*v->v)) != 0)
		return -ENOMEM;
	*at = v->n;
	v->v[v->n++] = x;
	return 0;
}

/* Take the element at position at; the last one moves there (its position field is fixed). */
#define VEC_DEL(vec, at, type, field) do {				\
		type *m_ = (vec)->v[--(vec)->n];			\
		(vec)->v[(at)] = m_;					\
		m_->field = (at);					\
	} while (0)

/* ---------------------------------------------------------------- objects */

struct ns {
	char *name;			/* first: the tree's key */
	const PB(Namespace) *obj;	/* NULL: only its name label */
	PB(ObjectMeta__LabelsEntry) dflt, *dflt_p;
	struct vec pods, policies, podsel;	/* podsel: peers taking pods of this namespace */
	struct links nssel;		/* b side of match: peers taking this namespace */
	uint32_t at;			/* in the world's nss */
};

struct pod {
	char *name;			/* "namespaces/NS/pods/NAME" */
	struct ns *ns;
	const PB(Pod) *obj;		/* NULL: only netdevs name it */
	const PB(Netdev) *nd[4];	/* netdevs that name it */
	unsigned int n_nd;
	uint32_t ip[4];			/* host order */
	unsigned int n_ip;
	int port;			/* local vNIC port, or -1 */
	struct links in;		/* b side of membership */
	struct links sel;		/* b side of selection */
	uint32_t at, at_ns;
};

enum peer_kind { PEER_PODSEL, PEER_NSSEL, PEER_ANY };

struct pol;

struct peer {
	struct pol *pol;
	const PB(NetworkPolicyPeer) *p;	/* NULL: any pod (egress to a named port, no peers) */
	uint8_t dir;
	uint8_t kind;
	uint32_t rule;
	struct links members;		/* a side of membership */
	struct links nss;		/* a side of match */
	uint32_t at;			/* in its namespace's podsel, or the world's nssel or any */
	uint64_t stamp;			/* == the world's: mark is this peer's link to the pod at hand */
	struct link *mark;
};

struct pol {
	char *name;			/* "namespace/name": the id's name too */
	struct ns *ns;
	const PB(NetworkPolicy) *obj;
	uint32_t id;
	bool isolates[2];
	struct peer *peers;
	uint32_t n_peers;
	uint32_t n_reg;			/* peers in the indexes: all while P selects a pod, else 0 */
	struct links sel;		/* a side of selection */
	uint32_t at_ns;
	uint64_t stamp;			/* as a peer's */
	struct link *mark;
};

/* The policies isolating one port and direction, counted. */
struct iso {
	struct { uint32_t id, count; } *v;
	uint32_t n, cap;
	bool changed;
};

struct kd_policy_world {
	const struct kd_config *cfg;
	const uint16_t *port_ids;
	struct kd_policy_ids *ids;
	struct kd_err *err;
	struct kd_policy_sets *sets;
	void *ns_tree, *pod_tree, *pol_tree;	/* tsearch(3), by name */
	struct vec nss, pods, nssel, any;
	struct iso iso[RTE_MAX_ETHPORTS][2];
	uint64_t stamp;
};

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void *
tree_find(void *const *root, const char *name)
{
	void **at = tfind(&name, root, cmp_name);

	return at != NULL ? *at : NULL;
}

static void *
labels_of(const PB(ObjectMeta) *m, size_t *n)
{
	*n = m != NULL ? m->n_labels : 0;
	return m != NULL ? m->labels : NULL;
}

static void *
ns_labels(const struct ns *ns, size_t *n)
{
	if (ns->obj == NULL) {
		*n = 1;
		return (void *)(uintptr_t)&ns->dflt_p;
	}
	return labels_of(ns->obj->metadata, n);
}

static void *
pod_labels(const struct pod *x, size_t *n)
{
	return labels_of(x->obj != NULL ? x->obj->metadata : NULL, n);
}

/* ---------------------------------------------------------------- tuples */

struct emit {
	struct kd_policy_world *w;
	uint16_t port;
	uint8_t dir;
	int sign;
	struct kd_pol_entry e;
};

static int
emit_prefix(uint32_t net, uint8_t plen, void *arg)
{
	struct emit *m = arg;
	struct kd_pol_key k = { .net = net, .port = m->port, .dir = m->dir, .plen = plen };
	int ret = kd_policy_sets_add(m->w->sets, &k, &m->e, m->sign);

	if (ret == -ENOSPC)
		kd_err_set(m->w->err, KD_RESOURCE_EXHAUSTED,
			   "policy: more prefixes than policy.max_prefixes %u", m->w->cfg->pol_max_prefixes);
	else if (ret != 0)
		kd_err_set(m->w->err, ret == -ENOMEM ? KD_RESOURCE_EXHAUSTED : KD_INTERNAL,
			   "policy: %s", ret == -ENOMEM ? "out of memory" : "counts out of step");
	return ret;
}

static void
emit_at(struct emit *m, const struct pol *P, const struct pod *L, uint8_t dir, int sign,
	const struct kd_prule_ports *r)
{
	m->port = (uint16_t)L->port;
	m->dir = dir;
	m->sign = sign;
	m->e = (struct kd_pol_entry){ .id = P->id, .lo = r->lo, .hi = r->hi, .proto = r->proto };
}

/* Rule j of P in direction dir: its peers, and its ports (none: any port of any protocol). */
struct rule {
	PB(NetworkPolicyPeer) *const *peers;
	size_t n_peers;
	const PB(NetworkPolicyPort) *const *ports;
	size_t n_ports;
};

static void
rule_of(const struct pol *P, uint8_t dir, uint32_t j, struct rule *r)
{
	static const PB(NetworkPolicyPort) *const any[1] = { NULL };
	const PB(NetworkPolicySpec) *s = P->obj->spec;

	if (dir == KD_POL_INGRESS) {
		r->peers = s->ingress[j]->from;
		r->n_peers = s->ingress[j]->n_from;
		r->ports = (const PB(NetworkPolicyPort) *const *)s->ingress[j]->ports;
		r->n_ports = s->ingress[j]->n_ports;
	} else {
		r->peers = s->egress[j]->to;
		r->n_peers = s->egress[j]->n_to;
		r->ports = (const PB(NetworkPolicyPort) *const *)s->egress[j]->ports;
		r->n_ports = s->egress[j]->n_ports;
	}
	if (r->n_ports == 0) {
		r->ports = any;
		r->n_ports = 1;
	}
}

static bool
pod_in_block(const struct pod *x, const PB(IPBlock) *b, unsigned int a)
{
	return b == NULL || kd_selector_ip_block(b, x->ip[a]);
}

/* The tuples pod X in peer q gives local pod L. */
static int
emit_pod(struct kd_policy_world *w, const struct peer *q,
	 const struct pod *L, const struct pod *X, int sign)
{
	bool ingress = q->dir == KD_POL_INGRESS;
	struct emit m = { .w = w };
	const PB(NetworkPolicyPort) *const *ports;
	struct rule r;
	size_t j;
	unsigned int a;
	int ret;

	rule_of(q->pol, q->dir, q->rule, &r);
	ports = r.ports;
	for (j = 0; j < r.n_ports; j++) {
		struct kd_prule_ports pr;

		/* Any-pod and ipBlock peers give pods only for named ports; the rest is static. */
		if (q->kind == PEER_ANY && !kd_prule_named(ports[j]))
			continue;
		if (!kd_prule_ports(ports[j], ingress ? L->obj : X->obj, &pr))
			continue;
		emit_at(&m, q->pol, L, q->dir, sign, &pr);
		for (a = 0; a < X->n_ip; a++) {
			if (q->kind == PEER_ANY && q->p != NULL && !pod_in_block(X, q->p->ip_block, a))
				continue;
			if ((ret = emit_prefix(X->ip[a], 32, &m)) != 0)
				return ret;
		}
	}
	return 0;
}

/* The tuples of rule j that no pod gives: any peer, ipBlocks. */
static int
emit_static(struct kd_policy_world *w, const struct pol *P,
	    const struct pod *L, uint8_t dir, uint32_t j, int sign)
{
	bool ingress = dir == KD_POL_INGRESS;
	struct emit m = { .w = w };
	const PB(NetworkPolicyPort) *const *ports;
	PB(NetworkPolicyPeer) *const *peers;
	struct rule r;
	size_t n_peers, i, k;
	int ret;

	rule_of(P, dir, j, &r);
	ports = r.ports;
	peers = r.peers;
	n_peers = r.n_peers;
	for (k = 0; k < r.n_ports; k++) {
		struct kd_prule_ports pr;

		/* Egress to a named port resolves on each peer pod: not static. */
		if (!ingress && kd_prule_named(ports[k]))
			continue;
		if (!kd_prule_ports(ports[k], ingress ? L->obj : NULL, &pr))
			continue;
		emit_at(&m, P, L, dir, sign, &pr);
		if (n_peers == 0 && (ret = emit_prefix(0, 0, &m)) != 0)
			return ret;
		for (i = 0; i < n_peers; i++)
			if (peers[i]->ip_block != NULL &&
			    (ret = kd_prule_block(peers[i]->ip_block, emit_prefix, &m)) != 0)
				return ret;
	}
	return 0;
}

/* Everything P gives local pod L. */
static int
emit_full(struct kd_policy_world *w, const struct pol *P,
	  const struct pod *L, int sign)
{
	const PB(NetworkPolicySpec) *s = P->obj->spec;
	uint32_t i, j;
	uint8_t d;
	int ret;

	for (d = 0; d < 2; d++) {
		size_t n = d == KD_POL_INGRESS ? s->n_ingress : s->n_egress;

		if (!P->isolates[d])
			continue;
		for (j = 0; j < n; j++)
			if ((ret = emit_static(w, P, L, d, j, sign)) != 0)
				return ret;
	}
	for (i = 0; i < P->n_peers; i++) {
		const struct peer *q = &P->peers[i];

		if (!P->isolates[q->dir])
			continue;
		for (j = 0; j < q->members.n; j++)
			if ((ret = emit_pod(w, q, L, q->members.v[j]->b, sign)) != 0)
				return ret;
	}
	return 0;
}

/* What pod X in q gives every pod q's policy selects. */
static int
emit_member(struct kd_policy_world *w, const struct peer *q,
	    const struct pod *X, int sign)
{
	uint32_t i;
	int ret;

	if (!q->pol->isolates[q->dir])
		return 0;
	for (i = 0; i < q->pol->sel.n; i++)
		if ((ret = emit_pod(w, q, q->pol->sel.v[i]->b, X, sign)) != 0)
			return ret;
	return 0;
}

/* ---------------------------------------------------------------- isolation */

static int
iso_add(struct kd_policy_world *w, int port, uint8_t dir, uint32_t id, int sign)
{
	struct iso *t = &w->iso[port][dir];
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n && t->v[lo].id == id) {
		t->v[lo].count += (uint32_t)sign;
		if (t->v[lo].count == 0) {
			memmove(&t->v[lo], &t->v[lo + 1], (t->n - lo - 1) * sizeof(t->v[0]));
			t->n--;
			t->changed = true;
		}
		return 0;
	}
	if (sign < 0 || kd_grow((void **)&t->v, &t->cap, t->n, sizeof(t->v[0])) != 0)
		return -ENOMEM;
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(t->v[0]));
	t->v[lo].id = id;
	t->v[lo].count = 1;
	t->n++;
	t->changed = true;
	return 0;
}

/* ---------------------------------------------------------------- relations */

static int
nomem(struct kd_policy_world *w)
{
	kd_err_set(w->err, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
	return -ENOMEM;
}

static int pol_activate(struct kd_policy_world *w, struct pol *P);
static void pol_deactivate(struct kd_policy_world *w, struct pol *P);

/* The first pod a policy selects makes its peers hold pods; the last one to go lets them go. */
static int
select_pod(struct kd_policy_world *w, struct pol *P, struct pod *L)
{
	uint8_t d;
	int ret;

	if (P->sel.n == 0 && (ret = pol_activate(w, P)) != 0)
		return ret;
	if (link_add(P, &P->sel, L, &L->sel) == NULL)
		return nomem(w);
	for (d = 0; d < 2; d++)
		if (P->isolates[d] && iso_add(w, L->port, d, P->id, 1) != 0)
			return nomem(w);
	return emit_full(w, P, L, 1);
}

static int
unselect_pod(struct kd_policy_world *w, struct link *l)
{
	struct pol *P = l->a;
	struct pod *L = l->b;
	uint8_t d;
	int ret = emit_full(w, P, L, -1);

	for (d = 0; d < 2; d++)
		if (P->isolates[d])
			iso_add(w, L->port, d, P->id, -1);
	link_del(l, &P->sel, &L->sel);
	if (P->sel.n == 0)
		pol_deactivate(w, P);
	return ret;
}

static int
member_add(struct kd_policy_world *w, struct peer *q, struct pod *X)
{
	if (link_add(q, &q->members, X, &X->in) == NULL)
		return nomem(w);
	return emit_member(w, q, X, 1);
}

static int
member_del(struct kd_policy_world *w, struct link *l)
{
	struct peer *q = l->a;
	struct pod *X = l->b;
	int ret = emit_member(w, q, X, -1);

	link_del(l, &q->members, &X->in);
	return ret;
}

static bool
selects(const struct pol *P, const struct pod *L)
{
	size_t n;
	void *lab = pod_labels(L, &n);

	return L->port >= 0 && P->ns == L->ns && kd_selector_match(P->obj->spec->pod_selector, lab, n);
}

/* Whether X is in q, given that q can hold pods of X's namespace. */
static bool
holds(const struct peer *q, const struct pod *X)
{
	size_t n;
	void *lab;
	unsigned int a;

	if (q->kind == PEER_ANY) {
		if (q->p == NULL)
			return true;
		for (a = 0; a < X->n_ip; a++)
			if (pod_in_block(X, q->p->ip_block, a))
				return true;
		return false;
	}
	lab = pod_labels(X, &n);
	return q->p->pod_selector == NULL || kd_selector_match(q->p->pod_selector, lab, n);
}

/* X leaves every relation: as a selected pod, then as a member. */
static int
pod_detach(struct kd_policy_world *w, struct pod *X)
{
	int ret;

	while (X->sel.n != 0)
		if ((ret = unselect_pod(w, X->sel.v[X->sel.n - 1])) != 0)
			return ret;
	while (X->in.n != 0)
		if ((ret = member_del(w, X->in.v[X->in.n - 1])) != 0)
			return ret;
	return 0;
}

static int
pod_attach(struct kd_policy_world *w, struct pod *X)
{
	struct vec *lists[2] = { &X->ns->podsel, &w->any };
	struct ns *N = X->ns;
	uint64_t stamp;
	uint32_t i, k;
	int ret;

	for (i = 0; X->port >= 0 && i < N->policies.n; i++) {
		struct pol *P = N->policies.v[i];

		if (selects(P, X) && (ret = select_pod(w, P, X)) != 0)
			return ret;
	}
	/* A policy that X's selection just woke took X into its peers already. */
	stamp = ++w->stamp;
	for (i = 0; i < X->in.n; i++)
		((struct peer *)X->in.v[i]->a)->stamp = stamp;
	for (k = 0; k < 3; k++) {
		uint32_t n = k < 2 ? lists[k]->n : N->nssel.n;

		for (i = 0; i < n; i++) {
			struct peer *q = k < 2 ? lists[k]->v[i] : N->nssel.v[i]->a;

			if (q->stamp != stamp && holds(q, X) && (ret = member_add(w, q, X)) != 0)
				return ret;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- namespaces */

static bool
ns_matches(const struct peer *q, const struct ns *N)
{
	size_t n;
	void *lab = ns_labels(N, &n);

	return kd_selector_match(q->p->namespace_selector, lab, n);
}

static struct ns *
ns_get(struct kd_policy_world *w, const char *name)
{
	struct ns *N = tree_find(&w->ns_tree, name);
	uint32_t i;

	if (N != NULL)
		return N;
	N = calloc(1, sizeof(*N));
	if (N == NULL || (N->name = strdup(name)) == NULL)
		goto fail;
	PB_FN(object_meta__labels_entry__init)(&N->dflt);
	N->dflt.key = (char *)(uintptr_t)KD_NAMESPACE_NAME_LABEL;
	N->dflt.value = N->name;
	N->dflt_p = &N->dflt;
	if (vec_add(&w->nss, N, &N->at) != 0)
		goto fail;
	if (tsearch(N, &w->ns_tree, cmp_name) == NULL) {
		VEC_DEL(&w->nss, N->at, struct ns, at);
		goto fail;
	}
	for (i = 0; i < w->nssel.n; i++)
		if (ns_matches(w->nssel.v[i], N) &&
		    link_add(w->nssel.v[i], &((struct peer *)w->nssel.v[i])->nss, N, &N->nssel) == NULL)
			return NULL;	/* the world is unusable now; the next build starts over */
	return N;
fail:
	if (N != NULL)
		free(N->name);
	free(N);
	return NULL;
}

static void
ns_put(struct kd_policy_world *w, struct ns *N)
{
	if (N->obj != NULL || N->pods.n != 0 || N->policies.n != 0)
		return;
	while (N->nssel.n != 0) {
		struct link *l = N->nssel.v[N->nssel.n - 1];

		link_del(l, &((struct peer *)l->a)->nss, &N->nssel);
	}
	tdelete(N, &w->ns_tree, cmp_name);
	VEC_DEL(&w->nss, N->at, struct ns, at);
	free(N->pods.v);
	free(N->policies.v);
	free(N->podsel.v);
	free(N->nssel.v);
	free(N->name);
	free(N);
}

/* N's labels changed: the namespaceSelector peers that take it or let it go. */
static int
ns_relabel(struct kd_policy_world *w, struct ns *N)
{
	uint64_t stamp = ++w->stamp;
	uint32_t i, j;
	int ret;

	for (i = 0; i < N->nssel.n; i++)
		((struct peer *)N->nssel.v[i]->a)->stamp = stamp;
	for (i = 0; i < w->nssel.n; i++) {
		struct peer *q = w->nssel.v[i];
		bool was = q->stamp == stamp, now = ns_matches(q, N);

		if (was == now)
			continue;
		if (was) {
			for (j = q->members.n; j-- > 0;)
				if (((struct pod *)q->members.v[j]->b)->ns == N &&
				    (ret = member_del(w, q->members.v[j])) != 0)
					return ret;
			for (j = 0; j < q->nss.n; j++)
				if (q->nss.v[j]->b == N) {
					link_del(q->nss.v[j], &q->nss, &N->nssel);
					break;
				}
			continue;
		}
		if (link_add(q, &q->nss, N, &N->nssel) == NULL)
			return nomem(w);
		for (j = 0; j < N->pods.n; j++)
			if (holds(q, N->pods.v[j]) && (ret = member_add(w, q, N->pods.v[j])) != 0)
				return ret;
	}
	return 0;
}

static int
ns_set(struct kd_policy_world *w, const PB(Namespace) *old,
       const PB(Namespace) *cur)
{
	const PB(Namespace) *o = cur != NULL ? cur : old;
	char nsname[64], id[254];
	struct ns *N;
	int ret;

	if (kd_kind_name_parse(&kd_kinds[KD_KIND_NAMESPACE], o->name, nsname, sizeof(nsname), id,
			       sizeof(id)) != 0)
		return 0;
	N = ns_get(w, id);
	if (N == NULL)
		return nomem(w);
	N->obj = cur;
	ret = ns_relabel(w, N);
	if (ret == 0)
		ns_put(w, N);
	return ret;
}

/* ---------------------------------------------------------------- pods */

static int
local_port(const struct kd_policy_world *w, const char *pci)
{
	unsigned int i;

	for (i = 0; i < w->cfg->n_ports; i++)
		if (w->cfg->ports[i].role == KD_CFG_ROLE_VNIC && strcmp(w->cfg->ports[i].pci, pci) == 0)
			return w->port_ids[i];
	return -1;
}

static void
add_ip(struct pod *x, const char *s)
{
	rte_be32_t ip;
	unsigned int i;

	if (s == NULL || kd_config_parse_ipv4(s, &ip) != 0 || x->n_ip == RTE_DIM(x->ip))
		return;
	for (i = 0; i < x->n_ip; i++)
		if (x->ip[i] == rte_be_to_cpu_32(ip))
			return;
	x->ip[x->n_ip++] = rte_be_to_cpu_32(ip);
}

/* A pod's addresses and port, from its object and the netdevs that name it. */
static void
pod_derive(const struct kd_policy_world *w, struct pod *x)
{
	const PB(Netdev) *first = NULL;
	size_t j;
	unsigned int i;

	x->n_ip = 0;
	x->port = -1;
	if (x->obj != NULL && x->obj->status != NULL) {
		add_ip(x, x->obj->status->pod_ip);
		for (j = 0; j < x->obj->status->n_pod_ips; j++)
			add_ip(x, x->obj->status->pod_ips[j]->ip);
	}
	/* Of several netdevs, the first by name gives the port, whatever the order they came in. */
	for (i = 0; i < x->n_nd; i++) {
		int port = local_port(w, x->nd[i]->spec->pci_address);

		if (x->nd[i]->spec->n_ips == 1)
			add_ip(x, x->nd[i]->spec->ips[0]);
		if (port >= 0 && (first == NULL || strcmp(x->nd[i]->name, first->name) < 0)) {
			first = x->nd[i];
			x->port = port;
		}
	}
}

static struct pod *
pod_get(struct kd_policy_world *w, const char *name, const char *nsname)
{
	struct pod *x = tree_find(&w->pod_tree, name);

	if (x != NULL)
		return x;
	x = calloc(1, sizeof(*x));
	if (x == NULL || (x->name = strdup(name)) == NULL)
		goto fail;
	x->port = -1;
	x->ns = ns_get(w, nsname);
	if (x->ns == NULL || vec_add(&w->pods, x, &x->at) != 0)
		goto fail;
	if (vec_add(&x->ns->pods, x, &x->at_ns) != 0) {
		VEC_DEL(&w->pods, x->at, struct pod, at);
		goto fail;
	}
	if (tsearch(x, &w->pod_tree, cmp_name) == NULL) {
		VEC_DEL(&x->ns->pods, x->at_ns, struct pod, at_ns);
		VEC_DEL(&w->pods, x->at, struct pod, at);
		goto fail;
	}
	return x;
fail:
	if (x != NULL)
		free(x->name);
	free(x);
	return NULL;
}

/* x is detached: free it if nothing names it any more. */
static void
pod_put(struct kd_policy_world *w, struct pod *x)
{
	struct ns *N = x->ns;

	if (x->obj != NULL || x->n_nd != 0)
		return;
	tdelete(x, &w->pod_tree, cmp_name);
	VEC_DEL(&N->pods, x->at_ns, struct pod, at_ns);
	VEC_DEL(&w->pods, x->at, struct pod, at);
	free(x->in.v);
	free(x->sel.v);
	free(x->name);
	free(x);
	ns_put(w, N);
}

/* The named ports of two versions of a pod agree: the tuples its addresses give do too. */
static bool
same_ports(const PB(Pod) *a, const PB(Pod) *b)
{
	size_t n = a->spec != NULL ? a->spec->n_containers : 0, i, j;

	if (n != (b->spec != NULL ? b->spec->n_containers : 0))
		return false;
	for (i = 0; i < n; i++) {
		const PB(Container) *x = a->spec->containers[i], *y = b->spec->containers[i];

		if (x->n_ports != y->n_ports)
			return false;
		for (j = 0; j < x->n_ports; j++)
			if (x->ports[j]->container_port != y->ports[j]->container_port ||
			    x->ports[j]->protocol != y->ports[j]->protocol ||
			    strcmp(x->ports[j]->name, y->ports[j]->name) != 0)
				return false;
	}
	return true;
}

/*
 * Only X's labels changed: flip the selections and memberships whose answer
 * changed, and leave the rest (a pod in a thousand peers keeps its links).
 */
static int
pod_relabel(struct kd_policy_world *w, struct pod *X)
{
	uint64_t stamp = ++w->stamp;
	struct vec *lists[2] = { &X->ns->podsel, &w->any };
	struct ns *N = X->ns;
	uint32_t i, k;
	int ret;

	for (i = 0; i < X->sel.n; i++) {
		((struct pol *)X->sel.v[i]->a)->stamp = stamp;
		((struct pol *)X->sel.v[i]->a)->mark = X->sel.v[i];
	}
	for (i = 0; X->port >= 0 && i < N->policies.n; i++) {
		struct pol *P = N->policies.v[i];
		bool was = P->stamp == stamp, now = selects(P, X);

		if (was && !now && (ret = unselect_pod(w, P->mark)) != 0)
			return ret;
		if (!was && now && (ret = select_pod(w, P, X)) != 0)
			return ret;
	}
	for (i = 0; i < X->in.n; i++) {
		((struct peer *)X->in.v[i]->a)->stamp = stamp;
		((struct peer *)X->in.v[i]->a)->mark = X->in.v[i];
	}
	for (k = 0; k < 3; k++) {
		uint32_t n = k < 2 ? lists[k]->n : N->nssel.n;

		for (i = 0; i < n; i++) {
			struct peer *q = k < 2 ? lists[k]->v[i] : N->nssel.v[i]->a;
			bool was = q->stamp == stamp, now = holds(q, X);

			if (was && !now && (ret = member_del(w, q->mark)) != 0)
				return ret;
			if (!was && now && (ret = member_add(w, q, X)) != 0)
				return ret;
		}
	}
	return 0;
}

static int
pod_set(struct kd_policy_world *w, const PB(Pod) *old, const PB(Pod) *cur)
{
	const PB(Pod) *o = cur != NULL ? cur : old;
	struct pod *x = pod_get(w, o->name, o->metadata->namespace_);
	int ret;

	if (x == NULL)
		return nomem(w);
	if (old != NULL && cur != NULL && x->obj == old && same_ports(old, cur)) {
		uint32_t ip[RTE_DIM(x->ip)];
		unsigned int n_ip = x->n_ip;
		int port = x->port;

		memcpy(ip, x->ip, sizeof(ip));
		x->obj = cur;
		pod_derive(w, x);
		if (x->n_ip == n_ip && x->port == port && memcmp(ip, x->ip, n_ip * sizeof(ip[0])) == 0)
			return pod_relabel(w, x);
		x->obj = old;
		pod_derive(w, x);
	}
	if ((ret = pod_detach(w, x)) != 0)
		return ret;
	x->obj = cur;
	pod_derive(w, x);
	if (cur == NULL && x->n_nd == 0) {
		pod_put(w, x);
		return 0;
	}
	return pod_attach(w, x);
}

/* One netdev leaves the pod it named (old) and joins the one it names now (cur). */
static int
netdev_set(struct kd_policy_world *w, const PB(Netdev) *old,
	   const PB(Netdev) *cur)
{
	const PB(Netdev) *side[2] = { old, cur };
	char nsname[64], id[254];
	unsigned int s, i;
	int ret;

	for (s = 0; s < 2; s++) {
		const PB(Netdev) *d = side[s];
		struct pod *x;

		if (d == NULL || d->spec->pod[0] == '\0' ||
		    kd_kind_name_parse(&kd_kinds[KD_KIND_POD], d->spec->pod, nsname, sizeof(nsname), id,
				       sizeof(id)) != 0)
			continue;
		x = pod_get(w, d->spec->pod, nsname);
		if (x == NULL)
			return nomem(w);
		if ((ret = pod_detach(w, x)) != 0)
			return ret;
		if (s == 0) {
			for (i = 0; i < x->n_nd; i++)
				if (x->nd[i] == d) {
					x->nd[i] = x->nd[--x->n_nd];
					break;
				}
		} else if (x->n_nd < RTE_DIM(x->nd)) {
			x->nd[x->n_nd++] = d;
		}
		pod_derive(w, x);
		if (x->obj == NULL && x->n_nd == 0)
			pod_put(w, x);
		else if ((ret = pod_attach(w, x)) != 0)
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------------- policies */

static bool
any_named(const struct rule *r)
{
	size_t i;

	for (i = 0; i < r->n_ports; i++)
		if (kd_prule_named(r->ports[i]))
			return true;
	return false;
}

static struct peer *
peer_new(struct pol *P, uint8_t dir, uint32_t j, const PB(NetworkPolicyPeer) *p, uint8_t kind)
{
	struct peer *q = &P->peers[P->n_peers++];

	*q = (struct peer){ .pol = P, .p = p, .dir = dir, .kind = kind, .rule = j };
	return q;
}

/*
 * The peers of P that hold pods: selector peers, and for egress to a named
 * port the ipBlocks and the rule without peers (the port resolves on each
 * pod). At most one per peer, plus one per rule.
 */
static int
peers_build(struct kd_policy_world *w, struct pol *P)
{
	const PB(NetworkPolicySpec) *s = P->obj->spec;
	size_t bound = 0, n[2] = { s->n_ingress, s->n_egress };
	uint32_t j, i;
	uint8_t d;
	struct rule r;

	for (d = 0; d < 2; d++)
		for (j = 0; j < n[d]; j++) {
			rule_of(P, d, j, &r);
			bound += r.n_peers + 1;
		}
	if (bound != 0 && (P->peers = calloc(bound, sizeof(*P->peers))) == NULL)
		return nomem(w);
	for (d = 0; d < 2; d++)
		for (j = 0; j < n[d]; j++) {
			bool named_out;

			rule_of(P, d, j, &r);
			named_out = d == KD_POL_EGRESS && any_named(&r);
			if (r.n_peers == 0 && named_out)
				peer_new(P, d, j, NULL, PEER_ANY);
			for (i = 0; i < r.n_peers; i++) {
				const PB(NetworkPolicyPeer) *p = r.peers[i];

				if (p->ip_block != NULL && !named_out)
					continue;
				peer_new(P, d, j, p, p->ip_block != NULL ? PEER_ANY :
						     p->namespace_selector != NULL ? PEER_NSSEL :
										     PEER_PODSEL);
			}
		}
	return 0;
}

/* P selects a pod: its peers join the indexes and take the pods they hold. */
static int
pol_activate(struct kd_policy_world *w, struct pol *P)
{
	uint32_t i, j, k;
	int ret;

	for (i = 0; i < P->n_peers; i++) {
		struct peer *q = &P->peers[i];
		struct vec *at = q->kind == PEER_PODSEL ? &P->ns->podsel :
				 q->kind == PEER_NSSEL ? &w->nssel : &w->any;

		if (vec_add(at, q, &q->at) != 0)
			return nomem(w);
		P->n_reg++;
	}
	for (i = 0; i < P->n_peers; i++) {
		struct peer *q = &P->peers[i];

		if (q->kind == PEER_PODSEL) {
			for (k = 0; k < P->ns->pods.n; k++)
				if (holds(q, P->ns->pods.v[k]) &&
				    (ret = member_add(w, q, P->ns->pods.v[k])) != 0)
					return ret;
		} else if (q->kind == PEER_ANY) {
			for (k = 0; k < w->pods.n; k++)
				if (holds(q, w->pods.v[k]) &&
				    (ret = member_add(w, q, w->pods.v[k])) != 0)
					return ret;
		} else {
			for (j = 0; j < w->nss.n; j++) {
				struct ns *N = w->nss.v[j];

				if (!ns_matches(q, N))
					continue;
				if (link_add(q, &q->nss, N, &N->nssel) == NULL)
					return nomem(w);
				for (k = 0; k < N->pods.n; k++)
					if (holds(q, N->pods.v[k]) &&
					    (ret = member_add(w, q, N->pods.v[k])) != 0)
						return ret;
			}
		}
	}
	return 0;
}

/* P selects nothing any more: its peers leave the indexes, with the pods they held. */
static void
pol_deactivate(struct kd_policy_world *w, struct pol *P)
{
	uint32_t i;

	for (i = 0; i < P->n_reg; i++) {
		struct peer *q = &P->peers[i];

		while (q->members.n != 0)
			link_del(q->members.v[q->members.n - 1], &q->members,
				 &((struct pod *)q->members.v[q->members.n - 1]->b)->in);
		while (q->nss.n != 0)
			link_del(q->nss.v[q->nss.n - 1], &q->nss,
				 &((struct ns *)q->nss.v[q->nss.n - 1]->b)->nssel);
		if (q->kind == PEER_PODSEL)
			VEC_DEL(&P->ns->podsel, q->at, struct peer, at);
		else if (q->kind == PEER_NSSEL)
			VEC_DEL(&w->nssel, q->at, struct peer, at);
		else
			VEC_DEL(&w->any, q->at, struct peer, at);
	}
	P->n_reg = 0;
}

static void
peers_free(struct kd_policy_world *w, struct pol *P)
{
	uint32_t i;

	pol_deactivate(w, P);
	for (i = 0; i < P->n_peers; i++) {
		free(P->peers[i].members.v);
		free(P->peers[i].nss.v);
	}
	free(P->peers);
	P->peers = NULL;
	P->n_peers = 0;
}

static int
pol_set(struct kd_policy_world *w, const PB(NetworkPolicy) *old,
	const PB(NetworkPolicy) *cur, uint32_t *fresh)
{
	const PB(NetworkPolicy) *o = cur != NULL ? cur : old;
	char name[128];
	struct pol *P;
	uint32_t i;
	int ret;

	*fresh = 0;
	snprintf(name, sizeof(name), "%s/%s", o->metadata->namespace_, o->metadata->name);
	P = tree_find(&w->pol_tree, name);
	if (P != NULL) {
		while (P->sel.n != 0)
			if ((ret = unselect_pod(w, P->sel.v[P->sel.n - 1])) != 0)
				return ret;
		peers_free(w, P);
	}
	if (cur == NULL) {
		struct ns *N;

		if (P == NULL)
			return 0;
		N = P->ns;
		VEC_DEL(&N->policies, P->at_ns, struct pol, at_ns);
		tdelete(P, &w->pol_tree, cmp_name);
		kd_policy_ids_put(w->ids, P->id);
		free(P->sel.v);
		free(P->name);
		free(P);
		ns_put(w, N);
		return 0;
	}
	if (P == NULL) {
		struct ns *N = ns_get(w, o->metadata->namespace_);
		bool given = false;
		uint32_t id;

		if (N == NULL)
			return nomem(w);
		id = kd_policy_ids_get(w->ids, name, MAX_POLICIES, NULL, &given);
		if (id == 0) {
			ns_put(w, N);
			kd_err_set(w->err, KD_RESOURCE_EXHAUSTED, "policy: more than %d policies",
				   MAX_POLICIES);
			return -ENOSPC;
		}
		P = calloc(1, sizeof(*P));
		if (P == NULL || (P->name = strdup(name)) == NULL ||
		    vec_add(&N->policies, P, &P->at_ns) != 0) {
			kd_policy_ids_put(w->ids, id);
			if (P != NULL)
				free(P->name);
			free(P);
			return nomem(w);
		}
		P->ns = N;
		P->id = id;
		*fresh = given ? id : 0;
		if (tsearch(P, &w->pol_tree, cmp_name) == NULL)
			return nomem(w);
	}
	P->obj = cur;
	P->isolates[KD_POL_INGRESS] = kd_prule_isolates(cur->spec, false);
	P->isolates[KD_POL_EGRESS] = kd_prule_isolates(cur->spec, true);
	if ((ret = peers_build(w, P)) != 0)
		return ret;
	for (i = 0; i < P->ns->pods.n; i++)
		if (selects(P, P->ns->pods.v[i]) &&
		    (ret = select_pod(w, P, P->ns->pods.v[i])) != 0)
			return ret;
	return 0;
}

/* ---------------------------------------------------------------- the world */

struct kd_policy_world *
kd_policy_world_create(const struct kd_config *cfg, const uint16_t *port_ids,
		       struct kd_policy_ids *ids)
{
	struct kd_policy_world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->cfg = cfg;
	w->port_ids = port_ids;
	w->ids = ids;
	w->sets = kd_policy_sets_create(cfg->pol_max_prefixes);
	if (w->sets == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

static void
nofree(void *p)
{
	(void)p;
}

/* A policy and the links it owns (the a side of selection, membership and match). */
static void
pol_free(void *p)
{
	struct pol *P = p;
	uint32_t i, j;

	for (i = 0; i < P->sel.n; i++)
		free(P->sel.v[i]);
	for (i = 0; i < P->n_peers; i++) {
		for (j = 0; j < P->peers[i].members.n; j++)
			free(P->peers[i].members.v[j]);
		for (j = 0; j < P->peers[i].nss.n; j++)
			free(P->peers[i].nss.v[j]);
		free(P->peers[i].members.v);
		free(P->peers[i].nss.v);
	}
	free(P->peers);
	free(P->sel.v);
	free(P->name);
	free(P);
}

void
kd_policy_world_free(struct kd_policy_world *w)
{
	uint32_t i, d;

	if (w == NULL)
		return;
	tdestroy(w->pol_tree, pol_free);
	for (i = 0; i < w->pods.n; i++) {
		struct pod *x = w->pods.v[i];

		free(x->in.v);
		free(x->sel.v);
		free(x->name);
		free(x);
	}
	for (i = 0; i < w->nss.n; i++) {
		struct ns *N = w->nss.v[i];

		free(N->pods.v);
		free(N->policies.v);
		free(N->podsel.v);
		free(N->nssel.v);
		free(N->name);
		free(N);
	}
	tdestroy(w->pod_tree, nofree);
	tdestroy(w->ns_tree, nofree);
	free(w->nss.v);
	free(w->pods.v);
	free(w->nssel.v);
	free(w->any.v);
	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (d = 0; d < 2; d++)
			free(w->iso[i][d].v);
	kd_policy_sets_free(w->sets);
	free(w);
}

struct kd_policy_sets *
kd_policy_world_sets(struct kd_policy_world *w)
{
	return w->sets;
}

int
kd_policy_world_namespace(struct kd_policy_world *w, const PB(Namespace) *old,
			  const PB(Namespace) *cur, struct kd_err *e)
{
	w->err = e;
	return ns_set(w, old, cur);
}

int
kd_policy_world_pod(struct kd_policy_world *w, const PB(Pod) *old, const PB(Pod) *cur,
		    struct kd_err *e)
{
	w->err = e;
	return pod_set(w, old, cur);
}

int
kd_policy_world_netdev(struct kd_policy_world *w, const PB(Netdev) *old, const PB(Netdev) *cur,
		       struct kd_err *e)
{
	w->err = e;
	return netdev_set(w, old, cur);
}

int
kd_policy_world_policy(struct kd_policy_world *w, const PB(NetworkPolicy) *old,
		       const PB(NetworkPolicy) *cur, uint32_t *fresh, struct kd_err *e)
{
	w->err = e;
	return pol_set(w, old, cur, fresh);
}

uint32_t
kd_policy_world_isolating(const struct kd_policy_world *w, uint16_t port, uint8_t dir,
			  uint32_t *ids)
{
	const struct iso *t = &w->iso[port][dir];
	uint32_t i;

	for (i = 0; ids != NULL && i < t->n; i++)
		ids[i] = t->v[i].id;
	return t->n;
}

bool
kd_policy_world_iso_changed(const struct kd_policy_world *w, uint16_t port, uint8_t dir)
{
	return w->iso[port][dir].changed;
}

void
kd_policy_world_settle(struct kd_policy_world *w)
{
	uint32_t i, d;

	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (d = 0; d < 2; d++)
			w->iso[i][d].changed = false;
}
