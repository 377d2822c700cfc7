/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_PROVISION_H
#define KDPU_CONTROL_PROVISION_H

/*
 * The configuration's VPCs, nodes and vNICs as API objects, created through
 * the engine as if by Create requests. Control thread, before the API serves.
 */

#include "control/err.h"

struct kd_api;
struct kd_config;

/** Creates cfg's objects in api's store; KD_OK or the first error, naming the object. */
enum kd_status kd_provision_config(struct kd_api *api, const struct kd_config *cfg,
				   struct kd_err *e);

#endif
