/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdpu-replay: a fixed replay of one benchmark scenario through the real
 * packet stages, without ports, for instruction counts that do not depend
 * on the machine's mood:
 *
 *   valgrind --tool=callgrind --toggle-collect=replay kdpu-replay a|b|c|d PACKETS FLOWS
 *
 * It builds the tables the memif benchmark's daemon has (one vNIC, one
 * remote node behind the uplink, a connection table, and for (c) one
 * Service frontend), then feeds PACKETS packets in bursts of 32, cycling
 * the UDP source port over FLOWS flows, to the vNIC stage (a) or the uplink
 * stage (b, c), as a worker loop would, and frees what the stages queued.
 * (d) is (b) where every packet opens a new connection (FLOWS is ignored):
 * its inner source address and port never repeat within a run.
 * replay() holds the packet path only; callgrind counts it alone, so its
 * instructions over PACKETS are the cost per packet. Prints one JSON line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/arp.h"
#include "dataplane/conntrack.h"
#include "dataplane/ct_cache.h"
#include "dataplane/firewall.h"
#include "dataplane/fwd.h"
#include "dataplane/lb.h"
#include "dataplane/policy.h"
#include "dataplane/stage.h"
#include "dataplane/tables.h"
#include "dataplane/vxlan.h"
#include "dataplane/worker.h"

#define UPLINK 0
#define VNIC 1
#define IP4(a, b, c, d) RTE_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define INNER_LEN 64

static const struct rte_ether_addr uplink_mac = { { 0x02, 0, 0, 0, 0xee, 0x01 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0xee, 0x02 } };
static const struct rte_ether_addr gw_mac = { { 0x02, 0x6b, 0x64, 0, 0, 0x01 } };
static const struct rte_ether_addr rnode_mac = { { 0x02, 0x6b, 0x64, 0, 0, 0x02 } };
static const struct rte_ether_addr pod_mac = { { 0x02, 0x6b, 0x64, 1, 0, 0x0a } };

static struct kd_stats st;
static struct kd_worker w;
static uint8_t tmpl[256];
static uint16_t tmpl_len, sport_off;
static uint64_t next_new;	/* (d): the next never-seen flow */

/* Ethernet/IPv4/UDP of INNER_LEN bytes at p, as kdpu-pktgen sends it. */
static uint16_t
inner(uint8_t *p, const struct rte_ether_addr *src, const struct rte_ether_addr *dst,
      rte_be32_t sip, rte_be32_t dip, uint16_t dport)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	eth->src_addr = *src;
	eth->dst_addr = *dst;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(INNER_LEN - sizeof(*eth));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = sip;
	ip->dst_addr = dip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(10000);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(INNER_LEN - sizeof(*eth) - sizeof(*ip));
	sport_off = (uint16_t)((uint8_t *)&udp->src_port - p);
	return INNER_LEN;
}

static void
build_template(char scenario)
{
	struct kd_vxlan_tmpl *h = (struct kd_vxlan_tmpl *)tmpl;
	uint16_t n;

	if (scenario == 'a') {
		tmpl_len = inner(tmpl, &pod_mac, &gw_mac, IP4(10, 244, 1, 10), IP4(10, 244, 2, 10),
				 5001);
		return;
	}
	n = inner(tmpl + sizeof(*h), &rnode_mac, &gw_mac, IP4(10, 244, 2, 10),
		  scenario == 'c' ? IP4(10, 96, 0, 10) : IP4(10, 244, 1, 10),
		  scenario == 'c' ? 80 : 5001);
	sport_off = (uint16_t)(sport_off + sizeof(*h));
	h->eth.src_addr = peer_mac;
	h->eth.dst_addr = uplink_mac;
	h->eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	h->ip.version_ihl = RTE_IPV4_VHL_DEF;
	h->ip.total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*h) - sizeof(h->eth) + n));
	h->ip.time_to_live = 64;
	h->ip.next_proto_id = IPPROTO_UDP;
	h->ip.src_addr = IP4(192, 168, 100, 2);
	h->ip.dst_addr = IP4(192, 168, 100, 1);
	h->ip.hdr_checksum = rte_ipv4_cksum(&h->ip);
	h->udp.src_port = rte_cpu_to_be_16(49152);
	h->udp.dst_port = rte_cpu_to_be_16(RTE_VXLAN_DEFAULT_PORT);
	h->udp.dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(h->udp) + sizeof(h->vxlan) + n));
	h->vxlan.vx_flags = rte_cpu_to_be_32(0x08000000);
	h->vxlan.vx_vni = rte_cpu_to_be_32(100 << 8);
	tmpl_len = (uint16_t)(sizeof(*h) + n);
}

/* One Service frontend, UDP 10.96.0.10:80 -> 10.244.1.10:5001, as the compiler makes it. */
static int
service(void)
{
	static struct kd_lb_frontend fe;
	struct kd_lb *lb;
	static struct kd_lb_backend be = { .flags = KD_LB_EP_READY | KD_LB_EP_SERVING |
						   KD_LB_EP_LOCAL | KD_LB_EP_USED };
	static uint16_t maglev[7];

	be.ip = IP4(10, 244, 1, 10);
	be.port = RTE_BE16(5001);
	fe.key = (struct kd_lb_key){ .ip = IP4(10, 96, 0, 10), .port = RTE_BE16(80),
				     .proto = IPPROTO_UDP };
	fe.n_backends = 1;
	fe.be = &be;
	fe.pool[KD_LB_IN] = (struct kd_lb_pool){ .m = 7, .maglev = maglev, .be = &be };
	fe.svc = "default/bench";
	lb = kd_lb_create("replay_lb", 64, IP4(169, 254, 42, 1), 0);
	if (lb == NULL || kd_lb_set(lb, &fe) != 0)
		return -1;
	__atomic_store_n(&kd_lb_live, lb, __ATOMIC_RELEASE);
	return 0;
}

static int
tables(char scenario)
{
	struct kd_tables *t = kd_tables_new(1024, 16);
	uint64_t mac = 0;
	int slot, rn;

	if (t == NULL ||
	    kd_tables_set_uplink(t, UPLINK, 1500, &uplink_mac, IP4(192, 168, 100, 1), 24, 0) ||
	    kd_tables_set_port_role(t, VNIC, KD_PORT_VNIC) ||
	    kd_tables_add_vpc(t, 0, "default", 100, IP4(10, 244, 1, 1), &gw_mac) ||
	    kd_tables_add_vnic(t, VNIC, 0, IP4(10, 244, 1, 10), &pod_mac, "0000:3b:00.2", "p"))
		return -1;
	slot = kd_arp_neigh_slot(IP4(192, 168, 100, 2));
	memcpy(&mac, &peer_mac, RTE_ETHER_ADDR_LEN);
	kd_arp_neigh->e[slot].mac = mac | KD_ARP_MAC_VALID;
	rn = kd_tables_add_rnode(t, "node-b", IP4(192, 168, 100, 2), &rnode_mac, (uint16_t)slot);
	if (rn < 0 || kd_tables_add_route(t, 0, IP4(10, 244, 2, 0), 24, KD_NH_REMOTE | (uint32_t)rn))
		return -1;
	kd_tables_free(kd_tables_swap((void **)&kd_tables_live, t));
	return scenario == 'c' ? service() : 0;
}

/* The packet path only: what callgrind counts. */
static __rte_noinline uint64_t
replay(struct rte_mempool *mp, char scenario, uint64_t packets, uint32_t flows)
{
	const struct kd_tables *t = kd_tables_get();
	struct rte_mbuf *m[KD_BURST];
	uint64_t done = 0, out = 0, flow = 0;
	uint16_t i, p;

	while (done < packets) {
		if (rte_pktmbuf_alloc_bulk(mp, m, KD_BURST) != 0)
			break;
		for (i = 0; i < KD_BURST; i++) {
			uint8_t *d = (uint8_t *)rte_pktmbuf_append(m[i], tmpl_len);
			rte_be16_t sport = rte_cpu_to_be_16((uint16_t)(10000 + flow));

			memcpy(d, tmpl, tmpl_len);
			if (scenario == 'd') {
				struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + sport_off -
										  sizeof(*ip));
				uint64_t f = next_new++;

				sport = rte_cpu_to_be_16((uint16_t)(10000 + f % 50000));
				ip->src_addr = rte_cpu_to_be_32(rte_be_to_cpu_32(ip->src_addr) +
								(uint32_t)(f / 50000));
				ip->hdr_checksum = 0;
				ip->hdr_checksum = rte_ipv4_cksum(ip);
			}
			memcpy(d + sport_off, &sport, 2);
			m[i]->port = scenario == 'a' ? VNIC : UPLINK;
			if (++flow == flows)
				flow = 0;
		}
		if (scenario == 'a')
			kd_fwd_vnic_burst(&w, t, VNIC, m, KD_BURST);
		else
			kd_vxlan_uplink_burst(&w, t, m, KD_BURST);
		/* What a flush would hand to the ports, and the drops. */
		for (p = 0; p < w.n_dirty; p++) {
			struct kd_txbuf *b = &w.tx[w.dirty[p]];

			out += b->n;
			rte_pktmbuf_free_bulk(b->m, b->n);
			b->n = 0;
		}
		w.n_dirty = 0;
		rte_pktmbuf_free_bulk(w.drop, w.n_drop);
		w.n_drop = 0;
		st.event[KD_EV_CT_EXPIRED] += kd_ct_age_tick(w.ct, &w.age, rte_rdtsc());
		rte_rcu_qsbr_quiescent(kd_tables_qsbr(), 0);
		done += KD_BURST;
	}
	return out;
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "-m", "512", "--no-shconf",
			"--log-level=*:error", "-l", "0", NULL };
	struct kd_ct_timeouts tmo;
	struct rte_mempool *mp;
	uint64_t packets, out, drops = 0;
	uint32_t flows;
	int i;
	char scenario;

	if (argc != 4 || strlen(argv[1]) != 1 || strchr("abcd", argv[1][0]) == NULL) {
		fprintf(stderr, "usage: kdpu-replay a|b|c|d PACKETS FLOWS\n");
		return 2;
	}
	scenario = argv[1][0];
	packets = strtoull(argv[2], NULL, 10);
	flows = (uint32_t)strtoul(argv[3], NULL, 10);
	if (packets == 0 || flows == 0 || flows > 50000) {
		fprintf(stderr, "kdpu-replay: PACKETS >= 1, FLOWS 1..50000\n");
		return 2;
	}
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	kd_ct_timeouts_default(&tmo);
	build_template(scenario);
	mp = rte_pktmbuf_pool_create("replay", 4095, 0, 0, 2176, SOCKET_ID_ANY);
	if (mp == NULL || kd_tables_init(1) != 0 || kd_arp_init() != 0 || tables(scenario) != 0)
		return 1;
	w.st = &st;
	w.ct = kd_ct_create("replay_ct", scenario == 'd' ? (uint32_t)RTE_MIN(packets * 2, 1u << 22) :
					  RTE_MAX(1024u, flows * 2), &tmo, kd_tables_qsbr());
	if (w.ct == NULL)
		return 1;
	/* The cache the daemon gives a worker by default: one entry per connection. */
	w.ctc = kd_ct_cache_create(kd_ct_cache_default_entries(w.ct->capacity), SOCKET_ID_ANY);
	if (w.ctc == NULL)
		return 1;
	w.age.hi = w.ct->capacity;
	rte_rcu_qsbr_thread_register(kd_tables_qsbr(), 0);
	rte_rcu_qsbr_thread_online(kd_tables_qsbr(), 0);
	/* What the worker loop loads once per loop. */
	w.pol = kd_policy_get();
	w.lb = kd_lb_get();
	/* One pass to create the connections, then the measured one. */
	replay(mp, scenario, RTE_MAX((uint64_t)flows, (uint64_t)KD_BURST), flows);
	memset(&st, 0, sizeof(st));
	out = replay(mp, scenario, packets, flows);
	for (i = 0; i < KD_DROP_MAX; i++)
		drops += st.drop[i];
	printf("{\"scenario\": \"%c\", \"packets\": %" PRIu64 ", \"flows\": %u, \"out\": %" PRIu64
	       ", \"ct_new\": %" PRIu64 ", \"drops\": %" PRIu64 "}\n", scenario, packets, flows, out,
	       st.event[KD_EV_CT_NEW], drops);
	return out == packets ? 0 : 1;
}
