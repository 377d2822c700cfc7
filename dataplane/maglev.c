/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/maglev.h"

bool
kd_maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	for (d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

uint32_t
kd_maglev_size(uint32_t n, uint32_t per_backend, uint32_t max)
{
	static const uint32_t ladder[] = {
		251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287,
		1048573,
	};
	uint64_t want = (uint64_t)n * per_backend;
	unsigned int i;

	if (per_backend == 0)
		return max;
	for (i = 0; i < sizeof(ladder) / sizeof(ladder[0]) && ladder[i] < max; i++)
		if (ladder[i] >= want && ladder[i] > n)
			return ladder[i];
	return max;
}

/* SplitMix64: a well-mixed hash of a 64-bit key, with a seed per use. */
static uint64_t
mix(uint64_t x, uint64_t seed)
{
	x += seed + 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static const uint64_t *sort_keys;

static int
by_key(const void *a, const void *b)
{
	uint64_t x = sort_keys[*(const uint32_t *)a], y = sort_keys[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

int
kd_maglev_build(uint32_t *table, uint32_t m, const uint64_t *keys, uint32_t n)
{
	uint32_t *pos, *skip, *order;
	uint32_t i, o, filled = 0;

	if (!kd_maglev_is_prime(m) || n >= m)
		return -EINVAL;
	for (i = 0; i < m; i++)
		table[i] = UINT32_MAX;
	if (n == 0)
		return 0;
	pos = malloc(sizeof(*pos) * n);
	skip = malloc(sizeof(*skip) * n);
	order = malloc(sizeof(*order) * n);
	if (pos == NULL || skip == NULL || order == NULL) {
		free(pos);
		free(skip);
		free(order);
		return -ENOMEM;
	}
	/* Turns go in key order, so the table depends on the set, not the list order. */
	for (i = 0; i < n; i++)
		order[i] = i;
	sort_keys = keys;
	qsort(order, n, sizeof(*order), by_key);
	for (i = 0; i < n; i++) {
		pos[i] = (uint32_t)(mix(keys[i], 0x6b6470756d676c31ULL) % m);
		skip[i] = (uint32_t)(mix(keys[i], 0x6b6470756d676c32ULL) % (m - 1)) + 1;
	}
	/*
	 * Backends take turns claiming their next preferred free entry (the
	 * paper's Populate). The permutation offset + j * skip (mod m) is walked
	 * by adding skip, not by a division per probe: most of the work is the
	 * tail, where a backend probes many taken entries before a free one.
	 */
	for (;;) {
		for (o = 0; o < n; o++) {
			uint32_t c, s;

			i = order[o];
			c = pos[i];
			s = skip[i];
			while (table[c] != UINT32_MAX) {
				c += s;
				if (c >= m)
					c -= m;
			}
			table[c] = i;
			c += s;
			pos[i] = c >= m ? c - m : c;
			if (++filled == m)
				goto done;
		}
	}
done:
	free(order);
	free(pos);
	free(skip);
	return 0;
}
