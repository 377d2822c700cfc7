/* SPDX-License-Identifier: Apache-2.0 */
#include "dataplane/policy.h"

/* Published by control/publish.c, read by the workers once per loop. */
struct kd_policy *kd_policy_live;
