/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_POLICY_IDS_H
#define KDPU_CONTROL_POLICY_IDS_H

/*
 * Stable NetworkPolicy ids for the policy compiler (translate_policy.c): a
 * policy keeps its id while it exists, so its counters do; a new policy
 * takes the lowest free id. Ids count from 1. Control thread only.
 */

#include <stdbool.h>
#include <stdint.h>

struct kd_policy_ids {
	uint32_t n, cap;		/* ids given so far: 1..n; room for cap */
	char (*name)[128];		/* id - 1 -> "namespace/name", "" when free */
	void *by_name;			/* tsearch(3) tree: name -> id */
	uint32_t *free_ids;		/* a min-heap of the free ids */
	uint32_t n_free;
};

/**
 * The id of policy name, given now (*fresh) if it has none, up to max ids;
 * marks seen[id - 1] (seen may be NULL). 0 when out of ids or memory.
 */
uint32_t kd_policy_ids_get(struct kd_policy_ids *t, const char *name, uint32_t max,
			   uint8_t *seen, bool *fresh);
/** Free id: its policy is gone. */
void kd_policy_ids_put(struct kd_policy_ids *t, uint32_t id);
/** Free the id of every policy not marked in seen (one build's policies). */
void kd_policy_ids_sweep(struct kd_policy_ids *t, const uint8_t *seen);
void kd_policy_ids_fini(struct kd_policy_ids *t);

#endif
