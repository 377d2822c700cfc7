/* SPDX-License-Identifier: Apache-2.0 */
#include <netinet/in.h>
#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/reject.h"

#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define QUOTE_L4 8	/* RFC 792: the header and 64 bits of data */

static void
ip_answer(struct rte_ipv4_hdr *ip, rte_be32_t src, rte_be32_t dst, uint8_t proto,
	  uint16_t len)
{
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(len);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* RFC 793 "Reset Generation", for a segment to a closed port. */
static bool
tcp_rst(struct rte_mbuf *m, struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *th, uint16_t l3_off)
{
	uint32_t tot = rte_be_to_cpu_16(ip->total_length);
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t hl = (uint32_t)(th->data_off >> 4) * 4;
	uint32_t seg = tot > ihl + hl ? tot - ihl - hl : 0;
	struct rte_tcp_hdr t = { 0 };
	struct rte_ipv4_hdr *nip;
	rte_be32_t src = ip->dst_addr, dst = ip->src_addr;

	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		return false;	/* never answer a RST */
	t.src_port = th->dst_port;
	t.dst_port = th->src_port;
	t.data_off = (uint8_t)(sizeof(t) / 4) << 4;
	if (th->tcp_flags & RTE_TCP_ACK_FLAG) {
		t.sent_seq = th->recv_ack;
		t.tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		seg += !!(th->tcp_flags & RTE_TCP_SYN_FLAG) + !!(th->tcp_flags & RTE_TCP_FIN_FLAG);
		t.recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) + seg);
		t.tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	nip = ip;
	ip_answer(nip, src, dst, IPPROTO_TCP, sizeof(*nip) + sizeof(t));
	memcpy(nip + 1, &t, sizeof(t));
	th = (struct rte_tcp_hdr *)(nip + 1);
	th->cksum = rte_ipv4_udptcp_cksum(nip, th);
	return rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) -
					      (l3_off + sizeof(*nip) + sizeof(t)))) == 0;
}

static bool
icmp_unreach(struct rte_mbuf *m, struct rte_ipv4_hdr *ip, uint16_t l3_off)
{
	uint8_t quote[60 + QUOTE_L4];
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t tot = rte_be_to_cpu_16(ip->total_length);
	uint32_t qlen = RTE_MIN(tot, ihl + QUOTE_L4);
	uint32_t len = sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr) + qlen;
	uint32_t have = rte_pktmbuf_pkt_len(m) - l3_off;
	rte_be32_t src = ip->dst_addr, dst = ip->src_addr;
	struct rte_icmp_hdr *ic;

	if (ip->next_proto_id == IPPROTO_ICMP)
		return false;	/* RFC 1122 3.2.2: no error about an ICMP message */
	memcpy(quote, ip, qlen);
	if (have < len && rte_pktmbuf_append(m, (uint16_t)(len - have)) == NULL)
		return false;
	if (have > len)
		rte_pktmbuf_trim(m, (uint16_t)(have - len));
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3_off);
	ip_answer(ip, src, dst, IPPROTO_ICMP, (uint16_t)len);
	ic = (struct rte_icmp_hdr *)(ip + 1);
	memset(ic, 0, sizeof(*ic));
	ic->icmp_type = ICMP_DEST_UNREACH;
	ic->icmp_code = ICMP_PORT_UNREACH;
	memcpy(ic + 1, quote, qlen);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + qlen);
	return true;
}

bool
kd_reject_build(struct rte_mbuf *m, uint16_t l3_off, uint16_t l4_off)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3_off);

	/* The answer must fit the first segment, as every header here does. */
	if (!rte_pktmbuf_is_contiguous(m))
		return false;
	if (ip->next_proto_id == IPPROTO_TCP)
		return tcp_rst(m, ip, rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l4_off),
			       l3_off);
	return icmp_unreach(m, ip, l3_off);
}
