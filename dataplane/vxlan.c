/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_lpm.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "dataplane/arp.h"
#include "dataplane/egress.h"
#include "dataplane/firewall.h"
#include "dataplane/stage.h"
#include "dataplane/underlay.h"
#include "dataplane/vxlan.h"

#define VXLAN_FLAG_I 0x08000000u
#define PREFETCH_AHEAD 4

/* A decapsulation waiting for the firewall: inner headers still in place. */
struct decap {
	struct kd_pkt_meta pm;
	uint16_t vpc;
	uint32_t hop;		/* LPM next hop of the (translated) inner destination */
};

/* The VXLAN header is at l4_off + 8: find the VPC and parse the inner packet. */
static __rte_always_inline enum kd_drop_reason
decap_one(const struct kd_tables *t, struct rte_mbuf *m, const struct kd_pkt_meta *opm,
	  uint32_t *last_vni, int *last_vpc, struct decap *d)
{
	uint16_t vx_off = (uint16_t)(opm->l4_off + sizeof(struct rte_udp_hdr));
	const struct rte_vxlan_hdr *vx;
	const struct rte_ipv4_hdr *ip;
	struct kd_pkt_meta *pm = &d->pm;
	enum kd_drop_reason r;
	uint32_t vni;
	int vpc_idx;

	const struct rte_ipv4_hdr *oip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, opm->l3_off);
	uint32_t outer_end = (uint32_t)opm->l3_off + rte_be_to_cpu_16(oip->total_length);

	/* Bounds come from the outer IP length: Ethernet padding is not payload. */
	if (unlikely((uint32_t)vx_off + sizeof(*vx) + RTE_ETHER_HDR_LEN > outer_end ||
		     (uint32_t)vx_off + sizeof(*vx) > rte_pktmbuf_data_len(m)))
		return KD_DROP_PARSE_TRUNC_L4;
	if (unlikely(rte_pktmbuf_pkt_len(m) > outer_end))
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - outer_end));
	vx = rte_pktmbuf_mtod_offset(m, const struct rte_vxlan_hdr *, vx_off);
	if (unlikely(!(vx->vx_flags & rte_cpu_to_be_32(VXLAN_FLAG_I))))
		return KD_DROP_VXLAN_BAD_FLAGS;
	vni = rte_be_to_cpu_32(vx->vx_vni) >> 8;
	/* Back-to-back packets of one VPC skip the hash (VPP's last-tunnel cache). */
	if (vni != *last_vni) {
		*last_vpc = kd_tables_vpc_by_vni(t, vni);
		*last_vni = vni;
	}
	vpc_idx = *last_vpc;
	if (unlikely(vpc_idx < 0))
		return KD_DROP_VXLAN_UNKNOWN_VNI;
	r = kd_parse_l2(m, (uint16_t)(vx_off + sizeof(*vx)), pm);
	if (unlikely(r != KD_PARSE_OK))
		return r;
	if (unlikely(pm->ether_type != RTE_ETHER_TYPE_IPV4))
		return KD_DROP_PARSE_ETHERTYPE;
	r = kd_parse_ipv4(m, pm, true);
	if (unlikely(r != KD_PARSE_OK))
		return r;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	if (unlikely(ip->time_to_live <= 1))
		return KD_DROP_FWD_TTL;
	d->vpc = (uint16_t)vpc_idx;
	return KD_PARSE_OK;
}

/*
 * Route the inner packet, after any translation. It goes to a local vNIC;
 * back into the tunnel only when we translated it (a remote client of a
 * Service with an endpoint on another node, or our refusal), so that the
 * overlay never relays plain traffic between two remote nodes.
 */
static __rte_always_inline enum kd_drop_reason
decap_route(const struct kd_tables *t, struct kd_fw_pkt *f, struct decap *d, bool tracked)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(f->m, const struct rte_ipv4_hdr *, d->pm.l3_off);
	const struct kd_vnic *vn;

	if (unlikely(f->out_zone == KD_ZONE_UNDERLAY)) {
		/* A remote endpoint's reply to an underlay client of ours. */
		if (!tracked || f->state == KD_FW_NEW)
			return KD_DROP_VXLAN_NO_LOCAL_DEST;
		d->hop = KD_NH_UNDERLAY;
		f->dst_port = KD_FW_REMOTE;
		return KD_PARSE_OK;
	}
	if (rte_lpm_lookup(t->vpc[d->vpc].lpm, rte_be_to_cpu_32(ip->dst_addr), &d->hop) != 0)
		return KD_DROP_VXLAN_NO_LOCAL_DEST;
	if (d->hop & KD_NH_REMOTE) {
		if (!tracked || ip->dst_addr == f->key.ip[1])
			return KD_DROP_VXLAN_NO_LOCAL_DEST;
		f->dst_port = KD_FW_REMOTE;
		return KD_PARSE_OK;
	}
	vn = &t->vnic[d->hop];
	if (unlikely(!vn->used || vn->vpc != d->vpc))
		return KD_DROP_VXLAN_NO_LOCAL_DEST;
	f->dst_port = (uint16_t)d->hop;
	return KD_PARSE_OK;
}

/* After the firewall: strip the outer headers and deliver, or tunnel it again. */
static void
decap_finish(struct kd_worker *w, const struct kd_tables *t, const struct kd_fw_pkt *f,
	     const struct decap *d)
{
	struct rte_mbuf *m = f->m;

	kd_egress_dec_ttl(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, d->pm.l3_off));
	kd_egress_deliver(w, t, &t->vpc[d->vpc], m, &d->pm, d->hop, f->hop, KD_EV_VXLAN_DECAP);
}

void
kd_vxlan_uplink_burst(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf **pkts,
		      uint16_t n)
{
	uint32_t last_vni = UINT32_MAX;
	int last_vpc = -1;
	struct decap dc[KD_BURST];
	struct kd_fw_pkt fp[KD_BURST];
	struct kd_pkt_meta ppm[KD_BURST];
	struct rte_mbuf *plain[KD_BURST];
	uint16_t i, nd = 0, np = 0, pending = 0;

	for (i = 0; i < PREFETCH_AHEAD && i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ipv4_hdr *ip;
		const struct rte_udp_hdr *udp;
		struct kd_pkt_meta pm;
		enum kd_drop_reason r;
		uint16_t out = t->uplink_port;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		r = kd_parse_l2(m, 0, &pm);
		if (unlikely(r != KD_PARSE_OK))
			goto drop;
		if (unlikely(pm.ether_type == RTE_ETHER_TYPE_ARP)) {
			r = kd_arp_input_slow(w->st, t, m, &pm, true);
			goto done;
		}
		if (unlikely(pm.ether_type != RTE_ETHER_TYPE_IPV4)) {
			r = KD_DROP_PARSE_ETHERTYPE;
			goto drop;
		}
		r = kd_parse_ipv4(m, &pm, kd_parse_need_ip_csum(m));
		if (unlikely(r != KD_PARSE_OK))
			goto drop;
		ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm.l3_off);
		if (unlikely(ip->dst_addr != t->vtep_ip))
			goto plain;	/* a Service address, or not for us */
		if (unlikely(pm.is_frag)) {
			r = KD_DROP_VXLAN_OUTER_FRAG;
			goto drop;
		}
		udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, pm.l4_off);
		if (likely(pm.l4_proto == IPPROTO_UDP &&
			   udp->dst_port == rte_cpu_to_be_16(RTE_VXLAN_DEFAULT_PORT))) {
			r = decap_one(t, m, &pm, &last_vni, &last_vpc, &dc[nd]);
			if (unlikely(r != KD_PARSE_OK))
				goto drop;
			kd_fw_pkt_init(w, &fp[nd], m, &dc[nd].pm, dc[nd].vpc, KD_FW_REMOTE);
			nd++;
			continue;
		}
		if (pm.l4_proto != IPPROTO_ICMP ||
		    ((const struct rte_icmp_hdr *)udp)->icmp_type != RTE_IP_ICMP_ECHO_REQUEST)
			goto plain;	/* a NodePort, or a reply to a masqueraded connection */
		r = kd_arp_icmp_echo_slow(w->st, m, &pm, &t->uplink_mac);
done:
		if (likely(r == KD_PARSE_OK)) {
			kd_stage_tx(w, out, m);
			continue;
		}
		if (r == KD_PARSE_CONSUMED) {
			kd_stage_consume(w, m);
			continue;
		}
drop:
		kd_stage_drop(w, m, r);
		continue;
plain:
		ppm[np] = pm;
		plain[np++] = m;
	}
	if (np != 0)
		kd_underlay_burst(w, t, plain, ppm, np);
	if (nd == 0)
		return;
	/* Known connections and Service translation, then the route, then policy. */
	if (w->ct != NULL)
		pending = kd_fw_lookup_burst(w, t, fp, nd);
	for (i = 0; i < nd; i++) {
		enum kd_drop_reason r;

		if (fp[i].state == KD_FW_DROPPED)
			continue;
		r = decap_route(t, &fp[i], &dc[i], w->ct != NULL);
		if (unlikely(r != KD_PARSE_OK))
			kd_fw_drop(w, &fp[i], r);
	}
	if (pending != 0)
		kd_fw_commit_burst(w, t, fp, nd);
	for (i = 0; i < nd; i++)
		if (fp[i].state == KD_FW_PASS)
			decap_finish(w, t, &fp[i], &dc[i]);
}
