/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/store.h"

const char *
kd_store_name(const ProtobufCMessage *msg)
{
	return *kd_pb_string_field((ProtobufCMessage *)(uintptr_t)msg, 1);
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

int
kd_store_put(struct kd_store *s, enum kd_kind_id k, ProtobufCMessage *msg, ProtobufCMessage **old)
{
	struct kd_store_kind *sk = &s->kind[k];
	int found;
	size_t i = search(sk, kd_store_name(msg), &found);

	*old = NULL;
	if (found) {
		*old = sk->obj[i];
		sk->obj[i] = msg;
		sk->serial[i] = ++s->last_serial;
		return 0;
	}
	if (sk->n == sk->cap) {
		size_t cap = sk->cap != 0 ? sk->cap * 2 : 16;
		ProtobufCMessage **v = realloc(sk->obj, cap * sizeof(*v));
		uint64_t *ser;

		if (v == NULL)
			return -ENOMEM;
		sk->obj = v;
		ser = realloc(sk->serial, cap * sizeof(*ser));
		if (ser == NULL)
			return -ENOMEM;
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

void
kd_store_free(struct kd_store *s)
{
	unsigned int k;
	size_t i;

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
