/* SPDX-License-Identifier: Apache-2.0 */
/* The connection table on a --no-huge EAL: both directions, zones, capacity, aging, reclaim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/conntrack.h"
#include "dataplane/ct_cache.h"

static struct rte_rcu_qsbr *qsbr;
static struct kd_ct_timeouts tmo;
static unsigned int table_no;
/* Where an insert found its key already present. */
static uint32_t f_idx;
static uint8_t f_dir;

static int
setup(void **state)
{
	char *argv[] = { "test_conntrack", "--no-huge", "--no-pci", "-m", "1024", "--no-shconf",
			 "--log-level=lib.eal:error", "-l", "0" };

	(void)state;
	if (rte_eal_init(9, argv) < 0)
		return -1;
	/* One reader: this thread, standing in for a worker. */
	qsbr = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		return -1;
	rte_rcu_qsbr_thread_register(qsbr, 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
	kd_ct_timeouts_default(&tmo);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rte_rcu_qsbr_thread_offline(qsbr, 0);
	rte_free(qsbr);
	rte_eal_cleanup();
	return 0;
}

static struct kd_ct *
table(uint32_t capacity)
{
	char name[32];
	struct kd_ct *ct;

	snprintf(name, sizeof(name), "ct%u", table_no++);
	ct = kd_ct_create(name, capacity, &tmo, qsbr);
	assert_non_null(ct);
	return ct;
}

static struct kd_ct_key
key(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t proto, uint16_t zone)
{
	struct kd_ct_key k = {
		.ip = { rte_cpu_to_be_32(src), rte_cpu_to_be_32(dst) },
		.port = { rte_cpu_to_be_16(sport), rte_cpu_to_be_16(dport) },
		.proto = proto, .zone = zone,
	};
	return k;
}

static uint32_t
lookup(struct kd_ct *ct, const struct kd_ct_key *k, uint8_t *dir)
{
	const struct kd_ct_key *keys[1] = { k };
	uint32_t idx, h = kd_ct_hash(k);
	uint8_t d = 0xff;

	kd_ct_lookup_burst(ct, NULL, keys, &h, 1, &idx, &d);
	if (dir != NULL)
		*dir = d;
	return idx;
}

/* A worker's lookup: through its cache, then confirmed on the record, as the firewall does. */
static uint32_t
cached(struct kd_ct *ct, struct kd_ct_cache *cc, const struct kd_ct_key *k, uint8_t *dir,
       unsigned int *misses)
{
	const struct kd_ct_key *keys[1] = { k };
	uint32_t idx, h = kd_ct_hash(k);

	*misses = kd_ct_lookup_burst(ct, cc, keys, &h, 1, &idx, dir);
	if (idx != UINT32_MAX && !kd_ct_confirm(ct, idx, *dir, k))
		kd_ct_lookup_table(ct, cc, k, h, &idx, dir);
	return idx;
}

/* The grace period ends when this reader reports quiescent; then records are reused. */
static void
quiesce(struct kd_ct *ct)
{
	rte_rcu_qsbr_quiescent(qsbr, 0);
	kd_ct_reclaim(ct);
}

/* Lookups and inserts hash inline; rte_hash itself hashes with rte_hash_crc: they must agree. */
static void
test_inline_hash_is_the_tables(void **state)
{
	struct kd_ct_key k;
	uint32_t seed = 3;
	int i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		k = (struct kd_ct_key){ .ip = { seed, seed * 31u }, .port = { (uint16_t)seed,
			(uint16_t)(seed >> 16) }, .proto = (uint8_t)(seed >> 8),
			.zone = (uint16_t)(seed >> 20) };
		/* rte_hash_crc reads k as uint64_t: have k in memory first, as for the table. */
		rte_compiler_barrier();
		assert_int_equal(kd_ct_hash(&k), rte_hash_crc(&k, sizeof(k), 0));
	}
}

static void
test_both_directions_one_record(void **state)
{
	struct kd_ct *ct = table(64);
	struct kd_ct_key k = key(0x0af40a0a, 40000, 0x0af40b0b, 80, IPPROTO_TCP, 1), r;
	uint8_t dir;
	int idx;

	(void)state;
	assert_int_equal(lookup(ct, &k, NULL), UINT32_MAX);
	idx = kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 100, &f_idx, &f_dir);
	assert_true(idx >= 0);
	assert_int_equal(lookup(ct, &k, &dir), (uint32_t)idx);
	assert_int_equal(dir, KD_CT_ORIG);
	kd_ct_key_reverse(&r, &k);
	assert_int_equal(lookup(ct, &r, &dir), (uint32_t)idx);
	assert_int_equal(dir, KD_CT_REPLY);
	assert_int_equal(kd_ct_count(ct), 1);
	/* The same tuple again is another worker's race: -EEXIST, nothing leaks. */
	assert_int_equal(kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 100, &f_idx, &f_dir), -EEXIST);
	assert_int_equal(f_idx, (uint32_t)idx);
	assert_int_equal(f_dir, KD_CT_ORIG);
	assert_int_equal(kd_ct_insert(ct, &r, NULL, KD_CT_NO_HOP, 100, &f_idx, &f_dir), -EEXIST);
	assert_int_equal(f_idx, (uint32_t)idx);
	assert_int_equal(f_dir, KD_CT_REPLY);
	quiesce(ct);
	assert_int_equal(kd_ct_count(ct), 1);
	assert_int_equal(rte_ring_count(ct->free), 63);
	kd_ct_free(ct);
}

static void
test_zone_is_part_of_the_key(void **state)
{
	struct kd_ct *ct = table(64);
	struct kd_ct_key a = key(1, 2, 3, 4, IPPROTO_UDP, 1), b = key(1, 2, 3, 4, IPPROTO_UDP, 2);
	int ia, ib;

	(void)state;
	ia = kd_ct_insert(ct, &a, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	ib = kd_ct_insert(ct, &b, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	assert_true(ia >= 0 && ib >= 0 && ia != ib);
	assert_int_equal(lookup(ct, &a, NULL), (uint32_t)ia);
	assert_int_equal(lookup(ct, &b, NULL), (uint32_t)ib);
	kd_ct_free(ct);
}

static void
test_nat_reply_key(void **state)
{
	struct kd_ct *ct = table(64);
	/* Client -> VIP, DNATed to an endpoint: the reply comes from the endpoint. */
	struct kd_ct_key k = key(0x0a000001, 5555, 0x0a600001, 80, IPPROTO_TCP, 0);
	struct kd_ct_key reply = key(0x0af40205, 8080, 0x0a000001, 5555, IPPROTO_TCP, 0);
	uint8_t dir;
	int idx;

	(void)state;
	idx = kd_ct_insert(ct, &k, &reply, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	assert_true(idx >= 0);
	assert_int_equal(lookup(ct, &reply, &dir), (uint32_t)idx);
	assert_int_equal(dir, KD_CT_REPLY);
	assert_memory_equal(&ct->conn[idx].key[KD_CT_REPLY], &reply, sizeof(reply));
	kd_ct_free(ct);
}

/* The control thread's delete: only the record it read, never one reused since. */
static void
test_delete_if_same_keys(void **state)
{
	struct kd_ct *ct = table(64);
	struct kd_ct_key k = key(0x0a000001, 5555, 0x0a600001, 53, IPPROTO_UDP, 0);
	struct kd_ct_key reply = key(0x0af40205, 53, 0x0a000001, 5555, IPPROTO_UDP, 0);
	struct kd_ct_key seen[2], other[2];
	int idx;

	(void)state;
	idx = kd_ct_insert(ct, &k, &reply, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	assert_true(idx >= 0);
	memcpy(seen, ct->conn[idx].key, sizeof(seen));
	memcpy(other, seen, sizeof(other));
	other[KD_CT_REPLY].ip[0] ^= 1;	/* the same client, now with another endpoint */
	assert_false(kd_ct_delete_if(ct, (uint32_t)idx, other));
	assert_int_equal(lookup(ct, &k, NULL), (uint32_t)idx);
	assert_true(kd_ct_delete_if(ct, (uint32_t)idx, seen));
	assert_int_equal(lookup(ct, &k, NULL), UINT32_MAX);
	assert_false(kd_ct_delete_if(ct, (uint32_t)idx, seen));
	kd_ct_free(ct);
}

static void
test_full_table_keeps_existing(void **state)
{
	struct kd_ct *ct = table(16);
	struct kd_ct_key k;
	uint32_t i;
	int idx[16];

	(void)state;
	for (i = 0; i < 16; i++) {
		k = key(0x0a000000 + i, 1000, 0x0a010000, 53, IPPROTO_UDP, 0);
		idx[i] = kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
		assert_true(idx[i] >= 0);
	}
	k = key(0x0b000000, 1000, 0x0a010000, 53, IPPROTO_UDP, 0);
	assert_int_equal(kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir), -ENOSPC);
	for (i = 0; i < 16; i++) {
		k = key(0x0a000000 + i, 1000, 0x0a010000, 53, IPPROTO_UDP, 0);
		assert_int_equal(lookup(ct, &k, NULL), (uint32_t)idx[i]);
	}
	assert_int_equal(kd_ct_count(ct), 16);
	/* A deleted record is not reused while a reader may still hold it... */
	kd_ct_delete(ct, (uint32_t)idx[3]);
	k = key(0x0b000000, 1000, 0x0a010000, 53, IPPROTO_UDP, 0);
	assert_int_equal(kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir), -ENOSPC);
	/* ...and is once the grace period is over. */
	rte_rcu_qsbr_quiescent(qsbr, 0);
	assert_int_equal(kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir), idx[3]);
	kd_ct_free(ct);
}

static void
test_aging_and_reclaim(void **state)
{
	struct kd_ct *ct = table(256);
	uint64_t now = 1000000;
	struct kd_ct_key k;
	uint32_t i, cursor = 0, freed;
	int idx;

	(void)state;
	for (i = 0; i < 100; i++) {
		k = key(0x0a000000 + i, 1, 0x0a010000, 2, IPPROTO_UDP, 0);
		idx = kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, now, &f_idx, &f_dir);
		assert_true(idx >= 0);
		/* Even ones expire soon, odd ones late. */
		ct->conn[idx].expires = now + ((i & 1) ? 1000000 : 10);
	}
	/* Small slices: aging is spread over many loops, never one long stall. */
	freed = 0;
	for (i = 0; i < 256 / 16; i++)
		freed += kd_ct_age(ct, &cursor, 0, 256, 16, now + 100);
	assert_int_equal(freed, 50);
	assert_int_equal(cursor, 0);
	for (i = 0; i < 100; i++) {
		k = key(0x0a000000 + i, 1, 0x0a010000, 2, IPPROTO_UDP, 0);
		if (i & 1)
			assert_int_not_equal(lookup(ct, &k, NULL), UINT32_MAX);
		else
			assert_int_equal(lookup(ct, &k, NULL), UINT32_MAX);
	}
	assert_int_equal(kd_ct_count(ct), 50);
	/* Slots come back only after a grace period. */
	assert_int_equal(rte_ring_count(ct->free), 156);
	quiesce(ct);
	assert_int_equal(rte_ring_count(ct->free), 206);
	kd_ct_free(ct);
}

static void
test_timeouts_follow_state(void **state)
{
	struct kd_ct *ct = table(8);
	struct kd_ct_key k = key(1, 2, 3, 4, IPPROTO_UDP, 0);
	int idx = kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	struct kd_ct_conn *c = &ct->conn[idx];
	uint64_t hz = rte_get_tsc_hz();

	(void)state;
	assert_int_equal(kd_ct_timeout(ct, c), 30 * hz);
	c->flags |= KD_CT_F_REPLIED;
	assert_int_equal(kd_ct_timeout(ct, c), 120 * hz);
	c->proto = IPPROTO_TCP;
	c->tcp.state = KD_CT_TCP_ESTABLISHED;
	assert_int_equal(kd_ct_timeout(ct, c), 432000 * hz);
	c->tcp.state = KD_CT_TCP_TIME_WAIT;
	assert_int_equal(kd_ct_timeout(ct, c), 120 * hz);
	c->proto = IPPROTO_ICMP;
	assert_int_equal(kd_ct_timeout(ct, c), 30 * hz);
	assert_true(kd_ct_memsize(1u << 20) > (1u << 20) * sizeof(struct kd_ct_conn));
	kd_ct_free(ct);
}

/*
 * One million connections: all inserted, all found from both directions,
 * and the memory they take, measured from the heap (printed for the
 * benchmarks; the assertion is only that the estimate does not undershoot).
 */
static void
test_one_million(void **state)
{
	const uint32_t n = 1u << 20;
	struct rte_malloc_socket_stats before, after;
	struct kd_ct_key k, r;
	struct kd_ct *ct;
	uint32_t i, found = 0;
	uint8_t dir;

	(void)state;
	rte_malloc_get_socket_stats(0, &before);
	ct = table(n);
	for (i = 0; i < n; i++) {
		k = key(0x0a000000 | (i >> 8), (uint16_t)(1024 + (i & 0xff)), 0x0b000001, 443,
			IPPROTO_TCP, (uint16_t)(i & 7));
		assert_true(kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir) >= 0);
	}
	rte_malloc_get_socket_stats(0, &after);
	for (i = 0; i < n; i += 97) {
		k = key(0x0a000000 | (i >> 8), (uint16_t)(1024 + (i & 0xff)), 0x0b000001, 443,
			IPPROTO_TCP, (uint16_t)(i & 7));
		kd_ct_key_reverse(&r, &k);
		found += lookup(ct, &k, &dir) != UINT32_MAX && dir == KD_CT_ORIG &&
			 lookup(ct, &r, &dir) != UINT32_MAX && dir == KD_CT_REPLY;
	}
	assert_int_equal(found, (n + 96) / 97);
	assert_int_equal(kd_ct_count(ct), n);
	printf("conntrack: %u connections take %zu MiB, %zu bytes each (estimate %zu)\n", n,
	       (after.heap_allocsz_bytes - before.heap_allocsz_bytes) >> 20,
	       (after.heap_allocsz_bytes - before.heap_allocsz_bytes) / n, kd_ct_memsize(n) / n);
	/* The estimate sizes hugepages: it must not fall short of what is really taken. */
	assert_true(kd_ct_memsize(n) >= (after.heap_allocsz_bytes - before.heap_allocsz_bytes) * 95 / 100);
	assert_int_equal(sizeof(struct kd_ct_conn), 128);
	kd_ct_free(ct);
}

/* The second lookup of each direction comes from the cache, and is confirmed on the record. */
static void
test_cache_answers_both_directions(void **state)
{
	struct kd_ct *ct = table(64);
	struct kd_ct_cache *cc = kd_ct_cache_create(64, SOCKET_ID_ANY);
	struct kd_ct_key k = key(0x0a000001, 5555, 0x0a000002, 53, IPPROTO_UDP, 3);
	struct kd_ct_key n = key(0x0a000001, 5556, 0x0a600001, 80, IPPROTO_UDP, 3);
	struct kd_ct_key nreply = key(0x0af40205, 8080, 0x0a000001, 5556, IPPROTO_UDP, 3);
	struct kd_ct_key r, *keys[] = { &k, &r, &n, &nreply };
	unsigned int i, round, misses;
	int idx[2];
	uint8_t dir;

	(void)state;
	assert_non_null(cc);
	kd_ct_key_reverse(&r, &k);
	idx[0] = kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	idx[1] = kd_ct_insert(ct, &n, &nreply, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	assert_true(idx[0] >= 0 && idx[1] >= 0);
	for (round = 0; round < 2; round++)
		for (i = 0; i < RTE_DIM(keys); i++) {
			const struct kd_ct_key *one[1] = { keys[i] };
			uint32_t h = kd_ct_hash(keys[i]), found;

			misses = kd_ct_lookup_burst(ct, cc, one, &h, 1, &found, &dir);
			assert_int_equal(misses, round == 0 ? 1 : 0);
			assert_int_equal(found, (uint32_t)idx[i / 2]);
			assert_int_equal(dir, i % 2);
			assert_true(kd_ct_confirm(ct, found, dir, keys[i]));
		}
	/* Another zone is another connection, whatever the cache holds. */
	k.zone = 4;
	assert_int_equal(cached(ct, cc, &k, &dir, &misses), UINT32_MAX);
	kd_ct_cache_free(cc);
	kd_ct_free(ct);
}

/*
 * An entry outlives its connection: refused while the record is dead, and
 * when the record holds another connection; the table then answers, and the
 * cache learns it.
 */
static void
test_cache_entry_outliving_its_connection(void **state)
{
	struct kd_ct *ct = table(16);
	struct kd_ct_cache *cc = kd_ct_cache_create(64, SOCKET_ID_ANY);
	struct kd_ct_key fill;
	struct kd_ct_key k = key(0x0a000001, 1000, 0x0a000002, 53, IPPROTO_UDP, 0);
	struct kd_ct_key k2 = key(0x0a000009, 2000, 0x0a000002, 53, IPPROTO_UDP, 0);
	const struct kd_ct_key *keys[1] = { &k };
	uint32_t idx, h = kd_ct_hash(&k);
	unsigned int misses;
	uint8_t dir;
	int i, i0, i2;

	(void)state;
	assert_non_null(cc);
	i0 = kd_ct_insert(ct, &k, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	assert_true(i0 >= 0);
	for (i = 1; i < 16; i++) {	/* a full table: k's slot is the next one free */
		fill = key(0x0b000000 + (uint32_t)i, 1000, 0x0a000002, 53, IPPROTO_UDP, 0);
		assert_true(kd_ct_insert(ct, &fill, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir) >= 0);
	}
	assert_int_equal(cached(ct, cc, &k, &dir, &misses), (uint32_t)i0);
	kd_ct_delete(ct, (uint32_t)i0);
	/* Dead, not yet reused: the cache still names it, the record refuses. */
	assert_int_equal(kd_ct_lookup_burst(ct, cc, keys, &h, 1, &idx, &dir), 0);
	assert_int_equal(idx, (uint32_t)i0);
	assert_false(kd_ct_confirm(ct, idx, dir, &k));
	quiesce(ct);
	i2 = kd_ct_insert(ct, &k2, NULL, KD_CT_NO_HOP, 1, &f_idx, &f_dir);
	assert_int_equal(i2, i0);	/* its slot, reused */
	/* Live again, with another tuple: still refused. */
	assert_int_equal(kd_ct_lookup_burst(ct, cc, keys, &h, 1, &idx, &dir), 0);
	assert_int_equal(idx, (uint32_t)i0);
	assert_false(kd_ct_confirm(ct, idx, dir, &k));
	assert_true(kd_ct_confirm(ct, idx, KD_CT_ORIG, &k2));
	/* The table has no k: the cache forgets it, so the next lookup misses. */
	kd_ct_lookup_table(ct, cc, &k, h, &idx, &dir);
	assert_int_equal(idx, UINT32_MAX);
	assert_int_equal(kd_ct_lookup_burst(ct, cc, keys, &h, 1, &idx, &dir), 1);
	assert_int_equal(idx, UINT32_MAX);
	assert_int_equal(cached(ct, cc, &k2, &dir, &misses), (uint32_t)i2);
	kd_ct_cache_free(cc);
	kd_ct_free(ct);
}

/* A full bucket replaces its ways in turn; a refill keeps the way its hash had. */
static void
test_cache_full_bucket_replaces_in_turn(void **state)
{
	struct kd_ct_cache *cc = kd_ct_cache_create(1, SOCKET_ID_ANY);	/* one bucket */
	uint32_t i, d;

	(void)state;
	assert_non_null(cc);
	assert_int_equal(cc->mask, 0);
	for (i = 1; i <= KD_CT_CACHE_WAYS; i++)
		kd_ct_cache_fill(cc, i * 0x10001u, i);
	for (i = 1; i <= KD_CT_CACHE_WAYS; i++) {
		assert_true(kd_ct_cache_find(cc, i * 0x10001u, &d));
		assert_int_equal(d, i);
	}
	kd_ct_cache_fill(cc, 3 * 0x10001u, 33);	/* a refill: nothing replaced */
	kd_ct_cache_fill(cc, 0xabcdu, 99);	/* full: the first way goes */
	assert_false(kd_ct_cache_find(cc, 1 * 0x10001u, &d));
	assert_true(kd_ct_cache_find(cc, 0xabcdu, &d));
	assert_int_equal(d, 99);
	assert_true(kd_ct_cache_find(cc, 3 * 0x10001u, &d));
	assert_int_equal(d, 33);
	kd_ct_cache_fill(cc, 0xabceu, 100);	/* then the second */
	assert_false(kd_ct_cache_find(cc, 2 * 0x10001u, &d));
	kd_ct_cache_forget(cc, 0xabcdu);
	assert_false(kd_ct_cache_find(cc, 0xabcdu, &d));
	kd_ct_cache_fill(cc, 0xabcfu, 101);	/* the forgotten way is empty: taken first */
	assert_true(kd_ct_cache_find(cc, 4 * 0x10001u, &d));
	assert_true(kd_ct_cache_find(cc, 0xabceu, &d));
	assert_true(kd_ct_cache_find(cc, 0xabcfu, &d));
	assert_int_equal(kd_ct_cache_memsize(1), sizeof(*cc) + sizeof(cc->b[0]));
	assert_int_equal(kd_ct_cache_memsize(1000), sizeof(*cc) + 128 * sizeof(cc->b[0]));
	kd_ct_cache_free(cc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_hash_is_the_tables),
		cmocka_unit_test(test_both_directions_one_record),
		cmocka_unit_test(test_zone_is_part_of_the_key),
		cmocka_unit_test(test_nat_reply_key),
		cmocka_unit_test(test_cache_answers_both_directions),
		cmocka_unit_test(test_cache_entry_outliving_its_connection),
		cmocka_unit_test(test_cache_full_bucket_replaces_in_turn),
		cmocka_unit_test(test_delete_if_same_keys),
		cmocka_unit_test(test_full_table_keeps_existing),
		cmocka_unit_test(test_aging_and_reclaim),
		cmocka_unit_test(test_timeouts_follow_state),
		cmocka_unit_test(test_one_million),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
