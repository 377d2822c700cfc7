/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_NAT_H
#define KDPU_DATAPLANE_NAT_H

/*
 * Address and port rewriting for IPv4 with TCP, UDP or SCTP, of an ICMP
 * echo's identifier, and of the packet an ICMP error quotes; and the choice
 * of a translated source port that is free (clashes, masquerade). Checksums are patched incrementally
 * (RFC 1624) for IPv4, TCP and UDP, so the cost does not grow with the
 * payload and a checksum that was wrong stays wrong; a UDP checksum of zero
 * (none) stays zero. SCTP's CRC32c covers the ports but no addresses, so it
 * is recomputed only when a port changes.
 *
 * Worker context; headers must be in the first segment, as the parser
 * guarantees.
 */

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dataplane/conntrack.h"
#include "dataplane/parse.h"

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit word. */
static __rte_always_inline rte_be16_t
kd_nat_csum16(rte_be16_t csum, rte_be16_t from, rte_be16_t to)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~from + (uint32_t)to;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (rte_be16_t)~s;
}

static __rte_always_inline rte_be16_t
kd_nat_csum32(rte_be16_t csum, rte_be32_t from, rte_be32_t to)
{
	csum = kd_nat_csum16(csum, (rte_be16_t)(from >> 16), (rte_be16_t)(to >> 16));
	return kd_nat_csum16(csum, (rte_be16_t)from, (rte_be16_t)to);
}

/**
 * Rewrite the packet at l3 (its L4 header at l4) to carry tuple t: source
 * t->ip[0]:t->port[0], destination t->ip[1]:t->port[1]. len is the number of
 * bytes from l4 to the end of the IP packet that are in the buffer (for
 * SCTP's CRC). Fields that already match are left alone.
 */
void kd_nat_rewrite(void *l3, void *l4, uint32_t len, const struct kd_ct_key *t);

/**
 * Rewrite an ICMP error at l3 (ICMP header at l4, len bytes of ICMP in the
 * buffer) about a translated connection: the outer addresses become
 * outer->ip[0] and outer->ip[1], and the quoted packet gets the tuple q.
 * Both IP checksums and a quoted UDP checksum are patched, the ICMP
 * checksum is summed again. Returns false when the quote is too short.
 */
bool kd_nat_icmp_error(void *l3, void *l4, uint32_t len, const struct kd_ct_key *outer,
		       const struct kd_ct_key *q);

/**
 * Insert the connection key (hash key_hash) translated to xkey, moving
 * xkey's source port until its reply tuple is free (Linux's NAT on a tuple
 * in use): kd_ct_insert_with_hash()'s results, for the last port tried.
 */
int kd_nat_clash_insert(struct kd_ct *ct, const struct kd_ct_key *key, uint32_t key_hash,
			struct kd_ct_key *xkey, uint16_t hop, uint64_t now, uint32_t *found,
			uint8_t *found_dir);

/**
 * Masquerade: insert the connection key (hash key_hash) with xkey sourced
 * from node_ip in the underlay zone and a source port of [lo, hi] that no
 * other connection's reply uses toward this destination. The original port
 * is kept when it is free and in range, as Linux does; otherwise ports are
 * probed from a hash of the tuple. Each probe is an insert of both keys
 * under the table's writer lock, so the choice is exact with any number of
 * workers. kd_ct_insert_with_hash()'s results, or -EADDRINUSE when no port
 * of the range is free.
 */
int kd_nat_masquerade_insert(struct kd_ct *ct, const struct kd_ct_key *key, uint32_t key_hash,
			     struct kd_ct_key *xkey, rte_be32_t node_ip, uint16_t lo, uint16_t hi,
			     uint16_t hop, uint64_t now, uint32_t *found, uint8_t *found_dir);

#endif
