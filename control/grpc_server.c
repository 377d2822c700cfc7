/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One struct call per RPC, driven by completion-queue events with the call
 * itself as the tag. A call moves NEW (waiting for a client) -> READ
 * (initial metadata sent, request message being received) -> DONE (response
 * and status sent, waiting for the close) and is freed. Health.Watch parks in
 * WATCH after its first answer until the client goes away. A fresh NEW call
 * is requested as soon as one arrives, so clients never find the door shut.
 *
 * Creates, Updates and Deletes are staged (kd_api_stage) and their calls
 * parked until the completion queue has nothing more to give, or a read
 * arrives: then one publication takes them all (kd_api_flush), and they are
 * answered. Calls that arrive together, from one client's concurrent
 * requests or from many clients, so cost one table update and one grace
 * period, as kube-proxy's sync coalesces changes. If the joint publication
 * fails, each parked call is run again on its own, in order, for its own
 * answer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "control/api.h"
#include "proto/pem.h"
#include "control/grpc_server.h"
#include "grpc/health/v1/health.pb-c.h"

#define HEALTH_CHECK "/" KD_HEALTH_SERVICE "/Check"
#define MAX_PARKED 4096		/* staged calls answered by one publication, at most */
#define HEALTH_WATCH "/" KD_HEALTH_SERVICE "/Watch"

enum call_state { CALL_NEW, CALL_READ, CALL_DONE, CALL_WATCH };

struct call {
	enum call_state state;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_byte_buffer *req, *resp;
	grpc_slice status_msg;
	int cancelled;
	char method[256];
	grpc_slice staged;		/* a parked call's request, to run it again */
	struct call *next_parked;
};

struct kd_grpc_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	struct kd_api *api;
	char unix_path[108];
	unsigned int n_calls;
	int shutdown_tag;
	struct call *parked, **parked_tail;
	unsigned int n_parked;
};

static struct call *
call_new(struct kd_grpc_server *s)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->md);
	c->status_msg = grpc_empty_slice();
	c->staged = grpc_empty_slice();
	c->state = CALL_NEW;
	if (grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq, s->cq, c) !=
	    GRPC_CALL_OK) {
		grpc_call_details_destroy(&c->details);
		grpc_metadata_array_destroy(&c->md);
		free(c);
		return NULL;
	}
	s->n_calls++;
	return c;
}

static void
call_free(struct kd_grpc_server *s, struct call *c)
{
	if (c->call != NULL)
		grpc_call_unref(c->call);
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->md);
	if (c->req != NULL)
		grpc_byte_buffer_destroy(c->req);
	if (c->resp != NULL)
		grpc_byte_buffer_destroy(c->resp);
	grpc_slice_unref(c->status_msg);
	grpc_slice_unref(c->staged);
	free(c);
	s->n_calls--;
}

/* The request message as one contiguous slice (the caller unrefs it). */
static grpc_slice
read_all(grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	grpc_slice sl;

	if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb))
		return grpc_empty_slice();
	sl = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	return sl;
}

static grpc_byte_buffer *
buffer_of(const uint8_t *data, size_t len)
{
	grpc_slice sl = grpc_slice_from_copied_buffer((const char *)data, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);

	grpc_slice_unref(sl);
	return bb;
}

/* Send the response (if any), the status, and wait for the client's close. */
static void
finish(struct call *c, grpc_status_code code, const char *msg)
{
	grpc_op ops[3];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	if (code == GRPC_STATUS_OK && c->resp != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->resp;
		n++;
	}
	grpc_slice_unref(c->status_msg);
	c->status_msg = grpc_slice_from_copied_string(msg);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n].data.send_status_from_server.status_details = &c->status_msg;
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
	n++;
	c->state = CALL_DONE;
	if (grpc_call_start_batch(c->call, ops, n, c, NULL) != GRPC_CALL_OK)
		c->state = CALL_WATCH;	/* unreachable in practice; freed at shutdown */
}

static bool
health_answer(struct call *c, const uint8_t *data, size_t len, grpc_status_code *code,
	      const char **msg)
{
	Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	Grpc__Health__V1__HealthCheckRequest *q;
	uint8_t buf[16];
	size_t n;

	q = grpc__health__v1__health_check_request__unpack(NULL, len, data);
	if (q == NULL) {
		*code = GRPC_STATUS_INVALID_ARGUMENT;
		*msg = "the request is not a valid HealthCheckRequest";
		return false;
	}
	if (q->service[0] != '\0' && strcmp(q->service, KD_API_SERVICE) != 0 &&
	    strcmp(q->service, KD_HEALTH_SERVICE) != 0) {
		grpc__health__v1__health_check_request__free_unpacked(q, NULL);
		*code = GRPC_STATUS_NOT_FOUND;
		*msg = "unknown service";
		return false;
	}
	grpc__health__v1__health_check_request__free_unpacked(q, NULL);
	r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	n = grpc__health__v1__health_check_response__pack(&r, buf);
	c->resp = buffer_of(buf, n);
	*code = GRPC_STATUS_OK;
	*msg = "";
	return true;
}

/* Run a call now, through kd_api_call(), and send its answer. */
static void
answer(struct kd_grpc_server *s, struct call *c, const char *method, const uint8_t *data,
       size_t len)
{
	struct kd_err e = { .code = KD_OK, .msg = "" };
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum kd_status st;

	if (c->resp != NULL) {
		grpc_byte_buffer_destroy(c->resp);
		c->resp = NULL;
	}
	st = kd_api_call(s->api, method, data, len, &out, &out_len, &e);
	if (st == KD_OK)
		c->resp = buffer_of(out, out_len);
	free(out);
	finish(c, (grpc_status_code)st, st == KD_OK ? "" : e.msg);
}

/* Publish what the parked calls staged, and answer them. */
static void
flush_parked(struct kd_grpc_server *s)
{
	struct kd_err e = { .code = KD_OK, .msg = "" };
	struct call *c, *next;
	bool joint;

	if (s->n_parked == 0)
		return;
	joint = kd_api_flush(s->api, &e) == KD_OK;
	for (c = s->parked; c != NULL; c = next) {
		next = c->next_parked;
		if (joint)
			finish(c, GRPC_STATUS_OK, "");
		else
			answer(s, c, c->method, GRPC_SLICE_START_PTR(c->staged),
			       GRPC_SLICE_LENGTH(c->staged));
		grpc_slice_unref(c->staged);
		c->staged = grpc_empty_slice();
	}
	s->parked = NULL;
	s->parked_tail = &s->parked;
	s->n_parked = 0;
}

static void
dispatch(struct kd_grpc_server *s, struct call *c)
{
	char method[256];
	grpc_slice req = read_all(c->req);
	const uint8_t *data = GRPC_SLICE_START_PTR(req);
	size_t len = GRPC_SLICE_LENGTH(req), mlen = GRPC_SLICE_LENGTH(c->details.method);
	grpc_status_code code;
	const char *msg;

	if (mlen >= sizeof(method))
		mlen = sizeof(method) - 1;
	memcpy(method, GRPC_SLICE_START_PTR(c->details.method), mlen);
	method[mlen] = '\0';

	if (strcmp(method, HEALTH_CHECK) == 0) {
		health_answer(c, data, len, &code, &msg);
		finish(c, code, msg);
	} else if (strcmp(method, HEALTH_WATCH) == 0) {
		grpc_op ops[2];

		if (!health_answer(c, data, len, &code, &msg)) {
			finish(c, code, msg);
		} else {
			/* One SERVING update; the stream stays open until the client leaves. */
			memset(ops, 0, sizeof(ops));
			ops[0].op = GRPC_OP_SEND_MESSAGE;
			ops[0].data.send_message.send_message = c->resp;
			ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
			ops[1].data.recv_close_on_server.cancelled = &c->cancelled;
			c->state = CALL_WATCH;
			grpc_call_start_batch(c->call, ops, 2, c, NULL);
		}
	} else if (kd_api_stageable(method)) {
		struct kd_err e = { .code = KD_OK, .msg = "" };
		uint8_t *out = NULL;
		size_t out_len = 0;
		enum kd_status st = kd_api_stage(s->api, method, data, len, &out, &out_len, &e);

		if (st != KD_OK) {
			finish(c, (grpc_status_code)st, e.msg);
		} else {
			c->resp = buffer_of(out, out_len);
			memcpy(c->method, method, sizeof(c->method));
			c->staged = grpc_slice_ref(req);
			c->next_parked = NULL;
			*s->parked_tail = c;
			s->parked_tail = &c->next_parked;
			if (++s->n_parked >= MAX_PARKED)
				flush_parked(s);
		}
		free(out);
	} else {
		flush_parked(s);
		answer(s, c, method, data, len);
	}
	grpc_slice_unref(req);
}

static void
on_event(struct kd_grpc_server *s, struct call *c, bool ok)
{
	switch (c->state) {
	case CALL_NEW: {
		grpc_op ops[2];

		if (!ok) {	/* the server is shutting down */
			call_free(s, c);
			return;
		}
		call_new(s);
		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[1].op = GRPC_OP_RECV_MESSAGE;
		ops[1].data.recv_message.recv_message = &c->req;
		c->state = CALL_READ;
		if (grpc_call_start_batch(c->call, ops, 2, c, NULL) != GRPC_CALL_OK)
			call_free(s, c);
		return;
	}
	case CALL_READ:
		if (!ok) {
			call_free(s, c);
			return;
		}
		if (c->req == NULL) {	/* half-closed without a message */
			finish(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
			return;
		}
		dispatch(s, c);
		return;
	case CALL_DONE:
	case CALL_WATCH:
		call_free(s, c);
		return;
	}
}

void
kd_grpc_poll(struct kd_grpc_server *s, int timeout_ms)
{
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					     gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, deadline, NULL);

		if (ev.type != GRPC_OP_COMPLETE) {
			flush_parked(s);
			return;
		}
		if (ev.tag != &s->shutdown_tag)
			on_event(s, ev.tag, ev.success != 0);
		/* Later events in this round must not wait for the deadline again. */
		deadline = gpr_time_0(GPR_CLOCK_MONOTONIC);
	}
}

/* Refuse to take over the socket of a daemon that is still running. */
static int
claim_unix_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat st;
	int fd, live;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "api.unix_socket: \"%s\" is too long", path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "api.unix_socket: cannot create %s: %s", dir,
				 strerror(errno));
			return -1;
		}
	}
	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "api.unix_socket: %s exists and is not a socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		snprintf(err, errlen, "api.unix_socket: %s is in use by another process", path);
		return -1;
	}
	unlink(path);
	return 0;
}

static grpc_server_credentials *
server_creds(const struct kd_grpc_opts *o, char *err, size_t errlen)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_server_credentials *cr = NULL;
	char *cert, *key = NULL, *ca = NULL;

	if (o->tls_cert == NULL || o->tls_cert[0] == '\0')
		return grpc_insecure_server_credentials_create();
	cert = kd_pem_read(o->tls_cert, err, errlen);
	if (cert != NULL)
		key = kd_pem_read(o->tls_key, err, errlen);
	if (key != NULL)
		ca = kd_pem_read(o->tls_client_ca, err, errlen);
	if (ca != NULL) {
		pair.private_key = key;
		pair.cert_chain = cert;
		cr = grpc_ssl_server_credentials_create_ex(
			ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
		if (cr == NULL)
			snprintf(err, errlen, "api: TLS credentials rejected");
	}
	free(cert);
	free(key);
	free(ca);
	return cr;
}

struct kd_grpc_server *
kd_grpc_start(const struct kd_grpc_opts *o, struct kd_api *api, char *err, size_t errlen)
{
	grpc_arg args[2];
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	struct kd_grpc_server *s;
	char addr[160];
	int i;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->api = api;
	s->parked_tail = &s->parked;
	grpc_init();
	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)o->max_message_kb * 1024;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[1].value.integer = 64;
	s->server = grpc_server_create(&cargs, NULL);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	if (o->unix_socket[0] != '\0') {
		grpc_server_credentials *cr;

		if (claim_unix_path(o->unix_socket, err, errlen) != 0)
			goto fail;
		snprintf(addr, sizeof(addr), "unix:%s", o->unix_socket);
		cr = grpc_insecure_server_credentials_create();
		i = grpc_server_add_http2_port(s->server, addr, cr);
		grpc_server_credentials_release(cr);
		if (i == 0) {
			snprintf(err, errlen, "api.unix_socket: cannot listen on %s", o->unix_socket);
			goto fail;
		}
		snprintf(s->unix_path, sizeof(s->unix_path), "%s", o->unix_socket);
		chmod(o->unix_socket, 0660);
	}
	if (o->listen[0] != '\0') {
		grpc_server_credentials *cr = server_creds(o, err, errlen);

		if (cr == NULL)
			goto fail;
		i = grpc_server_add_http2_port(s->server, o->listen, cr);
		grpc_server_credentials_release(cr);
		if (i == 0) {
			snprintf(err, errlen, "api.listen: cannot listen on %s", o->listen);
			goto fail;
		}
	}
	grpc_server_start(s->server);
	for (i = 0; i < 4; i++)
		call_new(s);
	return s;
fail:
	kd_grpc_stop(s);
	return NULL;
}

void
kd_grpc_stop(struct kd_grpc_server *s)
{
	if (s == NULL)
		return;
	flush_parked(s);
	grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
	grpc_server_cancel_all_calls(s->server);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);

		if (ev.type != GRPC_OP_COMPLETE || ev.tag == &s->shutdown_tag)
			break;
		on_event(s, ev.tag, false);
	}
	grpc_server_destroy(s->server);
	grpc_completion_queue_shutdown(s->cq);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE && ev.tag != &s->shutdown_tag)
			on_event(s, ev.tag, false);
	}
	grpc_completion_queue_destroy(s->cq);
	if (s->unix_path[0] != '\0')
		unlink(s->unix_path);
	grpc_shutdown();
	free(s);
}
