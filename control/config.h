/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_CONFIG_H
#define KDPU_CONTROL_CONFIG_H

/*
 * The daemon's libconfig file: EAL and worker settings, ports by devargs and
 * role, the node's VTEP, and static provisioning of VPCs, vNICs and remote
 * nodes. kd_config_load() parses and validates everything (syntax, types,
 * ranges, unknown keys, cross references) before the daemon touches EAL or a
 * port; an error names the file, line and key. docs/configuration.md lists
 * every key.
 *
 * Control thread only; needs no EAL.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dataplane/conntrack.h"

#define KD_CFG_NAME_LEN 64
#define KD_CFG_MAX_PORTS 32
#define KD_CFG_MAX_VPCS 64
#define KD_CFG_MAX_WORKERS 16
#define KD_CFG_MAX_CIDRS 16
#define KD_CFG_MAX_EAL_ARGS 32
#define KD_CFG_ERR_LEN 512

enum kd_cfg_role {
	KD_CFG_ROLE_UPLINK = 1,
	KD_CFG_ROLE_VNIC,
};

struct kd_cfg_cidr {
	rte_be32_t prefix;
	uint8_t plen;
};

struct kd_cfg_port {
	char name[KD_CFG_NAME_LEN];
	char devargs[256];
	char pci[32];			/* vNIC identity; defaults to the device name */
	enum kd_cfg_role role;
	uint16_t mtu;
};

struct kd_cfg_vpc {
	char name[KD_CFG_NAME_LEN];
	uint32_t vni;
	rte_be32_t gw_ip;
	struct rte_ether_addr gw_mac;
};

struct kd_cfg_vnic {
	char pci[32];
	char pod[KD_CFG_NAME_LEN];
	uint16_t port;			/* index into ports[] */
	uint16_t vpc;			/* index into vpcs[] */
	rte_be32_t ip;
	struct rte_ether_addr mac;
};

struct kd_cfg_rnode {
	char name[KD_CFG_NAME_LEN];
	uint16_t vpc;
	rte_be32_t vtep_ip;
	struct rte_ether_addr inner_mac;
	uint16_t n_cidrs;
	struct kd_cfg_cidr cidrs[KD_CFG_MAX_CIDRS];
};

struct kd_config {
	char path[512];
	/* eal */
	char file_prefix[KD_CFG_NAME_LEN];
	char lcores[256];
	unsigned int main_lcore;
	unsigned int memory_mb;
	unsigned int n_eal_args;
	char eal_args[KD_CFG_MAX_EAL_ARGS][256];
	/* workers */
	unsigned int n_workers;
	unsigned int worker_lcores[KD_CFG_MAX_WORKERS];
	uint32_t idle_sleep_us;
	uint16_t rx_desc, tx_desc;
	/* mempool */
	uint32_t mbufs, mbuf_cache;
	uint16_t mbuf_data_room;
	/* tables */
	uint32_t max_routes, max_rnodes;
	/* node */
	char node_name[KD_CFG_NAME_LEN];
	rte_be32_t vtep_ip;
	uint8_t vtep_plen;
	rte_be32_t gateway_ip;
	uint32_t arp_refresh_s;
	/* conntrack */
	uint32_t ct_capacity;
	uint32_t ct_cache_entries;	/* per worker; 0: no cache */
	struct kd_ct_timeouts ct_timeouts;
	/* services */
	uint32_t svc_maglev_m;		/* prime; the largest table */
	uint32_t svc_maglev_per_ep;	/* entries per endpoint a table is sized for; 0: always the largest */
	uint32_t svc_affinity_capacity;
	uint32_t svc_max_frontends;	/* size of the frontend index */
	rte_be32_t svc_hairpin_ip;
	char svc_vpc[KD_CFG_NAME_LEN];	/* VPC of endpoints for underlay clients */
	/* policy */
	uint32_t pol_max_prefixes;	/* keys of the policy classifier */
	/* nat */
	bool masquerade;
	uint16_t masq_lo, masq_hi;
	unsigned int n_cluster_cidrs;
	struct kd_cfg_cidr cluster_cidrs[KD_CFG_MAX_CIDRS];
	/* api */
	char api_unix_socket[108];
	char api_listen[128];
	char api_tls_cert[256], api_tls_key[256], api_tls_client_ca[256];
	uint32_t api_max_message_kb;
	/* provisioning */
	unsigned int n_ports, n_vpcs, n_vnics, n_rnodes;
	struct kd_cfg_port ports[KD_CFG_MAX_PORTS];
	struct kd_cfg_vpc vpcs[KD_CFG_MAX_VPCS];
	struct kd_cfg_vnic vnics[KD_CFG_MAX_PORTS];
	struct kd_cfg_rnode *rnodes;
};

/**
 * Load and validate path into *cfg. Returns 0, or -1 with a message of the
 * form "FILE:LINE: KEY: problem" in err.
 */
int kd_config_load(const char *path, struct kd_config *cfg, char err[KD_CFG_ERR_LEN]);
void kd_config_free(struct kd_config *cfg);

/** Underlay next hop toward dst: dst itself on the VTEP subnet, else the gateway (0 if none). */
rte_be32_t kd_config_nexthop(const struct kd_config *cfg, rte_be32_t dst);

/* Value parsers, shared with the API. Each returns 0 or -EINVAL. */
int kd_config_parse_ipv4(const char *s, rte_be32_t *ip);
/** "a.b.c.d/n". strict: a prefix, host bits must be zero; else an address in a subnet. */
int kd_config_parse_cidr(const char *s, rte_be32_t *prefix, uint8_t *plen, bool strict);
/** "aa:bb:cc:dd:ee:ff"; unicast only. */
int kd_config_parse_mac(const char *s, struct rte_ether_addr *mac);
/* And back, as the API prints them (dotted quad; lower-case MAC, as Kubernetes does). */
void kd_config_format_ipv4(rte_be32_t ip, char *buf, size_t len);
void kd_config_format_mac(const struct rte_ether_addr *mac, char *buf, size_t len);

#endif
