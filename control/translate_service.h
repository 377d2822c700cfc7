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
 * Control thread only.
 */

#include "control/err.h"
#include "dataplane/lb.h"

struct kd_config;
struct kd_store;
struct kd_ct;
struct kd_translate_service;

/** ct, if not NULL, is the connection table stale UDP connections are flushed from. */
struct kd_translate_service *kd_translate_service_create(const struct kd_config *cfg, struct kd_ct *ct);
void kd_translate_service_free(struct kd_translate_service *sc);

/** Compile the store's Services; NULL with e set. Nothing is published. */
struct kd_lb *kd_translate_service_build(struct kd_translate_service *sc, const struct kd_store *s,
			    struct kd_err *e);
/**
 * Release old: replaced by cur a grace period ago, after deleting the UDP
 * connections whose endpoint left (control/publish.c); or, with cur NULL,
 * a set never published or retired at shutdown.
 */
void kd_translate_service_retire(struct kd_translate_service *sc, struct kd_lb *old,
				 const struct kd_lb *cur);

#endif
