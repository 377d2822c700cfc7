/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store.h"

const char *
kd_store_name(const ProtobufCMessage *msg)
{
	return *kd_pb_string_field((ProtobufCMessage *)(uintptr_t)msg, 1);
}

/* The slices of one Service, by name; key is "namespace/service". */
struct group {
	struct kd_store_ref *v;
	size_t n, cap;
	char key[];
};

static int
cmp_group(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

const char *
kd_store_slice_service(const ProtobufCMessage *slice)
{
	const PB(ObjectMeta) *m = ((const PB(EndpointSlice) *)slice)->metadata;
	size_t i;

	for (i = 0; m != NULL && i < m->n_labels; i++)
		if (strcmp(m->labels[i]->key, KD_STORE_SERVICE_NAME_LABEL) == 0)
			return m->labels[i]->value;
	return NULL;
}

/* The group of slice's Service, created when create says so; NULL if none. */
static struct group *
group_of(struct kd_store *s, const ProtobufCMessage *slice, bool create)
{
	const char *svc = kd_store_slice_service(slice);
	const PB(EndpointSlice) *es = (const PB(EndpointSlice) *)slice;
	size_t len;
	struct group *g, **at;

	if (svc == NULL)
		return NULL;
	len = strlen(es->metadata->namespace_) + strlen(svc) + 2;
	g = calloc(1, sizeof(*g) + len);
	if (g == NULL)
		return NULL;
	snprintf(g->key, len, "%s/%s", es->metadata->namespace_, svc);
	at = create ? tsearch(g, &s->slices_by_svc, cmp_group) : tfind(g, &s->slices_by_svc, cmp_group);
	if (at == NULL || *at != g)
		free(g);
	return at != NULL ? *at : NULL;
}

/* Add slice to its Service's group, in name order. 0 or -ENOMEM. */
static int
group_add(struct kd_store *s, const ProtobufCMessage *slice, uint64_t serial)
{
	struct group *g;
	const char *name = kd_store_name(slice);
	size_t i;

	if (kd_store_slice_service(slice) == NULL)
		return 0;
	g = group_of(s, slice, true);
	if (g == NULL)
		return -ENOMEM;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 4;
		struct kd_store_ref *v = realloc(g->v, cap * sizeof(*v));

		if (v == NULL) {
			if (g->n == 0) {
				tdelete(g, &s->slices_by_svc, cmp_group);
				free(g);
			}
			return -ENOMEM;
		}
		g->v = v;
		g->cap = cap;
	}
	for (i = g->n; i > 0 && strcmp(kd_store_name(g->v[i - 1].obj), name) > 0; i--)
		g->v[i] = g->v[i - 1];
	g->v[i] = (struct kd_store_ref){ .obj = slice, .serial = serial };
	g->n++;
	return 0;
}

static void
group_del(struct kd_store *s, const ProtobufCMessage *slice)
{
	struct group *g = group_of(s, slice, false);
	size_t i;

	for (i = 0; g != NULL && i < g->n; i++) {
		if (g->v[i].obj != slice)
			continue;
		memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof(*g->v));
		if (--g->n == 0) {
			tdelete(g, &s->slices_by_svc, cmp_group);
			free(g->v);
			free(g);
		}
		return;
	}
}

const struct kd_store_ref *
kd_store_slices_of(const struct kd_store *s, const char *ns, const char *svc, size_t *n)
{
	size_t len = strlen(ns) + strlen(svc) + 2;
	struct group *key = malloc(sizeof(*key) + len), **at;

	*n = 0;
	if (key == NULL)
		return NULL;
	snprintf(key->key, len, "%s/%s", ns, svc);
	at = tfind(key, &s->slices_by_svc, cmp_group);
	free(key);
	if (at == NULL)
		return NULL;
	*n = (*at)->n;
	return (*at)->v;
}

/* Index of name, or of where it would go; *found says which. */
static size_t
search(const struct kd_store_kind *sk, const char *name, int *found)
{
	size_t lo = 0, hi = sk->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(kd_store_name(sk->obj[mid]), name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

ProtobufCMessage *
kd_store_get(const struct kd_store *s, enum kd_kind_id k, const char *name)
{
	const struct kd_store_kind *sk = &s->kind[k];
	int found;
	size_t i = search(sk, name, &found);

	return found ? sk->obj[i] : NULL;
}

uint64_t
kd_store_serial(const struct kd_store *s, enum kd_kind_id k, const char *name)
{
	const struct kd_store_kind *sk = &s->kind[k];
	int found;
	size_t i = search(sk, name, &found);

	return found ? sk->serial[i] : 0;
}

int
kd_store_put(struct kd_store *s, enum kd_kind_id k, ProtobufCMessage *msg, ProtobufCMessage **old)
{
	struct kd_store_kind *sk = &s->kind[k];
	int found;
	size_t i = search(sk, kd_store_name(msg), &found);

	*old = NULL;
	if (k == KD_KIND_ENDPOINTSLICE && group_add(s, msg, s->last_serial + 1) != 0)
		return -ENOMEM;
	if (found) {
		*old = sk->obj[i];
		if (k == KD_KIND_ENDPOINTSLICE)
			group_del(s, *old);
		sk->obj[i] = msg;
		sk->serial[i] = ++s->last_serial;
		return 0;
	}
	if (sk->n == sk->cap) {
		size_t cap = sk->cap != 0 ? sk->cap * 2 : 16;
		ProtobufCMessage **v = realloc(sk->obj, cap * sizeof(*v));
		uint64_t *ser;

		if (v != NULL)
			sk->obj = v;
		ser = v != NULL ? realloc(sk->serial, cap * sizeof(*ser)) : NULL;
		if (ser == NULL) {
			if (k == KD_KIND_ENDPOINTSLICE)
				group_del(s, msg);
			return -ENOMEM;
		}
		sk->serial = ser;
		sk->cap = cap;
	}
	memmove(&sk->obj[i + 1], &sk->obj[i], (sk->n - i) * sizeof(*sk->obj));
	memmove(&sk->serial[i + 1], &sk->serial[i], (sk->n - i) * sizeof(*sk->serial));
	sk->obj[i] = msg;
	sk->serial[i] = ++s->last_serial;
	sk->n++;
	return 0;
}

ProtobufCMessage *
kd_store_del(struct kd_store *s, enum kd_kind_id k, const char *name)
{
	struct kd_store_kind *sk = &s->kind[k];
	ProtobufCMessage *msg;
	int found;
	size_t i = search(sk, name, &found);

	if (!found)
		return NULL;
	msg = sk->obj[i];
	if (k == KD_KIND_ENDPOINTSLICE)
		group_del(s, msg);
	memmove(&sk->obj[i], &sk->obj[i + 1], (sk->n - i - 1) * sizeof(*sk->obj));
	memmove(&sk->serial[i], &sk->serial[i + 1], (sk->n - i - 1) * sizeof(*sk->serial));
	sk->n--;
	return msg;
}

size_t
kd_store_after(const struct kd_store *s, enum kd_kind_id k, const char *name)
{
	int found;
	size_t i = search(&s->kind[k], name, &found);

	return found ? i + 1 : i;
}

static void
group_free(void *g)
{
	free(((struct group *)g)->v);
	free(g);
}

void
kd_store_free(struct kd_store *s)
{
	unsigned int k;
	size_t i;

	tdestroy(s->slices_by_svc, group_free);
	s->slices_by_svc = NULL;
	for (k = 0; k < KD_KIND_MAX; k++) {
		for (i = 0; i < s->kind[k].n; i++)
			protobuf_c_message_free_unpacked(s->kind[k].obj[i], NULL);
		free(s->kind[k].obj);
		free(s->kind[k].serial);
		s->kind[k].obj = NULL;
		s->kind[k].serial = NULL;
		s->kind[k].n = s->kind[k].cap = 0;
	}
}
