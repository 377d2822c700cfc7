/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_PUBLISH_H
#define KDPU_CONTROL_PUBLISH_H

/*
 * Publication of what the workers read. Three tables live side by side, each
 * built from the store by its translator: routes (struct kd_tables,
 * translate.c), a new generation swapped in behind its RCU pointer;
 * compiled NetworkPolicy (struct kd_policy, translate_policy.c), its
 * classifier written key by key around a swapped header; and Services
 * (struct kd_lb, translate_service.c), a delta applied to the live index in
 * place. One table of kinds in publish.c says
 * which object kinds touch each, how each is built, made live, retired a
 * grace period later, or discarded unpublished.
 *
 * A change is two steps, so that the API engine can look at what was built
 * (the policy ids given afresh) before anything is live:
 *   kd_publish_build()   builds every table the change touches, or none;
 *   kd_publish_commit()  publishes them in an order that never lets a packet
 *                        through early: policy first, unless the change
 *                        removes something, and Services after the routes to
 *                        their endpoints.
 *
 * Control thread only; kd_publish_free() after the workers stop.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/err.h"

struct kd_config;
struct kd_ct;
struct kd_kind;
struct kd_publish;
struct kd_store;
struct kd_translate_service;

enum kd_publish_table {
	KD_PUBLISH_ROUTES,	/* struct kd_tables */
	KD_PUBLISH_POLICY,	/* struct kd_policy */
	KD_PUBLISH_SERVICES,	/* struct kd_lb */
	KD_PUBLISH_MAX,
};

/** What kd_publish_build() built, by enum kd_publish_table; NULL where untouched. */
struct kd_publish_batch {
	void *gen[KD_PUBLISH_MAX];
};

struct kd_store_change;

/**
 * A publisher for the vNIC and uplink ports of cfg (ethdev ids port_ids) and
 * the connection table ct (NULL: none; stale UDP connections are flushed from
 * it). NULL when out of memory.
 */
struct kd_publish *kd_publish_create(const struct kd_config *cfg, const uint16_t *port_ids,
				     struct kd_ct *ct);
/** Retire the live tables and free the translators. */
void kd_publish_free(struct kd_publish *pub);

/**
 * Build what the n changes ch touch (ch NULL: everything, from scratch); the
 * objects before and after must live until kd_publish_commit(). Nothing is
 * published on failure.
 */
enum kd_status kd_publish_build(struct kd_publish *pub, const struct kd_store *s,
				const struct kd_store_change *ch, size_t n,
				struct kd_publish_batch *b, struct kd_err *e);
/** Publish b; removal says the change took something away. Blocks for grace periods. */
void kd_publish_commit(struct kd_publish *pub, struct kd_publish_batch *b, bool removal);

/** Policy classifier sets written so far: how much policy changes cost. */
uint64_t kd_publish_policy_sets_written(const struct kd_publish *pub);

/** The Service compiler, for reads of what it compiled (ListServiceFrontends). */
const struct kd_translate_service *kd_publish_services(const struct kd_publish *pub);

#endif
