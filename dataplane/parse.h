/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_PARSE_H
#define KDPU_DATAPLANE_PARSE_H

/*
 * Header parsing for the packet path: Ethernet with at most one 802.1Q tag,
 * IPv4 and the first bytes of L4. Every function checks lengths against the
 * first segment (headers never straddle segments with the PMDs we support)
 * and IPv4 total length against the whole packet, so a truncated or lying
 * header yields a drop reason instead of a read past the data.
 *
 * Worker context only; no state, no side effects on the mbuf.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/stats.h"

/* Returned by parsers when the packet is fine. */
#define KD_PARSE_OK KD_DROP_MAX
/* Returned by a responder that used the packet up (an ARP reply we learned from). */
#define KD_PARSE_CONSUMED ((enum kd_drop_reason)(KD_DROP_MAX + 1))

struct kd_pkt_meta {
	uint16_t l2_off;
	uint16_t l3_off;	/* start of IPv4 or ARP */
	uint16_t l4_off;
	uint16_t ether_type;	/* host order, after any VLAN tag */
	uint16_t vlan_tci;	/* host order, 0 when untagged */
	uint8_t l4_proto;
	uint8_t is_frag;	/* MF set or non-zero offset */
};

/**
 * True when an IPv4 header of ihl bytes sums to 0xffff (RFC 1071). Summed 32
 * bits at a time into 64, as Linux's ip_fast_csum does: a fifth of the work
 * of a 16-bit loop, and the one's complement sum does not care about order.
 */
static __rte_always_inline bool
kd_ipv4_hdr_csum_ok(const struct rte_ipv4_hdr *ip, uint16_t ihl)
{
	const uint8_t *b = (const uint8_t *)ip;
	uint32_t w0, w1, w2, w3, w4;
	uint64_t sum;
	uint16_t off;

	/* Five scalar loads: an array copy went through the stack and stalled forwarding. */
	memcpy(&w0, b, 4);
	memcpy(&w1, b + 4, 4);
	memcpy(&w2, b + 8, 4);
	memcpy(&w3, b + 12, 4);
	memcpy(&w4, b + 16, 4);
	sum = (uint64_t)w0 + w1 + w2 + w3 + w4;
	for (off = 20; unlikely(off < ihl); off += 4) {
		memcpy(&w0, b + off, 4);
		sum += w0;
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return sum == 0xffffu;
}

/** Ethernet, then one optional 802.1Q tag. Fills l2_off, l3_off, ether_type, vlan_tci. */
static __rte_always_inline enum kd_drop_reason
kd_parse_l2(const struct rte_mbuf *m, uint16_t off, struct kd_pkt_meta *pm)
{
	uint16_t len = rte_pktmbuf_data_len(m);
	const struct rte_ether_hdr *eth;
	uint16_t et;

	if (unlikely((uint32_t)off + RTE_ETHER_HDR_LEN > len))
		return KD_DROP_PARSE_TRUNC_L2;
	eth = rte_pktmbuf_mtod_offset(m, const struct rte_ether_hdr *, off);
	et = rte_be_to_cpu_16(eth->ether_type);
	pm->l2_off = off;
	pm->l3_off = (uint16_t)(off + RTE_ETHER_HDR_LEN);
	pm->vlan_tci = 0;
	if (unlikely(et == RTE_ETHER_TYPE_VLAN)) {
		const struct rte_vlan_hdr *vh;

		if ((uint32_t)pm->l3_off + sizeof(*vh) > len)
			return KD_DROP_PARSE_TRUNC_L2;
		vh = rte_pktmbuf_mtod_offset(m, const struct rte_vlan_hdr *, pm->l3_off);
		pm->vlan_tci = rte_be_to_cpu_16(vh->vlan_tci);
		et = rte_be_to_cpu_16(vh->eth_proto);
		pm->l3_off = (uint16_t)(pm->l3_off + sizeof(*vh));
	}
	pm->ether_type = et;
	return KD_PARSE_OK;
}

/**
 * IPv4 at pm->l3_off, then the L4 header length the protocol needs
 * (TCP 20, UDP 8, ICMP 8; others none). Fills l4_off, l4_proto, is_frag.
 * Trailing Ethernet padding is allowed; a total length beyond the frame is not.
 * @param verify_csum  false when the PMD already flagged the checksum good.
 */
static __rte_always_inline enum kd_drop_reason
kd_parse_ipv4(const struct rte_mbuf *m, struct kd_pkt_meta *pm, bool verify_csum)
{
	uint16_t len = rte_pktmbuf_data_len(m), l3 = pm->l3_off;
	const struct rte_ipv4_hdr *ip;
	uint16_t ihl, tot, need, frag;
	uint8_t proto;

	/*
	 * Header fields in locals, pm written after the last read: pm may alias
	 * the packet, and a byte store to it reloaded wider stalls forwarding.
	 */
	if (unlikely((uint32_t)l3 + sizeof(*ip) > len))
		return KD_DROP_PARSE_TRUNC_L3;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3);
	if (unlikely((ip->version_ihl >> 4) != 4))
		return KD_DROP_PARSE_IP_VERSION;
	ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
	if (unlikely(ihl < sizeof(*ip)))
		return KD_DROP_PARSE_IP_IHL;
	if (unlikely((uint32_t)l3 + ihl > len))
		return KD_DROP_PARSE_TRUNC_L3;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tot < ihl || (uint32_t)l3 + tot > rte_pktmbuf_pkt_len(m)))
		return KD_DROP_PARSE_IP_LEN;
	if (verify_csum && unlikely(!kd_ipv4_hdr_csum_ok(ip, ihl)))
		return KD_DROP_PARSE_IP_CSUM;
	proto = ip->next_proto_id;
	frag = ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						     RTE_IPV4_HDR_OFFSET_MASK);
	pm->l4_off = (uint16_t)(l3 + ihl);
	pm->l4_proto = proto;
	/*
	 * Arithmetic, not a compare: GCC merges the two byte stores, and built
	 * the pair from a setcc spilled as a byte and reloaded as a word, a
	 * store-forwarding stall on every packet.
	 */
	pm->is_frag = (uint8_t)(((uint32_t)frag + 0xffff) >> 16);
	if (unlikely(frag & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)))
		return KD_PARSE_OK;	/* non-first fragments carry no L4 header */
	switch (proto) {
	case IPPROTO_TCP:
		need = 20;
		break;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
		need = 8;
		break;
	case IPPROTO_SCTP:
		need = 12;	/* common header: ports, tag, checksum */
		break;
	default:
		need = 0;
		break;
	}
	if (unlikely((uint32_t)ihl + need > tot || (uint32_t)l3 + ihl + need > len))
		return KD_DROP_PARSE_TRUNC_L4;
	return KD_PARSE_OK;
}

/** True when the PMD did not already vouch for the IPv4 header checksum. */
static __rte_always_inline bool
kd_parse_need_ip_csum(const struct rte_mbuf *m)
{
	return (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD;
}

/** Flow hash of the inner 5-tuple (or 3-tuple) for the outer UDP source port. */
static __rte_always_inline uint32_t
kd_parse_flow_hash(const struct rte_mbuf *m, const struct kd_pkt_meta *pm)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	uint32_t h = ip->src_addr * 0x9e3779b1u ^ ip->dst_addr * 0x85ebca6bu ^ ip->next_proto_id;

	uint32_t ports;

	if (!pm->is_frag && (pm->l4_proto == IPPROTO_TCP || pm->l4_proto == IPPROTO_UDP)) {
		memcpy(&ports, rte_pktmbuf_mtod_offset(m, const void *, pm->l4_off), sizeof(ports));
		h ^= ports * 0xc2b2ae35u;
	}
	return h ^ (h >> 16);
}

#endif
