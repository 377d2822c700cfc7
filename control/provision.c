/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>

#include "control/config.h"
#include "control/provision.h"
#include "dataplane/arp.h"
#include "dataplane/tables.h"
#include "drivers/port.h"

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

struct kd_tables *
kd_provision_build(const struct kd_config *cfg, const uint16_t *port_ids, char *err,
		   size_t errlen)
{
	struct kd_tables *t;
	unsigned int i, j;
	int ret;

	t = kd_tables_new(cfg->max_routes, cfg->max_rnodes);
	if (t == NULL) {
		snprintf(err, errlen, "cannot allocate tables: %s", rte_strerror(rte_errno));
		return NULL;
	}
	for (i = 0; i < cfg->n_ports; i++) {
		const struct kd_cfg_port *p = &cfg->ports[i];
		struct rte_ether_addr mac;

		if (p->role == KD_CFG_ROLE_VNIC) {
			ret = kd_tables_set_port_role(t, port_ids[i], KD_PORT_VNIC);
		} else {
			ret = kd_port_mac(port_ids[i], &mac);
			if (ret == 0)
				ret = kd_tables_set_uplink(t, port_ids[i], p->mtu, &mac, cfg->vtep_ip,
							   cfg->vtep_plen, cfg->gateway_ip);
		}
		if (ret < 0)
			FAIL("port \"%s\": %s", p->name, strerror(-ret));
	}
	for (i = 0; i < cfg->n_vpcs; i++) {
		const struct kd_cfg_vpc *v = &cfg->vpcs[i];

		ret = kd_tables_add_vpc(t, (uint16_t)i, v->name, v->vni, v->gw_ip, &v->gw_mac);
		if (ret < 0)
			FAIL("vpc \"%s\": %s", v->name, strerror(-ret));
	}
	for (i = 0; i < cfg->n_vnics; i++) {
		const struct kd_cfg_vnic *v = &cfg->vnics[i];

		ret = kd_tables_add_vnic(t, port_ids[v->port], v->vpc, v->ip, &v->mac, v->pci,
					 v->pod);
		if (ret < 0)
			FAIL("vnic \"%s\": %s", v->pci, strerror(-ret));
	}
	for (i = 0; i < cfg->n_rnodes; i++) {
		const struct kd_cfg_rnode *r = &cfg->rnodes[i];
		int slot = kd_arp_neigh_slot(kd_config_nexthop(cfg, r->vtep_ip));
		int idx;

		if (slot < 0)
			FAIL("remote node \"%s\": neighbour table full", r->name);
		idx = kd_tables_add_rnode(t, r->name, r->vtep_ip, &r->inner_mac, (uint16_t)slot);
		if (idx < 0)
			FAIL("remote node \"%s\": %s", r->name, strerror(-idx));
		for (j = 0; j < r->n_cidrs; j++) {
			ret = kd_tables_add_route(t, r->vpc, r->cidrs[j].prefix, r->cidrs[j].plen,
						  KD_NH_REMOTE | (uint32_t)idx);
			if (ret < 0)
				FAIL("remote node \"%s\": pod CIDR %u: %s", r->name, j,
				     strerror(-ret));
		}
	}
	return t;
fail:
	kd_tables_free(t);
	return NULL;
}
