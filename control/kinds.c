/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "control/kinds.h"

#define KIND(ID, K, P, C, F, V, S, NS, d) \
	[KD_KIND_##ID] = { \
		.id = KD_KIND_##ID, .kind = #K, .plural = #P, .collection = C, .field = F, \
		.api_version = V, .short_name = S, .namespaced = NS, \
		.desc = &PB_DESC(d), \
		.req = { &PB_DESC(create_##d##_request), &PB_DESC(get_##d##_request), \
			 &PB_DESC(list_##d##s_request), &PB_DESC(update_##d##_request), \
			 &PB_DESC(delete_##d##_request) }, \
		.list_resp = &PB_DESC(list_##d##s_response), \
	}

/* NetworkPolicy's plural is irregular; its descriptors are spelled out. */
#define opi_api__network__k8s__v1alpha1__list_network_policys_request__descriptor \
	opi_api__network__k8s__v1alpha1__list_network_policies_request__descriptor
#define opi_api__network__k8s__v1alpha1__list_network_policys_response__descriptor \
	opi_api__network__k8s__v1alpha1__list_network_policies_response__descriptor

const struct kd_kind kd_kinds[KD_KIND_MAX] = {
	KIND(VPC, Vpc, Vpcs, "vpcs", "vpc", "kdpu.io/v1alpha1", NULL, false, vpc),
	KIND(NODE, Node, Nodes, "nodes", "node", "kdpu.io/v1alpha1", "no", false, node),
	KIND(NETDEV, Netdev, Netdevs, "netdevs", "netdev", "kdpu.io/v1alpha1", NULL, false,
	     netdev),
	KIND(NAMESPACE, Namespace, Namespaces, "namespaces", "namespace", "v1", "ns", false,
	     namespace),
	KIND(POD, Pod, Pods, "pods", "pod", "v1", "po", true, pod),
	KIND(SERVICE, Service, Services, "services", "service", "v1", "svc", true, service),
	KIND(ENDPOINTSLICE, EndpointSlice, EndpointSlices, "endpointslices", "endpoint_slice",
	     "discovery.k8s.io/v1", NULL, true, endpoint_slice),
	KIND(NETWORKPOLICY, NetworkPolicy, NetworkPolicies, "networkpolicies",
	     "network_policy", "networking.k8s.io/v1", "netpol", true, network_policy),
};

static const char *const verbs[] = { "Create", "Get", "List", "Update", "Delete" };

const struct kd_kind *
kd_kind_lookup(const char *s)
{
	unsigned int i;

	for (i = 0; i < KD_KIND_MAX; i++) {
		const struct kd_kind *k = &kd_kinds[i];

		if (strcasecmp(s, k->kind) == 0 || strcasecmp(s, k->plural) == 0 ||
		    strcasecmp(s, k->collection) == 0 ||
		    (k->short_name != NULL && strcasecmp(s, k->short_name) == 0))
			return k;
	}
	return NULL;
}

void
kd_kind_method(const struct kd_kind *k, enum kd_verb verb, char *buf, size_t len)
{
	snprintf(buf, len, "/" KD_API_SERVICE "/%s%s", verbs[verb],
		 verb == KD_VERB_LIST ? k->plural : k->kind);
}

int
kd_kind_parse_method(const char *method, const struct kd_kind **kp, enum kd_verb *verb)
{
	static const char prefix[] = "/" KD_API_SERVICE "/";
	unsigned int v, i;

	if (strncmp(method, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	method += sizeof(prefix) - 1;
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		size_t n = strlen(verbs[v]);

		if (strncmp(method, verbs[v], n) != 0)
			continue;
		for (i = 0; i < KD_KIND_MAX; i++) {
			const struct kd_kind *k = &kd_kinds[i];

			if (strcmp(method + n, v == KD_VERB_LIST ? k->plural : k->kind) == 0) {
				*kp = k;
				*verb = (enum kd_verb)v;
				return 0;
			}
		}
	}
	return -1;
}

/* Copies one '/'-terminated segment; returns the rest after the '/', or NULL. */
static const char *
segment(const char *s, char *out, size_t len, bool last)
{
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

	if ((slash != NULL) == last || n == 0 || n >= len)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return slash != NULL ? slash + 1 : s + n;
}

int
kd_name_parse(const struct kd_kind *k, const char *name, char *ns, size_t nslen, char *id,
	      size_t idlen)
{
	char coll[32];
	const char *p = name;

	ns[0] = '\0';
	if (k->namespaced) {
		p = segment(p, coll, sizeof(coll), false);
		if (p == NULL || strcmp(coll, "namespaces") != 0)
			return -1;
		p = segment(p, ns, nslen, false);
		if (p == NULL || !kd_name_is_dns_label(ns))
			return -1;
	}
	p = segment(p, coll, sizeof(coll), false);
	if (p == NULL || strcmp(coll, k->collection) != 0)
		return -1;
	p = segment(p, id, idlen, true);
	if (p == NULL || !kd_name_is_dns_subdomain(id))
		return -1;
	return 0;
}

void
kd_name_format(const struct kd_kind *k, const char *ns, const char *id, char *buf, size_t len)
{
	if (k->namespaced)
		snprintf(buf, len, "namespaces/%s/%s/%s", ns, k->collection, id);
	else
		snprintf(buf, len, "%s/%s", k->collection, id);
}

char **
kd_pb_string_field(ProtobufCMessage *m, unsigned int number)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(m->descriptor, number);

	if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return (char **)((char *)m + f->offset);
}

ProtobufCMessage **
kd_pb_message_field(ProtobufCMessage *m, unsigned int number)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(m->descriptor, number);

	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE ||
	    f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return (ProtobufCMessage **)((char *)m + f->offset);
}

size_t
kd_pb_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

bool
kd_pb_is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);

	return d->n_fields == 2 && n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

size_t
kd_pb_enum_prefix_len(const ProtobufCEnumDescriptor *d)
{
	const char *a, *b;
	size_t plen = 0, i;

	if (d->n_values < 2)
		return 0;
	a = d->values[0].name;
	b = d->values[1].name;
	while (a[plen] != '\0' && a[plen] == b[plen])
		plen++;
	for (i = 2; i < d->n_values; i++)
		while (plen > 0 && strncmp(d->values[i].name, a, plen) != 0)
			plen--;
	while (plen > 0 && a[plen - 1] != '_')
		plen--;
	return plen;
}

size_t
kd_fpath_push(struct kd_fpath *p, const char *fmt, ...)
{
	size_t saved = p->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p->s + p->len, sizeof(p->s) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof(p->s) ? p->len + (size_t)n : sizeof(p->s) - 1;
	return saved;
}

void
kd_fpath_pop(struct kd_fpath *p, size_t len)
{
	p->len = len;
	p->s[len] = '\0';
}
