/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_CT_PROTO_H
#define KDPU_DATAPLANE_CT_PROTO_H

/*
 * What connection tracking does per L4 protocol, as OVS's struct ct_l4_proto:
 * one instance per protocol file (ct_tcp.c; ct_icmp.c; ct_other.c for UDP
 * and everything else), chosen by kd_ct_proto_of(). A first packet asks
 * new_conn whether it may open a connection; a later one goes through
 * update. Either may be NULL: that protocol keeps no per-packet state, and
 * its packets make no call and take no lock. Timeouts are slots of struct
 * kd_ct's table (KD_CT_T_*), by TCP state, or by whether the connection has
 * been replied to.
 *
 * Worker context; the instances are constant.
 */

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include <rte_mbuf.h>

#include "dataplane/parse.h"

struct kd_ct_conn;
struct kd_ct_tcp;

/* What update() made of a packet of a known connection. */
enum kd_ct_update {
	KD_CT_UPDATE_VALID,	/* pass it; the state may have moved */
	KD_CT_UPDATE_INVALID,	/* drop it (ct_invalid); the state did not move */
	KD_CT_UPDATE_REOPEN,	/* it opens a new connection on the tuple: delete, admit again */
};

struct kd_ct_proto {
	const char *name;
	/* May the first packet m (IPv4 at pm) open a connection? Fills st for the record. */
	bool (*new_conn)(struct kd_ct_tcp *st, const struct rte_mbuf *m,
			 const struct kd_pkt_meta *pm);
	/* A packet of c going direction dir. */
	enum kd_ct_update (*update)(struct kd_ct_conn *c, uint8_t dir, const struct rte_mbuf *m,
				    const struct kd_pkt_meta *pm);
	bool tmo_by_state;	/* the timeout slot is the TCP state */
	uint8_t tmo[2];		/* otherwise: the slot before a reply, and after */
};

extern const struct kd_ct_proto kd_ct_proto_tcp;
extern const struct kd_ct_proto kd_ct_proto_udp;
extern const struct kd_ct_proto kd_ct_proto_icmp;
extern const struct kd_ct_proto kd_ct_proto_other;

/* By IP protocol: one load per packet, where a switch cost a dozen instructions. */
extern const struct kd_ct_proto *const kd_ct_protos[UINT8_MAX + 1];

/** The tracker of IP protocol proto. */
static __rte_always_inline const struct kd_ct_proto *
kd_ct_proto_of(uint8_t proto)
{
	return kd_ct_protos[proto];
}

#endif
