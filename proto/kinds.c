/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/kinds.h"

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
kd_kind_name_parse(const struct kd_kind *k, const char *name, char *ns, size_t nslen, char *id,
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
		if (p == NULL || !kd_names_is_dns_label(ns))
			return -1;
	}
	p = segment(p, coll, sizeof(coll), false);
	if (p == NULL || strcmp(coll, k->collection) != 0)
		return -1;
	p = segment(p, id, idlen, true);
	if (p == NULL || !kd_names_is_dns_subdomain(id))
		return -1;
	return 0;
}

void
kd_kind_name_format(const struct kd_kind *k, const char *ns, const char *id, char *buf, size_t len)
{
	if (k->namespaced)
		snprintf(buf, len, "namespaces/%s/%s/%s", ns, k->collection, id);
	else
		snprintf(buf, len, "%s/%s", k->collection, id);
}
