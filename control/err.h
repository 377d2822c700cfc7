/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_ERR_H
#define KDPU_CONTROL_ERR_H

/*
 * The control plane's one error convention: a gRPC status code and a message
 * that names the field at fault. Validation, the translators, the publisher
 * and the API engine all report through it, so none needs another's header.
 */

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

#define KD_ERR_LEN 512

struct kd_err {
	enum kd_status code;
	char msg[KD_ERR_LEN];
};

/** Sets e and returns code. */
enum kd_status kd_err_set(struct kd_err *e, enum kd_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
