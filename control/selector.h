/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_SELECTOR_H
#define KDPU_CONTROL_SELECTOR_H

/*
 * How NetworkPolicy peers select: a LabelSelector (matchLabels and
 * matchExpressions with In, NotIn, Exists, DoesNotExist, all ANDed) against
 * the labels of an object, the map field protoc generates (an array of n
 * key/value entries); an ipBlock (cidr less its excepts) against an address.
 * Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/kinds.h"

/** Whether sel selects labels[0..n); an absent selector selects everything. */
bool kd_selector_match(const PB(LabelSelector) *sel, void *labels, size_t n);

/** Whether ip (host order) lies in b's cidr and in none of its excepts. */
bool kd_selector_ip_block(const PB(IPBlock) *b, uint32_t ip);

#endif
