/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TRANSLATE_POLICY_H
#define KDPU_CONTROL_TRANSLATE_POLICY_H

/*
 * The NetworkPolicy compiler. It resolves NetworkPolicy objects against
 * Pods and Namespaces with Kubernetes' semantics (selectors, namespace
 * selectors, both together, ipBlock with except, named and numeric ports,
 * endPort, policyTypes) into per-vNIC ingress and egress allow lists, and
 * compiles each list into its own rte_acl context.
 *
 * Contexts are cached by content: a change recompiles only the vNIC
 * directions whose allow list changed, and unchanged contexts are shared
 * between the old and the new compiled policy. Policy ids are stable for a
 * policy's lifetime, so connections keep naming the policy that allowed
 * them. Control thread only.
 */

#include <stdint.h>

#include "control/err.h"
#include "dataplane/policy.h"

struct kd_config;
struct kd_store;
struct kd_translate_policy;

struct kd_translate_policy *kd_translate_policy_create(const struct kd_config *cfg, const uint16_t *port_ids);
void kd_translate_policy_free(struct kd_translate_policy *pc);

/** Compile the store's policies; NULL with e set. Nothing is published. */
struct kd_policy *kd_translate_policy_build(struct kd_translate_policy *pc, const struct kd_store *s,
				struct kd_err *e);
/** Release a built policy that will not be published. */
void kd_translate_policy_discard(struct kd_translate_policy *pc, struct kd_policy *p);

/** rte_acl contexts built so far; a measure of how much a change recompiled. */
uint64_t kd_translate_policy_acl_builds(const struct kd_translate_policy *pc);

#endif
