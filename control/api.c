/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One generic engine serves Create/Get/List/Update/Delete of every kind
 * through the protobuf-c descriptors (kinds.h gives the field numbering),
 * plus ListFlows and GetStats (api_stats.c) and ListServiceFrontends
 * (api_lb.c). Order of work for a change: decode, name and field checks
 * (validate.c), the no-op test for an identical object, the store change,
 * then the rebuild and publication of the tables it touches (publish.c); if
 * a rebuild fails the store change is undone, so the running tables and the
 * store never disagree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "control/api.h"
#include "control/config.h"
#include "control/publish.h"
#include "control/txn.h"
#include "control/validate.h"
#include "dataplane/arp.h"
#include "dataplane/conntrack.h"
#include "dataplane/lb.h"
#include "dataplane/policy.h"
#include "dataplane/stats.h"
#include "dataplane/tables.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"


/* Field numbers of the standard requests (proto/k8s.proto). */
enum { F_NAME = 1, F_META = 2 };
enum { C_PARENT = 1, C_OBJ = 2, C_ID = 3 };
enum { L_PARENT = 1, L_SIZE = 2, L_TOKEN = 3 };
enum { U_OBJ = 1, U_MASK = 2, U_ALLOW = 3 };
enum { D_NAME = 1, D_ALLOW = 2 };

void
kd_api_init(struct kd_api *api)
{
	memset(api, 0, sizeof(*api));
}

void
kd_api_fini(struct kd_api *api)
{
	kd_txn_abort(api, &api->pending);
	kd_store_free(&api->store);
}

/*
 * Before next replaces the live policy: the refusals counted at each port
 * and direction whose isolating policies change go to the policies that
 * isolated it until now; then a fresh policy id starts counting from zero,
 * whatever its previous owner left.
 */
static void
policy_counters(struct kd_api *api, const struct kd_policy *next)
{
	const struct kd_policy *old = kd_policy_get();
	struct kd_stats *sum;
	unsigned int port, d;
	uint32_t i, id;

	if (api->stats == NULL)
		return;
	sum = calloc(1, sizeof(*sum));
	if (sum == NULL)
		return;
	kd_stats_sum(sum, api->stats, api->n_workers);
	for (port = 0; port < RTE_MAX_ETHPORTS; port++)
		for (d = 0; d < 2; d++) {
			uint64_t delta = sum->deny_at[port][d] - api->deny_base[port][d];

			if (old != NULL && old->isolating[port][d] == next->isolating[port][d])
				continue;
			for (i = 0; old != NULL && i < old->n_isolating[port][d]; i++) {
				id = old->isolating[port][d][i];
				if (id <= KD_STATS_POLICIES)
					api->pol_denied[id - 1] += delta;
			}
			api->deny_base[port][d] = sum->deny_at[port][d];
		}
	for (i = 0; i < next->n_fresh; i++) {
		id = next->fresh[i];
		if (id == 0 || id > KD_STATS_POLICIES)
			continue;
		api->pol_base_allow[id - 1] = sum->pol_allow[id - 1];
		api->pol_denied[id - 1] = 0;
	}
	free(sum);
}

enum kd_status
kd_api_sync(struct kd_api *api, const struct kd_store_change *ch, size_t n, bool removal,
	    struct kd_err *e)
{
	struct kd_publish_batch b;

	if (api->pub == NULL)
		return KD_OK;
	if (kd_publish_build(api->pub, &api->store, ch, n, &b, e) != KD_OK)
		return e->code;
	if (b.gen[KD_PUBLISH_POLICY] != NULL)
		policy_counters(api, b.gen[KD_PUBLISH_POLICY]);
	kd_publish_commit(api->pub, &b, removal);
	return KD_OK;
}

/* Generic field access by number; the request layouts are fixed by the proto. */
static const ProtobufCFieldDescriptor *
field(const ProtobufCMessage *m, unsigned int number)
{
	return protobuf_c_message_descriptor_get_field(m->descriptor, number);
}

static const char *
get_str(const ProtobufCMessage *m, unsigned int number)
{
	char **p = kd_pb_string_field((ProtobufCMessage *)(uintptr_t)m, number);

	return p != NULL && *p != NULL ? *p : "";
}

static void *
field_ptr(const ProtobufCMessage *m, unsigned int number)
{
	return (char *)(uintptr_t)m + field(m, number)->offset;
}

static int
set_str(ProtobufCMessage *m, unsigned int number, const char *val)
{
	const ProtobufCFieldDescriptor *f = field(m, number);
	char **slot = (char **)((char *)m + f->offset);
	char *copy = strdup(val);

	if (copy == NULL)
		return -ENOMEM;
	if (*slot != NULL && *slot != f->default_value)
		free(*slot);
	*slot = copy;
	return 0;
}

static PB(ObjectMeta) *
meta_of(ProtobufCMessage *obj)
{
	ProtobufCMessage **slot = kd_pb_message_field(obj, F_META);

	if (*slot == NULL) {
		PB(ObjectMeta) *m = malloc(sizeof(*m));

		if (m == NULL)
			return NULL;
		PB_FN(object_meta__init)(m);
		*slot = &m->base;
	}
	return (PB(ObjectMeta) *)*slot;
}

/* Node and Netdev status is computed on read; a client's copy is dropped. */
static void
drop_server_status(const struct kd_kind *k, ProtobufCMessage *obj)
{
	ProtobufCMessage **st = kd_pb_message_field(obj, 4);

	if ((k->id == KD_KIND_NODE || k->id == KD_KIND_NETDEV) && st != NULL && *st != NULL) {
		protobuf_c_message_free_unpacked(*st, NULL);
		*st = NULL;
	}
}

struct status_buf {
	union {
		PB(NodeStatus) node;
		PB(NetdevStatus) netdev;
	};
	char a[64], b[64];
};

/* Fill server-computed status for output; undone by undecorate(). */
static void
decorate(const struct kd_api *api, const struct kd_kind *k, ProtobufCMessage *obj,
	 struct status_buf *sb)
{
	const struct kd_tables *t = kd_tables_get();
	unsigned int i;

	if (k->id == KD_KIND_NETDEV) {
		PB(Netdev) *o = (PB(Netdev) *)obj;

		PB_FN(netdev_status__init)(&sb->netdev);
		sb->netdev.port_name = sb->a;
		sb->a[0] = '\0';
		for (i = 0; api->cfg != NULL && i < api->cfg->n_ports; i++)
			if (strcmp(api->cfg->ports[i].pci, o->spec->pci_address) == 0) {
				sb->netdev.port_id = api->port_ids != NULL ? api->port_ids[i] : i;
				snprintf(sb->a, sizeof(sb->a), "%s", api->cfg->ports[i].name);
			}
		o->status = &sb->netdev;
	} else if (k->id == KD_KIND_NODE) {
		PB(Node) *o = (PB(Node) *)obj;
		rte_be32_t vtep = 0;

		PB_FN(node_status__init)(&sb->node);
		sb->node.neighbor_mac = sb->b;
		sb->b[0] = '\0';
		kd_config_parse_ipv4(o->spec->vtep_ip, &vtep);
		sb->node.local = api->cfg != NULL && vtep == api->cfg->vtep_ip;
		for (i = 0; t != NULL && i < t->n_rnodes && kd_arp_neigh != NULL; i++) {
			struct rte_ether_addr mac;

			if (strcmp(t->rnode[i].name, o->name) != 0)
				continue;
			if (kd_arp_neigh_mac(t->rnode[i].neigh, &mac))
				kd_config_format_mac(&mac, sb->b, sizeof(sb->b));
		}
		o->status = &sb->node;
	}
}

static void
undecorate(const struct kd_kind *k, ProtobufCMessage *obj)
{
	if (k->id == KD_KIND_NETDEV)
		((PB(Netdev) *)obj)->status = NULL;
	else if (k->id == KD_KIND_NODE)
		((PB(Node) *)obj)->status = NULL;
}

enum kd_status
kd_api_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len, struct kd_err *e)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	*out = malloc(n != 0 ? n : 1);
	if (*out == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	*len = protobuf_c_message_pack(m, *out);
	return KD_OK;
}

static enum kd_status
pack_object(const struct kd_api *api, const struct kd_kind *k, ProtobufCMessage *obj,
	    uint8_t **out, size_t *len, struct kd_err *e)
{
	struct status_buf sb;
	enum kd_status st;

	decorate(api, k, obj, &sb);
	st = kd_api_pack(obj, out, len, e);
	undecorate(k, obj);
	return st;
}

/* Two objects are the same if they pack alike, the server's generation aside. */
static bool
same_object(ProtobufCMessage *a, ProtobufCMessage *b)
{
	PB(ObjectMeta) *ma = (PB(ObjectMeta) *)*kd_pb_message_field(a, F_META);
	PB(ObjectMeta) *mb = (PB(ObjectMeta) *)*kd_pb_message_field(b, F_META);
	int64_t ga = ma->generation, gb = mb->generation;
	size_t la, lb;
	uint8_t *pa, *pb;
	bool same = false;

	ma->generation = mb->generation = 0;
	la = protobuf_c_message_get_packed_size(a);
	lb = protobuf_c_message_get_packed_size(b);
	if (la == lb) {
		pa = malloc(la + 1);
		pb = malloc(lb + 1);
		if (pa != NULL && pb != NULL) {
			protobuf_c_message_pack(a, pa);
			protobuf_c_message_pack(b, pb);
			same = memcmp(pa, pb, la) == 0;
		}
		free(pa);
		free(pb);
	}
	ma->generation = ga;
	mb->generation = gb;
	return same;
}

/* Who still refers to a VPC; NULL if nobody. */
static const char *
vpc_user(const struct kd_api *api, const char *vpc)
{
	const struct kd_store_kind *nd = &api->store.kind[KD_KIND_NETDEV];
	const struct kd_store_kind *no = &api->store.kind[KD_KIND_NODE];
	size_t i;

	for (i = 0; i < nd->n; i++)
		if (strcmp(((PB(Netdev) *)nd->obj[i])->spec->vpc, vpc) == 0)
			return kd_store_name(nd->obj[i]);
	for (i = 0; i < no->n; i++)
		if (strcmp(((PB(Node) *)no->obj[i])->spec->vpc, vpc) == 0)
			return kd_store_name(no->obj[i]);
	return NULL;
}

/*
 * Validate obj (owned) and store it. create: an identical existing object is
 * a no-op, a different one ALREADY_EXISTS. Otherwise (update) it replaces the
 * existing one, which must exist unless allow_missing. *result points to the
 * stored object on success, *outcome says what happened. The change joins t.
 */
static enum kd_status
commit(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k, ProtobufCMessage *obj,
       bool create, bool allow_missing, ProtobufCMessage **result, int *outcome,
       struct kd_err *e)
{
	const char *name = kd_store_name(obj);
	ProtobufCMessage *cur, *old;
	enum kd_status st;

	drop_server_status(k, obj);
	st = kd_validate(&api->store, api->cfg, k, obj, e);
	if (st != KD_OK)
		goto reject;
	cur = kd_store_get(&api->store, k->id, name);
	if (cur != NULL && same_object(cur, obj)) {
		protobuf_c_message_free_unpacked(obj, NULL);
		*result = cur;
		*outcome = PB_C(BATCH_OUTCOME__BATCH_OUTCOME_UNCHANGED);
		return KD_OK;
	}
	if (cur != NULL && create) {
		st = kd_err_set(e, KD_ALREADY_EXISTS, "%s already exists with a different spec",
				 name);
		goto reject;
	}
	if (cur == NULL && !create && !allow_missing) {
		st = kd_err_set(e, KD_NOT_FOUND, "%s not found", name);
		goto reject;
	}
	meta_of(obj)->generation = cur != NULL ? meta_of(cur)->generation + 1 : 1;
	if (kd_store_put(&api->store, k->id, obj, &old) != 0) {
		st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
		goto reject;
	}
	st = kd_txn_add(t, k->id, old, obj, e);
	if (st != KD_OK) {
		ProtobufCMessage *undo;

		if (old != NULL)
			kd_store_put(&api->store, k->id, old, &undo);
		else
			undo = kd_store_del(&api->store, k->id, name);
		protobuf_c_message_free_unpacked(undo, NULL);
		return st;
	}
	*result = obj;
	*outcome = old != NULL ? PB_C(BATCH_OUTCOME__BATCH_OUTCOME_CONFIGURED) :
				 PB_C(BATCH_OUTCOME__BATCH_OUTCOME_CREATED);
	return KD_OK;
reject:
	protobuf_c_message_free_unpacked(obj, NULL);
	return st;
}

/* Set name, metadata.name and metadata.namespace from ns and id. */
static enum kd_status
name_object(const struct kd_kind *k, ProtobufCMessage *obj, const char *ns, const char *id,
	    struct kd_err *e)
{
	PB(ObjectMeta) *m = meta_of(obj);
	char name[384];

	if (m == NULL)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	if (m->name[0] != '\0' && strcmp(m->name, id) != 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT,
				   "%s.metadata.name: \"%s\" differs from the name \"%s\"", k->field,
				   m->name, id);
	if (m->namespace_[0] != '\0' && strcmp(m->namespace_, ns) != 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT,
				   "%s.metadata.namespace: \"%s\" differs from the parent's \"%s\"",
				   k->field, m->namespace_, ns);
	kd_kind_name_format(k, ns, id, name, sizeof(name));
	if (set_str(obj, F_NAME, name) != 0 || set_str(&m->base, 1, id) != 0 ||
	    set_str(&m->base, 2, ns) != 0)
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	return KD_OK;
}

static enum kd_status
parse_parent(const struct kd_kind *k, const char *parent, char *ns, size_t nslen,
	     bool wildcard, struct kd_err *e)
{
	ns[0] = '\0';
	if (!k->namespaced) {
		if (parent[0] != '\0')
			return kd_err_set(e, KD_INVALID_ARGUMENT,
					   "parent: %s are not namespaced; leave parent empty",
					   k->plural);
		return KD_OK;
	}
	if (wildcard && (parent[0] == '\0' || strcmp(parent, "namespaces/-") == 0))
		return KD_OK;
	if (strncmp(parent, "namespaces/", 11) != 0 || strlen(parent + 11) >= nslen ||
	    !kd_names_is_dns_label(parent + 11))
		return kd_err_set(e, KD_INVALID_ARGUMENT,
				   "parent: \"%s\" is not namespaces/{namespace}", parent);
	snprintf(ns, nslen, "%s", parent + 11);
	return KD_OK;
}

static enum kd_status
do_create(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k, ProtobufCMessage *req,
	  ProtobufCMessage **result, int *outcome, struct kd_err *e)
{
	ProtobufCMessage **slot = kd_pb_message_field(req, C_OBJ), *obj = *slot;
	const char *id = get_str(req, C_ID);
	char ns[64];
	enum kd_status st;

	if (obj == NULL)
		return kd_err_set(e, KD_INVALID_ARGUMENT, "%s: required", k->field);
	st = parse_parent(k, get_str(req, C_PARENT), ns, sizeof(ns), false, e);
	if (st != KD_OK)
		return st;
	if (id[0] == '\0' && meta_of(obj) != NULL)
		id = meta_of(obj)->name;
	if (id[0] == '\0')
		return kd_err_set(e, KD_INVALID_ARGUMENT, "%s_id: required", k->field);
	if (!kd_names_is_dns_subdomain(id) || strlen(id) > 253)
		return kd_err_set(e, KD_INVALID_ARGUMENT,
				   "%s_id: \"%s\" is not a DNS subdomain name (a-z, 0-9, '-', '.')",
				   k->field, id);
	*slot = NULL;	/* the object is ours from here on */
	st = name_object(k, obj, ns, id, e);
	if (st != KD_OK) {
		protobuf_c_message_free_unpacked(obj, NULL);
		return st;
	}
	return commit(api, t, k, obj, true, false, result, outcome, e);
}

enum kd_status
kd_api_create(struct kd_api *api, const struct kd_kind *k, ProtobufCMessage *obj,
	      struct kd_err *e)
{
	PB(ObjectMeta) *m = meta_of(obj);
	ProtobufCMessage *result;
	struct kd_txn t = { 0 };
	enum kd_status st;
	char ns[64], id[254];
	int outcome;

	if (m == NULL) {
		protobuf_c_message_free_unpacked(obj, NULL);
		return kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	}
	snprintf(ns, sizeof(ns), "%s", m->namespace_);
	snprintf(id, sizeof(id), "%s", m->name);
	st = name_object(k, obj, ns, id, e);
	if (st != KD_OK) {
		protobuf_c_message_free_unpacked(obj, NULL);
		return st;
	}
	st = commit(api, &t, k, obj, true, false, &result, &outcome, e);
	if (st != KD_OK) {
		kd_txn_abort(api, &t);
		return st;
	}
	return kd_txn_commit(api, &t, e);
}

static enum kd_status
parse_name(const struct kd_kind *k, const char *field_name, const char *name, char *ns,
	   char *id, struct kd_err *e)
{
	if (name[0] == '\0')
		return kd_err_set(e, KD_INVALID_ARGUMENT, "%s: required", field_name);
	if (kd_kind_name_parse(k, name, ns, 64, id, 254) != 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT, "%s: \"%s\" is not a %s name (%s%s/{name})",
				   field_name, name, k->kind,
				   k->namespaced ? "namespaces/{namespace}/" : "", k->collection);
	return KD_OK;
}

static enum kd_status
do_update(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k, ProtobufCMessage *req,
	  ProtobufCMessage **result, int *outcome, struct kd_err *e)
{
	ProtobufCMessage **slot = kd_pb_message_field(req, U_OBJ), *obj = *slot;
	const Google__Protobuf__FieldMask *mask = *(Google__Protobuf__FieldMask **)field_ptr(req, U_MASK);
	bool allow_missing = *(protobuf_c_boolean *)field_ptr(req, U_ALLOW);
	char ns[64], id[254], path[64];
	enum kd_status st;

	if (obj == NULL)
		return kd_err_set(e, KD_INVALID_ARGUMENT, "%s: required", k->field);
	snprintf(path, sizeof(path), "%s.name", k->field);
	st = parse_name(k, path, get_str(obj, F_NAME), ns, id, e);
	if (st != KD_OK)
		return st;
	if (mask != NULL && !(mask->n_paths == 0 ||
			      (mask->n_paths == 1 && strcmp(mask->paths[0], "*") == 0)))
		return kd_err_set(e, KD_INVALID_ARGUMENT,
				   "update_mask: only a full replacement (\"*\" or empty) is "
				   "supported, not \"%s\"", mask->paths[0]);
	*slot = NULL;
	st = name_object(k, obj, ns, id, e);
	if (st != KD_OK) {
		protobuf_c_message_free_unpacked(obj, NULL);
		return st;
	}
	return commit(api, t, k, obj, false, allow_missing, result, outcome, e);
}

static enum kd_status
do_delete(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k, ProtobufCMessage *req,
	  int *outcome, struct kd_err *e)
{
	const char *name = get_str(req, D_NAME), *user;
	bool allow_missing = *(protobuf_c_boolean *)field_ptr(req, D_ALLOW);
	ProtobufCMessage *obj;
	char ns[64], id[254];
	enum kd_status st;

	st = parse_name(k, "name", name, ns, id, e);
	if (st != KD_OK)
		return st;
	*outcome = PB_C(BATCH_OUTCOME__BATCH_OUTCOME_ABSENT);
	if (kd_store_get(&api->store, k->id, name) == NULL)
		return allow_missing ? KD_OK : kd_err_set(e, KD_NOT_FOUND, "%s not found", name);
	if (k->id == KD_KIND_VPC && (user = vpc_user(api, name)) != NULL)
		return kd_err_set(e, KD_FAILED_PRECONDITION, "%s is used by %s", name, user);
	obj = kd_store_del(&api->store, k->id, name);
	st = kd_txn_add(t, k->id, obj, NULL, e);
	if (st != KD_OK) {
		ProtobufCMessage *none;

		kd_store_put(&api->store, k->id, obj, &none);
		return st;
	}
	*outcome = PB_C(BATCH_OUTCOME__BATCH_OUTCOME_DELETED);
	return KD_OK;
}

static enum kd_status
do_list(struct kd_api *api, const struct kd_kind *k, ProtobufCMessage *req, uint8_t **out,
	size_t *len, struct kd_err *e)
{
	const struct kd_store_kind *sk = &api->store.kind[k->id];
	int32_t size = *(int32_t *)field_ptr(req, L_SIZE);
	const char *token = get_str(req, L_TOKEN);
	char ns[64], tns[64], tid[254], prefix[96] = "";
	ProtobufCMessage *resp, **items;
	struct status_buf *sb;
	size_t i, n = 0, start, plen;
	enum kd_status st;
	char *next = NULL;

	st = parse_parent(k, get_str(req, L_PARENT), ns, sizeof(ns), true, e);
	if (st != KD_OK)
		return st;
	if (size < 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT, "page_size: %d is negative", size);
	size = size == 0 ? KD_API_PAGE_DEFAULT : RTE_MIN(size, KD_API_PAGE_MAX);
	if (token[0] != '\0' && kd_kind_name_parse(k, token, tns, sizeof(tns), tid, sizeof(tid)) != 0)
		return kd_err_set(e, KD_INVALID_ARGUMENT, "page_token: \"%s\" is not valid", token);
	if (ns[0] != '\0')
		snprintf(prefix, sizeof(prefix), "namespaces/%s/", ns);
	plen = strlen(prefix);
	start = kd_store_after(&api->store, k->id, token[0] != '\0' ? token : prefix);
	items = calloc((size_t)size + 1, sizeof(*items));
	sb = calloc((size_t)size + 1, sizeof(*sb));
	if (items == NULL || sb == NULL) {
		st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (i = start; i < sk->n && strncmp(kd_store_name(sk->obj[i]), prefix, plen) == 0; i++) {
		if (n == (size_t)size) {
			next = (char *)(uintptr_t)kd_store_name(items[n - 1]);
			break;
		}
		decorate(api, k, sk->obj[i], &sb[n]);
		items[n++] = sk->obj[i];
	}
	/* The response is assembled around borrowed objects and never freed as a whole. */
	resp = malloc(k->list_resp->sizeof_message);
	if (resp == NULL) {
		st = kd_err_set(e, KD_RESOURCE_EXHAUSTED, "out of memory");
	} else {
		const ProtobufCFieldDescriptor *fi = protobuf_c_message_descriptor_get_field(k->list_resp, 1);
		const ProtobufCFieldDescriptor *ft = protobuf_c_message_descriptor_get_field(k->list_resp, 2);

		k->list_resp->message_init(resp);
		*(size_t *)((char *)resp + fi->quantifier_offset) = n;
		*(ProtobufCMessage ***)((char *)resp + fi->offset) = items;
		*(const char **)((char *)resp + ft->offset) = next != NULL ? next : "";
		st = kd_api_pack(resp, out, len, e);
		free(resp);
	}
	for (i = 0; i < n; i++)
		undecorate(k, items[i]);
out:
	free(items);
	free(sb);
	return st;
}

enum kd_status
kd_api_mutate(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k, enum kd_verb verb,
	      ProtobufCMessage *req, ProtobufCMessage **result, int *outcome, struct kd_err *e)
{
	*result = NULL;
	if (verb == KD_VERB_CREATE)
		return do_create(api, t, k, req, result, outcome, e);
	if (verb == KD_VERB_UPDATE)
		return do_update(api, t, k, req, result, outcome, e);
	return do_delete(api, t, k, req, outcome, e);
}

/* A mutation into t, its response packed (Empty for a delete) if it succeeded. */
static enum kd_status
mutate_packed(struct kd_api *api, struct kd_txn *t, const struct kd_kind *k, enum kd_verb verb,
	      ProtobufCMessage *req, uint8_t **resp, size_t *resp_len, struct kd_err *e)
{
	ProtobufCMessage *result;
	enum kd_status st;
	int outcome;

	st = kd_api_mutate(api, t, k, verb, req, &result, &outcome, e);
	if (st != KD_OK)
		return st;
	if (verb == KD_VERB_DELETE) {
		Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

		return kd_api_pack(&empty.base, resp, resp_len, e);
	}
	return pack_object(api, k, result, resp, resp_len, e);
}

bool
kd_api_stageable(const char *method)
{
	const struct kd_kind *k;
	enum kd_verb verb;

	return kd_kind_parse_method(method, &k, &verb) == 0 &&
	       (verb == KD_VERB_CREATE || verb == KD_VERB_UPDATE || verb == KD_VERB_DELETE);
}

enum kd_status
kd_api_stage(struct kd_api *api, const char *method, const uint8_t *req_buf, size_t req_len,
	     uint8_t **resp, size_t *resp_len, struct kd_err *e)
{
	const struct kd_kind *k;
	ProtobufCMessage *req;
	enum kd_verb verb;
	enum kd_status st;
	size_t before = api->pending.n;

	api->n_requests++;
	*resp = NULL;
	*resp_len = 0;
	if (!kd_api_stageable(method) || kd_kind_parse_method(method, &k, &verb) != 0) {
		api->n_errors++;
		return kd_err_set(e, KD_UNIMPLEMENTED, "%s cannot be staged", method);
	}
	req = protobuf_c_message_unpack(k->req[verb], NULL, req_len, req_buf);
	if (req == NULL) {
		api->n_errors++;
		return kd_err_set(e, KD_INVALID_ARGUMENT, "the request is not a valid %s",
				  k->req[verb]->short_name);
	}
	st = mutate_packed(api, &api->pending, k, verb, req, resp, resp_len, e);
	if (st != KD_OK) {
		/* Only a failed pack leaves a change of this call behind: take it back. */
		while (api->pending.n > before)
			kd_txn_undo_last(api, &api->pending);
		free(*resp);
		*resp = NULL;
		api->n_errors++;
	} else {
		api->n_staged++;
	}
	protobuf_c_message_free_unpacked(req, NULL);
	return st;
}

enum kd_status
kd_api_flush(struct kd_api *api, struct kd_err *e)
{
	if (api->pending.n == 0)
		return KD_OK;
	api->n_flushes++;
	return kd_txn_commit(api, &api->pending, e);
}

enum kd_status
kd_api_call(struct kd_api *api, const char *method, const uint8_t *req_buf, size_t req_len,
	    uint8_t **resp, size_t *resp_len, struct kd_err *e)
{
	const ProtobufCMessageDescriptor *d;
	const struct kd_kind *k = NULL;
	ProtobufCMessage *req, *result = NULL;
	enum kd_verb verb = KD_VERB_GET;
	enum kd_status st;
	struct kd_txn t = { 0 };

	api->n_requests++;
	*resp = NULL;
	*resp_len = 0;
	if (kd_kind_parse_method(method, &k, &verb) == 0)
		d = k->req[verb];
	else if (strcmp(method, "/" KD_API_SERVICE "/ListFlows") == 0)
		d = &PB_DESC(list_flows_request);
	else if (strcmp(method, "/" KD_API_SERVICE "/GetStats") == 0)
		d = &PB_DESC(get_stats_request);
	else if (strcmp(method, "/" KD_API_SERVICE "/ListServiceFrontends") == 0)
		d = &PB_DESC(list_service_frontends_request);
	else if (strcmp(method, "/" KD_API_SERVICE "/Batch") == 0)
		d = &PB_DESC(batch_request);
	else {
		api->n_errors++;
		return kd_err_set(e, KD_UNIMPLEMENTED, "unknown method %s", method);
	}
	req = protobuf_c_message_unpack(d, NULL, req_len, req_buf);
	if (req == NULL) {
		api->n_errors++;
		return kd_err_set(e, KD_INVALID_ARGUMENT, "the request is not a valid %s",
				   d->short_name);
	}
	if (k == NULL) {
		if (d == &PB_DESC(list_flows_request))
			st = kd_api_list_flows(api, (PB(ListFlowsRequest) *)req, resp, resp_len, e);
		else if (d == &PB_DESC(list_service_frontends_request))
			st = kd_api_list_frontends(api, (PB(ListServiceFrontendsRequest) *)req, resp,
						   resp_len, e);
		else if (d == &PB_DESC(batch_request))
			st = kd_api_batch(api, (PB(BatchRequest) *)req, resp, resp_len, e);
		else
			st = kd_api_get_stats(api, resp, resp_len, e);
		goto done;
	}
	switch (verb) {
	case KD_VERB_GET: {
		char ns[64], id[254];

		st = parse_name(k, "name", get_str(req, 1), ns, id, e);
		if (st == KD_OK) {
			result = kd_store_get(&api->store, k->id, get_str(req, 1));
			if (result == NULL)
				st = kd_err_set(e, KD_NOT_FOUND, "%s not found", get_str(req, 1));
		}
		break;
	}
	case KD_VERB_LIST:
		st = do_list(api, k, req, resp, resp_len, e);
		break;
	default:
		st = mutate_packed(api, &t, k, verb, req, resp, resp_len, e);
		if (st == KD_OK)
			st = kd_txn_commit(api, &t, e);
		else
			kd_txn_abort(api, &t);
		if (st != KD_OK) {
			free(*resp);
			*resp = NULL;
			*resp_len = 0;
		}
		break;
	}
	if (st == KD_OK && result != NULL)
		st = pack_object(api, k, result, resp, resp_len, e);
done:
	protobuf_c_message_free_unpacked(req, NULL);
	if (st != KD_OK)
		api->n_errors++;
	return st;
}
