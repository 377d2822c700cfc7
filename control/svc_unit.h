/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_SVC_UNIT_H
#define KDPU_CONTROL_SVC_UNIT_H

/*
 * One Service compiled: its frontends (one per clusterIP, externalIP,
 * LoadBalancer ingress IP or nodePort, per port), their endpoints merged
 * over the Service's EndpointSlices, and their Maglev pools, with the
 * serials of the objects it came from. The Service compiler
 * (translate_service.c) keeps one unit per Service and replaces a unit
 * whole when its Service or a slice of it changes. Control thread only.
 */

#include <stddef.h>
#include <stdint.h>

#include "control/err.h"
#include "dataplane/lb.h"
#include "proto/kinds.h"

struct kd_config;
struct kd_maglev_cache;
struct kd_store_ref;
struct kd_translate_slices_eps;
struct kd_svc_build;

struct kd_svc_unit {
	char *name;			/* "namespace/name"; the frontends point to it */
	uint64_t serial;		/* the Service's */
	uint64_t *slices;		/* its slices' serials, in the store's order */
	uint32_t n_slices;
	uint32_t n_fe;
	struct kd_lb_frontend *fe;
	struct kd_svc_build *b;		/* what the compilation allocated */
};

/**
 * Compile svc (store serial serial) over its n_sl slices sl; eps is scratch
 * space kept between calls. NULL with e set.
 */
struct kd_svc_unit *kd_svc_unit_compile(const struct kd_config *cfg, struct kd_maglev_cache *mc,
					const char *name, const PB(Service) *svc, uint64_t serial,
					const struct kd_store_ref *sl, size_t n_sl,
					struct kd_translate_slices_eps *eps, struct kd_err *e);
/** Free u (NULL: nothing) and drop its Maglev table references. */
void kd_svc_unit_free(struct kd_maglev_cache *mc, struct kd_svc_unit *u);

/** Maglev disruption figures of fe against old, the frontend it replaces. */
void kd_svc_unit_disruption(struct kd_lb_frontend *fe, const struct kd_lb_frontend *old);

/** "TCP", "UDP" or "SCTP". */
const char *kd_svc_unit_proto_name(uint8_t proto);

#endif
