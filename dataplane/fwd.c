/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_lpm.h>
#include <rte_prefetch.h>

#include "dataplane/arp.h"
#include "dataplane/fwd.h"
#include "dataplane/parse.h"
#include "dataplane/vxlan.h"

/* Rare cases of a vNIC burst: ARP, other ethertypes, the gateway itself. */
static __rte_noinline __rte_cold enum kd_drop_reason
vnic_local_slow(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf *m,
		const struct kd_pkt_meta *pm, const struct kd_vpc *vpc)
{
	if (pm->ether_type == RTE_ETHER_TYPE_ARP)
		return kd_arp_input_slow(w->st, t, m, pm, false);
	if (pm->ether_type != RTE_ETHER_TYPE_IPV4)
		return KD_DROP_PARSE_ETHERTYPE;
	if (kd_arp_icmp_echo_slow(w->st, m, pm, &vpc->gw_mac) != KD_PARSE_OK)
		return KD_DROP_FWD_GW_UNSUPPORTED;
	return KD_PARSE_OK;
}

void
kd_fwd_vnic_burst(struct kd_worker *w, const struct kd_tables *t, uint16_t port,
		  struct rte_mbuf **pkts, uint16_t n)
{
	const struct kd_vnic *vn = &t->vnic[port];
	const struct kd_vpc *vpc = &t->vpc[vn->vpc];
	struct kd_pkt_meta pm[KD_BURST];
	struct rte_mbuf *fw[KD_BURST];
	uint32_t dst[KD_BURST];
	uint32_t nh[KD_BURST];
	enum kd_drop_reason r;
	uint16_t i, k = 0;

	if (unlikely(!vn->used)) {
		for (i = 0; i < n; i++)
			kd_worker_drop(w, pkts[i], KD_DROP_FWD_NO_VNIC);
		return;
	}
	for (i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	/* Pass 1: parse and filter, collecting destinations for one bulk lookup. */
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct kd_pkt_meta *p = &pm[k];
		const struct rte_ipv4_hdr *ip;

		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		r = kd_parse_l2(m, 0, p);
		if (unlikely(r != KD_PARSE_OK))
			goto drop;
		if (likely(p->ether_type == RTE_ETHER_TYPE_IPV4)) {
			r = kd_parse_ipv4(m, p, kd_parse_need_ip_csum(m));
			if (unlikely(r != KD_PARSE_OK))
				goto drop;
			ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, p->l3_off);
			if (unlikely(vn->ip != 0 && ip->src_addr != vn->ip)) {
				r = KD_DROP_FWD_SPOOFED_SRC;
				goto drop;
			}
			if (likely(ip->dst_addr != vpc->gw_ip)) {
				dst[k] = rte_be_to_cpu_32(ip->dst_addr);
				fw[k++] = m;
				continue;
			}
		}
		r = vnic_local_slow(w, t, m, p, vpc);
		if (r == KD_PARSE_OK) {
			kd_worker_tx(w, port, m);
			continue;
		}
drop:
		kd_worker_drop(w, m, r);
	}
	if (k == 0)
		return;
	rte_lpm_lookup_bulk(vpc->lpm, dst, nh, k);
	/* Pass 2: route. */
	for (i = 0; i < k; i++) {
		struct rte_mbuf *m = fw[i];
		struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pm[i].l3_off);
		uint32_t idx = nh[i] & KD_NH_INDEX_MASK;

		if (unlikely(!(nh[i] & RTE_LPM_LOOKUP_SUCCESS))) {
			r = KD_DROP_FWD_NO_ROUTE;
			goto drop2;
		}
		if (unlikely(ip->time_to_live <= 1)) {
			r = KD_DROP_FWD_TTL;
			goto drop2;
		}
		kd_ipv4_dec_ttl(ip);
		if (nh[i] & KD_NH_REMOTE) {
			const struct kd_rnode *rn = &t->rnode[idx];
			uint32_t hash = kd_parse_flow_hash(m, &pm[i]);
			uint32_t frame = (uint32_t)pm[i].l3_off + rte_be_to_cpu_16(ip->total_length);

			/* Ethernet padding would otherwise ride inside the tunnel. */
			if (rte_pktmbuf_pkt_len(m) > frame)
				rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - frame));
			kd_fwd_set_l2(m, pm[i].l3_off, &rn->inner_mac, &vpc->gw_mac);
			r = kd_vxlan_encap(t, rn, m, vpc->vni, hash);
			if (unlikely(r != KD_PARSE_OK))
				goto drop2;
			w->st->event[KD_EV_VXLAN_ENCAP]++;
			kd_worker_tx(w, t->uplink_port, m);
		} else {
			const struct kd_vnic *dvn = &t->vnic[idx];

			kd_fwd_set_l2(m, pm[i].l3_off, &dvn->mac, &vpc->gw_mac);
			w->st->event[KD_EV_FWD_LOCAL]++;
			kd_worker_tx(w, (uint16_t)idx, m);
		}
		continue;
drop2:
		kd_worker_drop(w, m, r);
	}
}
