/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_POLICY_WORLD_H
#define KDPU_CONTROL_POLICY_WORLD_H

/*
 * What the policy compiler knows of the cluster: namespaces, pods (with the
 * local vNIC port and addresses their netdevs give them), NetworkPolicies
 * and their peers, and the relations between them (which local pods a
 * policy selects, which pods a peer holds, which namespaces a
 * namespaceSelector takes), kept in step one object change at a time. Each
 * change adds and removes the tuples it touches in the world's pending
 * classifier sets (policy_sets.h) and the counts of the policies isolating
 * each port. A change that fails half-way leaves the world unusable: the
 * caller throws it away and starts a new one from the store. Control thread
 * only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "control/err.h"
#include "proto/kinds.h"

struct kd_config;
struct kd_policy_ids;
struct kd_policy_sets;
struct kd_policy_world;

/** An empty world whose policies take ids from ids; NULL when out of memory. */
struct kd_policy_world *kd_policy_world_create(const struct kd_config *cfg,
					       const uint16_t *port_ids,
					       struct kd_policy_ids *ids);
/** Free the world and its sets, with every set they published. */
void kd_policy_world_free(struct kd_policy_world *w);
struct kd_policy_sets *kd_policy_world_sets(struct kd_policy_world *w);

/*
 * One object changed from old to cur (either NULL: created or deleted). 0, or
 * a negative errno with e set. *fresh: the policy took an id that was free.
 */
int kd_policy_world_namespace(struct kd_policy_world *w, const PB(Namespace) *old,
			      const PB(Namespace) *cur, struct kd_err *e);
int kd_policy_world_pod(struct kd_policy_world *w, const PB(Pod) *old, const PB(Pod) *cur,
			struct kd_err *e);
int kd_policy_world_netdev(struct kd_policy_world *w, const PB(Netdev) *old,
			   const PB(Netdev) *cur, struct kd_err *e);
int kd_policy_world_policy(struct kd_policy_world *w, const PB(NetworkPolicy) *old,
			   const PB(NetworkPolicy) *cur, uint32_t *fresh, struct kd_err *e);

/** How many policies isolate port in dir; their ids, ascending, into ids (room for that many). */
uint32_t kd_policy_world_isolating(const struct kd_policy_world *w, uint16_t port, uint8_t dir,
				   uint32_t *ids);
/** Whether the policies isolating port in dir changed since the last kd_policy_world_settle(). */
bool kd_policy_world_iso_changed(const struct kd_policy_world *w, uint16_t port, uint8_t dir);
void kd_policy_world_settle(struct kd_policy_world *w);

#endif
