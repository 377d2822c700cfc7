/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TXN_H
#define KDPU_CONTROL_TXN_H

/*
 * The store changes of one API call, kept until they are published as one
 * (kd_txn_commit) or undone as one (kd_txn_abort), so that the store and
 * the running tables never disagree. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "control/err.h"
#include "control/store.h"

struct kd_api;

struct kd_txn {
	struct kd_store_change *v;
	size_t n, cap;
	bool removal;			/* something was deleted */
};

/** Record a change the caller made to the store: old replaced by cur (NULL: a delete). */
enum kd_status kd_txn_add(struct kd_txn *t, enum kd_kind_id kind, ProtobufCMessage *old,
			  ProtobufCMessage *cur, struct kd_err *e);
/** Put back what the newest change of t took out of the store, and drop it from t. */
void kd_txn_undo_last(struct kd_api *api, struct kd_txn *t);
/** Undo every change of t, newest first, and empty it. */
void kd_txn_abort(struct kd_api *api, struct kd_txn *t);
/**
 * Publish what t changed. On success the objects it replaced are freed; on
 * failure the store is as it was before t.
 */
enum kd_status kd_txn_commit(struct kd_api *api, struct kd_txn *t, struct kd_err *e);

#endif
