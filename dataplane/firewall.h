/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_FIREWALL_H
#define KDPU_DATAPLANE_FIREWALL_H

/*
 * The stateful firewall and Service NAT stage, around routing. For a burst
 * of IPv4 packets it builds connection keys (zone = VPC slot), looks them
 * all up at once, and then:
 *  - a hit moves the connection's state (TCP as Linux does) and counters and
 *    passes, unless the TCP tracker calls the packet invalid, or the policy
 *    changed since the connection was allowed and no longer allows it (then
 *    the connection is cut on this packet);
 *  - a hit on a translated connection is rewritten (dataplane/nat.h) before
 *    it is routed;
 *  - a miss is a new connection. If it goes to a Service (dataplane/lb.h) an
 *    endpoint is chosen and the packet rewritten to it, or refused when
 *    there is none. The source pod's egress policy and the destination
 *    pod's ingress policy are then checked on the post-DNAT, routed
 *    destination, and an allowed connection is inserted with both of its
 *    keys, so that replies are translated back.
 * Replies of an allowed connection always pass. Packets the tracker cannot
 * follow (non-first IPv4 fragments) pass untracked unless an end is isolated.
 *
 * The underlay (plain IP on the uplink) is a zone of its own. Service
 * clients there reach NodePort, LoadBalancer and external IP frontends,
 * DNATed into the Service VPC and, under externalTrafficPolicy Cluster,
 * SNATed to the node. Pod connections that routing finds leaving the
 * cluster network are masqueraded to the node IP on the way out, with a
 * source port the connection table proves free (the insert checks both
 * keys under its writer lock, so two workers never hand out one port);
 * when no port of the range is free, the connection is refused.
 *
 * Worker context.
 */

#include <stdint.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_cache.h"
#include "dataplane/ct_icmp.h"
#include "dataplane/parse.h"
#include "dataplane/tables.h"
#include "dataplane/worker.h"

/* An end of the connection that is not a local vNIC. */
#define KD_FW_REMOTE UINT16_MAX

/* Where a packet stands between the two phases. */
enum kd_fw_state {
	KD_FW_PASS,		/* a known connection's packet, tracked: send it */
	KD_FW_NEW,		/* no connection yet: policy and insert after routing */
	KD_FW_RECHECK,		/* known, but judged by an older policy: judge again after routing */
	KD_FW_UNTRACKED,	/* a fragment: policy decides after routing */
	KD_FW_DROPPED,		/* counted and queued for freeing; skip it */
	KD_FW_REJECT,		/* turned into a refusal for its sender: route it, no policy */
};

struct kd_fw_pkt {
	struct rte_mbuf *m;
	const struct kd_pkt_meta *pm;	/* inner headers */
	uint16_t zone;			/* VPC slot */
	uint16_t src_port;		/* local vNIC the packet came from, or KD_FW_REMOTE */
	uint16_t dst_port;		/* local vNIC it goes to, or KD_FW_REMOTE; set by routing */
	uint16_t out_zone;		/* zone after translation: a VPC slot or KD_ZONE_UNDERLAY */
	uint16_t hop;			/* underlay neighbour slot when out_zone is the underlay */
	uint8_t state;			/* enum kd_fw_state, set by kd_fw_lookup_burst */
	uint8_t dir;
	uint8_t nat;			/* a new connection to a Service: xkey holds the translation */
	uint8_t masq;			/* set by routing: a new connection leaving the cluster */
	uint8_t back;			/* turned into a refusal for the vNIC it came from */
	uint8_t kind;			/* enum kd_fw_key_kind */
	uint32_t idx;
	uint32_t hash;			/* kd_ct_hash(&key) */
	struct kd_ct_key key;		/* as received */
	struct kd_ct_key xkey;		/* as sent, when nat */
};

/* What a packet's key says about tracking it. */
enum kd_fw_key_kind {
	KD_FW_KEY_TRACK,
	KD_FW_KEY_UNTRACKED,	/* a fragment: not every one carries the ports */
	KD_FW_KEY_RELATED,	/* an ICMP error, about the connection it quotes */
};

/* Two 16-bit fields, in the order they sit in memory, as one 32-bit word. */
static __rte_always_inline uint32_t
kd_fw_pair(uint16_t first, uint16_t second)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return first | (uint32_t)second << 16;
#else
	return (uint32_t)first << 16 | second;
#endif
}

/**
 * Fill p for IPv4 packet m (headers pm) from zone and local port src_port
 * (or KD_FW_REMOTE), with its key and the key's hash, and prefetch the
 * worker's cache bucket for it. Callers do this as they parse, so that the
 * bucket is on its way while the rest of the burst is parsed. The key is
 * composed in registers and stored whole: hashing it back from memory after
 * narrow stores would wait on them.
 */
static __rte_always_inline void
kd_fw_pkt_init(const struct kd_worker *w, struct kd_fw_pkt *p, struct rte_mbuf *m,
	       const struct kd_pkt_meta *pm, uint16_t zone, uint16_t src_port)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	const uint8_t *l4 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pm->l4_off);
	uint8_t proto = ip->next_proto_id;
	uint8_t kind = KD_FW_KEY_TRACK;
	uint32_t ports = 0;
	uint64_t a, b;

	p->m = m;
	p->pm = pm;
	p->zone = zone;
	p->src_port = src_port;
	p->dst_port = 0;
	p->out_zone = zone;
	p->hop = KD_CT_NO_HOP;
	p->state = KD_FW_PASS;
	p->dir = 0;
	p->nat = 0;
	p->masq = 0;
	p->back = 0;
	p->idx = UINT32_MAX;
	if (unlikely(pm->is_frag)) {
		kind = KD_FW_KEY_UNTRACKED;
	} else if (likely(proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP)) {
		memcpy(&ports, l4, 4);
	} else if (proto == IPPROTO_ICMP) {
		const struct rte_icmp_hdr *ic = (const struct rte_icmp_hdr *)l4;

		/* Request and reply keys mirror each other: (id, 0) one way, (0, id) back. */
		if (ic->icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
			ports = kd_fw_pair(ic->icmp_ident, 0);
		else if (ic->icmp_type == RTE_IP_ICMP_ECHO_REPLY)
			ports = kd_fw_pair(0, ic->icmp_ident);
		else if (ic->icmp_type == KD_CT_ICMP_DEST_UNREACH ||
			 ic->icmp_type == KD_CT_ICMP_TIME_EXCEEDED ||
			 ic->icmp_type == KD_CT_ICMP_PARAM_PROBLEM)
			kind = KD_FW_KEY_RELATED;
	}
	p->kind = kind;
	/* struct kd_ct_key as two words: the addresses as they sit in the header, ... */
	memcpy(&a, &ip->src_addr, 8);
	/* ... then ports, proto, pad 0 and zone. */
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	b = ports | (uint64_t)proto << 32 | (uint64_t)zone << 48;
#else
	b = (uint64_t)ports << 32 | (uint64_t)proto << 24 | zone;
#endif
	memcpy(&p->key, &a, 8);
	memcpy((uint8_t *)&p->key + 8, &b, 8);
	p->hash = kd_ct_hash_words(a, b);
	if (w->ctc != NULL)
		kd_ct_cache_prefetch(w->ctc, p->hash);
}

/*
 * Two phases around routing, so that a translation found in the connection
 * (NAT) is applied before the route is chosen, and policy is judged on the
 * routed destination:
 *   kd_fw_lookup_burst()  one bulk lookup of the kd_fw_pkt_init() keys,
 *                         tracking of known connections;
 *   (the caller routes what is not KD_FW_DROPPED and sets dst_port,
 *    or calls kd_fw_drop() for what it cannot route);
 *   kd_fw_commit_burst()  policy and insert for new connections, re-judgement
 *                         of connections after a policy change.
 * The lookup returns how many packets it left for the commit: a burst of
 * known connections only, the usual one, needs none.
 */
uint16_t kd_fw_lookup_burst(struct kd_worker *w, const struct kd_tables *t,
			    struct kd_fw_pkt *p, uint16_t n);
void kd_fw_commit_burst(struct kd_worker *w, const struct kd_tables *t, struct kd_fw_pkt *p,
			uint16_t n);

/** The caller drops a packet between the phases. */
void kd_fw_drop(struct kd_worker *w, struct kd_fw_pkt *p, enum kd_drop_reason r);

#endif
