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
#include "control/translate_service.h"
#include "dataplane/maglev.h"
#include "dataplane/tables.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define DEF_AFFINITY_S 10800	/* Kubernetes' default ClientIP timeout */

struct kd_svcc {
	const struct kd_config *cfg;
	uint64_t gen;
};

/* Everything one build allocates, released together. */
struct build {
	void **ptr;
	size_t n, cap;
	uint32_t n_fe, cap_fe;
	struct kd_lb_frontend *fe;
};

struct kd_svcc *
kd_svcc_create(const struct kd_config *cfg)
{
	struct kd_svcc *sc = calloc(1, sizeof(*sc));

	if (sc != NULL)
		sc->cfg = cfg;
	return sc;
}

void
kd_svcc_free(struct kd_svcc *sc)
{
	free(sc);
}

static void *
keep(struct build *b, void *p)
{
	if (p == NULL)
		return NULL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		void **np = realloc(b->ptr, cap * sizeof(*np));

		if (np == NULL) {
			free(p);
			return NULL;
		}
		b->ptr = np;
		b->cap = cap;
	}
	b->ptr[b->n++] = p;
	return p;
}

void
kd_svcc_discard(struct kd_svcc *sc, struct kd_lb *lb)
{
	struct build *b;
	size_t i;

	(void)sc;
	if (lb == NULL)
		return;
	b = lb->priv;
	if (b != NULL) {
		for (i = 0; i < b->n; i++)
			free(b->ptr[i]);
		free(b->ptr);
		free(b->fe);
		free(b);
	}
	rte_hash_free(lb->hash);
	free(lb->svc_name);
	free(lb);
}

void
kd_svcc_publish(struct kd_svcc *sc, struct kd_lb *lb)
{
	struct kd_lb *old = __atomic_exchange_n(&kd_lb_live, lb, __ATOMIC_ACQ_REL);

	if (old == NULL)
		return;
	rte_rcu_qsbr_synchronize(kd_tables_qsbr(), RTE_QSBR_THRID_INVALID);
	kd_svcc_discard(sc, old);
}

static uint8_t
proto_num(int p)
{
	return p == PB_C(PROTOCOL__PROTOCOL_UDP) ? IPPROTO_UDP :
	       p == PB_C(PROTOCOL__PROTOCOL_SCTP) ? IPPROTO_SCTP : IPPROTO_TCP;
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

/* The Service a slice belongs to, by its label. */
static bool
slice_of(const PB(EndpointSlice) *es, const PB(Service) *svc)
{
	const PB(ObjectMeta) *m = es->metadata, *sm = svc->metadata;
	size_t i;

	if (m == NULL || sm == NULL || strcmp(m->namespace_, sm->namespace_) != 0)
		return false;
	if (is_set(es->address_type) && strcmp(es->address_type, "IPv4") != 0)
		return false;
	for (i = 0; i < m->n_labels; i++)
		if (strcmp(m->labels[i]->key, SERVICE_NAME_LABEL) == 0)
			return strcmp(m->labels[i]->value, sm->name) == 0;
	return false;
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
		    proto_num(p->protocol) == proto_num(sp->protocol))
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

struct eps {
	struct kd_lb_backend *v;
	size_t n, cap;
};

/* Every endpoint of the Service for port sp, merged over its slices. */
static int
gather(struct eps *out, const struct kd_store *s, const PB(Service) *svc,
       const PB(ServicePort) *sp, const char *node)
{
	const struct kd_store_kind *k = &s->kind[KD_KIND_ENDPOINTSLICE];
	size_t i, j, x;

	out->n = 0;
	for (i = 0; i < k->n; i++) {
		const PB(EndpointSlice) *es = (const PB(EndpointSlice) *)k->obj[i];
		uint16_t port;

		if (!slice_of(es, svc) || (port = slice_port(es, sp)) == 0)
			continue;
		for (j = 0; j < es->n_endpoints; j++) {
			const PB(Endpoint) *ep = es->endpoints[j];
			const PB(EndpointConditions) *c = ep->conditions;
			struct kd_lb_backend b = { .port = rte_cpu_to_be_16(port) };
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
				size_t cap = out->cap ? out->cap * 2 : 16;
				struct kd_lb_backend *nv = realloc(out->v, cap * sizeof(*nv));

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

/*
 * Which endpoints take new connections: ready ones, or if there are none,
 * serving terminating ones; only this node's when local.
 */
static uint32_t
choose(struct kd_lb_backend *be, size_t n, bool local)
{
	uint32_t used = 0;
	size_t i;
	int pass;

	for (i = 0; i < n; i++)
		be[i].flags &= (uint8_t)~KD_LB_EP_USED;
	for (pass = 0; pass < 2 && used == 0; pass++)
		for (i = 0; i < n; i++) {
			uint8_t f = be[i].flags;

			if (local && !(f & KD_LB_EP_LOCAL))
				continue;
			if (pass == 0 ? (f & KD_LB_EP_READY) != 0 :
				       (f & KD_LB_EP_SERVING) && (f & KD_LB_EP_TERMINATING)) {
				be[i].flags |= KD_LB_EP_USED;
				used++;
			}
		}
	return used;
}

/* A frontend's own copy of the endpoints and its Maglev table. */
static int
pool(struct build *b, struct kd_lb_frontend *fe, const struct eps *all, bool local, uint32_t m,
     struct kd_api_err *e, const char *what)
{
	struct kd_lb_backend *be;
	uint64_t *keys = NULL;
	uint32_t *t32 = NULL, *at = NULL;
	uint16_t *t16;
	uint32_t n = 0, i;
	int ret = -ENOMEM;

	be = keep(b, malloc((all->n ? all->n : 1) * sizeof(*be)));
	if (be == NULL)
		goto nomem;
	memcpy(be, all->v, all->n * sizeof(*be));
	fe->be = be;
	fe->n_backends = (uint16_t)all->n;
	if (choose(be, all->n, local) == 0) {
		fe->m = 0;	/* refused: no endpoints */
		return 0;
	}
	keys = malloc(all->n * sizeof(*keys));
	at = malloc(all->n * sizeof(*at));
	if (keys == NULL || at == NULL)
		goto nomem;
	for (i = 0; i < all->n; i++)
		if (be[i].flags & KD_LB_EP_USED) {
			at[n] = i;
			keys[n++] = (uint64_t)rte_be_to_cpu_32(be[i].ip) << 16 |
				    rte_be_to_cpu_16(be[i].port);
		}
	if (n >= m) {
		free(keys);
		free(at);
		kd_api_fail(e, KD_FAILED_PRECONDITION,
			    "%s: %u endpoints do not fit services.maglev_table_size %u", what, n, m);
		return -EINVAL;
	}
	t32 = malloc(m * sizeof(*t32));
	t16 = keep(b, malloc(m * sizeof(*t16)));
	if (t32 == NULL || t16 == NULL || kd_maglev_build(t32, m, keys, n) != 0)
		goto nomem;
	/* Table entries index the used endpoints; map them back to be[]. */
	for (i = 0; i < m; i++)
		t16[i] = (uint16_t)at[t32[i]];
	fe->maglev = t16;
	fe->m = m;
	ret = 0;
nomem:
	free(keys);
	free(at);
	free(t32);
	if (ret != 0)
		kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "%s: out of memory", what);
	return ret;
}

static struct kd_lb_frontend *
new_fe(struct build *b)
{
	if (b->n_fe == b->cap_fe) {
		uint32_t cap = b->cap_fe ? b->cap_fe * 2 : 64;
		struct kd_lb_frontend *nf = realloc(b->fe, cap * sizeof(*nf));

		if (nf == NULL)
			return NULL;
		b->fe = nf;
		b->cap_fe = cap;
	}
	memset(&b->fe[b->n_fe], 0, sizeof(b->fe[0]));
	return &b->fe[b->n_fe++];
}

/* The addresses a Service answers on, with their kind. */
struct vip {
	rte_be32_t ip;
	enum kd_lb_kind kind;
};

static size_t
vips(const PB(Service) *svc, struct vip *v, size_t max)
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
	return n;
}

static int
add_service(struct kd_svcc *sc, struct build *b, const struct kd_store *s, const PB(Service) *svc,
	    uint32_t idx, struct eps *eps, struct kd_api_err *e)
{
	const PB(ServiceSpec) *sp = svc->spec;
	bool affinity = sp->session_affinity == PB_C(SESSION_AFFINITY__SESSION_AFFINITY_CLIENT_IP);
	bool itp_local = sp->internal_traffic_policy == PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL);
	uint32_t tmo = DEF_AFFINITY_S;
	struct vip v[16];
	size_t nv, i, j;
	char what[256];

	if (sp->type == PB_C(SERVICE_TYPE__SERVICE_TYPE_EXTERNAL_NAME))
		return 0;
	if (sp->session_affinity_config != NULL && sp->session_affinity_config->client_ip != NULL &&
	    sp->session_affinity_config->client_ip->timeout_seconds > 0)
		tmo = (uint32_t)sp->session_affinity_config->client_ip->timeout_seconds;
	nv = vips(svc, v, RTE_DIM(v));
	for (i = 0; i < sp->n_ports; i++) {
		const PB(ServicePort) *p = sp->ports[i];

		if (gather(eps, s, svc, p, sc->cfg->node_name) != 0)
			return kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		for (j = 0; j < nv; j++) {
			struct kd_lb_frontend *fe = new_fe(b);
			char ip[16];

			if (fe == NULL)
				return kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
			fe->key.ip = v[j].ip;
			fe->key.port = rte_cpu_to_be_16((uint16_t)p->port);
			fe->key.proto = proto_num(p->protocol);
			fe->svc = idx;
			fe->kind = (uint8_t)v[j].kind;
			fe->flags = affinity ? KD_LB_F_AFFINITY : 0;
			fe->affinity_s = tmo;
			snprintf(fe->port_name, sizeof(fe->port_name), "%s", p->name ? p->name : "");
			kd_config_format_ipv4(v[j].ip, ip, sizeof(ip));
			snprintf(what, sizeof(what), "service %s/%s %s:%d/%s", svc->metadata->namespace_,
				 svc->metadata->name, ip, p->port, proto_name(fe->key.proto));
			if (pool(b, fe, eps, v[j].kind == KD_LB_CLUSTER_IP && itp_local,
				 sc->cfg->svc_maglev_m, e, what) != 0)
				return e->code;
		}
	}
	return 0;
}

struct kd_lb *
kd_svcc_build(struct kd_svcc *sc, const struct kd_store *s, struct kd_api_err *e)
{
	const struct kd_store_kind *k = &s->kind[KD_KIND_SERVICE];
	struct rte_hash_parameters hp = {
		.key_len = sizeof(struct kd_lb_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
	};
	struct eps eps = { 0 };
	struct kd_lb *lb;
	struct build *b;
	char hname[RTE_HASH_NAMESIZE];
	uint32_t i;

	lb = calloc(1, sizeof(*lb));
	b = calloc(1, sizeof(*b));
	if (lb == NULL || b == NULL) {
		free(lb);
		free(b);
		kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		return NULL;
	}
	lb->priv = b;
	lb->gen = ++sc->gen;
	lb->hairpin_ip = sc->cfg->svc_hairpin_ip;
	lb->n_svc = (uint32_t)k->n;
	lb->svc_name = calloc(k->n ? k->n : 1, sizeof(*lb->svc_name));
	if (lb->svc_name == NULL) {
		kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		goto fail;
	}
	for (i = 0; i < k->n; i++) {
		const PB(Service) *svc = (const PB(Service) *)k->obj[i];

		snprintf(lb->svc_name[i], sizeof(lb->svc_name[i]), "%s/%s",
			 svc->metadata->namespace_, svc->metadata->name);
		if (svc->spec != NULL && add_service(sc, b, s, svc, i, &eps, e) != KD_OK)
			goto fail;
	}
	lb->fe = b->fe;
	lb->n_fe = b->n_fe;
	if (lb->n_fe == 0)
		goto done;
	snprintf(hname, sizeof(hname), "kd_lb_%" PRIu64, lb->gen);
	hp.name = hname;
	hp.entries = RTE_MAX(lb->n_fe * 2, 64u);
	lb->hash = rte_hash_create(&hp);
	if (lb->hash == NULL) {
		kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "services: rte_hash of %u frontends: %s",
			    lb->n_fe, rte_strerror(rte_errno));
		goto fail;
	}
	for (i = 0; i < lb->n_fe; i++) {
		void *data;

		if (rte_hash_lookup_data(lb->hash, &lb->fe[i].key, &data) >= 0) {
			const struct kd_lb_frontend *o = &lb->fe[(uintptr_t)data];
			char ip[16];

			kd_config_format_ipv4(o->key.ip, ip, sizeof(ip));
			kd_api_fail(e, KD_FAILED_PRECONDITION,
				    "%s:%u/%s is claimed by both service %s and service %s", ip,
				    rte_be_to_cpu_16(o->key.port), proto_name(o->key.proto),
				    lb->svc_name[o->svc], lb->svc_name[lb->fe[i].svc]);
			goto fail;
		}
		if (rte_hash_add_key_data(lb->hash, &lb->fe[i].key, (void *)(uintptr_t)i) != 0) {
			kd_api_fail(e, KD_RESOURCE_EXHAUSTED, "services: rte_hash full");
			goto fail;
		}
	}
done:
	free(eps.v);
	return lb;
fail:
	free(eps.v);
	lb->fe = NULL;
	kd_svcc_discard(sc, lb);
	return NULL;
}
