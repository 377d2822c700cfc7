/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The incremental Service compiler against a full build. Random sequences of
 * creates, updates and deletes of Services and EndpointSlices, single and in
 * Batch transactions, go through the API engine (kd_api_call, as the gRPC
 * server calls it). After every step the live frontend index must be exactly
 * what a fresh compiler builds from the same store: the same keys, Services,
 * endpoints, pools and Maglev tables. Requests that must fail (a clusterIP
 * claimed twice, a bad field in a batch) must change nothing.
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
#include "control/api.h"
#include "control/config.h"
#include "control/publish.h"
#include "control/translate_service.h"
#include "dataplane/lb.h"
#include "dataplane/tables.h"
#include "proto/pb.h"
#include "tests/unit/fixture.h"

#define N_SVC 24
#define N_SLICE 40
#define N_IP 30		/* fewer clusterIPs than Services: claims collide */

static struct kd_config cfg;
static const uint16_t port_ids[2] = { 0, 1 };
static int
setup(void **state)
{
	(void)state;
	if (kd_test_eal("test_services", "512") != 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.svc_maglev_m = 251;
	cfg.svc_max_frontends = 4096;
	snprintf(cfg.node_name, sizeof(cfg.node_name), "node-a");
	inet_pton(AF_INET, "192.168.0.1", &cfg.vtep_ip);
	inet_pton(AF_INET, "169.254.42.1", &cfg.svc_hairpin_ip);
	return 0;
}

/* An upsert (Update with allow_missing) of o, packed, with its method in method. */
static uint8_t *
upsert(struct kd_manifest_obj *o, char *method, size_t mlen, size_t *len)
{
	const ProtobufCMessageDescriptor *d = o->kind->req[KD_VERB_UPDATE];
	ProtobufCMessage *req = calloc(1, d->sizeof_message);
	char name[384], **slot = kd_pb_string_field(o->msg, 1);
	uint8_t *buf;

	d->message_init(req);
	kd_kind_name_format(o->kind, o->ns, o->id, name, sizeof(name));
	*slot = strdup(name);
	*kd_pb_message_field(req, 1) = o->msg;
	*(protobuf_c_boolean *)((char *)req +
				protobuf_c_message_descriptor_get_field(d, 3)->offset) = 1;
	*len = protobuf_c_message_get_packed_size(req);
	buf = malloc(*len + 1);
	protobuf_c_message_pack(req, buf);
	kd_kind_method(o->kind, KD_VERB_UPDATE, method, mlen);
	protobuf_c_message_free_unpacked(req, NULL);
	return buf;
}

static uint8_t *
delete_req(enum kd_kind_id k, const char *id, char *method, size_t mlen, size_t *len)
{
	const struct kd_kind *kind = &kd_kinds[k];
	const ProtobufCMessageDescriptor *d = kind->req[KD_VERB_DELETE];
	ProtobufCMessage *req = calloc(1, d->sizeof_message);
	char name[384], **slot;
	uint8_t *buf;

	d->message_init(req);
	kd_kind_name_format(kind, "default", id, name, sizeof(name));
	slot = kd_pb_string_field(req, 1);
	*slot = strdup(name);
	*(protobuf_c_boolean *)((char *)req +
				protobuf_c_message_descriptor_get_field(d, 2)->offset) = 1;
	*len = protobuf_c_message_get_packed_size(req);
	buf = malloc(*len + 1);
	protobuf_c_message_pack(req, buf);
	kd_kind_method(kind, KD_VERB_DELETE, method, mlen);
	protobuf_c_message_free_unpacked(req, NULL);
	return buf;
}

static void
service_yaml(char *buf, size_t len, unsigned int i, bool bad)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "ClusterIP" };
	unsigned int ip = rnd(N_IP), t = rnd(3), np = rnd(2);

	snprintf(buf, len,
		 "apiVersion: v1\nkind: Service\nmetadata: {name: s%u, namespace: default}\n"
		 "spec:\n  type: %s\n  clusterIP: 10.96.0.%u\n"
		 "  externalTrafficPolicy: %s\n  internalTrafficPolicy: %s\n"
		 "  ports:\n  - {name: http, port: %u, protocol: TCP, targetPort: 8080%s}\n"
		 "%s",
		 i, types[t], ip + 1, rnd(2) ? "Local" : "Cluster", rnd(2) ? "Local" : "Cluster",
		 bad ? 70000 : 80, t == 1 ? ", nodePort: 30000" : "",
		 np ? "  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}\n" : "");
	if (t == 1) {
		/* Distinct nodePorts per Service, so that only clusterIPs collide. */
		char *at = strstr(buf, "nodePort: 30000");

		if (at != NULL)
			snprintf(at, len - (size_t)(at - buf), "nodePort: %u}\n%s", 30000 + i,
				 np ? "  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}\n" :
				      "");
	}
}

static void
slice_yaml(char *buf, size_t len, unsigned int i)
{
	unsigned int n = rnd(5), k;
	size_t at;

	at = (size_t)snprintf(buf, len,
			      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			      "metadata: {name: e%u, namespace: default, labels: "
			      "{kubernetes.io/service-name: s%u}}\naddressType: IPv4\n"
			      "ports: [{name: http, port: 8080, protocol: TCP}, "
			      "{name: dns, port: 5353, protocol: UDP}]\nendpoints:%s\n",
			      i, rnd(N_SVC), n == 0 ? " []" : "");
	for (k = 0; k < n && at < len; k++)
		at += (size_t)snprintf(buf + at, len - at,
				       "- addresses: [10.244.%u.%u]\n  nodeName: node-%c\n"
				       "  conditions: {ready: %s, serving: %s, terminating: %s}\n",
				       rnd(3), rnd(12) + 2, rnd(2) ? 'a' : 'b',
				       rnd(4) ? "true" : "false", rnd(3) ? "true" : "false",
				       rnd(4) ? "false" : "true");
}

/* One random operation: its method and packed request. */
static uint8_t *
random_op(char *method, size_t mlen, size_t *len, bool bad)
{
	char yaml[4096];
	struct kd_manifest_obj o;
	unsigned int what = rnd(10);

	if (what < 4 || bad) {
		service_yaml(yaml, sizeof(yaml), rnd(N_SVC), bad);
	} else if (what < 8) {
		slice_yaml(yaml, sizeof(yaml), rnd(N_SLICE));
	} else {
		char id[16];

		snprintf(id, sizeof(id), what == 8 ? "s%u" : "e%u", rnd(what == 8 ? N_SVC : N_SLICE));
		return delete_req(what == 8 ? KD_KIND_SERVICE : KD_KIND_ENDPOINTSLICE, id, method,
				  mlen, len);
	}
	o = kd_test_object(yaml);
	return upsert(&o, method, mlen, len);
}

/* A Batch of n random operations, the last one invalid when bad. */
static uint8_t *
random_batch(unsigned int n, bool bad, size_t *len)
{
	PB(BatchRequest) br = PB_C(BATCH_REQUEST__INIT);
	PB(BatchOperation) *ops = calloc(n, sizeof(*ops));
	PB(BatchOperation) **op = calloc(n, sizeof(*op));
	char methods[16][160];
	uint8_t *buf;
	unsigned int i;

	assert_true(n <= 16);
	for (i = 0; i < n; i++) {
		PB_FN(batch_operation__init)(&ops[i]);
		ops[i].request.data = random_op(methods[i], sizeof(methods[i]), &ops[i].request.len,
						bad && i == n - 1);
		ops[i].method = methods[i];
		op[i] = &ops[i];
	}
	br.n_operations = n;
	br.operations = op;
	*len = protobuf_c_message_get_packed_size(&br.base);
	buf = malloc(*len + 1);
	protobuf_c_message_pack(&br.base, buf);
	for (i = 0; i < n; i++)
		free(ops[i].request.data);
	free(ops);
	free(op);
	return buf;
}

/* The frontends of a compiler, in its order. */
struct list {
	const struct kd_lb_frontend *v[1024];
	unsigned int n;
};

static void
collect(const struct kd_lb_frontend *fe, void *arg)
{
	struct list *l = arg;

	assert_true(l->n < 1024);
	l->v[l->n++] = fe;
}

static void
same_pool(const struct kd_lb_pool *a, const struct kd_lb_pool *b)
{
	uint32_t i;

	assert_int_equal(a->m, b->m);
	assert_int_equal(a->empty, b->empty);
	assert_int_equal(a->snat, b->snat);
	for (i = 0; i < a->m; i++) {
		const struct kd_lb_backend *x = &a->be[a->maglev[i]], *y = &b->be[b->maglev[i]];

		assert_int_equal(x->ip, y->ip);
		assert_int_equal(x->port, y->port);
	}
}

static void
same_frontend(const struct kd_lb_frontend *a, const struct kd_lb_frontend *b)
{
	uint16_t i;

	assert_memory_equal(&a->key, &b->key, sizeof(a->key));
	assert_string_equal(a->svc, b->svc);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->affinity_s, b->affinity_s);
	assert_string_equal(a->port_name, b->port_name);
	assert_int_equal(a->n_ranges, b->n_ranges);
	assert_int_equal(a->n_backends, b->n_backends);
	for (i = 0; i < a->n_backends; i++)
		assert_memory_equal(&a->be[i], &b->be[i], sizeof(a->be[i]));
	same_pool(&a->pool[KD_LB_IN], &b->pool[KD_LB_IN]);
	if (a->flags & KD_LB_F_EXTERNAL)
		same_pool(&a->pool[KD_LB_EXT], &b->pool[KD_LB_EXT]);
}

/* The live index equals a full build of the store by a fresh compiler. */
static void
check_against_full_build(struct kd_api *api)
{
	struct kd_lb *live = kd_lb_live;
	struct kd_translate_service *fresh = kd_translate_service_create(&cfg, NULL);
	struct kd_translate_service_delta *d;
	static struct list a, b;
	struct kd_err e;
	unsigned int i;

	assert_non_null(fresh);
	d = kd_translate_service_build(fresh, &api->store, NULL, 0, &e);
	if (d == NULL)
		fail_msg("a full build of a store the API accepted failed: %s", e.msg);
	kd_translate_service_apply(fresh, d);
	kd_translate_service_retire(fresh, d);
	a.n = b.n = 0;
	kd_translate_service_walk(kd_publish_services(api->pub), NULL, collect, &a);
	kd_translate_service_walk(fresh, NULL, collect, &b);
	assert_int_equal(a.n, b.n);
	assert_int_equal(live->n_fe, a.n);
	for (i = 0; i < a.n; i++) {
		same_frontend(a.v[i], b.v[i]);
		/* What the workers find is what the compiler lists. */
		assert_ptr_equal(kd_lb_lookup(live, a.v[i]->key.ip, a.v[i]->key.port,
					      a.v[i]->key.proto), a.v[i]);
	}
	kd_translate_service_free(fresh);
	kd_lb_live = live;
}

static enum kd_status
call(struct kd_api *api, const char *method, const uint8_t *req, size_t len, struct kd_err *e)
{
	uint8_t *resp;
	size_t rlen;
	enum kd_status st = kd_api_call(api, method, req, len, &resp, &rlen, e);

	free(resp);
	return st;
}

static void
test_random_changes_match_full_build(void **state)
{
	struct kd_api api;
	unsigned int step, rejected = 0, applied = 0;

	(void)state;
	kd_api_init(&api);
	api.cfg = &cfg;
	api.port_ids = port_ids;
	api.pub = kd_publish_create(&cfg, port_ids, NULL);
	assert_non_null(api.pub);
	seed = 20261204;
	for (step = 0; step < 1500; step++) {
		struct kd_err e;
		char method[160];
		uint8_t *req;
		size_t len;
		enum kd_status st;
		bool batch = rnd(5) == 0, bad = rnd(8) == 0;

		if (batch)
			req = random_batch(2 + rnd(6), bad, &len);
		else
			req = random_op(method, sizeof(method), &len, bad);
		st = call(&api, batch ? "/" KD_API_SERVICE "/Batch" : method, req, len, &e);
		free(req);
		if (bad)
			assert_int_not_equal(st, KD_OK);
		if (st == KD_OK)
			applied++;
		else
			rejected++;
		check_against_full_build(&api);
	}
	print_message("%u applied, %u rejected, %u frontends at the end\n", applied, rejected, kd_lb_live->n_fe);
	/* Both paths were taken, many times. */
	assert_true(applied > 500);
	assert_true(rejected > 100);
	kd_publish_free(api.pub);
	kd_api_fini(&api);
}

/* A batch that fails at its last operation leaves no trace of the others. */
static void
test_failed_batch_changes_nothing(void **state)
{
	struct kd_api api;
	struct kd_manifest_obj o;
	PB(BatchRequest) br = PB_C(BATCH_REQUEST__INIT);
	PB(BatchOperation) ops[2], *op[2] = { &ops[0], &ops[1] };
	char yaml[1024], m0[160], m1[160];
	struct kd_err e;
	uint8_t *buf;
	size_t len;

	(void)state;
	kd_api_init(&api);
	api.cfg = &cfg;
	api.pub = kd_publish_create(&cfg, port_ids, NULL);
	seed = 7;
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: v1\nkind: Service\nmetadata: {name: ok, namespace: default}\n"
		 "spec: {clusterIP: 10.96.1.1, ports: [{port: 80, targetPort: 8080}]}\n");
	o = kd_test_object(yaml);
	PB_FN(batch_operation__init)(&ops[0]);
	ops[0].request.data = upsert(&o, m0, sizeof(m0), &ops[0].request.len);
	ops[0].method = m0;
	service_yaml(yaml, sizeof(yaml), 1, true);
	o = kd_test_object(yaml);
	PB_FN(batch_operation__init)(&ops[1]);
	ops[1].request.data = upsert(&o, m1, sizeof(m1), &ops[1].request.len);
	ops[1].method = m1;
	br.n_operations = 2;
	br.operations = op;
	len = protobuf_c_message_get_packed_size(&br.base);
	buf = malloc(len);
	protobuf_c_message_pack(&br.base, buf);
	assert_int_equal(call(&api, "/" KD_API_SERVICE "/Batch", buf, len, &e),
			 KD_INVALID_ARGUMENT);
	/* The error names the operation and the field. */
	assert_non_null(strstr(e.msg, "operations[1] ("));
	assert_non_null(strstr(e.msg, "spec.ports[0].port"));
	assert_int_equal(api.store.kind[KD_KIND_SERVICE].n, 0);
	assert_int_equal(kd_lb_live->n_fe, 0);
	free(buf);
	free(ops[0].request.data);
	free(ops[1].request.data);
	kd_publish_free(api.pub);
	kd_api_fini(&api);
}

/* A change that would overflow services.max_frontends is refused whole. */
static void
test_full_index_refuses_and_keeps(void **state)
{
	struct kd_config small = cfg;
	struct kd_api api;
	struct kd_err e;
	char yaml[512], method[160];
	struct kd_manifest_obj o;
	unsigned int i;
	uint8_t *req;
	size_t len;

	(void)state;
	small.svc_max_frontends = 64;
	kd_api_init(&api);
	api.cfg = &small;
	api.pub = kd_publish_create(&small, port_ids, NULL);
	assert_non_null(api.pub);
	for (i = 0; i <= 64; i++) {
		snprintf(yaml, sizeof(yaml),
			 "apiVersion: v1\nkind: Service\nmetadata: {name: f%u, namespace: default}\n"
			 "spec: {clusterIP: 10.96.1.%u, ports: [{port: 80, targetPort: 8080}]}\n",
			 i, i + 1);
		o = kd_test_object(yaml);
		req = upsert(&o, method, sizeof(method), &len);
		if (i < 64) {
			assert_int_equal(call(&api, method, req, len, &e), KD_OK);
		} else {
			assert_int_equal(call(&api, method, req, len, &e), KD_RESOURCE_EXHAUSTED);
			assert_non_null(strstr(e.msg, "services.max_frontends 64"));
		}
		free(req);
	}
	assert_int_equal(kd_lb_live->n_fe, 64);
	assert_int_equal(api.store.kind[KD_KIND_SERVICE].n, 64);
	assert_null(kd_store_get(&api.store, KD_KIND_SERVICE, "namespaces/default/services/f64"));
	kd_publish_free(api.pub);
	kd_api_fini(&api);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_batch_changes_nothing),
		cmocka_unit_test(test_random_changes_match_full_build),
		cmocka_unit_test(test_full_index_refuses_and_keeps),
	};

	return cmocka_run_group_tests(tests, setup, kd_test_teardown);
}
