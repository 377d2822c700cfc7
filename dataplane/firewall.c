/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "dataplane/arp.h"
#include "dataplane/conntrack.h"
#include "dataplane/ct_cache.h"
#include "dataplane/ct_icmp.h"
#include "dataplane/firewall.h"
#include "dataplane/lb.h"
#include "dataplane/nat.h"
#include "dataplane/policy.h"
#include "dataplane/reject.h"
#include "dataplane/stage.h"


/* Bytes from the L4 header to the end of the IP packet, within the first segment. */
static __rte_always_inline uint32_t
l4_len(const struct kd_fw_pkt *p)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(p->m, const struct rte_ipv4_hdr *, p->pm->l3_off);
	uint32_t end = RTE_MIN((uint32_t)p->pm->l3_off + rte_be_to_cpu_16(ip->total_length),
			       (uint32_t)rte_pktmbuf_data_len(p->m));

	return end > p->pm->l4_off ? end - p->pm->l4_off : 0;
}

static __rte_always_inline void
rewrite(struct kd_fw_pkt *p, const struct kd_ct_key *t)
{
	kd_nat_rewrite(rte_pktmbuf_mtod_offset(p->m, void *, p->pm->l3_off),
		       rte_pktmbuf_mtod_offset(p->m, void *, p->pm->l4_off), l4_len(p), t);
}

/* A packet of a translated connection becomes the reverse of the other key. */
static __rte_always_inline void
translate(struct kd_fw_pkt *p, const struct kd_ct_conn *c, uint8_t dir)
{
	struct kd_ct_key t;

	kd_ct_key_reverse(&t, &c->key[!dir]);
	rewrite(p, &t);
	/* It now travels as the other key's reverse: in that key's zone. */
	p->out_zone = c->key[!dir].zone;
	p->hop = c->hop;
}

/*
 * An ICMP error passes if it is about a connection we track (ct_icmp.c). If
 * the connection is translated, the error is too: the quote goes back to
 * what its sender knew, and the outer addresses move like the connection's
 * own packets.
 */
static bool
related(struct kd_worker *w, struct kd_fw_pkt *p)
{
	struct kd_ct *ct = w->ct;
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(p->m, struct rte_ipv4_hdr *, p->pm->l3_off);
	uint32_t end = (uint32_t)p->pm->l3_off + rte_be_to_cpu_16(ip->total_length);
	enum kd_ct_icmp_rel rel;
	const struct kd_ct_conn *c;
	struct kd_ct_key outer;
	uint32_t idx;
	uint8_t dir, d;

	rel = kd_ct_icmp_related(ct, p->m, p->pm, p->zone, &idx, &dir);
	if (rel != KD_CT_ICMP_QUOTED)
		return rel != KD_CT_ICMP_NONE;
	c = &ct->conn[idx];
	if (!(c->flags & KD_CT_F_NAT))
		return true;
	/*
	 * The error travels like a packet matching key[dir] and quotes one that
	 * went direction d after translation: make the quote key[d] again and
	 * the outer addresses what key[dir]'s packets become.
	 */
	d = !dir;
	outer.ip[0] = ip->src_addr == c->key[dir].ip[0] ? c->key[d].ip[1] : ip->src_addr;
	outer.ip[1] = ip->dst_addr == c->key[dir].ip[1] ? c->key[d].ip[0] : ip->dst_addr;
	if (!kd_nat_icmp_error(ip, rte_pktmbuf_mtod_offset(p->m, void *, p->pm->l4_off),
			       RTE_MIN(end, (uint32_t)rte_pktmbuf_data_len(p->m)) - p->pm->l4_off,
			       &outer, &c->key[d]))
		return false;
	p->out_zone = c->key[d].zone;
	p->hop = c->hop;
	w->st->event[KD_EV_NAT_ICMP_ERROR]++;
	return true;
}

/* A refusal counts once per port and direction; the control thread credits the isolating policies. */
static inline void
count_deny(struct kd_stats *st, uint16_t port, enum kd_pol_dir dir)
{
	st->deny_at[port][dir]++;
}

/* Egress of the source pod, then ingress of the destination pod. */
static uint32_t
judge_policy(struct kd_stats *st, const struct kd_policy *pol, const struct kd_fw_pkt *p,
	     const struct kd_ct_key *k, enum kd_drop_reason *why)
{
	uint32_t e = KD_POL_OPEN, i = KD_POL_OPEN;

	if (p->src_port != KD_FW_REMOTE)
		e = kd_policy_check(pol, p->src_port, KD_POL_EGRESS, k->proto, k->ip[1],
				    k->port[1]);
	if (e == KD_POL_DENY) {
		count_deny(st, p->src_port, KD_POL_EGRESS);
		*why = KD_DROP_POLICY_EGRESS;
		return KD_POL_DENY;
	}
	if (p->dst_port != KD_FW_REMOTE)
		i = kd_policy_check(pol, p->dst_port, KD_POL_INGRESS, k->proto, k->ip[0],
				    k->port[1]);
	if (i == KD_POL_DENY) {
		count_deny(st, p->dst_port, KD_POL_INGRESS);
		*why = KD_DROP_POLICY_INGRESS;
		return KD_POL_DENY;
	}
	/* Show the ingress rule when there is one: it names the receiving pod's policy. */
	return i != KD_POL_OPEN ? i : e;
}

/* Without any NetworkPolicy, a new connection pays one test here, not a call. */
static __rte_always_inline uint32_t
policy_verdict(struct kd_stats *st, const struct kd_policy *pol, const struct kd_fw_pkt *p,
	       const struct kd_ct_key *k, enum kd_drop_reason *why)
{
	return pol == NULL ? KD_POL_OPEN : judge_policy(st, pol, p, k, why);
}

static __rte_always_inline void
account(struct kd_ct *ct, struct kd_ct_conn *c, uint8_t dir, const struct rte_mbuf *m,
	uint64_t now)
{
	/*
	 * One direction of a connection arrives on one queue, so each counter has
	 * one writer: a plain relaxed add, not a locked one per packet (a rare
	 * race between two queues may lose a count, never corrupt one).
	 */
	__atomic_store_n(&c->pkts[dir], __atomic_load_n(&c->pkts[dir], __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->bytes[dir], __atomic_load_n(&c->bytes[dir], __ATOMIC_RELAXED) +
			 rte_pktmbuf_pkt_len(m), __ATOMIC_RELAXED);
	if (dir == KD_CT_REPLY && !(c->flags & KD_CT_F_REPLIED))
		__atomic_fetch_or(&c->flags, KD_CT_F_REPLIED, __ATOMIC_RELAXED);
	__atomic_store_n(&c->expires, now + kd_ct_timeout(ct, c), __ATOMIC_RELAXED);
}

static __rte_always_inline enum kd_drop_reason
established(struct kd_worker *w, const struct kd_policy *pol, struct kd_fw_pkt *p, uint32_t idx,
	    uint8_t dir, uint64_t now, bool *reopen);

/*
 * The translated tuple's reply is taken by another connection: the same
 * client port already reaches this endpoint through another Service (Linux
 * reuses an ephemeral port toward different destinations). Move the
 * source port, as Linux's NAT does when a tuple is in use, and rewrite.
 */
static int
nat_clash(struct kd_ct *ct, struct kd_fw_pkt *p, uint64_t now, uint32_t *found, uint8_t *dir)
{
	int idx = kd_nat_clash_insert(ct, &p->key, p->hash, &p->xkey, p->hop, now, found, dir);

	if (idx >= 0)
		rewrite(p, &p->xkey);
	return idx;
}

/* A connection leaving the cluster: source the node IP and a free port of the range. */
static int
masquerade(const struct kd_tables *t, struct kd_ct *ct, struct kd_fw_pkt *p, uint64_t now,
	   uint32_t *found, uint8_t *dir)
{
	/* A Service connection to an endpoint outside the cluster keeps its DNAT. */
	if (!p->nat)
		p->xkey = p->key;
	return kd_nat_masquerade_insert(ct, &p->key, p->hash, &p->xkey, t->vtep_ip, t->masq_lo,
					t->masq_hi, p->hop, now, found, dir);
}

/*
 * What policy judges: the client as it sent, the endpoint as it receives
 * (kube-proxy filters after DNAT and before SNAT).
 */
static __rte_always_inline void
policy_tuple(struct kd_ct_key *pk, const struct kd_ct_key *orig, const struct kd_ct_key *xlat)
{
	*pk = *orig;
	pk->ip[1] = xlat->ip[1];
	pk->port[1] = xlat->port[1];
}

/* A new connection: policy, TCP's first-packet rules, insert. Returns a drop reason or OK. */
static enum kd_drop_reason
admit(struct kd_worker *w, const struct kd_tables *t, const struct kd_policy *pol,
      struct kd_fw_pkt *p, uint64_t now)
{
	const struct kd_ct_key *k = &p->key;
	struct kd_ct *ct = w->ct;
	enum kd_drop_reason why = KD_PARSE_OK;
	struct kd_ct_key pk, rk;
	const struct kd_ct_key *reply = NULL;
	const struct kd_ct_proto *l4 = kd_ct_proto_of(k->proto);
	struct kd_ct_tcp tcp;
	struct kd_ct_conn *c;
	uint32_t verdict, found;
	uint8_t dir;
	int idx;

	if (p->nat) {
		policy_tuple(&pk, k, &p->xkey);
		kd_ct_key_reverse(&rk, &p->xkey);
		reply = &rk;
	}
	verdict = policy_verdict(w->st, pol, p, p->nat ? &pk : k, &why);
	if (verdict == KD_POL_DENY)
		return why;
	if (l4->new_conn != NULL && !l4->new_conn(&tcp, p->m, p->pm))
		return KD_DROP_CT_INVALID;
	found = UINT32_MAX;
	if (unlikely(p->masq)) {
		idx = masquerade(t, ct, p, now, &found, &dir);
		if (idx == -EADDRINUSE)
			return KD_DROP_NAT_NO_PORTS;
		if (idx >= 0) {
			rewrite(p, &p->xkey);
			w->st->event[KD_EV_NAT_MASQUERADE]++;
		}
	} else {
		idx = kd_ct_insert_with_hash(ct, k, p->hash, reply, p->hop, now, &found, &dir);
	}
	if (unlikely(idx == -EEXIST && found == UINT32_MAX && p->nat))
		idx = nat_clash(ct, p, now, &found, &dir);
	if (unlikely(idx == -EEXIST)) {
		/*
		 * Created since our lookup: by an earlier packet of the same burst,
		 * or by another worker. It is an established connection now.
		 */
		bool reopen = false;

		if (found == UINT32_MAX)
			return p->nat ? KD_DROP_LB_NAT_CLASH : KD_DROP_CT_RACE;
		why = established(w, pol, p, found, dir, now, &reopen);
		if (!reopen && why == KD_PARSE_OK && (ct->conn[found].flags & KD_CT_F_NAT)) {
			/*
			 * Translated by whoever made it (its source port may have moved
			 * on a clash, or another worker masqueraded it): take that.
			 */
			translate(p, &ct->conn[found], dir);
		}
		return reopen ? KD_DROP_CT_RACE : why;
	}
	if (unlikely(idx < 0))
		return idx == -ENOSPC ? KD_DROP_CT_FULL : KD_DROP_CT_RACE;
	c = &ct->conn[idx];
	if (l4->new_conn != NULL)
		c->tcp = tcp;
	c->policy = verdict == KD_POL_OPEN ? 0 : verdict;
	if (c->policy != 0 && c->policy <= KD_STATS_POLICIES)
		w->st->pol_allow[c->policy - 1]++;
	c->pgen = pol != NULL ? (uint32_t)pol->gen : 0;
	account(ct, c, KD_CT_ORIG, p->m, now);
	w->st->event[KD_EV_CT_NEW]++;
	return KD_PARSE_OK;
}

/* Judged again as if new, in its original direction, once per policy change. */
static __rte_noinline bool
rejudge(struct kd_worker *w, const struct kd_policy *pol, const struct kd_fw_pkt *p,
	struct kd_ct_conn *c, uint32_t idx, uint8_t dir, uint32_t pgen)
{
	struct kd_fw_pkt orig = *p;
	struct kd_ct_key pk, x;
	enum kd_drop_reason why;
	uint32_t verdict;

	if (dir == KD_CT_REPLY) {
		orig.src_port = p->dst_port;
		orig.dst_port = p->src_port;
	}
	kd_ct_key_reverse(&x, &c->key[KD_CT_REPLY]);
	policy_tuple(&pk, &c->key[KD_CT_ORIG], &x);
	verdict = policy_verdict(w->st, pol, &orig, &pk, &why);
	if (verdict == KD_POL_DENY) {
		kd_ct_delete(w->ct, idx);
		return false;
	}
	c->policy = verdict == KD_POL_OPEN ? 0 : verdict;
	c->pgen = pgen;
	return true;
}

/* A known connection: re-judge after a policy change, track TCP, count. */
static __rte_always_inline enum kd_drop_reason
established(struct kd_worker *w, const struct kd_policy *pol, struct kd_fw_pkt *p,
	    uint32_t idx, uint8_t dir, uint64_t now, bool *reopen)
{
	struct kd_ct *ct = w->ct;
	struct kd_ct_conn *c = &ct->conn[idx];
	const struct kd_ct_proto *l4 = kd_ct_proto_of(c->proto);
	uint32_t pgen = pol != NULL ? (uint32_t)pol->gen : 0;

	if (unlikely(c->pgen != pgen) && !rejudge(w, pol, p, c, idx, dir, pgen))
		return KD_DROP_POLICY_CUT;
	if (l4->update != NULL) {
		enum kd_ct_update v = l4->update(c, dir, p->m, p->pm);

		if (v == KD_CT_UPDATE_INVALID)
			return KD_DROP_CT_INVALID;
		if (v == KD_CT_UPDATE_REOPEN) {
			kd_ct_delete(ct, idx);
			*reopen = true;
			return KD_PARSE_OK;
		}
	}
	account(ct, c, dir, p->m, now);
	return KD_PARSE_OK;
}

void
kd_fw_drop(struct kd_worker *w, struct kd_fw_pkt *p, enum kd_drop_reason r)
{
	p->state = KD_FW_DROPPED;
	kd_stage_drop(w, p->m, r);
}

/* The Service has no endpoint for this client: refuse, or drop (Local policy). */
static void
no_endpoint(struct kd_worker *w, struct kd_fw_pkt *p, const struct kd_lb_pool *pl)
{
	if (pl->empty == KD_LB_DROP) {
		kd_fw_drop(w, p, KD_DROP_LB_NO_LOCAL_ENDPOINTS);
		return;
	}
	w->st->drop[KD_DROP_LB_NO_ENDPOINTS]++;
	w->st->port[p->m->port].drops++;
	if (kd_reject_build(p->m, p->pm->l3_off, p->pm->l4_off)) {
		w->st->event[KD_EV_LB_REJECTED]++;
		p->state = KD_FW_REJECT;
	} else {
		p->state = KD_FW_DROPPED;
		kd_stage_consume(w, p->m);
	}
}

/*
 * A new connection to a Service: pick the endpoint and rewrite the packet
 * to it now, so that routing sees the endpoint. A pod reaching itself is
 * also given the hairpin source, so that the reply comes back through us;
 * so is an underlay client under the Cluster policy (the node IP toward a
 * local endpoint, the hairpin address, which remote nodes route to us over
 * the overlay, toward a remote one).
 */
static __rte_noinline void
service(struct kd_worker *w, const struct kd_tables *t, const struct kd_lb *lb,
	struct kd_fw_pkt *p, uint64_t now)
{
	bool ext = p->zone == KD_ZONE_UNDERLAY;
	enum kd_lb_side side = ext ? KD_LB_EXT : KD_LB_IN;
	const struct kd_lb_frontend *fe;
	const struct kd_lb_backend *b;
	int hop;

	if (p->key.proto != IPPROTO_TCP && p->key.proto != IPPROTO_UDP &&
	    p->key.proto != IPPROTO_SCTP)
		return;
	fe = kd_lb_lookup(lb, p->key.ip[1], p->key.port[1], p->key.proto);
	if (fe == NULL || (ext && (!(fe->flags & KD_LB_F_EXTERNAL) || t->svc_vpc < 0)))
		return;
	if (unlikely(!kd_lb_source_allowed(fe, p->key.ip[0]))) {
		kd_fw_drop(w, p, KD_DROP_LB_SOURCE_RANGE);
		return;
	}
	if (ext) {
		const struct rte_ether_hdr *eth =
			rte_pktmbuf_mtod_offset(p->m, const struct rte_ether_hdr *, p->pm->l2_off);

		/* Replies go back the way the client came: learn that hop now. */
		hop = kd_arp_next_hop_slow(t, p->key.ip[0], &eth->src_addr);
		if (hop < 0) {
			kd_fw_drop(w, p, KD_DROP_ARP_UNRESOLVED);
			return;
		}
		p->hop = (uint16_t)hop;
	}
	b = kd_lb_select(fe, side, p->key.ip[0], rte_hash_crc(&p->key, sizeof(p->key), 0), now);
	if (unlikely(b == NULL)) {
		no_endpoint(w, p, &fe->pool[side]);
		return;
	}
	p->xkey = p->key;
	p->xkey.ip[1] = b->ip;
	p->xkey.port[1] = b->port;
	if (ext) {
		p->xkey.zone = (uint16_t)t->svc_vpc;
		if (fe->pool[side].snat) {
			p->xkey.ip[0] = (b->flags & KD_LB_EP_LOCAL) ? lb->node_ip : lb->hairpin_ip;
			w->st->event[KD_EV_LB_EXTERNAL_SNAT]++;
		}
		w->st->event[KD_EV_LB_EXTERNAL]++;
	} else if (unlikely(b->ip == p->key.ip[0])) {
		p->xkey.ip[0] = lb->hairpin_ip;
		w->st->event[KD_EV_LB_HAIRPIN]++;
	}
	p->nat = 1;
	p->out_zone = p->xkey.zone;
	rewrite(p, &p->xkey);
	w->st->event[KD_EV_LB_NEW]++;
}

/* One packet after its lookup: a known connection's, or a new one's. */
static __rte_always_inline void
judge(struct kd_worker *w, const struct kd_tables *t, const struct kd_policy *pol,
      const struct kd_lb *lb, struct kd_fw_pkt *p, uint32_t idx, uint8_t dir, uint64_t now)
{
	struct kd_ct *ct = w->ct;
	uint32_t pgen = pol != NULL ? (uint32_t)pol->gen : 0;
	bool live = idx != UINT32_MAX && kd_ct_confirm(ct, idx, dir, &p->key);
	const struct kd_ct_conn *c;

	if (unlikely(idx != UINT32_MAX && !live)) {
		/* A cache entry that outlived its connection, or a connection being deleted. */
		w->st->event[KD_EV_CT_CACHE_STALE]++;
		kd_ct_lookup_table(ct, w->ctc, &p->key, p->hash, &idx, &dir);
		live = idx != UINT32_MAX && kd_ct_confirm(ct, idx, dir, &p->key);
	}
	c = idx != UINT32_MAX ? &ct->conn[idx] : NULL;
	p->idx = idx;
	p->dir = dir;
	if (live && unlikely((int64_t)(now - __atomic_load_n(&c->expires, __ATOMIC_RELAXED)) > 0)) {
		/* Past its timeout, not swept yet: gone, as nf_ct_is_expired() says. */
		kd_ct_delete(ct, idx);
		w->st->event[KD_EV_CT_EXPIRED]++;
		live = false;
	}
	if (live) {
		enum kd_drop_reason r;
		bool reopen = false;

		if (unlikely(c->pgen != pgen)) {
			p->state = KD_FW_RECHECK;
			if (c->flags & KD_CT_F_NAT) {
				translate(p, c, dir);
				/*
				 * Kept if a SYN reopens the tuple after the recheck; a
				 * masqueraded one picks its port again from the range.
				 */
				if (dir == KD_CT_ORIG) {
					kd_ct_key_reverse(&p->xkey, &c->key[KD_CT_REPLY]);
					if (p->xkey.zone == KD_ZONE_UNDERLAY && p->zone != KD_ZONE_UNDERLAY)
						p->masq = 1;
					else
						p->nat = 1;
				}
			}
			return;
		}
		r = established(w, pol, p, idx, dir, now, &reopen);
		if (reopen) {
			w->st->event[KD_EV_CT_REOPENED]++;
			p->state = KD_FW_NEW;
			if (lb != NULL)
				service(w, t, lb, p, now);
		} else if (r != KD_PARSE_OK) {
			kd_fw_drop(w, p, r);
		} else {
			p->state = KD_FW_PASS;
			if (c->flags & KD_CT_F_NAT)
				translate(p, c, dir);
		}
	} else if (unlikely(p->kind == KD_FW_KEY_UNTRACKED)) {
		p->state = KD_FW_UNTRACKED;
	} else if (unlikely(p->kind == KD_FW_KEY_RELATED) && related(w, p)) {
		p->state = KD_FW_PASS;
	} else {
		p->state = KD_FW_NEW;
		if (lb != NULL)
			service(w, t, lb, p, now);
	}
}

/*
 * Lookups go in chunks, one ahead of the judging: the records a chunk's
 * lookup prefetched arrive while the next chunk is looked up, so at scale
 * the record misses overlap the next lookups instead of stalling after
 * them. The cache buckets were prefetched earlier still, by kd_fw_pkt_init()
 * as the burst was parsed.
 */
#define FW_CHUNK 16

uint16_t
kd_fw_lookup_burst(struct kd_worker *w, const struct kd_tables *t, struct kd_fw_pkt *p,
		   uint16_t n)
{
	const struct kd_policy *pol = w->pol;
	const struct kd_lb *lb = w->lb;
	struct kd_ct *ct = w->ct;
	const struct kd_ct_key *kp[KD_BURST];
	uint32_t idx[KD_BURST];
	uint8_t dir[KD_BURST];
	uint32_t hash[KD_BURST];
	uint64_t now = rte_rdtsc();
	uint16_t i, s, judged = 0, pending = 0;
	unsigned int misses = 0;

	for (i = 0; i < n; i++) {
		kp[i] = &p[i].key;
		hash[i] = p[i].hash;
	}
	for (s = 0; judged < n; s += FW_CHUNK) {
		if (s < n)
			misses += kd_ct_lookup_burst(ct, w->ctc, &kp[s], &hash[s],
						     RTE_MIN(FW_CHUNK, n - s), &idx[s], &dir[s]);
		for (; judged < RTE_MIN(s, n); judged++) {
			judge(w, t, pol, lb, &p[judged], idx[judged], dir[judged], now);
			pending += p[judged].state != KD_FW_PASS && p[judged].state != KD_FW_DROPPED;
		}
	}
	w->st->event[KD_EV_CT_CACHE_MISS] += misses;
	return pending;
}

/* Counted like a drop, answered like a closed port: back to the vNIC it came from. */
static __rte_noinline void
refuse_back(struct kd_worker *w, struct kd_fw_pkt *p, enum kd_drop_reason r)
{
	w->st->drop[r]++;
	w->st->port[p->m->port].drops++;
	if (p->src_port == KD_FW_REMOTE || !kd_reject_build(p->m, p->pm->l3_off, p->pm->l4_off)) {
		p->state = KD_FW_DROPPED;
		kd_stage_consume(w, p->m);
		return;
	}
	p->back = 1;
	p->state = KD_FW_PASS;
}

void
kd_fw_commit_burst(struct kd_worker *w, const struct kd_tables *t, struct kd_fw_pkt *p,
		   uint16_t n)
{
	const struct kd_policy *pol = w->pol;
	uint64_t now = rte_rdtsc();
	uint16_t i;

	for (i = 0; i < n; i++) {
		enum kd_drop_reason r = KD_PARSE_OK, why;
		bool reopen = false;

		switch (p[i].state) {
		case KD_FW_NEW:
			r = admit(w, t, pol, &p[i], now);
			break;
		case KD_FW_RECHECK:
			r = established(w, pol, &p[i], p[i].idx, p[i].dir, now, &reopen);
			if (reopen) {
				w->st->event[KD_EV_CT_REOPENED]++;
				r = admit(w, t, pol, &p[i], now);
			}
			break;
		case KD_FW_UNTRACKED:
			if (policy_verdict(w->st, pol, &p[i], &p[i].key, &why) != KD_POL_OPEN)
				r = KD_DROP_CT_FRAGMENT;
			break;
		case KD_FW_REJECT:
			break;	/* our own answer to the sender */
		default:
			continue;
		}
		if (unlikely(r == KD_DROP_NAT_NO_PORTS)) {
			refuse_back(w, &p[i], r);
			continue;
		}
		if (r != KD_PARSE_OK)
			kd_fw_drop(w, &p[i], r);
		else
			p[i].state = KD_FW_PASS;
	}
}
