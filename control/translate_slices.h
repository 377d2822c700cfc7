/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TRANSLATE_SLICES_H
#define KDPU_CONTROL_TRANSLATE_SLICES_H

/*
 * EndpointSlices for the Service compiler (translate_service.c): an index
 * of the store's slices by the Service they belong to, built once per
 * build, the endpoints of one Service port merged over its slices, and the
 * choice of those that take new connections. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/lb.h"
#include "proto/kinds.h"

struct kd_store;

/* A slice, by the Service it belongs to. */
struct kd_translate_slices_ref {
	uint32_t h;			/* of (ns, svc): the index sorts by it first */
	const char *ns, *svc;
	const PB(EndpointSlice) *es;
	uint64_t serial;
};

/* A growing array of endpoints. */
struct kd_translate_slices_eps {
	struct kd_lb_backend *v;
	size_t n, cap;
};

/** IPPROTO_* of a Protocol enum value (TCP when unset). */
uint8_t kd_translate_slices_proto(int p);

/** The store's IPv4 slices sorted by (namespace, Service); *n of them (malloc'd; NULL: no memory). */
struct kd_translate_slices_ref *kd_translate_slices_index(const struct kd_store *s, size_t *n);

/** Where svc's slices start in idx; *count says how many there are. */
size_t kd_translate_slices_of(const struct kd_translate_slices_ref *idx, size_t n,
			      const PB(Service) *svc, size_t *count);

/**
 * Every endpoint of svc for Service port sp, merged over its slices in idx,
 * flagged ready, serving, terminating, and local when on node. 0 or -ENOMEM.
 */
int kd_translate_slices_gather(struct kd_translate_slices_eps *out,
			       const struct kd_translate_slices_ref *idx, size_t n_idx,
			       const PB(Service) *svc, const PB(ServicePort) *sp, const char *node);

/**
 * Which endpoints take new connections: ready ones, or if there are none,
 * serving terminating ones; only this node's when local. Marks them with
 * used and returns how many; *elsewhere tells that a local pool is empty
 * only because the endpoints are on other nodes.
 */
uint32_t kd_translate_slices_choose(struct kd_lb_backend *be, size_t n, bool local, uint8_t used,
				    bool *elsewhere);

#endif
