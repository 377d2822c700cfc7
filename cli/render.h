/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CLI_RENDER_H
#define KDPU_CLI_RENDER_H

/*
 * kdpuctl's output: API objects as Kubernetes-style YAML or JSON (camelCase
 * fields, defaults left out, several objects as a kind: List, so the output
 * can be applied again), or as kubectl-like tables.
 */

#include <stdbool.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/kinds.h"

enum kd_render_fmt { KD_RENDER_TABLE, KD_RENDER_YAML, KD_RENDER_JSON };

/** k NULL: plain messages (stats, flows), without apiVersion and kind. */
void kd_render(FILE *f, enum kd_render_fmt fmt, const struct kd_kind *k,
	       ProtobufCMessage *const *objs, size_t n, bool as_list);

/** kubectl-style columns for objects of kind k; with_ns adds NAMESPACE. */
void kd_render_table(FILE *f, const struct kd_kind *k, ProtobufCMessage *const *objs, size_t n,
		     bool with_ns);

/** A tracked connection as a table row of `kdpuctl flows`; f NULL: the header. */
void kd_render_flow(FILE *out, const PB(Flow) *f);

/** "cluster_ips" -> "clusterIPs", as Kubernetes spells its fields. */
void kd_render_camel(const char *snake, char *out, size_t len);

#endif
