/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdpu-classify: the policy classifier (dataplane/policy.h) against rte_acl,
 * the structure it replaced, on the same rules and the same probes:
 *
 *   kdpu-classify one-pod|realistic POLICIES [PROBES]
 *
 * one-pod: POLICIES distinct /32 ipBlocks, TCP 80 each, all on one pod (the
 * control-plane benchmark's worst case). realistic: per policy a /16 less one
 * /24 (eight prefixes) and 67 peer pods' /32s, each on TCP 8080 and UDP
 * 9000-9100 (the realistic mix's ingress on one pod). It reports the cycles
 * of one new connection's classification (one key, as the firewall asks),
 * the cycles of one rte_acl build of all the rules (what every policy change
 * cost before) against writing one changed key in place, and fails if the
 * two disagree on any probe. One JSON line.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/policy.h"

struct rule {
	uint32_t net;
	uint8_t plen, proto;
	uint16_t lo, hi;
	uint32_t id;
};

struct acl_key {
	uint8_t proto;
	uint8_t pad[3];
	rte_be32_t peer;
	rte_be16_t sport;
	rte_be16_t dport;
};

RTE_ACL_RULE_DEF(acl_rule, 4);

static const struct rte_acl_field_def fields[4] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint8_t), .field_index = 0,
	  .input_index = 0, .offset = offsetof(struct acl_key, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t), .field_index = 1,
	  .input_index = 1, .offset = offsetof(struct acl_key, peer) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = 2,
	  .input_index = 2, .offset = offsetof(struct acl_key, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = sizeof(uint16_t), .field_index = 3,
	  .input_index = 2, .offset = offsetof(struct acl_key, dport) },
};

static struct rule *rules;
static size_t n_rules, cap_rules;

static void
add(uint32_t net, uint8_t plen, uint8_t proto, uint16_t lo, uint16_t hi, uint32_t id)
{
	if (n_rules == cap_rules) {
		cap_rules = cap_rules ? cap_rules * 2 : 1024;
		rules = realloc(rules, cap_rules * sizeof(*rules));
		if (rules == NULL)
			abort();
	}
	rules[n_rules++] = (struct rule){ net, plen, proto, lo, hi, id };
}

static struct rte_acl_ctx *
acl_build(unsigned int seq)
{
	char name[RTE_ACL_NAMESIZE];
	struct rte_acl_param ap = {
		.name = name, .socket_id = (int)rte_socket_id(),
		.rule_size = RTE_ACL_RULE_SZ(RTE_DIM(fields)), .max_rule_num = (uint32_t)n_rules,
	};
	struct rte_acl_config cfg = { .num_categories = 1, .num_fields = RTE_DIM(fields) };
	struct rte_acl_ctx *ctx;
	size_t i;

	snprintf(name, sizeof(name), "classify%u", seq);
	ctx = rte_acl_create(&ap);
	if (ctx == NULL)
		return NULL;
	for (i = 0; i < n_rules; i++) {
		struct acl_rule r;

		memset(&r, 0, sizeof(r));
		r.data.category_mask = 1;
		r.data.priority = 1;
		r.data.userdata = rules[i].id;
		r.field[0].value.u8 = rules[i].proto;
		r.field[0].mask_range.u8 = rules[i].proto != 0 ? 0xff : 0;
		r.field[1].value.u32 = rules[i].net;
		r.field[1].mask_range.u32 = rules[i].plen;
		r.field[2].mask_range.u16 = UINT16_MAX;
		r.field[3].value.u16 = rules[i].lo;
		r.field[3].mask_range.u16 = rules[i].hi;
		if (rte_acl_add_rules(ctx, (const struct rte_acl_rule *)&r, 1) != 0)
			return NULL;
	}
	memcpy(cfg.defs, fields, sizeof(fields));
	if (rte_acl_build(ctx, &cfg) != 0)
		return NULL;
	return ctx;
}

static int
rule_key_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Every rule into the classifier for port 1, ingress: one set per prefix. */
static struct kd_pol_cls *
cls_build(uint64_t *lens)
{
	struct kd_pol_cls *c = kd_pol_cls_create("classify", (uint32_t)n_rules + 64);
	struct kd_pol_entry *e = malloc(n_rules * sizeof(*e));
	size_t i, j;

	qsort(rules, n_rules, sizeof(*rules), rule_key_cmp);
	*lens = 0;
	for (i = 0; c != NULL && i < n_rules; i = j) {
		struct kd_pol_key k = { .net = rules[i].net, .port = 1, .dir = 0, .plen = rules[i].plen };
		struct kd_pol_set *s;

		for (j = i; j < n_rules && rules[j].plen == rules[i].plen && rules[j].net == rules[i].net; j++)
			;
		for (size_t x = i; x < j; x++)
			e[x - i] = (struct kd_pol_entry){ .id = rules[x].id, .lo = rules[x].lo,
							  .hi = rules[x].hi, .proto = rules[x].proto };
		s = kd_pol_set_new(e, (uint32_t)(j - i));
		if (s == NULL || kd_pol_cls_set(c, &k, s) != 0)
			abort();
		*lens |= 1ull << rules[i].plen;
	}
	free(e);
	return c;
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "-m", "1024", "--no-shconf",
			"--log-level=*:error", "-l", "0", NULL };
	unsigned int n, probes, i, k, mismatch = 0;
	bool realistic;
	struct rte_acl_ctx *acl;
	struct kd_pol_cls *cls;
	uint64_t lens, t0, acl_cycles = 0, cls_cycles = 0, acl_build_cycles, set_cycles;
	uint32_t *peer;
	uint16_t *dport;
	uint8_t *proto;
	unsigned int allowed = 0;
	double heap_per_key;

	if (argc < 3) {
		fprintf(stderr, "usage: %s one-pod|realistic POLICIES [PROBES]\n", argv[0]);
		return 2;
	}
	realistic = strcmp(argv[1], "realistic") == 0;
	n = (unsigned int)atoi(argv[2]);
	probes = argc > 3 ? (unsigned int)atoi(argv[3]) : 200000;
	if (rte_eal_init(9, eal) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (!realistic) {
			add((10u << 24) | ((160 + i / 65536) << 16) | (i / 256 % 256) << 8 | (i % 256), 32,
			    IPPROTO_TCP, 80, 80, i + 1);
			continue;
		}
		/* 10.b.0.0/16 less 10.b.(i%256).0/24: the eight prefixes beside the except. */
		for (k = 16; k < 24; k++) {
			uint32_t ex = (10u << 24) | ((i % 200) << 16) | ((i % 256) << 8);
			uint32_t net = (ex ^ (1u << (31 - k))) & (~0u << (31 - k));

			add(net, (uint8_t)(k + 1), IPPROTO_TCP, 8080, 8080, i + 1);
			add(net, (uint8_t)(k + 1), IPPROTO_UDP, 9000, 9100, i + 1);
		}
	}
	if (realistic)
		for (k = 0; k < 67; k++)
			for (i = 0; i < n; i += 100) {	/* every policy of the pod's namespace */
				add((10u << 24) | (200u << 16) | (k * 15), 32, IPPROTO_TCP, 8080, 8080, i + 1);
				add((10u << 24) | (200u << 16) | (k * 15), 32, IPPROTO_UDP, 9000, 9100, i + 1);
			}
	t0 = rte_rdtsc_precise();
	acl = acl_build(0);
	acl_build_cycles = rte_rdtsc_precise() - t0;
	cls = cls_build(&lens);
	if (acl == NULL || cls == NULL) {
		fprintf(stderr, "build failed\n");
		return 1;
	}
	{
		struct rte_malloc_socket_stats a, b;
		struct kd_pol_cls *empty;

		/* What the daemon reserves at start for a classifier of 65536 keys. */
		rte_malloc_get_socket_stats(0, &a);
		empty = kd_pol_cls_create("sizing", 65536);
		rte_malloc_get_socket_stats(0, &b);
		heap_per_key = (double)(b.heap_allocsz_bytes - a.heap_allocsz_bytes) / 65536;
		kd_pol_cls_free(empty);
	}
	peer = malloc(probes * sizeof(*peer));
	dport = malloc(probes * sizeof(*dport));
	proto = malloc(probes * sizeof(*proto));
	srand(7);
	for (i = 0; i < probes; i++) {
		const struct rule *r = &rules[(size_t)rand() % n_rules];
		uint32_t host = r->plen == 32 ? 0 : (uint32_t)rand() & (~0u >> r->plen);

		/* Half aimed at some rule's prefix, half anywhere in 10/8. */
		peer[i] = rand() % 2 ? r->net | host : (10u << 24) | ((uint32_t)rand() & 0xffffff);
		proto[i] = rand() % 2 ? IPPROTO_TCP : IPPROTO_UDP;
		dport[i] = rand() % 2 ? r->lo : (uint16_t)(rand() % 10000);
	}
	for (i = 0; i < probes; i++) {
		struct acl_key key = { .proto = proto[i], .peer = rte_cpu_to_be_32(peer[i]),
				       .dport = rte_cpu_to_be_16(dport[i]) };
		const uint8_t *data[1] = { (const uint8_t *)&key };
		uint32_t a = 0, b;

		t0 = rte_rdtsc();
		rte_acl_classify(acl, data, &a, 1, 1);
		acl_cycles += rte_rdtsc() - t0;
		t0 = rte_rdtsc();
		b = kd_pol_cls_match(cls, 1, 0, lens, peer[i], proto[i], dport[i]);
		cls_cycles += rte_rdtsc() - t0;
		mismatch += (a != 0) != (b != 0);
		allowed += b != 0;
	}
	/* One policy changes: one key's set written in place, against a whole rebuild. */
	{
		struct kd_pol_key key = { .net = rules[0].net, .port = 1, .dir = 0, .plen = rules[0].plen };
		struct kd_pol_set *s = malloc(sizeof(*s) + sizeof(s->e[0]));

		s->n = 1;
		s->e[0] = (struct kd_pol_entry){ .id = 1, .lo = 81, .hi = 81, .proto = IPPROTO_TCP };
		t0 = rte_rdtsc_precise();
		kd_pol_cls_set(cls, &key, s);
		set_cycles = rte_rdtsc_precise() - t0;
	}
	printf("{\"rules\": \"%s\", \"policies\": %u, \"tuples\": %zu, \"prefix_lengths\": %d, "
	       "\"probes\": %u, \"allowed\": %u, \"mismatches\": %u, "
	       "\"rte_acl_cycles_per_connection\": %.1f, \"kdpu_cycles_per_connection\": %.1f, "
	       "\"kdpu_over_rte_acl\": %.3f, \"rte_acl_build_cycles\": %" PRIu64 ", "
	       "\"kdpu_one_key_cycles\": %" PRIu64 ", \"classifier_heap_bytes_per_key\": %.1f, "
	       "\"tsc_hz\": %" PRIu64 "}\n",
	       argv[1], n, n_rules, __builtin_popcountll(lens), probes, allowed, mismatch,
	       (double)acl_cycles / probes, (double)cls_cycles / probes,
	       (double)cls_cycles / (double)acl_cycles, acl_build_cycles, set_cycles, heap_per_key,
	       rte_get_tsc_hz());
	rte_acl_free(acl);
	return mismatch == 0 ? 0 : 1;
}
