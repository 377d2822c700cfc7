/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_PROTO_KINDS_H
#define KDPU_PROTO_KINDS_H

/*
 * The API's resource kinds and the naming rules they share, used by the
 * server and by kdpuctl alike. Every resource message has its full resource
 * name in field 1 and an ObjectMeta in field 2; the standard request
 * messages number their fields as proto/k8s.proto states, so one generic
 * engine serves every kind through the protobuf-c descriptors below.
 */

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/names.h"
#include "proto/pb.h"
#include "k8s.pb-c.h"

/* Short spellings of the generated names. */
#define PB(x) OpiApi__Network__K8s__V1alpha1__##x
#define PB_DESC(x) opi_api__network__k8s__v1alpha1__##x##__descriptor
#define PB_FN(x) opi_api__network__k8s__v1alpha1__##x
#define PB_C(x) OPI_API__NETWORK__K8S__V1ALPHA1__##x
#define KD_API_SERVICE "opi_api.network.k8s.v1alpha1.K8sNetworkService"
#define KD_HEALTH_SERVICE "grpc.health.v1.Health"

enum kd_kind_id {
	KD_KIND_VPC,
	KD_KIND_NODE,
	KD_KIND_NETDEV,
	KD_KIND_NAMESPACE,
	KD_KIND_POD,
	KD_KIND_SERVICE,
	KD_KIND_ENDPOINTSLICE,
	KD_KIND_NETWORKPOLICY,
	KD_KIND_MAX
};

enum kd_verb { KD_VERB_CREATE, KD_VERB_GET, KD_VERB_LIST, KD_VERB_UPDATE, KD_VERB_DELETE };

struct kd_kind {
	enum kd_kind_id id;
	const char *kind;		/* "NetworkPolicy", as in manifests */
	const char *plural;		/* "NetworkPolicies", as in RPC names */
	const char *collection;		/* "networkpolicies", as in resource names */
	const char *field;		/* "network_policy", the request field */
	const char *api_version;	/* manifests' apiVersion */
	const char *short_name;		/* kubectl's short name, or NULL */
	bool namespaced;
	const ProtobufCMessageDescriptor *desc;
	const ProtobufCMessageDescriptor *req[5];	/* by enum kd_verb */
	const ProtobufCMessageDescriptor *list_resp;
};

extern const struct kd_kind kd_kinds[KD_KIND_MAX];

/** Kind by manifest kind, plural, collection or short name, any case; NULL if none. */
const struct kd_kind *kd_kind_lookup(const char *s);

/** RPC method path for verb on kind, "/package.Service/CreateVpc". */
void kd_kind_method(const struct kd_kind *k, enum kd_verb verb, char *buf, size_t len);

/** Parses "/package.Service/VerbKind"; 0, or -1 when it is not a CRUD method. */
int kd_kind_parse_method(const char *method, const struct kd_kind **k, enum kd_verb *verb);

/**
 * Splits a full resource name of kind k into namespace (empty for cluster
 * kinds) and id. 0, or -1 if the name is not of that kind's shape.
 */
int kd_kind_name_parse(const struct kd_kind *k, const char *name, char *ns, size_t nslen,
		  char *id, size_t idlen);
/** Full resource name of id in namespace ns. */
void kd_kind_name_format(const struct kd_kind *k, const char *ns, const char *id, char *buf,
		    size_t len);

#endif
