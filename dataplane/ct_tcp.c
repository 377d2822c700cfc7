/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_common.h>
#include <rte_ip.h>
#include <rte_spinlock.h>
#include <rte_tcp.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_proto.h"
#include "dataplane/ct_tcp.h"

#define sNO KD_CT_TCP_NONE
#define sSS KD_CT_TCP_SYN_SENT
#define sSR KD_CT_TCP_SYN_RECV
#define sES KD_CT_TCP_ESTABLISHED
#define sFW KD_CT_TCP_FIN_WAIT
#define sCW KD_CT_TCP_CLOSE_WAIT
#define sLA KD_CT_TCP_LAST_ACK
#define sTW KD_CT_TCP_TIME_WAIT
#define sCL KD_CT_TCP_CLOSE
#define sS2 KD_CT_TCP_SYN_SENT2
#define sIV KD_CT_TCP_STATE_MAX		/* invalid */
#define sIG (KD_CT_TCP_STATE_MAX + 1)	/* ignore */

/* Linux keeps a picked-up connection from being judged on a window it never saw. */
#define KD_CT_TCP_F_LIBERAL 0x04
/* Linux's MAXACKWINDOW floor: acks may trail the sender's window by this much. */
#define MAX_ACK_WINDOW 66000

const char *const kd_ct_tcp_state_names[KD_CT_TCP_STATE_MAX] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
	"TIME_WAIT", "CLOSE", "SYN_SENT2",
};

enum { I_SYN, I_SYNACK, I_FIN, I_ACK, I_RST, I_NONE, I_MAX };

/*
 * [direction][flag class][current state] -> next state, the same transitions
 * as Linux's tcp_conntracks[][][] (states in enum order: NO SS SR ES FW CW LA
 * TW CL S2).
 */
static const uint8_t next_state[2][I_MAX][KD_CT_TCP_STATE_MAX] = {
	{	/* original */
/* syn */	{ sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
/* synack */	{ sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR },
/* fin */	{ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
/* ack */	{ sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
/* rst */	{ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/* none */	{ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
	{	/* reply */
/* syn */	{ sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 },
/* synack */	{ sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
/* fin */	{ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
/* ack */	{ sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
/* rst */	{ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
/* none */	{ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
};

#define F_FIN RTE_TCP_FIN_FLAG
#define F_SYN RTE_TCP_SYN_FLAG
#define F_RST RTE_TCP_RST_FLAG
#define F_ACK RTE_TCP_ACK_FLAG
#define F_URG RTE_TCP_URG_FLAG

/* The combinations a real stack sends (Linux's tcp_valid_flags); PSH, ECE and CWR aside. */
static bool
valid_flags(uint8_t f)
{
	f &= F_FIN | F_SYN | F_RST | F_ACK | F_URG;
	switch (f) {
	case F_SYN:
	case F_SYN | F_URG:
	case F_SYN | F_ACK:
	case F_RST:
	case F_RST | F_ACK:
	case F_FIN | F_ACK:
	case F_FIN | F_ACK | F_URG:
	case F_ACK:
	case F_ACK | F_URG:
		return true;
	default:
		return false;
	}
}

static unsigned int
flag_class(uint8_t f)
{
	if (f & F_RST)
		return I_RST;
	if (f & F_SYN)
		return (f & F_ACK) ? I_SYNACK : I_SYN;
	if (f & F_FIN)
		return I_FIN;
	if (f & F_ACK)
		return I_ACK;
	return I_NONE;
}

static inline bool
before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool
after(uint32_t a, uint32_t b)
{
	return before(b, a);
}

static uint32_t
seg_end(const struct kd_ct_tcp_seg *s)
{
	return s->seq + s->payload + ((s->flags & F_SYN) ? 1 : 0) + ((s->flags & F_FIN) ? 1 : 0);
}

/* The sender's first SYN (or SYN/ACK) sets its window; scaling needs both sides' consent. */
static void
init_dir(struct kd_ct_tcp_dir *d, const struct kd_ct_tcp_seg *s)
{
	d->end = d->maxend = seg_end(s);
	d->maxwin = s->win != 0 ? s->win : 1;
	d->flags = KD_CT_TCP_F_SEEN;
	d->wscale = 0;
	if (s->wscale != 0xff) {
		d->flags |= KD_CT_TCP_F_WSCALE;
		d->wscale = RTE_MIN(s->wscale, 14);
	}
}

/*
 * Linux's tcp_in_window(): the segment must lie within what the receiver can
 * accept, and its ack within what the receiver has sent, give or take a
 * window of retransmissions. On success the window edges move.
 */
static bool
in_window(struct kd_ct_tcp *c, unsigned int dir, const struct kd_ct_tcp_seg *s)
{
	struct kd_ct_tcp_dir *snd = &c->dir[dir], *rcv = &c->dir[!dir];
	uint32_t seq = s->seq, end = seg_end(s), ack = s->ack, swin, maxack;

	if (s->flags & F_SYN) {
		if (snd->maxwin == 0 || (s->flags & F_ACK)) {
			init_dir(snd, s);
			if ((s->flags & F_ACK) &&
			    !((snd->flags & KD_CT_TCP_F_WSCALE) && (rcv->flags & KD_CT_TCP_F_WSCALE)))
				snd->wscale = rcv->wscale = 0;
		}
	} else if (snd->maxwin == 0) {
		/* First packet of this direction on a picked-up connection. */
		snd->end = snd->maxend = end;
		snd->maxwin = s->win != 0 ? s->win : 1;
		snd->flags |= KD_CT_TCP_F_SEEN;
	}
	if ((snd->flags | rcv->flags) & KD_CT_TCP_F_LIBERAL)
		goto update;
	if (!(s->flags & F_ACK) || ((s->flags & F_RST) && ack == 0))
		ack = rcv->end;
	maxack = RTE_MAX(snd->maxwin, (uint32_t)MAX_ACK_WINDOW);
	if (!(before(seq, snd->maxend + 1) &&
	      after(end, snd->end - rcv->maxwin - 1) &&
	      before(ack, rcv->end + 1) &&
	      after(ack, rcv->end - maxack - 1)))
		return false;
update:
	swin = (uint32_t)s->win << ((s->flags & F_SYN) ? 0 : snd->wscale);
	if (snd->maxwin < swin)
		snd->maxwin = swin;
	if (after(end, snd->end))
		snd->end = end;
	if (s->flags & F_ACK) {
		if (after(ack + swin, rcv->maxend - 1))
			rcv->maxend = ack + swin + (swin == 0 ? 1 : 0);
	}
	c->last_dir = (uint8_t)dir;
	return true;
}

bool
kd_ct_tcp_new(struct kd_ct_tcp *c, const struct kd_ct_tcp_seg *s)
{
	unsigned int cls = flag_class(s->flags);

	if (!valid_flags(s->flags) || cls == I_RST || cls == I_SYNACK || cls == I_NONE)
		return false;
	*c = (struct kd_ct_tcp){ .state = KD_CT_TCP_NONE };
	if (cls == I_SYN) {
		init_dir(&c->dir[0], s);
		c->state = KD_CT_TCP_SYN_SENT;
		return true;
	}
	/*
	 * Mid-stream pickup (Linux's nf_conntrack_tcp_loose=1 default): a
	 * connection that predates us (a restart, a flushed table) keeps working.
	 * Its windows were never seen, so it is tracked liberally.
	 */
	c->dir[0].end = c->dir[0].maxend = seg_end(s);
	c->dir[0].maxwin = s->win != 0 ? s->win : 1;
	c->dir[0].flags = KD_CT_TCP_F_SEEN | KD_CT_TCP_F_LIBERAL;
	c->dir[1].flags = KD_CT_TCP_F_LIBERAL;
	c->state = KD_CT_TCP_ESTABLISHED;
	return true;
}

/* Inlined into the per-packet update below, so that the tracker costs one call. */
static __rte_always_inline enum kd_ct_tcp_verdict
track(struct kd_ct_tcp *c, unsigned int dir, const struct kd_ct_tcp_seg *s)
{
	unsigned int cls, next;

	if (!valid_flags(s->flags))
		return KD_CT_TCP_INVALID;
	dir &= 1;
	cls = flag_class(s->flags);
	next = next_state[dir][cls][c->state];
	if (next == sIV)
		return KD_CT_TCP_INVALID;
	if (next == sIG)
		return KD_CT_TCP_IGNORE;
	/* A SYN on a finished connection is a new one on the same tuple. */
	if (dir == 0 && cls == I_SYN &&
	    (c->state == KD_CT_TCP_TIME_WAIT || c->state == KD_CT_TCP_CLOSE))
		return KD_CT_TCP_NEW;
	if (!in_window(c, dir, s))
		return KD_CT_TCP_INVALID;
	c->state = (uint8_t)next;
	return KD_CT_TCP_OK;
}

enum kd_ct_tcp_verdict
kd_ct_tcp_track(struct kd_ct_tcp *c, unsigned int dir, const struct kd_ct_tcp_seg *s)
{
	return track(c, dir, s);
}

/* The segment as the tracker reads it; window scale from the SYN's options. */
static __rte_always_inline void
seg_parse(const struct rte_mbuf *m, const struct kd_pkt_meta *pm, struct kd_ct_tcp_seg *s)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pm->l3_off);
	const struct rte_tcp_hdr *th =
		rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, pm->l4_off);
	uint16_t hl = (uint16_t)((th->data_off >> 4) * 4);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	uint16_t l4len = (uint16_t)(tot - (pm->l4_off - pm->l3_off));

	s->seq = rte_be_to_cpu_32(th->sent_seq);
	s->ack = rte_be_to_cpu_32(th->recv_ack);
	s->win = rte_be_to_cpu_16(th->rx_win);
	s->flags = th->tcp_flags;
	s->payload = l4len > hl ? (uint32_t)(l4len - hl) : 0;
	s->wscale = 0xff;
	/* Window scale lives in the SYN's options. */
	if ((th->tcp_flags & RTE_TCP_SYN_FLAG) && hl > sizeof(*th) &&
	    pm->l4_off + hl <= rte_pktmbuf_data_len(m)) {
		const uint8_t *o = (const uint8_t *)(th + 1), *e = (const uint8_t *)th + hl;

		while (o < e && *o != 0) {
			if (*o == 1) {
				o++;
				continue;
			}
			if (o + 1 >= e || o[1] < 2 || o + o[1] > e)
				break;
			if (o[0] == 3 && o[1] == 3)
				s->wscale = o[2];
			o += o[1];
		}
	}
}

static bool
tcp_new_conn(struct kd_ct_tcp *st, const struct rte_mbuf *m, const struct kd_pkt_meta *pm)
{
	struct kd_ct_tcp_seg s;

	seg_parse(m, pm, &s);
	return kd_ct_tcp_new(st, &s);
}

static enum kd_ct_update
tcp_update(struct kd_ct_conn *c, uint8_t dir, const struct rte_mbuf *m,
	   const struct kd_pkt_meta *pm)
{
	enum kd_ct_tcp_verdict v = KD_CT_TCP_OK;
	struct kd_ct_tcp_seg s;

	seg_parse(m, pm, &s);
	/* Both directions may be on two workers at once; neither waits. */
	if (rte_spinlock_trylock(&c->lock)) {
		v = track(&c->tcp, dir, &s);
		rte_spinlock_unlock(&c->lock);
	}
	if (v == KD_CT_TCP_INVALID)
		return KD_CT_UPDATE_INVALID;
	return v == KD_CT_TCP_NEW ? KD_CT_UPDATE_REOPEN : KD_CT_UPDATE_VALID;
}

const struct kd_ct_proto kd_ct_proto_tcp = {
	.name = "tcp",
	.new_conn = tcp_new_conn,
	.update = tcp_update,
	.tmo_by_state = true,
};
