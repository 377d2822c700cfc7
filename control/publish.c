/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One row per table the workers read: which kinds touch it, how it is built
 * from the store, how it is made live, and how what it replaced is released
 * once no worker can hold it any more.
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
#include "control/store.h"
#include "proto/kinds.h"

struct kd_publish {
	struct kd_translate routes;
	struct kd_translate_policy *policy;
	struct kd_translate_service *services;
};

struct table_ops {
	/* Whether a change to an object of kind k touches this table. */
	bool (*touched_by)(enum kd_kind_id k);
	void *(*build)(struct kd_publish *pub, const struct kd_store *s,
		       const struct kd_store_change *ch, size_t n, struct kd_err *e);
	/* Make gen live; what it returns is retired a grace period later (NULL: nothing). */
	void *(*apply)(struct kd_publish *pub, void *gen);
	void (*retire)(struct kd_publish *pub, void *old);
	/* Free gen, built and never applied. */
	void (*discard)(struct kd_publish *pub, void *gen);
};

static bool
routes_touched(enum kd_kind_id k)
{
	return k == KD_KIND_VPC || k == KD_KIND_NODE || k == KD_KIND_NETDEV;
}

/* Netdevs carry the pod identity of a port; Vpcs carry the node's gateway addresses. */
static bool
policy_touched(enum kd_kind_id k)
{
	return k == KD_KIND_POD || k == KD_KIND_NAMESPACE || k == KD_KIND_NETWORKPOLICY ||
	       k == KD_KIND_NETDEV || k == KD_KIND_VPC;
}

static bool
services_touched(enum kd_kind_id k)
{
	return k == KD_KIND_SERVICE || k == KD_KIND_ENDPOINTSLICE;
}

static void *
routes_build(struct kd_publish *pub, const struct kd_store *s, const struct kd_store_change *ch,
	     size_t n, struct kd_err *e)
{
	(void)ch;
	(void)n;
	return kd_translate_build(&pub->routes, s, e);
}

static void *
routes_apply(struct kd_publish *pub, void *gen)
{
	(void)pub;
	return __atomic_exchange_n(&kd_tables_live, gen, __ATOMIC_ACQ_REL);
}

static void
routes_free(struct kd_publish *pub, void *gen)
{
	(void)pub;
	kd_tables_free(gen);
}

static void *
policy_build(struct kd_publish *pub, const struct kd_store *s, const struct kd_store_change *ch,
	     size_t n, struct kd_err *e)
{
	return kd_translate_policy_build(pub->policy, s, ch, n, e);
}

/* Writes the classifier in place, around a header that is the union of old and new. */
static void *
policy_apply(struct kd_publish *pub, void *gen)
{
	return kd_translate_policy_apply(pub->policy, gen);
}

static void
policy_retire(struct kd_publish *pub, void *old)
{
	kd_translate_policy_retire(pub->policy, old);
}

static void
policy_discard(struct kd_publish *pub, void *gen)
{
	kd_translate_policy_discard(pub->policy, gen);
}

static void *
services_build(struct kd_publish *pub, const struct kd_store *s,
	       const struct kd_store_change *ch, size_t n, struct kd_err *e)
{
	return kd_translate_service_build(pub->services, s, ch, n, e);
}

/* A delta that changed nothing has nothing to wait for: it is retired at once. */
static void *
services_apply(struct kd_publish *pub, void *gen)
{
	if (kd_translate_service_apply(pub->services, gen))
		return gen;
	kd_translate_service_retire(pub->services, gen);
	return NULL;
}

static void
services_retire(struct kd_publish *pub, void *old)
{
	kd_translate_service_retire(pub->services, old);
}

static void
services_discard(struct kd_publish *pub, void *gen)
{
	kd_translate_service_discard(pub->services, gen);
}

/* By table; the build order is kd_publish_build()'s, the publication order kd_publish_commit()'s. */
static const struct table_ops tables[KD_PUBLISH_MAX] = {
	[KD_PUBLISH_ROUTES] = { routes_touched, routes_build, routes_apply, routes_free,
				routes_free },
	[KD_PUBLISH_SERVICES] = { services_touched, services_build, services_apply,
				  services_retire, services_discard },
	[KD_PUBLISH_POLICY] = { policy_touched, policy_build, policy_apply, policy_retire,
				policy_discard },
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
	if (pub == NULL)
		return;
	kd_tables_free(__atomic_exchange_n(&kd_tables_live, NULL, __ATOMIC_ACQ_REL));
	__atomic_store_n(&kd_policy_live, NULL, __ATOMIC_RELEASE);
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
			tables[i].discard(pub, b->gen[i]);
		b->gen[i] = NULL;
	}
}

static bool
touched(const struct table_ops *o, const struct kd_store_change *ch, size_t n)
{
	size_t i;

	for (i = 0; ch != NULL && i < n; i++)
		if (o->touched_by(ch[i].kind))
			return true;
	return ch == NULL;
}

enum kd_status
kd_publish_build(struct kd_publish *pub, const struct kd_store *s,
		 const struct kd_store_change *ch, size_t n, struct kd_publish_batch *b,
		 struct kd_err *e)
{
	static const enum kd_publish_table order[] = {
		KD_PUBLISH_ROUTES, KD_PUBLISH_SERVICES, KD_PUBLISH_POLICY,
	};
	unsigned int i;

	for (i = 0; i < KD_PUBLISH_MAX; i++)
		b->gen[i] = NULL;
	for (i = 0; i < RTE_DIM(order); i++) {
		const struct table_ops *o = &tables[order[i]];

		if (!touched(o, ch, n))
			continue;
		b->gen[order[i]] = o->build(pub, s, ch, n, e);
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
	old = tables[i].apply(pub, b->gen[i]);
	b->gen[i] = NULL;
	if (old == NULL)
		return;
	kd_tables_wait();
	tables[i].retire(pub, old);
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

const struct kd_translate_service *
kd_publish_services(const struct kd_publish *pub)
{
	return pub->services;
}

uint64_t
kd_publish_policy_sets_written(const struct kd_publish *pub)
{
	return kd_translate_policy_sets_written(pub->policy);
}
