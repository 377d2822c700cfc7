/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/tables.h"


struct kd_tables *kd_tables_live;

static struct rte_rcu_qsbr *qsbr;
static uint64_t next_gen;

int
kd_tables_init(unsigned int n_readers)
{
	size_t sz = rte_rcu_qsbr_get_memsize(n_readers);

	qsbr = rte_zmalloc("kd_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (qsbr == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(qsbr, n_readers) != 0) {
		rte_free(qsbr);
		qsbr = NULL;
		return -rte_errno;
	}
	return 0;
}

struct rte_rcu_qsbr *
kd_tables_qsbr(void)
{
	return qsbr;
}

void
kd_tables_fini(void)
{
	kd_tables_free(__atomic_exchange_n(&kd_tables_live, NULL, __ATOMIC_ACQ_REL));
	rte_free(qsbr);
	qsbr = NULL;
}

struct kd_tables *
kd_tables_new(uint32_t max_routes, uint32_t max_rnodes)
{
	struct rte_hash_parameters hp = {
		.entries = KD_MAX_VPCS * 2,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
	};
	struct kd_tables *t;
	char name[RTE_HASH_NAMESIZE];

	if (max_routes == 0 || max_rnodes == 0 || max_rnodes > KD_NH_INDEX_MASK) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc("kd_tables", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (t == NULL)
		goto nomem;
	t->gen = ++next_gen;
	t->uplink_port = RTE_MAX_ETHPORTS;
	t->max_routes = max_routes;
	t->max_rnodes = max_rnodes;
	t->svc_vpc = -1;
	t->gw_neigh = KD_NEIGH_NONE;
	t->rnode = rte_zmalloc("kd_rnodes", sizeof(*t->rnode) * max_rnodes, RTE_CACHE_LINE_SIZE);
	if (t->rnode == NULL)
		goto nomem;
	snprintf(name, sizeof(name), "kd_vni_%" PRIu64, t->gen);
	hp.name = name;
	t->vni_hash = rte_hash_create(&hp);
	if (t->vni_hash == NULL)
		goto nomem;
	return t;
nomem:
	kd_tables_free(t);
	rte_errno = ENOMEM;
	return NULL;
}

void
kd_tables_free(struct kd_tables *t)
{
	unsigned int i;

	if (t == NULL)
		return;
	for (i = 0; i < KD_MAX_VPCS; i++)
		rte_lpm_free(t->vpc[i].lpm);
	rte_hash_free(t->vni_hash);
	rte_free(t->rnode);
	rte_free(t);
}

int
kd_tables_vpc_by_vni(const struct kd_tables *t, uint32_t vni)
{
	void *data;

	if (rte_hash_lookup_data(t->vni_hash, &vni, &data) < 0)
		return -1;
	return (int)(uintptr_t)data;
}

int
kd_tables_set_uplink(struct kd_tables *t, uint16_t port, uint16_t mtu,
		     const struct rte_ether_addr *mac, rte_be32_t vtep_ip, uint8_t plen,
		     rte_be32_t gateway_ip)
{
	if (port >= RTE_MAX_ETHPORTS || plen > 32 || mtu < 576 ||
	    t->port_role[port] != KD_PORT_NONE)
		return -EINVAL;
	t->uplink_port = port;
	t->uplink_mtu = mtu;
	t->uplink_mac = *mac;
	t->vtep_ip = vtep_ip;
	t->vtep_plen = plen;
	t->gateway_ip = gateway_ip;
	t->port_role[port] = KD_PORT_UPLINK;
	return 0;
}

int
kd_tables_add_vpc(struct kd_tables *t, uint16_t idx, const char *name, uint32_t vni,
		  rte_be32_t gw_ip, const struct rte_ether_addr *gw_mac)
{
	struct rte_lpm_config lc = {
		.max_rules = t->max_routes,
		.number_tbl8s = 256,
	};
	struct kd_vpc *v;
	char lname[64];
	int ret;

	if (idx >= KD_MAX_VPCS || t->vpc[idx].used || vni == 0 || vni > 0xffffff)
		return -EINVAL;
	if (kd_tables_vpc_by_vni(t, vni) >= 0)
		return -EEXIST;
	v = &t->vpc[idx];
	snprintf(lname, sizeof(lname), "kd_lpm_%" PRIu64 "_%u", t->gen, idx);
	v->lpm = rte_lpm_create(lname, (int)rte_socket_id(), &lc);
	if (v->lpm == NULL)
		return -rte_errno;
	ret = rte_hash_add_key_data(t->vni_hash, &vni, (void *)(uintptr_t)idx);
	if (ret < 0) {
		rte_lpm_free(v->lpm);
		v->lpm = NULL;
		return ret;
	}
	v->used = true;
	v->vni = vni;
	v->gw_ip = gw_ip;
	v->gw_mac = *gw_mac;
	snprintf(v->name, sizeof(v->name), "%s", name);
	return 0;
}

int
kd_tables_set_port_role(struct kd_tables *t, uint16_t port, enum kd_port_role role)
{
	if (port >= RTE_MAX_ETHPORTS || t->port_role[port] != KD_PORT_NONE)
		return -EINVAL;
	t->port_role[port] = (uint8_t)role;
	return 0;
}

int
kd_tables_add_vnic(struct kd_tables *t, uint16_t port, uint16_t vpc, rte_be32_t ip,
		   const struct rte_ether_addr *mac, const char *pci, const char *pod)
{
	struct kd_vnic *n;
	int ret;

	if (port >= RTE_MAX_ETHPORTS || vpc >= KD_MAX_VPCS || !t->vpc[vpc].used ||
	    t->port_role[port] != KD_PORT_VNIC)
		return -EINVAL;
	n = &t->vnic[port];
	if (n->used)
		return -EEXIST;
	if (ip != 0) {
		ret = kd_tables_add_route(t, vpc, ip, 32, port);
		if (ret < 0)
			return ret;
	}
	n->used = true;
	n->vpc = vpc;
	n->ip = ip;
	n->mac = *mac;
	snprintf(n->pci, sizeof(n->pci), "%s", pci);
	snprintf(n->pod, sizeof(n->pod), "%s", pod != NULL ? pod : "");
	return 0;
}

int
kd_tables_add_rnode(struct kd_tables *t, const char *name, rte_be32_t vtep_ip,
		    const struct rte_ether_addr *inner_mac, uint16_t neigh)
{
	struct kd_rnode *r;
	struct kd_vxlan_tmpl *h;

	if (t->n_rnodes >= t->max_rnodes)
		return -ENOSPC;
	if (t->uplink_port == RTE_MAX_ETHPORTS)
		return -EINVAL;
	r = &t->rnode[t->n_rnodes];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->neigh = neigh;
	r->inner_mac = *inner_mac;
	h = &r->tmpl;
	h->eth.src_addr = t->uplink_mac;
	h->eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	h->ip.version_ihl = RTE_IPV4_VHL_DEF;
	/* RFC 7348 s4.3: VTEPs must not fragment; DF lets the path tell us instead. */
	h->ip.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	h->ip.time_to_live = 64;
	h->ip.next_proto_id = IPPROTO_UDP;
	h->ip.src_addr = t->vtep_ip;
	h->ip.dst_addr = vtep_ip;
	h->udp.dst_port = rte_cpu_to_be_16(RTE_VXLAN_DEFAULT_PORT);
	h->vxlan.vx_flags = rte_cpu_to_be_32(0x08000000);
	r->ip_csum_base = __rte_raw_cksum(&h->ip, sizeof(h->ip), 0);
	return (int)t->n_rnodes++;
}

int
kd_tables_set_underlay(struct kd_tables *t, int svc_vpc, uint16_t gw_neigh,
		       const struct kd_cidr *cidrs, unsigned int n, uint16_t lo, uint16_t hi)
{
	if (svc_vpc >= KD_MAX_VPCS || (svc_vpc >= 0 && !t->vpc[svc_vpc].used) ||
	    n > KD_MAX_CLUSTER_CIDRS || (hi != 0 && lo > hi))
		return -EINVAL;
	t->svc_vpc = (int16_t)(svc_vpc < 0 ? -1 : svc_vpc);
	t->gw_neigh = gw_neigh;
	t->masq_lo = lo;
	t->masq_hi = hi;
	t->n_cluster = (uint8_t)n;
	if (n != 0)
		memcpy(t->cluster, cidrs, n * sizeof(*cidrs));
	return 0;
}

int
kd_tables_add_route(struct kd_tables *t, uint16_t vpc, rte_be32_t prefix, uint8_t plen,
		    uint32_t next_hop)
{
	if (vpc >= KD_MAX_VPCS || !t->vpc[vpc].used || plen > 32 || plen == 0)
		return -EINVAL;
	if (next_hop > (KD_NH_REMOTE | KD_NH_INDEX_MASK))
		return -EINVAL;
	return rte_lpm_add(t->vpc[vpc].lpm, rte_be_to_cpu_32(prefix), plen, next_hop);
}

void
kd_tables_wait(void)
{
	/* Workers report quiescent once per loop, so this waits one loop at most. */
	if (qsbr != NULL)
		rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
}

void *
kd_tables_swap(void **live, void *next)
{
	void *old = __atomic_exchange_n(live, next, __ATOMIC_ACQ_REL);

	if (old != NULL)
		kd_tables_wait();
	return old;
}
