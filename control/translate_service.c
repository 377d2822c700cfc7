/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A change compiles only the Services it names (a changed Service, the
 * Service of a changed slice) into units, and turns them into a delta:
 * per frontend key, the frontend before and after. Applying it updates
 * the live index in place; a grace period later the units it replaced are
 * freed. Nothing else is looked at, so a change costs what it touches.
 */
#include <errno.h>
#include <netinet/in.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/store.h"
#include "control/maglev_cache.h"
#include "control/svc_unit.h"
#include "control/translate_service.h"
#include "control/translate_slices.h"
#include "dataplane/conntrack.h"

struct kd_translate_service {
	const struct kd_config *cfg;
	struct kd_ct *ct;
	struct kd_maglev_cache *mc;	/* Maglev tables by endpoint set */
	struct kd_lb *lb;		/* the live index, kd_lb_live */
	void *units;			/* tsearch(3) tree of the live units, by name */
};

/* One Service's change: the live unit and the one that replaces it (NULL: none). */
struct change {
	struct kd_svc_unit *old, *cur;
};

/* One frontend key's change; slot is the index slot a removed key leaves. */
struct op {
	struct kd_lb_key key;
	const struct kd_lb_frontend *old;
	struct kd_lb_frontend *cur;
	int32_t slot;
};

struct kd_translate_service_delta {
	struct change *c;
	size_t n_c;
	struct op *op;
	size_t n_op;
	bool udp_left;			/* a UDP endpoint left a frontend: flush its flows */
};

static int
cmp_unit(const void *a, const void *b)
{
	return strcmp(((const struct kd_svc_unit *)a)->name, ((const struct kd_svc_unit *)b)->name);
}

static struct kd_svc_unit *
unit_find(const struct kd_translate_service *sc, const char *name)
{
	struct kd_svc_unit key = { .name = (char *)(uintptr_t)name };
	struct kd_svc_unit **at = tfind(&key, &sc->units, cmp_unit);

	return at != NULL ? *at : NULL;
}

struct kd_translate_service *
kd_translate_service_create(const struct kd_config *cfg, struct kd_ct *ct)
{
	static unsigned int instances;
	struct kd_translate_service *sc = calloc(1, sizeof(*sc));
	char name[32];

	if (sc == NULL)
		return NULL;
	sc->cfg = cfg;
	sc->ct = ct;
	sc->mc = kd_maglev_cache_create();
	/* rte_hash names are global; tests run a second compiler beside the first. */
	snprintf(name, sizeof(name), "kd_lb_%u", instances++);
	sc->lb = kd_lb_create(name, cfg->svc_max_frontends, cfg->svc_hairpin_ip, cfg->vtep_ip);
	if (sc->mc == NULL || sc->lb == NULL) {
		kd_maglev_cache_free(sc->mc);
		kd_lb_free(sc->lb);
		free(sc);
		return NULL;
	}
	__atomic_store_n(&kd_lb_live, sc->lb, __ATOMIC_RELEASE);
	return sc;
}

void
kd_translate_service_free(struct kd_translate_service *sc)
{
	if (sc == NULL)
		return;
	/* After the workers stopped: nobody reads the index any more. */
	__atomic_store_n(&kd_lb_live, NULL, __ATOMIC_RELEASE);
	/* The root node's key is a unit: take units off the root until none is left. */
	while (sc->units != NULL) {
		struct kd_svc_unit *u = *(struct kd_svc_unit **)sc->units;

		tdelete(u, &sc->units, cmp_unit);
		kd_svc_unit_free(sc->mc, u);
	}
	kd_lb_free(sc->lb);
	kd_maglev_cache_free(sc->mc);
	free(sc);
}

/* Whether the frontend lists the endpoint, serving when serving is asked for. */
static bool
has_backend(const struct kd_lb_frontend *fe, rte_be32_t ip, rte_be16_t port, bool serving)
{
	uint16_t i;

	for (i = 0; fe != NULL && i < fe->n_backends; i++)
		if (fe->be[i].ip == ip && fe->be[i].port == port)
			return !serving || (fe->be[i].flags & KD_LB_EP_SERVING);
	return false;
}

/* Whether some UDP endpoint of old is gone from cur: only then is a scan worth it. */
static bool
udp_endpoint_left(const struct kd_lb_frontend *old, const struct kd_lb_frontend *cur)
{
	uint16_t b;

	if (old == NULL || old->key.proto != IPPROTO_UDP)
		return false;
	for (b = 0; b < old->n_backends; b++)
		if (!has_backend(cur, old->be[b].ip, old->be[b].port, true))
			return true;
	return false;
}

static int
cmp_key(const struct kd_lb_key *a, const struct kd_lb_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

static int
cmp_op(const void *a, const void *b)
{
	return cmp_key(&((const struct op *)a)->key, &((const struct op *)b)->key);
}

/* The delta's op for key (ops are sorted by key), or NULL. */
static const struct op *
find_op(const struct kd_translate_service_delta *d, const struct kd_lb_key *key)
{
	struct op k = { .key = *key };

	return bsearch(&k, d->op, d->n_op, sizeof(*d->op), cmp_op);
}

/*
 * kube-proxy's conntrack cleanup: a UDP connection whose endpoint left its
 * Service or stopped serving (a terminating endpoint that still serves keeps
 * its flows), or whose Service is gone, would go on sending into the void, as
 * UDP has no reset; it is deleted, so its next datagram is a new connection
 * to a live endpoint. TCP and SCTP are left alone: they end by themselves.
 * A translated connection's original key names its frontend, and its reply
 * key the endpoint.
 */
static void
flush_stale_udp(struct kd_translate_service *sc, const struct kd_translate_service_delta *d)
{
	struct kd_ct *ct = sc->ct;
	uint32_t i;

	if (ct == NULL || !d->udp_left)
		return;
	for (i = 0; i < ct->capacity; i++) {
		const struct kd_ct_conn *c = &ct->conn[i];
		struct kd_ct_key key[2];
		const struct kd_ct_key *o = &key[KD_CT_ORIG], *r = &key[KD_CT_REPLY];
		struct kd_lb_key fk = { 0 };
		const struct op *op;

		if (c->proto != IPPROTO_UDP ||
		    (__atomic_load_n(&c->flags, __ATOMIC_ACQUIRE) &
		     (KD_CT_F_DEAD | KD_CT_F_USED | KD_CT_F_NAT)) != (KD_CT_F_USED | KD_CT_F_NAT))
			continue;
		memcpy(key, c->key, sizeof(key));
		fk.ip = o->ip[1];
		fk.port = o->port[1];
		fk.proto = o->proto;
		op = find_op(d, &fk);
		if (op == NULL || !has_backend(op->old, r->ip[0], r->port[0], false) ||
		    has_backend(op->cur, r->ip[0], r->port[0], true))
			continue;
		/* Read without the lock: the record may have been reused since. */
		kd_ct_delete_if(ct, i, key);
	}
}

/* Room in *v (n used of *cap, of size bytes each) for one more. 0 or -ENOMEM. */
static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap != 0 ? *cap * 2 : 32;
	void *nv;

	if (n < *cap)
		return 0;
	if ((nv = realloc(*v, c * size)) == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names ("namespace/name") of the Services a change touches, with duplicates. */
struct names {
	char **v;
	size_t n, cap;
};

static int
add_name(struct names *nm, const char *ns, const char *name)
{
	size_t len = strlen(ns) + strlen(name) + 2;

	if (grow((void **)&nm->v, &nm->cap, nm->n, sizeof(*nm->v)) != 0)
		return -ENOMEM;
	nm->v[nm->n] = malloc(len);
	if (nm->v[nm->n] == NULL)
		return -ENOMEM;
	snprintf(nm->v[nm->n++], len, "%s/%s", ns, name);
	return 0;
}

static int
touched(struct names *nm, const struct kd_store_change *ch)
{
	const ProtobufCMessage *obj[2] = { ch->old, ch->cur };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		const PB(ObjectMeta) *m;
		const char *svc;

		if (obj[i] == NULL)
			continue;
		if (ch->kind == KD_KIND_SERVICE) {
			m = ((const PB(Service) *)obj[i])->metadata;
			svc = m->name;
		} else if (ch->kind == KD_KIND_ENDPOINTSLICE) {
			m = ((const PB(EndpointSlice) *)obj[i])->metadata;
			svc = kd_store_slice_service(obj[i]);
		} else {
			continue;
		}
		if (svc != NULL && add_name(nm, m->namespace_, svc) != 0)
			return -ENOMEM;
	}
	return 0;
}

struct walk_names {
	struct names *nm;
	int ret;
};

static void
walk_name(const void *node, VISIT v, void *arg)
{
	const struct kd_svc_unit *u = *(const struct kd_svc_unit *const *)node;
	struct walk_names *w = arg;
	const char *slash = strchr(u->name, '/');
	char ns[64];

	if ((v != postorder && v != leaf) || w->ret != 0 || slash == NULL)
		return;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - u->name), u->name);
	w->ret = add_name(w->nm, ns, slash + 1);
}

/* Every Service name: those the store has and those the index has. */
static int
all_names(const struct kd_translate_service *sc, const struct kd_store *s, struct names *nm)
{
	const struct kd_store_kind *k = &s->kind[KD_KIND_SERVICE];
	struct walk_names w = { .nm = nm };
	size_t i;

	for (i = 0; i < k->n; i++) {
		const PB(ObjectMeta) *m = ((const PB(Service) *)k->obj[i])->metadata;

		if (add_name(nm, m->namespace_, m->name) != 0)
			return -ENOMEM;
	}
	twalk_r(sc->units, walk_name, &w);
	return w.ret;
}

static bool
unchanged(const struct kd_svc_unit *u, uint64_t serial, const struct kd_store_ref *sl, size_t n)
{
	size_t i;

	if (u == NULL || u->serial != serial || u->n_slices != n)
		return false;
	for (i = 0; i < n; i++)
		if (u->slices[i] != sl[i].serial)
			return false;
	return true;
}

/* The change of Service name ("namespace/name"), if it has one; 0 or -errno with e set. */
static int
plan_service(struct kd_translate_service *sc, const struct kd_store *s, const char *name,
	     struct kd_translate_service_delta *d, size_t *cap, struct kd_translate_slices_eps *eps,
	     struct kd_err *e)
{
	const char *slash = strchr(name, '/');
	struct kd_svc_unit *old = unit_find(sc, name), *cur = NULL;
	const struct kd_store_ref *sl;
	const PB(Service) *svc;
	uint64_t serial;
	size_t n_sl;
	char ns[64], full[400];

	if (slash == NULL || (size_t)(slash - name) >= sizeof(ns))
		return 0;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - name), name);
	snprintf(full, sizeof(full), "namespaces/%s/services/%s", ns, slash + 1);
	svc = (const PB(Service) *)kd_store_get(s, KD_KIND_SERVICE, full);
	serial = kd_store_serial(s, KD_KIND_SERVICE, full);
	sl = kd_store_slices_of(s, ns, slash + 1, &n_sl);
	if (svc == NULL ? old == NULL : unchanged(old, serial, sl, n_sl))
		return 0;
	if (grow((void **)&d->c, cap, d->n_c, sizeof(*d->c)) != 0)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
	if (svc != NULL && (cur = kd_svc_unit_compile(sc->cfg, sc->mc, name, svc, serial, sl, n_sl, eps, e)) == NULL)
		return e->code;
	d->c[d->n_c++] = (struct change){ .old = old, .cur = cur };
	return 0;
}

static int
conflict(const struct kd_lb_key *k, const char *a, const char *b, struct kd_err *e)
{
	char ip[16];

	if (strcmp(a, b) > 0) {
		const char *t = a;

		a = b;
		b = t;
	}
	kd_config_format_ipv4(k->ip, ip, sizeof(ip));
	return kd_err_set(e, KD_FAILED_PRECONDITION, "%s:%u/%s is claimed by both service %s and service %s",
			  ip, rte_be_to_cpu_16(k->port), kd_svc_unit_proto_name(k->proto), a, b);
}

/*
 * Per frontend key, what it was and what it becomes. A key that a changed
 * Service takes must be free: held by no other Service, in this change or
 * live. The index must have room for every new key while the removed ones
 * still hold their slots (they are freed a grace period later).
 */
static int
plan_keys(struct kd_translate_service *sc, struct kd_translate_service_delta *d, struct kd_err *e)
{
	size_t n = 0, i, j, adds = 0;
	struct op *op;

	for (i = 0; i < d->n_c; i++)
		n += (d->c[i].old ? d->c[i].old->n_fe : 0) + (d->c[i].cur ? d->c[i].cur->n_fe : 0);
	op = malloc((n ? n : 1) * sizeof(*op));
	if (op == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
	n = 0;
	for (i = 0; i < d->n_c; i++) {
		for (j = 0; d->c[i].old != NULL && j < d->c[i].old->n_fe; j++)
			op[n++] = (struct op){ .key = d->c[i].old->fe[j].key,
					       .old = &d->c[i].old->fe[j], .slot = -1 };
		for (j = 0; d->c[i].cur != NULL && j < d->c[i].cur->n_fe; j++)
			op[n++] = (struct op){ .key = d->c[i].cur->fe[j].key,
					       .cur = &d->c[i].cur->fe[j], .slot = -1 };
	}
	qsort(op, n, sizeof(*op), cmp_op);
	d->op = op;
	/* Merge the old and new entries of each key into one op. */
	for (i = 0, j = 0; i < n; j++) {
		struct op m = op[i++];

		for (; i < n && cmp_op(&op[i], &m) == 0; i++) {
			if (op[i].cur != NULL && m.cur != NULL)
				return conflict(&m.key, m.cur->svc, op[i].cur->svc, e);
			if (op[i].old != NULL)
				m.old = op[i].old;
			else
				m.cur = op[i].cur;
		}
		if (m.cur != NULL && m.old == NULL) {
			const struct kd_lb_frontend *live = kd_lb_lookup(sc->lb, m.key.ip, m.key.port,
									 m.key.proto);

			if (live != NULL)
				return conflict(&m.key, live->svc, m.cur->svc, e);
			adds++;
		}
		if (udp_endpoint_left(m.old, m.cur))
			d->udp_left = true;
		op[j] = m;
	}
	d->n_op = j;
	if (sc->lb->n_fe + adds > sc->lb->capacity)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED,
				  "services: %zu more frontends do not fit services.max_frontends %u "
				  "(%u in use)", adds, sc->lb->capacity, sc->lb->n_fe);
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].cur != NULL && d->op[i].old != NULL)
			kd_svc_unit_disruption(d->op[i].cur, d->op[i].old);
	return 0;
}

void
kd_translate_service_discard(struct kd_translate_service *sc, struct kd_translate_service_delta *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n_c; i++) {
		struct kd_svc_unit *cur = d->c[i].cur;

		/* A new Service's unit went into the tree at build time, to keep apply infallible. */
		if (cur != NULL && d->c[i].old == NULL && unit_find(sc, cur->name) == cur) {
			tdelete(cur, &sc->units, cmp_unit);
		}
		kd_svc_unit_free(sc->mc, cur);
	}
	free(d->c);
	free(d->op);
	free(d);
}

struct kd_translate_service_delta *
kd_translate_service_build(struct kd_translate_service *sc, const struct kd_store *s,
			   const struct kd_store_change *ch, size_t n_ch, struct kd_err *e)
{
	struct kd_translate_service_delta *d = calloc(1, sizeof(*d));
	struct kd_translate_slices_eps eps = { 0 };
	struct names nm = { 0 };
	size_t i, cap = 0;
	int ret = 0;

	if (d == NULL) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		return NULL;
	}
	if (ch == NULL)
		ret = all_names(sc, s, &nm);
	for (i = 0; ch != NULL && i < n_ch && ret == 0; i++)
		ret = touched(&nm, &ch[i]);
	if (ret != 0) {
		kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
		goto fail;
	}
	if (nm.n > 1)
		qsort(nm.v, nm.n, sizeof(*nm.v), cmp_str);
	for (i = 0; i < nm.n; i++) {
		if (i > 0 && strcmp(nm.v[i], nm.v[i - 1]) == 0)
			continue;
		if (plan_service(sc, s, nm.v[i], d, &cap, &eps, e) != 0)
			goto fail;
	}
	if (plan_keys(sc, d, e) != 0)
		goto fail;
	for (i = 0; i < d->n_c; i++)
		if (d->c[i].old == NULL) {
			struct kd_svc_unit **at = tsearch(d->c[i].cur, &sc->units, cmp_unit);

			if (at == NULL) {
				kd_err_set(e, KD_RESOURCE_EXHAUSTED, "services: out of memory");
				goto fail;
			}
		}
	goto done;
fail:
	kd_translate_service_discard(sc, d);
	d = NULL;
done:
	for (i = 0; i < nm.n; i++)
		free(nm.v[i]);
	free(nm.v);
	free(eps.v);
	return d;
}

bool
kd_translate_service_apply(struct kd_translate_service *sc, struct kd_translate_service_delta *d)
{
	size_t i;

	/* Removals first, so that a key moving between Services never has two owners. */
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].cur == NULL)
			d->op[i].slot = kd_lb_unset(sc->lb, &d->op[i].key);
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].cur != NULL)
			kd_lb_set(sc->lb, d->op[i].cur);	/* room was checked in plan_keys() */
	for (i = 0; i < d->n_c; i++) {
		struct change *c = &d->c[i];

		if (c->old == NULL)
			continue;
		if (c->cur != NULL)
			*(struct kd_svc_unit **)tfind(c->old, &sc->units, cmp_unit) = c->cur;
		else
			tdelete(c->old, &sc->units, cmp_unit);
	}
	if (d->n_op != 0)
		sc->lb->gen++;
	return d->n_op != 0;
}

void
kd_translate_service_retire(struct kd_translate_service *sc, struct kd_translate_service_delta *d)
{
	size_t i;

	/*
	 * After the grace period: no worker still picks from the old frontends,
	 * so every connection they gave a departed endpoint is in the table by now.
	 */
	flush_stale_udp(sc, d);
	for (i = 0; i < d->n_op; i++)
		if (d->op[i].slot >= 0)
			kd_lb_reclaim(sc->lb, d->op[i].slot);
	for (i = 0; i < d->n_c; i++)
		kd_svc_unit_free(sc->mc, d->c[i].old);
	free(d->c);
	free(d->op);
	free(d);
}

struct walk_fe {
	void (*fn)(const struct kd_lb_frontend *fe, void *arg);
	void *arg;
};

static void
walk_unit(const struct kd_svc_unit *u, const struct walk_fe *w)
{
	uint32_t i;

	for (i = 0; i < u->n_fe; i++)
		w->fn(&u->fe[i], w->arg);
}

static void
walk_node(const void *node, VISIT v, void *arg)
{
	if (v == postorder || v == leaf)
		walk_unit(*(const struct kd_svc_unit *const *)node, arg);
}

void
kd_translate_service_walk(const struct kd_translate_service *sc, const char *name,
			  void (*fn)(const struct kd_lb_frontend *fe, void *arg), void *arg)
{
	struct walk_fe w = { .fn = fn, .arg = arg };
	const struct kd_svc_unit *u;

	if (name == NULL) {
		twalk_r(sc->units, walk_node, &w);
		return;
	}
	u = unit_find(sc, name);
	if (u != NULL)
		walk_unit(u, &w);
}
