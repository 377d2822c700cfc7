/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static provisioning: the configuration file's VPCs, nodes and vNICs become
 * API objects, validated like any request, before the first tables are built.
 */
#include <stdio.h>
#include <string.h>

#include "control/api.h"
#include "control/config.h"
#include "control/provision.h"

/* Objects are built as messages, packed and unpacked, so the store owns them like any other. */
static enum kd_status
create_packed(struct kd_api *api, enum kd_kind_id id, const ProtobufCMessage *m,
	      struct kd_err *e)
{
	uint8_t buf[8192];
	size_t n = protobuf_c_message_get_packed_size(m);
	ProtobufCMessage *obj;

	if (n > sizeof(buf))
		return kd_err_set(e, KD_INTERNAL, "object too large");
	protobuf_c_message_pack(m, buf);
	obj = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	if (obj == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	return kd_api_create(api, &kd_kinds[id], obj, e);
}

enum kd_status
kd_provision_config(struct kd_api *api, const struct kd_config *cfg, struct kd_err *e)
{
	char vpcname[KD_CFG_MAX_VPCS][80];
	unsigned int i, j;
	enum kd_status st;

	for (i = 0; i < cfg->n_vpcs; i++) {
		const struct kd_cfg_vpc *c = &cfg->vpcs[i];
		PB(Vpc) o = PB_C(VPC__INIT);
		PB(VpcSpec) s = PB_C(VPC_SPEC__INIT);
		PB(ObjectMeta) m = PB_C(OBJECT_META__INIT);
		char gw[16], mac[RTE_ETHER_ADDR_FMT_SIZE];

		kd_config_format_ipv4(c->gw_ip, gw, sizeof(gw));
		kd_config_format_mac(&c->gw_mac, mac, sizeof(mac));
		m.name = (char *)(uintptr_t)c->name;
		s.vni = c->vni;
		s.gateway_ip = gw;
		s.gateway_mac = mac;
		o.metadata = &m;
		o.spec = &s;
		snprintf(vpcname[i], sizeof(vpcname[i]), "vpcs/%s", c->name);
		st = create_packed(api, KD_KIND_VPC, &o.base, e);
		if (st != KD_OK)
			return st;
	}
	for (i = 0; i < cfg->n_vnics; i++) {
		const struct kd_cfg_vnic *c = &cfg->vnics[i];
		PB(Netdev) o = PB_C(NETDEV__INIT);
		PB(NetdevSpec) s = PB_C(NETDEV_SPEC__INIT);
		PB(ObjectMeta) m = PB_C(OBJECT_META__INIT);
		char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE], pod[160] = "", *ips[1] = { ip };
		const char *slash = strchr(c->pod, '/');

		kd_config_format_ipv4(c->ip, ip, sizeof(ip));
		kd_config_format_mac(&c->mac, mac, sizeof(mac));
		if (slash != NULL)
			snprintf(pod, sizeof(pod), "namespaces/%.*s/pods/%s",
				 (int)(slash - c->pod), c->pod, slash + 1);
		else if (c->pod[0] != '\0')
			snprintf(pod, sizeof(pod), "namespaces/default/pods/%s", c->pod);
		m.name = (char *)(uintptr_t)cfg->ports[c->port].name;
		s.pci_address = (char *)(uintptr_t)c->pci;
		s.vpc = vpcname[c->vpc];
		s.mac = mac;
		s.n_ips = c->ip != 0 ? 1 : 0;
		s.ips = ips;
		s.pod = pod;
		o.metadata = &m;
		o.spec = &s;
		st = create_packed(api, KD_KIND_NETDEV, &o.base, e);
		if (st != KD_OK)
			return st;
	}
	for (i = 0; i < cfg->n_rnodes; i++) {
		const struct kd_cfg_rnode *c = &cfg->rnodes[i];
		PB(Node) o = PB_C(NODE__INIT);
		PB(NodeSpec) s = PB_C(NODE_SPEC__INIT);
		PB(ObjectMeta) m = PB_C(OBJECT_META__INIT);
		char vtep[16], mac[RTE_ETHER_ADDR_FMT_SIZE], cidr[KD_CFG_MAX_CIDRS][24];
		char *cidrs[KD_CFG_MAX_CIDRS];

		kd_config_format_ipv4(c->vtep_ip, vtep, sizeof(vtep));
		kd_config_format_mac(&c->inner_mac, mac, sizeof(mac));
		for (j = 0; j < c->n_cidrs; j++) {
			kd_config_format_ipv4(c->cidrs[j].prefix, cidr[j], sizeof(cidr[j]));
			snprintf(cidr[j] + strlen(cidr[j]), sizeof(cidr[j]) - strlen(cidr[j]),
				 "/%u", c->cidrs[j].plen);
			cidrs[j] = cidr[j];
		}
		m.name = (char *)(uintptr_t)c->name;
		s.vtep_ip = vtep;
		s.vpc = vpcname[c->vpc];
		s.mac = mac;
		s.n_pod_cidrs = c->n_cidrs;
		s.pod_cidrs = cidrs;
		o.metadata = &m;
		o.spec = &s;
		st = create_packed(api, KD_KIND_NODE, &o.base, e);
		if (st != KD_OK)
			return st;
	}
	if (cfg->vtep_ip != 0) {
		PB(Node) o = PB_C(NODE__INIT);
		PB(NodeSpec) s = PB_C(NODE_SPEC__INIT);
		PB(ObjectMeta) m = PB_C(OBJECT_META__INIT);
		char vtep[16];

		kd_config_format_ipv4(cfg->vtep_ip, vtep, sizeof(vtep));
		m.name = (char *)(uintptr_t)cfg->node_name;
		s.vtep_ip = vtep;
		o.metadata = &m;
		o.spec = &s;
		st = create_packed(api, KD_KIND_NODE, &o.base, e);
		if (st != KD_OK)
			return st;
	}
	return KD_OK;
}
