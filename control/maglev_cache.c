/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>

#include "control/maglev_cache.h"
#include "dataplane/maglev.h"

#define MIN_BUCKETS 256

struct entry {
	struct entry *next;
	uint64_t digest;
	uint32_t refs;
	uint32_t m, n;
	uint64_t *keys;
	uint16_t t[];	/* m entries */
};

struct kd_maglev_cache {
	struct entry **bucket;
	uint32_t n_buckets;	/* a power of two */
	uint32_t n;
};

struct kd_maglev_cache *
kd_maglev_cache_create(void)
{
	struct kd_maglev_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->bucket = calloc(MIN_BUCKETS, sizeof(*c->bucket));
	if (c->bucket == NULL) {
		free(c);
		return NULL;
	}
	c->n_buckets = MIN_BUCKETS;
	return c;
}

static void
entry_free(struct entry *e)
{
	free(e->keys);
	free(e);
}

void
kd_maglev_cache_free(struct kd_maglev_cache *c)
{
	uint32_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_buckets; i++)
		while (c->bucket[i] != NULL) {
			struct entry *e = c->bucket[i];

			c->bucket[i] = e->next;
			entry_free(e);
		}
	free(c->bucket);
	free(c);
}

static uint64_t
digest(uint32_t m, const uint64_t *keys, uint32_t n)
{
	uint32_t lo = rte_hash_crc(keys, n * sizeof(*keys), m);

	return (uint64_t)rte_hash_crc(keys, n * sizeof(*keys), lo ^ 0x9e3779b9u) << 32 | lo;
}

/* Twice as many buckets once entries outnumber them; a failed grow is harmless. */
static void
grow(struct kd_maglev_cache *c)
{
	uint32_t nb = c->n_buckets * 2, i;
	struct entry **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return;
	for (i = 0; i < c->n_buckets; i++)
		while (c->bucket[i] != NULL) {
			struct entry *e = c->bucket[i];

			c->bucket[i] = e->next;
			e->next = b[e->digest & (nb - 1)];
			b[e->digest & (nb - 1)] = e;
		}
	free(c->bucket);
	c->bucket = b;
	c->n_buckets = nb;
}

const uint16_t *
kd_maglev_cache_get(struct kd_maglev_cache *c, uint32_t m, const uint64_t *keys, uint32_t n)
{
	uint64_t d = digest(m, keys, n);
	struct entry **head = &c->bucket[d & (c->n_buckets - 1)], *e;
	uint32_t *t32;
	uint32_t i;

	for (e = *head; e != NULL; e = e->next)
		if (e->digest == d && e->m == m && e->n == n &&
		    memcmp(e->keys, keys, n * sizeof(*keys)) == 0) {
			e->refs++;
			return e->t;
		}
	e = malloc(sizeof(*e) + m * sizeof(e->t[0]));
	t32 = malloc(m * sizeof(*t32));
	if (e == NULL || t32 == NULL || n > UINT16_MAX + 1u ||
	    (e->keys = malloc(n * sizeof(*keys))) == NULL) {
		free(e);
		free(t32);
		return NULL;
	}
	if (kd_maglev_build(t32, m, keys, n) != 0) {
		free(t32);
		entry_free(e);
		return NULL;
	}
	for (i = 0; i < m; i++)
		e->t[i] = (uint16_t)t32[i];
	free(t32);
	memcpy(e->keys, keys, n * sizeof(*keys));
	e->digest = d;
	e->refs = 1;
	e->m = m;
	e->n = n;
	e->next = *head;
	*head = e;
	if (++c->n > c->n_buckets)
		grow(c);
	return e->t;
}

void
kd_maglev_cache_put(struct kd_maglev_cache *c, const uint16_t *t)
{
	struct entry *e = (struct entry *)(uintptr_t)((const char *)t - offsetof(struct entry, t));
	struct entry **p;

	if (--e->refs != 0)
		return;
	for (p = &c->bucket[e->digest & (c->n_buckets - 1)]; *p != e; p = &(*p)->next)
		;
	*p = e->next;
	entry_free(e);
	c->n--;
}

uint32_t
kd_maglev_cache_count(const struct kd_maglev_cache *c)
{
	return c->n;
}
