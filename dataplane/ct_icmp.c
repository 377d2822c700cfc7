/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_icmp.h"
#include "dataplane/ct_proto.h"

/* Echo request and reply share one timeout; nothing to check per packet. */
const struct kd_ct_proto kd_ct_proto_icmp = {
	.name = "icmp",
	.tmo = { KD_CT_T_ICMP, KD_CT_T_ICMP },
};

enum kd_ct_icmp_rel
kd_ct_icmp_related(struct kd_ct *ct, const struct rte_mbuf *m, const struct kd_pkt_meta *pm,
		   uint16_t zone, uint32_t *idx, uint8_t *dir)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	uint32_t end = (uint32_t)pm->l3_off + rte_be_to_cpu_16(ip->total_length);
	uint32_t q = (uint32_t)pm->l4_off + sizeof(struct rte_icmp_hdr);
	const struct rte_ipv4_hdr *in;
	struct kd_ct_key k, r;
	uint16_t ihl;

	if (q + sizeof(*in) > end || q + sizeof(*in) > rte_pktmbuf_data_len(m))
		return KD_CT_ICMP_NONE;
	in = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, q);
	ihl = (uint16_t)((in->version_ihl & 0xf) * 4);
	if (ihl < sizeof(*in) || q + ihl + 4 > end || q + ihl + 4 > rte_pktmbuf_data_len(m))
		return KD_CT_ICMP_NONE;
	k.ip[0] = in->src_addr;
	k.ip[1] = in->dst_addr;
	k.proto = in->next_proto_id;
	k.pad = 0;
	k.zone = zone;
	k.port[0] = k.port[1] = 0;
	if (k.proto == IPPROTO_TCP || k.proto == IPPROTO_UDP || k.proto == IPPROTO_SCTP)
		memcpy(k.port, (const uint8_t *)in + ihl, 4);
	/* The quoted packet went the other way: its key is this error's reverse. */
	kd_ct_key_reverse(&r, &k);
	kd_ct_lookup_table(ct, NULL, &r, kd_ct_hash(&r), idx, dir);
	if (*idx != UINT32_MAX)
		return KD_CT_ICMP_QUOTED;
	kd_ct_lookup_table(ct, NULL, &k, kd_ct_hash(&k), idx, dir);
	return *idx != UINT32_MAX ? KD_CT_ICMP_SAME_WAY : KD_CT_ICMP_NONE;
}
