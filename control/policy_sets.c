/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per classifier key, a counted multiset of admitted tuples, kept in the
 * order of a published set (kd_pol_entry_cmp()). What is
 * published is its projection: each distinct (protocol, port range) once,
 * with the lowest policy id that gives it, sorted so that comparing with the
 * live set is a merge. A hundred policies admitting the same peers on the
 * same port cost a worker one entry, not a hundred.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "control/grow.h"
#include "control/policy_sets.h"

struct cent {
	struct kd_pol_entry e;
	uint32_t count;
};

struct shadow {
	struct kd_pol_key key;
	struct cent *v;			/* sorted; zero counts stay until published */
	uint32_t n, cap;
	uint32_t nonzero;
	struct kd_pol_set *live;	/* what the classifier holds, or NULL */
	bool dirty;
};

struct ptrs {
	struct shadow **v;
	uint32_t n, cap;
};

struct kd_policy_sets {
	struct kd_pol_cls *cls;
	struct rte_hash *map;		/* key -> struct shadow, this thread only */
	uint32_t capacity;
	uint32_t keys;			/* shadows with a nonzero count */
	struct ptrs dirty, narrow;
	uint64_t written;
	uint32_t lencount[RTE_MAX_ETHPORTS][2][33];
};

static int
ptrs_push(struct ptrs *p, struct shadow *s)
{
	if (kd_grow((void **)&p->v, &p->cap, p->n, sizeof(*p->v)) != 0)
		return -ENOMEM;
	p->v[p->n++] = s;
	return 0;
}

struct kd_policy_sets *
kd_policy_sets_create(uint32_t capacity)
{
	static unsigned int seq;
	struct kd_policy_sets *ps = calloc(1, sizeof(*ps));
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		/* Live keys and the new ones of a change, side by side until it is published. */
		.entries = RTE_MAX(capacity, 32u) * 2,
		.key_len = sizeof(struct kd_pol_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	if (ps == NULL)
		return NULL;
	snprintf(name, sizeof(name), "kdpolc%u", seq);
	ps->cls = kd_pol_cls_create(name, capacity);
	snprintf(name, sizeof(name), "kdpols%u", seq++);
	ps->map = rte_hash_create(&hp);
	ps->capacity = capacity;
	if (ps->cls == NULL || ps->map == NULL) {
		kd_policy_sets_free(ps);
		return NULL;
	}
	return ps;
}

void
kd_policy_sets_free(struct kd_policy_sets *ps)
{
	const void *k;
	void *data;
	uint32_t it = 0;

	if (ps == NULL)
		return;
	while (ps->map != NULL && rte_hash_iterate(ps->map, &k, &data, &it) >= 0) {
		struct shadow *sh = data;

		free(sh->live);
		free(sh->v);
		free(sh);
	}
	rte_hash_free(ps->map);
	kd_pol_cls_free(ps->cls);
	free(ps->dirty.v);
	free(ps->narrow.v);
	free(ps);
}

const struct kd_pol_cls *
kd_policy_sets_cls(const struct kd_policy_sets *ps)
{
	return ps->cls;
}

/* The index of e in sh, or where it would go (*found false). */
static uint32_t
find(const struct shadow *sh, const struct kd_pol_entry *e, bool *found)
{
	uint32_t lo = 0, hi = sh->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = kd_pol_entry_cmp(&sh->v[mid].e, e);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void
nonzero_changed(struct kd_policy_sets *ps, const struct shadow *sh, int d)
{
	ps->lencount[sh->key.port][sh->key.dir][sh->key.plen] += (uint32_t)d;
	ps->keys += (uint32_t)d;
}

int
kd_policy_sets_add(struct kd_policy_sets *ps, const struct kd_pol_key *k,
		   const struct kd_pol_entry *e, int sign)
{
	struct shadow *sh;
	void *data;
	uint32_t i;
	bool found;

	if (k->port >= RTE_MAX_ETHPORTS || k->dir > 1 || k->plen > 32)
		return -EINVAL;
	if (rte_hash_lookup_data(ps->map, k, &data) >= 0) {
		sh = data;
	} else {
		if (sign < 0)
			return -ENOENT;
		sh = calloc(1, sizeof(*sh));
		if (sh == NULL)
			return -ENOMEM;
		sh->key = *k;
		if (rte_hash_add_key_data(ps->map, k, sh) != 0) {
			free(sh);
			return -ENOSPC;
		}
	}
	if (!sh->dirty) {
		if (ptrs_push(&ps->dirty, sh) != 0)
			return -ENOMEM;
		sh->dirty = true;
	}
	i = find(sh, e, &found);
	if (sign < 0) {
		if (!found || sh->v[i].count == 0)
			return -ENOENT;
		if (--sh->v[i].count == 0 && --sh->nonzero == 0)
			nonzero_changed(ps, sh, -1);
		return 0;
	}
	if (!found) {
		if (kd_grow((void **)&sh->v, &sh->cap, sh->n, sizeof(*sh->v)) != 0)
			return -ENOMEM;
		memmove(&sh->v[i + 1], &sh->v[i], (sh->n - i) * sizeof(*sh->v));
		sh->v[i] = (struct cent){ .e = *e, .count = 0 };
		sh->n++;
	}
	if (sh->v[i].count++ == 0 && sh->nonzero++ == 0)
		nonzero_changed(ps, sh, 1);
	return 0;
}

uint64_t
kd_policy_sets_lens(const struct kd_policy_sets *ps, uint16_t port, uint8_t dir)
{
	uint64_t m = 0;
	unsigned int l;

	for (l = 0; l <= 32; l++)
		if (ps->lencount[port][dir][l] != 0)
			m |= 1ull << l;
	return m;
}

bool
kd_policy_sets_fit(const struct kd_policy_sets *ps)
{
	uint64_t n = kd_pol_cls_count(ps->cls);
	uint32_t i;

	for (i = 0; i < ps->dirty.n; i++)
		if (ps->dirty.v[i]->live == NULL && ps->dirty.v[i]->nonzero != 0)
			n++;
	return n <= ps->capacity;
}

static struct kd_pol_set *
set_new(uint32_t n)
{
	struct kd_pol_set *s = malloc(sizeof(*s) + n * sizeof(s->e[0]));

	if (s != NULL)
		s->n = n;
	return s;
}

static int
retire_set(struct kd_policy_sets_retired *r, struct kd_pol_set *s)
{
	if (kd_grow((void **)&r->sets, &r->cap_sets, r->n_sets, sizeof(*r->sets)) != 0)
		return -ENOMEM;
	r->sets[r->n_sets++] = s;
	return 0;
}

/* Publish s as sh's set; the one it replaces is freed a grace period later. */
static void
publish(struct kd_policy_sets *ps, struct shadow *sh, struct kd_pol_set *s,
	struct kd_policy_sets_retired *r)
{
	if (s == NULL || kd_pol_cls_set(ps->cls, &sh->key, s) != 0 ||
	    (sh->live != NULL && retire_set(r, sh->live) != 0)) {
		/* Out of memory after the room was checked: keep what is live. */
		if (s != sh->live)
			free(s);
		return;
	}
	sh->live = s;
	ps->written++;
}

/*
 * What a worker needs of sh (compacted): the shadow is kept in the published
 * order, so each (protocol, range) is a run whose first entry has the lowest
 * id. NULL: no memory.
 */
static struct kd_pol_set *
project(const struct shadow *sh)
{
	struct kd_pol_set *s = set_new(sh->n);
	uint32_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < sh->n; i++)
		s->e[i] = sh->v[i].e;
	s->n = kd_pol_set_dedupe(s->e, sh->n);
	return s;
}

static void
compact(struct shadow *sh)
{
	uint32_t i, j = 0;

	for (i = 0; i < sh->n; i++)
		if (sh->v[i].count != 0)
			sh->v[j++] = sh->v[i];
	sh->n = j;
}

static void
forget(struct kd_policy_sets *ps, struct shadow *sh)
{
	rte_hash_del_key(ps->map, &sh->key);
	free(sh->v);
	free(sh);
}

bool
kd_policy_sets_widen(struct kd_policy_sets *ps, struct kd_policy_sets_retired *r)
{
	uint32_t d, i, j;
	bool step2 = false;

	for (d = 0; d < ps->dirty.n; d++) {
		struct shadow *sh = ps->dirty.v[d];
		const struct kd_pol_set *live = sh->live;
		struct kd_pol_set *next, *s;
		bool added = false, removed = false;
		uint32_t n = 0;

		sh->dirty = false;
		compact(sh);
		if (live == NULL) {
			if (sh->n == 0)
				forget(ps, sh);
			else
				publish(ps, sh, project(sh), r);
			continue;
		}
		next = project(sh);
		if (next == NULL)
			continue;	/* out of memory: what is live stays */
		/* Merge the live set with the next one: what each lacks. */
		for (i = 0, j = 0; i < live->n || j < next->n;) {
			int c = i == live->n ? 1 : j == next->n ? -1 : kd_pol_entry_cmp(&live->e[i], &next->e[j]);

			removed |= c < 0;
			added |= c > 0;
			i += c <= 0;
			j += c >= 0;
			n++;
		}
		if (removed && ptrs_push(&ps->narrow, sh) == 0)
			step2 = true;
		if (!added) {
			free(next);
			continue;
		}
		if (!removed) {
			publish(ps, sh, next, r);
			continue;
		}
		/* Both: the union now, the next set in step 2. */
		s = set_new(n);
		for (i = 0, j = 0, n = 0; s != NULL && (i < live->n || j < next->n);) {
			int c = i == live->n ? 1 : j == next->n ? -1 : kd_pol_entry_cmp(&live->e[i], &next->e[j]);

			s->e[n++] = c < 0 ? live->e[i] : next->e[j];
			i += c <= 0;
			j += c >= 0;
		}
		free(next);
		publish(ps, sh, s, r);
	}
	ps->dirty.n = 0;
	return step2;
}

void
kd_policy_sets_narrow(struct kd_policy_sets *ps, struct kd_policy_sets_retired *r)
{
	uint32_t d;

	for (d = 0; d < ps->narrow.n; d++) {
		struct shadow *sh = ps->narrow.v[d];

		if (sh->n == 0) {
			int32_t slot = kd_pol_cls_unset(ps->cls, &sh->key);

			/* Without room to remember the slot, it stays taken: a leak, not a fault. */
			if (slot >= 0 &&
			    kd_grow((void **)&r->slots, &r->cap_slots, r->n_slots, sizeof(*r->slots)) == 0)
				r->slots[r->n_slots++] = slot;
			if (retire_set(r, sh->live) != 0)
				continue;	/* the set leaks rather than being freed early */
			forget(ps, sh);
			continue;
		}
		publish(ps, sh, project(sh), r);
	}
	ps->narrow.n = 0;
}

void
kd_policy_sets_release(struct kd_policy_sets *ps, struct kd_policy_sets_retired *r)
{
	uint32_t i;

	for (i = 0; i < r->n_sets; i++)
		free(r->sets[i]);
	for (i = 0; ps != NULL && i < r->n_slots; i++)
		kd_pol_cls_reclaim(ps->cls, r->slots[i]);
	free(r->sets);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}

uint64_t
kd_policy_sets_written(const struct kd_policy_sets *ps)
{
	return ps->written;
}

uint32_t
kd_policy_sets_keys(const struct kd_policy_sets *ps)
{
	return ps->keys;
}

void
kd_policy_sets_walk(const struct kd_policy_sets *ps,
		    void (*fn)(const struct kd_pol_key *k, const struct kd_pol_entry *e,
			       uint32_t count, void *arg),
		    void *arg)
{
	const void *k;
	void *data;
	uint32_t it = 0, i;

	while (rte_hash_iterate(ps->map, &k, &data, &it) >= 0) {
		const struct shadow *sh = data;

		for (i = 0; i < sh->n; i++)
			if (sh->v[i].count != 0)
				fn(&sh->key, &sh->v[i].e, sh->v[i].count, arg);
	}
}
