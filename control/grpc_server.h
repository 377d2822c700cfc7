/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_GRPC_SERVER_H
#define KDPU_CONTROL_GRPC_SERVER_H

/*
 * The gRPC transport of the API, on gRPC's C core and its completion queue:
 * a Unix socket by default, TCP optionally, mutual TLS when configured. It
 * serves K8sNetworkService through the API engine (api.h) and the standard
 * grpc.health.v1.Health. Everything runs in the control thread that calls
 * kd_grpc_poll(); the engine is never entered concurrently.
 */

#include <stddef.h>

struct kd_api;
struct kd_grpc_server;

struct kd_grpc_opts {
	const char *unix_socket;	/* path, or "" for none */
	const char *listen;		/* "host:port", or "" for none */
	const char *tls_cert, *tls_key, *tls_client_ca;	/* PEM file paths; all or none */
	unsigned int max_message_kb;
};

/** Listen and start serving. NULL with a message in err on failure. */
struct kd_grpc_server *kd_grpc_start(const struct kd_grpc_opts *o, struct kd_api *api,
				     char *err, size_t errlen);
/** Serve requests for up to timeout_ms. */
void kd_grpc_poll(struct kd_grpc_server *s, int timeout_ms);
/** Cancel calls in flight, stop listening and free everything. */
void kd_grpc_stop(struct kd_grpc_server *s);

#endif
