/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers on hand-made frames: every drop reason they own, a truncation sweep, and the
 * connection key the firewall takes from the headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/egress.h"
#include "dataplane/firewall.h"
#include "dataplane/parse.h"

/* A fake mbuf over a static buffer: parsers only read data_off, data_len and pkt_len. */
static uint8_t frame[2048];
static struct rte_mbuf mb;

static struct rte_mbuf *
mbuf_over(uint16_t len)
{
	memset(&mb, 0, sizeof(mb));
	mb.buf_addr = frame;
	mb.data_off = 0;
	mb.data_len = len;
	mb.pkt_len = len;
	mb.nb_segs = 1;
	return &mb;
}

/* Ethernet (+ optional VLAN) + IPv4 (ihl words) + L4 of l4len bytes; returns frame length. */
static uint16_t
build(bool vlan, uint8_t ihl, uint8_t proto, uint16_t l4len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip;
	uint16_t off = RTE_ETHER_HDR_LEN;

	memset(frame, 0, sizeof(frame));
	if (vlan) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		vh->vlan_tci = rte_cpu_to_be_16(42);
		vh->eth_proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		off = (uint16_t)(off + sizeof(*vh));
	} else {
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	}
	ip = (struct rte_ipv4_hdr *)(frame + off);
	ip->version_ihl = (uint8_t)(0x40 | ihl);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(ihl * 4 + l4len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(0x0af40101);
	ip->dst_addr = rte_cpu_to_be_32(0x0af40202);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return (uint16_t)(off + ihl * 4 + l4len);
}

static enum kd_drop_reason
parse_all(uint16_t len, struct kd_pkt_meta *pm, bool csum)
{
	struct rte_mbuf *m = mbuf_over(len);
	enum kd_drop_reason r = kd_parse_l2(m, 0, pm);

	if (r != KD_PARSE_OK)
		return r;
	return kd_parse_ipv4(m, pm, csum);
}

static void
test_valid_l4(void **state)
{
	static const struct { uint8_t proto; uint16_t len; } c[] = {
		{ IPPROTO_TCP, 20 }, { IPPROTO_UDP, 8 }, { IPPROTO_ICMP, 8 }, { 47, 0 },
	};
	struct kd_pkt_meta pm;
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(c); i++) {
		uint16_t len = build(false, 5, c[i].proto, c[i].len);

		assert_int_equal(parse_all(len, &pm, true), KD_PARSE_OK);
		assert_int_equal(pm.l3_off, 14);
		assert_int_equal(pm.l4_off, 34);
		assert_int_equal(pm.l4_proto, c[i].proto);
		assert_int_equal(pm.ether_type, RTE_ETHER_TYPE_IPV4);
		assert_false(pm.is_frag);
	}
}

static void
test_vlan_and_options(void **state)
{
	struct kd_pkt_meta pm;
	uint16_t len = build(true, 6, IPPROTO_UDP, 8);

	(void)state;
	assert_int_equal(parse_all(len, &pm, true), KD_PARSE_OK);
	assert_int_equal(pm.vlan_tci, 42);
	assert_int_equal(pm.l3_off, 18);
	assert_int_equal(pm.l4_off, 18 + 24);
}

static void
test_padding_is_allowed(void **state)
{
	struct kd_pkt_meta pm;
	uint16_t len = build(false, 5, IPPROTO_TCP, 20);

	(void)state;
	assert_int_equal(parse_all((uint16_t)(len + 6), &pm, true), KD_PARSE_OK);
}

static void
test_drop_reasons(void **state)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
	struct kd_pkt_meta pm;
	uint16_t len;

	(void)state;
	assert_int_equal(parse_all(13, &pm, true), KD_DROP_PARSE_TRUNC_L2);
	build(true, 5, IPPROTO_UDP, 8);
	assert_int_equal(parse_all(16, &pm, true), KD_DROP_PARSE_TRUNC_L2);

	len = build(false, 5, IPPROTO_UDP, 8);
	assert_int_equal(parse_all(14 + 19, &pm, true), KD_DROP_PARSE_TRUNC_L3);

	build(false, 5, IPPROTO_UDP, 8);
	ip->version_ihl = 0x65;
	assert_int_equal(parse_all(len, &pm, true), KD_DROP_PARSE_IP_VERSION);

	build(false, 5, IPPROTO_UDP, 8);
	ip->version_ihl = 0x44;
	assert_int_equal(parse_all(len, &pm, true), KD_DROP_PARSE_IP_IHL);

	build(false, 5, IPPROTO_UDP, 8);
	ip->version_ihl = 0x4f;	/* 60-byte header in a 42-byte frame */
	assert_int_equal(parse_all(len, &pm, true), KD_DROP_PARSE_TRUNC_L3);

	build(false, 5, IPPROTO_UDP, 8);
	ip->total_length = rte_cpu_to_be_16(200);
	assert_int_equal(parse_all(len, &pm, false), KD_DROP_PARSE_IP_LEN);
	ip->total_length = rte_cpu_to_be_16(12);
	assert_int_equal(parse_all(len, &pm, false), KD_DROP_PARSE_IP_LEN);

	build(false, 5, IPPROTO_UDP, 8);
	ip->hdr_checksum ^= 0x0101;
	assert_int_equal(parse_all(len, &pm, true), KD_DROP_PARSE_IP_CSUM);
	/* A PMD that vouched for the checksum is trusted. */
	assert_int_equal(parse_all(len, &pm, false), KD_PARSE_OK);

	len = build(false, 5, IPPROTO_TCP, 12);
	assert_int_equal(parse_all(len, &pm, true), KD_DROP_PARSE_TRUNC_L4);
}

static void
test_fragments(void **state)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
	struct kd_pkt_meta pm;
	uint16_t len;

	(void)state;
	/* A non-first fragment has no L4 header to check. */
	len = build(false, 5, IPPROTO_TCP, 4);
	ip->fragment_offset = rte_cpu_to_be_16(100);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	assert_int_equal(parse_all(len, &pm, true), KD_PARSE_OK);
	assert_true(pm.is_frag);
	/* A first fragment (MF) does. */
	len = build(false, 5, IPPROTO_TCP, 20);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	assert_int_equal(parse_all(len, &pm, true), KD_PARSE_OK);
	assert_true(pm.is_frag);
}

static void
test_truncation_sweep(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	struct kd_pkt_meta pm;
	size_t p;
	uint16_t full, len;

	(void)state;
	for (p = 0; p < RTE_DIM(protos); p++) {
		full = build(p == 1, 5, protos[p], protos[p] == IPPROTO_TCP ? 20 : 8);
		for (len = 0; len < full; len++)
			assert_int_not_equal(parse_all(len, &pm, true), KD_PARSE_OK);
		assert_int_equal(parse_all(full, &pm, true), KD_PARSE_OK);
	}
}

static void
test_dec_ttl_keeps_checksum(void **state)
{
	struct rte_ipv4_hdr ip;
	uint32_t seed = 1;
	int i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		seed = seed * 1103515245u + 12345u;
		memset(&ip, 0, sizeof(ip));
		ip.version_ihl = RTE_IPV4_VHL_DEF;
		ip.time_to_live = (uint8_t)(2 + seed % 254);
		ip.next_proto_id = (uint8_t)(seed >> 8);
		ip.src_addr = seed;
		ip.dst_addr = seed * 2654435761u;
		ip.packet_id = (uint16_t)(seed >> 16);
		ip.total_length = (uint16_t)(seed >> 3);
		ip.hdr_checksum = rte_ipv4_cksum(&ip);
		kd_egress_dec_ttl(&ip);
		assert_int_equal(rte_raw_cksum(&ip, sizeof(ip)), 0xffff);
	}
}

/* The 32-bit checksum check agrees with DPDK's 16-bit sum on any header, options too. */
static void
test_fast_csum_matches_raw_cksum(void **state)
{
	uint8_t hdr[60] __rte_aligned(8);
	uint32_t seed = 7;
	int i, ok = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		uint16_t ihl = (uint16_t)(20 + 4 * (i % 11)), j;

		for (j = 0; j < ihl; j++) {
			seed = seed * 1103515245u + 12345u;
			hdr[j] = (uint8_t)(seed >> 16);
		}
		if (i % 2 == 0) {	/* half of them with a correct checksum */
			hdr[10] = hdr[11] = 0;
			*(uint16_t *)&hdr[10] = (uint16_t)~rte_raw_cksum(hdr, ihl);
		}
		assert_int_equal(kd_ipv4_hdr_csum_ok((const struct rte_ipv4_hdr *)hdr, ihl),
				 rte_raw_cksum(hdr, ihl) == 0xffff);
		ok += rte_raw_cksum(hdr, ihl) == 0xffff;
	}
	assert_true(ok >= 100000);
}

static void
test_flow_hash_symmetry_of_fragments(void **state)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
	struct kd_pkt_meta pm = { 0 };
	uint32_t h1, h2;
	uint16_t len;

	(void)state;
	/* Fragments of one datagram must hash alike, or they would be reordered. */
	len = build(false, 5, IPPROTO_UDP, 8);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	frame[34] = 0x12;
	assert_int_equal(kd_parse_l2(mbuf_over(len), 0, &pm), KD_PARSE_OK);
	assert_int_equal(kd_parse_ipv4(&mb, &pm, false), KD_PARSE_OK);
	h1 = kd_parse_flow_hash(&mb, &pm);
	frame[34] = 0x34;
	h2 = kd_parse_flow_hash(&mb, &pm);
	assert_int_equal(h1, h2);
	/* Unfragmented flows with different ports should not. */
	ip->fragment_offset = 0;
	assert_int_equal(kd_parse_ipv4(&mb, &pm, false), KD_PARSE_OK);
	h1 = kd_parse_flow_hash(&mb, &pm);
	frame[34] = 0x12;
	h2 = kd_parse_flow_hash(&mb, &pm);
	assert_int_not_equal(h1, h2);
}

/* A packet's connection key and hash, as the firewall takes them while a burst is parsed. */
static void
fw_init(uint16_t len, struct kd_fw_pkt *p, struct kd_pkt_meta *pm)
{
	static struct kd_worker w;	/* no cache: nothing to prefetch */

	assert_int_equal(parse_all(len, pm, true), KD_PARSE_OK);
	kd_fw_pkt_init(&w, p, &mb, pm, 7, 3);
}

static void
test_connection_key_from_headers(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, 47 };
	struct kd_ct_key want, back;
	struct kd_pkt_meta pm;
	struct kd_fw_pkt p, q;
	struct rte_icmp_hdr *ic;
	struct rte_ipv4_hdr *ip;
	uint16_t len;
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(protos); i++) {
		len = build(false, 5, protos[i], protos[i] == IPPROTO_TCP ? 20 : 8);
		memcpy(frame + RTE_ETHER_HDR_LEN + 20, "\x30\x39\x13\x89", 4);	/* 12345 -> 5001 */
		fw_init(len, &p, &pm);
		memset(&want, 0, sizeof(want));
		want.ip[0] = rte_cpu_to_be_32(0x0af40101);
		want.ip[1] = rte_cpu_to_be_32(0x0af40202);
		if (protos[i] != 47) {
			want.port[0] = rte_cpu_to_be_16(12345);
			want.port[1] = rte_cpu_to_be_16(5001);
		}
		want.proto = protos[i];
		want.zone = 7;
		assert_memory_equal(&p.key, &want, sizeof(want));
		assert_int_equal(p.hash, rte_hash_crc(&want, sizeof(want), 0));
		assert_int_equal(p.kind, KD_FW_KEY_TRACK);
		assert_int_equal(p.zone, 7);
		assert_int_equal(p.out_zone, 7);
		assert_int_equal(p.src_port, 3);
		assert_int_equal(p.idx, UINT32_MAX);
		assert_int_equal(p.hop, KD_CT_NO_HOP);
		assert_false(p.nat || p.masq || p.back);
	}

	/* Echo request and reply keys are each other's reverse. */
	len = build(false, 5, IPPROTO_ICMP, 8);
	ic = (struct rte_icmp_hdr *)(frame + RTE_ETHER_HDR_LEN + 20);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_ident = rte_cpu_to_be_16(0x4242);
	fw_init(len, &p, &pm);
	assert_int_equal(p.key.port[0], rte_cpu_to_be_16(0x4242));
	assert_int_equal(p.key.port[1], 0);
	len = build(false, 5, IPPROTO_ICMP, 8);
	ip = (struct rte_ipv4_hdr *)(frame + RTE_ETHER_HDR_LEN);
	ip->src_addr = rte_cpu_to_be_32(0x0af40202);
	ip->dst_addr = rte_cpu_to_be_32(0x0af40101);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_ident = rte_cpu_to_be_16(0x4242);
	fw_init(len, &q, &pm);
	kd_ct_key_reverse(&back, &q.key);
	assert_memory_equal(&back, &p.key, sizeof(back));
	assert_int_equal(q.hash, kd_ct_hash(&q.key));

	/* An ICMP error is about another connection; a fragment has no ports to track. */
	len = build(false, 5, IPPROTO_ICMP, 8);
	ic->icmp_type = 3;
	fw_init(len, &p, &pm);
	assert_int_equal(p.kind, KD_FW_KEY_RELATED);
	len = build(false, 5, IPPROTO_UDP, 8);
	memcpy(frame + RTE_ETHER_HDR_LEN + 20, "\x30\x39\x13\x89", 4);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	fw_init(len, &p, &pm);
	assert_int_equal(p.kind, KD_FW_KEY_UNTRACKED);
	assert_int_equal(p.key.port[0], 0);
	assert_int_equal(p.hash, kd_ct_hash(&p.key));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_l4),
		cmocka_unit_test(test_fast_csum_matches_raw_cksum),
		cmocka_unit_test(test_vlan_and_options),
		cmocka_unit_test(test_padding_is_allowed),
		cmocka_unit_test(test_drop_reasons),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_dec_ttl_keeps_checksum),
		cmocka_unit_test(test_flow_hash_symmetry_of_fragments),
		cmocka_unit_test(test_connection_key_from_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
