/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy ids by name, found through a tree rather than a pass over every
 * id, so that compiling N policies costs N lookups, not N^2 compares; freed
 * ids are reused lowest first, from a heap.
 */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/policy_ids.h"

/* A policy's id, by its name. */
struct id_ent {
	uint32_t id;
	char name[128];
};

static int
cmp_id_ent(const void *a, const void *b)
{
	return strcmp(((const struct id_ent *)a)->name, ((const struct id_ent *)b)->name);
}

static void
heap_push(struct kd_policy_ids *t, uint32_t id)
{
	uint32_t i = t->n_free++;

	for (; i > 0 && t->free_ids[(i - 1) / 2] > id; i = (i - 1) / 2)
		t->free_ids[i] = t->free_ids[(i - 1) / 2];
	t->free_ids[i] = id;
}

static uint32_t
heap_pop(struct kd_policy_ids *t)
{
	uint32_t top = t->free_ids[0], last = t->free_ids[--t->n_free], i = 0, c;

	for (; (c = 2 * i + 1) < t->n_free; i = c) {
		if (c + 1 < t->n_free && t->free_ids[c + 1] < t->free_ids[c])
			c++;
		if (t->free_ids[c] >= last)
			break;
		t->free_ids[i] = t->free_ids[c];
	}
	if (t->n_free != 0)
		t->free_ids[i] = last;
	return top;
}

uint32_t
kd_policy_ids_get(struct kd_policy_ids *t, const char *name, uint32_t max, uint8_t *seen,
		  bool *fresh)
{
	struct id_ent *key = malloc(sizeof(*key)), **at;
	uint32_t id;

	*fresh = false;
	if (key == NULL)
		return 0;
	snprintf(key->name, sizeof(key->name), "%s", name);
	at = tfind(key, &t->by_name, cmp_id_ent);
	if (at != NULL) {
		free(key);
		if (seen != NULL)
			seen[(*at)->id - 1] = 1;
		return (*at)->id;
	}
	if (t->n_free != 0) {
		id = heap_pop(t);
	} else {
		if (t->n >= max) {
			free(key);
			return 0;
		}
		if (t->n == t->cap) {
			/* Doubling: a build of N new policies must not copy N^2 names. */
			uint32_t cap = t->cap ? t->cap * 2 : 64;
			char (*v)[128] = realloc(t->name, cap * sizeof(*v));
			uint32_t *f;

			if (v != NULL)
				t->name = v;
			f = v != NULL ? realloc(t->free_ids, cap * sizeof(*f)) : NULL;
			if (f == NULL) {
				free(key);
				return 0;
			}
			t->free_ids = f;
			t->cap = cap;
		}
		id = ++t->n;
		t->name[id - 1][0] = '\0';
	}
	key->id = id;
	if (tsearch(key, &t->by_name, cmp_id_ent) == NULL) {
		free(key);
		heap_push(t, id);
		return 0;
	}
	snprintf(t->name[id - 1], sizeof(t->name[0]), "%s", name);
	if (seen != NULL)
		seen[id - 1] = 1;
	*fresh = true;
	return id;
}

/* The id of a policy that is gone becomes free. */
static void
release(struct kd_policy_ids *t, uint32_t id)
{
	struct id_ent key;
	struct id_ent **at;

	snprintf(key.name, sizeof(key.name), "%s", t->name[id - 1]);
	at = tfind(&key, &t->by_name, cmp_id_ent);
	if (at != NULL) {
		struct id_ent *e = *at;

		tdelete(&key, &t->by_name, cmp_id_ent);
		free(e);
	}
	t->name[id - 1][0] = '\0';
	heap_push(t, id);
}

void
kd_policy_ids_put(struct kd_policy_ids *t, uint32_t id)
{
	if (id != 0 && id <= t->n && t->name[id - 1][0] != '\0')
		release(t, id);
}

void
kd_policy_ids_sweep(struct kd_policy_ids *t, const uint8_t *seen)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		if (!seen[i] && t->name[i][0] != '\0')
			release(t, i + 1);
}

void
kd_policy_ids_fini(struct kd_policy_ids *t)
{
	tdestroy(t->by_name, free);
	free(t->free_ids);
	free(t->name);
	memset(t, 0, sizeof(*t));
}
