/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A transaction of the API engine: the store changes of one call (a Batch
 * holds many), published together at the end through kd_api_sync(), or
 * undone together, newest first, when publication fails or a later request
 * of the batch is refused.
 */
#include <stdlib.h>

#include "control/api.h"
#include "control/txn.h"

enum kd_status
kd_txn_add(struct kd_txn *t, enum kd_kind_id kind, ProtobufCMessage *old, ProtobufCMessage *cur,
	   struct kd_err *e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct kd_store_change *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL)
			return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct kd_store_change){ .kind = kind, .old = old, .cur = cur };
	t->removal |= cur == NULL;
	return KD_OK;
}

void
kd_txn_undo_last(struct kd_api *api, struct kd_txn *t)
{
	const struct kd_store_change *c = &t->v[--t->n];
	ProtobufCMessage *undo = NULL;

	if (c->old != NULL)
		kd_store_put(&api->store, c->kind, (ProtobufCMessage *)(uintptr_t)c->old, &undo);
	else
		undo = kd_store_del(&api->store, c->kind, kd_store_name(c->cur));
	if (undo != NULL)
		protobuf_c_message_free_unpacked(undo, NULL);
}

void
kd_txn_abort(struct kd_api *api, struct kd_txn *t)
{
	while (t->n != 0)
		kd_txn_undo_last(api, t);
	free(t->v);
	t->v = NULL;
	t->cap = 0;
	t->removal = false;
}

enum kd_status
kd_txn_commit(struct kd_api *api, struct kd_txn *t, struct kd_err *e)
{
	enum kd_status st = t->n != 0 ? kd_api_sync(api, t->v, t->n, t->removal, e) : KD_OK;
	size_t i;

	if (st != KD_OK) {
		kd_txn_abort(api, t);
		return st;
	}
	/* An object replaced twice in t is the old of one change only. */
	for (i = 0; i < t->n; i++)
		if (t->v[i].old != NULL)
			protobuf_c_message_free_unpacked((ProtobufCMessage *)(uintptr_t)t->v[i].old,
							 NULL);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
	t->removal = false;
	return KD_OK;
}
