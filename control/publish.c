/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One row per table the workers read: which kinds touch it, how it is built
 * from the store, where it is published, and how a generation no worker can
 * hold any more is released.
 */
#include <stdlib.h>

#include <rte_common.h>

#include "control/config.h"
#include "control/publish.h"
#include "control/translate.h"
#include "control/translate_policy.h"
#include "control/translate_service.h"
#include "dataplane/lb.h"
#include "dataplane/policy.h"
#include "dataplane/tables.h"
#include "proto/kinds.h"

struct kd_publish {
	struct kd_translate routes;
	struct kd_translate_policy *policy;
	struct kd_translate_service *services;
};

struct table_ops {
	/* Whether a change to kind k (NULL: every kind) touches this table. */
	bool (*touched_by)(const struct kd_kind *k);
	void *(*build)(struct kd_publish *pub, const struct kd_store *s, struct kd_err *e);
	void **live;
	/* Free gen; succ replaced it a grace period ago (NULL: never published, or shutdown). */
	void (*release)(struct kd_publish *pub, void *gen, const void *succ);
};

static bool
routes_touched(const struct kd_kind *k)
{
	return k == NULL || k->id == KD_KIND_VPC || k->id == KD_KIND_NODE ||
	       k->id == KD_KIND_NETDEV;
}

/* Netdevs carry the pod identity of a port; Vpcs carry the node's gateway addresses. */
static bool
policy_touched(const struct kd_kind *k)
{
	return k == NULL || k->id == KD_KIND_POD || k->id == KD_KIND_NAMESPACE ||
	       k->id == KD_KIND_NETWORKPOLICY || k->id == KD_KIND_NETDEV || k->id == KD_KIND_VPC;
}

static bool
services_touched(const struct kd_kind *k)
{
	return k == NULL || k->id == KD_KIND_SERVICE || k->id == KD_KIND_ENDPOINTSLICE;
}

static void *
routes_build(struct kd_publish *pub, const struct kd_store *s, struct kd_err *e)
{
	return kd_translate_build(&pub->routes, s, e);
}

static void
routes_release(struct kd_publish *pub, void *gen, const void *succ)
{
	(void)pub;
	(void)succ;
	kd_tables_free(gen);
}

static void *
policy_build(struct kd_publish *pub, const struct kd_store *s, struct kd_err *e)
{
	return kd_translate_policy_build(pub->policy, s, e);
}

static void
policy_release(struct kd_publish *pub, void *gen, const void *succ)
{
	(void)succ;
	kd_translate_policy_discard(pub->policy, gen);
}

static void *
services_build(struct kd_publish *pub, const struct kd_store *s, struct kd_err *e)
{
	return kd_translate_service_build(pub->services, s, e);
}

static void
services_release(struct kd_publish *pub, void *gen, const void *succ)
{
	kd_translate_service_retire(pub->services, gen, succ);
}

/* By table; the build order is kd_publish_build()'s, the publication order kd_publish_commit()'s. */
static const struct table_ops tables[KD_PUBLISH_MAX] = {
	[KD_PUBLISH_ROUTES] = { routes_touched, routes_build, (void **)&kd_tables_live,
				routes_release },
	[KD_PUBLISH_SERVICES] = { services_touched, services_build, (void **)&kd_lb_live,
				  services_release },
	[KD_PUBLISH_POLICY] = { policy_touched, policy_build, (void **)&kd_policy_live,
				policy_release },
};

struct kd_publish *
kd_publish_create(const struct kd_config *cfg, const uint16_t *port_ids, struct kd_ct *ct)
{
	struct kd_publish *pub = calloc(1, sizeof(*pub));

	if (pub == NULL)
		return NULL;
	pub->routes.cfg = cfg;
	pub->routes.port_ids = port_ids;
	pub->policy = kd_translate_policy_create(cfg, port_ids);
	pub->services = kd_translate_service_create(cfg, ct);
	if (pub->policy == NULL || pub->services == NULL) {
		kd_publish_free(pub);
		return NULL;
	}
	return pub;
}

void
kd_publish_free(struct kd_publish *pub)
{
	unsigned int i;

	if (pub == NULL)
		return;
	for (i = 0; i < KD_PUBLISH_MAX; i++) {
		void *old = __atomic_exchange_n(tables[i].live, NULL, __ATOMIC_ACQ_REL);

		if (old != NULL)
			tables[i].release(pub, old, NULL);
	}
	kd_translate_policy_free(pub->policy);
	kd_translate_service_free(pub->services);
	free(pub);
}

static void
discard(struct kd_publish *pub, struct kd_publish_batch *b)
{
	unsigned int i;

	for (i = 0; i < KD_PUBLISH_MAX; i++) {
		if (b->gen[i] != NULL)
			tables[i].release(pub, b->gen[i], NULL);
		b->gen[i] = NULL;
	}
}

enum kd_status
kd_publish_build(struct kd_publish *pub, const struct kd_store *s, const struct kd_kind *k,
		 struct kd_publish_batch *b, struct kd_err *e)
{
	static const enum kd_publish_table order[] = {
		KD_PUBLISH_ROUTES, KD_PUBLISH_SERVICES, KD_PUBLISH_POLICY,
	};
	unsigned int i;

	for (i = 0; i < KD_PUBLISH_MAX; i++)
		b->gen[i] = NULL;
	for (i = 0; i < RTE_DIM(order); i++) {
		const struct table_ops *o = &tables[order[i]];

		if (!o->touched_by(k))
			continue;
		b->gen[order[i]] = o->build(pub, s, e);
		if (b->gen[order[i]] == NULL) {
			discard(pub, b);
			return e->code;
		}
	}
	return KD_OK;
}

static void
publish(struct kd_publish *pub, struct kd_publish_batch *b, enum kd_publish_table i)
{
	void *old;

	if (b->gen[i] == NULL)
		return;
	old = kd_tables_swap(tables[i].live, b->gen[i]);
	if (old != NULL)
		tables[i].release(pub, old, b->gen[i]);
	b->gen[i] = NULL;
}

void
kd_publish_commit(struct kd_publish *pub, struct kd_publish_batch *b, bool removal)
{
	/* A new pod is never reachable before its policy is live; a removed rule goes last. */
	if (!removal)
		publish(pub, b, KD_PUBLISH_POLICY);
	publish(pub, b, KD_PUBLISH_ROUTES);
	publish(pub, b, KD_PUBLISH_SERVICES);
	publish(pub, b, KD_PUBLISH_POLICY);
}

uint64_t
kd_publish_acl_builds(const struct kd_publish *pub)
{
	return kd_translate_policy_acl_builds(pub->policy);
}
