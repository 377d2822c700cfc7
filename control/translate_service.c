/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A change compiles only the Services it names (a changed Service, the
 * Service of a changed slice) into units, and turns them into a delta:
 * per frontend key, the frontend before and after. Applying it updates
 * the live index in place; a grace period later the units it replaced are
 * freed. Nothing else is looked at, so a change costs what it touches.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "control/config.h"
#include "control/store.h"
#include "control/maglev_cache.h"
#include "control/translate_service.h"
#include "control/translate_slices.h"
#include "dataplane/conntrack.h"
#include "dataplane/maglev.h"
#include "dataplane/tables.h"

#define DEF_AFFINITY_S 10800	/* Kubernetes' default ClientIP timeout */

struct kd_translate_service {
	const struct kd_config *cfg;
	struct kd_ct *ct;
	struct kd_maglev_cache *mc;	/* Maglev tables by endpoint set */
	struct kd_lb *lb;		/* the live index, kd_lb_live */
	void *units;			/* tsearch(3) tree of the live units, by name */
	size_t n_units;
};

/* Everything one Service's compilation allocates or holds, released together. */
struct build {
	void **ptr;
	size_t n, cap;
	const uint16_t **tab;		/* Maglev tables it holds a reference on */
	size_t n_tab, cap_tab;
	uint32_t n_fe;
	size_t cap_fe;
	struct kd_lb_frontend *fe;
};

/* One Service compiled: its frontends and what they point to. */
struct unit {
	char *name;			/* "namespace/name"; the frontends point to it */
	uint64_t serial;		/* the Service's */
	uint64_t *slices;		/* its slices' serials, in the store's order */
	uint32_t n_slices;
	struct build b;
};

/* One Service's change: the live unit and the one that replaces it (NULL: none). */
struct change {
	struct unit *old, *cur;
};

/* One frontend key's change; slot is the index slot a removed key leaves. */
struct op {
	struct kd_lb_key key;
	const struct kd_lb_frontend *old;
	struct kd_lb_frontend *cur;
	int32_t slot;
};

struct kd_translate_service_delta {
	struct change *c;
	size_t n_c;
	struct op *op;
	size_t n_op;
	bool udp_left;			/* a UDP endpoint left a frontend: flush its flows */
};

static int
cmp_unit(const void *a, const void *b)
{
	return strcmp(((const struct unit *)a)->name, ((const struct unit *)b)->name);
}

static struct unit *
unit_find(const struct kd_translate_service *sc, const char *name)
{
	struct unit key = { .name = (char *)(uintptr_t)name };
	struct unit **at = tfind(&key, &sc->units, cmp_unit);

	return at != NULL ? *at : NULL;
}

static void
unit_free(struct kd_translate_service *sc, struct unit *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->b.n; i++)
		free(u->b.ptr[i]);
	free(u->b.ptr);
	for (i = 0; i < u->b.n_tab; i++)
		kd_maglev_cache_put(sc->mc, u->b.tab[i]);
	free(u->b.tab);
	free(u->b.fe);
	free(u->slices);
	free(u->name);
	free(u);
}

struct kd_translate_service *
kd_translate_service_create(const struct kd_config *cfg, struct kd_ct *ct)
{
	struct kd_translate_service *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	sc->cfg = cfg;
	sc->ct = ct;
	sc->mc = kd_maglev_cache_create();
	sc->lb = kd_lb_create("kd_lb", cfg->svc_max_frontends, cfg->svc_hairpin_ip, cfg->vtep_ip);
	if (sc->mc == NULL || sc->lb == NULL) {
		kd_maglev_cache_free(sc->mc);
		kd_lb_free(sc->lb);
		free(sc);
		return NULL;
	}
	__atomic_store_n(&kd_lb_live, sc->lb, __ATOMIC_RELEASE);
	return sc;
}

static struct kd_translate_service *freeing;

static void
free_node(void *u)
{
	unit_free(freeing, u);
}

void
kd_translate_service_free(struct kd_translate_service *sc)
{
	if (sc == NULL)
		return;
	/* After the workers stopped: nobody reads the index any more. */
	__atomic_store_n(&kd_lb_live, NULL, __ATOMIC_RELEASE);
	freeing = sc;
	tdestroy(sc->units, free_node);
	kd_lb_free(sc->lb);
	kd_maglev_cache_free(sc->mc);
	free(sc);
}

/* Whether the frontend lists the endpoint, serving when serving is asked for. */
static bool
has_backend(const struct kd_lb_frontend *fe, rte_be32_t ip, rte_be16_t port, bool serving)
{
	uint16_t i;

	for (i = 0; fe != NULL && i < fe->n_backends; i++)
		if (fe->be[i].ip == ip && fe->be[i].port == port)
			return !serving || (fe->be[i].flags & KD_LB_EP_SERVING);
	return false;
}

/* Whether some UDP endpoint of old is gone from cur: only then is a scan worth it. */
static bool
udp_endpoint_left(const struct kd_lb_frontend *old, const struct kd_lb_frontend *cur)
{
	uint16_t b;

	if (old == NULL || old->key.proto != IPPROTO_UDP)
		return false;
	for (b = 0; b < old->n_backends; b++)
		if (!has_backend(cur, old->be[b].ip, old->be[b].port, true))
			return true;
	return false;
}

static int
cmp_key(const struct kd_lb_key *a, const struct kd_lb_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

static int
cmp_op(const void *a, const void *b)
{
	return cmp_key(&((const struct op *)a)->key, &((const struct op *)b)->key);
}

/* The delta's op for key (ops are sorted by key), or NULL. */
static const struct op *
find_op(const struct kd_translate_service_delta *d, const struct kd_lb_key *key)
{
	struct op k = { .key = *key };

	return bsearch(&k, d->op, d->n_op, sizeof(*d->op), cmp_op);
}

/*
 * kube-proxy's conntrack cleanup: a UDP connection whose endpoint left its
 * Service or stopped serving (a terminating endpoint that still serves keeps
 * its flows), or whose Service is gone, would go on sending into the void, as
 * UDP has no reset; it is deleted, so its next datagram is a new connection
 * to a live endpoint. TCP and SCTP are left alone: they end by themselves.
 * A translated connection's original key names its frontend, and its reply
 * key the endpoint.
 */
static void
flush_stale_udp(struct kd_translate_service *sc, const struct kd_translate_service_delta *d)
{
	struct kd_ct *ct = sc->ct;
	uint32_t i;

	if (ct == NULL || !d->udp_left)
		return;
	for (i = 0; i < ct->capacity; i++) {
		const struct kd_ct_conn *c = &ct->conn[i];
		struct kd_ct_key key[2];
		const struct kd_ct_key *o = &key[KD_CT_ORIG], *r = &key[KD_CT_REPLY];
		struct kd_lb_key fk = { 0 };
		const struct op *op;

		if (c->proto != IPPROTO_UDP ||
		    (__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) &
		     (KD_CT_F_DEAD | KD_CT_F_USED | KD_CT_F_NAT)) != (KD_CT_F_USED | KD_CT_F_NAT))
			continue;
		memcpy(key, c->key, sizeof(key));
		fk.ip = o->ip[1];
		fk.port = o->port[1];
		fk.proto = o->proto;
		op = find_op(d, &fk);
		if (op == NULL || !has_backend(op->old, r->ip[0], r->port[0], false) ||
		    has_backend(op->cur, r->ip[0], r->port[0], true))
			continue;
		/* Read without the lock: the record may have been reused since. */
		kd_ct_delete_if(ct, i, key);
	}
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
keep(struct build *b, void *p)
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
hold(struct kd_translate_service *sc, struct build *b, const uint16_t *t)
{
	const uint16_t **nt = room(b->tab, &b->cap_tab, b->n_tab, sizeof(*nt));

	if (nt == NULL) {
		kd_maglev_cache_put(sc->mc, t);
		return -ENOMEM;
	}
	b->tab = nt;
	b->tab[b->n_tab++] = t;
	return 0;
}

static const char *
proto_name(uint8_t p)
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
pool(struct kd_translate_service *sc, struct build *b, struct kd_lb_pool *pl, struct kd_lb_backend *be,
     size_t n, bool local, enum kd_lb_side side, uint32_t m, struct kd_err *e,
     const char *what)
{
	uint8_t used = (uint8_t)(KD_LB_EP_USED << side);
	struct kd_lb_backend *pbe;
	struct keyed *kv = NULL;
	uint64_t *keys = NULL;
	const uint16_t *t;
	uint32_t k = 0, i;
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
	if (k >= m) {
		free(kv);
		free(keys);
		kd_err_set(e, KD_FAILED_PRECONDITION,
			    "%s: %u endpoints do not fit services.maglev_table_size %u", what, k, m);
		return -EINVAL;
	}
	qsort(kv, k, sizeof(*kv), cmp_keyed);
	for (i = 0; i < k; i++)
		keys[i] = kv[i].key;
	pbe = keep(b, malloc(k * sizeof(*pbe)));
	if (pbe == NULL)
		goto nomem;
	t = kd_maglev_cache_get(sc->mc, m, keys, k);
	if (t == NULL || hold(sc, b, t) != 0)
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
new_fe(struct build *b)
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
ranges(struct build *b, struct kd_lb_frontend *fe, const PB(ServiceSpec) *sp)
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
static void
disruption(struct kd_lb_frontend *fe, const struct kd_lb_frontend *o)
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
add_service(struct kd_translate_service *sc, struct build *b, const struct kd_store_ref *slices,
	    size_t n_slices, const PB(Service) *svc, struct kd_translate_slices_eps *eps,
	    struct kd_err *e)
{
	const PB(ServiceSpec) *sp = svc->spec;
	bool affinity = sp->session_affinity == PB_C(SESSION_AFFINITY__SESSION_AFFINITY_CLIENT_IP);
	bool itp_local = sp->internal_traffic_policy == PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL);
	bool etp_local = sp->external_traffic_policy == PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL);
	const struct kd_config *cfg = sc->cfg;
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
				 proto_name(fe->key.proto));
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
			if (pool(sc, b, &fe->pool[KD_LB_IN], be, eps->n, !external && itp_local,
				 KD_LB_IN, cfg->svc_maglev_m, e, what) != 0)
				return e->code;
			if (!external)
				continue;
			if (!etp_local) {
				fe->pool[KD_LB_EXT] = fe->pool[KD_LB_IN];
				fe->pool[KD_LB_EXT].snat = 1;
				for (x = 0; x < eps->n; x++)
					if (be[x].flags & KD_LB_EP_USED)
						be[x].flags |= KD_LB_EP_USED << KD_LB_EXT;
			} else if (pool(sc, b, &fe->pool[KD_LB_EXT], be, eps->n, true, KD_LB_EXT,
					cfg->svc_maglev_m, e, what) != 0) {
				return e->code;
			}
		}
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names ("namespace/name") of the Services a change touches, with duplicates. */
struct names {
	char **v;
	size_t n, cap;
};

static int
add_name(struct names *nm, const char *ns, const char *name)
{
	char **nv = room(nm->v, &nm->cap, nm->n, sizeof(*nv));
	size_t len = strlen(ns) + strlen(name) + 2;

	if (nv == NULL)
		return -ENOMEM;
	nm->v = nv;
	nm->v[nm->n] = malloc(len);
	if (nm->v[nm->n] == NULL)
		return -ENOMEM;
	snprintf(nm->v[nm->n++], len, "%s/%s", ns, name);
	return 0;
}

static int
touched(struct names *nm, const struct kd_store_change *ch)
{
	const ProtobufCMessage *obj[2] = { ch->old, ch->cur };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		const PB(ObjectMeta) *m;
		const char *svc;

		if (obj[i] == NULL)
			continue;
		if (ch->kind == KD_KIND_SERVICE) {
			m = ((const PB(Service) *)obj[i])->metadata;
			svc = m->name;
		} else if (ch->kind == KD_KIND_ENDPOINTSLICE) {
			m = ((const PB(EndpointSlice) *)obj[i])->metadata;
			svc = kd_store_slice_service(obj[i]);
		} else {
			continue;
		}
		if (svc != NULL && add_name(nm, m->namespace_, svc) != 0)
			return -ENOMEM;
	}
	return 0;
}

struct walk_names {
	struct names *nm;
	int ret;
};

static void
walk_name(const void *node, VISIT v, void *arg)
{
	const struct unit *u = *(const struct unit *const *)node;
	struct walk_names *w = arg;
	const char *slash = strchr(u->name, '/');
	char ns[64];

	if ((v != postorder && v != leaf) || w->ret != 0 || slash == NULL)
		return;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - u->name), u->name);
	w->ret = add_name(w->nm, ns, slash + 1);
}

/* Every Service name: those the store has and those the index has. */
static int
all_names(const struct kd_translate_service *sc, const struct kd_store *s, struct names *nm)
{
	const struct kd_store_kind *k = &s->kind[KD_KIND_SERVICE];
	struct walk_names w = { .nm = nm };
	size_t i;

	for (i = 0; i < k->n; i++) {
		const PB(ObjectMeta) *m = ((const PB(Service) *)k->obj[i])->metadata;

		if (add_name(nm, m->namespace_, m->name) != 0)
			return -ENOMEM;
	}
	twalk_r(sc->units, walk_name, &w);
	return w.ret;
}

/* svc compiled, with the serials it was compiled from; NULL with e set. */
static struct unit *
compile(struct kd_translate_service *sc, const char *name, const PB(Service) *svc,
	uint64_t serial, const struct kd_store_ref *sl, size_t n_sl,
	struct kd_translate_slices_eps *eps, struct kd_err *e)
{
	struct unit *u = calloc(1, sizeof(*u));
	size_t i;

	if (u == NULL || (u->name = strdup(name)) == NULL ||
	    (u->slices = malloc((n_sl ? n_sl : 1) * sizeof(*u->slices))) == NULL) {
		unit_free(sc, u);
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		return NULL;
	}
	u->serial = serial;
	for (i = 0; i < n_sl; i++)
		u->slices[i] = sl[i].serial;
	u->n_slices = (uint32_t)n_sl;
	if (svc->spec != NULL && add_service(sc, &u->b, sl, n_sl, svc, eps, e) != KD_OK) {
		unit_free(sc, u);
		return NULL;
	}
	for (i = 0; i < u->b.n_fe; i++)
		u->b.fe[i].svc = u->name;
	return u;
}

static bool
unchanged(const struct unit *u, uint64_t serial, const struct kd_store_ref *sl, size_t n)
{
	size_t i;

	if (u == NULL || u->serial != serial || u->n_slices != n)
		return false;
	for (i = 0; i < n; i++)
		if (u->slices[i] != sl[i].serial)
			return false;
	return true;
}

/* The change of Service name ("namespace/name"), if it has one; 0 or -errno with e set. */
static int
plan_service(struct kd_translate_service *sc, const struct kd_store *s, const char *name,
	     struct kd_translate_service_delta *d, size_t *cap, struct kd_translate_slices_eps *eps,
	     struct kd_err *e)
{
	const char *slash = strchr(name, '/');
	struct unit *old = unit_find(sc, name), *cur = NULL;
	const struct kd_store_ref *sl;
	const PB(Service) *svc;
	struct change *nc;
	uint64_t serial;
	size_t n_sl;
	char ns[64], full[400];

	if (slash == NULL || (size_t)(slash - name) >= sizeof(ns))
		return 0;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - name), name);
	snprintf(full, sizeof(full), "namespaces/%s/services/%s", ns, slash + 1);
	svc = (const PB(Service) *)kd_store_get(s, KD_KIND_SERVICE, full);
	serial = kd_store_serial(s, KD_KIND_SERVICE, full);
	sl = kd_store_slices_of(s, ns, slash + 1, &n_sl);
	if (svc == NULL ? old == NULL : unchanged(old, serial, sl, n_sl))
		return 0;
	nc = room(d->c, cap, d->n_c, sizeof(*nc));
	if (nc == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
	d->c = nc;
	if (svc != NULL && (cur = compile(sc, name, svc, serial, sl, n_sl, eps, e)) == NULL)
		return e->code;
	d->c[d->n_c++] = (struct change){ .old = old, .cur = cur };
	return 0;
}

static int
conflict(const struct kd_lb_key *k, const char *a, const char *b, struct kd_err *e)
{
	char ip[16];

	if (strcmp(a, b) > 0) {
		const char *t = a;

		a = b;
		b = t;
	}
	kd_config_format_ipv4(k->ip, ip, sizeof(ip));
	return kd_err_set(e, KD_FAILED_PRECONDITION, "%s:%u/%s is claimed by both service %s and service %s",
			  ip, rte_be_to_cpu_16(k->port), proto_name(k->proto), a, b);
}

/*
 * Per frontend key, what it was and what it becomes. A key that a changed
 * Service takes must be free: held by no other Service, in this change or
 * live. The index must have room for every new key while the removed ones
 * still hold their slots (they are freed a grace period later).
 */
static int
plan_keys(struct kd_translate_service *sc, struct kd_translate_service_delta *d, struct kd_err *e)
{
	size_t n = 0, i, j, adds = 0;
	struct op *op;

	for (i = 0; i < d->n_c; i++)
		n += (d->c[i].old ? d->c[i].old->b.n_fe : 0) + (d->c[i].cur ? d->c[i].cur->b.n_fe : 0);
	op = malloc((n ? n : 1) * sizeof(*op));
	if (op == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
	n = 0;
	for (i = 0; i < d->n_c; i++) {
		for (j = 0; d->c[i].old != NULL && j < d->c[i].old->b.n_fe; j++)
			op[n++] = (struct op){ .key = d->c[i].old->b.fe[j].key,
					       .old = &d->c[i].old->b.fe[j], .slot = -1 };
		for (j = 0; d->c[i].cur != NULL && j < d->c[i].cur->b.n_fe; j++)
			op[n++] = (struct op){ .key = d->c[i].cur->b.fe[j].key,
					       .cur = &d->c[i].cur->b.fe[j], .slot = -1 };
	}
	qsort(op, n, sizeof(*op), cmp_op);
	d->op = op;
	/* Merge the old and new entries of each key into one op. */
	for (i = 0, j = 0; i < n; j++) {
		struct op m = op[i++];

		for (; i < n && cmp_op(&op[i], &m) == 0; i++) {
			if (op[i].cur != NULL && m.cur != NULL)
				return conflict(&m.key, m.cur->svc, op[i].cur->svc, e);
			if (op[i].old != NULL)
				m.old = op[i].old;
			else
				m.cur = op[i].cur;
		}
		if (m.cur != NULL && m.old == NULL) {
			const struct kd_lb_frontend *live = kd_lb_lookup(sc->lb, m.key.ip, m.key.port,
									 m.key.proto);

			if (live != NULL)
				return conflict(&m.key, live->svc, m.cur->svc, e);
			adds++;
		}
		if (udp_endpoint_left(m.old, m.cur))
			d->udp_left = true;
		op[j] = m;
	}
	d->n_op = j;
	if (sc->lb->n_fe + adds > sc->lb->capacity)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED,
				  "services: %zu more frontends do not fit services.max_frontends %u "
				  "(%u in use)", adds, sc->lb->capacity, sc->lb->n_fe);
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].cur != NULL && d->op[i].old != NULL)
			disruption(d->op[i].cur, d->op[i].old);
	return 0;
}

void
kd_translate_service_discard(struct kd_translate_service *sc, struct kd_translate_service_delta *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n_c; i++) {
		struct unit *cur = d->c[i].cur;

		/* A new Service's unit went into the tree at build time, to keep apply infallible. */
		if (cur != NULL && d->c[i].old == NULL && unit_find(sc, cur->name) == cur) {
			tdelete(cur, &sc->units, cmp_unit);
			sc->n_units--;
		}
		unit_free(sc, cur);
	}
	free(d->c);
	free(d->op);
	free(d);
}

struct kd_translate_service_delta *
kd_translate_service_build(struct kd_translate_service *sc, const struct kd_store *s,
			   const struct kd_store_change *ch, size_t n_ch, struct kd_err *e)
{
	struct kd_translate_service_delta *d = calloc(1, sizeof(*d));
	struct kd_translate_slices_eps eps = { 0 };
	struct names nm = { 0 };
	size_t i, cap = 0;
	int ret = 0;

	if (d == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		return NULL;
	}
	if (ch == NULL)
		ret = all_names(sc, s, &nm);
	for (i = 0; ch != NULL && i < n_ch && ret == 0; i++)
		ret = touched(&nm, &ch[i]);
	if (ret != 0) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		goto fail;
	}
	qsort(nm.v, nm.n, sizeof(*nm.v), cmp_str);
	for (i = 0; i < nm.n; i++) {
		if (i > 0 && strcmp(nm.v[i], nm.v[i - 1]) == 0)
			continue;
		if (plan_service(sc, s, nm.v[i], d, &cap, &eps, e) != 0)
			goto fail;
	}
	if (plan_keys(sc, d, e) != 0)
		goto fail;
	for (i = 0; i < d->n_c; i++)
		if (d->c[i].old == NULL) {
			struct unit **at = tsearch(d->c[i].cur, &sc->units, cmp_unit);

			if (at == NULL) {
				kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
				goto fail;
			}
			sc->n_units++;
		}
	goto done;
fail:
	kd_translate_service_discard(sc, d);
	d = NULL;
done:
	for (i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	free(eps.v);
	return d;
}

bool
kd_translate_service_apply(struct kd_translate_service *sc, struct kd_translate_service_delta *d)
{
	size_t i;

	/* Removals first, so that a key moving between Services never has two owners. */
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].cur == NULL)
			d->op[i].slot = kd_lb_unset(sc->lb, &d->op[i].key);
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].cur != NULL)
			kd_lb_set(sc->lb, d->op[i].cur);	/* room was checked in plan_keys() */
	for (i = 0; i < d->n_c; i++) {
		struct change *c = &d->c[i];

		if (c->old == NULL)
			continue;
		if (c->cur != NULL) {
			*(struct unit **)tfind(c->old, &sc->units, cmp_unit) = c->cur;
		} else {
			tdelete(c->old, &sc->units, cmp_unit);
			sc->n_units--;
		}
	}
	if (d->n_op != 0)
		sc->lb->gen++;
	return d->n_op != 0;
}

void
kd_translate_service_retire(struct kd_translate_service *sc, struct kd_translate_service_delta *d)
{
	size_t i;

	/*
	 * After the grace period: no worker still picks from the old frontends,
	 * so every connection they gave a departed endpoint is in the table by now.
	 */
	flush_stale_udp(sc, d);
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].slot >= 0)
			kd_lb_reclaim(sc->lb, d->op[i].slot);
	for (i = 0; i < d->n_c; i++)
		unit_free(sc, d->c[i].old);
	free(d->c);
	free(d->op);
	free(d);
}

struct walk_fe {
	void (*fn)(const struct kd_lb_frontend *fe, void *arg);
	void *arg;
};

static void
walk_unit(const struct unit *u, const struct walk_fe *w)
{
	uint32_t i;

	for (i = 0; i < u->b.n_fe; i++)
		w->fn(&u->b.fe[i], w->arg);
}

static void
walk_node(const void *node, VISIT v, void *arg)
{
	if (v == postorder || v == leaf)
		walk_unit(*(const struct unit *const *)node, arg);
}

void
kd_translate_service_walk(const struct kd_translate_service *sc, const char *name,
			  void (*fn)(const struct kd_lb_frontend *fe, void *arg), void *arg)
{
	struct walk_fe w = { .fn = fn, .arg = arg };
	const struct unit *u;

	if (name == NULL) {
		twalk_r(sc->units, walk_node, &w);
		return;
	}
	u = unit_find(sc, name);
	if (u != NULL)
		walk_unit(u, &w);
}

size_t
kd_translate_service_count(const struct kd_translate_service *sc)
{
	return sc->n_units;
}
