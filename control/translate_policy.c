/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds and publishes compiled NetworkPolicy. A build runs the store's
 * changes through the live world (policy_world.c), which counts what they
 * add to and take from the classifier sets; the header it returns carries
 * the new isolation and prefix lengths. Applying it writes the sets in two
 * steps (policy_sets.h) around a header that is the union of old and new.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "control/config.h"
#include "control/policy_ids.h"
#include "control/policy_sets.h"
#include "control/policy_world.h"
#include "control/store.h"
#include "control/translate_policy.h"
#include "dataplane/tables.h"

struct kd_translate_policy {
	const struct kd_config *cfg;
	const uint16_t *port_ids;
	struct kd_policy_ids ids;
	struct kd_policy_world *w;	/* what is live; NULL before the first build */
	struct kd_policy *live;		/* the header last applied */
	bool stale;			/* w holds changes that were never published */
	uint64_t gen;
	uint64_t written_before;	/* sets written by worlds thrown away */
};

/* A build's bookkeeping, hung on the header it returns. */
struct build {
	struct kd_policy_world *full;	/* a new world, or NULL: pc->w changed in place */
	uint32_t **replaced;		/* the live header's isolating lists this one replaces */
	uint32_t n_replaced;
};

/* What one publication leaves for after its grace period. */
struct retired {
	struct kd_policy *hdr[2];
	uint32_t **arrays;
	uint32_t n_arrays;
	struct kd_policy_sets_retired sets;
	struct kd_policy_world *world;
};

struct kd_translate_policy *
kd_translate_policy_create(const struct kd_config *cfg, const uint16_t *port_ids)
{
	struct kd_translate_policy *pc = calloc(1, sizeof(*pc));

	if (pc != NULL) {
		pc->cfg = cfg;
		pc->port_ids = port_ids;
	}
	return pc;
}

static void
header_free(struct kd_policy *p)
{
	if (p == NULL)
		return;
	free(p->fresh);
	free(p);
}

void
kd_translate_policy_free(struct kd_translate_policy *pc)
{
	unsigned int i, d;

	if (pc == NULL)
		return;
	if (pc->live != NULL)
		for (i = 0; i < RTE_MAX_ETHPORTS; i++)
			for (d = 0; d < 2; d++)
				free(pc->live->isolating[i][d]);
	header_free(pc->live);
	kd_policy_world_free(pc->w);
	kd_policy_ids_fini(&pc->ids);
	free(pc);
}

uint64_t
kd_translate_policy_sets_written(const struct kd_translate_policy *pc)
{
	return pc->written_before +
	       (pc->w != NULL ? kd_policy_sets_written(kd_policy_world_sets(pc->w)) : 0);
}

static int
feed(struct kd_policy_world *w, enum kd_kind_id k, const ProtobufCMessage *old,
     const ProtobufCMessage *cur, struct kd_policy *p, struct kd_err *e)
{
	uint32_t fresh = 0;
	int ret;

	switch (k) {
	case KD_KIND_NAMESPACE:
		return kd_policy_world_namespace(w, (const PB(Namespace) *)old,
						 (const PB(Namespace) *)cur, e);
	case KD_KIND_POD:
		return kd_policy_world_pod(w, (const PB(Pod) *)old, (const PB(Pod) *)cur, e);
	case KD_KIND_NETDEV:
		return kd_policy_world_netdev(w, (const PB(Netdev) *)old, (const PB(Netdev) *)cur, e);
	case KD_KIND_NETWORKPOLICY:
		ret = kd_policy_world_policy(w, (const PB(NetworkPolicy) *)old,
					     (const PB(NetworkPolicy) *)cur, &fresh, e);
		if (fresh != 0) {
			uint32_t *v = realloc(p->fresh, (p->n_fresh + 1) * sizeof(*v));

			if (v == NULL) {
				kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
				return -ENOMEM;
			}
			p->fresh = v;
			v[p->n_fresh++] = fresh;
		}
		return ret;
	default:
		return 0;
	}
}

/* Every object of the store into a new world: namespaces and pods before the policies. */
static struct kd_policy_world *
world_from(struct kd_translate_policy *pc, const struct kd_store *s, struct kd_policy *p,
	   struct kd_err *e)
{
	static const enum kd_kind_id order[] = { KD_KIND_NAMESPACE, KD_KIND_POD, KD_KIND_NETDEV,
						 KD_KIND_NETWORKPOLICY };
	struct kd_policy_world *w = kd_policy_world_create(pc->cfg, pc->port_ids, &pc->ids);
	uint8_t *seen;
	unsigned int k;
	size_t i;

	if (w == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED,
			   "policy: no memory for a classifier of policy.max_prefixes %u",
			   pc->cfg->pol_max_prefixes);
		return NULL;
	}
	for (k = 0; k < RTE_DIM(order); k++)
		for (i = 0; i < s->kind[order[k]].n; i++)
			if (feed(w, order[k], NULL, s->kind[order[k]].obj[i], p, e) != 0) {
				kd_policy_world_free(w);
				return NULL;
			}
	/* Ids of policies that are gone (a failed build's, say) become free. */
	seen = calloc(pc->ids.n + 1, 1);
	if (seen == NULL) {
		kd_policy_world_free(w);
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
		return NULL;
	}
	for (i = 0; i < s->kind[KD_KIND_NETWORKPOLICY].n; i++) {
		const PB(NetworkPolicy) *np =
			(const PB(NetworkPolicy) *)s->kind[KD_KIND_NETWORKPOLICY].obj[i];
		char name[128];
		bool fresh;

		snprintf(name, sizeof(name), "%s/%s", np->metadata->namespace_, np->metadata->name);
		kd_policy_ids_get(&pc->ids, name, UINT32_MAX, seen, &fresh);
	}
	kd_policy_ids_sweep(&pc->ids, seen);
	free(seen);
	return w;
}

/* The header for world w: new isolating lists where they changed, the live ones elsewhere. */
static int
header_fill(struct kd_translate_policy *pc, struct kd_policy_world *w, const struct kd_store *s,
	    struct kd_policy *p, struct build *b, bool full)
{
	struct kd_policy_sets *ps = kd_policy_world_sets(w);
	const struct kd_policy *live = pc->live;
	unsigned int i, d;
	size_t v;

	b->replaced = calloc(RTE_MAX_ETHPORTS * 2, sizeof(*b->replaced));
	if (b->replaced == NULL)
		return -ENOMEM;
	p->cls = kd_policy_sets_cls(ps);
	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (d = 0; d < 2; d++) {
			uint32_t n = kd_policy_world_isolating(w, (uint16_t)i, (uint8_t)d, NULL);

			p->lens[i][d] = kd_policy_sets_lens(ps, (uint16_t)i, (uint8_t)d);
			if (n != 0)
				p->isolated[i] |= (uint8_t)(1u << d);
			if (!full && live != NULL && !kd_policy_world_iso_changed(w, (uint16_t)i, (uint8_t)d)) {
				p->isolating[i][d] = live->isolating[i][d];
				p->n_isolating[i][d] = live->n_isolating[i][d];
				continue;
			}
			if (n != 0) {
				p->isolating[i][d] = malloc(n * sizeof(uint32_t));
				if (p->isolating[i][d] == NULL)
					return -ENOMEM;
				kd_policy_world_isolating(w, (uint16_t)i, (uint8_t)d, p->isolating[i][d]);
				p->n_isolating[i][d] = n;
			}
			/* A policy that left and came back in one change leaves the list as it was. */
			if (!full && live != NULL && n == live->n_isolating[i][d] && n != 0 &&
			    memcmp(p->isolating[i][d], live->isolating[i][d], n * sizeof(uint32_t)) == 0) {
				free(p->isolating[i][d]);
				p->isolating[i][d] = live->isolating[i][d];
				continue;
			}
			if (live != NULL && live->isolating[i][d] != NULL)
				b->replaced[b->n_replaced++] = live->isolating[i][d];
		}
	/* Traffic from the node itself is always allowed in (Kubernetes' rule). */
	if (pc->cfg->vtep_ip != 0)
		p->node_ip[p->n_node_ip++] = pc->cfg->vtep_ip;
	for (v = 0; v < s->kind[KD_KIND_VPC].n && p->n_node_ip < RTE_DIM(p->node_ip); v++) {
		const PB(Vpc) *vpc = (const PB(Vpc) *)s->kind[KD_KIND_VPC].obj[v];

		kd_config_parse_ipv4(vpc->spec->gateway_ip, &p->node_ip[p->n_node_ip++]);
	}
	p->n_policies = pc->ids.n;
	p->policy_name = &pc->ids.name;
	p->gen = ++pc->gen;
	return 0;
}

/* A header never published: its own lists, its build, and a new world if it had one. */
static void
unbuild(struct kd_translate_policy *pc, struct kd_policy *p)
{
	struct build *b = p->priv;
	unsigned int i, d;

	for (i = 0; i < RTE_MAX_ETHPORTS; i++)
		for (d = 0; d < 2; d++)
			if (pc->live == NULL || p->isolating[i][d] != pc->live->isolating[i][d])
				free(p->isolating[i][d]);
	if (b != NULL) {
		if (b->full != NULL)
			kd_policy_world_free(b->full);
		else
			pc->stale = true;	/* the live world holds what was not published */
		free(b->replaced);
		free(b);
	}
	header_free(p);
}

struct kd_policy *
kd_translate_policy_build(struct kd_translate_policy *pc, const struct kd_store *s,
			  const struct kd_store_change *ch, size_t n, struct kd_err *e)
{
	struct kd_policy *p = calloc(1, sizeof(*p));
	struct build *b = calloc(1, sizeof(*b));
	struct kd_policy_world *w;
	bool full = ch == NULL || pc->w == NULL || pc->stale;
	size_t i;

	if (p == NULL || b == NULL) {
		free(p);
		free(b);
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
		return NULL;
	}
	p->priv = b;
	if (full) {
		b->full = world_from(pc, s, p, e);
		if (b->full == NULL)
			goto fail;
		w = b->full;
	} else {
		w = pc->w;
		for (i = 0; i < n; i++)
			if (feed(w, ch[i].kind, ch[i].old, ch[i].cur, p, e) != 0)
				goto fail;
	}
	if (!kd_policy_sets_fit(kd_policy_world_sets(w))) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED,
			   "policy: %u prefixes do not fit policy.max_prefixes %u",
			   kd_policy_sets_keys(kd_policy_world_sets(w)), pc->cfg->pol_max_prefixes);
		goto fail;
	}
	if (header_fill(pc, w, s, p, b, full) != 0) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "policy: out of memory");
		goto fail;
	}
	if (full) {
		struct kd_policy_sets_retired none = { 0 };

		/* Nobody reads a new world's classifier yet: write it all now. */
		kd_policy_sets_widen(kd_policy_world_sets(w), &none);
		kd_policy_sets_release(NULL, &none);
	}
	return p;
fail:
	unbuild(pc, p);
	return NULL;
}

void
kd_translate_policy_discard(struct kd_translate_policy *pc, struct kd_policy *p)
{
	if (p != NULL)
		unbuild(pc, p);
}

/*
 * Whether shrinking the sets needs a header that is the union of old and
 * new in front of it: when p brings a prefix length the live header does not
 * probe (its new keys would be invisible while old ones go), or lifts an
 * isolation (the old header would judge against sets already shrunk).
 * Otherwise every key can go from live to union to new under the live header.
 */
static bool
needs_union(const struct kd_policy *live, const struct kd_policy *p)
{
	unsigned int i, d;

	for (i = 0; i < RTE_MAX_ETHPORTS; i++) {
		if (live->isolated[i] & ~p->isolated[i])
			return true;
		for (d = 0; d < 2; d++)
			if (p->lens[i][d] & ~live->lens[i][d])
				return true;
	}
	return false;
}

void *
kd_translate_policy_apply(struct kd_translate_policy *pc, struct kd_policy *p)
{
	struct build *b = p->priv;
	struct retired *r = calloc(1, sizeof(*r));
	unsigned int i, d;

	/* Without memory to remember what to free, it leaks: publishing must not fail. */
	if (r != NULL) {
		r->arrays = b->replaced;
		r->n_arrays = b->n_replaced;
	} else {
		free(b->replaced);
	}
	p->priv = NULL;
	if (b->full != NULL) {
		if (r != NULL)
			r->world = pc->w;
		if (pc->w != NULL)
			pc->written_before += kd_policy_sets_written(kd_policy_world_sets(pc->w));
		pc->w = b->full;
		pc->stale = false;
		if (r != NULL)
			r->hdr[0] = __atomic_exchange_n(&kd_policy_live, p, __ATOMIC_ACQ_REL);
		else
			__atomic_store_n(&kd_policy_live, p, __ATOMIC_RELEASE);
	} else {
		struct kd_policy_sets *ps = kd_policy_world_sets(pc->w);
		struct kd_policy_sets_retired none = { 0 }, *rs = r != NULL ? &r->sets : &none;
		struct kd_policy *u = NULL, *old;

		if (kd_policy_sets_widen(ps, rs) && needs_union(pc->live, p) &&
		    (u = malloc(sizeof(*u))) != NULL) {
			/* The union of old and new until the sets shrink to the new. */
			*u = *p;
			u->fresh = NULL;
			u->n_fresh = 0;
			for (i = 0; i < RTE_MAX_ETHPORTS; i++) {
				u->isolated[i] &= pc->live->isolated[i];
				for (d = 0; d < 2; d++)
					u->lens[i][d] |= pc->live->lens[i][d];
			}
			old = __atomic_exchange_n(&kd_policy_live, u, __ATOMIC_ACQ_REL);
			kd_tables_wait();
			kd_policy_sets_narrow(ps, rs);
		} else {
			kd_policy_sets_narrow(ps, rs);
			old = NULL;
		}
		if (old == NULL)
			old = __atomic_exchange_n(&kd_policy_live, p, __ATOMIC_ACQ_REL);
		else
			__atomic_store_n(&kd_policy_live, p, __ATOMIC_RELEASE);
		if (r != NULL) {
			r->hdr[0] = old;
			r->hdr[1] = u;
		}
	}
	kd_policy_world_settle(pc->w);
	pc->live = p;
	free(b);
	return r;
}

void
kd_translate_policy_retire(struct kd_translate_policy *pc, void *old)
{
	struct retired *r = old;
	uint32_t i;

	if (r == NULL)
		return;
	header_free(r->hdr[0]);
	header_free(r->hdr[1]);
	for (i = 0; i < r->n_arrays; i++)
		free(r->arrays[i]);
	free(r->arrays);
	kd_policy_sets_release(pc->w != NULL ? kd_policy_world_sets(pc->w) : NULL, &r->sets);
	kd_policy_world_free(r->world);
	free(r);
}

void
kd_translate_policy_walk(const struct kd_translate_policy *pc, const struct kd_policy *p,
			 void (*fn)(const struct kd_pol_key *k, const struct kd_pol_entry *e,
				    uint32_t count, void *arg),
			 void *arg)
{
	const struct build *b = p->priv;
	struct kd_policy_world *w = b != NULL && b->full != NULL ? b->full : pc->w;

	if (w != NULL)
		kd_policy_sets_walk(kd_policy_world_sets(w), fn, arg);
}
