/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firewall stage on real mbufs (EAL with --no-huge), driven as the vNIC
 * path drives it: a new connection, an established hit both ways, denials by
 * ingress and egress policy, the reply of a connection whose direction policy
 * now denies, and ICMP errors RELATED to a tracked connection or not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/arp.h"
#include "dataplane/conntrack.h"
#include "dataplane/firewall.h"
#include "dataplane/parse.h"
#include "dataplane/policy.h"
#include "dataplane/tables.h"
#include "dataplane/worker.h"

#define VNIC_A 1
#define VNIC_B 2
#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define IP_A IP4(10, 0, 0, 10)
#define IP_B IP4(10, 0, 0, 11)

static const struct rte_ether_addr gw_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct rte_ether_addr mac_a = { { 0x02, 0, 0, 0, 1, 0x0a } };
static const struct rte_ether_addr mac_b = { { 0x02, 0, 0, 0, 1, 0x0b } };

static struct rte_mempool *mp;
static struct kd_tables *t;
static struct kd_ct_timeouts tmo;
static struct kd_stats st;
static struct kd_worker w;
static struct kd_policy pol;
static unsigned int table_no;

/* What the worker loop would have loaded for this burst. */
static void
use_policy(struct kd_policy *p)
{
	w.pol = p;
}

static int
setup(void **state)
{
	char *argv[] = { "test_firewall", "--no-huge", "--no-pci", "-m", "512", "--no-shconf",
			 "--log-level=*:error", "-l", "0", NULL };

	(void)state;
	if (rte_eal_init(9, argv) < 0)
		return -1;
	mp = rte_pktmbuf_pool_create("test", 1023, 0, 0, 2176, SOCKET_ID_ANY);
	if (mp == NULL || kd_tables_init(1) != 0 || kd_arp_init() != 0)
		return -1;
	t = kd_tables_new(1024, 16);
	if (t == NULL ||
	    kd_tables_set_port_role(t, VNIC_A, KD_PORT_VNIC) ||
	    kd_tables_set_port_role(t, VNIC_B, KD_PORT_VNIC) ||
	    kd_tables_add_vpc(t, 0, "v", 100, IP4(10, 0, 0, 1), &gw_mac) ||
	    kd_tables_add_vnic(t, VNIC_A, 0, IP_A, &mac_a, "a", "ns/a") ||
	    kd_tables_add_vnic(t, VNIC_B, 0, IP_B, &mac_b, "b", "ns/b"))
		return -1;
	/* This thread stands in for worker 0. */
	rte_rcu_qsbr_thread_register(kd_tables_qsbr(), 0);
	rte_rcu_qsbr_thread_online(kd_tables_qsbr(), 0);
	kd_ct_timeouts_default(&tmo);
	w.st = &st;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rte_rcu_qsbr_thread_offline(kd_tables_qsbr(), 0);
	kd_tables_free(t);
	kd_arp_fini();
	kd_tables_fini();
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}

/* Each test on a fresh, empty connection table, with no policy. */
static int
fresh(void **state)
{
	char name[32];

	(void)state;
	snprintf(name, sizeof(name), "fw%u", table_no++);
	w.ct = kd_ct_create(name, 1024, &tmo, kd_tables_qsbr());
	memset(&st, 0, sizeof(st));
	memset(&pol, 0, sizeof(pol));
	use_policy(NULL);
	return w.ct == NULL ? -1 : 0;
}

static int
done(void **state)
{
	(void)state;
	use_policy(NULL);
	kd_ct_free(w.ct);
	w.ct = NULL;
	return 0;
}

static struct rte_ipv4_hdr *
ipv4(uint8_t *b, rte_be32_t src, rte_be32_t dst, uint8_t proto, uint16_t l4_len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	memset(b, 0, RTE_ETHER_HDR_LEN + sizeof(*ip) + l4_len);
	eth->dst_addr = gw_mac;
	eth->src_addr = mac_a;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return ip;
}

static uint16_t
udp_frame(uint8_t *b, rte_be32_t src, uint16_t sport, rte_be32_t dst, uint16_t dport)
{
	struct rte_ipv4_hdr *ip = ipv4(b, src, dst, IPPROTO_UDP, sizeof(struct rte_udp_hdr) + 16);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(sizeof(*u) + 16);
	return (uint16_t)(RTE_ETHER_HDR_LEN + rte_be_to_cpu_16(ip->total_length));
}

static uint16_t
tcp_frame(uint8_t *b, rte_be32_t src, uint16_t sport, rte_be32_t dst, uint16_t dport,
	  uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct rte_ipv4_hdr *ip = ipv4(b, src, dst, IPPROTO_TCP, sizeof(struct rte_tcp_hdr));
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((sizeof(*th) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	return (uint16_t)(RTE_ETHER_HDR_LEN + rte_be_to_cpu_16(ip->total_length));
}

/* An ICMP port unreachable from src to dst quoting the UDP datagram qsrc:qsport -> qdst:qdport. */
static uint16_t
icmp_error(uint8_t *b, rte_be32_t src, rte_be32_t dst, rte_be32_t qsrc, uint16_t qsport,
	   rte_be32_t qdst, uint16_t qdport)
{
	uint8_t quoted[RTE_ETHER_HDR_LEN + 64];
	uint16_t qlen = sizeof(struct rte_ipv4_hdr) + 8;
	struct rte_ipv4_hdr *ip = ipv4(b, src, dst, IPPROTO_ICMP,
				       (uint16_t)(sizeof(struct rte_icmp_hdr) + qlen));
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);

	udp_frame(quoted, qsrc, qsport, qdst, qdport);
	ic->icmp_type = KD_CT_ICMP_DEST_UNREACH;
	ic->icmp_code = 3;
	memcpy(ic + 1, quoted + RTE_ETHER_HDR_LEN, qlen);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + qlen);
	return (uint16_t)(RTE_ETHER_HDR_LEN + rte_be_to_cpu_16(ip->total_length));
}

struct verdict {
	uint16_t pending;	/* what the lookup left for the commit */
	uint8_t state;		/* enum kd_fw_state after the burst */
	uint8_t dir;
	uint32_t idx;
};

/* One packet from vNIC port `from` to vNIC port `to`, as kd_fwd_vnic_burst() runs it. */
static struct verdict
pass(const uint8_t *frame, uint16_t len, uint16_t from, uint16_t to)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct kd_pkt_meta pm;
	struct kd_fw_pkt fp;
	struct verdict v;

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, len), frame, len);
	m->port = from;
	assert_int_equal(kd_parse_l2(m, 0, &pm), KD_PARSE_OK);
	assert_int_equal(kd_parse_ipv4(m, &pm, true), KD_PARSE_OK);
	kd_fw_pkt_init(&w, &fp, m, &pm, 0, from);
	v.pending = kd_fw_lookup_burst(&w, t, &fp, 1);
	if (fp.state != KD_FW_DROPPED)
		fp.dst_port = to;	/* routing */
	if (v.pending != 0)
		kd_fw_commit_burst(&w, t, &fp, 1);
	v.state = fp.state;
	v.dir = fp.dir;
	v.idx = fp.idx;
	if (fp.state == KD_FW_PASS)
		rte_pktmbuf_free(m);
	rte_pktmbuf_free_bulk(w.drop, w.n_drop);
	w.n_drop = 0;
	return v;
}

static struct verdict
udp(rte_be32_t src, uint16_t sport, rte_be32_t dst, uint16_t dport)
{
	uint8_t b[128];
	uint16_t len = udp_frame(b, src, sport, dst, dport);

	return pass(b, len, src == IP_A ? VNIC_A : VNIC_B, dst == IP_A ? VNIC_A : VNIC_B);
}

static struct verdict
tcp(rte_be32_t src, uint16_t sport, rte_be32_t dst, uint16_t dport, uint8_t flags,
    uint32_t seq, uint32_t ack)
{
	uint8_t b[128];
	uint16_t len = tcp_frame(b, src, sport, dst, dport, flags, seq, ack);

	return pass(b, len, src == IP_A ? VNIC_A : VNIC_B, dst == IP_A ? VNIC_A : VNIC_B);
}

static void
test_new_connection(void **state)
{
	struct verdict v;

	(void)state;
	v = udp(IP_A, 4000, IP_B, 53);
	assert_int_equal(v.pending, 1);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(kd_ct_count(w.ct), 1);
	assert_int_equal(st.event[KD_EV_CT_NEW], 1);
	assert_int_equal(st.drop[KD_DROP_POLICY_INGRESS] + st.drop[KD_DROP_POLICY_EGRESS], 0);
}

static void
test_established_hit(void **state)
{
	struct verdict v;

	(void)state;
	udp(IP_A, 4000, IP_B, 53);
	v = udp(IP_A, 4000, IP_B, 53);
	assert_int_equal(v.pending, 0);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(v.dir, KD_CT_ORIG);
	v = udp(IP_B, 53, IP_A, 4000);
	assert_int_equal(v.pending, 0);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(v.dir, KD_CT_REPLY);
	assert_true(w.ct->conn[v.idx].flags & KD_CT_F_REPLIED);
	assert_int_equal(w.ct->conn[v.idx].pkts[KD_CT_ORIG], 2);
	assert_int_equal(w.ct->conn[v.idx].pkts[KD_CT_REPLY], 1);
	assert_int_equal(kd_ct_count(w.ct), 1);
	assert_int_equal(st.event[KD_EV_CT_NEW], 1);

	/* TCP: the handshake moves the tracker to ESTABLISHED; a stray SYN-ACK opens nothing. */
	assert_int_equal(tcp(IP_A, 5000, IP_B, 80, RTE_TCP_SYN_FLAG, 100, 0).state, KD_FW_PASS);
	v = tcp(IP_B, 80, IP_A, 5000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 900, 101);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(v.dir, KD_CT_REPLY);
	v = tcp(IP_A, 5000, IP_B, 80, RTE_TCP_ACK_FLAG, 101, 901);
	assert_int_equal(v.pending, 0);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(w.ct->conn[v.idx].tcp.state, KD_CT_TCP_ESTABLISHED);
	v = tcp(IP_A, 5001, IP_B, 80, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 1, 1);
	assert_int_equal(v.state, KD_FW_DROPPED);
	assert_int_equal(st.drop[KD_DROP_CT_INVALID], 1);
	assert_int_equal(kd_ct_count(w.ct), 2);
}

static void
test_denial(void **state)
{
	struct verdict v;

	(void)state;
	pol.gen = 1;
	pol.isolated[VNIC_B] = KD_POL_ISOLATED_IN;	/* and no ACL: nothing allowed in */
	use_policy(&pol);
	v = udp(IP_A, 4000, IP_B, 53);
	assert_int_equal(v.pending, 1);
	assert_int_equal(v.state, KD_FW_DROPPED);
	assert_int_equal(st.drop[KD_DROP_POLICY_INGRESS], 1);
	/* Counted once at B's ingress, for the control thread to credit its policies. */
	assert_int_equal(st.deny_at[VNIC_B][KD_POL_INGRESS], 1);
	assert_int_equal(st.deny_at[VNIC_B][KD_POL_EGRESS], 0);
	assert_int_equal(kd_ct_count(w.ct), 0);
	/* B itself may still open connections: only its ingress is isolated. */
	assert_int_equal(udp(IP_B, 4001, IP_A, 53).state, KD_FW_PASS);

	pol.gen = 2;
	pol.isolated[VNIC_A] = KD_POL_ISOLATED_EG;
	pol.isolated[VNIC_B] = 0;
	v = udp(IP_A, 4002, IP_B, 53);
	assert_int_equal(v.state, KD_FW_DROPPED);
	assert_int_equal(st.drop[KD_DROP_POLICY_EGRESS], 1);
	assert_int_equal(st.drop[KD_DROP_POLICY_INGRESS], 1);
	assert_int_equal(st.deny_at[VNIC_A][KD_POL_EGRESS], 1);
	assert_int_equal(kd_ct_count(w.ct), 1);
}

static void
test_reply_in_denied_direction(void **state)
{
	struct verdict v;

	(void)state;
	assert_int_equal(udp(IP_A, 4000, IP_B, 53).state, KD_FW_PASS);
	/* Now B may open nothing: its egress is isolated with no rule. */
	pol.gen = 7;
	pol.isolated[VNIC_B] = KD_POL_ISOLATED_EG;
	use_policy(&pol);
	/* Its reply to A's connection is judged as A's connection was, and passes. */
	v = udp(IP_B, 53, IP_A, 4000);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(v.dir, KD_CT_REPLY);
	assert_int_equal(w.ct->conn[v.idx].pgen, 7);
	assert_int_equal(st.drop[KD_DROP_POLICY_CUT], 0);
	/* A connection of its own, the same way, does not. */
	v = udp(IP_B, 53, IP_A, 4001);
	assert_int_equal(v.state, KD_FW_DROPPED);
	assert_int_equal(st.drop[KD_DROP_POLICY_EGRESS], 1);
	assert_int_equal(kd_ct_count(w.ct), 1);
	/* Nor would A's, had it been judged by this policy: a new A -> B still passes. */
	assert_int_equal(udp(IP_A, 4002, IP_B, 53).state, KD_FW_PASS);
	assert_int_equal(kd_ct_count(w.ct), 2);
}

static void
test_related_icmp(void **state)
{
	uint8_t b[256];
	uint16_t len;
	struct verdict v;

	(void)state;
	/* A is isolated for ingress; its own connection to B is allowed. */
	pol.gen = 3;
	pol.isolated[VNIC_A] = KD_POL_ISOLATED_IN;
	use_policy(&pol);
	assert_int_equal(udp(IP_A, 4000, IP_B, 53).state, KD_FW_PASS);
	/* B's port unreachable about that datagram is RELATED: it passes, opening nothing. */
	len = icmp_error(b, IP_B, IP_A, IP_A, 4000, IP_B, 53);
	v = pass(b, len, VNIC_B, VNIC_A);
	assert_int_equal(v.pending, 0);
	assert_int_equal(v.state, KD_FW_PASS);
	assert_int_equal(kd_ct_count(w.ct), 1);
	/* About a datagram nobody sent, it is a new packet to A, and A's policy refuses it. */
	len = icmp_error(b, IP_B, IP_A, IP_A, 4999, IP_B, 53);
	v = pass(b, len, VNIC_B, VNIC_A);
	assert_int_equal(v.pending, 1);
	assert_int_equal(v.state, KD_FW_DROPPED);
	assert_int_equal(st.drop[KD_DROP_POLICY_INGRESS], 1);
	assert_int_equal(kd_ct_count(w.ct), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_connection, fresh, done),
		cmocka_unit_test_setup_teardown(test_established_hit, fresh, done),
		cmocka_unit_test_setup_teardown(test_denial, fresh, done),
		cmocka_unit_test_setup_teardown(test_reply_in_denied_direction, fresh, done),
		cmocka_unit_test_setup_teardown(test_related_icmp, fresh, done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
