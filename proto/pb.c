/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/pb.h"

char **
kd_pb_string_field(ProtobufCMessage *m, unsigned int number)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(m->descriptor, number);

	if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return (char **)((char *)m + f->offset);
}

ProtobufCMessage **
kd_pb_message_field(ProtobufCMessage *m, unsigned int number)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(m->descriptor, number);

	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE ||
	    f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return (ProtobufCMessage **)((char *)m + f->offset);
}

size_t
kd_pb_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

bool
kd_pb_is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);

	return d->n_fields == 2 && n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

size_t
kd_pb_enum_prefix_len(const ProtobufCEnumDescriptor *d)
{
	const char *a, *b;
	size_t plen = 0, i;

	if (d->n_values < 2)
		return 0;
	a = d->values[0].name;
	b = d->values[1].name;
	while (a[plen] != '\0' && a[plen] == b[plen])
		plen++;
	for (i = 2; i < d->n_values; i++)
		while (plen > 0 && strncmp(d->values[i].name, a, plen) != 0)
			plen--;
	while (plen > 0 && a[plen - 1] != '_')
		plen--;
	return plen;
}

size_t
kd_pb_path_push(struct kd_pb_path *p, const char *fmt, ...)
{
	size_t saved = p->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p->s + p->len, sizeof(p->s) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof(p->s) ? p->len + (size_t)n : sizeof(p->s) - 1;
	return saved;
}

void
kd_pb_path_pop(struct kd_pb_path *p, size_t len)
{
	p->len = len;
	p->s[len] = '\0';
}
