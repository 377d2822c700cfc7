/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_icmp.h>
#include <rte_lpm.h>
#include <rte_prefetch.h>

#include "dataplane/arp.h"
#include "dataplane/egress.h"
#include "dataplane/firewall.h"
#include "dataplane/fwd.h"
#include "dataplane/parse.h"
#include "dataplane/stage.h"

#define ICMP_TYPE_DEST_UNREACH 3	/* rte_icmp.h in 22.11 names only echo */

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

/*
 * RFC 1191: turn a DF datagram that will not fit the tunnel into an ICMP
 * "fragmentation needed" for its sender, in place: the original IP header and
 * 8 bytes of payload stay where they are and the new headers go in front.
 */
static __rte_noinline __rte_cold void
frag_needed_slow(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf *m,
		 const struct kd_pkt_meta *pm, const struct kd_vpc *vpc, uint16_t port)
{
	const struct kd_vnic *vn = &t->vnic[port];
	struct rte_ipv4_hdr *oip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pm->l3_off);
	uint16_t quote = (uint16_t)(pm->l4_off - pm->l3_off + 8);
	uint16_t mtu = (uint16_t)(t->uplink_mtu - KD_VXLAN_OUTER_LEN);
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *ip;
	rte_be32_t src = oip->src_addr;
	uint16_t hdrs = sizeof(*ip) + sizeof(*icmp);

	w->st->drop[KD_DROP_ENCAP_TOO_BIG]++;
	w->st->port[port].drops++;
	rte_pktmbuf_adj(m, pm->l3_off);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - quote));
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_prepend(m, hdrs);
	if (ip == NULL || rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN) == NULL) {
		kd_stage_consume(w, m);
		return;
	}
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	icmp->icmp_type = ICMP_TYPE_DEST_UNREACH;
	icmp->icmp_code = 4;	/* fragmentation needed and DF set */
	icmp->icmp_ident = 0;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, (size_t)(sizeof(*icmp) + quote));
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(hdrs + quote));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = vpc->gw_ip;
	ip->dst_addr = src;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	kd_egress_set_l2(m, RTE_ETHER_HDR_LEN, &vn->mac, &vpc->gw_mac);
	w->st->event[KD_EV_ICMP_FRAG_NEEDED]++;
	kd_stage_tx(w, port, m);
}

/*
 * No route in the VPC. A new connection to outside the cluster network is
 * masqueraded when that is configured: it leaves by the uplink, to the
 * gateway or to the destination itself on the underlay subnet.
 */
static __rte_noinline enum kd_drop_reason
egress_slow(const struct kd_tables *t, struct kd_fw_pkt *f, const struct rte_ipv4_hdr *ip)
{
	uint8_t proto = ip->next_proto_id;
	unsigned int i;
	int slot;

	if (t->masq_hi == 0 || f->state != KD_FW_NEW || t->uplink_port == RTE_MAX_ETHPORTS ||
	    f->pm->is_frag ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP &&
	     (proto != IPPROTO_ICMP || f->key.port[0] == 0)))
		return KD_DROP_FWD_NO_ROUTE;
	if (ip->dst_addr == t->vtep_ip)
		return KD_DROP_FWD_NO_ROUTE;	/* the node itself, on no Service port */
	for (i = 0; i < t->n_cluster; i++)
		if (kd_cidr_match(&t->cluster[i], ip->dst_addr))
			return KD_DROP_FWD_NO_ROUTE;	/* inside the cluster: never masqueraded */
	if (unlikely(ip->time_to_live <= 1))
		return KD_DROP_FWD_TTL;
	slot = kd_arp_next_hop_slow(t, ip->dst_addr, NULL);
	if (slot < 0)
		return KD_DROP_ARP_UNRESOLVED;
	f->hop = (uint16_t)slot;
	f->masq = 1;
	f->dst_port = KD_FW_REMOTE;
	return KD_PARSE_OK;
}

void
kd_fwd_vnic_burst(struct kd_worker *w, const struct kd_tables *t, uint16_t port,
		  struct rte_mbuf **pkts, uint16_t n)
{
	const struct kd_vnic *vn = &t->vnic[port];
	const struct kd_vpc *vpc = &t->vpc[vn->vpc];
	struct kd_pkt_meta pm[KD_BURST];
	struct kd_fw_pkt fp[KD_BURST];
	uint32_t dst[KD_BURST], nh[KD_BURST], hop[KD_BURST];
	uint16_t at[KD_BURST];
	enum kd_drop_reason r;
	uint16_t i, j, k = 0, nr = 0, pending = 0;

	if (unlikely(!vn->used)) {
		for (i = 0; i < n; i++)
			kd_stage_drop(w, pkts[i], KD_DROP_FWD_NO_VNIC);
		return;
	}
	for (i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	/* Pass 1: parse and filter what is routed from what the gateway answers itself. */
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
				kd_fw_pkt_init(w, &fp[k], m, p, vn->vpc, port);
				k++;
				continue;
			}
		}
		r = vnic_local_slow(w, t, m, p, vpc);
		if (r == KD_PARSE_OK) {
			kd_stage_tx(w, port, m);
			continue;
		}
drop:
		kd_stage_drop(w, m, r);
	}
	if (k == 0)
		return;
	/* Pass 2: known connections, before routing (a translation would apply here). */
	if (w->ct != NULL)
		pending = kd_fw_lookup_burst(w, t, fp, k);
	for (i = 0; i < k; i++) {
		const struct rte_ipv4_hdr *ip;

		if (fp[i].state == KD_FW_DROPPED)
			continue;
		if (unlikely(fp[i].out_zone == KD_ZONE_UNDERLAY)) {
			/* A translated connection's packet to its underlay end. */
			ip = rte_pktmbuf_mtod_offset(fp[i].m, const struct rte_ipv4_hdr *,
						     pm[i].l3_off);
			if (ip->time_to_live <= 1) {
				kd_fw_drop(w, &fp[i], KD_DROP_FWD_TTL);
				continue;
			}
			fp[i].dst_port = KD_FW_REMOTE;
			hop[i] = KD_NH_UNDERLAY;
			continue;
		}
		ip = rte_pktmbuf_mtod_offset(fp[i].m, const struct rte_ipv4_hdr *, pm[i].l3_off);
		dst[nr] = rte_be_to_cpu_32(ip->dst_addr);
		at[nr++] = i;
	}
	/* Pass 3: one bulk route lookup on the (post-translation) destinations. */
	if (nr != 0)
		rte_lpm_lookup_bulk(vpc->lpm, dst, nh, nr);
	for (j = 0; j < nr; j++) {
		struct kd_fw_pkt *f = &fp[at[j]];
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(f->m, const struct rte_ipv4_hdr *, f->pm->l3_off);

		if (unlikely(!(nh[j] & RTE_LPM_LOOKUP_SUCCESS))) {
			r = egress_slow(t, f, ip);
			if (r != KD_PARSE_OK)
				kd_fw_drop(w, f, r);
			else
				hop[at[j]] = KD_NH_UNDERLAY;
			continue;
		}
		if (unlikely(ip->time_to_live <= 1)) {
			kd_fw_drop(w, f, KD_DROP_FWD_TTL);
			continue;
		}
		/* Outer IP = outer UDP/VXLAN + inner Ethernet + inner IP: 50 bytes more. */
		if ((nh[j] & KD_NH_REMOTE) &&
		    unlikely(rte_be_to_cpu_16(ip->total_length) + KD_VXLAN_OUTER_LEN >
			     t->uplink_mtu) &&
		    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG))) {
			frag_needed_slow(w, t, f->m, f->pm, vpc, port);
			f->state = KD_FW_DROPPED;	/* it became the ICMP answer */
			continue;
		}
		f->dst_port = (nh[j] & KD_NH_REMOTE) ? KD_FW_REMOTE :
						       (uint16_t)(nh[j] & KD_NH_INDEX_MASK);
		hop[at[j]] = nh[j];
	}
	/* Pass 4: policy and insert for new connections, on the routed destination. */
	if (pending != 0)
		kd_fw_commit_burst(w, t, fp, k);
	/* Pass 5: deliver. */
	for (i = 0; i < k; i++) {
		struct rte_mbuf *m = fp[i].m;
		const struct kd_pkt_meta *p = fp[i].pm;

		if (fp[i].state != KD_FW_PASS)
			continue;
		if (unlikely(fp[i].back)) {
			/* Our refusal, back to the pod that asked. */
			kd_egress_set_l2(m, p->l3_off, &vn->mac, &vpc->gw_mac);
			kd_stage_tx(w, port, m);
			continue;
		}
		kd_egress_dec_ttl(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, p->l3_off));
		kd_egress_deliver(w, t, vpc, m, p, hop[i], fp[i].hop, KD_EV_FWD_LOCAL);
	}
}
