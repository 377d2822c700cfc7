/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_API_H
#define KDPU_CONTROL_API_H

/*
 * The API engine, free of any transport: a method name and a serialized
 * request in, a status and a serialized response out. It owns the object
 * store, validates every request completely before changing anything, and
 * rebuilds and publishes the data-plane tables when a Vpc, Node or Netdev
 * changes; a rebuild that fails undoes the store change. The gRPC server
 * (grpc_server.c) and the unit tests drive it alike. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/kinds.h"
#include "control/store.h"
#include "dataplane/stats.h"

struct kd_config;
struct kd_ct;
struct kd_lb;
struct kd_policy;
struct kd_stats;
struct kd_tables;

/* gRPC status codes (grpc/status.h), so the engine needs no gRPC headers. */
enum kd_status {
	KD_OK = 0,
	KD_INVALID_ARGUMENT = 3,
	KD_NOT_FOUND = 5,
	KD_ALREADY_EXISTS = 6,
	KD_RESOURCE_EXHAUSTED = 8,
	KD_FAILED_PRECONDITION = 9,
	KD_UNIMPLEMENTED = 12,
	KD_INTERNAL = 13,
};

#define KD_API_ERR_LEN 512

struct kd_api_err {
	enum kd_status code;
	char msg[KD_API_ERR_LEN];
};

/* Builds a table generation from the store; NULL with e set on failure. */
typedef struct kd_tables *(*kd_api_build_fn)(void *arg, const struct kd_store *s,
					     struct kd_api_err *e);
/* Publishes a generation built by the build callback. */
typedef void (*kd_api_publish_fn)(void *arg, struct kd_tables *t);
/* The same two for compiled NetworkPolicy. */
typedef struct kd_policy *(*kd_api_build_policy_fn)(void *arg, const struct kd_store *s,
						    struct kd_api_err *e);
typedef void (*kd_api_policy_fn)(void *arg, struct kd_policy *p);
/* And for Service tables. */
typedef struct kd_lb *(*kd_api_build_lb_fn)(void *arg, const struct kd_store *s,
					    struct kd_api_err *e);
typedef void (*kd_api_lb_fn)(void *arg, struct kd_lb *lb);

struct kd_api {
	struct kd_store store;
	const struct kd_config *cfg;	/* vNIC ports for Netdev checks, the local VTEP */
	const uint16_t *port_ids;	/* ethdev id of cfg->ports[i] */
	const struct kd_stats *stats;	/* per worker, for GetStats; may be NULL */
	struct kd_ct *ct;		/* for ListFlows; may be NULL */
	unsigned int n_workers;
	kd_api_build_fn build;
	kd_api_publish_fn publish;
	kd_api_build_policy_fn build_policy;
	kd_api_policy_fn publish_policy;
	kd_api_build_lb_fn build_lb;
	kd_api_lb_fn publish_lb, discard_lb;
	void *cb_arg;
	const uint64_t *acl_builds;	/* for GetStats; may be NULL */
	/* Per-policy counters at the moment each policy id was (re)given. */
	uint64_t pol_base_allow[KD_STATS_POLICIES], pol_base_deny[KD_STATS_POLICIES];
	uint64_t n_requests, n_errors;
};

/** An empty engine with no callbacks; set the fields after this. */
void kd_api_init(struct kd_api *api);
void kd_api_fini(struct kd_api *api);

/**
 * Handles one unary call. On KD_OK, *resp and *resp_len hold the packed response
 * (malloc'd, the caller frees); otherwise e says why.
 */
enum kd_status kd_api_call(struct kd_api *api, const char *method, const uint8_t *req,
			   size_t req_len, uint8_t **resp, size_t *resp_len,
			   struct kd_api_err *e);

/** Creates obj (taking ownership) as if by Create; for static provisioning. */
enum kd_status kd_api_create(struct kd_api *api, const struct kd_kind *k,
			     ProtobufCMessage *obj, struct kd_api_err *e);

/**
 * Rebuilds what a change to kind k affects (routing tables, compiled
 * policy, Service tables; NULL: everything) and publishes it. All are built
 * before any is published; policy goes first unless the change removes
 * something, so that a pod is never reachable before its policy is live,
 * and Services go after the routes to their endpoints.
 */
enum kd_status kd_api_sync(struct kd_api *api, const struct kd_kind *k, bool removal,
			   struct kd_api_err *e);

/** Validates and canonicalizes obj of kind k (validate.c); path prefixes messages. */
enum kd_status kd_validate(const struct kd_api *api, const struct kd_kind *k,
			   ProtobufCMessage *obj, struct kd_api_err *e);

/** Sets e and returns code. */
enum kd_status kd_api_fail(struct kd_api_err *e, enum kd_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** ListServiceFrontends (api_lb.c): the live Service tables with connection counts. */
enum kd_status kd_api_list_frontends(const struct kd_api *api,
				     const PB(ListServiceFrontendsRequest) *r, uint8_t **out,
				     size_t *len, struct kd_api_err *e);

#endif
