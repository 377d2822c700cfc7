/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One walk over a message's descriptor feeds an emitter: libyaml's for YAML,
 * a small writer for JSON. Tables are per kind, since their columns are a
 * choice rather than a rule.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "cli/render.h"
#include "google/protobuf/wrappers.pb-c.h"

struct out {
	enum kd_render_fmt fmt;
	FILE *f;
	yaml_emitter_t em;
	int depth;
	bool first[64];		/* JSON: no comma before the first member */
	bool after_key;
};

/* ---------------------------------------------------------------- emitters */

static void
yev(struct out *o, yaml_event_t *ev)
{
	yaml_emitter_emit(&o->em, ev);
}

static void
json_sep(struct out *o)
{
	if (o->after_key) {
		o->after_key = false;
		return;
	}
	if (o->depth > 0) {
		if (!o->first[o->depth])
			fputc(',', o->f);
		o->first[o->depth] = false;
		fprintf(o->f, "\n%*s", o->depth * 2, "");
	}
}

static void
open_(struct out *o, bool map)
{
	yaml_event_t ev;

	if (o->fmt == KD_RENDER_YAML) {
		if (map)
			yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		else
			yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							     YAML_BLOCK_SEQUENCE_STYLE);
		yev(o, &ev);
		return;
	}
	json_sep(o);
	fputc(map ? '{' : '[', o->f);
	o->depth++;
	o->first[o->depth] = true;
}

static void
close_(struct out *o, bool map)
{
	yaml_event_t ev;

	if (o->fmt == KD_RENDER_YAML) {
		if (map)
			yaml_mapping_end_event_initialize(&ev);
		else
			yaml_sequence_end_event_initialize(&ev);
		yev(o, &ev);
		return;
	}
	o->depth--;
	if (!o->first[o->depth + 1])
		fprintf(o->f, "\n%*s", o->depth * 2, "");
	fputc(map ? '}' : ']', o->f);
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A string YAML would read back as a number, bool or null needs quotes. */
static bool
needs_quotes(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "null",
					      "~", "y", "n" };
	char *end;
	size_t i;

	if (s[0] == '\0')
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	(void)strtod(s, &end);
	return *end == '\0';
}

/* quoted: a string, as opposed to a number or bool. */
static void
scalar(struct out *o, const char *s, bool quoted)
{
	yaml_event_t ev;

	if (o->fmt == KD_RENDER_YAML) {
		bool q = quoted && needs_quotes(s);

		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s,
					     (int)strlen(s), !q, q,
					     q ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
		yev(o, &ev);
		return;
	}
	json_sep(o);
	if (quoted)
		json_string(o->f, s);
	else
		fputs(s, o->f);
}

static void
key(struct out *o, const char *k)
{
	if (o->fmt == KD_RENDER_YAML) {
		scalar(o, k, false);
		return;
	}
	json_sep(o);
	json_string(o->f, k);
	fputs(": ", o->f);
	o->after_key = true;
}

/* ---------------------------------------------------------------- names */

void
kd_render_camel(const char *snake, char *out, size_t len)
{
	size_t n = 0;
	bool first = true;

	while (*snake != '\0' && n + 4 < len) {
		size_t w = strcspn(snake, "_");

		if (!first && ((w == 2 && strncmp(snake, "ip", 2) == 0) ||
			       (w == 3 && strncmp(snake, "ips", 3) == 0))) {
			out[n++] = 'I';
			out[n++] = 'P';
			if (w == 3)
				out[n++] = 's';
		} else {
			size_t i;

			for (i = 0; i < w && n + 1 < len; i++)
				out[n++] = (char)(i == 0 && !first ? toupper((unsigned char)snake[i]) :
							     snake[i]);
		}
		first = false;
		snake += w;
		if (*snake == '_')
			snake++;
	}
	out[n] = '\0';
}

/* SERVICE_TYPE_CLUSTER_IP -> ClusterIP, PROTOCOL_TCP -> TCP. */
static void
enum_name(const ProtobufCEnumDescriptor *d, int v, char *out, size_t len)
{
	static const char *const upper[] = { "IP", "TCP", "UDP", "SCTP" };
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	const char *s;
	size_t n = 0, i;

	if (ev == NULL) {
		snprintf(out, len, "%d", v);
		return;
	}
	for (s = ev->name + kd_pb_enum_prefix_len(d); *s != '\0' && n + 1 < len;) {
		size_t w = strcspn(s, "_");
		bool up = false;

		for (i = 0; i < sizeof(upper) / sizeof(upper[0]); i++)
			up |= strlen(upper[i]) == w && strncmp(upper[i], s, w) == 0;
		for (i = 0; i < w && n + 1 < len; i++)
			out[n++] = (char)(up || i == 0 ? s[i] : tolower((unsigned char)s[i]));
		s += w;
		if (*s == '_')
			s++;
	}
	out[n] = '\0';
}

/* ---------------------------------------------------------------- walk */

static void message(struct out *o, const ProtobufCMessage *m, const struct kd_kind *k);

static void
value(struct out *o, const ProtobufCFieldDescriptor *f, const void *p)
{
	char buf[64];

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		scalar(o, *(char *const *)p, true);
		return;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
		snprintf(buf, sizeof(buf), "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
		snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
		snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
		snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		snprintf(buf, sizeof(buf), "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		enum_name(f->descriptor, *(const int *)p, buf, sizeof(buf));
		scalar(o, buf, true);
		return;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		if (m->descriptor == &PB_DESC(int_or_string)) {
			const PB(IntOrString) *v = (const PB(IntOrString) *)m;

			if (v->value_case == PB_C(INT_OR_STRING__VALUE_NAME)) {
				scalar(o, v->name, true);
				return;
			}
			snprintf(buf, sizeof(buf), "%" PRId32, v->number);
			break;
		}
		if (m->descriptor == &google__protobuf__bool_value__descriptor) {
			snprintf(buf, sizeof(buf), "%s",
				 ((const Google__Protobuf__BoolValue *)m)->value ? "true" : "false");
			break;
		}
		message(o, m, NULL);
		return;
	}
	default:
		snprintf(buf, sizeof(buf), "null");
		break;
	}
	scalar(o, buf, false);
}

static bool
is_default(const ProtobufCFieldDescriptor *f, const char *base)
{
	const void *p = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) == 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) != f->id;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p == NULL || (*(char *const *)p)[0] == '\0';
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p == NULL;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return *(const uint64_t *)p == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p == 0;
	default:
		return *(const uint32_t *)p == 0;
	}
}

/* k: a top-level API object, printed with apiVersion and kind and without its AIP name. */
static void
message(struct out *o, const ProtobufCMessage *m, const struct kd_kind *k)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	char name[96];
	unsigned int i;
	size_t j;

	open_(o, true);
	if (k != NULL) {
		key(o, "apiVersion");
		scalar(o, k->api_version, true);
		key(o, "kind");
		scalar(o, k->kind, true);
	}
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if ((k != NULL && f->id == 1) || is_default(f, base))
			continue;
		kd_render_camel(f->name, name, sizeof(name));
		key(o, name);
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			value(o, f, base + f->offset);
			continue;
		}
		{
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);

			if (f->type == PROTOBUF_C_TYPE_MESSAGE && kd_pb_is_map_entry(f->descriptor)) {
				open_(o, true);
				for (j = 0; j < n; j++) {
					const ProtobufCMessage *e = ((ProtobufCMessage *const *)arr)[j];
					const char *eb = (const char *)e;

					key(o, *(char *const *)(eb + e->descriptor->fields[0].offset));
					scalar(o, *(char *const *)(eb + e->descriptor->fields[1].offset),
					       true);
				}
				close_(o, true);
				continue;
			}
			open_(o, false);
			for (j = 0; j < n; j++)
				value(o, f, arr + j * kd_pb_elem_size(f));
			close_(o, false);
		}
	}
	close_(o, true);
}

void
kd_render(FILE *f, enum kd_render_fmt fmt, const struct kd_kind *k, ProtobufCMessage *const *objs,
	  size_t n, bool as_list)
{
	struct out o = { .fmt = fmt, .f = f };
	yaml_event_t ev;
	size_t i;

	if (fmt == KD_RENDER_YAML) {
		yaml_emitter_initialize(&o.em);
		yaml_emitter_set_output_file(&o.em, f);
		yaml_emitter_set_unicode(&o.em, 1);
		yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
		yev(&o, &ev);
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		yev(&o, &ev);
	}
	if (as_list) {
		open_(&o, true);
		key(&o, "apiVersion");
		scalar(&o, "v1", true);
		key(&o, "kind");
		scalar(&o, "List", true);
		key(&o, "items");
		open_(&o, false);
	}
	for (i = 0; i < n; i++)
		message(&o, objs[i], k);
	if (as_list) {
		close_(&o, false);
		close_(&o, true);
	}
	if (fmt == KD_RENDER_YAML) {
		yaml_document_end_event_initialize(&ev, 1);
		yev(&o, &ev);
		yaml_stream_end_event_initialize(&ev);
		yev(&o, &ev);
		yaml_emitter_delete(&o.em);
	} else {
		fputc('\n', f);
	}
}

/* ---------------------------------------------------------------- tables */

#define MAX_COLS 8
#define CELL 160

struct table {
	size_t n_cols, n_rows, cap;
	const char *head[MAX_COLS];
	char (*cell)[MAX_COLS][CELL];
};

static char *
row(struct table *t)
{
	if (t->n_rows == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 16;
		void *v = realloc(t->cell, cap * sizeof(*t->cell));

		if (v == NULL)
			return NULL;
		t->cell = v;
		t->cap = cap;
	}
	memset(t->cell[t->n_rows], 0, sizeof(t->cell[0]));
	return t->cell[t->n_rows++][0];
}

static void
cellf(struct table *t, size_t col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
cellf(struct table *t, size_t col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->cell[t->n_rows - 1][col], CELL, fmt, ap);
	va_end(ap);
}

/* Strings joined by ',' into a cell; "<none>" if empty. */
static void
join(struct table *t, size_t col, char *const *s, size_t n)
{
	char *c = t->cell[t->n_rows - 1][col];
	size_t i, len = 0;

	c[0] = '\0';
	for (i = 0; i < n && len + 1 < CELL; i++)
		len += (size_t)snprintf(c + len, CELL - len, "%s%s", i ? "," : "", s[i]);
	if (n == 0)
		snprintf(c, CELL, "<none>");
}

static void
labels(struct table *t, size_t col, const PB(ObjectMeta) *m)
{
	char *c = t->cell[t->n_rows - 1][col];
	size_t i, len = 0;

	c[0] = '\0';
	for (i = 0; m != NULL && i < m->n_labels && len + 1 < CELL; i++)
		len += (size_t)snprintf(c + len, CELL - len, "%s%s=%s", i ? "," : "",
					m->labels[i]->key, m->labels[i]->value);
	if (len == 0)
		snprintf(c, CELL, "<none>");
}

static void
print_table(FILE *f, const struct table *t)
{
	size_t w[MAX_COLS] = { 0 }, i, j;

	for (j = 0; j < t->n_cols; j++)
		w[j] = strlen(t->head[j]);
	for (i = 0; i < t->n_rows; i++)
		for (j = 0; j < t->n_cols; j++)
			if (strlen(t->cell[i][j]) > w[j])
				w[j] = strlen(t->cell[i][j]);
	for (j = 0; j < t->n_cols; j++)
		fprintf(f, "%-*s%s", j + 1 < t->n_cols ? (int)w[j] : 0, t->head[j],
			j + 1 < t->n_cols ? "   " : "\n");
	for (i = 0; i < t->n_rows; i++)
		for (j = 0; j < t->n_cols; j++)
			fprintf(f, "%-*s%s", j + 1 < t->n_cols ? (int)w[j] : 0, t->cell[i][j],
				j + 1 < t->n_cols ? "   " : "\n");
}

static const PB(ObjectMeta) *
meta(const ProtobufCMessage *m)
{
	return (const PB(ObjectMeta) *)*kd_pb_message_field((ProtobufCMessage *)(uintptr_t)m, 2);
}

static void
service_ports(struct table *t, size_t col, const PB(ServiceSpec) *s)
{
	char *c = t->cell[t->n_rows - 1][col], pr[16];
	size_t i, len = 0;

	for (i = 0; i < s->n_ports && len + 1 < CELL; i++) {
		enum_name(&PB_DESC(protocol), s->ports[i]->protocol ? s->ports[i]->protocol :
					      PB_C(PROTOCOL__PROTOCOL_TCP), pr, sizeof(pr));
		if (s->ports[i]->node_port != 0)
			len += (size_t)snprintf(c + len, CELL - len, "%s%d:%d/%s", i ? "," : "",
						s->ports[i]->port, s->ports[i]->node_port, pr);
		else
			len += (size_t)snprintf(c + len, CELL - len, "%s%d/%s", i ? "," : "",
						s->ports[i]->port, pr);
	}
	if (len == 0)
		snprintf(c, CELL, "<none>");
}

void
kd_render_table(FILE *f, const struct kd_kind *k, ProtobufCMessage *const *objs, size_t n,
		bool with_ns)
{
	struct table t = { 0 };
	size_t i, c0 = with_ns ? 1 : 0;

#define HEAD(...) do { \
		const char *h_[] = { __VA_ARGS__ }; \
		size_t j_; \
		if (with_ns) t.head[t.n_cols++] = "NAMESPACE"; \
		for (j_ = 0; j_ < sizeof(h_) / sizeof(h_[0]); j_++) t.head[t.n_cols++] = h_[j_]; \
	} while (0)
	switch (k->id) {
	case KD_KIND_VPC: HEAD("NAME", "VNI", "GATEWAY", "GATEWAY-MAC", "POD-CIDRS"); break;
	case KD_KIND_NODE: HEAD("NAME", "VTEP", "VPC", "POD-CIDRS", "LOCAL", "NEIGHBOR"); break;
	case KD_KIND_NETDEV: HEAD("NAME", "PCI", "VPC", "MAC", "IP", "PORT", "POD"); break;
	case KD_KIND_NAMESPACE: HEAD("NAME", "LABELS"); break;
	case KD_KIND_POD: HEAD("NAME", "NODE", "IP", "LABELS"); break;
	case KD_KIND_SERVICE: HEAD("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"); break;
	case KD_KIND_ENDPOINTSLICE: HEAD("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS"); break;
	case KD_KIND_NETWORKPOLICY: HEAD("NAME", "POD-SELECTOR", "POLICY-TYPES"); break;
	default: return;
	}
#undef HEAD
	for (i = 0; i < n; i++) {
		const ProtobufCMessage *m = objs[i];
		const PB(ObjectMeta) *md = meta(m);

		if (row(&t) == NULL)
			break;
		if (with_ns)
			cellf(&t, 0, "%s", md->namespace_);
		cellf(&t, c0, "%s", md->name);
		switch (k->id) {
		case KD_KIND_VPC: {
			const PB(VpcSpec) *s = ((const PB(Vpc) *)m)->spec;

			cellf(&t, c0 + 1, "%u", s->vni);
			cellf(&t, c0 + 2, "%s", s->gateway_ip);
			cellf(&t, c0 + 3, "%s", s->gateway_mac[0] ? s->gateway_mac : "<default>");
			join(&t, c0 + 4, s->pod_cidrs, s->n_pod_cidrs);
			break;
		}
		case KD_KIND_NODE: {
			const PB(Node) *o = (const PB(Node) *)m;

			cellf(&t, c0 + 1, "%s", o->spec->vtep_ip);
			cellf(&t, c0 + 2, "%s", o->spec->vpc[0] ? o->spec->vpc : "<none>");
			join(&t, c0 + 3, o->spec->pod_cidrs, o->spec->n_pod_cidrs);
			cellf(&t, c0 + 4, "%s", o->status != NULL && o->status->local ? "yes" : "no");
			cellf(&t, c0 + 5, "%s", o->status != NULL && o->status->neighbor_mac[0] ?
					o->status->neighbor_mac : "<none>");
			break;
		}
		case KD_KIND_NETDEV: {
			const PB(Netdev) *o = (const PB(Netdev) *)m;

			cellf(&t, c0 + 1, "%s", o->spec->pci_address);
			cellf(&t, c0 + 2, "%s", o->spec->vpc);
			cellf(&t, c0 + 3, "%s", o->spec->mac);
			join(&t, c0 + 4, o->spec->ips, o->spec->n_ips);
			cellf(&t, c0 + 5, "%s", o->status != NULL ? o->status->port_name : "");
			cellf(&t, c0 + 6, "%s", o->spec->pod[0] ? o->spec->pod : "<none>");
			break;
		}
		case KD_KIND_NAMESPACE:
			labels(&t, c0 + 1, md);
			break;
		case KD_KIND_POD: {
			const PB(Pod) *o = (const PB(Pod) *)m;

			cellf(&t, c0 + 1, "%s", o->spec != NULL && o->spec->node_name[0] ?
					o->spec->node_name : "<none>");
			cellf(&t, c0 + 2, "%s", o->status != NULL && o->status->pod_ip[0] ?
					o->status->pod_ip : "<none>");
			labels(&t, c0 + 3, md);
			break;
		}
		case KD_KIND_SERVICE: {
			const PB(Service) *o = (const PB(Service) *)m;
			char ty[32];

			enum_name(&PB_DESC(service_type), o->spec->type ? o->spec->type :
				  PB_C(SERVICE_TYPE__SERVICE_TYPE_CLUSTER_IP), ty, sizeof(ty));
			cellf(&t, c0 + 1, "%s", ty);
			cellf(&t, c0 + 2, "%s", o->spec->cluster_ip[0] ? o->spec->cluster_ip : "<none>");
			join(&t, c0 + 3, o->spec->external_ips, o->spec->n_external_ips);
			service_ports(&t, c0 + 4, o->spec);
			break;
		}
		case KD_KIND_ENDPOINTSLICE: {
			const PB(EndpointSlice) *o = (const PB(EndpointSlice) *)m;
			char *c = t.cell[t.n_rows - 1][c0 + 3];
			size_t j, len = 0;

			cellf(&t, c0 + 1, "%s", o->address_type[0] ? o->address_type : "IPv4");
			{
				char *pc = t.cell[t.n_rows - 1][c0 + 2];
				size_t pl = 0;

				for (j = 0; j < o->n_ports && pl + 1 < CELL; j++)
					pl += (size_t)snprintf(pc + pl, CELL - pl, "%s%d", j ? "," : "",
							       o->ports[j]->port);
				if (pl == 0)
					snprintf(pc, CELL, "<unset>");
			}
			for (j = 0; j < o->n_endpoints && len + 1 < CELL; j++)
				if (o->endpoints[j]->n_addresses > 0)
					len += (size_t)snprintf(c + len, CELL - len, "%s%s",
								len ? "," : "",
								o->endpoints[j]->addresses[0]);
			if (len == 0)
				snprintf(c, CELL, "<unset>");
			break;
		}
		case KD_KIND_NETWORKPOLICY: {
			const PB(NetworkPolicySpec) *s = ((const PB(NetworkPolicy) *)m)->spec;
			char *c = t.cell[t.n_rows - 1][c0 + 1];
			size_t j, len = 0;

			for (j = 0; s->pod_selector != NULL && j < s->pod_selector->n_match_labels &&
				    len + 1 < CELL; j++)
				len += (size_t)snprintf(c + len, CELL - len, "%s%s=%s", j ? "," : "",
							s->pod_selector->match_labels[j]->key,
							s->pod_selector->match_labels[j]->value);
			if (s->pod_selector != NULL && s->pod_selector->n_match_expressions > 0 &&
			    len + 1 < CELL)
				len += (size_t)snprintf(c + len, CELL - len, "%s+%zu expression(s)",
							len ? "," : "",
							s->pod_selector->n_match_expressions);
			if (len == 0)
				snprintf(c, CELL, "<none>");
			join(&t, c0 + 2, s->policy_types, s->n_policy_types);
			break;
		}
		default:
			break;
		}
	}
	print_table(f, &t);
	free(t.cell);
}

void
kd_render_flow(FILE *out, const PB(Flow) *f)
{
	char src[32], dst[32], proto[8];
	const char *vpc;

	if (f == NULL) {
		fprintf(out, "%-10s %-5s %-21s %-21s %-12s %9s %9s %11s %7s %s\n", "VPC", "PROTO",
			"SOURCE", "DESTINATION", "STATE", "PACKETS", "REPLIES", "BYTES", "AGE(s)",
			"POLICY");
		return;
	}
	vpc = strncmp(f->vpc, "vpcs/", 5) == 0 ? f->vpc + 5 : f->vpc;

	if (f->ip_protocol == 6 || f->ip_protocol == 17 || f->ip_protocol == 132)
		snprintf(proto, sizeof(proto), "%s", f->ip_protocol == 6 ? "TCP" :
			 f->ip_protocol == 17 ? "UDP" : "SCTP");
	else if (f->ip_protocol == 1)
		snprintf(proto, sizeof(proto), "ICMP");
	else
		snprintf(proto, sizeof(proto), "%u", f->ip_protocol);
	snprintf(src, sizeof(src), "%s:%u", f->src_ip, f->src_port);
	snprintf(dst, sizeof(dst), "%s:%u", f->dst_ip, f->dst_port);
	fprintf(out, "%-10s %-5s %-21s %-21s %-12s %9" PRIu64 " %9" PRIu64 " %11" PRIu64 " %7" PRIu64
	       " %s\n", vpc, proto, src, dst, f->state, f->packets, f->reply_packets, f->bytes,
	       f->age_ms / 1000, f->policy[0] != '\0' ? f->policy : "-");
}
