/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One Service compiled into its frontends (dataplane/lb.h): the addresses
 * it answers on, per port, each with its endpoints and Maglev pools. What a
 * compilation allocates is kept with the unit and released with it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/maglev_cache.h"
#include "control/store.h"
#include "control/svc_unit.h"
#include "control/translate_slices.h"
#include "dataplane/maglev.h"

#define DEF_AFFINITY_S 10800	/* Kubernetes' default ClientIP timeout */

/* Everything one Service's compilation allocates or holds, released together. */
struct kd_svc_build {
	void **ptr;
	size_t n, cap;
	const uint16_t **tab;		/* Maglev tables it holds a reference on */
	size_t n_tab, cap_tab;
	uint32_t n_fe;
	size_t cap_fe;
	struct kd_lb_frontend *fe;
};

/* What compiling needs from the caller. */
struct ctx {
	const struct kd_config *cfg;
	struct kd_maglev_cache *mc;
};

void
kd_svc_unit_free(struct kd_maglev_cache *mc, struct kd_svc_unit *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; u->b != NULL && i < u->b->n; i++)
		free(u->b->ptr[i]);
	for (i = 0; u->b != NULL && i < u->b->n_tab; i++)
		kd_maglev_cache_put(mc, u->b->tab[i]);
	if (u->b != NULL) {
		free(u->b->ptr);
		free(u->b->tab);
		free(u->b->fe);
		free(u->b);
	}
	free(u->slices);
	free(u->name);
	free(u);
}

/*
 * The array v of n used and *cap allocated elements, with room for one more:
 * v itself, or a larger copy; NULL when out of memory (v is then untouched).
 */
static void *
room(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return v;
	nv = realloc(v, c * size);
	if (nv != NULL)
		*cap = c;
	return nv;
}

static void *
keep(struct kd_svc_build *b, void *p)
{
	void **np = p != NULL ? room(b->ptr, &b->cap, b->n, sizeof(*np)) : NULL;

	if (np == NULL) {
		free(p);
		return NULL;
	}
	b->ptr = np;
	b->ptr[b->n++] = p;
	return p;
}

/* Record a table reference the build took; on failure the reference is dropped. */
static int
hold(const struct ctx *cx, struct kd_svc_build *b, const uint16_t *t)
{
	const uint16_t **nt = room(b->tab, &b->cap_tab, b->n_tab, sizeof(*nt));

	if (nt == NULL) {
		kd_maglev_cache_put(cx->mc, t);
		return -ENOMEM;
	}
	b->tab = nt;
	b->tab[b->n_tab++] = t;
	return 0;
}

const char *
kd_svc_unit_proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* An endpoint's Maglev key, and where it sits in the frontend's be[]. */
struct keyed {
	uint64_t key;
	uint32_t at;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * One pool's Maglev table over the endpoints marked used. The pool lists
 * them in key order, so the cached table of that key set indexes the list
 * as it is: frontends with the same endpoints share one table, and a build
 * neither fills nor copies the table of an endpoint set it already has.
 */
static int
pool(const struct ctx *cx, struct kd_svc_build *b, struct kd_lb_pool *pl, struct kd_lb_backend *be,
     size_t n, bool local, enum kd_lb_side side, struct kd_err *e, const char *what)
{
	uint8_t used = (uint8_t)(KD_LB_EP_USED << side);
	uint32_t max = cx->cfg->svc_maglev_m, k = 0, i, m;
	struct kd_lb_backend *pbe;
	struct keyed *kv = NULL;
	uint64_t *keys = NULL;
	const uint16_t *t;
	bool elsewhere;
	int ret = -ENOMEM;

	if (kd_translate_slices_choose(be, n, local, used, &elsewhere) == 0) {
		pl->m = 0;
		pl->empty = elsewhere ? KD_LB_DROP : KD_LB_REFUSE;
		return 0;
	}
	kv = malloc(n * sizeof(*kv));
	keys = malloc(n * sizeof(*keys));
	if (kv == NULL || keys == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if (be[i].flags & used)
			kv[k++] = (struct keyed){ .at = i,
						  .key = (uint64_t)rte_be_to_cpu_32(be[i].ip) << 16 |
							 rte_be_to_cpu_16(be[i].port) };
	if (k >= max) {
		free(kv);
		free(keys);
		kd_err_set(e, KD_FAILED_PRECONDITION,
			    "%s: %u endpoints do not fit services.maglev_table_size %u", what, k, max);
		return -EINVAL;
	}
	m = kd_maglev_size(k, cx->cfg->svc_maglev_per_ep, max);
	qsort(kv, k, sizeof(*kv), cmp_keyed);
	for (i = 0; i < k; i++)
		keys[i] = kv[i].key;
	pbe = keep(b, malloc(k * sizeof(*pbe)));
	if (pbe == NULL)
		goto nomem;
	t = kd_maglev_cache_get(cx->mc, m, keys, k);
	if (t == NULL || hold(cx, b, t) != 0)
		goto nomem;
	for (i = 0; i < k; i++)
		pbe[i] = be[kv[i].at];
	pl->be = pbe;
	pl->maglev = t;
	pl->m = m;
	ret = 0;
nomem:
	free(kv);
	free(keys);
	if (ret != 0)
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "%s: out of memory", what);
	return ret;
}

static struct kd_lb_frontend *
new_fe(struct kd_svc_build *b)
{
	struct kd_lb_frontend *nf = room(b->fe, &b->cap_fe, b->n_fe, sizeof(*nf));

	if (nf == NULL)
		return NULL;
	b->fe = nf;
	memset(&b->fe[b->n_fe], 0, sizeof(b->fe[0]));
	return &b->fe[b->n_fe++];
}

/* The addresses a Service answers on, with their kind. */
struct vip {
	rte_be32_t ip;
	rte_be16_t port;	/* 0: the Service port; else a nodePort */
	enum kd_lb_kind kind;
};

static size_t
vips(const PB(Service) *svc, const PB(ServicePort) *p, rte_be32_t node_ip, struct vip *v,
     size_t max)
{
	const PB(ServiceSpec) *s = svc->spec;
	size_t n = 0, i;

	if (s->n_cluster_ips == 0 && is_set(s->cluster_ip) &&
	    kd_config_parse_ipv4(s->cluster_ip, &v[n].ip) == 0)
		v[n++].kind = KD_LB_CLUSTER_IP;
	for (i = 0; i < s->n_cluster_ips && n < max; i++)
		if (kd_config_parse_ipv4(s->cluster_ips[i], &v[n].ip) == 0)
			v[n++].kind = KD_LB_CLUSTER_IP;
	for (i = 0; i < s->n_external_ips && n < max; i++)
		if (kd_config_parse_ipv4(s->external_ips[i], &v[n].ip) == 0)
			v[n++].kind = KD_LB_EXTERNAL_IP;
	if (svc->status != NULL && svc->status->load_balancer != NULL &&
	    s->type == PB_C(SERVICE_TYPE__SERVICE_TYPE_LOAD_BALANCER))
		for (i = 0; i < svc->status->load_balancer->n_ingress && n < max; i++)
			if (is_set(svc->status->load_balancer->ingress[i]->ip) &&
			    kd_config_parse_ipv4(svc->status->load_balancer->ingress[i]->ip,
						 &v[n].ip) == 0)
				v[n++].kind = KD_LB_LB_INGRESS;
	for (i = 0; i < n; i++)
		v[i].port = 0;
	if (p->node_port != 0 && node_ip != 0 && n < max &&
	    (s->type == PB_C(SERVICE_TYPE__SERVICE_TYPE_NODE_PORT) ||
	     s->type == PB_C(SERVICE_TYPE__SERVICE_TYPE_LOAD_BALANCER))) {
		v[n].ip = node_ip;
		v[n].port = rte_cpu_to_be_16((uint16_t)p->node_port);
		v[n++].kind = KD_LB_NODE_PORT;
	}
	return n;
}

/* loadBalancerSourceRanges, for LoadBalancer ingress frontends. */
static int
ranges(struct kd_svc_build *b, struct kd_lb_frontend *fe, const PB(ServiceSpec) *sp)
{
	struct kd_cidr *r;
	size_t i;

	if (fe->kind != KD_LB_LB_INGRESS || sp->n_load_balancer_source_ranges == 0)
		return 0;
	r = keep(b, malloc(sp->n_load_balancer_source_ranges * sizeof(*r)));
	if (r == NULL)
		return -ENOMEM;
	for (i = 0; i < sp->n_load_balancer_source_ranges; i++) {
		uint8_t plen;

		/* Validated on the way in; host bits are tolerated, as Kubernetes does. */
		kd_config_parse_cidr(sp->load_balancer_source_ranges[i], &r[i].prefix, &plen,
				     false);
		r[i].mask = plen ? rte_cpu_to_be_32(~0u << (32 - plen)) : 0;
		r[i].prefix &= r[i].mask;
	}
	fe->ranges = r;
	fe->n_ranges = (uint16_t)i;
	return 0;
}

/*
 * Maglev disruption against the frontend o it replaces: entries whose
 * endpoint changed, and of those, entries whose old endpoint is still in
 * the pool (moves that consistent hashing should have avoided). A frontend
 * whose endpoints did not change carries its figures over, so they tell of
 * its own last update, whatever other Services did since.
 */
void
kd_svc_unit_disruption(struct kd_lb_frontend *fe, const struct kd_lb_frontend *o)
{
	const struct kd_lb_pool *np = &fe->pool[KD_LB_IN], *op;
	uint32_t i;
	uint16_t j;

	if (o == NULL)
		return;
	op = &o->pool[KD_LB_IN];
	if (op->m != np->m || np->m == 0)
		return;
	if (o->n_backends == fe->n_backends &&
	    memcmp(o->be, fe->be, fe->n_backends * sizeof(*fe->be)) == 0) {
		/* Unchanged by this build: it keeps the figures of its own last change. */
		fe->moved = o->moved;
		fe->moved_kept = o->moved_kept;
		return;
	}
	if (op->maglev == np->maglev)
		return;	/* the same endpoint set: nothing moved */
	for (i = 0; i < np->m; i++) {
		const struct kd_lb_backend *a = &op->be[op->maglev[i]], *c = &np->be[np->maglev[i]];

		if (a->ip == c->ip && a->port == c->port)
			continue;
		fe->moved++;
		for (j = 0; j < fe->n_backends; j++)
			if ((fe->be[j].flags & KD_LB_EP_USED) && fe->be[j].ip == a->ip &&
			    fe->be[j].port == a->port) {
				fe->moved_kept++;
				break;
			}
	}
}

static int
add_service(const struct ctx *cx, struct kd_svc_build *b, const struct kd_store_ref *slices,
	    size_t n_slices, const PB(Service) *svc, struct kd_translate_slices_eps *eps,
	    struct kd_err *e)
{
	const PB(ServiceSpec) *sp = svc->spec;
	bool affinity = sp->session_affinity == PB_C(SESSION_AFFINITY__SESSION_AFFINITY_CLIENT_IP);
	bool itp_local = sp->internal_traffic_policy == PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL);
	bool etp_local = sp->external_traffic_policy == PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL);
	const struct kd_config *cfg = cx->cfg;
	uint32_t tmo = DEF_AFFINITY_S;
	struct vip v[20];
	size_t nv, i, j, x;
	char what[256];

	if (sp->type == PB_C(SERVICE_TYPE__SERVICE_TYPE_EXTERNAL_NAME))
		return 0;
	if (sp->session_affinity_config != NULL && sp->session_affinity_config->client_ip != NULL &&
	    sp->session_affinity_config->client_ip->timeout_seconds > 0)
		tmo = (uint32_t)sp->session_affinity_config->client_ip->timeout_seconds;
	for (i = 0; i < sp->n_ports; i++) {
		const PB(ServicePort) *p = sp->ports[i];

		if (kd_translate_slices_gather(eps, slices, n_slices, p, cfg->node_name) != 0)
			return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		nv = vips(svc, p, cfg->vtep_ip, v, RTE_DIM(v));
		for (j = 0; j < nv; j++) {
			struct kd_lb_frontend *fe = new_fe(b);
			struct kd_lb_backend *be;
			bool external = v[j].kind != KD_LB_CLUSTER_IP;
			char ip[16];

			if (fe == NULL)
				return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
			fe->key.ip = v[j].ip;
			fe->key.port = v[j].port != 0 ? v[j].port : rte_cpu_to_be_16((uint16_t)p->port);
			fe->key.proto = kd_translate_slices_proto(p->protocol);
			fe->kind = (uint8_t)v[j].kind;
			fe->flags = (uint8_t)((affinity ? KD_LB_F_AFFINITY : 0) |
					      (external ? KD_LB_F_EXTERNAL : 0));
			fe->affinity_s = tmo;
			snprintf(fe->port_name, sizeof(fe->port_name), "%s", p->name ? p->name : "");
			kd_config_format_ipv4(fe->key.ip, ip, sizeof(ip));
			snprintf(what, sizeof(what), "service %s/%s %s:%u/%s", svc->metadata->namespace_,
				 svc->metadata->name, ip, rte_be_to_cpu_16(fe->key.port),
				 kd_svc_unit_proto_name(fe->key.proto));
			be = keep(b, malloc((eps->n ? eps->n : 1) * sizeof(*be)));
			if (be == NULL || ranges(b, fe, sp) != 0)
				return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "%s: out of memory", what);
			if (eps->n != 0)
				memcpy(be, eps->v, eps->n * sizeof(*be));
			fe->be = be;
			fe->n_backends = (uint16_t)eps->n;
			/*
			 * Pods reach every kind as a ClusterIP (kube-proxy short-circuits
			 * external addresses for them); underlay clients follow
			 * externalTrafficPolicy.
			 */
			if (pool(cx, b, &fe->pool[KD_LB_IN], be, eps->n, !external && itp_local,
				 KD_LB_IN, e, what) != 0)
				return e->code;
			if (!external)
				continue;
			if (!etp_local) {
				fe->pool[KD_LB_EXT] = fe->pool[KD_LB_IN];
				fe->pool[KD_LB_EXT].snat = 1;
				for (x = 0; x < eps->n; x++)
					if (be[x].flags & KD_LB_EP_USED)
						be[x].flags |= KD_LB_EP_USED << KD_LB_EXT;
			} else if (pool(cx, b, &fe->pool[KD_LB_EXT], be, eps->n, true, KD_LB_EXT,
					e, what) != 0) {
				return e->code;
			}
		}
	}
	return 0;
}

/* svc compiled, with the serials it was compiled from; NULL with e set. */
struct kd_svc_unit *
kd_svc_unit_compile(const struct kd_config *cfg, struct kd_maglev_cache *mc, const char *name, const PB(Service) *svc,
	uint64_t serial, const struct kd_store_ref *sl, size_t n_sl,
	struct kd_translate_slices_eps *eps, struct kd_err *e)
{
	struct kd_svc_unit *u = calloc(1, sizeof(*u));
	const struct ctx cx = { .cfg = cfg, .mc = mc };
	size_t i;

	if (u == NULL || (u->name = strdup(name)) == NULL ||
	    (u->b = calloc(1, sizeof(*u->b))) == NULL ||
	    (u->slices = malloc((n_sl ? n_sl : 1) * sizeof(*u->slices))) == NULL) {
		kd_svc_unit_free(mc, u);
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		return NULL;
	}
	u->serial = serial;
	for (i = 0; i < n_sl; i++)
		u->slices[i] = sl[i].serial;
	u->n_slices = (uint32_t)n_sl;
	if (svc->spec != NULL && add_service(&cx, u->b, sl, n_sl, svc, eps, e) != KD_OK) {
		kd_svc_unit_free(mc, u);
		return NULL;
	}
	u->fe = u->b->fe;
	u->n_fe = u->b->n_fe;
	for (i = 0; i < u->n_fe; i++)
		u->fe[i].svc = u->name;
	return u;
}
