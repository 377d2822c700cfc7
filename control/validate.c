/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request validation: syntax, ranges, list sizes and references of every
 * kind, with messages that name the field ("pod.spec.containers[0].ports[1]
 * .container_port: ..."). Maps are sorted by key here, so that an identical
 * object packs to identical bytes and a re-create is recognised as a no-op.
 * Runs before anything changes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/store.h"
#include "control/validate.h"

/* Bounds on lists; Kubernetes' own where it has them. */
#define MAX_LABELS 64
#define MAX_CIDRS 64
#define MAX_ADDRS 64
#define MAX_PORTS 256
#define MAX_CONTAINERS 64
#define MAX_ENDPOINTS 1000	/* EndpointSlice's limit */
#define MAX_ENDPOINT_ADDRS 100
#define MAX_SLICE_PORTS 100
#define MAX_RULES 256
#define MAX_PEERS 256
#define MAX_VALUES 256

struct vctx {
	const struct kd_store *store;
	const struct kd_config *cfg;
	struct kd_err *e;
	struct kd_pb_path path;
};

static int
bad(struct vctx *v, enum kd_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
bad(struct vctx *v, enum kd_status code, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kd_err_set(v->e, code, "%s: %s", v->path.s, msg);
	return -1;
}

#define INVALID(v, ...) bad(v, KD_INVALID_ARGUMENT, __VA_ARGS__)
/* Run a check under a sub-path; return on failure. */
#define UNDER(v, check, ...) do { \
		size_t s_ = kd_pb_path_push(&v->path, __VA_ARGS__); \
		if ((check) != 0) return -1; \
		kd_pb_path_pop(&v->path, s_); \
	} while (0)

static bool
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static int
check_count(struct vctx *v, const char *field, size_t n, size_t max)
{
	if (n <= max)
		return 0;
	kd_pb_path_push(&v->path, ".%s", field);
	return INVALID(v, "%zu entries, at most %zu allowed", n, max);
}

static int
check_ipv4(struct vctx *v, const char *s, bool required)
{
	rte_be32_t ip;

	if (empty(s))
		return required ? INVALID(v, "required") : 0;
	if (kd_config_parse_ipv4(s, &ip) != 0)
		return INVALID(v, "\"%s\" is not an IPv4 address", s);
	return 0;
}

/* Kubernetes objects may carry IPv6 addresses; kdpu stores them and routes IPv4 only. */
static int
check_ip(struct vctx *v, const char *s)
{
	struct in6_addr a6;
	rte_be32_t ip;

	if (empty(s))
		return INVALID(v, "required");
	if (kd_config_parse_ipv4(s, &ip) != 0 && inet_pton(AF_INET6, s, &a6) != 1)
		return INVALID(v, "\"%s\" is not an IP address", s);
	return 0;
}

static int
check_cidr(struct vctx *v, const char *s, bool strict)
{
	rte_be32_t p;
	uint8_t l;

	if (empty(s))
		return INVALID(v, "required");
	if (kd_config_parse_cidr(s, &p, &l, strict) != 0)
		return INVALID(v, "\"%s\" is not an IPv4 CIDR a.b.c.d/n%s", s,
			       strict ? " without host bits" : "");
	return 0;
}

static int
check_cidrs(struct vctx *v, const char *field, char **s, size_t n, bool strict)
{
	size_t i;

	if (check_count(v, field, n, MAX_CIDRS) != 0)
		return -1;
	for (i = 0; i < n; i++)
		UNDER(v, check_cidr(v, s[i], strict), ".%s[%zu]", field, i);
	return 0;
}

static int
check_mac(struct vctx *v, const char *s, bool required)
{
	struct rte_ether_addr mac;

	if (empty(s))
		return required ? INVALID(v, "required") : 0;
	if (kd_config_parse_mac(s, &mac) != 0)
		return INVALID(v, "\"%s\" is not a unicast MAC address", s);
	return 0;
}

static int
check_port(struct vctx *v, int32_t port, bool required)
{
	if (port == 0 && !required)
		return 0;
	if (port < 1 || port > 65535)
		return INVALID(v, "%d is not a port number 1..65535", port);
	return 0;
}

static int
check_protocol(struct vctx *v, int proto)
{
	if (proto < 0 || proto > PB_C(PROTOCOL__PROTOCOL_SCTP))
		return INVALID(v, "unknown protocol %d", proto);
	return 0;
}

/* IANA_SVC_NAME: 1..15 of [a-z0-9-], a letter somewhere, no "--", no '-' at either end. */
static bool
is_port_name(const char *s)
{
	size_t i, n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--") != NULL)
		return false;
	for (i = 0; i < n; i++) {
		if (islower((unsigned char)s[i]))
			letter = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return letter;
}

static int
check_port_name(struct vctx *v, const char *s, bool required)
{
	if (empty(s))
		return required ? INVALID(v, "required") : 0;
	if (!is_port_name(s))
		return INVALID(v, "\"%s\" is not a port name (1-15 of a-z, 0-9, '-', with a letter)",
			       s);
	return 0;
}

static int
check_int_or_string(struct vctx *v, const PB(IntOrString) *p)
{
	if (p == NULL)
		return 0;
	if (p->value_case == PB_C(INT_OR_STRING__VALUE_NAME))
		return check_port_name(v, p->name, true);
	if (p->value_case == PB_C(INT_OR_STRING__VALUE_NUMBER))
		return check_port(v, p->number, true);
	return 0;
}

/* A label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends; may be empty. */
static bool
is_label_value(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return true;
	if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("-_.", s[i]) == NULL)
			return false;
	return true;
}

/* A label key: [prefix/]name, prefix a DNS subdomain, name a non-empty label value. */
static bool
is_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	char prefix[254];

	if (slash != NULL) {
		size_t n = (size_t)(slash - s);

		if (n == 0 || n >= sizeof(prefix))
			return false;
		memcpy(prefix, s, n);
		prefix[n] = '\0';
		if (!kd_names_is_dns_subdomain(prefix))
			return false;
		s = slash + 1;
	}
	return s[0] != '\0' && is_label_value(s);
}

/* Map entries share the layout {base, key, value} for string maps. */
struct kv {
	ProtobufCMessage base;
	char *key;
	char *value;
};

static int
kv_cmp(const void *a, const void *b)
{
	return strcmp((*(struct kv *const *)a)->key, (*(struct kv *const *)b)->key);
}

static int
check_labels(struct vctx *v, const char *field, void *entries, size_t n)
{
	struct kv **e = entries;
	size_t i;

	if (check_count(v, field, n, MAX_LABELS) != 0)
		return -1;
	if (n > 1)
		qsort(e, n, sizeof(*e), kv_cmp);
	for (i = 0; i < n; i++) {
		size_t s = kd_pb_path_push(&v->path, ".%s[\"%s\"]", field, e[i]->key);

		if (!is_label_key(e[i]->key))
			return INVALID(v, "not a label key");
		if (!is_label_value(e[i]->value))
			return INVALID(v, "\"%s\" is not a label value", e[i]->value);
		if (i > 0 && strcmp(e[i - 1]->key, e[i]->key) == 0)
			return INVALID(v, "key given twice");
		kd_pb_path_pop(&v->path, s);
	}
	return 0;
}

static int
check_selector(struct vctx *v, const PB(LabelSelector) *sel)
{
	size_t i, j;

	if (sel == NULL)
		return 0;
	if (check_labels(v, "match_labels", sel->match_labels, sel->n_match_labels) != 0 ||
	    check_count(v, "match_expressions", sel->n_match_expressions, MAX_LABELS) != 0)
		return -1;
	for (i = 0; i < sel->n_match_expressions; i++) {
		const PB(LabelSelectorRequirement) *r = sel->match_expressions[i];
		size_t s = kd_pb_path_push(&v->path, ".match_expressions[%zu]", i);
		bool set_op;

		UNDER(v, is_label_key(r->key) ? 0 : INVALID(v, "\"%s\" is not a label key", r->key),
		      ".key");
		if (strcmp(r->operator_, "In") == 0 || strcmp(r->operator_, "NotIn") == 0)
			set_op = true;
		else if (strcmp(r->operator_, "Exists") == 0 ||
			 strcmp(r->operator_, "DoesNotExist") == 0)
			set_op = false;
		else {
			kd_pb_path_push(&v->path, ".operator");
			return INVALID(v, "\"%s\" is not In, NotIn, Exists or DoesNotExist",
				       r->operator_);
		}
		kd_pb_path_push(&v->path, ".values");
		if (set_op && r->n_values == 0)
			return INVALID(v, "%s needs at least one value", r->operator_);
		if (!set_op && r->n_values != 0)
			return INVALID(v, "%s takes no values", r->operator_);
		if (r->n_values > MAX_VALUES)
			return INVALID(v, "%zu entries, at most %d allowed", r->n_values, MAX_VALUES);
		for (j = 0; j < r->n_values; j++)
			if (!is_label_value(r->values[j]))
				return INVALID(v, "\"%s\" is not a label value", r->values[j]);
		kd_pb_path_pop(&v->path, s);
	}
	return 0;
}

static int
check_meta(struct vctx *v, const PB(ObjectMeta) *m)
{
	if (m == NULL)
		return 0;
	UNDER(v, check_labels(v, "labels", m->labels, m->n_labels), ".metadata");
	return 0;
}

/* A reference to another object that must exist. */
static int
check_ref(struct vctx *v, const struct kd_kind *k, const char *name, bool required)
{
	char ns[64], id[254];

	if (empty(name))
		return required ? INVALID(v, "required") : 0;
	if (kd_kind_name_parse(k, name, ns, sizeof(ns), id, sizeof(id)) != 0)
		return INVALID(v, "\"%s\" is not a %s name (%s/{name})", name, k->kind,
			       k->collection);
	if (kd_store_get(v->store, k->id, name) == NULL)
		return bad(v, KD_FAILED_PRECONDITION, "%s does not exist", name);
	return 0;
}

static int
vpc_check(struct vctx *v, ProtobufCMessage *obj)
{
	PB(Vpc) *o = (PB(Vpc) *)obj;
	const PB(VpcSpec) *s = o->spec;
	const struct kd_store_kind *vpcs = &v->store->kind[KD_KIND_VPC];
	size_t i;

	kd_pb_path_push(&v->path, ".spec");
	if (s == NULL)
		return INVALID(v, "required");
	UNDER(v, s->vni >= 1 && s->vni <= 0xffffff ? 0 :
		 INVALID(v, "%u is not a VNI 1..16777215", s->vni), ".vni");
	for (i = 0; i < vpcs->n; i++) {
		const PB(Vpc) *x = (const PB(Vpc) *)vpcs->obj[i];

		if (x->spec->vni == s->vni && strcmp(x->name, o->name) != 0) {
			kd_pb_path_push(&v->path, ".vni");
			return bad(v, KD_ALREADY_EXISTS, "VNI %u is used by %s", s->vni, x->name);
		}
	}
	UNDER(v, check_ipv4(v, s->gateway_ip, true), ".gateway_ip");
	UNDER(v, check_mac(v, s->gateway_mac, false), ".gateway_mac");
	return check_cidrs(v, "pod_cidrs", s->pod_cidrs, s->n_pod_cidrs, true);
}

static int
node_check(struct vctx *v, ProtobufCMessage *obj)
{
	const PB(NodeSpec) *s = ((PB(Node) *)obj)->spec;

	kd_pb_path_push(&v->path, ".spec");
	if (s == NULL)
		return INVALID(v, "required");
	UNDER(v, check_ipv4(v, s->vtep_ip, true), ".vtep_ip");
	if (check_cidrs(v, "pod_cidrs", s->pod_cidrs, s->n_pod_cidrs, true) != 0)
		return -1;
	UNDER(v, check_ref(v, &kd_kinds[KD_KIND_VPC], s->vpc, s->n_pod_cidrs != 0), ".vpc");
	UNDER(v, check_mac(v, s->mac, false), ".mac");
	return 0;
}

static int
netdev_check(struct vctx *v, ProtobufCMessage *obj)
{
	PB(Netdev) *o = (PB(Netdev) *)obj;
	const PB(NetdevSpec) *s = o->spec;
	const struct kd_config *cfg = v->cfg;
	const struct kd_store_kind *nds = &v->store->kind[KD_KIND_NETDEV];
	bool port_found = false;
	char ns[64], id[254];
	size_t i, sv;

	kd_pb_path_push(&v->path, ".spec");
	if (s == NULL)
		return INVALID(v, "required");
	sv = kd_pb_path_push(&v->path, ".pci_address");
	if (empty(s->pci_address))
		return INVALID(v, "required");
	for (i = 0; cfg != NULL && i < cfg->n_ports; i++)
		if (cfg->ports[i].role == KD_CFG_ROLE_VNIC &&
		    strcmp(cfg->ports[i].pci, s->pci_address) == 0)
			port_found = true;
	if (!port_found)
		return bad(v, KD_FAILED_PRECONDITION, "no vNIC port has PCI address \"%s\"",
			   s->pci_address);
	for (i = 0; i < nds->n; i++) {
		const PB(Netdev) *x = (const PB(Netdev) *)nds->obj[i];

		if (strcmp(x->name, o->name) != 0 && strcmp(x->spec->pci_address, s->pci_address) == 0)
			return bad(v, KD_FAILED_PRECONDITION, "\"%s\" is bound to %s",
				   s->pci_address, x->name);
	}
	kd_pb_path_pop(&v->path, sv);
	UNDER(v, check_ref(v, &kd_kinds[KD_KIND_VPC], s->vpc, true), ".vpc");
	UNDER(v, check_mac(v, s->mac, true), ".mac");
	sv = kd_pb_path_push(&v->path, ".ips");
	if (s->n_ips > 1)
		return INVALID(v, "%zu addresses; one IPv4 address per netdev is supported",
			       s->n_ips);
	if (s->n_ips == 1) {
		UNDER(v, check_ipv4(v, s->ips[0], true), "[0]");
		for (i = 0; i < nds->n; i++) {
			const PB(Netdev) *x = (const PB(Netdev) *)nds->obj[i];

			if (strcmp(x->name, o->name) != 0 && strcmp(x->spec->vpc, s->vpc) == 0 &&
			    x->spec->n_ips == 1 && strcmp(x->spec->ips[0], s->ips[0]) == 0)
				return bad(v, KD_FAILED_PRECONDITION, "%s is used by %s in %s",
					   s->ips[0], x->name, s->vpc);
		}
	}
	kd_pb_path_pop(&v->path, sv);
	kd_pb_path_push(&v->path, ".pod");
	if (!empty(s->pod) &&
	    kd_kind_name_parse(&kd_kinds[KD_KIND_POD], s->pod, ns, sizeof(ns), id, sizeof(id)) != 0)
		return INVALID(v, "\"%s\" is not a pod name (namespaces/{ns}/pods/{pod})", s->pod);
	return 0;
}

static int
pod_check(struct vctx *v, ProtobufCMessage *obj)
{
	const PB(Pod) *o = (const PB(Pod) *)obj;
	size_t i, j;

	if (o->spec != NULL) {
		const PB(PodSpec) *s = o->spec;
		size_t sv = kd_pb_path_push(&v->path, ".spec");

		UNDER(v, empty(s->node_name) || kd_names_is_dns_subdomain(s->node_name) ? 0 :
			 INVALID(v, "\"%s\" is not a node name", s->node_name), ".node_name");
		if (check_count(v, "containers", s->n_containers, MAX_CONTAINERS) != 0)
			return -1;
		for (i = 0; i < s->n_containers; i++) {
			const PB(Container) *c = s->containers[i];
			size_t sc = kd_pb_path_push(&v->path, ".containers[%zu]", i);

			if (check_count(v, "ports", c->n_ports, MAX_PORTS) != 0)
				return -1;
			for (j = 0; j < c->n_ports; j++) {
				const PB(ContainerPort) *p = c->ports[j];
				size_t sp = kd_pb_path_push(&v->path, ".ports[%zu]", j);

				UNDER(v, check_port_name(v, p->name, false), ".name");
				UNDER(v, check_port(v, p->container_port, true), ".container_port");
				UNDER(v, check_protocol(v, p->protocol), ".protocol");
				kd_pb_path_pop(&v->path, sp);
			}
			kd_pb_path_pop(&v->path, sc);
		}
		kd_pb_path_pop(&v->path, sv);
	}
	if (o->status != NULL) {
		const PB(PodStatus) *s = o->status;

		kd_pb_path_push(&v->path, ".status");
		if (!empty(s->pod_ip))
			UNDER(v, check_ip(v, s->pod_ip), ".pod_ip");
		if (check_count(v, "pod_ips", s->n_pod_ips, 2) != 0)
			return -1;
		for (i = 0; i < s->n_pod_ips; i++)
			UNDER(v, check_ip(v, s->pod_ips[i]->ip), ".pod_ips[%zu].ip", i);
	}
	return 0;
}

static int
service_check(struct vctx *v, ProtobufCMessage *obj)
{
	const PB(Service) *o = (const PB(Service) *)obj;
	const PB(ServiceSpec) *s = o->spec;
	size_t i, j, base = kd_pb_path_push(&v->path, ".spec");

	if (s == NULL)
		return INVALID(v, "required");
	UNDER(v, s->type >= 0 && s->type <= PB_C(SERVICE_TYPE__SERVICE_TYPE_EXTERNAL_NAME) ? 0 :
		 INVALID(v, "unknown type %d", s->type), ".type");
	if (!empty(s->cluster_ip) && strcmp(s->cluster_ip, "None") != 0)
		UNDER(v, check_ip(v, s->cluster_ip), ".cluster_ip");
	if (check_count(v, "cluster_ips", s->n_cluster_ips, 2) != 0)
		return -1;
	for (i = 0; i < s->n_cluster_ips; i++)
		if (strcmp(s->cluster_ips[i], "None") != 0)
			UNDER(v, check_ip(v, s->cluster_ips[i]), ".cluster_ips[%zu]", i);
	if (s->n_cluster_ips > 0 && !empty(s->cluster_ip) &&
	    strcmp(s->cluster_ips[0], s->cluster_ip) != 0) {
		kd_pb_path_push(&v->path, ".cluster_ips[0]");
		return INVALID(v, "must equal cluster_ip \"%s\"", s->cluster_ip);
	}
	if (check_count(v, "ports", s->n_ports, MAX_PORTS) != 0)
		return -1;
	for (i = 0; i < s->n_ports; i++) {
		const PB(ServicePort) *p = s->ports[i];
		size_t sp = kd_pb_path_push(&v->path, ".ports[%zu]", i);

		UNDER(v, check_port_name(v, p->name, s->n_ports > 1), ".name");
		for (j = 0; j < i; j++)
			if (!empty(p->name) && strcmp(s->ports[j]->name, p->name) == 0) {
				kd_pb_path_push(&v->path, ".name");
				return INVALID(v, "\"%s\" is used by ports[%zu]", p->name, j);
			}
		UNDER(v, check_protocol(v, p->protocol), ".protocol");
		UNDER(v, check_port(v, p->port, true), ".port");
		UNDER(v, check_int_or_string(v, p->target_port), ".target_port");
		UNDER(v, check_port(v, p->node_port, false), ".node_port");
		kd_pb_path_pop(&v->path, sp);
	}
	if (check_count(v, "external_ips", s->n_external_ips, MAX_ADDRS) != 0)
		return -1;
	for (i = 0; i < s->n_external_ips; i++)
		UNDER(v, check_ip(v, s->external_ips[i]), ".external_ips[%zu]", i);
	UNDER(v, s->session_affinity >= 0 &&
		 s->session_affinity <= PB_C(SESSION_AFFINITY__SESSION_AFFINITY_CLIENT_IP) ? 0 :
		 INVALID(v, "unknown value %d", s->session_affinity), ".session_affinity");
	if (s->session_affinity_config != NULL && s->session_affinity_config->client_ip != NULL) {
		int32_t t = s->session_affinity_config->client_ip->timeout_seconds;

		UNDER(v, t >= 0 && t <= 86400 ? 0 : INVALID(v, "%d is not 1..86400", t),
		      ".session_affinity_config.client_ip.timeout_seconds");
	}
	UNDER(v, s->internal_traffic_policy >= 0 &&
		 s->internal_traffic_policy <= PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL) ? 0 :
		 INVALID(v, "unknown value %d", s->internal_traffic_policy),
	      ".internal_traffic_policy");
	UNDER(v, s->external_traffic_policy >= 0 &&
		 s->external_traffic_policy <= PB_C(TRAFFIC_POLICY__TRAFFIC_POLICY_LOCAL) ? 0 :
		 INVALID(v, "unknown value %d", s->external_traffic_policy),
	      ".external_traffic_policy");
	if (check_cidrs(v, "load_balancer_source_ranges", s->load_balancer_source_ranges,
			s->n_load_balancer_source_ranges, false) != 0 ||
	    check_labels(v, "selector", s->selector, s->n_selector) != 0)
		return -1;
	kd_pb_path_pop(&v->path, base);
	if (o->status != NULL && o->status->load_balancer != NULL) {
		const PB(LoadBalancerStatus) *lb = o->status->load_balancer;

		if (check_count(v, "status.load_balancer.ingress", lb->n_ingress, MAX_ADDRS) != 0)
			return -1;
		for (i = 0; i < lb->n_ingress; i++)
			if (!empty(lb->ingress[i]->ip))
				UNDER(v, check_ip(v, lb->ingress[i]->ip),
				      ".status.load_balancer.ingress[%zu].ip", i);
	}
	return 0;
}

static int
endpointslice_check(struct vctx *v, ProtobufCMessage *obj)
{
	const PB(EndpointSlice) *o = (const PB(EndpointSlice) *)obj;
	bool ipv4 = empty(o->address_type) || strcmp(o->address_type, "IPv4") == 0;
	size_t i, j;

	if (!ipv4 && strcmp(o->address_type, "IPv6") != 0 && strcmp(o->address_type, "FQDN") != 0)
		UNDER(v, INVALID(v, "\"%s\" is not IPv4, IPv6 or FQDN", o->address_type),
		      ".address_type");
	if (check_count(v, "endpoints", o->n_endpoints, MAX_ENDPOINTS) != 0)
		return -1;
	for (i = 0; i < o->n_endpoints; i++) {
		const PB(Endpoint) *ep = o->endpoints[i];
		size_t se = kd_pb_path_push(&v->path, ".endpoints[%zu]", i);

		kd_pb_path_push(&v->path, ".addresses");
		if (ep->n_addresses == 0)
			return INVALID(v, "at least one address is required");
		if (ep->n_addresses > MAX_ENDPOINT_ADDRS)
			return INVALID(v, "%zu entries, at most %d allowed", ep->n_addresses,
				       MAX_ENDPOINT_ADDRS);
		kd_pb_path_pop(&v->path, se);
		for (j = 0; j < ep->n_addresses; j++)
			UNDER(v, ipv4 ? check_ipv4(v, ep->addresses[j], true) :
				  empty(ep->addresses[j]) ? INVALID(v, "required") : 0,
			      ".addresses[%zu]", j);
		UNDER(v, empty(ep->node_name) || kd_names_is_dns_subdomain(ep->node_name) ? 0 :
			 INVALID(v, "\"%s\" is not a node name", ep->node_name), ".node_name");
		kd_pb_path_pop(&v->path, se);
	}
	if (check_count(v, "ports", o->n_ports, MAX_SLICE_PORTS) != 0)
		return -1;
	for (i = 0; i < o->n_ports; i++) {
		const PB(EndpointPort) *p = o->ports[i];
		size_t sp = kd_pb_path_push(&v->path, ".ports[%zu]", i);

		UNDER(v, check_port_name(v, p->name, false), ".name");
		UNDER(v, check_protocol(v, p->protocol), ".protocol");
		UNDER(v, check_port(v, p->port, false), ".port");
		kd_pb_path_pop(&v->path, sp);
	}
	return 0;
}

static int
check_peers(struct vctx *v, const char *field, PB(NetworkPolicyPeer) **peers, size_t n)
{
	size_t i, j;

	if (check_count(v, field, n, MAX_PEERS) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const PB(NetworkPolicyPeer) *p = peers[i];
		size_t sp = kd_pb_path_push(&v->path, ".%s[%zu]", field, i);

		if (p->ip_block != NULL) {
			rte_be32_t net, ex;
			uint8_t plen, elen;

			if (p->pod_selector != NULL || p->namespace_selector != NULL)
				return INVALID(v, "ip_block cannot be combined with selectors");
			kd_pb_path_push(&v->path, ".ip_block");
			UNDER(v, check_cidr(v, p->ip_block->cidr, false), ".cidr");
			if (check_cidrs(v, "except", p->ip_block->except, p->ip_block->n_except,
					false) != 0)
				return -1;
			kd_config_parse_cidr(p->ip_block->cidr, &net, &plen, false);
			for (j = 0; j < p->ip_block->n_except; j++) {
				uint32_t mask = plen == 0 ? 0 : ~0u << (32 - plen);

				kd_config_parse_cidr(p->ip_block->except[j], &ex, &elen, false);
				if (elen < plen || ((rte_be_to_cpu_32(ex) ^ rte_be_to_cpu_32(net)) &
						    mask) != 0) {
					kd_pb_path_push(&v->path, ".except[%zu]", j);
					return INVALID(v, "%s is not inside cidr %s",
						       p->ip_block->except[j], p->ip_block->cidr);
				}
			}
		} else if (p->pod_selector == NULL && p->namespace_selector == NULL) {
			return INVALID(v, "a peer needs pod_selector, namespace_selector or ip_block");
		}
		UNDER(v, check_selector(v, p->pod_selector), ".pod_selector");
		UNDER(v, check_selector(v, p->namespace_selector), ".namespace_selector");
		kd_pb_path_pop(&v->path, sp);
	}
	return 0;
}

static int
check_np_ports(struct vctx *v, PB(NetworkPolicyPort) **ports, size_t n)
{
	size_t i;

	if (check_count(v, "ports", n, MAX_PORTS) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const PB(NetworkPolicyPort) *p = ports[i];
		size_t sp = kd_pb_path_push(&v->path, ".ports[%zu]", i);

		UNDER(v, check_protocol(v, p->protocol), ".protocol");
		UNDER(v, check_int_or_string(v, p->port), ".port");
		if (p->end_port != 0) {
			kd_pb_path_push(&v->path, ".end_port");
			if (p->port == NULL || p->port->value_case != PB_C(INT_OR_STRING__VALUE_NUMBER))
				return INVALID(v, "needs a numeric port");
			if (p->end_port < p->port->number || p->end_port > 65535)
				return INVALID(v, "%d is not in %d..65535", p->end_port,
					       p->port->number);
		}
		kd_pb_path_pop(&v->path, sp);
	}
	return 0;
}

static int
networkpolicy_check(struct vctx *v, ProtobufCMessage *obj)
{
	const PB(NetworkPolicySpec) *s = ((const PB(NetworkPolicy) *)obj)->spec;
	size_t i;

	kd_pb_path_push(&v->path, ".spec");
	if (s == NULL)
		return INVALID(v, "required");
	UNDER(v, check_selector(v, s->pod_selector), ".pod_selector");
	if (check_count(v, "policy_types", s->n_policy_types, 2) != 0)
		return -1;
	for (i = 0; i < s->n_policy_types; i++)
		if (strcmp(s->policy_types[i], "Ingress") != 0 &&
		    strcmp(s->policy_types[i], "Egress") != 0)
			UNDER(v, INVALID(v, "\"%s\" is not Ingress or Egress", s->policy_types[i]),
			      ".policy_types[%zu]", i);
	if (check_count(v, "ingress", s->n_ingress, MAX_RULES) != 0 ||
	    check_count(v, "egress", s->n_egress, MAX_RULES) != 0)
		return -1;
	for (i = 0; i < s->n_ingress; i++) {
		size_t sr = kd_pb_path_push(&v->path, ".ingress[%zu]", i);

		if (check_peers(v, "from", s->ingress[i]->from, s->ingress[i]->n_from) != 0 ||
		    check_np_ports(v, s->ingress[i]->ports, s->ingress[i]->n_ports) != 0)
			return -1;
		kd_pb_path_pop(&v->path, sr);
	}
	for (i = 0; i < s->n_egress; i++) {
		size_t sr = kd_pb_path_push(&v->path, ".egress[%zu]", i);

		if (check_peers(v, "to", s->egress[i]->to, s->egress[i]->n_to) != 0 ||
		    check_np_ports(v, s->egress[i]->ports, s->egress[i]->n_ports) != 0)
			return -1;
		kd_pb_path_pop(&v->path, sr);
	}
	return 0;
}

/*
 * The API server's immutable label on every Namespace since Kubernetes 1.22:
 * kubernetes.io/metadata.name is the namespace's own name, so that policies
 * can select a namespace by name. Set when absent, refused when it differs.
 */
static int
namespace_label(struct vctx *v, ProtobufCMessage *obj)
{
	PB(Namespace) *n = (PB(Namespace) *)obj;
	PB(ObjectMeta__LabelsEntry) *le, **nl;
	char ns[64], id[254];
	PB(ObjectMeta) *m;
	size_t i;

	if (kd_kind_name_parse(&kd_kinds[KD_KIND_NAMESPACE], n->name, ns, sizeof(ns), id,
			       sizeof(id)) != 0)
		return 0;	/* the name's own check says why */
	if (n->metadata == NULL) {
		n->metadata = malloc(sizeof(*n->metadata));
		if (n->metadata == NULL)
			return bad(v, KD_RESOURCE_EXHAUSTED, "out of memory");
		PB_FN(object_meta__init)(n->metadata);
	}
	m = n->metadata;
	for (i = 0; i < m->n_labels; i++) {
		if (strcmp(m->labels[i]->key, KD_NAMESPACE_NAME_LABEL) != 0)
			continue;
		if (strcmp(m->labels[i]->value, id) == 0)
			return 0;
		kd_pb_path_push(&v->path, ".metadata.labels[\"%s\"]", KD_NAMESPACE_NAME_LABEL);
		return INVALID(v, "\"%s\" is not the namespace's name \"%s\" (the label is the "
			       "server's)", m->labels[i]->value, id);
	}
	nl = realloc(m->labels, (m->n_labels + 1) * sizeof(*nl));
	if (nl == NULL)
		return bad(v, KD_RESOURCE_EXHAUSTED, "out of memory");
	m->labels = nl;
	le = malloc(sizeof(*le));
	if (le == NULL)
		return bad(v, KD_RESOURCE_EXHAUSTED, "out of memory");
	PB_FN(object_meta__labels_entry__init)(le);
	le->key = strdup(KD_NAMESPACE_NAME_LABEL);
	le->value = strdup(id);
	nl[m->n_labels++] = le;
	if (le->key == NULL || le->value == NULL)
		return bad(v, KD_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}

static int (*const checks[KD_KIND_MAX])(struct vctx *, ProtobufCMessage *) = {
	[KD_KIND_VPC] = vpc_check,
	[KD_KIND_NODE] = node_check,
	[KD_KIND_NETDEV] = netdev_check,
	[KD_KIND_POD] = pod_check,
	[KD_KIND_SERVICE] = service_check,
	[KD_KIND_ENDPOINTSLICE] = endpointslice_check,
	[KD_KIND_NETWORKPOLICY] = networkpolicy_check,
};

enum kd_status
kd_validate(const struct kd_store *s, const struct kd_config *cfg, const struct kd_kind *k,
	    ProtobufCMessage *obj, struct kd_err *e)
{
	struct vctx v = { .store = s, .cfg = cfg, .e = e };
	ProtobufCMessage **meta = kd_pb_message_field(obj, 2);

	kd_pb_path_push(&v.path, "%s", k->field);
	if (k->id == KD_KIND_NAMESPACE && namespace_label(&v, obj) != 0)
		return e->code;
	meta = kd_pb_message_field(obj, 2);
	if (check_meta(&v, meta != NULL ? (const PB(ObjectMeta) *)*meta : NULL) != 0)
		return e->code;
	if (checks[k->id] != NULL && checks[k->id](&v, obj) != 0)
		return e->code;
	return KD_OK;
}
