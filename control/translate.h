/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TRANSLATE_H
#define KDPU_CONTROL_TRANSLATE_H

/*
 * The translator: builds a data-plane table generation from the desired
 * state (Vpc, Node and Netdev objects in the store) and the port layout of
 * the configuration. VPC table slots stay with their VPC for as long as it
 * exists, so a VPC's index (its zone) does not move when others come and go.
 * Control thread only.
 */

#include "control/err.h"
#include "dataplane/tables.h"

struct kd_config;
struct kd_store;

struct kd_translate {
	const struct kd_config *cfg;
	const uint16_t *port_ids;	/* ethdev id of cfg->ports[i] */
	char vpc_slot[KD_MAX_VPCS][272];	/* resource name per slot, "" if free */
};

/** A new generation, or NULL with e set; nothing is published. */
struct kd_tables *kd_translate_build(struct kd_translate *tr, const struct kd_store *s,
				     struct kd_err *e);

#endif
