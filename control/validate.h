/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_VALIDATE_H
#define KDPU_CONTROL_VALIDATE_H

/*
 * Request validation, before anything changes: syntax, ranges, list sizes
 * and references of every kind, with messages that name the field. It reads
 * the store (references) and the configuration (vNIC ports, the VTEP) and
 * changes only the object it checks: maps sorted by key, so that an identical
 * object packs to identical bytes, and the defaults the API server would set
 * (a Namespace's kubernetes.io/metadata.name label). Control thread only.
 */

#include <protobuf-c/protobuf-c.h>

#include "control/err.h"
#include "proto/kinds.h"

/* Set on every Namespace to its name, as the API server does. */
#define KD_NAMESPACE_NAME_LABEL "kubernetes.io/metadata.name"

struct kd_config;
struct kd_store;

/** Validates and canonicalizes obj of kind k; KD_OK, or the status with e naming the field. */
enum kd_status kd_validate(const struct kd_store *s, const struct kd_config *cfg,
			   const struct kd_kind *k, ProtobufCMessage *obj, struct kd_err *e);

#endif
