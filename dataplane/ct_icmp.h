/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_CT_ICMP_H
#define KDPU_DATAPLANE_CT_ICMP_H

/*
 * ICMP in connection tracking, as Linux's nf_conntrack_proto_icmp.c. Echo
 * request and reply are one connection whose key carries the identifier
 * ((id, 0) one way, (0, id) back: see kd_fw_pkt_init()). Errors
 * (destination unreachable, time exceeded, parameter problem) open nothing:
 * they are RELATED to the connection their quoted header names, found here.
 *
 * Worker context.
 */

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/parse.h"

struct kd_ct;

/* ICMP error types that quote the packet they are about (RFC 792). */
#define KD_CT_ICMP_DEST_UNREACH 3
#define KD_CT_ICMP_TIME_EXCEEDED 11
#define KD_CT_ICMP_PARAM_PROBLEM 12

enum kd_ct_icmp_rel {
	KD_CT_ICMP_NONE,	/* no tracked connection, or a quote too short to tell */
	KD_CT_ICMP_QUOTED,	/* the quote, read backwards, is key[dir] of the connection */
	KD_CT_ICMP_SAME_WAY,	/* the quote as it stands is key[dir] */
};

/**
 * The connection the ICMP error m (IPv4 at pm, in zone) is about, with the
 * direction *dir of the key that matched, in record *idx.
 */
enum kd_ct_icmp_rel kd_ct_icmp_related(struct kd_ct *ct, const struct rte_mbuf *m,
				       const struct kd_pkt_meta *pm, uint16_t zone,
				       uint32_t *idx, uint8_t *dir);

#endif
