/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_lpm.h>

#include "control/config.h"
#include "control/store.h"
#include "control/translate.h"
#include "dataplane/arp.h"
#include "drivers/port.h"

#define KD_DEFAULT_GW_MAC "02:6b:64:00:00:01"

static enum kd_status
errno_status(int err)
{
	return err == ENOSPC || err == ENOMEM ? KD_RESOURCE_EXHAUSTED : KD_FAILED_PRECONDITION;
}

static int
vpc_slot(struct kd_translate *tr, const char *name)
{
	int i, free_slot = -1;

	for (i = 0; i < KD_MAX_VPCS; i++) {
		if (strcmp(tr->vpc_slot[i], name) == 0)
			return i;
		if (free_slot < 0 && tr->vpc_slot[i][0] == '\0')
			free_slot = i;
	}
	if (free_slot >= 0)
		snprintf(tr->vpc_slot[free_slot], sizeof(tr->vpc_slot[0]), "%s", name);
	return free_slot;
}

static int
find_slot(const struct kd_translate *tr, const char *name)
{
	int i;

	for (i = 0; i < KD_MAX_VPCS; i++)
		if (strcmp(tr->vpc_slot[i], name) == 0)
			return i;
	return -1;
}

static int
ports(struct kd_translate *tr, struct kd_tables *t, struct kd_err *e)
{
	const struct kd_config *cfg = tr->cfg;
	unsigned int i;
	int ret;

	for (i = 0; i < cfg->n_ports; i++) {
		const struct kd_cfg_port *p = &cfg->ports[i];
		struct rte_ether_addr mac;

		if (p->role == KD_CFG_ROLE_VNIC) {
			ret = kd_tables_set_port_role(t, tr->port_ids[i], KD_PORT_VNIC);
		} else {
			ret = kd_port_mac(tr->port_ids[i], &mac);
			if (ret == 0)
				ret = kd_tables_set_uplink(t, tr->port_ids[i], p->mtu, &mac,
							   cfg->vtep_ip, cfg->vtep_plen,
							   cfg->gateway_ip);
		}
		if (ret < 0) {
			kd_err_set(e, KD_INTERNAL, "port \"%s\": %s", p->name, strerror(-ret));
			return -1;
		}
	}
	return 0;
}

static int
vpcs(struct kd_translate *tr, struct kd_tables *t, const struct kd_store *s,
     struct kd_err *e)
{
	const struct kd_store_kind *sk = &s->kind[KD_KIND_VPC];
	unsigned int i;
	size_t j;
	int ret;

	/* Release the slots of deleted VPCs first, then place new ones. */
	for (i = 0; i < KD_MAX_VPCS; i++)
		if (tr->vpc_slot[i][0] != '\0' &&
		    kd_store_get(s, KD_KIND_VPC, tr->vpc_slot[i]) == NULL)
			tr->vpc_slot[i][0] = '\0';
	for (j = 0; j < sk->n; j++) {
		const PB(Vpc) *v = (const PB(Vpc) *)sk->obj[j];
		struct rte_ether_addr gw_mac;
		rte_be32_t gw_ip;
		int slot = vpc_slot(tr, v->name);

		if (slot < 0) {
			kd_err_set(e, KD_RESOURCE_EXHAUSTED, "%s: all %d VPC slots are used",
				    v->name, KD_MAX_VPCS);
			return -1;
		}
		kd_config_parse_ipv4(v->spec->gateway_ip, &gw_ip);
		kd_config_parse_mac(v->spec->gateway_mac[0] != '\0' ? v->spec->gateway_mac :
				    KD_DEFAULT_GW_MAC, &gw_mac);
		ret = kd_tables_add_vpc(t, (uint16_t)slot, v->name, v->spec->vni, gw_ip, &gw_mac);
		if (ret < 0) {
			kd_err_set(e, errno_status(-ret), "%s: %s", v->name, strerror(-ret));
			return -1;
		}
	}
	return 0;
}

static int
port_by_pci(const struct kd_translate *tr, const char *pci)
{
	unsigned int i;

	for (i = 0; i < tr->cfg->n_ports; i++)
		if (tr->cfg->ports[i].role == KD_CFG_ROLE_VNIC &&
		    strcmp(tr->cfg->ports[i].pci, pci) == 0)
			return tr->port_ids[i];
	return -1;
}

static int
netdevs(struct kd_translate *tr, struct kd_tables *t, const struct kd_store *s,
	struct kd_err *e)
{
	const struct kd_store_kind *sk = &s->kind[KD_KIND_NETDEV];
	size_t j;
	int ret;

	for (j = 0; j < sk->n; j++) {
		const PB(Netdev) *n = (const PB(Netdev) *)sk->obj[j];
		int port = port_by_pci(tr, n->spec->pci_address);
		int slot = find_slot(tr, n->spec->vpc);
		struct rte_ether_addr mac;
		rte_be32_t ip = 0;

		if (port < 0 || slot < 0) {
			kd_err_set(e, KD_FAILED_PRECONDITION, "%s: %s", n->name,
				    port < 0 ? "no such vNIC port" : "no such VPC");
			return -1;
		}
		kd_config_parse_mac(n->spec->mac, &mac);
		if (n->spec->n_ips == 1)
			kd_config_parse_ipv4(n->spec->ips[0], &ip);
		ret = kd_tables_add_vnic(t, (uint16_t)port, (uint16_t)slot, ip, &mac,
					 n->spec->pci_address, n->spec->pod);
		if (ret < 0) {
			kd_err_set(e, errno_status(-ret), "%s: %s", n->name, strerror(-ret));
			return -1;
		}
	}
	return 0;
}

static int
nodes(struct kd_translate *tr, struct kd_tables *t, const struct kd_store *s,
      struct kd_err *e)
{
	const struct kd_store_kind *sk = &s->kind[KD_KIND_NODE];
	size_t j, c;
	int ret;

	for (j = 0; j < sk->n; j++) {
		const PB(Node) *n = (const PB(Node) *)sk->obj[j];
		struct rte_ether_addr mac;
		rte_be32_t vtep;
		int slot, neigh, idx;

		kd_config_parse_ipv4(n->spec->vtep_ip, &vtep);
		if (vtep == tr->cfg->vtep_ip || n->spec->n_pod_cidrs == 0)
			continue;	/* our own node, or one with nothing to route */
		slot = find_slot(tr, n->spec->vpc);
		if (slot < 0) {
			kd_err_set(e, KD_FAILED_PRECONDITION, "%s: no such VPC", n->name);
			return -1;
		}
		if (t->uplink_port == RTE_MAX_ETHPORTS) {
			kd_err_set(e, KD_FAILED_PRECONDITION,
				    "%s: no uplink port to reach remote nodes over", n->name);
			return -1;
		}
		neigh = kd_arp_neigh_slot(kd_config_nexthop(tr->cfg, vtep));
		if (neigh < 0) {
			kd_err_set(e, KD_RESOURCE_EXHAUSTED, "%s: neighbour table full", n->name);
			return -1;
		}
		mac = t->vpc[slot].gw_mac;
		if (n->spec->mac[0] != '\0')
			kd_config_parse_mac(n->spec->mac, &mac);
		idx = kd_tables_add_rnode(t, n->name, vtep, &mac, (uint16_t)neigh);
		if (idx < 0) {
			kd_err_set(e, errno_status(-idx), "%s: %s", n->name, strerror(-idx));
			return -1;
		}
		for (c = 0; c < n->spec->n_pod_cidrs; c++) {
			uint32_t nh;
			rte_be32_t pfx;
			uint8_t plen;

			kd_config_parse_cidr(n->spec->pod_cidrs[c], &pfx, &plen, true);
			if (rte_lpm_is_rule_present(t->vpc[slot].lpm, rte_be_to_cpu_32(pfx), plen,
						    &nh) == 1) {
				kd_err_set(e, KD_FAILED_PRECONDITION,
					    "%s: pod CIDR %s is already routed to %s", n->name,
					    n->spec->pod_cidrs[c],
					    (nh & KD_NH_REMOTE) ? t->rnode[nh & KD_NH_INDEX_MASK].name :
								  "a local netdev");
				return -1;
			}
			ret = kd_tables_add_route(t, (uint16_t)slot, pfx, plen,
						  KD_NH_REMOTE | (uint32_t)idx);
			if (ret < 0) {
				kd_err_set(e, errno_status(-ret), "%s: pod CIDR %s: %s", n->name,
					    n->spec->pod_cidrs[c], strerror(-ret));
				return -1;
			}
		}
	}
	return 0;
}

/* Service clients and masqueraded pods on the underlay. */
static int
underlay(struct kd_translate *tr, struct kd_tables *t, struct kd_err *e)
{
	const struct kd_config *cfg = tr->cfg;
	struct kd_cidr cl[KD_MAX_CLUSTER_CIDRS];
	char name[KD_CFG_NAME_LEN + 8];
	uint16_t gw = KD_NEIGH_NONE;
	unsigned int i;
	int ret;

	RTE_BUILD_BUG_ON(KD_CFG_MAX_CIDRS > KD_MAX_CLUSTER_CIDRS);
	if (t->uplink_port == RTE_MAX_ETHPORTS)
		return 0;
	if (cfg->gateway_ip != 0) {
		ret = kd_arp_neigh_slot(cfg->gateway_ip);
		if (ret < 0) {
			kd_err_set(e, KD_RESOURCE_EXHAUSTED, "gateway: neighbour table full");
			return -1;
		}
		gw = (uint16_t)ret;
	}
	for (i = 0; i < cfg->n_cluster_cidrs; i++) {
		cl[i].prefix = cfg->cluster_cidrs[i].prefix;
		cl[i].mask = cfg->cluster_cidrs[i].plen ?
			rte_cpu_to_be_32(~0u << (32 - cfg->cluster_cidrs[i].plen)) : 0;
	}
	snprintf(name, sizeof(name), "vpcs/%s", cfg->svc_vpc);
	ret = kd_tables_set_underlay(t, find_slot(tr, name), gw, cl, cfg->n_cluster_cidrs,
				     cfg->masq_lo, cfg->masquerade ? cfg->masq_hi : 0);
	if (ret < 0) {
		kd_err_set(e, KD_INTERNAL, "underlay: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

struct kd_tables *
kd_translate_build(struct kd_translate *tr, const struct kd_store *s, struct kd_err *e)
{
	const struct kd_config *cfg = tr->cfg;
	struct kd_tables *t;

	t = kd_tables_new(cfg->max_routes, cfg->max_rnodes);
	if (t == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "cannot allocate tables: %s",
			    rte_strerror(rte_errno));
		return NULL;
	}
	if (ports(tr, t, e) != 0 || vpcs(tr, t, s, e) != 0 || netdevs(tr, t, s, e) != 0 ||
	    nodes(tr, t, s, e) != 0 || underlay(tr, t, e) != 0) {
		kd_tables_free(t);
		return NULL;
	}
	return t;
}
