/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NAT rewrites: after an incremental update every checksum must equal the
 * one computed from scratch over the rewritten packet (IPv4 header, TCP and
 * UDP with their pseudo-headers, SCTP's CRC32c), a UDP checksum of zero
 * stays zero, a wrong checksum stays wrong by the same amount, and ICMP
 * errors get their quoted header translated. Pure functions: no EAL.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_sctp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/nat.h"

#define PAYLOAD 37	/* odd, so the sums cross a byte boundary */
#define IP4(a, b, c, d) RTE_BE32((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (c) << 8 | (d))

static uint8_t buf[256] __rte_aligned(8);
#define L3 14	/* where IPv4 sits behind Ethernet: headers at 2 mod 4, as on the wire */

static struct rte_ipv4_hdr *
ipv4(uint8_t proto, uint16_t l4len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + L3);

	memset(buf, 0, sizeof(buf));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = IP4(10, 244, 1, 12);
	ip->dst_addr = IP4(10, 96, 0, 10);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return ip;
}

static void
payload(uint8_t *p, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < PAYLOAD; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

/* CRC32c with the checksum field as zero, byte by byte: no aliasing questions. */
static uint32_t
sctp_crc(const uint8_t *l4, uint32_t len)
{
	uint32_t c = 0xffffffff, i;

	for (i = 0; i < len; i++)
		c = rte_hash_crc_1byte(i >= 8 && i < 12 ? 0 : l4[i], c);
	return rte_cpu_to_le_32(~c);
}

/* Client -> ClusterIP, translated to endpoint with a new source port (a clash). */
static const struct kd_ct_key xlat = {
	.ip = { IP4(169, 254, 42, 1), IP4(10, 244, 1, 10) },
	.port = { RTE_BE16(40001), RTE_BE16(8080) },
	.proto = IPPROTO_TCP,
};

static void
test_tcp(void **state)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	unsigned int seed;

	(void)state;
	for (seed = 0; seed < 64; seed++) {
		uint16_t want;

		ip = ipv4(IPPROTO_TCP, sizeof(*th) + PAYLOAD);
		th = (struct rte_tcp_hdr *)(ip + 1);
		th->src_port = rte_cpu_to_be_16((uint16_t)(30000 + seed * 113));
		th->dst_port = RTE_BE16(80);
		th->sent_seq = rte_cpu_to_be_32(seed * 2654435761u);
		th->data_off = 5 << 4;
		th->tcp_flags = RTE_TCP_ACK_FLAG;
		payload((uint8_t *)(th + 1), seed);
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
		kd_nat_rewrite(ip, th, sizeof(*th) + PAYLOAD, &xlat);
		assert_true(ip->src_addr == xlat.ip[0] && ip->dst_addr == xlat.ip[1]);
		assert_true(th->src_port == xlat.port[0] && th->dst_port == xlat.port[1]);
		assert_int_equal(rte_ipv4_cksum(ip), 0);
		want = th->cksum;
		th->cksum = 0;
		assert_int_equal(rte_ipv4_udptcp_cksum(ip, th), want);
	}
}

static void
test_udp_and_zero_checksum(void **state)
{
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *uh;
	struct kd_ct_key k = xlat;
	uint16_t want;

	(void)state;
	k.proto = IPPROTO_UDP;
	ip = ipv4(IPPROTO_UDP, sizeof(*uh) + PAYLOAD);
	uh = (struct rte_udp_hdr *)(ip + 1);
	uh->src_port = RTE_BE16(5353);
	uh->dst_port = RTE_BE16(53);
	uh->dgram_len = rte_cpu_to_be_16(sizeof(*uh) + PAYLOAD);
	payload((uint8_t *)(uh + 1), 3);
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	kd_nat_rewrite(ip, uh, sizeof(*uh) + PAYLOAD, &k);
	want = uh->dgram_cksum;
	uh->dgram_cksum = 0;
	assert_int_equal(rte_ipv4_udptcp_cksum(ip, uh), want);
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	/* No checksum (0) is not a checksum to update: it stays 0. */
	ip = ipv4(IPPROTO_UDP, sizeof(*uh) + PAYLOAD);
	uh->src_port = RTE_BE16(5353);
	uh->dst_port = RTE_BE16(53);
	uh->dgram_cksum = 0;
	kd_nat_rewrite(ip, uh, sizeof(*uh) + PAYLOAD, &k);
	assert_int_equal(uh->dgram_cksum, 0);
	assert_true(uh->dst_port == k.port[1]);
}

static void
test_wrong_checksum_stays_wrong(void **state)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint16_t good;

	(void)state;
	ip = ipv4(IPPROTO_TCP, sizeof(*th));
	th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = RTE_BE16(40000);
	th->dst_port = RTE_BE16(80);
	th->data_off = 5 << 4;
	th->cksum = (uint16_t)(rte_ipv4_udptcp_cksum(ip, th) ^ 0x0101);
	kd_nat_rewrite(ip, th, sizeof(*th), &xlat);
	good = th->cksum;
	th->cksum = 0;
	/* The receiver must still see the damage the sender's packet had. */
	assert_int_not_equal(rte_ipv4_udptcp_cksum(ip, th), good);
}

static void
test_sctp_crc_follows_ports(void **state)
{
	struct rte_ipv4_hdr *ip;
	struct rte_sctp_hdr *sh;
	struct kd_ct_key k = xlat;
	uint32_t len = sizeof(*sh) + 20;

	(void)state;
	k.proto = IPPROTO_SCTP;
	ip = ipv4(IPPROTO_SCTP, (uint16_t)len);
	sh = (struct rte_sctp_hdr *)(ip + 1);
	sh->src_port = RTE_BE16(36412);
	sh->dst_port = RTE_BE16(80);
	sh->tag = rte_cpu_to_be_32(0xdeadbeef);
	payload((uint8_t *)(sh + 1), 9);
	sh->cksum = sctp_crc((uint8_t *)sh, len);
	kd_nat_rewrite(ip, sh, len, &k);
	assert_true(sh->src_port == k.port[0] && sh->dst_port == k.port[1]);
	assert_int_equal(sh->cksum, sctp_crc((uint8_t *)sh, len));
	assert_int_equal(rte_ipv4_cksum(ip), 0);
}

static void
test_icmp_echo_identifier(void **state)
{
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ic;
	struct kd_ct_key k = { .ip = { IP4(192, 168, 100, 1), IP4(198, 51, 100, 10) },
			       .port = { RTE_BE16(61000), 0 }, .proto = IPPROTO_ICMP };

	(void)state;
	ip = ipv4(IPPROTO_ICMP, sizeof(*ic) + PAYLOAD);
	ic = (struct rte_icmp_hdr *)(ip + 1);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_ident = RTE_BE16(4242);
	ic->icmp_seq_nb = RTE_BE16(7);
	payload((uint8_t *)(ic + 1), 5);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + PAYLOAD);
	kd_nat_rewrite(ip, ic, sizeof(*ic) + PAYLOAD, &k);
	/* The request carries its identifier where a source port would be. */
	assert_true(ic->icmp_ident == k.port[0] && ip->src_addr == k.ip[0]);
	assert_int_equal(rte_raw_cksum(ic, sizeof(*ic) + PAYLOAD), 0xffff);
	assert_int_equal(rte_ipv4_cksum(ip), 0);
}

static void
test_icmp_error_quote(void **state)
{
	struct rte_ipv4_hdr *ip, *in;
	struct rte_icmp_hdr *ic;
	struct rte_udp_hdr *uh;
	/* The endpoint's port unreachable goes back as the Service's own. */
	struct kd_ct_key outer = { .ip = { IP4(10, 96, 0, 20), IP4(10, 244, 1, 12) } };
	struct kd_ct_key q = { .ip = { IP4(10, 244, 1, 12), IP4(10, 96, 0, 20) },
			       .port = { RTE_BE16(5353), RTE_BE16(99) }, .proto = IPPROTO_UDP };
	uint32_t qlen = sizeof(*in) + sizeof(*uh) + 4;
	uint16_t want;

	(void)state;
	ip = ipv4(IPPROTO_ICMP, (uint16_t)(sizeof(*ic) + qlen));
	ip->src_addr = IP4(10, 244, 1, 11);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic = (struct rte_icmp_hdr *)(ip + 1);
	ic->icmp_type = 3;
	ic->icmp_code = 3;
	in = (struct rte_ipv4_hdr *)(ic + 1);
	in->version_ihl = RTE_IPV4_VHL_DEF;
	in->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*in) + sizeof(*uh) + 4));
	in->time_to_live = 63;
	in->next_proto_id = IPPROTO_UDP;
	in->src_addr = IP4(10, 244, 1, 12);
	in->dst_addr = IP4(10, 244, 1, 11);
	in->hdr_checksum = rte_ipv4_cksum(in);
	uh = (struct rte_udp_hdr *)(in + 1);
	uh->src_port = RTE_BE16(5353);
	uh->dst_port = RTE_BE16(9999);
	uh->dgram_len = rte_cpu_to_be_16(sizeof(*uh) + 4);
	memcpy(uh + 1, "abcd", 4);
	uh->dgram_cksum = rte_ipv4_udptcp_cksum(in, uh);
	assert_true(kd_nat_icmp_error(ip, ic, sizeof(*ic) + qlen, &outer, &q));
	assert_true(ip->src_addr == outer.ip[0] && ip->dst_addr == outer.ip[1]);
	assert_true(in->dst_addr == q.ip[1] && uh->dst_port == q.port[1]);
	assert_int_equal(rte_ipv4_cksum(ip), 0);
	assert_int_equal(rte_ipv4_cksum(in), 0);
	assert_int_equal(rte_raw_cksum(ic, sizeof(*ic) + qlen), 0xffff);
	want = uh->dgram_cksum;
	uh->dgram_cksum = 0;
	assert_int_equal(rte_ipv4_udptcp_cksum(in, uh), want);
	/* A quote too short to hold the ports is refused, not read past. */
	assert_false(kd_nat_icmp_error(ip, ic, sizeof(*ic) + sizeof(*in) + 2, &outer, &q));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp_and_zero_checksum),
		cmocka_unit_test(test_wrong_checksum_stays_wrong),
		cmocka_unit_test(test_sctp_crc_follows_ports),
		cmocka_unit_test(test_icmp_echo_identifier),
		cmocka_unit_test(test_icmp_error_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
