/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_PROVISION_H
#define KDPU_CONTROL_PROVISION_H

/*
 * Static provisioning: turns a validated configuration and the ethdev port
 * ids it resolved to into a complete table generation, ready to publish.
 * Underlay next hops of remote VTEPs get neighbour slots (arp.h) here.
 *
 * Control thread, after EAL init and port setup.
 */

#include <stddef.h>
#include <stdint.h>

struct kd_config;
struct kd_tables;

/**
 * Build a generation from cfg; port_ids[i] is the ethdev of cfg->ports[i].
 * Returns the generation, or NULL with a message in err.
 */
struct kd_tables *kd_provision_build(const struct kd_config *cfg, const uint16_t *port_ids,
				     char *err, size_t errlen);

#endif
