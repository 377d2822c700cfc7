/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ListServiceFrontends: the live frontends, as the Service compiler holds
 * them (in Service name order; one Service's alone when asked), read on the
 * control thread (their only writer), joined with the connection table for
 * per-endpoint connection counts. A translated connection's original key
 * names the frontend it came in by and its reply key the endpoint, so one
 * pass over the records counts them all; records are read as ListFlows
 * reads them, without stopping the workers.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "control/api.h"
#include "control/config.h"
#include "control/publish.h"
#include "control/translate_service.h"
#include "dataplane/conntrack.h"
#include "dataplane/lb.h"

static const char *const kind_names[] = {
	[KD_LB_CLUSTER_IP] = "ClusterIP",
	[KD_LB_EXTERNAL_IP] = "ExternalIP",
	[KD_LB_LB_INGRESS] = "LoadBalancer",
	[KD_LB_NODE_PORT] = "NodePort",
};

static int
proto_enum(uint8_t p)
{
	return p == IPPROTO_UDP ? PB_C(PROTOCOL__PROTOCOL_UDP) :
	       p == IPPROTO_SCTP ? PB_C(PROTOCOL__PROTOCOL_SCTP) : PB_C(PROTOCOL__PROTOCOL_TCP);
}

/* A listed frontend and its place in the list, looked up by address. */
struct listed {
	const struct kd_lb_frontend *fe;
	uint32_t at;
};

static int
cmp_listed(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct listed *)a)->fe;
	uintptr_t y = (uintptr_t)((const struct listed *)b)->fe;

	return x < y ? -1 : x > y;
}

/* cnt[base[f] + b]: connections of listed frontend f to its endpoint b. */
static void
count(const struct kd_ct *ct, const struct kd_lb *lb, const struct listed *by_addr, uint32_t n,
      const uint32_t *base, uint64_t *cnt)
{
	uint32_t i;
	uint16_t b;

	for (i = 0; ct != NULL && n != 0 && i < ct->capacity; i++) {
		const struct kd_ct_conn *c = &ct->conn[i];
		const struct kd_ct_key *o = &c->key[KD_CT_ORIG], *r = &c->key[KD_CT_REPLY];
		struct listed key, *l;

		if ((__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) &
		     (KD_CT_F_DEAD | KD_CT_F_USED | KD_CT_F_NAT)) != (KD_CT_F_USED | KD_CT_F_NAT))
			continue;
		key.fe = kd_lb_lookup(lb, o->ip[1], o->port[1], o->proto);
		if (key.fe == NULL ||
		    (l = bsearch(&key, by_addr, n, sizeof(*by_addr), cmp_listed)) == NULL)
			continue;
		for (b = 0; b < l->fe->n_backends; b++)
			if (l->fe->be[b].ip == r->ip[0] && l->fe->be[b].port == r->port[0]) {
				cnt[base[l->at] + b]++;
				break;
			}
	}
}

/* "ns/name" of the frontend's Service, as an API name. */
static void
service_name(const struct kd_lb_frontend *fe, char *buf, size_t len)
{
	const char *nn = fe->svc, *slash = strchr(nn, '/');

	if (slash == NULL)
		snprintf(buf, len, "namespaces/default/services/%s", nn);
	else
		snprintf(buf, len, "namespaces/%.*s/services/%s", (int)(slash - nn), nn, slash + 1);
}

/* The frontends to list, in Service name order. */
struct fe_list {
	const struct kd_lb_frontend **v;
	uint32_t n, cap;
	bool nomem;
};

static void
collect(const struct kd_lb_frontend *fe, void *arg)
{
	struct fe_list *l = arg;

	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		const struct kd_lb_frontend **v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL) {
			l->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = fe;
}

struct strs {
	char **v;
	size_t n, cap;
};

static char *
str(struct strs *s, size_t len)
{
	char *p;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **nv = realloc(s->v, cap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		s->v = nv;
		s->cap = cap;
	}
	p = calloc(1, len);
	if (p != NULL)
		s->v[s->n++] = p;
	return p;
}

enum kd_status
kd_api_list_frontends(const struct kd_api *api, const PB(ListServiceFrontendsRequest) *r,
		      uint8_t **out, size_t *len, struct kd_err *e)
{
	PB(ListServiceFrontendsResponse) resp = PB_C(LIST_SERVICE_FRONTENDS_RESPONSE__INIT);
	const struct kd_lb *lb = kd_lb_get();
	PB(ServiceFrontend) *fes = NULL, **fp = NULL;
	PB(ServiceEndpointStatus) *eps = NULL, **ep = NULL;
	uint32_t *base = NULL, n_eps = 0, i, nf = 0, x = 0;
	struct fe_list l = { 0 };
	struct listed *by_addr = NULL;
	uint64_t *cnt = NULL;
	struct strs s = { 0 };
	enum kd_status st = KD_OK;
	char name[256], key[320], ns[64], id[254];
	size_t k;

	if (r->service[0] != '\0' &&
	    kd_kind_name_parse(&kd_kinds[KD_KIND_SERVICE], r->service, ns, sizeof(ns), id,
			       sizeof(id)) != 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT,
				   "service: \"%s\" is not namespaces/{namespace}/services/{name}",
				   r->service);
	if (api->pub != NULL) {
		snprintf(key, sizeof(key), "%s/%s", ns, id);
		kd_translate_service_walk(kd_publish_services(api->pub),
					  r->service[0] != '\0' ? key : NULL, collect, &l);
	}
	if (l.n != 0 || l.nomem) {
		base = calloc(l.n, sizeof(*base));
		by_addr = calloc(l.n, sizeof(*by_addr));
		for (i = 0; base != NULL && by_addr != NULL && i < l.n; i++) {
			base[i] = n_eps;
			n_eps += l.v[i]->n_backends;
			by_addr[i] = (struct listed){ .fe = l.v[i], .at = i };
		}
		cnt = calloc(n_eps ? n_eps : 1, sizeof(*cnt));
		fes = calloc(l.n, sizeof(*fes));
		fp = calloc(l.n, sizeof(*fp));
		eps = calloc(n_eps ? n_eps : 1, sizeof(*eps));
		ep = calloc(n_eps ? n_eps : 1, sizeof(*ep));
		if (l.nomem || base == NULL || by_addr == NULL || cnt == NULL || fes == NULL ||
		    fp == NULL || eps == NULL || ep == NULL) {
			st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		qsort(by_addr, l.n, sizeof(*by_addr), cmp_listed);
		count(api->ct, lb, by_addr, l.n, base, cnt);
	}
	for (i = 0; i < l.n; i++) {
		const struct kd_lb_frontend *fe = l.v[i];
		PB(ServiceFrontend) *f = &fes[nf];
		char *svc, *ip;
		uint16_t b;

		service_name(fe, name, sizeof(name));
		PB_FN(service_frontend__init)(f);
		svc = str(&s, strlen(name) + 1);
		ip = str(&s, 16);
		if (svc == NULL || ip == NULL) {
			st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		memcpy(svc, name, strlen(name) + 1);
		kd_config_format_ipv4(fe->key.ip, ip, 16);
		f->service = svc;
		f->kind = (char *)(uintptr_t)kind_names[fe->kind < RTE_DIM(kind_names) ? fe->kind : 0];
		f->ip = ip;
		f->port = rte_be_to_cpu_16(fe->key.port);
		f->protocol = proto_enum(fe->key.proto);
		f->port_name = (char *)(uintptr_t)fe->port_name;
		f->maglev_size = fe->pool[KD_LB_IN].m;
		f->maglev_moved = fe->moved;
		f->maglev_moved_kept = fe->moved_kept;
		f->external_snat = (fe->flags & KD_LB_F_EXTERNAL) && fe->pool[KD_LB_EXT].snat;
		if (fe->n_ranges != 0) {
			f->source_ranges = (char **)str(&s, fe->n_ranges * sizeof(char *));
			if (f->source_ranges == NULL) {
				st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
				goto out;
			}
			for (k = 0; k < fe->n_ranges; k++) {
				char *c = str(&s, 24);

				if (c == NULL) {
					st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
					goto out;
				}
				kd_config_format_ipv4(fe->ranges[k].prefix, c, 24);
				snprintf(c + strlen(c), 24 - strlen(c), "/%d",
					 __builtin_popcount(fe->ranges[k].mask));
				f->source_ranges[k] = c;
			}
			f->n_source_ranges = fe->n_ranges;
		}
		f->endpoints = &ep[x];
		for (b = 0; b < fe->n_backends; b++) {
			const struct kd_lb_backend *be = &fe->be[b];
			PB(ServiceEndpointStatus) *es = &eps[x];
			char *eip = str(&s, 16);

			if (eip == NULL) {
				st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
				goto out;
			}
			PB_FN(service_endpoint_status__init)(es);
			kd_config_format_ipv4(be->ip, eip, 16);
			es->ip = eip;
			es->port = rte_be_to_cpu_16(be->port);
			es->ready = be->flags & KD_LB_EP_READY;
			es->serving = be->flags & KD_LB_EP_SERVING;
			es->terminating = be->flags & KD_LB_EP_TERMINATING;
			es->local = be->flags & KD_LB_EP_LOCAL;
			es->takes_pods = be->flags & (KD_LB_EP_USED << KD_LB_IN);
			es->takes_external = (fe->flags & KD_LB_F_EXTERNAL) &&
					     (be->flags & (KD_LB_EP_USED << KD_LB_EXT));
			es->connections = cnt[base[i] + b];
			f->connections += es->connections;
			ep[x++] = es;
		}
		f->n_endpoints = fe->n_backends;
		fp[nf++] = f;
	}
	resp.n_frontends = nf;
	resp.frontends = fp;
	*len = protobuf_c_message_get_packed_size(&resp.base);
	*out = malloc(*len != 0 ? *len : 1);
	if (*out == NULL)
		st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	else
		protobuf_c_message_pack(&resp.base, *out);
out:
	for (k = 0; k < s.n; k++)
		free(s.v[k]);
	free(s.v);
	free(base);
	free(by_addr);
	free(l.v);
	free(cnt);
	free(fes);
	free(fp);
	free(eps);
	free(ep);
	return st;
}
