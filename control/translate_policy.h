/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_TRANSLATE_POLICY_H
#define KDPU_CONTROL_TRANSLATE_POLICY_H

/*
 * The NetworkPolicy compiler. It keeps a world of namespaces, pods and
 * policies (policy_world.h) in step with the store, change by change, and
 * publishes what the changes did to the classifier (dataplane/policy.h):
 * only the keys a change touched are written, and the header (isolation,
 * prefix lengths, counting lists) is swapped around them so that no
 * connection is judged against fewer permissions than both the old and the
 * new policy give. A build from scratch (at start, or after a build that
 * failed) makes a new world and classifier and swaps them whole. Policy ids
 * are stable for a policy's lifetime, so connections keep naming the policy
 * that allowed them. Control thread only.
 */

#include <stddef.h>
#include <stdint.h>

#include "control/err.h"
#include "dataplane/policy.h"

struct kd_config;
struct kd_store;
struct kd_store_change;
struct kd_translate_policy;

struct kd_translate_policy *kd_translate_policy_create(const struct kd_config *cfg,
							const uint16_t *port_ids);
/** Free the compiler, with the header it last made live (no worker may read it). */
void kd_translate_policy_free(struct kd_translate_policy *pc);

/**
 * Compile the n changes ch made to the store s (ch NULL: everything, from
 * scratch) into a header to publish; NULL with e set, and nothing live
 * changes. The objects before and after must live until it is applied.
 */
struct kd_policy *kd_translate_policy_build(struct kd_translate_policy *pc, const struct kd_store *s,
					    const struct kd_store_change *ch, size_t n,
					    struct kd_err *e);
/**
 * Make p live in kd_policy_live; may wait for grace periods. Returns what
 * it replaced, for kd_translate_policy_retire() after one more.
 */
void *kd_translate_policy_apply(struct kd_translate_policy *pc, struct kd_policy *p);
void kd_translate_policy_retire(struct kd_translate_policy *pc, void *old);
/** Release a built header that will not be published. */
void kd_translate_policy_discard(struct kd_translate_policy *pc, struct kd_policy *p);

/**
 * fn for every counted tuple of the classifier behind p (a header built by
 * pc, published or not), with the number of derivations that give it.
 */
void kd_translate_policy_walk(const struct kd_translate_policy *pc, const struct kd_policy *p,
			      void (*fn)(const struct kd_pol_key *k, const struct kd_pol_entry *e,
					 uint32_t count, void *arg),
			      void *arg);

/** Classifier sets written so far: a measure of what changes cost. */
uint64_t kd_translate_policy_sets_written(const struct kd_translate_policy *pc);

#endif
