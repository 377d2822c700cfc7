/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_lpm.h>

#include "dataplane/egress.h"
#include "dataplane/firewall.h"
#include "dataplane/stage.h"
#include "dataplane/underlay.h"

/* Where a packet of the underlay goes, in the zone its translation chose. */
static enum kd_drop_reason
route(const struct kd_tables *t, struct kd_fw_pkt *f, uint32_t *hop)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(f->m, const struct rte_ipv4_hdr *, f->pm->l3_off);
	const struct kd_vpc *vpc;

	if (f->state == KD_FW_REJECT) {
		*hop = KD_NH_UNDERLAY;
		return KD_PARSE_OK;
	}
	if (f->state == KD_FW_UNTRACKED)
		return KD_DROP_UPLINK_FRAGMENT;
	if ((f->state == KD_FW_NEW && !f->nat) || f->out_zone >= KD_MAX_VPCS)
		return ip->dst_addr == t->vtep_ip ? KD_DROP_VXLAN_NOT_VXLAN : KD_DROP_VXLAN_NOT_VTEP;
	vpc = &t->vpc[f->out_zone];
	if (unlikely(!vpc->used))
		return KD_DROP_VXLAN_NO_LOCAL_DEST;
	if (rte_lpm_lookup(vpc->lpm, rte_be_to_cpu_32(ip->dst_addr), hop) != 0)
		return KD_DROP_FWD_NO_ROUTE;
	if (unlikely(ip->time_to_live <= 1))
		return KD_DROP_FWD_TTL;
	if (*hop & KD_NH_REMOTE) {
		f->dst_port = KD_FW_REMOTE;
		return KD_PARSE_OK;
	}
	if (unlikely(!t->vnic[*hop].used || t->vnic[*hop].vpc != f->out_zone))
		return KD_DROP_VXLAN_NO_LOCAL_DEST;
	f->dst_port = (uint16_t)*hop;
	return KD_PARSE_OK;
}

static void
deliver(struct kd_worker *w, const struct kd_tables *t, struct kd_fw_pkt *f, uint32_t hop)
{
	struct rte_mbuf *m = f->m;

	/* Our refusal goes back to the underlay client as we built it. */
	if (hop != KD_NH_UNDERLAY)
		kd_egress_dec_ttl(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  f->pm->l3_off));
	kd_egress_deliver(w, t, &t->vpc[f->out_zone < KD_MAX_VPCS ? f->out_zone : 0], m, f->pm,
			  hop, f->hop, KD_EV_FWD_LOCAL);
}

void
kd_underlay_burst(struct kd_worker *w, const struct kd_tables *t, struct rte_mbuf **pkts,
		  struct kd_pkt_meta *pm, uint16_t n)
{
	struct kd_fw_pkt fp[KD_BURST];
	uint32_t hop[KD_BURST];
	uint16_t i, pending;

	if (unlikely(w->ct == NULL)) {
		/* Without connection tracking there is nothing to translate: not for us. */
		for (i = 0; i < n; i++) {
			const struct rte_ipv4_hdr *ip =
				rte_pktmbuf_mtod_offset(pkts[i], const struct rte_ipv4_hdr *,
							pm[i].l3_off);

			kd_stage_drop(w, pkts[i], ip->dst_addr == t->vtep_ip ?
				       KD_DROP_VXLAN_NOT_VXLAN : KD_DROP_VXLAN_NOT_VTEP);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		kd_fw_pkt_init(w, &fp[i], pkts[i], &pm[i], KD_ZONE_UNDERLAY, KD_FW_REMOTE);
		fp[i].dst_port = KD_FW_REMOTE;
	}
	pending = kd_fw_lookup_burst(w, t, fp, n);
	for (i = 0; i < n; i++) {
		enum kd_drop_reason r;

		if (fp[i].state == KD_FW_DROPPED)
			continue;
		r = route(t, &fp[i], &hop[i]);
		if (unlikely(r != KD_PARSE_OK))
			kd_fw_drop(w, &fp[i], r);
	}
	if (pending != 0)
		kd_fw_commit_burst(w, t, fp, n);
	for (i = 0; i < n; i++)
		if (fp[i].state == KD_FW_PASS)
			deliver(w, t, &fp[i], hop[i]);
}
