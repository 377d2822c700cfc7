/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_sctp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/nat.h"
#include "dataplane/tables.h"

#define NAT_PORT_MIN 1024	/* source ports a clash may move to: never privileged ones */
#define NAT_PORT_TRIES 16
#define MASQ_PORT_TRIES 64	/* then the range counts as exhausted for this connection */

/*
 * Headers sit at any even offset, so fields are read and written by value
 * (the rte_*_hdr structs are packed), never through pointers.
 */

/* Offset in the L4 header of the checksum that covers addresses, or 0. */
static uint32_t
l4_csum_off(uint8_t proto, const uint8_t *l4, uint32_t len)
{
	rte_be16_t c;

	if (proto == IPPROTO_TCP && len >= sizeof(struct rte_tcp_hdr))
		return offsetof(struct rte_tcp_hdr, cksum);
	if (proto != IPPROTO_UDP || len < sizeof(struct rte_udp_hdr))
		return 0;
	memcpy(&c, l4 + offsetof(struct rte_udp_hdr, dgram_cksum), 2);
	return c != 0 ? offsetof(struct rte_udp_hdr, dgram_cksum) : 0;	/* 0: no checksum */
}

static void
patch32(uint8_t *csum, rte_be32_t from, rte_be32_t to)
{
	rte_be16_t c;

	memcpy(&c, csum, 2);
	c = kd_nat_csum32(c, from, to);
	memcpy(csum, &c, 2);
}

static void
patch16(uint8_t *csum, rte_be16_t from, rte_be16_t to)
{
	rte_be16_t c;

	memcpy(&c, csum, 2);
	c = kd_nat_csum16(c, from, to);
	memcpy(csum, &c, 2);
}

/* CRC32c over bytes at any alignment: loads go through memcpy. */
static uint32_t
crc32c(const uint8_t *p, uint32_t len, uint32_t c)
{
	uint64_t v8;
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&v8, p + i, 8);
		c = rte_hash_crc_8byte(v8, c);
	}
	for (; i < len; i++)
		c = rte_hash_crc_1byte(p[i], c);
	return c;
}

/*
 * RFC 4960 appendix B: CRC32c with the checksum field taken as zero, stored
 * as Linux's sctp_compute_cksum() does. The field is skipped, not zeroed
 * first, so no store has to be ordered before the loads.
 */
static void
sctp_crc(uint8_t *l4, uint32_t len)
{
	struct rte_sctp_hdr *sh = (struct rte_sctp_hdr *)l4;
	uint32_t c = crc32c(l4, offsetof(struct rte_sctp_hdr, cksum), 0xffffffff);

	c = rte_hash_crc_4byte(0, c);
	c = crc32c(l4 + sizeof(*sh), len - (uint32_t)sizeof(*sh), c);
	sh->cksum = rte_cpu_to_le_32(~c);
}

/* Addresses at ip + 12 (source) and + 16, ports at l4 + 0 and + 2. */
static void
rewrite_ip(uint8_t *ip, uint8_t *csum_l4, const rte_be32_t *to)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		uint8_t *f = ip + offsetof(struct rte_ipv4_hdr, src_addr) + 4 * i;
		rte_be32_t a;

		memcpy(&a, f, 4);
		if (a == to[i])
			continue;
		patch32(ip + offsetof(struct rte_ipv4_hdr, hdr_checksum), a, to[i]);
		if (csum_l4 != NULL)
			patch32(csum_l4, a, to[i]);
		memcpy(f, &to[i], 4);
	}
}

static bool
rewrite_ports(uint8_t *l4, uint8_t *csum_l4, const rte_be16_t *to)
{
	bool changed = false;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		rte_be16_t p;

		memcpy(&p, l4 + 2 * i, 2);
		if (p == to[i])
			continue;
		if (csum_l4 != NULL)
			patch16(csum_l4, p, to[i]);
		memcpy(l4 + 2 * i, &to[i], 2);
		changed = true;
	}
	return changed;
}

static bool
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/*
 * An echo's identifier is its "port": the request's source, the reply's
 * destination (see the connection key). The ICMP checksum covers no
 * addresses, only the identifier.
 */
static void
echo_ident(uint8_t *l4, const struct kd_ct_key *t)
{
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)l4;
	rte_be16_t id;

	if (ic->icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
		id = t->port[0];
	else if (ic->icmp_type == RTE_IP_ICMP_ECHO_REPLY)
		id = t->port[1];
	else
		return;
	if (ic->icmp_ident == id)
		return;
	ic->icmp_cksum = kd_nat_csum16(ic->icmp_cksum, ic->icmp_ident, id);
	ic->icmp_ident = id;
}

void
kd_nat_rewrite(void *l3, void *l4, uint32_t len, const struct kd_ct_key *t)
{
	uint8_t *ip = l3, *p4 = l4;
	uint8_t proto = ((struct rte_ipv4_hdr *)l3)->next_proto_id;
	uint32_t co = l4_csum_off(proto, p4, len);
	uint8_t *c = co != 0 ? p4 + co : NULL;

	rewrite_ip(ip, c, t->ip);
	if (proto == IPPROTO_ICMP && len >= sizeof(struct rte_icmp_hdr)) {
		echo_ident(p4, t);
		return;
	}
	if (!has_ports(proto) || len < 4)
		return;
	if (rewrite_ports(p4, c, t->port) && proto == IPPROTO_SCTP &&
	    len >= sizeof(struct rte_sctp_hdr))
		sctp_crc(p4, len);
}

bool
kd_nat_icmp_error(void *l3, void *l4, uint32_t len, const struct kd_ct_key *outer,
		  const struct kd_ct_key *q)
{
	struct rte_icmp_hdr *ic = l4;
	uint8_t *in = (uint8_t *)(ic + 1), *uc = NULL;
	uint32_t ihl, qlen;
	uint8_t proto;

	if (len < sizeof(*ic) + sizeof(struct rte_ipv4_hdr))
		return false;
	ihl = (uint32_t)(in[0] & 0xf) * 4;
	qlen = len - (uint32_t)sizeof(*ic);
	if (ihl < sizeof(struct rte_ipv4_hdr) || qlen < ihl + 4)
		return false;
	proto = ((struct rte_ipv4_hdr *)in)->next_proto_id;
	/* A quoted UDP checksum is patched; TCP's lies beyond the 8 quoted bytes. */
	if (proto == IPPROTO_UDP && qlen >= ihl + sizeof(struct rte_udp_hdr))
		uc = in + ihl + l4_csum_off(proto, in + ihl, qlen - ihl);
	if (uc == in + ihl)
		uc = NULL;
	rewrite_ip(in, uc, q->ip);
	if (has_ports(proto))
		rewrite_ports(in + ihl, uc, q->port);
	rewrite_ip(l3, NULL, outer->ip);
	/* Errors are short (RFC 1812: at most 576 bytes): sum them again. */
	ic->icmp_cksum = 0;
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, len);
	return true;
}

int
kd_nat_clash_insert(struct kd_ct *ct, const struct kd_ct_key *key, uint32_t key_hash,
		    struct kd_ct_key *xkey, uint16_t hop, uint64_t now, uint32_t *found,
		    uint8_t *found_dir)
{
	uint32_t h = rte_hash_crc(key, sizeof(*key), 0x9e3779b9);
	struct kd_ct_key rk;
	unsigned int i;
	int idx = -EEXIST;

	for (i = 0; i < NAT_PORT_TRIES && idx == -EEXIST && *found == UINT32_MAX; i++) {
		uint16_t port = (uint16_t)(NAT_PORT_MIN + (h + i * 7919u) % (65536 - NAT_PORT_MIN));

		xkey->port[0] = rte_cpu_to_be_16(port);
		kd_ct_key_reverse(&rk, xkey);
		idx = kd_ct_insert_with_hash(ct, key, key_hash, &rk, hop, now, found, found_dir);
	}
	return idx;
}

int
kd_nat_masquerade_insert(struct kd_ct *ct, const struct kd_ct_key *key, uint32_t key_hash,
			 struct kd_ct_key *xkey, rte_be32_t node_ip, uint16_t lo, uint16_t hi,
			 uint16_t hop, uint64_t now, uint32_t *found, uint8_t *found_dir)
{
	uint32_t range = (uint32_t)hi - lo + 1;
	uint32_t h = rte_hash_crc(key, sizeof(*key), 0x85ebca6b) % range;
	uint16_t orig = rte_be_to_cpu_16(key->port[0]);
	uint32_t i, tries = RTE_MIN(range, (uint32_t)MASQ_PORT_TRIES);
	struct kd_ct_key rk;
	int idx = -EEXIST;

	xkey->ip[0] = node_ip;
	xkey->zone = KD_ZONE_UNDERLAY;
	if (orig < lo || orig > hi)
		orig = 0;
	for (i = 0; i <= tries && idx == -EEXIST && *found == UINT32_MAX; i++) {
		uint16_t port = i == 0 ? orig : (uint16_t)(lo + (h + i - 1) % range);

		if (port == 0)
			continue;
		xkey->port[0] = rte_cpu_to_be_16(port);
		kd_ct_key_reverse(&rk, xkey);
		idx = kd_ct_insert_with_hash(ct, key, key_hash, &rk, hop, now, found, found_dir);
	}
	if (idx == -EEXIST && *found == UINT32_MAX)
		return -EADDRINUSE;
	return idx;
}
