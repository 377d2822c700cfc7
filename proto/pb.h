/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_PROTO_PB_H
#define KDPU_PROTO_PB_H

/*
 * protobuf-c reflection that the generic API engine, the manifest reader and
 * the renderer share: fields by number, element sizes, map entries, enum
 * prefixes, and the field path that error messages name.
 */

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/** A message's string field by number, or NULL if it is not a string field. */
char **kd_pb_string_field(ProtobufCMessage *m, unsigned int number);
/** A message's sub-message field by number, or NULL if it is not one. */
ProtobufCMessage **kd_pb_message_field(ProtobufCMessage *m, unsigned int number);

/** Bytes one element of a repeated field takes in its array. */
size_t kd_pb_elem_size(const ProtobufCFieldDescriptor *f);
/** Whether d is the Entry message protoc generates for a map field. */
bool kd_pb_is_map_entry(const ProtobufCMessageDescriptor *d);
/** Length of the prefix all of an enum's value names share, up to an '_'. */
size_t kd_pb_enum_prefix_len(const ProtobufCEnumDescriptor *d);

/*
 * A field path for error messages, built as a walk descends:
 * "service.spec.ports[1].target_port". push returns the length to pop back to.
 */
struct kd_pb_path {
	char s[256];
	size_t len;
};

size_t kd_pb_path_push(struct kd_pb_path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kd_pb_path_pop(struct kd_pb_path *p, size_t len);

#endif
