/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TRANSLATE_SERVICE_H
#define KDPU_CONTROL_TRANSLATE_SERVICE_H

/*
 * The Service compiler. It joins Services with their EndpointSlices
 * (label kubernetes.io/service-name, same namespace) the way kube-proxy
 * does, and builds the frontends of dataplane/lb.h: one per
 * (clusterIP | externalIP | LoadBalancer ingress IP, port, protocol).
 *
 * - Endpoints of every slice are merged and de-duplicated by address and
 *   port; the port is the slice port of the same name and protocol as the
 *   Service port (the EndpointSlice controller resolves named targetPorts
 *   there), else a numeric targetPort.
 * - New connections go to ready endpoints; when none is ready, to serving
 *   terminating ones (kube-proxy's fallback). internalTrafficPolicy Local
 *   keeps ClusterIP traffic on this node's endpoints. In-cluster clients
 *   of external and LoadBalancer IPs are served like ClusterIP clients
 *   with the Cluster policy, as kube-proxy short-circuits them.
 * - Each frontend gets a Maglev table of the configured prime size.
 * - On publication, UDP connections whose endpoint left are deleted from
 *   the connection table (kube-proxy's conntrack cleanup).
 *
 * It is incremental: a change compiles only the Services it touches, and
 * the live frontend index (dataplane/lb.h) is updated in place, key by
 * key, with a frontend claimed by two Services refused before anything
 * changes. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>

#include "control/err.h"
#include "dataplane/lb.h"

struct kd_config;
struct kd_ct;
struct kd_store;
struct kd_store_change;
struct kd_translate_service;
struct kd_translate_service_delta;

/**
 * A compiler with an empty frontend index of services.max_frontends,
 * published as kd_lb_live. ct, if not NULL, is the connection table stale
 * UDP connections are flushed from. NULL when out of memory.
 */
struct kd_translate_service *kd_translate_service_create(const struct kd_config *cfg,
							 struct kd_ct *ct);
/** After the workers stopped. */
void kd_translate_service_free(struct kd_translate_service *sc);

/**
 * Compile the Services the n changes ch touch (ch NULL: every Service, as
 * a full build; unchanged ones are kept) into a delta; NULL with e set. The
 * live index is not touched.
 */
struct kd_translate_service_delta *
kd_translate_service_build(struct kd_translate_service *sc, const struct kd_store *s,
			   const struct kd_store_change *ch, size_t n, struct kd_err *e);
/** Apply d to the live index; false if it changed nothing. Cannot fail. */
bool kd_translate_service_apply(struct kd_translate_service *sc,
				struct kd_translate_service_delta *d);
/**
 * A grace period after apply: delete the UDP connections whose endpoint
 * left, free what d replaced, and d.
 */
void kd_translate_service_retire(struct kd_translate_service *sc,
				 struct kd_translate_service_delta *d);
/** Free d, built and never applied. */
void kd_translate_service_discard(struct kd_translate_service *sc,
				  struct kd_translate_service_delta *d);

/** fn for each live frontend of Service name ("namespace/name"; NULL: all, by name). */
void kd_translate_service_walk(const struct kd_translate_service *sc, const char *name,
			       void (*fn)(const struct kd_lb_frontend *fe, void *arg), void *arg);

#endif
