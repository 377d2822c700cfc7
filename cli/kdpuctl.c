/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdpuctl: the command line on the kdpu API, in kubectl's habits. apply and
 * delete take Kubernetes manifests; get prints tables, YAML or JSON; flows,
 * stats and health read the daemon's state. apply sends every object in one
 * Batch, applied whole or not at all; delete goes object by object. Exit
 * status: 0 on success, 1 if any object or call failed (delete still tries
 * the rest, as kubectl does), 2 for a usage error.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/grpc_client.h"
#include "proto/kinds.h"
#include "cli/manifest.h"
#include "cli/render.h"
#include "google/protobuf/empty.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#define DEFAULT_SOCKET "/run/kdpu/kdpu.sock"
#define PAGE 500
#define ST_NOT_FOUND 5

struct ctl {
	struct kd_client *cl;
	enum kd_render_fmt fmt;
	bool name_only;
	const char *ns;
	bool all_ns;
	bool ignore_not_found;
	const char *files[32];
	int n_files;
	const char *pod, *state;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kdpuctl [OPTIONS] COMMAND\n"
		"commands:\n"
		"  apply -f FILE|DIR|-             create or update the objects of manifests\n"
		"  delete -f FILE|DIR|-            delete the objects of manifests\n"
		"  delete KIND NAME                delete one object\n"
		"  get KIND [NAME]                 list or show objects\n"
		"  flows [--pod NS/NAME] [--state STATE]   tracked connections\n"
		"  stats                           port, drop and event counters\n"
		"  frontends [SERVICE]             Service frontends, endpoints and their connections\n"
		"  health                          the daemon's health service\n"
		"kinds: vpc node netdev namespace pod service endpointslice networkpolicy\n"
		"options:\n"
		"  -s, --socket PATH     API Unix socket (default $KDPU_SOCKET or " DEFAULT_SOCKET ")\n"
		"      --server H:P      API over TCP instead\n"
		"      --tls-ca FILE     verify the server with this CA (enables TLS)\n"
		"      --tls-cert FILE   client certificate for mutual TLS\n"
		"      --tls-key FILE    its private key\n"
		"      --timeout SEC     per call (default 10)\n"
		"  -n, --namespace NS    namespace for namespaced kinds (default \"default\")\n"
		"  -A, --all-namespaces  every namespace\n"
		"  -o, --output FMT      table (default), yaml, json or name\n"
		"  -f, --filename F      manifest file, directory or - (repeatable)\n"
		"      --ignore-not-found  delete: a missing object is not an error\n");
}

static ProtobufCMessage *
new_req(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);

	if (m == NULL) {
		fprintf(stderr, "kdpuctl: out of memory\n");
		exit(1);
	}
	d->message_init(m);
	return m;
}

static void
set_str(ProtobufCMessage *m, unsigned int number, const char *v)
{
	*kd_pb_string_field(m, number) = (char *)(uintptr_t)v;
}

static void *
field_at(ProtobufCMessage *m, unsigned int number)
{
	return (char *)m + protobuf_c_message_descriptor_get_field(m->descriptor, number)->offset;
}

static void
server_error(const char *where, int st, const char *msg)
{
	fprintf(stderr, "%s%sError from server (%s): %s\n", where != NULL ? where : "",
		where != NULL ? ": " : "", kd_client_status_name(st), msg);
}

/* kubectl names objects by lower-case kind: "networkpolicy/x". */
static const char *
lower_kind(const struct kd_kind *k)
{
	static char buf[32];
	size_t i;

	for (i = 0; k->kind[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (char)tolower((unsigned char)k->kind[i]);
	buf[i] = '\0';
	return buf;
}

/* The update (allow_missing: create if absent) of o, packed into op. */
static void
upsert_op(struct kd_manifest_obj *o, PB(BatchOperation) *op)
{
	ProtobufCMessage *req = new_req(o->kind->req[KD_VERB_UPDATE]);
	char name[384], method[160], **slot = kd_pb_string_field(o->msg, 1);

	kd_kind_name_format(o->kind, o->ns, o->id, name, sizeof(name));
	if (*slot != NULL && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = strdup(name);
	*kd_pb_message_field(req, 1) = o->msg;
	*(protobuf_c_boolean *)field_at(req, 3) = 1;
	kd_kind_method(o->kind, KD_VERB_UPDATE, method, sizeof(method));
	PB_FN(batch_operation__init)(op);
	op->method = strdup(method);
	op->request.len = protobuf_c_message_get_packed_size(req);
	op->request.data = malloc(op->request.len + 1);
	if (op->method == NULL || *slot == NULL || op->request.data == NULL) {
		fprintf(stderr, "kdpuctl: out of memory\n");
		exit(1);
	}
	protobuf_c_message_pack(req, op->request.data);
	free(req);	/* o->msg stays the manifest's */
}

/*
 * Every object of the manifests in one Batch call: the server validates them
 * all before it changes anything, and the data plane takes them in one
 * publication. An error names the operation; it is mapped back to its file.
 */
static int
apply_all(struct ctl *c, struct kd_manifest *m)
{
	static const char *const outcome[] = {
		[PB_C(BATCH_OUTCOME__BATCH_OUTCOME_CREATED)] = "created",
		[PB_C(BATCH_OUTCOME__BATCH_OUTCOME_CONFIGURED)] = "configured",
		[PB_C(BATCH_OUTCOME__BATCH_OUTCOME_UNCHANGED)] = "unchanged",
	};
	PB(BatchRequest) br = PB_C(BATCH_REQUEST__INIT);
	PB(BatchOperation) *ops = calloc(m->n ? m->n : 1, sizeof(*ops));
	PB(BatchOperation) **op = calloc(m->n ? m->n : 1, sizeof(*op));
	PB(BatchResponse) *res = NULL;
	char msg[1024];
	size_t i, at;
	int st;

	if (ops == NULL || op == NULL) {
		fprintf(stderr, "kdpuctl: out of memory\n");
		exit(1);
	}
	for (i = 0; i < m->n; i++) {
		upsert_op(&m->obj[i], &ops[i]);
		op[i] = &ops[i];
	}
	br.n_operations = m->n;
	br.operations = op;
	st = kd_client_call(c->cl, "/" KD_API_SERVICE "/Batch", &br.base, &PB_DESC(batch_response),
			    (ProtobufCMessage **)&res, msg, sizeof(msg));
	for (i = 0; i < m->n; i++) {
		free(ops[i].method);
		free(ops[i].request.data);
	}
	free(ops);
	free(op);
	if (st != 0) {
		const char *rest = strstr(msg, "): ");

		if (sscanf(msg, "operations[%zu]", &at) == 1 && at < m->n && rest != NULL)
			server_error(m->obj[at].where, st, rest + 3);
		else
			server_error(NULL, st, msg);
		fprintf(stderr, "nothing was applied\n");
		return 1;
	}
	for (i = 0; i < res->n_results && i < m->n; i++) {
		int oc = res->results[i]->outcome;

		printf("%s/%s %s\n", lower_kind(m->obj[i].kind), m->obj[i].id,
		       oc >= 0 && oc < (int)(sizeof(outcome) / sizeof(outcome[0])) && outcome[oc] ? outcome[oc] : "applied");
	}
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return 0;
}

static int
delete_name(struct ctl *c, const struct kd_kind *k, const char *ns, const char *id,
	    const char *where)
{
	char method[160], name[384], msg[512];
	ProtobufCMessage *req = new_req(k->req[KD_VERB_DELETE]), *res = NULL;
	int st;

	kd_kind_name_format(k, ns, id, name, sizeof(name));
	set_str(req, 1, name);
	*(protobuf_c_boolean *)field_at(req, 2) = c->ignore_not_found;
	kd_kind_method(k, KD_VERB_DELETE, method, sizeof(method));
	st = kd_client_call(c->cl, method, req, &google__protobuf__empty__descriptor, &res, msg,
			    sizeof(msg));
	free(req);
	if (st != 0) {
		server_error(where, st, msg);
		return 1;
	}
	protobuf_c_message_free_unpacked(res, NULL);
	printf("%s \"%s\" deleted\n", lower_kind(k), id);
	return 0;
}

static int
load_manifests(struct ctl *c, struct kd_manifest *m)
{
	char err[512];
	int i;

	if (c->n_files == 0) {
		fprintf(stderr, "kdpuctl: -f FILE|DIR|- is required\n");
		return 2;
	}
	for (i = 0; i < c->n_files; i++)
		if (kd_manifest_load(m, c->files[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "error: %s\n", err);
			return 1;
		}
	return 0;
}

static int
cmd_apply(struct ctl *c)
{
	struct kd_manifest m = { 0 };
	int rc = load_manifests(c, &m);

	if (rc == 0) {
		kd_manifest_sort(&m, false);
		rc = apply_all(c, &m);
	}
	kd_manifest_free(&m);
	return rc;
}

static int
cmd_delete(struct ctl *c, int argc, char **argv)
{
	struct kd_manifest m = { 0 };
	const struct kd_kind *k;
	size_t i;
	int rc = 0;

	if (argc == 0) {
		rc = load_manifests(c, &m);
		if (rc == 0) {
			kd_manifest_sort(&m, true);
			for (i = 0; i < m.n; i++)
				rc |= delete_name(c, m.obj[i].kind, m.obj[i].ns, m.obj[i].id,
						  m.obj[i].where);
		}
		kd_manifest_free(&m);
		return rc;
	}
	if (argc < 2 || (k = kd_kind_lookup(argv[0])) == NULL) {
		fprintf(stderr, argc < 2 ? "kdpuctl: delete KIND NAME...\n" :
					   "error: the server doesn't have a resource type \"%s\"\n",
			argv[0]);
		return argc < 2 ? 2 : 1;
	}
	for (i = 1; i < (size_t)argc; i++)
		rc |= delete_name(c, k, k->namespaced ? c->ns : "", argv[i], NULL);
	return rc;
}

static const char *
proto_str(int p)
{
	return p == PB_C(PROTOCOL__PROTOCOL_UDP) ? "UDP" :
	       p == PB_C(PROTOCOL__PROTOCOL_SCTP) ? "SCTP" : "TCP";
}

/* One row per endpoint of each frontend, under the Service rows of `get services`. */
static void
print_frontends(const PB(ListServiceFrontendsResponse) *res)
{
	size_t i, j;

	if (res->n_frontends == 0)
		return;
	printf("\n%-22s %-12s %-28s %-7s %-21s %-32s %-9s %s\n", "FRONTEND", "KIND", "SERVICE",
	       "MAGLEV", "ENDPOINT", "CONDITIONS", "TAKES", "CONNECTIONS");
	for (i = 0; i < res->n_frontends; i++) {
		const PB(ServiceFrontend) *f = res->frontends[i];
		const char *svc = strncmp(f->service, "namespaces/", 11) == 0 ? f->service + 11 :
										f->service;
		char fe[40], nn[160], mg[16];
		const char *sl = strstr(svc, "/services/");

		if (sl != NULL)
			snprintf(nn, sizeof(nn), "%.*s/%s", (int)(sl - svc), svc, sl + 10);
		else
			snprintf(nn, sizeof(nn), "%s", svc);
		snprintf(fe, sizeof(fe), "%s:%u/%s", f->ip, f->port, proto_str(f->protocol));
		snprintf(mg, sizeof(mg), "%u", f->maglev_size);
		if (f->n_endpoints == 0)
			printf("%-22s %-12s %-28s %-7s %-21s %-32s %-9s %d\n", fe, f->kind,
			       nn, "-", "<none>", "-", "-", 0);
		for (j = 0; j < f->n_endpoints; j++) {
			const PB(ServiceEndpointStatus) *e = f->endpoints[j];
			char ep[32], cond[64], takes[16];

			snprintf(ep, sizeof(ep), "%s:%u", e->ip, e->port);
			snprintf(cond, sizeof(cond), "%s%s%s%s", e->ready ? "ready" : "not-ready",
				 e->serving ? ",serving" : "", e->terminating ? ",terminating" : "",
				 e->local ? ",local" : "");
			snprintf(takes, sizeof(takes), "%s%s%s", e->takes_pods ? "pods" : "",
				 e->takes_pods && e->takes_external ? "," : "",
				 e->takes_external ? "ext" : "");
			printf("%-22s %-12s %-28s %-7s %-21s %-32s %-9s %" PRIu64 "\n",
			       j == 0 ? fe : "", j == 0 ? f->kind : "", j == 0 ? nn : "",
			       j == 0 ? mg : "", ep, cond, takes[0] ? takes : "-", e->connections);
		}
	}
}

static int
fetch_frontends(struct ctl *c, const char *service, PB(ListServiceFrontendsResponse) **res)
{
	PB(ListServiceFrontendsRequest) req = PB_C(LIST_SERVICE_FRONTENDS_REQUEST__INIT);
	char msg[512];
	int st;

	req.service = (char *)(uintptr_t)(service != NULL ? service : "");
	st = kd_client_call(c->cl, "/" KD_API_SERVICE "/ListServiceFrontends", &req.base,
			    &PB_DESC(list_service_frontends_response), (ProtobufCMessage **)res,
			    msg, sizeof(msg));
	if (st != 0)
		server_error(NULL, st, msg);
	return st;
}

static int
cmd_frontends(struct ctl *c, int argc, char **argv)
{
	PB(ListServiceFrontendsResponse) *res = NULL;
	char name[384] = "";

	if (argc >= 1)
		kd_kind_name_format(kd_kind_lookup("service"), c->ns, argv[0], name, sizeof(name));
	if (fetch_frontends(c, argc >= 1 ? name : NULL, &res) != 0)
		return 1;
	if (c->fmt != KD_RENDER_TABLE)
		kd_render(stdout, c->fmt, NULL, (ProtobufCMessage **)&res, 1, false);
	else if (res->n_frontends == 0)
		fprintf(stderr, "No frontends found\n");
	else
		print_frontends(res);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return 0;
}

/* The frontends of the Services just listed: their VIPs, endpoints and connections. */
static void
services_detail(struct ctl *c, ProtobufCMessage **objs, size_t n, bool single)
{
	PB(ListServiceFrontendsResponse) *res = NULL;
	char name[384];
	size_t i, j, keep = 0;

	if (n == 0)
		return;
	if (single)
		kd_kind_name_format(kd_kind_lookup("service"),
			       ((PB(ObjectMeta) *)*kd_pb_message_field(objs[0], 2))->namespace_,
			       ((PB(ObjectMeta) *)*kd_pb_message_field(objs[0], 2))->name, name,
			       sizeof(name));
	if (fetch_frontends(c, single ? name : NULL, &res) != 0)
		return;
	/* Only the frontends of the listed Services (one namespace, or all). */
	for (i = 0; i < res->n_frontends; i++) {
		for (j = 0; j < n; j++) {
			const PB(ObjectMeta) *m = (PB(ObjectMeta) *)*kd_pb_message_field(objs[j], 2);

			kd_kind_name_format(kd_kind_lookup("service"), m->namespace_, m->name, name,
				       sizeof(name));
			if (strcmp(name, res->frontends[i]->service) == 0)
				break;
		}
		if (j < n)
			res->frontends[keep++] = res->frontends[i];
		else
			protobuf_c_message_free_unpacked(&res->frontends[i]->base, NULL);
	}
	res->n_frontends = keep;
	print_frontends(res);
	protobuf_c_message_free_unpacked(&res->base, NULL);
}

static void
output(struct ctl *c, const struct kd_kind *k, ProtobufCMessage **objs, size_t n, bool single)
{
	size_t i;

	if (c->name_only) {
		for (i = 0; i < n; i++)
			printf("%s/%s\n", lower_kind(k),
			       ((PB(ObjectMeta) *)*kd_pb_message_field(objs[i], 2))->name);
		return;
	}
	if (c->fmt == KD_RENDER_TABLE) {
		if (n == 0 && !single) {
			if (k->namespaced && !c->all_ns)
				fprintf(stderr, "No resources found in %s namespace.\n", c->ns);
			else
				fprintf(stderr, "No resources found\n");
			return;
		}
		kd_render_table(stdout, k, objs, n, k->namespaced && c->all_ns);
		if (k->id == KD_KIND_SERVICE)
			services_detail(c, objs, n, single);
		return;
	}
	kd_render(stdout, c->fmt, k, objs, n, !single);
}

static int
cmd_get(struct ctl *c, int argc, char **argv)
{
	char method[160], name[384], msg[512], parent[96] = "", *token = NULL;
	ProtobufCMessage **objs = NULL, *res;
	const struct kd_kind *k;
	size_t n = 0, i;
	int st, rc = 0;

	if (argc < 1) {
		fprintf(stderr, "kdpuctl: get KIND [NAME]\n");
		return 2;
	}
	k = kd_kind_lookup(argv[0]);
	if (k == NULL) {
		fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", argv[0]);
		return 1;
	}
	if (argc >= 2) {
		ProtobufCMessage *req = new_req(k->req[KD_VERB_GET]);

		kd_kind_name_format(k, k->namespaced ? c->ns : "", argv[1], name, sizeof(name));
		set_str(req, 1, name);
		kd_kind_method(k, KD_VERB_GET, method, sizeof(method));
		st = kd_client_call(c->cl, method, req, k->desc, &res, msg, sizeof(msg));
		free(req);
		if (st != 0) {
			server_error(NULL, st, msg);
			return 1;
		}
		output(c, k, &res, 1, true);
		protobuf_c_message_free_unpacked(res, NULL);
		return 0;
	}
	if (k->namespaced)
		snprintf(parent, sizeof(parent), "namespaces/%s", c->all_ns ? "-" : c->ns);
	kd_kind_method(k, KD_VERB_LIST, method, sizeof(method));
	/* Page through; the responses own the objects until printed. */
	{
		ProtobufCMessage **pages = NULL;
		size_t n_pages = 0;

		do {
			ProtobufCMessage *req = new_req(k->req[KD_VERB_LIST]), **pv;
			const ProtobufCFieldDescriptor *fi;
			size_t cnt;

			set_str(req, 1, parent);
			*(int32_t *)field_at(req, 2) = PAGE;
			set_str(req, 3, token != NULL ? token : "");
			st = kd_client_call(c->cl, method, req, k->list_resp, &res, msg, sizeof(msg));
			free(req);
			if (st != 0) {
				server_error(NULL, st, msg);
				rc = 1;
				break;
			}
			pv = realloc(pages, (n_pages + 1) * sizeof(*pages));
			if (pv == NULL)
				break;
			pages = pv;
			pages[n_pages++] = res;
			fi = protobuf_c_message_descriptor_get_field(k->list_resp, 1);
			cnt = *(size_t *)((char *)res + fi->quantifier_offset);
			pv = realloc(objs, (n + cnt + 1) * sizeof(*objs));
			if (pv == NULL)
				break;
			objs = pv;
			for (i = 0; i < cnt; i++)
				objs[n++] = (*(ProtobufCMessage ***)((char *)res + fi->offset))[i];
			token = *kd_pb_string_field(res, 2);
		} while (token != NULL && token[0] != '\0');
		if (rc == 0)
			output(c, k, objs, n, false);
		for (i = 0; i < n_pages; i++)
			protobuf_c_message_free_unpacked(pages[i], NULL);
		free(pages);
		free(objs);
	}
	return rc;
}

/*
 * Every page of ListFlows, following next_page_token: rows are printed as
 * pages come; YAML and JSON get one list of every flow.
 */
static int
cmd_flows(struct ctl *c)
{
	PB(ListFlowsRequest) req = PB_C(LIST_FLOWS_REQUEST__INIT);
	PB(ListFlowsResponse) all = PB_C(LIST_FLOWS_RESPONSE__INIT), *res = NULL, **pages = NULL;
	PB(ListFlowsResponse) *allp = &all;
	char msg[512], pod[256] = "", *token = NULL;
	size_t i, n_pages = 0, n = 0;
	int st, rc = 0;

	if (c->pod != NULL) {
		const char *slash = strchr(c->pod, '/');

		if (slash != NULL)
			snprintf(pod, sizeof(pod), "namespaces/%.*s/pods/%s", (int)(slash - c->pod),
				 c->pod, slash + 1);
		else
			snprintf(pod, sizeof(pod), "namespaces/%s/pods/%s", c->ns, c->pod);
		req.pod = pod;
	}
	if (c->state != NULL)
		req.state = (char *)(uintptr_t)c->state;
	req.page_size = PAGE;
	do {
		PB(ListFlowsResponse) **np = realloc(pages, (n_pages + 1) * sizeof(*np));

		if (np == NULL) {
			fprintf(stderr, "kdpuctl: out of memory\n");
			exit(1);
		}
		pages = np;
		req.page_token = token != NULL ? token : "";
		st = kd_client_call(c->cl, "/" KD_API_SERVICE "/ListFlows", &req.base,
				    &PB_DESC(list_flows_response), (ProtobufCMessage **)&res, msg,
				    sizeof(msg));
		if (st != 0) {
			server_error(NULL, st, msg);
			rc = 1;
			break;
		}
		pages[n_pages++] = res;
		if (c->fmt == KD_RENDER_TABLE) {
			if (n == 0 && res->n_flows != 0)
				kd_render_flow(stdout, NULL);
			for (i = 0; i < res->n_flows; i++)
				kd_render_flow(stdout, res->flows[i]);
		}
		n += res->n_flows;
		token = res->next_page_token;
	} while (token != NULL && token[0] != '\0');
	if (rc == 0 && c->fmt != KD_RENDER_TABLE) {
		size_t k = 0;

		all.flows = calloc(n ? n : 1, sizeof(*all.flows));
		if (all.flows == NULL) {
			fprintf(stderr, "kdpuctl: out of memory\n");
			exit(1);
		}
		for (i = 0; i < n_pages; i++) {
			if (pages[i]->n_flows != 0)
				memcpy(&all.flows[k], pages[i]->flows,
				       pages[i]->n_flows * sizeof(*all.flows));
			k += pages[i]->n_flows;
		}
		all.n_flows = n;
		kd_render(stdout, c->fmt, NULL, (ProtobufCMessage **)&allp, 1, false);
		free(all.flows);
	} else if (rc == 0 && n == 0) {
		fprintf(stderr, "No flows found\n");
	}
	for (i = 0; i < n_pages; i++)
		protobuf_c_message_free_unpacked(&pages[i]->base, NULL);
	free(pages);
	return rc;
}

static int
cmd_stats(struct ctl *c)
{
	PB(GetStatsRequest) req = PB_C(GET_STATS_REQUEST__INIT);
	PB(Stats) *s = NULL;
	char msg[512];
	size_t i;
	int st;

	req.name = (char *)"stats";
	st = kd_client_call(c->cl, "/" KD_API_SERVICE "/GetStats", &req.base, &PB_DESC(stats),
			    (ProtobufCMessage **)&s, msg, sizeof(msg));
	if (st != 0) {
		server_error(NULL, st, msg);
		return 1;
	}
	if (c->fmt != KD_RENDER_TABLE) {
		kd_render(stdout, c->fmt, NULL, (ProtobufCMessage **)&s, 1, false);
	} else {
		printf("workers %u, table generation %" PRIu64 "\n\n", s->workers, s->table_generation);
		printf("%-16s %-7s %14s %14s %12s\n", "PORT", "ROLE", "RX", "TX", "DROPS");
		for (i = 0; i < s->n_ports; i++)
			printf("%-16s %-7s %14" PRIu64 " %14" PRIu64 " %12" PRIu64 "\n",
			       s->ports[i]->name, s->ports[i]->role, s->ports[i]->rx_packets,
			       s->ports[i]->tx_packets, s->ports[i]->drops);
		printf("\n%-28s %14s\n", "EVENT", "COUNT");
		for (i = 0; i < s->n_events; i++)
			if (s->events[i]->value != 0)
				printf("%-28s %14" PRIu64 "\n", s->events[i]->name, s->events[i]->value);
		printf("\n%-28s %14s\n", "DROP", "COUNT");
		for (i = 0; i < s->n_drops; i++)
			if (s->drops[i]->value != 0)
				printf("%-28s %14" PRIu64 "\n", s->drops[i]->name, s->drops[i]->value);
		if (s->n_policies != 0)
			printf("\n%-40s %10s %10s\n", "NETWORKPOLICY", "ALLOWED", "DENIED");
		for (i = 0; i < s->n_policies; i++)
			printf("%-40s %10" PRIu64 " %10" PRIu64 "\n", s->policies[i]->name,
			       s->policies[i]->allowed_connections, s->policies[i]->denied_connections);
		printf("\nconnections %u of %u; policy generation %" PRIu64 ", %" PRIu64
		       " policy sets written; %u session affinity entries\n", s->connections,
		       s->connection_capacity, s->policy_generation, s->policy_sets_written,
		       s->affinity_entries);
		printf("service generation %" PRIu64 "; %" PRIu64 " API changes in %" PRIu64
		       " publications\n", s->service_generation, s->api_staged_calls,
		       s->api_publications);
	}
	protobuf_c_message_free_unpacked(&s->base, NULL);
	return 0;
}

static int
cmd_health(struct ctl *c)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *res = NULL;
	char msg[512];
	int st, rc;

	st = kd_client_call(c->cl, "/" KD_HEALTH_SERVICE "/Check", &req.base,
			    &grpc__health__v1__health_check_response__descriptor,
			    (ProtobufCMessage **)&res, msg, sizeof(msg));
	if (st != 0) {
		server_error(NULL, st, msg);
		return 1;
	}
	rc = res->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? 0 : 1;
	printf("%s\n", protobuf_c_enum_descriptor_get_value(
			       &grpc__health__v1__health_check_response__serving_status__descriptor,
			       res->status)->name);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	return rc;
}

int
main(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CA, O_CERT, O_KEY, O_TIMEOUT, O_POD, O_STATE, O_IGNORE };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "server", required_argument, NULL, O_SERVER },
		{ "tls-ca", required_argument, NULL, O_CA },
		{ "tls-cert", required_argument, NULL, O_CERT },
		{ "tls-key", required_argument, NULL, O_KEY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' },
		{ "output", required_argument, NULL, 'o' },
		{ "filename", required_argument, NULL, 'f' },
		{ "pod", required_argument, NULL, O_POD },
		{ "state", required_argument, NULL, O_STATE },
		{ "ignore-not-found", no_argument, NULL, O_IGNORE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .fmt = KD_RENDER_TABLE, .ns = "default" };
	struct kd_client_opts co = { .timeout_ms = 10000 };
	const char *sock = getenv("KDPU_SOCKET"), *server = NULL, *cmd;
	char target[300], err[256];
	int opt, rc;

	if (sock == NULL || sock[0] == '\0')
		sock = DEFAULT_SOCKET;
	/* Options may come before or after the command, as with kubectl. */
	while ((opt = getopt_long(argc, argv, "s:n:Ao:f:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case O_SERVER: server = optarg; break;
		case O_CA: co.tls_ca = optarg; break;
		case O_CERT: co.tls_cert = optarg; break;
		case O_KEY: co.tls_key = optarg; break;
		case O_TIMEOUT: co.timeout_ms = atoi(optarg) * 1000; break;
		case 'n': c.ns = optarg; break;
		case 'A': c.all_ns = true; break;
		case O_POD: c.pod = optarg; break;
		case O_STATE: c.state = optarg; break;
		case O_IGNORE: c.ignore_not_found = true; break;
		case 'f':
			if (c.n_files < (int)(sizeof(c.files) / sizeof(c.files[0])))
				c.files[c.n_files++] = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "yaml") == 0)
				c.fmt = KD_RENDER_YAML;
			else if (strcmp(optarg, "json") == 0)
				c.fmt = KD_RENDER_JSON;
			else if (strcmp(optarg, "name") == 0)
				c.name_only = true;
			else if (strcmp(optarg, "table") == 0 || strcmp(optarg, "wide") == 0)
				c.fmt = KD_RENDER_TABLE;
			else {
				fprintf(stderr, "error: unknown output format \"%s\" "
					"(table, yaml, json or name)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (co.timeout_ms <= 0 || ((co.tls_cert == NULL) != (co.tls_key == NULL)) ||
	    (co.tls_cert != NULL && co.tls_ca == NULL)) {
		fprintf(stderr, "kdpuctl: --timeout must be positive; --tls-cert and --tls-key go "
			"together and need --tls-ca\n");
		return 2;
	}
	if (!kd_names_is_dns_label(c.ns)) {
		fprintf(stderr, "error: \"%s\" is not a valid namespace name\n", c.ns);
		return 2;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "apply") != 0 && strcmp(cmd, "delete") != 0 && strcmp(cmd, "get") != 0 &&
	    strcmp(cmd, "flows") != 0 && strcmp(cmd, "stats") != 0 && strcmp(cmd, "health") != 0 &&
	    strcmp(cmd, "frontends") != 0) {
		fprintf(stderr, "error: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	if (server != NULL)
		snprintf(target, sizeof(target), "%s", server);
	else
		snprintf(target, sizeof(target), "unix:%s", sock);
	co.target = target;
	c.cl = kd_client_open(&co, err, sizeof(err));
	if (c.cl == NULL) {
		fprintf(stderr, "kdpuctl: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "apply") == 0)
		rc = cmd_apply(&c);
	else if (strcmp(cmd, "delete") == 0)
		rc = cmd_delete(&c, argc - optind, argv + optind);
	else if (strcmp(cmd, "get") == 0)
		rc = cmd_get(&c, argc - optind, argv + optind);
	else if (strcmp(cmd, "flows") == 0)
		rc = cmd_flows(&c);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(&c);
	else if (strcmp(cmd, "frontends") == 0)
		rc = cmd_frontends(&c, argc - optind, argv + optind);
	else
		rc = cmd_health(&c);
	kd_client_close(c.cl);
	return rc;
}
