/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GetStats and ListFlows: the workers' counters summed, per NetworkPolicy
 * counts, and pages of the connection table, read from the control thread
 * while the workers run.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "control/api.h"
#include "control/config.h"
#include "control/publish.h"
#include "dataplane/conntrack.h"
#include "dataplane/lb.h"
#include "dataplane/policy.h"
#include "dataplane/stats.h"
#include "dataplane/tables.h"

/* Per NetworkPolicy: what it allowed, and what was refused at the pods it isolates. */
static enum kd_status
policy_stats(const struct kd_api *api, PB(Stats) *s, const struct kd_stats *sum,
	     struct kd_err *e)
{
	const struct kd_policy *pol = kd_policy_get();
	uint64_t *pending;
	unsigned int port, d;
	uint32_t id, i;

	s->n_policies = 0;
	s->policies = NULL;
	if (pol == NULL || pol->n_policies == 0)
		return KD_OK;
	s->policies = calloc(pol->n_policies, sizeof(*s->policies));
	pending = calloc(KD_STATS_POLICIES, sizeof(*pending));
	if (s->policies == NULL || pending == NULL) {
		free(pending);
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	}
	/* Refusals since each port's last credit belong to the policies isolating it now. */
	for (port = 0; port < RTE_MAX_ETHPORTS; port++)
		for (d = 0; d < 2; d++)
			for (i = 0; i < pol->n_isolating[port][d]; i++)
				if (pol->isolating[port][d][i] <= KD_STATS_POLICIES)
					pending[pol->isolating[port][d][i] - 1] +=
						sum->deny_at[port][d] - api->deny_base[port][d];
	for (id = 1; id <= pol->n_policies; id++) {
		PB(PolicyStats) *ps;

		if (kd_policy_name(pol, id)[0] == '\0')
			continue;
		ps = malloc(sizeof(*ps));
		if (ps == NULL) {
			free(pending);
			return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
		}
		PB_FN(policy_stats__init)(ps);
		ps->name = (char *)(uintptr_t)kd_policy_name(pol, id);
		if (id <= KD_STATS_POLICIES) {
			ps->allowed_connections = sum->pol_allow[id - 1] - api->pol_base_allow[id - 1];
			ps->denied_connections = api->pol_denied[id - 1] + pending[id - 1];
		}
		s->policies[s->n_policies++] = ps;
	}
	free(pending);
	return KD_OK;
}

enum kd_status
kd_api_get_stats(struct kd_api *api, uint8_t **out, size_t *len, struct kd_err *e)
{
	PB(Stats) s = PB_C(STATS__INIT);
	PB(PortStats) ps[KD_CFG_MAX_PORTS], *psp[KD_CFG_MAX_PORTS];
	PB(Counter) dc[KD_DROP_MAX], *dcp[KD_DROP_MAX], ec[KD_EV_MAX], *ecp[KD_EV_MAX];
	const struct kd_tables *t = kd_tables_get();
	struct kd_stats *sum = calloc(1, sizeof(*sum));
	unsigned int i;
	enum kd_status st;

	if (sum == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	if (api->stats != NULL)
		kd_stats_sum(sum, api->stats, api->n_workers);
	s.name = (char *)"stats";
	s.workers = api->n_workers;
	s.table_generation = t != NULL ? t->gen : 0;
	s.policy_generation = kd_policy_get() != NULL ? kd_policy_get()->gen : 0;
	s.policy_sets_written = api->pub != NULL ? kd_publish_policy_sets_written(api->pub) : 0;
	s.connections = api->ct != NULL ? kd_ct_count(api->ct) : 0;
	s.connection_capacity = api->ct != NULL ? api->ct->capacity : 0;
	s.affinity_entries = kd_lb_affinity_count();
	s.service_generation = kd_lb_get() != NULL ? kd_lb_get()->gen : 0;
	s.api_staged_calls = api->n_staged;
	s.api_publications = api->n_flushes;
	for (i = 0; api->cfg != NULL && i < api->cfg->n_ports; i++) {
		const struct kd_port_stats *p = &sum->port[api->port_ids[i]];

		PB_FN(port_stats__init)(&ps[i]);
		ps[i].name = (char *)(uintptr_t)api->cfg->ports[i].name;
		ps[i].port_id = api->port_ids[i];
		ps[i].role = (char *)(api->cfg->ports[i].role == KD_CFG_ROLE_UPLINK ? "uplink" : "vnic");
		ps[i].rx_packets = p->rx_pkts;
		ps[i].tx_packets = p->tx_pkts;
		ps[i].drops = p->drops;
		psp[i] = &ps[i];
	}
	s.n_ports = i;
	s.ports = psp;
	for (i = 0; i < KD_DROP_MAX; i++) {
		PB_FN(counter__init)(&dc[i]);
		dc[i].name = (char *)(uintptr_t)kd_stats_drop_name(i);
		dc[i].value = sum->drop[i];
		dcp[i] = &dc[i];
	}
	s.n_drops = KD_DROP_MAX;
	s.drops = dcp;
	for (i = 0; i < KD_EV_MAX; i++) {
		PB_FN(counter__init)(&ec[i]);
		ec[i].name = (char *)(uintptr_t)kd_stats_event_name(i);
		ec[i].value = sum->event[i];
		ecp[i] = &ec[i];
	}
	s.n_events = KD_EV_MAX;
	s.events = ecp;
	st = policy_stats(api, &s, sum, e);
	if (st == KD_OK)
		st = kd_api_pack(&s.base, out, len, e);
	for (i = 0; i < s.n_policies; i++)
		free(s.policies[i]);
	free(s.policies);
	free(sum);
	return st;
}

static const char *
flow_state(const struct kd_ct_conn *c)
{
	if (c->proto == IPPROTO_TCP)
		return kd_ct_tcp_state_names[c->tcp.state];
	return (c->flags & KD_CT_F_REPLIED) ? "REPLIED" : "UNREPLIED";
}

/* The addresses of a pod, for the pod filter. */
static int
pod_ips(const struct kd_api *api, const char *pod, rte_be32_t *ips, int max)
{
	const PB(Pod) *p = (const PB(Pod) *)kd_store_get(&api->store, KD_KIND_POD, pod);
	const struct kd_store_kind *nd = &api->store.kind[KD_KIND_NETDEV];
	size_t i;
	int n = 0;

	if (p != NULL && p->status != NULL) {
		if (p->status->pod_ip[0] != '\0' && n < max &&
		    kd_config_parse_ipv4(p->status->pod_ip, &ips[n]) == 0)
			n++;
		for (i = 0; i < p->status->n_pod_ips && n < max; i++)
			if (kd_config_parse_ipv4(p->status->pod_ips[i]->ip, &ips[n]) == 0)
				n++;
	}
	for (i = 0; i < nd->n && n < max; i++) {
		const PB(Netdev) *d = (const PB(Netdev) *)nd->obj[i];

		if (strcmp(d->spec->pod, pod) == 0 && d->spec->n_ips == 1 &&
		    kd_config_parse_ipv4(d->spec->ips[0], &ips[n]) == 0)
			n++;
	}
	return n;
}

/*
 * A snapshot of the connection table. Records change under our feet; a
 * torn read shows a counter one packet stale, which a listing can live with.
 * The page token is the next record index.
 */
enum kd_status
kd_api_list_flows(const struct kd_api *api, const PB(ListFlowsRequest) *r, uint8_t **out,
	      size_t *len, struct kd_err *e)
{
	PB(ListFlowsResponse) resp = PB_C(LIST_FLOWS_RESPONSE__INIT);
	const struct kd_tables *t = kd_tables_get();
	const struct kd_policy *pol = kd_policy_get();
	struct kd_ct *ct = api->ct;
	PB(Flow) *flows = NULL, **fp = NULL;
	char (*strs)[4][64] = NULL, ns[64], id[254], next[16] = "";
	rte_be32_t ips[8];
	int n_ips = 0, size = r->page_size == 0 ? KD_API_PAGE_DEFAULT : RTE_MIN(r->page_size, KD_API_PAGE_MAX);
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint32_t i, start = 0, j, n = 0;
	enum kd_status st;
	char *end;

	if (r->page_size < 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT, "page_size: %d is negative", r->page_size);
	if (r->pod[0] != '\0') {
		if (kd_kind_name_parse(&kd_kinds[KD_KIND_POD], r->pod, ns, sizeof(ns), id, sizeof(id)) != 0)
			return kd_err_set(e, KD_INVALID_ARGUMENT,
					   "pod: \"%s\" is not namespaces/{namespace}/pods/{pod}",
					   r->pod);
		n_ips = pod_ips(api, r->pod, ips, (int)RTE_DIM(ips));
		if (n_ips == 0)
			return kd_err_set(e, KD_NOT_FOUND, "pod: %s has no known address", r->pod);
	}
	if (r->state[0] != '\0') {
		bool known = strcmp(r->state, "REPLIED") == 0 || strcmp(r->state, "UNREPLIED") == 0;

		for (i = 0; i < KD_CT_TCP_STATE_MAX; i++)
			known |= strcmp(r->state, kd_ct_tcp_state_names[i]) == 0;
		if (!known)
			return kd_err_set(e, KD_INVALID_ARGUMENT,
					   "state: \"%s\" is not a TCP state (ESTABLISHED, TIME_WAIT, "
					   "...), REPLIED or UNREPLIED", r->state);
	}
	if (r->page_token[0] != '\0') {
		start = (uint32_t)strtoul(r->page_token, &end, 10);
		if (*end != '\0' || ct == NULL || start >= ct->capacity)
			return kd_err_set(e, KD_INVALID_ARGUMENT, "page_token: \"%s\" is not valid",
					   r->page_token);
	}
	if (ct != NULL) {
		flows = calloc((size_t)size, sizeof(*flows));
		fp = calloc((size_t)size, sizeof(*fp));
		strs = calloc((size_t)size, sizeof(*strs));
		if (flows == NULL || fp == NULL || strs == NULL) {
			st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
		for (i = start; i < ct->capacity; i++) {
			const struct kd_ct_conn *c = &ct->conn[i];
			const struct kd_ct_key *k = &c->key[KD_CT_ORIG];
			PB(Flow) *f;
			bool match = n_ips == 0;

			if ((__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) &
			     (KD_CT_F_DEAD | KD_CT_F_USED)) != KD_CT_F_USED)
				continue;
			for (j = 0; j < (uint32_t)n_ips; j++)
				match |= k->ip[0] == ips[j] || k->ip[1] == ips[j] ||
					 c->key[KD_CT_REPLY].ip[0] == ips[j];
			if (!match || (r->state[0] != '\0' && strcmp(flow_state(c), r->state) != 0))
				continue;
			if (n == (uint32_t)size) {
				snprintf(next, sizeof(next), "%u", i);
				break;
			}
			f = &flows[n];
			PB_FN(flow__init)(f);
			snprintf(strs[n][0], 64, "%u", i);
			f->name = strs[n][0];
			f->vpc = (char *)(t != NULL && k->zone < KD_MAX_VPCS ? t->vpc[k->zone].name : "");
			f->protocol = k->proto == IPPROTO_TCP ? PB_C(PROTOCOL__PROTOCOL_TCP) :
				      k->proto == IPPROTO_UDP ? PB_C(PROTOCOL__PROTOCOL_UDP) :
				      k->proto == IPPROTO_SCTP ? PB_C(PROTOCOL__PROTOCOL_SCTP) :
				      PB_C(PROTOCOL__PROTOCOL_UNSPECIFIED);
			f->ip_protocol = k->proto;
			kd_config_format_ipv4(k->ip[0], strs[n][1], 64);
			kd_config_format_ipv4(k->ip[1], strs[n][2], 64);
			f->src_ip = strs[n][1];
			f->dst_ip = strs[n][2];
			f->src_port = rte_be_to_cpu_16(k->port[0]);
			f->dst_port = rte_be_to_cpu_16(k->port[1]);
			f->state = (char *)(uintptr_t)flow_state(c);
			f->packets = c->pkts[0] + c->pkts[1];
			f->bytes = c->bytes[0] + c->bytes[1];
			f->reply_packets = c->pkts[1];
			f->age_ms = (now / hz - c->created) * 1000;
			snprintf(strs[n][3], 64, "%s",
				 c->policy == 0 ? "" :
				 pol != NULL && c->policy <= pol->n_policies ?
				 kd_policy_name(pol, c->policy) : "(changed)");
			f->policy = strs[n][3];
			fp[n++] = f;
		}
	}
	resp.n_flows = n;
	resp.flows = fp;
	resp.next_page_token = next;
	st = kd_api_pack(&resp.base, out, len, e);
out:
	free(flows);
	free(fp);
	free(strs);
	return st;
}
