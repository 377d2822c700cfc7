/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_malloc.h>
#include <rte_telemetry.h>

#include "dataplane/arp.h"

struct kd_neigh_table *kd_arp_neigh;

int
kd_arp_init(void)
{
	kd_arp_neigh = rte_zmalloc("kd_neigh", sizeof(*kd_arp_neigh), RTE_CACHE_LINE_SIZE);
	return kd_arp_neigh == NULL ? -ENOMEM : 0;
}

void
kd_arp_fini(void)
{
	rte_free(kd_arp_neigh);
	kd_arp_neigh = NULL;
}

static int
neigh_find(rte_be32_t ip, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (__atomic_load_n(&kd_arp_neigh->e[i].ip, __ATOMIC_ACQUIRE) == ip)
			return (int)i;
	return -1;
}

/*
 * Any thread: the control thread for configured next hops, workers for
 * underlay peers of new connections. A slot is reserved by CAS on n and its
 * IP published after; readers skip a slot whose IP is still 0. Two writers
 * racing for one IP may both reserve a slot: the first one is used.
 */
int
kd_arp_neigh_slot(rte_be32_t ip)
{
	uint32_t n = __atomic_load_n(&kd_arp_neigh->n, __ATOMIC_ACQUIRE);
	int i;

	for (;;) {
		i = neigh_find(ip, n);
		if (i >= 0)
			return i;
		if (n == KD_ARP_MAX_NEIGH)
			return -ENOSPC;
		if (__atomic_compare_exchange_n(&kd_arp_neigh->n, &n, n + 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	__atomic_store_n(&kd_arp_neigh->e[n].ip, ip, __ATOMIC_RELEASE);
	return (int)n;
}

int
kd_arp_next_hop_slow(const struct kd_tables *t, rte_be32_t dst, const struct rte_ether_addr *seen)
{
	rte_be32_t mask = t->vtep_plen ? rte_cpu_to_be_32(~0u << (32 - t->vtep_plen)) : 0;
	int slot;

	if (((dst ^ t->vtep_ip) & mask) != 0) {
		/* Off the subnet: only through the gateway; never a slot per remote host. */
		return t->gw_neigh != KD_NEIGH_NONE ? t->gw_neigh : -ENETUNREACH;
	}
	slot = kd_arp_neigh_slot(dst);
	if (slot >= 0 && seen != NULL &&
	    !(__atomic_load_n(&kd_arp_neigh->e[slot].mac, __ATOMIC_RELAXED) & KD_ARP_MAC_VALID)) {
		uint64_t v = 0;

		memcpy(&v, seen, RTE_ETHER_ADDR_LEN);
		__atomic_store_n(&kd_arp_neigh->e[slot].learned_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
		__atomic_store_n(&kd_arp_neigh->e[slot].mac, v | KD_ARP_MAC_VALID, __ATOMIC_RELAXED);
	}
	return slot;
}

static bool
neigh_learn(struct kd_stats *st, rte_be32_t ip, const struct rte_ether_addr *mac)
{
	uint32_t n = __atomic_load_n(&kd_arp_neigh->n, __ATOMIC_ACQUIRE);
	uint64_t v = KD_ARP_MAC_VALID;
	bool learned = false;
	uint32_t i;

	memcpy(&v, mac, RTE_ETHER_ADDR_LEN);
	v |= KD_ARP_MAC_VALID;
	/* Every slot of the IP: two workers racing may have reserved two. */
	for (i = 0; i < n; i++) {
		if (__atomic_load_n(&kd_arp_neigh->e[i].ip, __ATOMIC_ACQUIRE) != ip)
			continue;
		__atomic_store_n(&kd_arp_neigh->e[i].mac, v, __ATOMIC_RELAXED);
		__atomic_store_n(&kd_arp_neigh->e[i].learned_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
		learned = true;
	}
	if (learned)
		st->event[KD_EV_ARP_LEARNED]++;
	return learned;
}

enum kd_drop_reason
kd_arp_input_slow(struct kd_stats *st, const struct kd_tables *t, struct rte_mbuf *m,
		  const struct kd_pkt_meta *pm, bool uplink)
{
	const struct kd_vnic *vn = &t->vnic[m->port];
	struct rte_ether_addr our_mac;
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	rte_be32_t tip;

	if ((uint32_t)pm->l3_off + sizeof(*arp) > rte_pktmbuf_data_len(m))
		return KD_DROP_ARP_MALFORMED;
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, pm->l3_off);
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return KD_DROP_ARP_MALFORMED;
	tip = arp->arp_data.arp_tip;
	if (uplink) {
		/* Like Linux, learn from requests too: the asker is about to talk to us. */
		bool learned = neigh_learn(st, arp->arp_data.arp_sip, &arp->arp_data.arp_sha);

		if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || tip != t->vtep_ip)
			return learned ? KD_PARSE_CONSUMED : KD_DROP_ARP_NOT_FOR_US;
		our_mac = t->uplink_mac;
	} else {
		if (!vn->used)
			return KD_DROP_FWD_NO_VNIC;
		/* Proxy ARP: the DPU routes everything, so it owns every address but
		 * the pod's own (answering that would break duplicate detection). */
		if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || tip == vn->ip ||
		    tip == arp->arp_data.arp_sip || tip == 0)
			return KD_DROP_ARP_NOT_FOR_US;
		our_mac = t->vpc[vn->vpc].gw_mac;
	}
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = our_mac;
	arp->arp_data.arp_sip = tip;
	eth = rte_pktmbuf_mtod_offset(m, struct rte_ether_hdr *, pm->l2_off);
	eth->dst_addr = arp->arp_data.arp_tha;
	eth->src_addr = our_mac;
	st->event[KD_EV_ARP_REPLIED]++;
	return KD_PARSE_OK;
}

enum kd_drop_reason
kd_arp_icmp_echo_slow(struct kd_stats *st, struct rte_mbuf *m, const struct kd_pkt_meta *pm,
		      const struct rte_ether_addr *our_mac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod_offset(m, struct rte_ether_hdr *, pm->l2_off);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pm->l3_off);
	struct rte_icmp_hdr *icmp;
	rte_be32_t a;
	uint32_t c;

	if (pm->l4_proto != IPPROTO_ICMP || pm->is_frag)
		return KD_DROP_VXLAN_NOT_VXLAN;
	icmp = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, pm->l4_off);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
		return KD_DROP_VXLAN_NOT_VXLAN;
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	/* Type 8 -> 0 lowers the first word by 0x0800: add it back to the sum. */
	c = icmp->icmp_cksum;
	c += rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8);
	icmp->icmp_cksum = (uint16_t)(c + (c >> 16));
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = *our_mac;
	st->event[KD_EV_ICMP_ECHO_REPLIED]++;
	return KD_PARSE_OK;
}

struct rte_mbuf *
kd_arp_request_build(struct rte_mempool *mp, const struct kd_tables *t, uint16_t slot)
{
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;

	m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = t->uplink_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = t->uplink_mac;
	arp->arp_data.arp_sip = t->vtep_ip;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = kd_arp_neigh->e[slot].ip;
	m->port = t->uplink_port;
	return m;
}

/* One "IP MAC" string per neighbour, like `ip neigh`; "incomplete" until resolved. */
static int
tel_neighbors(const char *cmd __rte_unused, const char *params __rte_unused,
	      struct rte_tel_data *d)
{
	uint32_t i, n = __atomic_load_n(&kd_arp_neigh->n, __ATOMIC_ACQUIRE);

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (i = 0; i < n; i++) {
		const struct kd_neigh *e = &kd_arp_neigh->e[i];
		uint64_t v = __atomic_load_n(&e->mac, __ATOMIC_RELAXED);
		char ip[INET_ADDRSTRLEN], line[64];
		struct rte_ether_addr mac;
		int off;

		memcpy(&mac, &v, sizeof(mac));
		inet_ntop(AF_INET, &e->ip, ip, sizeof(ip));
		off = snprintf(line, sizeof(line), "%s ", ip);
		if (v & KD_ARP_MAC_VALID)
			rte_ether_format_addr(line + off, sizeof(line) - (size_t)off, &mac);
		else
			snprintf(line + off, sizeof(line) - (size_t)off, "incomplete");
		rte_tel_data_add_array_string(d, line);
	}
	return 0;
}

int
kd_arp_telemetry_register(void)
{
	return rte_telemetry_register_cmd("/kdpu/neighbors", tel_neighbors,
					  "Underlay neighbours, one \"IP MAC\" string each");
}
