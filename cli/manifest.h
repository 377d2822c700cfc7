/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CLI_MANIFEST_H
#define KDPU_CLI_MANIFEST_H

/*
 * Kubernetes manifests (libyaml) into API objects. A file holds any number of
 * documents, and a document may be a kubectl "List" of items, as
 * `kubectl get -o yaml` prints them. Fields are matched to the protobuf
 * message by name (camelCase to snake_case), so the Kubernetes layout maps
 * onto the API as is; fields the API does not carry are ignored. Errors name
 * the file, the document index and the line.
 */

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/kinds.h"

struct kd_manifest_obj {
	const struct kd_kind *kind;
	ProtobufCMessage *msg;		/* the resource; metadata.name and .namespace set */
	char ns[64];			/* "" for cluster kinds */
	char id[254];
	char where[320];		/* "FILE: document N (line L)" */
};

struct kd_manifest {
	struct kd_manifest_obj *obj;
	size_t n, cap;
};

/**
 * Appends the objects of path: a file, a directory (its *.yaml, *.yml and
 * *.json files, in name order) or "-" for standard input. 0, or -1 with a
 * message in err; on error nothing of path is kept.
 */
int kd_manifest_load(struct kd_manifest *m, const char *path, char *err, size_t errlen);

/** Orders objects so that references resolve: namespaces and VPCs first. */
void kd_manifest_sort(struct kd_manifest *m, bool reverse);
void kd_manifest_free(struct kd_manifest *m);

/**
 * Converts a YAML mapping, sequence or scalar (a libyaml node) into the
 * message field by field; exposed for the unit tests.
 */
struct yaml_document_s;
int kd_manifest_to_message(struct yaml_document_s *doc, int node,
			   const ProtobufCMessageDescriptor *d, ProtobufCMessage **out,
			   const char *where, char *err, size_t errlen);

#endif
