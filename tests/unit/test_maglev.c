/* SPDX-License-Identifier: Apache-2.0 */
/* Maglev: every entry filled and evenly spread, minimal disruption, determinism. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "control/maglev_cache.h"
#include "dataplane/maglev.h"

#define M 65537

/* An endpoint key as the translator makes it: IPv4 address and port. */
static uint64_t
ep(uint32_t i)
{
	return ((uint64_t)(0x0af40000u + i) << 16) | 8080;
}

static void
test_prime_sizes(void **state)
{
	uint32_t t[16];
	uint64_t k[2] = { ep(1), ep(2) };

	(void)state;
	assert_true(kd_maglev_is_prime(65537) && kd_maglev_is_prime(251) && kd_maglev_is_prime(2));
	assert_false(kd_maglev_is_prime(65536) || kd_maglev_is_prime(1) || kd_maglev_is_prime(0));
	assert_int_equal(kd_maglev_build(t, 16, k, 2), -EINVAL);
	assert_int_equal(kd_maglev_build(t, 13, k, 2), 0);
	assert_int_equal(kd_maglev_build(t, 2, k, 2), -EINVAL);	/* more backends than room */
	assert_int_equal(kd_maglev_build(t, 13, k, 0), 0);
	assert_int_equal(t[0], UINT32_MAX);
}

static void
test_fill_is_complete_and_even(void **state)
{
	static uint32_t t[M];
	uint64_t k[10];
	uint32_t count[10] = { 0 }, i;

	(void)state;
	for (i = 0; i < 10; i++)
		k[i] = ep(i);
	assert_int_equal(kd_maglev_build(t, M, k, 10), 0);
	for (i = 0; i < M; i++) {
		assert_true(t[i] < 10);
		count[t[i]]++;
	}
	/* Maglev's fill gives each backend floor(M/N) or ceil(M/N) entries, give or take one. */
	for (i = 0; i < 10; i++)
		assert_true(count[i] >= M / 10 - 1 && count[i] <= M / 10 + 2);
}

static void
test_minimal_disruption(void **state)
{
	static uint32_t before[M], after[M];
	uint64_t k[10], k9[9];
	uint32_t i, moved = 0, lost = 0;

	(void)state;
	for (i = 0; i < 10; i++)
		k[i] = ep(i);
	/* Remove endpoint 3 of 10: keys keep their identity, indices shift. */
	for (i = 0; i < 9; i++)
		k9[i] = k[i < 3 ? i : i + 1];
	assert_int_equal(kd_maglev_build(before, M, k, 10), 0);
	assert_int_equal(kd_maglev_build(after, M, k9, 9), 0);
	for (i = 0; i < M; i++) {
		if (before[i] == 3) {
			lost++;
			continue;
		}
		if (k[before[i]] != k9[after[i]])
			moved++;
	}
	printf("maglev: 1 of 10 endpoints removed, M=%u: %u entries were its own (%.2f%%), "
	       "%u other entries moved (%.2f%%)\n", M, lost, 100.0 * lost / M, moved,
	       100.0 * moved / M);
	/* The removed endpoint's share must move; of the rest, only a few percent may. */
	assert_true(moved < M / 20);
}

static void
test_deterministic_and_order_free(void **state)
{
	static uint32_t a[M], b[M];
	uint64_t k[5] = { ep(5), ep(1), ep(9), ep(3), ep(7) }, r[5];
	uint32_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		r[i] = k[4 - i];
	assert_int_equal(kd_maglev_build(a, M, k, 5), 0);
	assert_int_equal(kd_maglev_build(b, M, k, 5), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* Listed in another order, every entry still names the same endpoint. */
	assert_int_equal(kd_maglev_build(b, M, r, 5), 0);
	for (i = 0; i < M; i++)
		assert_true(k[a[i]] == r[b[i]]);
}

/* The Service compiler's cache: one table per endpoint set, shared and refcounted. */
static void
test_cache_shares_and_frees(void **state)
{
	uint64_t a[3] = { ep(1), ep(2), ep(3) }, b[2] = { ep(1), ep(2) };
	struct kd_maglev_cache *c = kd_maglev_cache_create();
	const uint16_t *ta, *ta2, *tb, *ta3;
	uint32_t want[13], i;

	(void)state;
	assert_non_null(c);
	ta = kd_maglev_cache_get(c, 13, a, 3);
	ta2 = kd_maglev_cache_get(c, 13, a, 3);
	tb = kd_maglev_cache_get(c, 13, b, 2);
	assert_non_null(ta);
	assert_non_null(tb);
	assert_ptr_equal(ta, ta2);
	assert_ptr_not_equal(ta, tb);
	assert_int_equal(kd_maglev_cache_count(c), 2);
	assert_int_equal(kd_maglev_build(want, 13, a, 3), 0);
	for (i = 0; i < 13; i++)
		assert_int_equal(ta[i], want[i]);
	/* Another size is another table. */
	assert_ptr_not_equal(kd_maglev_cache_get(c, 7, a, 3), ta);
	assert_int_equal(kd_maglev_cache_count(c), 3);
	kd_maglev_cache_put(c, ta);
	assert_int_equal(kd_maglev_cache_count(c), 3);	/* ta2 still holds it */
	kd_maglev_cache_put(c, ta2);
	assert_int_equal(kd_maglev_cache_count(c), 2);
	ta3 = kd_maglev_cache_get(c, 13, a, 3);	/* built again after its last put */
	assert_non_null(ta3);
	assert_int_equal(kd_maglev_cache_count(c), 3);
	for (i = 0; i < 13; i++)
		assert_int_equal(ta3[i], want[i]);
	kd_maglev_cache_put(c, ta3);
	kd_maglev_cache_put(c, tb);
	assert_int_equal(kd_maglev_cache_count(c), 1);
	kd_maglev_cache_free(c);	/* frees what is still held: the size-7 table */
}

/* Tables sized by endpoints: at least per_backend entries each, a prime, within max. */
static void
test_size_follows_endpoints(void **state)
{
	uint32_t n;

	(void)state;
	assert_int_equal(kd_maglev_size(1, 100, 65521), 251);
	assert_int_equal(kd_maglev_size(2, 100, 65521), 251);
	assert_int_equal(kd_maglev_size(3, 100, 65521), 509);
	assert_int_equal(kd_maglev_size(10, 100, 65521), 1021);
	assert_int_equal(kd_maglev_size(11, 100, 65521), 2039);
	assert_int_equal(kd_maglev_size(1000, 100, 65521), 65521);	/* capped */
	assert_int_equal(kd_maglev_size(10, 0, 4093), 4093);		/* fixed */
	assert_int_equal(kd_maglev_size(10, 100, 509), 509);		/* max below the rung */
	for (n = 1; n < 3000; n++) {
		uint32_t m = kd_maglev_size(n, 100, 1048573);

		assert_true(kd_maglev_is_prime(m));
		assert_true(m > n && (uint64_t)m >= 100ull * n);
		/* The smallest rung: the one below would not do. */
		assert_true(m == 251 || (uint64_t)((m + 1) / 2 - 1) < 100ull * n ||
			    (m + 1) / 2 - 1 <= n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime_sizes),
		cmocka_unit_test(test_fill_is_complete_and_even),
		cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_deterministic_and_order_free),
		cmocka_unit_test(test_cache_shares_and_frees),
		cmocka_unit_test(test_size_follows_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
