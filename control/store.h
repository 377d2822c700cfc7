/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_STORE_H
#define KDPU_CONTROL_STORE_H

/*
 * The desired state: every API object the daemon holds, per kind, sorted by
 * full resource name (which makes List pages stable). Objects are unpacked
 * protobuf-c messages owned by the store; a replaced or deleted one is handed
 * back to the caller, so that a failed table build can be undone. Each put
 * gives its object a serial never used before, so a compiler can tell an
 * object it already compiled from a new one without comparing contents.
 * EndpointSlices are also indexed by the Service they belong to (label
 * kubernetes.io/service-name, in their namespace), kept in step by every
 * put and delete, so that a change to one Service finds its slices without
 * a pass over all of them. Control thread only.
 */

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/kinds.h"

struct kd_store_kind {
	ProtobufCMessage **obj;		/* sorted by name (field 1) */
	uint64_t *serial;		/* obj[i]'s serial */
	size_t n, cap;
};

struct kd_store {
	struct kd_store_kind kind[KD_KIND_MAX];
	uint64_t last_serial;
	void *slices_by_svc;		/* tsearch(3) tree of "namespace/service" groups */
};

/* A stored object and its serial. */
struct kd_store_ref {
	const ProtobufCMessage *obj;
	uint64_t serial;
};

/** One object a change touched: before and after (NULL: absent). */
struct kd_store_change {
	enum kd_kind_id kind;
	const ProtobufCMessage *old, *cur;
};

/** The label that ties an EndpointSlice to its Service. */
#define KD_STORE_SERVICE_NAME_LABEL "kubernetes.io/service-name"

/** The object named name, or NULL. */
ProtobufCMessage *kd_store_get(const struct kd_store *s, enum kd_kind_id k, const char *name);
/** The serial of the object named name, or 0 when there is none. */
uint64_t kd_store_serial(const struct kd_store *s, enum kd_kind_id k, const char *name);
/** Inserts msg or replaces the object of its name, returning that in *old. 0 or -ENOMEM. */
int kd_store_put(struct kd_store *s, enum kd_kind_id k, ProtobufCMessage *msg,
		 ProtobufCMessage **old);
/** Removes and returns the object named name, or NULL. */
ProtobufCMessage *kd_store_del(struct kd_store *s, enum kd_kind_id k, const char *name);
/** Index of the first object named after name ("" for the first). */
size_t kd_store_after(const struct kd_store *s, enum kd_kind_id k, const char *name);
/** The EndpointSlices of Service ns/svc, sorted by name: *n of them (NULL when none). */
const struct kd_store_ref *kd_store_slices_of(const struct kd_store *s, const char *ns,
					      const char *svc, size_t *n);
/** The Service a slice belongs to by its label, or NULL. */
const char *kd_store_slice_service(const ProtobufCMessage *slice);
/** The name of a stored object. */
const char *kd_store_name(const ProtobufCMessage *msg);
void kd_store_free(struct kd_store *s);

#endif
