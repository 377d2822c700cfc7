/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TRANSLATE_SLICES_H
#define KDPU_CONTROL_TRANSLATE_SLICES_H

/*
 * EndpointSlices for the Service compiler (translate_service.c): the
 * endpoints of one Service port merged over its slices, and the choice of
 * those that take new connections. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/lb.h"
#include "proto/kinds.h"

struct kd_store_ref;

/* A growing array of endpoints. */
struct kd_translate_slices_eps {
	struct kd_lb_backend *v;
	size_t n, cap;
};

/** IPPROTO_* of a Protocol enum value (TCP when unset). */
uint8_t kd_translate_slices_proto(int p);

/**
 * Every endpoint for Service port sp, merged over the Service's n slices
 * (kd_store_slices_of()), flagged ready, serving, terminating, and local
 * when on node. 0 or -ENOMEM.
 */
int kd_translate_slices_gather(struct kd_translate_slices_eps *out, const struct kd_store_ref *slices,
			       size_t n, const PB(ServicePort) *sp, const char *node);

/**
 * Which endpoints take new connections: ready ones, or if there are none,
 * serving terminating ones; only this node's when local. Marks them with
 * used and returns how many; *elsewhere tells that a local pool is empty
 * only because the endpoints are on other nodes.
 */
uint32_t kd_translate_slices_choose(struct kd_lb_backend *be, size_t n, bool local, uint8_t used,
				    bool *elsewhere);

#endif
