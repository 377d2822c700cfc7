/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_CT_TCP_H
#define KDPU_DATAPLANE_CT_TCP_H

/*
 * TCP connection tracking: the state machine and the sequence window check,
 * modelled on Linux nf_conntrack_proto_tcp.c so that a connection kdpu
 * tracks behaves as it would behind iptables' conntrack. Pure functions on a
 * struct kd_ct_tcp; the caller owns synchronisation (one writer per
 * connection at a time) and the timeouts that belong to each state.
 *
 * Linux's defaults that this follows: a packet out of window or with an
 * impossible flag combination is INVALID; it does not change the state, and
 * the firewall drops and counts it (nf_conntrack_tcp_be_liberal=0). An RST is
 * accepted only if its sequence number is in window. A SYN on a connection
 * in TIME_WAIT or CLOSE starts a new connection on the same tuple.
 */

#include <stdbool.h>
#include <stdint.h>

enum kd_ct_tcp_state {
	KD_CT_TCP_NONE,
	KD_CT_TCP_SYN_SENT,
	KD_CT_TCP_SYN_RECV,
	KD_CT_TCP_ESTABLISHED,
	KD_CT_TCP_FIN_WAIT,
	KD_CT_TCP_CLOSE_WAIT,
	KD_CT_TCP_LAST_ACK,
	KD_CT_TCP_TIME_WAIT,
	KD_CT_TCP_CLOSE,
	KD_CT_TCP_SYN_SENT2,	/* simultaneous open */
	KD_CT_TCP_STATE_MAX,
};

/* Verdict of one packet. */
enum kd_ct_tcp_verdict {
	KD_CT_TCP_OK,		/* accepted; state may have moved */
	KD_CT_TCP_INVALID,		/* impossible flags or out of window: drop, state unchanged */
	KD_CT_TCP_IGNORE,		/* accepted but not trusted to move the state (Linux sIG) */
	KD_CT_TCP_NEW,		/* a SYN reopening a closed tuple: start a new connection */
};

/*
 * Per direction, as Linux's ip_ct_tcp_state. Packed, so that both
 * directions and a connection's two tuples share one cache line.
 */
struct kd_ct_tcp_dir {
	uint32_t end;		/* highest sequence number sent + 1 */
	uint32_t maxend;	/* highest acceptable sequence end (ack + window of the peer) */
	uint32_t maxwin;	/* largest window seen */
	uint8_t wscale;
	uint8_t flags;		/* KD_CT_TCP_F_* */
} __attribute__((packed));

#define KD_CT_TCP_F_WSCALE 0x01	/* window scaling negotiated in this direction */
#define KD_CT_TCP_F_SEEN 0x02	/* this direction has sent something */

struct kd_ct_tcp {
	uint8_t state;		/* enum kd_ct_tcp_state */
	uint8_t last_dir;
	struct kd_ct_tcp_dir dir[2];	/* 0: original, 1: reply */
};

/* The fields of a TCP segment the tracker needs, in host order. */
struct kd_ct_tcp_seg {
	uint32_t seq, ack;
	uint16_t win;
	uint8_t flags;		/* RTE_TCP_*_FLAG */
	uint8_t wscale;		/* from the SYN's option, 0xff if absent */
	uint32_t payload;	/* bytes of data */
};

extern const char *const kd_ct_tcp_state_names[KD_CT_TCP_STATE_MAX];

/** Start tracking from the first packet (original direction); false if it cannot open one. */
bool kd_ct_tcp_new(struct kd_ct_tcp *c, const struct kd_ct_tcp_seg *s);

/** Track one segment in direction dir (0 original, 1 reply). */
enum kd_ct_tcp_verdict kd_ct_tcp_track(struct kd_ct_tcp *c, unsigned int dir,
				 const struct kd_ct_tcp_seg *s);

#endif
