/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdpu-pktgen: a small DPDK traffic generator for the benchmarks, in the
 * spirit of pktgen's range mode. One lcore transmits template packets on
 * one port, varying the source port over a range of flows, and counts what
 * comes back on another port (or the same). It answers ARP for its own
 * addresses, so the device under test can resolve it like a real neighbour.
 *
 *   kdpu-pktgen [EAL options] -- --tx PORT --rx PORT --mode pod|vxlan
 *       [--flows N] [--size BYTES] [--seconds S] [--warmup S] [--dport N]
 *       [--src-mac MAC] [--dst-mac MAC] [--src-ip IP] [--dst-ip IP]
 *       [--vni N] [--outer-src IP] [--outer-dst IP] [--inner-dst-mac MAC]
 *       [--arp-ip IP] [--arp-mac MAC] [--rate PPS] [--rx-queues N] [--hold]
 *
 * pod: Ethernet/IPv4/UDP from --src-ip to --dst-ip, as a pod sends it.
 * vxlan: the same packet inside VXLAN (VNI --vni) from --outer-src to
 * --outer-dst, as a remote node sends it. --size is the inner frame size.
 * Flow f of --flows uses source port 10000 + f % 50000; beyond 50000 flows
 * the next field varies too, f / 50000 added to the inner source address
 * (vxlan: remote pods of a /16) or to the destination port (pod: its source
 * address is checked). --rate paces transmission to PPS packets per second
 * (0, the default: as fast as the port takes them); a generator that fell
 * behind does not catch up in one burst. Prints one JSON object: packets
 * sent and received in all (after a drain), and the rates over the measured
 * interval (after --warmup).
 *
 * --rx-queues N opens N receive queues on each port (one transmit queue) and
 * polls them all: a memif server that transmits on several queues, as
 * OVS-DPDK's PMD thread does on the one after its main thread's, needs as
 * many rings on the client side or its packets go nowhere.
 *
 * --hold: after the JSON line, keep the ports up until standard input
 * closes, so that the device under test can be stopped first.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#define BURST 32
#define MAX_FRAME 1500
#define PORTS_PER_HI 50000

static volatile bool quit;

struct gen {
	uint16_t tx, rx, nb_rxq;
	bool vxlan;
	uint32_t flows, size;
	double seconds, warmup;
	struct rte_ether_addr src_mac, dst_mac, inner_dst_mac, arp_mac;
	rte_be32_t src_ip, dst_ip, outer_src, outer_dst, arp_ip;
	uint32_t vni;
	uint16_t dport;
	double rate;
	uint8_t tmpl[MAX_FRAME];
	uint16_t tmpl_len, sport_off, udp_csum_off, ip_off;
	struct rte_mempool *mp;
	uint64_t sent, received, rx_bytes, arp_replies, tx_fail;
};

static void
on_signal(int sig)
{
	(void)sig;
	quit = true;
}

static int
parse_mac(const char *s, struct rte_ether_addr *m)
{
	return rte_ether_unformat_addr(s, m);
}

static int
parse_ip(const char *s, rte_be32_t *ip)
{
	return inet_pton(AF_INET, s, ip) == 1 ? 0 : -1;
}

/* Ethernet/IPv4/UDP of total frame size `size` at p; returns its length. */
static uint16_t
inner(struct gen *g, uint8_t *p, uint32_t size, const struct rte_ether_addr *dst_mac,
      uint16_t *sport_off)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t ip_len = (uint16_t)(size - sizeof(*eth));

	memset(p, 0, size);
	eth->src_addr = g->src_mac;
	eth->dst_addr = *dst_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = g->src_ip;
	ip->dst_addr = g->dst_ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(10000);
	udp->dst_port = rte_cpu_to_be_16(g->dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(*ip)));
	*sport_off = (uint16_t)((uint8_t *)&udp->src_port - p);
	return (uint16_t)size;
}

static void
build_template(struct gen *g)
{
	uint16_t sport_off;

	if (!g->vxlan) {
		g->tmpl_len = inner(g, g->tmpl, g->size, &g->dst_mac, &sport_off);
		g->sport_off = sport_off;
		g->ip_off = sizeof(struct rte_ether_hdr);
		return;
	}
	{
		const uint16_t outer_len = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
					   sizeof(struct rte_udp_hdr) + sizeof(struct rte_vxlan_hdr);
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)g->tmpl;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(udp + 1);
		uint16_t in_len = inner(g, g->tmpl + outer_len, g->size, &g->inner_dst_mac, &sport_off);

		memset(g->tmpl, 0, outer_len);
		eth->src_addr = g->src_mac;
		eth->dst_addr = g->dst_mac;
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(outer_len - sizeof(*eth) + in_len));
		ip->time_to_live = 64;
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = g->outer_src;
		ip->dst_addr = g->outer_dst;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->src_port = rte_cpu_to_be_16(49152);
		udp->dst_port = rte_cpu_to_be_16(RTE_VXLAN_DEFAULT_PORT);
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + sizeof(*vx) + in_len));
		vx->vx_flags = rte_cpu_to_be_32(0x08000000);
		vx->vx_vni = rte_cpu_to_be_32(g->vni << 8);
		g->tmpl_len = (uint16_t)(outer_len + in_len);
		g->sport_off = (uint16_t)(outer_len + sport_off);
		g->ip_off = (uint16_t)(outer_len + sizeof(struct rte_ether_hdr));
	}
}

/* Answer ARP requests for our address; anything else received is counted. */
static void
rx_one(struct gen *g, uint16_t port, struct rte_mbuf *m, bool counting)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
	    rte_pktmbuf_data_len(m) >= sizeof(*eth) + sizeof(struct rte_arp_hdr)) {
		struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);

		if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && g->arp_ip != 0 &&
		    a->arp_data.arp_tip == g->arp_ip) {
			a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
			a->arp_data.arp_tha = a->arp_data.arp_sha;
			a->arp_data.arp_tip = a->arp_data.arp_sip;
			a->arp_data.arp_sha = g->arp_mac;
			a->arp_data.arp_sip = g->arp_ip;
			eth->dst_addr = eth->src_addr;
			eth->src_addr = g->arp_mac;
			if (rte_eth_tx_burst(port, 0, &m, 1) == 1) {
				g->arp_replies++;
				return;
			}
		}
		rte_pktmbuf_free(m);
		return;
	}
	if (counting && port == g->rx) {
		g->received++;
		g->rx_bytes += rte_pktmbuf_pkt_len(m);
	}
	rte_pktmbuf_free(m);
}

static void
poll_rx(struct gen *g, bool counting)
{
	struct rte_mbuf *m[BURST];
	uint16_t n, i, q;

	for (q = 0; q < g->nb_rxq; q++) {
		n = rte_eth_rx_burst(g->rx, q, m, BURST);
		for (i = 0; i < n; i++)
			rx_one(g, g->rx, m[i], counting);
		if (g->tx != g->rx) {
			n = rte_eth_rx_burst(g->tx, q, m, BURST);
			for (i = 0; i < n; i++)
				rx_one(g, g->tx, m[i], false);
		}
	}
}

/* Flows beyond one port range: the inner source (vxlan) or destination port (pod). */
static void
vary_hi(const struct gen *g, uint8_t *p, uint32_t flow, uint16_t *sport)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + g->ip_off);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint32_t hi = flow / PORTS_PER_HI;

	*sport = (uint16_t)(10000 + flow % PORTS_PER_HI);
	if (g->vxlan) {
		ip->src_addr = rte_cpu_to_be_32(rte_be_to_cpu_32(g->src_ip) + hi);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else {
		udp->dst_port = rte_cpu_to_be_16((uint16_t)(g->dport + hi));
	}
}

static int
run(struct gen *g)
{
	uint64_t hz = rte_get_tsc_hz(), start = rte_rdtsc(), t_measure, t_end;
	uint64_t sent0 = 0, rcvd0 = 0, flow = 0, next_tx = start;
	uint64_t gap = g->rate > 0 ? (uint64_t)(BURST * (double)hz / g->rate) : 0;
	struct rte_mbuf *m[BURST];
	bool measuring = false;

	t_measure = start + (uint64_t)(g->warmup * (double)hz);
	t_end = t_measure + (uint64_t)(g->seconds * (double)hz);
	while (!quit) {
		uint64_t now = rte_rdtsc();
		uint16_t i, sent;

		if (!measuring && now >= t_measure) {
			measuring = true;
			sent0 = g->sent;
			rcvd0 = g->received;
		}
		if (now >= t_end)
			break;
		if (gap != 0) {
			if (now < next_tx) {
				poll_rx(g, true);
				continue;
			}
			/* Descheduled for a while: resume the pace, not a backlog. */
			next_tx = now - next_tx > hz / 1000 ? now + gap : next_tx + gap;
		}
		if (rte_pktmbuf_alloc_bulk(g->mp, m, BURST) == 0) {
			for (i = 0; i < BURST; i++) {
				uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);
				uint16_t sport = (uint16_t)(10000 + flow % PORTS_PER_HI);

				rte_memcpy(p, g->tmpl, g->tmpl_len);
				if (unlikely(flow >= PORTS_PER_HI))
					vary_hi(g, p, (uint32_t)flow, &sport);
				memcpy(p + g->sport_off, &(rte_be16_t){ rte_cpu_to_be_16(sport) }, 2);
				m[i]->data_len = m[i]->pkt_len = g->tmpl_len;
				if (++flow == g->flows)
					flow = 0;
			}
			sent = rte_eth_tx_burst(g->tx, 0, m, BURST);
			g->sent += sent;
			if (sent < BURST) {
				g->tx_fail += BURST - sent;
				rte_pktmbuf_free_bulk(&m[sent], BURST - sent);
			}
		}
		poll_rx(g, true);
	}
	/* Drain what is still in flight, uncounted for the rate but counted in total. */
	{
		uint64_t drain_end = rte_rdtsc() + hz / 5;
		uint64_t sent_m = g->sent - sent0, rcvd_m = g->received - rcvd0;

		while (rte_rdtsc() < drain_end)
			poll_rx(g, true);
		printf("{\"mode\": \"%s\", \"flows\": %u, \"frame\": %u, \"seconds\": %.2f, "
		       "\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", \"tx_pps\": %.0f, "
		       "\"rx_pps\": %.0f, \"tx_full\": %" PRIu64 ", \"arp_replies\": %" PRIu64 "}\n",
		       g->vxlan ? "vxlan" : "pod", g->flows, g->size, g->seconds, g->sent,
		       g->received, (double)sent_m / g->seconds, (double)rcvd_m / g->seconds,
		       g->tx_fail, g->arp_replies);
	}
	return 0;
}

static int
port_up(uint16_t port, uint16_t nb_rxq, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	uint64_t deadline;
	struct rte_eth_link link;
	uint16_t q;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, nb_rxq, 1, &conf) != 0)
		return -1;
	for (q = 0; q < nb_rxq; q++)
		if (rte_eth_rx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL, mp) != 0)
			return -1;
	if (rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0)
		return -1;
	/* memif links come up when the peer connects. */
	deadline = rte_get_timer_cycles() + rte_get_timer_hz() * 10;
	do {
		rte_eth_link_get_nowait(port, &link);
		if (link.link_status)
			return 0;
		rte_delay_ms(50);
	} while (rte_get_timer_cycles() < deadline && !quit);
	fprintf(stderr, "kdpu-pktgen: port %u: link did not come up\n", port);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tx", required_argument, NULL, 't' }, { "rx", required_argument, NULL, 'r' },
		{ "mode", required_argument, NULL, 'm' }, { "flows", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' }, { "seconds", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' }, { "src-mac", required_argument, NULL, 1 },
		{ "dst-mac", required_argument, NULL, 2 }, { "src-ip", required_argument, NULL, 3 },
		{ "dst-ip", required_argument, NULL, 4 }, { "vni", required_argument, NULL, 5 },
		{ "outer-src", required_argument, NULL, 6 }, { "outer-dst", required_argument, NULL, 7 },
		{ "inner-dst-mac", required_argument, NULL, 8 }, { "arp-ip", required_argument, NULL, 9 },
		{ "arp-mac", required_argument, NULL, 10 }, { "dport", required_argument, NULL, 11 },
		{ "rate", required_argument, NULL, 12 }, { "rx-queues", required_argument, NULL, 13 },
		{ "hold", no_argument, NULL, 14 },
		{ NULL, 0, NULL, 0 },
	};
	static struct gen g;
	bool hold = false;
	int n, opt, bad = 0;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "kdpu-pktgen: EAL init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	g.flows = 1;
	g.size = 64;
	g.seconds = 5;
	g.warmup = 1;
	g.vni = 100;
	g.dport = 5001;
	g.nb_rxq = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't': g.tx = (uint16_t)atoi(optarg); break;
		case 'r': g.rx = (uint16_t)atoi(optarg); break;
		case 'm': g.vxlan = strcmp(optarg, "vxlan") == 0; bad |= !g.vxlan && strcmp(optarg, "pod"); break;
		case 'f': g.flows = (uint32_t)atoi(optarg); break;
		case 's': g.size = (uint32_t)atoi(optarg); break;
		case 'd': g.seconds = atof(optarg); break;
		case 'w': g.warmup = atof(optarg); break;
		case 1: bad |= parse_mac(optarg, &g.src_mac); break;
		case 2: bad |= parse_mac(optarg, &g.dst_mac); break;
		case 3: bad |= parse_ip(optarg, &g.src_ip); break;
		case 4: bad |= parse_ip(optarg, &g.dst_ip); break;
		case 5: g.vni = (uint32_t)atoi(optarg); break;
		case 6: bad |= parse_ip(optarg, &g.outer_src); break;
		case 7: bad |= parse_ip(optarg, &g.outer_dst); break;
		case 8: bad |= parse_mac(optarg, &g.inner_dst_mac); break;
		case 9: bad |= parse_ip(optarg, &g.arp_ip); break;
		case 10: bad |= parse_mac(optarg, &g.arp_mac); break;
		case 11: g.dport = (uint16_t)atoi(optarg); break;
		case 12: g.rate = atof(optarg); break;
		case 13: g.nb_rxq = (uint16_t)atoi(optarg); break;
		case 14: hold = true; break;
		default: bad = 1; break;
		}
	}
	if (bad || g.flows == 0 || g.flows > (1u << 24) || g.dport == 0 || g.size < 60 || g.size > 1400 ||
	    g.seconds <= 0 || g.rate < 0 || g.nb_rxq == 0 || g.nb_rxq > 8 || !rte_eth_dev_is_valid_port(g.tx) || !rte_eth_dev_is_valid_port(g.rx)) {
		fprintf(stderr, "kdpu-pktgen: bad arguments (see the comment at the top of pktgen.c)\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	g.mp = rte_pktmbuf_pool_create("pktgen", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (g.mp == NULL || port_up(g.tx, g.nb_rxq, g.mp) != 0 ||
	    (g.rx != g.tx && port_up(g.rx, g.nb_rxq, g.mp) != 0))
		return 1;
	build_template(&g);
	run(&g);
	if (hold) {
		/*
		 * Stopping a memif port disconnects it, and a peer still polling can
		 * crash on that (DPDK 22.11): the harness stops the device under test
		 * first, while we poll no more, then closes our standard input.
		 */
		fflush(stdout);
		while (getchar() != EOF)
			;
	}
	/* Stop transmitting before anyone disconnects (memif pollers dislike the reverse). */
	rte_eth_dev_stop(g.tx);
	if (g.rx != g.tx)
		rte_eth_dev_stop(g.rx);
	rte_eal_cleanup();
	return 0;
}
