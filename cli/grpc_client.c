/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "proto/pem.h"
#include "cli/grpc_client.h"

struct kd_client {
	grpc_channel *ch;
	grpc_completion_queue *cq;
	int timeout_ms;
};

struct kd_client *
kd_client_open(const struct kd_client_opts *o, char *err, size_t errlen)
{
	grpc_channel_credentials *cr;
	struct kd_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	grpc_init();
	if (o->tls_ca != NULL) {
		grpc_ssl_pem_key_cert_pair pair = { NULL, NULL };
		char *ca = kd_pem_read(o->tls_ca, err, errlen), *cert = NULL, *key = NULL;

		if (ca != NULL && o->tls_cert != NULL) {
			cert = kd_pem_read(o->tls_cert, err, errlen);
			key = cert != NULL ? kd_pem_read(o->tls_key, err, errlen) : NULL;
			pair.cert_chain = cert;
			pair.private_key = key;
		}
		cr = ca != NULL && (o->tls_cert == NULL || key != NULL) ?
			     grpc_ssl_credentials_create(ca, o->tls_cert != NULL ? &pair : NULL,
							 NULL, NULL) : NULL;
		free(ca);
		free(cert);
		free(key);
		if (cr == NULL)
			goto fail;
	} else {
		cr = grpc_insecure_credentials_create();
	}
	c->ch = grpc_channel_create(o->target, cr, NULL);
	grpc_channel_credentials_release(cr);
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	c->timeout_ms = o->timeout_ms;
	return c;
fail:
	grpc_shutdown();
	free(c);
	return NULL;
}

void
kd_client_close(struct kd_client *c)
{
	if (c == NULL)
		return;
	grpc_channel_destroy(c->ch);
	grpc_completion_queue_shutdown(c->cq);
	while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		       .type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(c->cq);
	grpc_shutdown();
	free(c);
}

int
kd_client_call(struct kd_client *c, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, char *msg,
	       size_t msglen)
{
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
					     gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *send, *recv = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice(), sl;
	grpc_call *call;
	grpc_event ev;
	grpc_op ops[6];
	size_t n = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(n != 0 ? n : 1);
	int tag;

	*resp = NULL;
	if (buf == NULL) {
		snprintf(msg, msglen, "out of memory");
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	}
	protobuf_c_message_pack(req, buf);
	sl = grpc_slice_from_copied_buffer((const char *)buf, n);
	free(buf);
	send = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);
	call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
					grpc_slice_from_static_string(method), NULL, deadline, NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
		snprintf(msg, msglen, "cannot start the call");
		status = GRPC_STATUS_INTERNAL;
	} else {
		ev = grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
						 NULL);
		(void)ev;
		snprintf(msg, msglen, "%.*s", (int)GRPC_SLICE_LENGTH(details),
			 (const char *)GRPC_SLICE_START_PTR(details));
	}
	if (status == GRPC_STATUS_OK) {
		grpc_byte_buffer_reader r;

		if (recv != NULL && grpc_byte_buffer_reader_init(&r, recv)) {
			grpc_slice all = grpc_byte_buffer_reader_readall(&r);

			*resp = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(all),
							  GRPC_SLICE_START_PTR(all));
			grpc_slice_unref(all);
			grpc_byte_buffer_reader_destroy(&r);
		}
		if (*resp == NULL) {
			snprintf(msg, msglen, "the response does not decode as %s",
				 resp_desc->short_name);
			status = GRPC_STATUS_INTERNAL;
		}
	}
	if (recv != NULL)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	grpc_call_unref(call);
	return (int)status;
}

const char *
kd_client_status_name(int code)
{
	static const char *const names[] = {
		"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
		"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
		"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
		"Unauthenticated",
	};

	return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ? names[code] : "Unknown";
}
