/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_memcpy.h>

#include "dataplane/egress.h"

/* RFC 7348 s5: the source port should fall in the dynamic range 49152-65535. */
#define VXLAN_SPORT_BASE 49152u
#define VXLAN_SPORT_MASK 0x3fffu

enum kd_drop_reason
kd_egress_encap(const struct kd_tables *t, const struct kd_rnode *r, struct rte_mbuf *m,
	       uint32_t vni, uint32_t flow_hash)
{
	uint16_t inner_len = (uint16_t)rte_pktmbuf_pkt_len(m);
	uint16_t ip_len = (uint16_t)(inner_len + KD_VXLAN_OUTER_LEN - RTE_ETHER_HDR_LEN);
	struct rte_ether_addr nh_mac;
	struct kd_vxlan_tmpl *h;
	uint32_t sum;

	if (unlikely(!kd_arp_neigh_mac(r->neigh, &nh_mac)))
		return KD_DROP_ARP_UNRESOLVED;
	if (unlikely(ip_len > t->uplink_mtu))
		return KD_DROP_ENCAP_TOO_BIG;
	h = (struct kd_vxlan_tmpl *)rte_pktmbuf_prepend(m, KD_VXLAN_OUTER_LEN);
	if (unlikely(h == NULL))
		return KD_DROP_ENCAP_NO_HEADROOM;
	rte_memcpy(h, &r->tmpl, sizeof(*h));
	h->eth.dst_addr = nh_mac;
	h->ip.total_length = rte_cpu_to_be_16(ip_len);
	sum = r->ip_csum_base + rte_cpu_to_be_16(ip_len);
	h->ip.hdr_checksum = (uint16_t)~__rte_raw_cksum_reduce(sum);
	h->udp.src_port = rte_cpu_to_be_16((uint16_t)(VXLAN_SPORT_BASE |
						      (flow_hash & VXLAN_SPORT_MASK)));
	h->udp.dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(struct rte_ipv4_hdr)));
	h->vxlan.vx_vni = rte_cpu_to_be_32(vni << 8);
	return KD_PARSE_OK;
}
