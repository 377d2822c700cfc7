/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_API_H
#define KDPU_CONTROL_API_H

/*
 * The API engine, free of any transport: a method name and a serialized
 * request in, a status and a serialized response out. It owns the object
 * store, validates every request completely before changing anything, and
 * has the tables a change touches rebuilt and published (publish.h); a
 * rebuild that fails undoes the store change. A Batch is many changes
 * validated in order and published as one, or undone as one. The gRPC server
 * (grpc_server.c) and the unit tests drive it alike. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "control/err.h"
#include "control/store.h"
#include "control/txn.h"
#include "proto/kinds.h"
#include "dataplane/stats.h"

struct kd_config;
struct kd_ct;
struct kd_publish;
struct kd_stats;

/* List pages: the size when the request gives none, and the largest. */
#define KD_API_PAGE_DEFAULT 100
#define KD_API_PAGE_MAX 1000

struct kd_api {
	struct kd_store store;
	const struct kd_config *cfg;	/* vNIC ports for Netdev checks, the local VTEP */
	const uint16_t *port_ids;	/* ethdev id of cfg->ports[i] */
	const struct kd_stats *stats;	/* per worker, for GetStats; may be NULL */
	struct kd_ct *ct;		/* for ListFlows; may be NULL */
	unsigned int n_workers;
	struct kd_publish *pub;		/* NULL: changes reach the store only */
	/* Per policy id: connections allowed when the id was (re)given; refusals credited to it. */
	uint64_t pol_base_allow[KD_STATS_POLICIES], pol_denied[KD_STATS_POLICIES];
	/* Each port's and direction's refusals when they were last credited. */
	uint64_t deny_base[RTE_MAX_ETHPORTS][2];
	uint64_t n_requests, n_errors;
	struct kd_txn pending;		/* staged calls' changes, for kd_api_flush() */
	uint64_t n_flushes, n_staged;	/* publications of staged calls, and the calls */
};

/** An empty engine that publishes nothing; set the fields after this. */
void kd_api_init(struct kd_api *api);
void kd_api_fini(struct kd_api *api);

/**
 * Handles one unary call. On KD_OK, *resp and *resp_len hold the packed response
 * (malloc'd, the caller frees); otherwise e says why.
 */
enum kd_status kd_api_call(struct kd_api *api, const char *method, const uint8_t *req,
			   size_t req_len, uint8_t **resp, size_t *resp_len,
			   struct kd_err *e);

/** Whether method is a Create, Update or Delete, which kd_api_stage() takes. */
bool kd_api_stageable(const char *method);

/**
 * A Create, Update or Delete, validated and stored as kd_api_call() would,
 * but its publication is left to the next kd_api_flush(), with every call
 * staged before it: concurrent calls coalesce into one table update. The
 * response must not reach the client before that flush succeeds. Reads
 * must flush first, so that nobody sees what may still be undone.
 */
enum kd_status kd_api_stage(struct kd_api *api, const char *method, const uint8_t *req,
			    size_t req_len, uint8_t **resp, size_t *resp_len, struct kd_err *e);
/**
 * Publish every staged change at once. On failure nothing staged stays: the
 * store is as before the first staged call, and the caller runs each staged
 * call again with kd_api_call(), in order, for its own answer (one of them
 * made the joint publication fail).
 */
enum kd_status kd_api_flush(struct kd_api *api, struct kd_err *e);

/** Creates obj (taking ownership) as if by Create; for static provisioning. */
enum kd_status kd_api_create(struct kd_api *api, const struct kd_kind *k,
			     ProtobufCMessage *obj, struct kd_err *e);

/**
 * Rebuilds and publishes what the n store changes ch affect (ch NULL:
 * everything), through control/publish.h; a rebuild that fails publishes
 * nothing.
 */
enum kd_status kd_api_sync(struct kd_api *api, const struct kd_store_change *ch, size_t n,
			   bool removal, struct kd_err *e);

struct kd_txn;

/**
 * One Create, Update or Delete request req into transaction t: *result is
 * the stored object after it (NULL when deleted), *outcome a BatchOutcome.
 */
enum kd_status kd_api_mutate(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k,
			     enum kd_verb verb, ProtobufCMessage *req, ProtobufCMessage **result,
			     int *outcome, struct kd_err *e);

/** Batch (api_batch.c): the operations of r as one transaction. */
enum kd_status kd_api_batch(struct kd_api *api, const PB(BatchRequest) *r, uint8_t **out,
			    size_t *len, struct kd_err *e);

/** Packs m into a malloc'd *out of *len bytes. */
enum kd_status kd_api_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len,
			   struct kd_err *e);

/** GetStats (api_stats.c): the workers' counters summed, per policy, per port. */
enum kd_status kd_api_get_stats(struct kd_api *api, uint8_t **out, size_t *len,
				struct kd_err *e);
/** ListFlows (api_stats.c): a page of the connection table, filtered. */
enum kd_status kd_api_list_flows(const struct kd_api *api, const PB(ListFlowsRequest) *r,
				 uint8_t **out, size_t *len, struct kd_err *e);

/** ListServiceFrontends (api_lb.c): the live Service tables with connection counts. */
enum kd_status kd_api_list_frontends(const struct kd_api *api,
				     const PB(ListServiceFrontendsRequest) *r, uint8_t **out,
				     size_t *len, struct kd_err *e);

#endif
