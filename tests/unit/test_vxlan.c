/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The uplink and vNIC stages on real mbufs (EAL with --no-huge): VXLAN encap
 * and decap bytes, each drop reason they own with exactly its counter, and the
 * ARP/ICMP responders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_mbuf.h>

#include "dataplane/arp.h"
#include "dataplane/fwd.h"
#include "dataplane/tables.h"
#include "dataplane/vxlan.h"
#include "dataplane/worker.h"

#define UPLINK 0
#define VNIC_A 1
#define VNIC_B 2
#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static const struct rte_ether_addr uplink_mac = { { 0x02, 0, 0, 0, 0xee, 0x01 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0xee, 0x02 } };
static const struct rte_ether_addr gw_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct rte_ether_addr rnode_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };
static const struct rte_ether_addr mac_a = { { 0x02, 0, 0, 0, 1, 0x0a } };
static const struct rte_ether_addr mac_b = { { 0x02, 0, 0, 0, 1, 0x0b } };

static struct rte_mempool *mp;
static struct kd_tables *t;
static struct kd_stats st;
static struct kd_worker w;
static int rnode_ok, rnode_unresolved;

static int
setup(void **state)
{
	char *argv[] = { "test_vxlan", "--no-huge", "--no-pci", "-m", "512", "--no-shconf",
			 "--log-level=*:error", "-l", "0", NULL };
	uint64_t mac = KD_ARP_MAC_VALID;
	int slot;

	(void)state;
	if (rte_eal_init(9, argv) < 0)
		return -1;
	mp = rte_pktmbuf_pool_create("test", 1023, 0, 0, 2176, SOCKET_ID_ANY);
	if (mp == NULL || kd_tables_init(1) != 0 || kd_arp_init() != 0)
		return -1;
	t = kd_tables_new(1024, 16);
	if (t == NULL ||
	    kd_tables_set_uplink(t, UPLINK, 1500, &uplink_mac, IP4(192, 168, 100, 1), 24, 0) ||
	    kd_tables_set_port_role(t, VNIC_A, KD_PORT_VNIC) ||
	    kd_tables_set_port_role(t, VNIC_B, KD_PORT_VNIC) ||
	    kd_tables_add_vpc(t, 0, "v", 100, IP4(10, 0, 0, 1), &gw_mac) ||
	    kd_tables_add_vnic(t, VNIC_A, 0, IP4(10, 0, 0, 10), &mac_a, "a", "ns/a") ||
	    kd_tables_add_vnic(t, VNIC_B, 0, IP4(10, 0, 0, 11), &mac_b, "b", "ns/b"))
		return -1;
	slot = kd_arp_neigh_slot(IP4(192, 168, 100, 2));
	memcpy(&mac, &peer_mac, 6);
	kd_arp_neigh->e[slot].mac = mac | KD_ARP_MAC_VALID;
	rnode_ok = kd_tables_add_rnode(t, "b", IP4(192, 168, 100, 2), &rnode_mac, (uint16_t)slot);
	rnode_unresolved = kd_tables_add_rnode(t, "c", IP4(192, 168, 100, 3), &rnode_mac,
					       (uint16_t)kd_arp_neigh_slot(IP4(192, 168, 100, 3)));
	if (rnode_ok < 0 || rnode_unresolved < 0 ||
	    kd_tables_add_route(t, 0, IP4(10, 0, 2, 0), 24, KD_NH_REMOTE | (uint32_t)rnode_ok) ||
	    kd_tables_add_route(t, 0, IP4(10, 0, 3, 0), 24,
				KD_NH_REMOTE | (uint32_t)rnode_unresolved))
		return -1;
	w.st = &st;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	kd_tables_free(t);
	kd_arp_fini();
	kd_tables_fini();
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}

/* Free whatever the last burst left in the worker's buffers. */
static void
reset(void)
{
	uint16_t p;

	for (p = 0; p < RTE_MAX_ETHPORTS; p++) {
		rte_pktmbuf_free_bulk(w.tx[p].m, w.tx[p].n);
		w.tx[p].n = 0;
	}
	rte_pktmbuf_free_bulk(w.drop, w.n_drop);
	w.n_drop = 0;
	w.n_dirty = 0;
	memset(&st, 0, sizeof(st));
}

static struct rte_mbuf *
mbuf_from(const void *data, uint16_t len, uint16_t port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, len), data, len);
	m->port = port;
	return m;
}

/* Ethernet + IPv4 + ICMP echo request with 32 bytes of payload. Returns length. */
static uint16_t
icmp_frame(uint8_t *b, const struct rte_ether_addr *dst, rte_be32_t sip, rte_be32_t dip,
	   uint8_t ttl)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t l4 = sizeof(*icmp) + 32;

	memset(b, 0, RTE_ETHER_HDR_LEN + sizeof(*ip) + l4);
	eth->dst_addr = *dst;
	eth->src_addr = rnode_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4));
	ip->time_to_live = ttl;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = sip;
	ip->dst_addr = dip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = 0x1234;
	memset(icmp + 1, 0xab, 32);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, l4);
	return (uint16_t)(RTE_ETHER_HDR_LEN + sizeof(*ip) + l4);
}

struct vx_opts {
	rte_be32_t outer_dst;
	uint32_t vni;
	uint32_t flags;
	rte_be32_t inner_dst;
	uint8_t inner_ttl;
	uint16_t udp_dport;
	uint16_t frag;
};

static uint16_t
vxlan_frame(uint8_t *b, const struct vx_opts *o)
{
	struct kd_vxlan_tmpl *h = (struct kd_vxlan_tmpl *)b;
	uint16_t inner = icmp_frame(b + sizeof(*h), &gw_mac, IP4(10, 0, 2, 5), o->inner_dst,
				    o->inner_ttl);

	memset(h, 0, sizeof(*h));
	h->eth.dst_addr = uplink_mac;
	h->eth.src_addr = peer_mac;
	h->eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	h->ip.version_ihl = RTE_IPV4_VHL_DEF;
	h->ip.total_length = rte_cpu_to_be_16((uint16_t)(inner + 36));
	h->ip.fragment_offset = rte_cpu_to_be_16(o->frag);
	h->ip.time_to_live = 64;
	h->ip.next_proto_id = IPPROTO_UDP;
	h->ip.src_addr = IP4(192, 168, 100, 2);
	h->ip.dst_addr = o->outer_dst;
	h->ip.hdr_checksum = rte_ipv4_cksum(&h->ip);
	h->udp.src_port = rte_cpu_to_be_16(50000);
	h->udp.dst_port = rte_cpu_to_be_16(o->udp_dport);
	h->udp.dgram_len = rte_cpu_to_be_16((uint16_t)(inner + 16));
	h->vxlan.vx_flags = rte_cpu_to_be_32(o->flags);
	h->vxlan.vx_vni = rte_cpu_to_be_32(o->vni << 8);
	return (uint16_t)(sizeof(*h) + inner);
}

static const struct vx_opts good = {
	.outer_dst = IP4(192, 168, 100, 1), .vni = 100, .flags = 0x08000000,
	.inner_dst = IP4(10, 0, 0, 10), .inner_ttl = 64, .udp_dport = 4789,
};

static void
run_uplink(const uint8_t *b, uint16_t len)
{
	struct rte_mbuf *m = mbuf_from(b, len, UPLINK);

	kd_vxlan_uplink_burst(&w, t, &m, 1);
}

static void
run_vnic(uint16_t port, const uint8_t *b, uint16_t len)
{
	struct rte_mbuf *m = mbuf_from(b, len, port);

	kd_fwd_vnic_burst(&w, t, port, &m, 1);
}

/* Exactly one drop, of this reason, and nothing sent. */
static void
assert_dropped(enum kd_drop_reason r)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < KD_DROP_MAX; i++)
		total += st.drop[i];
	if (st.drop[r] != 1 || total != 1)
		fail_msg("want one %s drop, have %" PRIu64 " of it and %" PRIu64 " in all",
			 kd_stats_drop_name(r), st.drop[r], total);
	assert_int_equal(w.n_drop, 1);
	assert_int_equal(w.n_dirty, 0);
	reset();
}

static bool
ip_csum_ok(const struct rte_ipv4_hdr *ip)
{
	return rte_raw_cksum(ip, sizeof(*ip)) == 0xffff;
}

static void
test_decap_to_local_pod(void **state)
{
	uint8_t b[256], inner[128];
	uint16_t len = vxlan_frame(b, &good);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_mbuf *m;

	(void)state;
	memcpy(inner, b + sizeof(struct kd_vxlan_tmpl), len - sizeof(struct kd_vxlan_tmpl));
	run_uplink(b, len);
	assert_int_equal(w.tx[VNIC_A].n, 1);
	assert_int_equal(st.event[KD_EV_VXLAN_DECAP], 1);
	m = w.tx[VNIC_A].m[0];
	assert_int_equal(rte_pktmbuf_pkt_len(m), len - sizeof(struct kd_vxlan_tmpl));
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(&eth->dst_addr, &mac_a, 6);
	assert_memory_equal(&eth->src_addr, &gw_mac, 6);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	assert_int_equal(ip->time_to_live, 63);
	assert_true(ip_csum_ok(ip));
	/* The inner packet past its TTL/checksum is untouched. */
	assert_memory_equal((uint8_t *)ip + 12, inner + 14 + 12, len - sizeof(struct kd_vxlan_tmpl) - 26);
	reset();
}

static void
test_uplink_drop_reasons(void **state)
{
	struct vx_opts o;
	uint8_t b[256];
	uint16_t len;

	(void)state;
	o = good; o.vni = 4242;
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_UNKNOWN_VNI);
	o = good; o.flags = 0;
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_BAD_FLAGS);
	o = good; o.outer_dst = IP4(192, 168, 100, 9);
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_NOT_VTEP);
	o = good; o.inner_dst = IP4(10, 0, 2, 7);	/* remote CIDR: no hairpin via us */
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_NO_LOCAL_DEST);
	o = good; o.inner_dst = IP4(172, 16, 0, 1);
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_NO_LOCAL_DEST);
	o = good; o.frag = RTE_IPV4_HDR_MF_FLAG;
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_OUTER_FRAG);
	o = good; o.udp_dport = 53;
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_VXLAN_NOT_VXLAN);
	o = good; o.inner_ttl = 1;
	run_uplink(b, vxlan_frame(b, &o));
	assert_dropped(KD_DROP_FWD_TTL);
	/* Inner IPv4 claims more than the tunnel carries. */
	len = vxlan_frame(b, &good);
	((struct rte_ipv4_hdr *)(b + sizeof(struct kd_vxlan_tmpl) + 14))->total_length =
		rte_cpu_to_be_16(1000);
	run_uplink(b, len);
	assert_dropped(KD_DROP_PARSE_IP_LEN);
	/* Inner header checksum broken. */
	len = vxlan_frame(b, &good);
	b[sizeof(struct kd_vxlan_tmpl) + 14 + 10] ^= 0x55;
	run_uplink(b, len);
	assert_dropped(KD_DROP_PARSE_IP_CSUM);
	/* Outer frame cut inside the VXLAN header. */
	len = vxlan_frame(b, &good);
	((struct kd_vxlan_tmpl *)b)->ip.total_length = rte_cpu_to_be_16(20 + 8 + 4);
	((struct kd_vxlan_tmpl *)b)->ip.hdr_checksum = 0;
	((struct kd_vxlan_tmpl *)b)->ip.hdr_checksum = rte_ipv4_cksum(&((struct kd_vxlan_tmpl *)b)->ip);
	run_uplink(b, 14 + 20 + 8 + 4);
	assert_dropped(KD_DROP_PARSE_TRUNC_L4);
	/* Runt frame. */
	run_uplink(b, 10);
	assert_dropped(KD_DROP_PARSE_TRUNC_L2);
	/* Unknown ethertype. */
	len = vxlan_frame(b, &good);
	b[12] = 0x86;
	b[13] = 0xdd;
	run_uplink(b, len);
	assert_dropped(KD_DROP_PARSE_ETHERTYPE);
}

/* A broadcast ARP request in b, 60 bytes on the wire. */
static void
arp_request(uint8_t *b, size_t size, const struct rte_ether_addr *from, rte_be32_t sip,
	    rte_be32_t tip)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(b, 0, size);
	memset(&eth->dst_addr, 0xff, 6);
	eth->src_addr = *from;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = *from;
	arp->arp_data.arp_sip = sip;
	arp->arp_data.arp_tip = tip;
}

static void
test_uplink_arp_and_echo(void **state)
{
	uint8_t b[128];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *ip;
	struct rte_mbuf *m;
	uint16_t len;

	(void)state;
	arp_request(b, sizeof(b), &peer_mac, IP4(192, 168, 100, 7), IP4(192, 168, 100, 1));
	run_uplink(b, 60);
	assert_int_equal(w.tx[UPLINK].n, 1);
	m = w.tx[UPLINK].m[0];
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	arp = (struct rte_arp_hdr *)(eth + 1);
	assert_int_equal(arp->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	assert_memory_equal(&arp->arp_data.arp_sha, &uplink_mac, 6);
	assert_memory_equal(&arp->arp_data.arp_tha, &peer_mac, 6);
	assert_int_equal(arp->arp_data.arp_sip, IP4(192, 168, 100, 1));
	assert_int_equal(arp->arp_data.arp_tip, IP4(192, 168, 100, 7));
	assert_memory_equal(&eth->dst_addr, &peer_mac, 6);
	assert_int_equal(st.event[KD_EV_ARP_REPLIED], 1);
	reset();

	/* A request for someone else's address is not ours to answer. */
	eth = (struct rte_ether_hdr *)b;
	arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_data.arp_tip = IP4(192, 168, 100, 9);
	run_uplink(b, 60);
	assert_dropped(KD_DROP_ARP_NOT_FOR_US);
	arp->arp_hlen = 8;
	run_uplink(b, 60);
	assert_dropped(KD_DROP_ARP_MALFORMED);

	len = icmp_frame(b, &uplink_mac, IP4(192, 168, 100, 2), IP4(192, 168, 100, 1), 64);
	run_uplink(b, len);
	assert_int_equal(w.tx[UPLINK].n, 1);
	m = w.tx[UPLINK].m[0];
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_raw_cksum(icmp, sizeof(*icmp) + 32), 0xffff);
	assert_true(ip_csum_ok(ip));
	assert_int_equal(ip->dst_addr, IP4(192, 168, 100, 2));
	assert_int_equal(ip->src_addr, IP4(192, 168, 100, 1));
	reset();
}

static void
test_encap_headers(void **state)
{
	uint8_t b[256];
	uint16_t len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 2, 5), 64);
	const struct kd_vxlan_tmpl *h;
	struct rte_mbuf *m;
	uint16_t sport;

	(void)state;
	run_vnic(VNIC_A, b, len);
	assert_int_equal(w.tx[UPLINK].n, 1);
	assert_int_equal(st.event[KD_EV_VXLAN_ENCAP], 1);
	m = w.tx[UPLINK].m[0];
	assert_int_equal(rte_pktmbuf_pkt_len(m), len + sizeof(*h));
	h = rte_pktmbuf_mtod(m, const struct kd_vxlan_tmpl *);
	assert_memory_equal(&h->eth.dst_addr, &peer_mac, 6);
	assert_memory_equal(&h->eth.src_addr, &uplink_mac, 6);
	assert_int_equal(h->ip.src_addr, IP4(192, 168, 100, 1));
	assert_int_equal(h->ip.dst_addr, IP4(192, 168, 100, 2));
	assert_int_equal(rte_be_to_cpu_16(h->ip.total_length), len + 36);
	assert_true(h->ip.fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG));
	assert_true(ip_csum_ok(&h->ip));
	assert_int_equal(rte_be_to_cpu_16(h->udp.dst_port), 4789);
	sport = rte_be_to_cpu_16(h->udp.src_port);
	assert_true(sport >= 49152);
	assert_int_equal(rte_be_to_cpu_16(h->udp.dgram_len), len + 16);
	assert_int_equal(rte_be_to_cpu_32(h->vxlan.vx_flags), 0x08000000);
	assert_int_equal(rte_be_to_cpu_32(h->vxlan.vx_vni) >> 8, 100);
	/* Inner frame: routed (TTL 63, gateway MAC to the peer's inner MAC). */
	assert_memory_equal(&((const struct rte_ether_hdr *)(h + 1))->dst_addr, &rnode_mac, 6);
	assert_int_equal(((const struct rte_ipv4_hdr *)((const uint8_t *)(h + 1) + 14))->time_to_live,
			 63);
	reset();
}

static void
test_encap_errors(void **state)
{
	uint8_t b[2048];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + 14);
	uint16_t len;

	(void)state;
	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 3, 5), 64);
	run_vnic(VNIC_A, b, len);
	assert_dropped(KD_DROP_ARP_UNRESOLVED);

	/* 1451-byte IP packet without DF: too big, dropped. */
	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 2, 5), 64);
	ip->total_length = rte_cpu_to_be_16(1451);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	run_vnic(VNIC_A, b, 14 + 1451);
	assert_dropped(KD_DROP_ENCAP_TOO_BIG);
	/* 1450 fits exactly. */
	ip->total_length = rte_cpu_to_be_16(1450);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	run_vnic(VNIC_A, b, 14 + 1450);
	assert_int_equal(w.tx[UPLINK].n, 1);
	assert_int_equal(rte_pktmbuf_pkt_len(w.tx[UPLINK].m[0]), 1500 + 14);
	reset();
	(void)len;
}

static void
test_frag_needed(void **state)
{
	uint8_t b[2048];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + 14);
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *rip;
	struct rte_mbuf *m;

	(void)state;
	icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 2, 5), 64);
	ip->total_length = rte_cpu_to_be_16(1500);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	run_vnic(VNIC_A, b, 14 + 1500);
	assert_int_equal(st.drop[KD_DROP_ENCAP_TOO_BIG], 1);
	assert_int_equal(st.event[KD_EV_ICMP_FRAG_NEEDED], 1);
	assert_int_equal(w.tx[VNIC_A].n, 1);
	m = w.tx[VNIC_A].m[0];
	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 20 + 8 + 20 + 8);
	assert_memory_equal(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &mac_a, 6);
	rip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	assert_true(ip_csum_ok(rip));
	assert_int_equal(rip->src_addr, IP4(10, 0, 0, 1));
	assert_int_equal(rip->dst_addr, IP4(10, 0, 0, 10));
	icmp = (struct rte_icmp_hdr *)(rip + 1);
	assert_int_equal(icmp->icmp_type, 3);
	assert_int_equal(icmp->icmp_code, 4);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), 1450);
	assert_int_equal(rte_raw_cksum(icmp, 8 + 28), 0xffff);
	/* The quoted header is the original one. */
	assert_memory_equal(icmp + 1, ip, 20);
	reset();
}

static void
test_vnic_paths(void **state)
{
	uint8_t b[256];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_mbuf *m;
	uint16_t len;

	(void)state;
	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 0, 11), 64);
	run_vnic(VNIC_A, b, len);
	assert_int_equal(w.tx[VNIC_B].n, 1);
	assert_int_equal(st.event[KD_EV_FWD_LOCAL], 1);
	m = w.tx[VNIC_B].m[0];
	assert_memory_equal(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &mac_b, 6);
	assert_true(ip_csum_ok(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)));
	reset();

	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 99), IP4(10, 0, 0, 11), 64);
	run_vnic(VNIC_A, b, len);
	assert_dropped(KD_DROP_FWD_SPOOFED_SRC);
	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 9, 0, 1), 64);
	run_vnic(VNIC_A, b, len);
	assert_dropped(KD_DROP_FWD_NO_ROUTE);
	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 0, 11), 1);
	run_vnic(VNIC_A, b, len);
	assert_dropped(KD_DROP_FWD_TTL);
	/* Echo to the gateway is answered; anything else to it is dropped. */
	len = icmp_frame(b, &gw_mac, IP4(10, 0, 0, 10), IP4(10, 0, 0, 1), 64);
	run_vnic(VNIC_A, b, len);
	assert_int_equal(w.tx[VNIC_A].n, 1);
	assert_int_equal(st.event[KD_EV_ICMP_ECHO_REPLIED], 1);
	reset();
	((struct rte_ipv4_hdr *)(b + 14))->next_proto_id = IPPROTO_UDP;
	((struct rte_ipv4_hdr *)(b + 14))->hdr_checksum = 0;
	((struct rte_ipv4_hdr *)(b + 14))->hdr_checksum = rte_ipv4_cksum((void *)(b + 14));
	run_vnic(VNIC_A, b, len);
	assert_dropped(KD_DROP_FWD_GW_UNSUPPORTED);

	/* Proxy ARP: the gateway and other pods are answered with the gateway MAC. */
	arp_request(b, sizeof(b), &mac_a, IP4(10, 0, 0, 10), IP4(10, 0, 0, 1));
	run_vnic(VNIC_A, b, 60);
	arp->arp_data.arp_tip = IP4(10, 0, 0, 11);
	run_vnic(VNIC_A, b, 60);
	assert_int_equal(w.tx[VNIC_A].n, 2);
	for (len = 0; len < 2; len++) {
		const struct rte_arp_hdr *r = rte_pktmbuf_mtod_offset(w.tx[VNIC_A].m[len],
								      const struct rte_arp_hdr *, 14);

		assert_int_equal(r->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
		assert_memory_equal(&r->arp_data.arp_sha, &gw_mac, 6);
	}
	reset();
	/* Never for the pod's own address (duplicate address detection). */
	arp->arp_data.arp_tip = IP4(10, 0, 0, 10);
	run_vnic(VNIC_A, b, 60);
	assert_dropped(KD_DROP_ARP_NOT_FOR_US);
}

static void
test_generation_publish(void **state)
{
	struct kd_tables *g = kd_tables_new(16, 1), *old;

	(void)state;
	assert_non_null(g);
	/* With no worker online, publishing and retiring generations never blocks. */
	kd_tables_free(kd_tables_swap((void **)&kd_tables_live, g));
	assert_ptr_equal(kd_tables_get(), g);
	old = g;
	g = kd_tables_new(16, 1);
	assert_non_null(g);
	/* The swap hands back the generation it replaced, for the caller to free. */
	assert_ptr_equal(kd_tables_swap((void **)&kd_tables_live, g), old);
	kd_tables_free(old);
	assert_ptr_equal(kd_tables_get(), g);
	/* Builder validation. */
	assert_int_equal(kd_tables_add_vpc(g, 0, "x", 0, 0, &gw_mac), -EINVAL);
	assert_int_equal(kd_tables_add_vpc(g, 0, "x", 7, 0, &gw_mac), 0);
	assert_int_equal(kd_tables_add_vpc(g, 1, "y", 7, 0, &gw_mac), -EEXIST);
	assert_int_equal(kd_tables_add_vnic(g, 3, 0, 0, &mac_a, "p", NULL), -EINVAL);
	assert_int_equal(kd_tables_add_rnode(g, "n", 1, &mac_a, 0), -EINVAL); /* no uplink */
	assert_int_equal(kd_tables_vpc_by_vni(g, 7), 0);
	assert_int_equal(kd_tables_vpc_by_vni(g, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decap_to_local_pod),
		cmocka_unit_test(test_uplink_drop_reasons),
		cmocka_unit_test(test_uplink_arp_and_echo),
		cmocka_unit_test(test_encap_headers),
		cmocka_unit_test(test_encap_errors),
		cmocka_unit_test(test_frag_needed),
		cmocka_unit_test(test_vnic_paths),
		cmocka_unit_test(test_generation_publish),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
