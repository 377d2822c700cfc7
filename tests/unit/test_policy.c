/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NetworkPolicy compiler on a --no-huge EAL: manifests in, kd_policy_check
 * verdicts out, for selector, namespace, ipBlock and port semantics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "control/api.h"
#include "control/policy_ids.h"
#include "control/config.h"
#include "cli/manifest.h"
#include "control/translate_policy.h"
#include "dataplane/tables.h"
#include "tests/unit/fixture.h"

static struct kd_config cfg;
static const uint16_t port_ids[3] = { 0, 1, 2 };

/* Pods: a (port 1) and b (port 2) in ns "web", x in ns "db", r elsewhere. */
static const char base_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {team: web}}\n---\n"
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: db, labels: {team: db}}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: web, labels: {app: a, tier: fe}}\n"
	"spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n"
	"status: {podIP: 10.0.0.1}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: web, labels: {app: b}}\n"
	"spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090},"
	" {name: dns, containerPort: 53, protocol: UDP}]}]}\n"
	"status: {podIP: 10.0.0.2}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: db, labels: {app: x, tier: fe}}\n"
	"status: {podIP: 10.0.1.5}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: r, namespace: db, labels: {app: r}}\n"
	"spec: {containers: [{name: c, ports: [{name: http, containerPort: 7070}]}]}\n"
	"status: {podIP: 10.9.0.7}\n---\n"
	"apiVersion: kdpu.io/v1alpha1\nkind: Vpc\nmetadata: {name: v}\n"
	"spec: {vni: 5, gatewayIp: 10.0.0.254}\n---\n"
	"apiVersion: kdpu.io/v1alpha1\nkind: Netdev\nmetadata: {name: a}\n"
	"spec: {pciAddress: p1, vpc: vpcs/v, mac: '02:00:00:00:00:01', ips: [10.0.0.1],"
	" pod: namespaces/web/pods/a}\n---\n"
	"apiVersion: kdpu.io/v1alpha1\nkind: Netdev\nmetadata: {name: b}\n"
	"spec: {pciAddress: p2, vpc: vpcs/v, mac: '02:00:00:00:00:02', ips: [10.0.0.2],"
	" pod: namespaces/web/pods/b}\n";

static int
setup(void **state)
{
	(void)state;
	if (kd_test_eal("test_policy", "256") != 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.n_ports = 3;
	cfg.pol_max_prefixes = 65536;
	cfg.ports[0].role = KD_CFG_ROLE_UPLINK;
	cfg.ports[1].role = KD_CFG_ROLE_VNIC;
	snprintf(cfg.ports[1].pci, sizeof(cfg.ports[1].pci), "p1");
	cfg.ports[2].role = KD_CFG_ROLE_VNIC;
	snprintf(cfg.ports[2].pci, sizeof(cfg.ports[2].pci), "p2");
	inet_pton(AF_INET, "192.168.0.1", &cfg.vtep_ip);
	return 0;
}

/* Objects of a YAML text into the API's store, as kdpuctl apply would. */
static void
apply(struct kd_api *api, const char *yaml)
{
	struct kd_manifest m = { 0 };
	struct kd_err e;
	size_t i;

	kd_test_manifest(&m, yaml);
	kd_manifest_sort(&m, false);
	for (i = 0; i < m.n; i++) {
		ProtobufCMessage *obj = m.obj[i].msg;

		m.obj[i].msg = NULL;
		if (kd_api_create(api, m.obj[i].kind, obj, &e) != KD_OK)
			fail_msg("%s: %s", m.obj[i].where, e.msg);
	}
	kd_manifest_free(&m);
}

struct fx {
	struct kd_api api;
	struct kd_translate_policy *pc;
	struct kd_policy *p;
};

static void
compile(struct fx *f, const char *policies)
{
	struct kd_err e;

	kd_api_init(&f->api);
	f->api.cfg = &cfg;
	f->api.port_ids = port_ids;
	apply(&f->api, base_yaml);
	if (policies != NULL)
		apply(&f->api, policies);
	f->pc = kd_translate_policy_create(&cfg, port_ids);
	f->p = kd_translate_policy_build(f->pc, &f->api.store, NULL, 0, &e);
	if (f->p == NULL)
		fail_msg("%s", e.msg);
}

static void
done(struct fx *f)
{
	kd_translate_policy_discard(f->pc, f->p);
	kd_translate_policy_free(f->pc);
	kd_api_fini(&f->api);
}

static uint32_t
check(const struct fx *f, uint16_t port, enum kd_pol_dir dir, uint8_t proto, const char *peer,
      uint16_t dport)
{
	rte_be32_t ip;

	inet_pton(AF_INET, peer, &ip);
	return kd_policy_check(f->p, port, dir, proto, ip, rte_cpu_to_be_16(dport));
}

#define IN KD_POL_INGRESS
#define EG KD_POL_EGRESS
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static void
test_not_isolated_without_policies(void **state)
{
	struct fx f;

	(void)state;
	compile(&f, NULL);
	assert_int_equal(check(&f, 1, IN, TCP, "10.9.9.9", 1), KD_POL_OPEN);
	assert_int_equal(check(&f, 2, EG, UDP, "10.9.9.9", 1), KD_POL_OPEN);
	done(&f);
}

static void
test_pod_selector_and_isolation(void **state)
{
	struct fx f;

	(void)state;
	compile(&f, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: web}\n"
		    "spec: {podSelector: {matchLabels: {app: b}},\n"
		    "  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]}\n");
	/* b is isolated for ingress only; a is not isolated at all. */
	assert_true(f.p->isolated[2] == KD_POL_ISOLATED_IN);
	assert_int_equal(f.p->isolated[1], 0);
	assert_int_not_equal(check(&f, 2, IN, TCP, "10.0.0.1", 80), KD_POL_DENY);
	assert_int_not_equal(check(&f, 2, IN, TCP, "10.0.0.1", 80), KD_POL_OPEN);
	/* Same labels in another namespace do not count without a namespaceSelector. */
	assert_int_equal(check(&f, 2, IN, TCP, "10.0.1.5", 80), KD_POL_DENY);
	assert_int_equal(check(&f, 2, EG, TCP, "10.0.1.5", 80), KD_POL_OPEN);
	/* The node itself (VTEP, VPC gateway) always gets in. */
	assert_int_equal(check(&f, 2, IN, TCP, "192.168.0.1", 80), KD_POL_OPEN);
	assert_int_equal(check(&f, 2, IN, TCP, "10.0.0.254", 80), KD_POL_OPEN);
	done(&f);
}

static void
test_namespace_selector_and_both(void **state)
{
	struct fx f;

	(void)state;
	compile(&f, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: web}\n"
		    "spec: {podSelector: {},\n"
		    "  ingress: [{from: [{namespaceSelector: {matchLabels: {team: db}},\n"
		    "                     podSelector: {matchLabels: {tier: fe}}}]}]}\n");
	assert_int_not_equal(check(&f, 1, IN, TCP, "10.0.1.5", 1), KD_POL_DENY);	/* x */
	assert_int_equal(check(&f, 1, IN, TCP, "10.9.0.7", 1), KD_POL_DENY);	/* r: no tier */
	assert_int_equal(check(&f, 1, IN, TCP, "10.0.0.1", 1), KD_POL_DENY);	/* a: wrong ns */
	done(&f);
}

static void
test_match_expressions(void **state)
{
	struct fx f;

	(void)state;
	compile(&f, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: web}\n"
		    "spec: {podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]},\n"
		    "  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchExpressions:\n"
		    "    [{key: app, operator: NotIn, values: [x]}, {key: tier, operator: Exists}]}}]}]}\n");
	/* Selects b (no tier), not a (tier=fe). */
	assert_int_equal(f.p->isolated[1], 0);
	assert_int_equal(f.p->isolated[2], KD_POL_ISOLATED_IN);
	assert_int_not_equal(check(&f, 2, IN, UDP, "10.0.0.1", 5), KD_POL_DENY);	/* a */
	assert_int_equal(check(&f, 2, IN, UDP, "10.0.1.5", 5), KD_POL_DENY);	/* x: NotIn */
	assert_int_equal(check(&f, 2, IN, UDP, "10.9.0.7", 5), KD_POL_DENY);	/* r: no tier */
	done(&f);
}

static void
test_ip_block_except(void **state)
{
	struct fx f;

	(void)state;
	compile(&f, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: web}\n"
		    "spec: {podSelector: {matchLabels: {app: a}}, policyTypes: [Egress],\n"
		    "  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.1.0/24, 10.9.0.7/32]}}]}]}\n");
	assert_int_equal(f.p->isolated[1], KD_POL_ISOLATED_EG);
	assert_int_not_equal(check(&f, 1, EG, TCP, "10.0.0.2", 1), KD_POL_DENY);
	assert_int_not_equal(check(&f, 1, EG, TCP, "10.200.3.4", 1), KD_POL_DENY);
	assert_int_equal(check(&f, 1, EG, TCP, "10.0.1.5", 1), KD_POL_DENY);
	assert_int_equal(check(&f, 1, EG, TCP, "10.9.0.7", 1), KD_POL_DENY);
	assert_int_not_equal(check(&f, 1, EG, TCP, "10.9.0.8", 1), KD_POL_DENY);
	assert_int_equal(check(&f, 1, EG, TCP, "11.0.0.1", 1), KD_POL_DENY);
	done(&f);
}

static void
test_ports_named_numeric_range(void **state)
{
	struct fx f;

	(void)state;
	compile(&f, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: web}\n"
		    "spec: {podSelector: {}, policyTypes: [Ingress, Egress],\n"
		    "  ingress: [{ports: [{port: http}, {protocol: UDP, port: 5000, endPort: 5010}]}],\n"
		    "  egress: [{ports: [{port: http}]}]}\n");
	/* Named ingress ports resolve on the receiving pod: 8080 on a, 9090 on b. */
	assert_int_not_equal(check(&f, 1, IN, TCP, "1.2.3.4", 8080), KD_POL_DENY);
	assert_int_equal(check(&f, 1, IN, TCP, "1.2.3.4", 9090), KD_POL_DENY);
	assert_int_not_equal(check(&f, 2, IN, TCP, "1.2.3.4", 9090), KD_POL_DENY);
	assert_int_equal(check(&f, 2, IN, UDP, "1.2.3.4", 9090), KD_POL_DENY);
	assert_int_not_equal(check(&f, 2, IN, UDP, "1.2.3.4", 5010), KD_POL_DENY);
	assert_int_equal(check(&f, 2, IN, UDP, "1.2.3.4", 5011), KD_POL_DENY);
	assert_int_equal(check(&f, 2, IN, TCP, "1.2.3.4", 5005), KD_POL_DENY);
	/* Named egress ports resolve on each destination pod: r's http is 7070. */
	assert_int_not_equal(check(&f, 1, EG, TCP, "10.9.0.7", 7070), KD_POL_DENY);
	assert_int_not_equal(check(&f, 1, EG, TCP, "10.0.0.2", 9090), KD_POL_DENY);
	assert_int_equal(check(&f, 1, EG, TCP, "10.0.0.2", 7070), KD_POL_DENY);
	assert_int_equal(check(&f, 1, EG, TCP, "8.8.8.8", 7070), KD_POL_DENY);
	done(&f);
}

static void
test_additive_and_policy_ids(void **state)
{
	struct fx f;
	uint32_t id1, id2;

	(void)state;
	compile(&f, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: one, namespace: web}\n"
		    "spec: {podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: 1}]}]}\n"
		    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: two, namespace: web}\n"
		    "spec: {podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: 2}]}]}\n"
		    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: none, namespace: web}\n"
		    "spec: {podSelector: {matchLabels: {app: b}}, ingress: []}\n");
	id1 = check(&f, 1, IN, TCP, "1.1.1.1", 1);
	id2 = check(&f, 1, IN, TCP, "1.1.1.1", 2);
	assert_true(id1 != KD_POL_DENY && id2 != KD_POL_DENY && id1 != id2);
	assert_string_equal(kd_policy_name(f.p, id1), "web/one");
	assert_string_equal(kd_policy_name(f.p, id2), "web/two");
	assert_int_equal(check(&f, 1, IN, TCP, "1.1.1.1", 3), KD_POL_DENY);
	/* An isolating policy with no rules allows nothing. */
	assert_int_equal(check(&f, 2, IN, TCP, "10.0.0.1", 1), KD_POL_DENY);
	done(&f);
}

/* The API server's label: set on a Namespace without it, refused when it lies. */
static void
test_namespace_name_label(void **state)
{
	static const char lie[] = "apiVersion: v1\nkind: Namespace\n"
				  "metadata: {name: ops, labels: {kubernetes.io/metadata.name: web}}\n";
	const PB(Namespace) *ns;
	struct kd_manifest m = { 0 };
	struct kd_err e;
	struct fx f;
	size_t i;

	(void)state;
	compile(&f, NULL);
	ns = (const PB(Namespace) *)kd_store_get(&f.api.store, KD_KIND_NAMESPACE, "namespaces/web");
	assert_non_null(ns);
	for (i = 0; i < ns->metadata->n_labels; i++)
		if (strcmp(ns->metadata->labels[i]->key, "kubernetes.io/metadata.name") == 0)
			break;
	assert_true(i < ns->metadata->n_labels);
	assert_string_equal(ns->metadata->labels[i]->value, "web");
	/* Its own labels are kept beside it. */
	assert_int_equal(ns->metadata->n_labels, 2);
	kd_test_manifest(&m, lie);
	assert_int_equal(m.n, 1);
	assert_int_equal(kd_api_create(&f.api, m.obj[0].kind, m.obj[0].msg, &e),
			 KD_INVALID_ARGUMENT);
	m.obj[0].msg = NULL;
	assert_non_null(strstr(e.msg, "namespace.metadata.labels[\"kubernetes.io/metadata.name\"]"));
	assert_null(kd_store_get(&f.api.store, KD_KIND_NAMESPACE, "namespaces/ops"));
	kd_manifest_free(&m);
	done(&f);
}

/*
 * Namespaces selected by kubernetes.io/metadata.name, as in a real cluster:
 * pod b (port 2) admits from the namespaces sel picks; peers a (ns web),
 * x (ns db) and q (ns lone, which has no Namespace object).
 */
static void
by_namespace_name(const char *sel, bool a, bool x, bool q)
{
	char yaml[1024];
	struct fx f;

	snprintf(yaml, sizeof(yaml),
		 "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: lone}\n"
		 "status: {podIP: 10.0.2.9}\n---\n"
		 "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		 "metadata: {name: p, namespace: web}\n"
		 "spec: {podSelector: {matchLabels: {app: b}},\n"
		 "  ingress: [{from: [{namespaceSelector: %s}]}]}\n", sel);
	compile(&f, yaml);
	assert_int_equal(f.p->isolated[2], KD_POL_ISOLATED_IN);
	assert_int_equal(check(&f, 2, IN, TCP, "10.0.0.1", 80) != KD_POL_DENY, a);
	assert_int_equal(check(&f, 2, IN, TCP, "10.0.1.5", 80) != KD_POL_DENY, x);
	assert_int_equal(check(&f, 2, IN, TCP, "10.0.2.9", 80) != KD_POL_DENY, q);
	done(&f);
}

static void
test_namespace_selected_by_name(void **state)
{
	(void)state;
	by_namespace_name("{matchLabels: {kubernetes.io/metadata.name: db}}", false, true, false);
	by_namespace_name("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In,"
			  " values: [db, lone]}]}", false, true, true);
	by_namespace_name("{matchExpressions: [{key: kubernetes.io/metadata.name,"
			  " operator: NotIn, values: [db]}]}", true, false, true);
	by_namespace_name("{matchExpressions: [{key: kubernetes.io/metadata.name,"
			  " operator: Exists}]}", true, true, true);
	by_namespace_name("{matchExpressions: [{key: kubernetes.io/metadata.name,"
			  " operator: DoesNotExist}]}", false, false, false);
}

/* Ids stay with their policy, and freed ones are taken again lowest first. */
static void
test_policy_ids_reuse_lowest(void **state)
{
	struct kd_policy_ids t = { 0 };
	uint8_t seen[20001];
	char name[32];
	bool fresh;
	uint32_t i;

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "ns/p%u", i);
		assert_int_equal(kd_policy_ids_get(&t, name, 65536, seen, &fresh), i + 1);
		assert_true(fresh);
	}
	/* The next build: every policy but p5, p7 and p19999. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 20000; i++) {
		if (i == 5 || i == 7 || i == 19999)
			continue;
		snprintf(name, sizeof(name), "ns/p%u", i);
		assert_int_equal(kd_policy_ids_get(&t, name, 65536, seen, &fresh), i + 1);
		assert_false(fresh);
	}
	kd_policy_ids_sweep(&t, seen);
	assert_string_equal(t.name[5], "");
	assert_int_equal(kd_policy_ids_get(&t, "ns/new1", 65536, seen, &fresh), 6);
	assert_int_equal(kd_policy_ids_get(&t, "ns/new2", 65536, seen, &fresh), 8);
	assert_int_equal(kd_policy_ids_get(&t, "ns/new3", 65536, seen, &fresh), 20000);
	assert_int_equal(kd_policy_ids_get(&t, "ns/new4", 65536, seen, &fresh), 20001);
	assert_int_equal(kd_policy_ids_get(&t, "ns/new1", 65536, seen, &fresh), 6);
	assert_false(fresh);
	/* Out of ids. */
	assert_int_equal(kd_policy_ids_get(&t, "ns/over", 20001, seen, &fresh), 0);
	kd_policy_ids_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_isolated_without_policies),
		cmocka_unit_test(test_pod_selector_and_isolation),
		cmocka_unit_test(test_namespace_selector_and_both),
		cmocka_unit_test(test_match_expressions),
		cmocka_unit_test(test_ip_block_except),
		cmocka_unit_test(test_ports_named_numeric_range),
		cmocka_unit_test(test_additive_and_policy_ids),
		cmocka_unit_test(test_policy_ids_reuse_lowest),
		cmocka_unit_test(test_namespace_name_label),
		cmocka_unit_test(test_namespace_selected_by_name),
	};

	return cmocka_run_group_tests(tests, setup, kd_test_teardown);
}
