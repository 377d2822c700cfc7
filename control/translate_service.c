/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "control/config.h"
#include "control/store.h"
#include "control/maglev_cache.h"
#include "control/translate_service.h"
#include "control/translate_slices.h"
#include "dataplane/conntrack.h"
#include "dataplane/maglev.h"
#include "dataplane/tables.h"

#define DEF_AFFINITY_S 10800	/* Kubernetes' default ClientIP timeout */

struct unit;

struct kd_translate_service {
	const struct kd_config *cfg;
	struct kd_ct *ct;
	struct kd_maglev_cache *mc;		/* Maglev tables of the live and the new build */
	struct unit **units;		/* the last build's Services, by serial */
	size_t n_units;
	uint64_t gen;
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

/*
 * One Service compiled: its frontends and what they point to. A build
 * whose Service and slices are the very objects (store serials) an earlier
 * build compiled takes that build's unit instead of compiling again, so a
 * change costs the Services it touches, plus assembling the frontend hash.
 */
struct unit {
	uint32_t refs;			/* table sets holding it, and the compiler's index */
	uint64_t serial;		/* the Service's */
	uint64_t *slices;		/* its slices' serials, ascending */
	uint32_t n_slices;
	char name[128];			/* "namespace/name" */
	struct build b;
};

/* A built table set's own parts: the units whose frontends it copied. */
struct lbset {
	struct unit **u;
	size_t n;
};

struct kd_translate_service *
kd_translate_service_create(const struct kd_config *cfg, struct kd_ct *ct)
{
	struct kd_translate_service *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return NULL;
	sc->cfg = cfg;
	sc->ct = ct;
	sc->mc = kd_maglev_cache_create();
	if (sc->mc == NULL) {
		free(sc);
		return NULL;
	}
	return sc;
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

/* Whether some UDP endpoint of old is gone from lb: only then is a scan worth it. */
static bool
udp_endpoint_left(const struct kd_lb *old, const struct kd_lb *lb)
{
	uint32_t i;
	uint16_t b;

	for (i = 0; i < old->n_fe; i++) {
		const struct kd_lb_frontend *o = &old->fe[i], *n;

		if (o->key.proto != IPPROTO_UDP)
			continue;
		n = kd_lb_lookup(lb, o->key.ip, o->key.port, o->key.proto);
		for (b = 0; b < o->n_backends; b++)
			if (!has_backend(n, o->be[b].ip, o->be[b].port, true))
				return true;
	}
	return false;
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
flush_stale_udp(struct kd_translate_service *sc, const struct kd_lb *old, const struct kd_lb *lb)
{
	struct kd_ct *ct = sc->ct;
	uint32_t i;

	if (ct == NULL || old == NULL || !udp_endpoint_left(old, lb))
		return;
	for (i = 0; i < ct->capacity; i++) {
		const struct kd_ct_conn *c = &ct->conn[i];
		struct kd_ct_key key[2];
		const struct kd_ct_key *o = &key[KD_CT_ORIG], *r = &key[KD_CT_REPLY];

		if (c->proto != IPPROTO_UDP ||
		    (__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) &
		     (KD_CT_F_DEAD | KD_CT_F_USED | KD_CT_F_NAT)) != (KD_CT_F_USED | KD_CT_F_NAT))
			continue;
		memcpy(key, c->key, sizeof(key));
		if (!has_backend(kd_lb_lookup(old, o->ip[1], o->port[1], o->proto), r->ip[0],
				 r->port[0], false) ||
		    has_backend(kd_lb_lookup(lb, o->ip[1], o->port[1], o->proto), r->ip[0],
				r->port[0], true))
			continue;
		/* Read without the lock: the record may have been reused since. */
		kd_ct_delete_if(ct, i, key);
	}
}

static void unit_put(struct kd_translate_service *sc, struct unit *u);

void
kd_translate_service_free(struct kd_translate_service *sc)
{
	size_t i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->n_units; i++)
		unit_put(sc, sc->units[i]);
	free(sc->units);
	kd_maglev_cache_free(sc->mc);
	free(sc);
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

static void
unit_put(struct kd_translate_service *sc, struct unit *u)
{
	size_t i;

	if (--u->refs != 0)
		return;
	for (i = 0; i < u->b.n; i++)
		free(u->b.ptr[i]);
	free(u->b.ptr);
	for (i = 0; i < u->b.n_tab; i++)
		kd_maglev_cache_put(sc->mc, u->b.tab[i]);
	free(u->b.tab);
	free(u->b.fe);
	free(u->slices);
	free(u);
}

static void
discard(struct kd_translate_service *sc, struct kd_lb *lb)
{
	struct lbset *set;
	size_t i;

	if (lb == NULL)
		return;
	set = lb->priv;
	if (set != NULL) {
		for (i = 0; i < set->n; i++)
			unit_put(sc, set->u[i]);
		free(set->u);
		free(set);
	}
	rte_hash_free(lb->hash);
	free(lb->fe);
	free(lb->svc_name);
	free(lb);
}

void
kd_translate_service_retire(struct kd_translate_service *sc, struct kd_lb *old,
			    const struct kd_lb *cur)
{
	/*
	 * After the grace period: no worker still picks from the old tables, so
	 * every connection they gave a departed endpoint is in the table by now.
	 */
	if (cur != NULL)
		flush_stale_udp(sc, old, cur);
	discard(sc, old);
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
 * Maglev disruption against the frontend's previous build: entries whose
 * endpoint changed, and of those, entries whose old endpoint is still in
 * the pool (moves that consistent hashing should have avoided). A frontend
 * whose endpoints did not change carries its figures over, so they tell of
 * its own last update, whatever other Services did since.
 */
static void
disruption(struct kd_lb_frontend *fe, const struct kd_lb *old)
{
	const struct kd_lb_frontend *o = kd_lb_lookup(old, fe->key.ip, fe->key.port,
						      fe->key.proto);
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
add_service(struct kd_translate_service *sc, struct build *b,
	    const struct kd_translate_slices_ref *slices,
	    size_t n_slices, const PB(Service) *svc, struct kd_translate_slices_eps *eps, struct kd_err *e)
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

		if (kd_translate_slices_gather(eps, slices, n_slices, svc, p, cfg->node_name) != 0)
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
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_unit(const void *a, const void *b)
{
	return cmp_u64(&(*(struct unit *const *)a)->serial, &(*(struct unit *const *)b)->serial);
}

/* The last build's unit of the Service with this serial, or NULL. */
static struct unit *
last_unit(const struct kd_translate_service *sc, uint64_t serial)
{
	size_t lo = 0, hi = sc->n_units;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sc->units[mid]->serial == serial)
			return sc->units[mid];
		if (sc->units[mid]->serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* svc's unit: the last build's if neither it nor its slices changed, else compiled now. */
static struct unit *
unit_get(struct kd_translate_service *sc, const struct kd_translate_slices_ref *idx,
	 size_t n_idx, const PB(Service) *svc, uint64_t serial,
	 struct kd_translate_slices_eps *eps, struct kd_err *e)
{
	size_t n, first = kd_translate_slices_of(idx, n_idx, svc, &n), i;
	struct unit *u, *last;
	uint64_t *ser;

	ser = malloc((n ? n : 1) * sizeof(*ser));
	if (ser == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		ser[i] = idx[first + i].serial;
	qsort(ser, n, sizeof(*ser), cmp_u64);
	last = last_unit(sc, serial);
	if (last != NULL && last->n_slices == n && memcmp(last->slices, ser, n * sizeof(*ser)) == 0) {
		free(ser);
		last->refs++;
		return last;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		free(ser);
		goto nomem;
	}
	u->refs = 1;
	u->serial = serial;
	u->slices = ser;
	u->n_slices = (uint32_t)n;
	snprintf(u->name, sizeof(u->name), "%s/%s", svc->metadata->namespace_,
		 svc->metadata->name);
	if (svc->spec != NULL && add_service(sc, &u->b, idx, n_idx, svc, eps, e) != KD_OK) {
		unit_put(sc, u);
		return NULL;
	}
	for (i = 0; i < u->b.n_fe; i++)
		disruption(&u->b.fe[i], kd_lb_live);
	return u;
nomem:
	kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
	return NULL;
}

/* This build's units become the ones the next build looks in; on no memory, the old stay. */
static void
remember(struct kd_translate_service *sc, const struct lbset *set)
{
	struct unit **u = malloc((set->n ? set->n : 1) * sizeof(*u));
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		u[i] = set->u[i];
		u[i]->refs++;
	}
	qsort(u, set->n, sizeof(*u), cmp_unit);
	for (i = 0; i < sc->n_units; i++)
		unit_put(sc, sc->units[i]);
	free(sc->units);
	sc->units = u;
	sc->n_units = set->n;
}

struct kd_lb *
kd_translate_service_build(struct kd_translate_service *sc, const struct kd_store *s, struct kd_err *e)
{
	const struct kd_store_kind *k = &s->kind[KD_KIND_SERVICE];
	struct rte_hash_parameters hp = {
		.key_len = sizeof(struct kd_lb_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
	};
	struct kd_translate_slices_eps eps = { 0 };
	struct kd_translate_slices_ref *slices;
	size_t n_slices;
	struct lbset *set;
	struct kd_lb *lb;
	char hname[RTE_HASH_NAMESIZE];
	uint32_t i, j, n_fe = 0;

	lb = calloc(1, sizeof(*lb));
	set = calloc(1, sizeof(*set));
	slices = kd_translate_slices_index(s, &n_slices);
	if (lb == NULL || set == NULL || slices == NULL ||
	    (set->u = calloc(k->n ? k->n : 1, sizeof(*set->u))) == NULL) {
		free(lb);
		free(set);
		free(slices);
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		return NULL;
	}
	lb->priv = set;
	lb->gen = ++sc->gen;
	lb->hairpin_ip = sc->cfg->svc_hairpin_ip;
	lb->node_ip = sc->cfg->vtep_ip;
	lb->n_svc = (uint32_t)k->n;
	lb->svc_name = calloc(k->n ? k->n : 1, sizeof(*lb->svc_name));
	if (lb->svc_name == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		goto fail;
	}
	for (i = 0; i < k->n; i++) {
		struct unit *u = unit_get(sc, slices, n_slices, (const PB(Service) *)k->obj[i],
					  k->serial[i], &eps, e);

		if (u == NULL)
			goto fail;
		set->u[set->n++] = u;
		memcpy(lb->svc_name[i], u->name, sizeof(lb->svc_name[i]));
		n_fe += u->b.n_fe;
	}
	lb->fe = malloc((n_fe ? n_fe : 1) * sizeof(*lb->fe));
	if (lb->fe == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		goto fail;
	}
	for (i = 0; i < set->n; i++)
		for (j = 0; j < set->u[i]->b.n_fe; j++) {
			lb->fe[lb->n_fe] = set->u[i]->b.fe[j];
			lb->fe[lb->n_fe++].svc = i;
		}
	if (lb->n_fe == 0)
		goto done;
	snprintf(hname, sizeof(hname), "kd_lb_%" PRIu64, lb->gen);
	hp.name = hname;
	hp.entries = RTE_MAX(lb->n_fe * 2, 64u);
	lb->hash = rte_hash_create(&hp);
	if (lb->hash == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: rte_hash of %u frontends: %s",
			    lb->n_fe, rte_strerror(rte_errno));
		goto fail;
	}
	for (i = 0; i < lb->n_fe; i++) {
		void *data;

		if (rte_hash_lookup_data(lb->hash, &lb->fe[i].key, &data) >= 0) {
			const struct kd_lb_frontend *o = &lb->fe[(uintptr_t)data];
			char ip[16];

			kd_config_format_ipv4(o->key.ip, ip, sizeof(ip));
			kd_err_set(e, KD_FAILED_PRECONDITION,
				    "%s:%u/%s is claimed by both service %s and service %s", ip,
				    rte_be_to_cpu_16(o->key.port), proto_name(o->key.proto),
				    lb->svc_name[o->svc], lb->svc_name[lb->fe[i].svc]);
			goto fail;
		}
		if (rte_hash_add_key_data(lb->hash, &lb->fe[i].key, (void *)(uintptr_t)i) != 0) {
			kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: rte_hash full");
			goto fail;
		}
	}
done:
	free(eps.v);
	free(slices);
	remember(sc, set);
	return lb;
fail:
	free(eps.v);
	free(slices);
	discard(sc, lb);
	return NULL;
}
