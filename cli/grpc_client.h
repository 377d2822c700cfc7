/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CLI_GRPC_CLIENT_H
#define KDPU_CLI_GRPC_CLIENT_H

/*
 * kdpuctl's side of the API: unary calls with protobuf-c messages over
 * gRPC's C core, to a Unix socket or to TCP with optional mutual TLS.
 */

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct kd_client;

struct kd_client_opts {
	const char *target;		/* "unix:/path" or "host:port" */
	const char *tls_cert, *tls_key, *tls_ca;	/* PEM paths; NULL for plaintext */
	int timeout_ms;
};

/** NULL with a message in err. */
struct kd_client *kd_client_open(const struct kd_client_opts *o, char *err, size_t errlen);
void kd_client_close(struct kd_client *c);

/**
 * Call method with req; on status 0 *resp is the unpacked response (free it
 * with protobuf_c_message_free_unpacked). Returns the gRPC status code, with
 * its message in msg.
 */
int kd_client_call(struct kd_client *c, const char *method, const ProtobufCMessage *req,
		   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
		   char *msg, size_t msglen);

/** The status code's name, as kubectl prints it ("NotFound"). */
const char *kd_client_status_name(int code);

#endif
