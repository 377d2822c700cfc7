/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_PROTO_NAMES_H
#define KDPU_PROTO_NAMES_H

/*
 * Kubernetes' name rules (RFC 1123), shared by the configuration parser, the
 * API and kdpuctl so that a name accepted in one place is accepted in all.
 */

#include <stdbool.h>

/** RFC 1123 label: 1..63 of [a-z0-9-], alphanumeric at both ends. */
bool kd_names_is_dns_label(const char *s);
/** RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
bool kd_names_is_dns_subdomain(const char *s);

#endif
