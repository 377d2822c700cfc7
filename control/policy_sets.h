/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_POLICY_SETS_H
#define KDPU_CONTROL_POLICY_SETS_H

/*
 * The control thread's copy of one policy classifier (dataplane/policy.h):
 * per key, every admitted tuple with the number of (policy, pod, peer, port)
 * derivations that give it, so that the compiler adds and removes tuples one
 * derivation at a time and a tuple leaves only when nothing gives it any
 * more. Changes are pending until published, in two steps that never take a
 * permission away early: kd_policy_sets_widen() writes every changed key as
 * the union of what is live and what is pending; kd_policy_sets_narrow(),
 * after the header that shows the new keys is live, writes the final sets and
 * deletes emptied keys. What they replaced is freed by
 * kd_policy_sets_release() a grace period later. Control thread only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/policy.h"

struct kd_policy_sets;

/** What a publication replaced, to free once no worker can hold it. */
struct kd_policy_sets_retired {
	struct kd_pol_set **sets;
	uint32_t n_sets, cap_sets;
	int32_t *slots;
	uint32_t n_slots, cap_slots;
};

/** Sets for up to capacity keys, with their classifier; NULL when out of memory. */
struct kd_policy_sets *kd_policy_sets_create(uint32_t capacity);
/** Free the sets, their classifier and every published set (no worker may read them). */
void kd_policy_sets_free(struct kd_policy_sets *ps);
const struct kd_pol_cls *kd_policy_sets_cls(const struct kd_policy_sets *ps);

/** Count one derivation of e under k (sign +1) or take one away (-1). 0 or -ENOMEM/-ENOSPC. */
int kd_policy_sets_add(struct kd_policy_sets *ps, const struct kd_pol_key *k,
		       const struct kd_pol_entry *e, int sign);
/** The prefix lengths of port and dir in use once the pending changes are published. */
uint64_t kd_policy_sets_lens(const struct kd_policy_sets *ps, uint16_t port, uint8_t dir);
/** Whether the classifier has room for the pending keys next to the live ones. */
bool kd_policy_sets_fit(const struct kd_policy_sets *ps);

/** Step 1: write new keys and widened sets. True when a step 2 must follow. */
bool kd_policy_sets_widen(struct kd_policy_sets *ps, struct kd_policy_sets_retired *r);
/** Step 2: write the final sets and delete emptied keys. */
void kd_policy_sets_narrow(struct kd_policy_sets *ps, struct kd_policy_sets_retired *r);
/** After a grace period: free what r holds. */
void kd_policy_sets_release(struct kd_policy_sets *ps, struct kd_policy_sets_retired *r);

/** Sets written to the classifier so far: what changes cost. */
uint64_t kd_policy_sets_written(const struct kd_policy_sets *ps);
/** Keys with something in them, pending changes included. */
uint32_t kd_policy_sets_keys(const struct kd_policy_sets *ps);
/** fn for every counted tuple, pending changes included, in no order. */
void kd_policy_sets_walk(const struct kd_policy_sets *ps,
			 void (*fn)(const struct kd_pol_key *k, const struct kd_pol_entry *e,
				    uint32_t count, void *arg),
			 void *arg);

#endif
