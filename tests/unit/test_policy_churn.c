/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The incremental NetworkPolicy compiler against a build from scratch.
 * Random sequences of creates, updates and deletes of Namespaces (labels),
 * Pods (labels, addresses, named ports), Netdevs (which pod a local port
 * serves) and NetworkPolicies (selectors, namespace selectors, ipBlocks with
 * except, numeric, ranged and named ports, policy types), one to four per
 * build, are published change by change. Every few steps the live state
 * must equal what a fresh compiler builds from the same store: the same
 * counted tuples per classifier key (policies compared by name), the same
 * isolation, prefix lengths and isolating policies, a published classifier
 * that holds exactly the counted tuples, and the same verdicts on probes.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "cli/manifest.h"
#include "control/config.h"
#include "control/store.h"
#include "control/translate_policy.h"
#include "dataplane/tables.h"
#include "proto/pb.h"
#include "tests/unit/fixture.h"

#define N_NS 4
#define N_POD 14
#define N_ND 3
#define N_POL 8

static struct kd_config cfg;
static const uint16_t port_ids[4] = { 0, 1, 2, 3 };
static int
setup(void **state)
{
	unsigned int i;

	(void)state;
	if (kd_test_eal("test_policy_churn", "256") != 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_ports = 4;
	cfg.pol_max_prefixes = 4096;
	cfg.ports[0].role = KD_CFG_ROLE_UPLINK;
	for (i = 1; i < 4; i++) {
		cfg.ports[i].role = KD_CFG_ROLE_VNIC;
		snprintf(cfg.ports[i].pci, sizeof(cfg.ports[i].pci), "p%u", i);
	}
	inet_pton(AF_INET, "192.168.0.1", &cfg.vtep_ip);
	return 0;
}

/* The one object of a YAML text, named as the API names it. */
static struct kd_manifest_obj
object(const char *yaml)
{
	struct kd_manifest_obj o = kd_test_object(yaml);
	char name[384], **slot;

	kd_kind_name_format(o.kind, o.ns, o.id, name, sizeof(name));
	slot = kd_pb_string_field(o.msg, 1);
	if (*slot != protobuf_c_empty_string)
		free(*slot);
	*slot = strdup(name);
	return o;
}

static size_t
labels(char *b, size_t len, const char *const *keys, const char *const *const *vals,
       unsigned int n)
{
	size_t at = (size_t)snprintf(b, len, "{");
	unsigned int i, k = 0;

	for (i = 0; i < n; i++) {
		unsigned int v = rnd(4);

		if (v == 3)
			continue;	/* absent */
		at += (size_t)snprintf(b + at, len - at, "%s%s: %s", k++ ? ", " : "", keys[i],
				       vals[i][v % 2]);
	}
	return at + (size_t)snprintf(b + at, len - at, "}");
}

static void
namespace_yaml(char *b, size_t len, unsigned int i)
{
	static const char *const keys[] = { "team", "env" };
	static const char *const team[] = { "a", "b" }, *const env[] = { "prod", "dev" };
	static const char *const *const vals[] = { team, env };
	size_t at = (size_t)snprintf(b, len, "apiVersion: v1\nkind: Namespace\nmetadata: {name: n%u, labels: ", i);

	at += labels(b + at, len - at, keys, vals, 2);
	snprintf(b + at, len - at, "}\n");
}

static void
pod_yaml(char *b, size_t len, unsigned int i)
{
	static const char *const keys[] = { "app", "role" };
	static const char *const app[] = { "x", "y" }, *const role[] = { "web", "db" };
	static const char *const *const vals[] = { app, role };
	size_t at = (size_t)snprintf(b, len,
				     "apiVersion: v1\nkind: Pod\nmetadata: {name: p%u, namespace: n%u, labels: ",
				     i, i % N_NS);

	at += labels(b + at, len - at, keys, vals, 2);
	at += (size_t)snprintf(b + at, len - at,
			       "}\nspec: {containers: [{name: c, ports: [{name: http, containerPort: %u}%s]}]}\n",
			       8080 + rnd(2), rnd(2) ? ", {name: dns, containerPort: 53, protocol: UDP}" : "");
	snprintf(b + at, len - at, "status: {podIP: 10.%u.%u.%u}\n", rnd(4) ? 1 : 2, i % N_NS, i + 1);
}

static void
netdev_yaml(char *b, size_t len, unsigned int i)
{
	unsigned int p = rnd(N_POD);

	snprintf(b, len,
		 "apiVersion: kdpu.io/v1alpha1\nkind: Netdev\nmetadata: {name: d%u}\n"
		 "spec: {pciAddress: p%u, vpc: vpcs/v, mac: '02:00:00:00:00:0%u', ips: [10.%u.%u.%u],"
		 " pod: namespaces/n%u/pods/p%u}\n",
		 i, i + 1, i + 1, rnd(3) ? 1 : 3, p % N_NS, p + 1, p % N_NS, p);
}

static const char *
peer(void)
{
	static const char *const p[] = {
		"{podSelector: {matchLabels: {app: y}}}",
		"{podSelector: {}}",
		"{namespaceSelector: {matchLabels: {team: a}}}",
		"{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {role: web}}}",
		"{namespaceSelector: {}}",
		"{namespaceSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}}",
		"{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.2.0/24, 10.1.0.5/32]}}",
		"{ipBlock: {cidr: 10.2.0.0/16}}",
	};

	return p[rnd(RTE_DIM(p))];
}

static const char *
port(void)
{
	static const char *const p[] = {
		"{protocol: TCP, port: 80}",
		"{protocol: TCP, port: 8000, endPort: 8100}",
		"{protocol: TCP, port: http}",
		"{protocol: UDP, port: dns}",
		"{protocol: UDP}",
	};

	return p[rnd(RTE_DIM(p))];
}

static size_t
rules(char *b, size_t len, const char *dir, const char *who)
{
	unsigned int n = rnd(3), i, k, np, nq;
	size_t at = 0;

	if (n == 0)
		return 0;
	at += (size_t)snprintf(b + at, len - at, "  %s:\n", dir);
	for (i = 0; i < n; i++) {
		np = rnd(3);
		nq = rnd(3);
		at += (size_t)snprintf(b + at, len - at, "  - {");
		if (np != 0) {
			at += (size_t)snprintf(b + at, len - at, "%s: [", who);
			for (k = 0; k < np; k++)
				at += (size_t)snprintf(b + at, len - at, "%s%s", k ? ", " : "", peer());
			at += (size_t)snprintf(b + at, len - at, "]%s", nq ? ", " : "");
		}
		if (nq != 0) {
			at += (size_t)snprintf(b + at, len - at, "ports: [");
			for (k = 0; k < nq; k++)
				at += (size_t)snprintf(b + at, len - at, "%s%s", k ? ", " : "", port());
			at += (size_t)snprintf(b + at, len - at, "]");
		}
		at += (size_t)snprintf(b + at, len - at, "}\n");
	}
	return at;
}

static void
policy_yaml(char *b, size_t len, unsigned int i)
{
	static const char *const sel[] = { "{matchLabels: {app: x}}", "{}",
					   "{matchExpressions: [{key: role, operator: Exists}]}" };
	static const char *const types[] = { "", "  policyTypes: [Ingress]\n",
					     "  policyTypes: [Egress]\n",
					     "  policyTypes: [Ingress, Egress]\n" };
	size_t at = (size_t)snprintf(b, len,
				     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				     "metadata: {name: pol%u, namespace: n%u}\nspec:\n  podSelector: %s\n%s",
				     i, rnd(N_NS), sel[rnd(RTE_DIM(sel))], types[rnd(RTE_DIM(types))]);

	at += rules(b + at, len - at, "ingress", "from");
	rules(b + at, len - at, "egress", "to");
}

struct world {
	struct kd_store s;
	struct kd_store_change ch[4];
	ProtobufCMessage *dead[4];
	size_t n;
};

/* One random create, update or delete into the store, recorded as a change. */
static void
random_change(struct world *w)
{
	static const enum kd_kind_id kinds[] = { KD_KIND_NAMESPACE, KD_KIND_POD, KD_KIND_POD,
						 KD_KIND_NETDEV, KD_KIND_NETWORKPOLICY,
						 KD_KIND_NETWORKPOLICY };
	enum kd_kind_id k = kinds[rnd(RTE_DIM(kinds))];
	unsigned int i = rnd(k == KD_KIND_NAMESPACE ? N_NS : k == KD_KIND_POD ? N_POD :
			     k == KD_KIND_NETDEV ? N_ND : N_POL);
	struct kd_store_change *c = &w->ch[w->n];
	char yaml[8192], name[384];
	struct kd_manifest_obj o;
	ProtobufCMessage *old = NULL;

	if (rnd(5) == 0) {
		static const char *const fmt[] = {
			[KD_KIND_NAMESPACE] = "namespaces/n%u", [KD_KIND_POD] = "namespaces/n%u/pods/p%u",
			[KD_KIND_NETDEV] = "netdevs/d%u",
		};

		if (k == KD_KIND_NETWORKPOLICY) {
			size_t j;

			/* A policy's namespace is random: find it by its name's tail. */
			for (j = 0; j < w->s.kind[k].n; j++) {
				snprintf(name, sizeof(name), "/pol%u", i);
				if (strstr(kd_store_name(w->s.kind[k].obj[j]), name) != NULL &&
				    strlen(strstr(kd_store_name(w->s.kind[k].obj[j]), name)) == strlen(name))
					break;
			}
			if (j == w->s.kind[k].n)
				return;
			snprintf(name, sizeof(name), "%s", kd_store_name(w->s.kind[k].obj[j]));
		} else if (k == KD_KIND_POD) {
			snprintf(name, sizeof(name), fmt[k], i % N_NS, i);
		} else {
			snprintf(name, sizeof(name), fmt[k], i);
		}
		old = kd_store_del(&w->s, k, name);
		if (old == NULL)
			return;
		*c = (struct kd_store_change){ .kind = k, .old = old, .cur = NULL };
		w->dead[w->n++] = old;
		return;
	}
	if (k == KD_KIND_NAMESPACE)
		namespace_yaml(yaml, sizeof(yaml), i);
	else if (k == KD_KIND_POD)
		pod_yaml(yaml, sizeof(yaml), i);
	else if (k == KD_KIND_NETDEV)
		netdev_yaml(yaml, sizeof(yaml), i);
	else
		policy_yaml(yaml, sizeof(yaml), i);
	o = object(yaml);
	if (k == KD_KIND_NETWORKPOLICY) {
		size_t j;

		/* A policy that moves namespace is another object: the old one goes. */
		for (j = 0; j < w->s.kind[k].n; j++) {
			const char *nm = kd_store_name(w->s.kind[k].obj[j]);

			snprintf(name, sizeof(name), "/pol%u", i);
			if (strstr(nm, name) != NULL && strlen(strstr(nm, name)) == strlen(name) &&
			    strcmp(nm, kd_store_name(o.msg)) != 0 && w->n < 3) {
				snprintf(name, sizeof(name), "%s", nm);
				old = kd_store_del(&w->s, k, name);
				w->ch[w->n] = (struct kd_store_change){ .kind = k, .old = old };
				w->dead[w->n++] = old;
				c = &w->ch[w->n];
				break;
			}
		}
	}
	assert_int_equal(kd_store_put(&w->s, k, o.msg, &old), 0);
	*c = (struct kd_store_change){ .kind = k, .old = old, .cur = o.msg };
	w->dead[w->n++] = old;
}

/* ---------------------------------------------------------------- comparison */

struct tuple {
	struct kd_pol_key k;
	char name[128];
	uint16_t lo, hi;
	uint8_t proto;
	uint32_t count;
	uint32_t id;		/* not compared: ids differ between compilers */
};

struct tuples {
	struct tuple v[8192];
	size_t n;
	const struct kd_policy *p;
};

static void
collect(const struct kd_pol_key *k, const struct kd_pol_entry *e, uint32_t count, void *arg)
{
	struct tuples *t = arg;
	struct tuple *x;

	assert_true(t->n < RTE_DIM(t->v));
	x = &t->v[t->n++];
	memset(x, 0, sizeof(*x));
	x->k = *k;
	snprintf(x->name, sizeof(x->name), "%s", kd_policy_name(t->p, e->id));
	x->lo = e->lo;
	x->hi = e->hi;
	x->proto = e->proto;
	x->count = count;
	x->id = e->id;
}

static int
tuple_cmp(const void *a, const void *b)
{
	const struct tuple *x = a, *y = b;
	int c = memcmp(&x->k, &y->k, sizeof(x->k));

	if (c == 0)
		c = strcmp(x->name, y->name);
	if (c == 0)
		c = memcmp(&x->lo, &y->lo, offsetof(struct tuple, count) - offsetof(struct tuple, lo));
	return c;
}

static struct tuples *
tuples_of(const struct kd_translate_policy *pc, const struct kd_policy *p)
{
	struct tuples *t = calloc(1, sizeof(*t));

	t->p = p;
	kd_translate_policy_walk(pc, p, collect, t);
	qsort(t->v, t->n, sizeof(t->v[0]), tuple_cmp);
	return t;
}

/* The published classifier holds exactly the projection of the counted tuples. */
static void
check_published(const struct kd_policy *p, const struct tuples *t)
{
	struct kd_pol_entry e[256];
	uint32_t keys = 0;
	size_t i, j, n;

	for (i = 0; i < t->n; i = j) {
		const struct kd_pol_set *s = kd_pol_cls_get(p->cls, &t->v[i].k);
		struct kd_pol_set *want;

		n = 0;
		for (j = i; j < t->n && memcmp(&t->v[j].k, &t->v[i].k, sizeof(t->v[i].k)) == 0; j++) {
			assert_true(n < RTE_DIM(e));
			e[n++] = (struct kd_pol_entry){ .id = t->v[j].id, .lo = t->v[j].lo,
							.hi = t->v[j].hi, .proto = t->v[j].proto };
		}
		keys++;
		assert_non_null(s);
		want = kd_pol_set_new(e, (uint32_t)n);
		assert_int_equal(s->n, want->n);
		assert_memory_equal(s->e, want->e, want->n * sizeof(want->e[0]));
		free(want);
		assert_true(p->lens[t->v[i].k.port][t->v[i].k.dir] & (1ull << t->v[i].k.plen));
	}
	assert_int_equal(kd_pol_cls_count(p->cls), keys);
}

static void
same_isolating(const struct kd_policy *a, const struct kd_policy *b, unsigned int port,
	       unsigned int d)
{
	uint32_t i, j;

	assert_int_equal(a->n_isolating[port][d], b->n_isolating[port][d]);
	for (i = 0; i < a->n_isolating[port][d]; i++) {
		const char *n = kd_policy_name(a, a->isolating[port][d][i]);

		for (j = 0; j < b->n_isolating[port][d]; j++)
			if (strcmp(kd_policy_name(b, b->isolating[port][d][j]), n) == 0)
				break;
		assert_true(j < b->n_isolating[port][d]);
	}
}

static uint32_t
verdict(const struct kd_policy *p, uint16_t port, enum kd_pol_dir d, uint8_t proto, uint32_t ip,
	uint16_t dport)
{
	uint32_t v = kd_policy_check(p, port, d, proto, rte_cpu_to_be_32(ip), rte_cpu_to_be_16(dport));

	return v == KD_POL_OPEN || v == KD_POL_DENY ? v : 1;
}

static void
compare(const struct kd_translate_policy *pc, const struct kd_policy *live, const struct kd_store *s)
{
	static const uint16_t dports[] = { 53, 80, 8050, 8080, 8081, 8100, 9999 };
	struct kd_translate_policy *full = kd_translate_policy_create(&cfg, port_ids);
	struct kd_policy *ref;
	struct tuples *a, *b;
	struct kd_err e;
	unsigned int port, d, i;
	size_t k;

	ref = kd_translate_policy_build(full, s, NULL, 0, &e);
	if (ref == NULL)
		fail_msg("full build: %s", e.msg);
	a = tuples_of(pc, live);
	b = tuples_of(full, ref);
	assert_int_equal(a->n, b->n);
	for (k = 0; k < a->n; k++)
		if (tuple_cmp(&a->v[k], &b->v[k]) != 0 || a->v[k].count != b->v[k].count)
			fail_msg("tuple %zu: port %u dir %u %08x/%u %s %u-%u/%u x%u, full build: "
				 "port %u dir %u %08x/%u %s %u-%u/%u x%u", k, a->v[k].k.port,
				 a->v[k].k.dir, a->v[k].k.net, a->v[k].k.plen, a->v[k].name,
				 a->v[k].lo, a->v[k].hi, a->v[k].proto, a->v[k].count,
				 b->v[k].k.port, b->v[k].k.dir, b->v[k].k.net, b->v[k].k.plen,
				 b->v[k].name, b->v[k].lo, b->v[k].hi, b->v[k].proto, b->v[k].count);
	check_published(live, a);
	for (port = 0; port < 4; port++) {
		assert_int_equal(live->isolated[port], ref->isolated[port]);
		for (d = 0; d < 2; d++) {
			assert_int_equal(live->lens[port][d], ref->lens[port][d]);
			same_isolating(live, ref, port, d);
		}
	}
	for (i = 0; i < 300; i++) {
		uint16_t p = (uint16_t)(1 + rnd(3));
		enum kd_pol_dir dir = rnd(2) ? KD_POL_INGRESS : KD_POL_EGRESS;
		uint8_t proto = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
		uint32_t ip = (10u << 24) | ((1 + rnd(3)) << 16) | (rnd(4) << 8) | (1 + rnd(N_POD + 2));
		uint16_t dport = dports[rnd(RTE_DIM(dports))];

		assert_int_equal(verdict(live, p, dir, proto, ip, dport),
				 verdict(ref, p, dir, proto, ip, dport));
	}
	free(a);
	free(b);
	kd_translate_policy_discard(full, ref);
	kd_translate_policy_free(full);
}

static void
publish(struct kd_translate_policy *pc, struct kd_policy *p)
{
	void *old = kd_translate_policy_apply(pc, p);

	kd_tables_wait();
	kd_translate_policy_retire(pc, old);
}

static void
churn(unsigned int s0, unsigned int steps)
{
	struct kd_translate_policy *pc = kd_translate_policy_create(&cfg, port_ids);
	struct world w;
	struct kd_policy *p;
	struct kd_err e;
	unsigned int step, n, i;

	memset(&w, 0, sizeof(w));
	seed = s0;
	p = kd_translate_policy_build(pc, &w.s, NULL, 0, &e);
	assert_non_null(p);
	publish(pc, p);
	for (step = 0; step < steps; step++) {
		w.n = 0;
		n = 1 + rnd(4);
		while (w.n < n && w.n < 3)
			random_change(&w);
		if (w.n == 0)
			continue;
		p = kd_translate_policy_build(pc, &w.s, w.ch, w.n, &e);
		if (p == NULL)
			fail_msg("step %u: %s", step, e.msg);
		publish(pc, p);
		for (i = 0; i < w.n; i++)
			if (w.dead[i] != NULL)
				protobuf_c_message_free_unpacked(w.dead[i], NULL);
		if (step % 7 == 6 || step + 1 == steps)
			compare(pc, kd_policy_get(), &w.s);
	}
	kd_translate_policy_free(pc);
	__atomic_store_n(&kd_policy_live, NULL, __ATOMIC_RELEASE);
	kd_store_free(&w.s);
}

static void
test_churn_seed_1(void **state)
{
	(void)state;
	churn(1, 400);
}

static void
test_churn_seed_2(void **state)
{
	(void)state;
	churn(2, 400);
}

static void
test_churn_seed_3(void **state)
{
	(void)state;
	churn(3, 400);
}

/*
 * A change past policy.max_prefixes is refused and publishes nothing; once
 * the store is back as it was, the next change starts the world over and
 * agrees with a full build again.
 */
static void
test_full_classifier_refuses_and_recovers(void **state)
{
	struct kd_config small = cfg;
	struct kd_translate_policy *pc;
	struct kd_policy *p;
	const struct kd_policy *live;
	struct kd_store s;
	struct kd_store_change ch;
	struct kd_manifest_obj o;
	ProtobufCMessage *old = NULL;
	struct kd_err e;
	char yaml[1024];
	unsigned int i;

	(void)state;
	small.pol_max_prefixes = 6;
	memset(&s, 0, sizeof(s));
	pc = kd_translate_policy_create(&small, port_ids);
	/* A local pod on port 1, isolated by one policy admitting 4 /32s. */
	o = object("apiVersion: v1\nkind: Pod\nmetadata: {name: p0, namespace: n0, labels: {app: x}}\n"
		   "status: {podIP: 10.1.0.1}\n");
	assert_int_equal(kd_store_put(&s, KD_KIND_POD, o.msg, &old), 0);
	o = object("apiVersion: kdpu.io/v1alpha1\nkind: Netdev\nmetadata: {name: d0}\n"
		   "spec: {pciAddress: p1, vpc: vpcs/v, mac: '02:00:00:00:00:01', ips: [10.1.0.1],"
		   " pod: namespaces/n0/pods/p0}\n");
	assert_int_equal(kd_store_put(&s, KD_KIND_NETDEV, o.msg, &old), 0);
	p = kd_translate_policy_build(pc, &s, NULL, 0, &e);
	assert_non_null(p);
	publish(pc, p);
	for (i = 0; i < 2; i++) {
		snprintf(yaml, sizeof(yaml),
			 "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			 "metadata: {name: pol%u, namespace: n0}\nspec:\n  podSelector: {}\n"
			 "  ingress:\n  - from: [{ipBlock: {cidr: 10.9.%u.1/32}}, {ipBlock: {cidr: 10.9.%u.2/32}},"
			 " {ipBlock: {cidr: 10.9.%u.3/32}}, {ipBlock: {cidr: 10.9.%u.4/32}}]\n", i, i, i, i, i);
		o = object(yaml);
		assert_int_equal(kd_store_put(&s, KD_KIND_NETWORKPOLICY, o.msg, &old), 0);
		ch = (struct kd_store_change){ .kind = KD_KIND_NETWORKPOLICY, .cur = o.msg };
		live = kd_policy_get();
		p = kd_translate_policy_build(pc, &s, &ch, 1, &e);
		if (i == 0) {
			assert_non_null(p);
			publish(pc, p);
			continue;
		}
		/* Eight keys do not fit six: refused, nothing published. */
		assert_null(p);
		assert_int_equal(e.code, KD_RESOURCE_EXHAUSTED);
		assert_non_null(strstr(e.msg, "policy.max_prefixes 6"));
		assert_ptr_equal(kd_policy_get(), live);
		assert_int_equal(kd_pol_cls_count(live->cls), 4);
		assert_int_equal(verdict(live, 1, KD_POL_INGRESS, IPPROTO_TCP, 0x0a090101, 80), 0);
		assert_int_equal(verdict(live, 1, KD_POL_INGRESS, IPPROTO_TCP, 0x0a090001, 80), 1);
		assert_int_equal(verdict(live, 1, KD_POL_INGRESS, IPPROTO_TCP, 0x0a090002, 80), 1);
		/* The API engine would put the store back as it was. */
		protobuf_c_message_free_unpacked(kd_store_del(&s, KD_KIND_NETWORKPOLICY,
							      kd_store_name(o.msg)), NULL);
	}
	/* The next change starts over from the store, and is right. */
	o = object("apiVersion: v1\nkind: Namespace\nmetadata: {name: n0, labels: {team: a}}\n");
	assert_int_equal(kd_store_put(&s, KD_KIND_NAMESPACE, o.msg, &old), 0);
	ch = (struct kd_store_change){ .kind = KD_KIND_NAMESPACE, .cur = o.msg };
	p = kd_translate_policy_build(pc, &s, &ch, 1, &e);
	assert_non_null(p);
	publish(pc, p);
	compare(pc, kd_policy_get(), &s);
	assert_int_equal(verdict(kd_policy_get(), 1, KD_POL_INGRESS, IPPROTO_TCP, 0x0a090101, 80), 0);
	assert_int_equal(verdict(kd_policy_get(), 1, KD_POL_INGRESS, IPPROTO_TCP, 0x0a090001, 80), 1);
	kd_translate_policy_free(pc);
	__atomic_store_n(&kd_policy_live, NULL, __ATOMIC_RELEASE);
	kd_store_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn_seed_1),
		cmocka_unit_test(test_churn_seed_2),
		cmocka_unit_test(test_churn_seed_3),
		cmocka_unit_test(test_full_classifier_refuses_and_recovers),
	};

	return cmocka_run_group_tests(tests, setup, kd_test_teardown);
}
