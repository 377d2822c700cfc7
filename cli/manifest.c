/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "cli/manifest.h"
#include "google/protobuf/wrappers.pb-c.h"

#define MAX_DEPTH 32

struct conv {
	yaml_document_t *doc;
	const char *where;
	char *err;
	size_t errlen;
	struct kd_pb_path path;
};

static int
fail(struct conv *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int
fail(struct conv *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s, line %zu: %s: %s", c->where,
		 n != NULL ? n->start_mark.line + 1 : 0, c->path.len != 0 ? c->path.s : "(document)", msg);
	return -1;
}

/* Compare ignoring case and underscores: "clusterIPs" matches "cluster_ips". */
static bool
same_name(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		if (*a == '\0')
			return true;
		a++;
		b++;
	}
}

static const char *
scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML null: "~", "null", or an empty plain scalar. */
static bool
is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static int
parse_int(struct conv *c, const yaml_node_t *n, long long min, long long max, long long *v)
{
	const char *s = scalar(n);
	char *end;

	if (s == NULL || s[0] == '\0')
		return fail(c, n, "expected an integer");
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v < min || *v > max)
		return fail(c, n, "\"%s\" is not an integer in [%lld, %lld]", s, min, max);
	return 0;
}

static int
parse_bool(struct conv *c, const yaml_node_t *n, protobuf_c_boolean *v)
{
	const char *s = scalar(n);

	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0))
		*v = 1;
	else if (s != NULL &&
		 (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0))
		*v = 0;
	else
		return fail(c, n, "expected true or false");
	return 0;
}

/* Enum values are matched without their common prefix: "ClusterIP" is SERVICE_TYPE_CLUSTER_IP. */
static int
parse_enum(struct conv *c, const yaml_node_t *n, const ProtobufCEnumDescriptor *d, int *v)
{
	const char *s = scalar(n);
	size_t plen = kd_pb_enum_prefix_len(d), i;

	if (s == NULL)
		return fail(c, n, "expected one of the %s values", d->short_name);
	for (i = 0; i < d->n_values; i++)
		if (same_name(d->values[i].name + plen, s) || strcmp(d->values[i].name, s) == 0) {
			*v = d->values[i].value;
			return 0;
		}
	return fail(c, n, "\"%s\" is not a valid %s", s, d->short_name);
}

static int to_message(struct conv *c, int node, const ProtobufCMessageDescriptor *d,
		      ProtobufCMessage **out, int depth);

static ProtobufCMessage *
new_message(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = malloc(d->sizeof_message);

	if (m != NULL)
		d->message_init(m);
	return m;
}

static int
set_string(struct conv *c, const yaml_node_t *n, char **slot)
{
	const char *s = scalar(n);

	if (s == NULL)
		return fail(c, n, "expected a string");
	*slot = strdup(s);
	return *slot != NULL ? 0 : fail(c, n, "out of memory");
}

/* One value of field f from node n into the storage at p. */
static int
set_value(struct conv *c, const ProtobufCFieldDescriptor *f, yaml_node_t *n, int node, void *p,
	  int depth)
{
	long long v;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return set_string(c, n, p);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
		if (parse_int(c, n, INT32_MIN, INT32_MAX, &v) != 0)
			return -1;
		*(int32_t *)p = (int32_t)v;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
		if (parse_int(c, n, 0, UINT32_MAX, &v) != 0)
			return -1;
		*(uint32_t *)p = (uint32_t)v;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
		if (parse_int(c, n, INT64_MIN, INT64_MAX, &v) != 0)
			return -1;
		*(int64_t *)p = v;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
		if (parse_int(c, n, 0, INT64_MAX, &v) != 0)
			return -1;
		*(uint64_t *)p = (uint64_t)v;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		return parse_bool(c, n, p);
	case PROTOBUF_C_TYPE_ENUM:
		return parse_enum(c, n, f->descriptor, p);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *md = f->descriptor;

		/* Kubernetes' IntOrString and a plain bool for BoolValue are scalars. */
		if (n->type == YAML_SCALAR_NODE && md == &PB_DESC(int_or_string)) {
			PB(IntOrString) *m = (PB(IntOrString) *)new_message(md);
			char *end;
			long num;

			if (m == NULL)
				return fail(c, n, "out of memory");
			*(ProtobufCMessage **)p = &m->base;
			errno = 0;
			num = strtol(scalar(n), &end, 10);
			if (scalar(n)[0] != '\0' && *end == '\0' && errno == 0 && num >= INT32_MIN &&
			    num <= INT32_MAX) {
				m->value_case = PB_C(INT_OR_STRING__VALUE_NUMBER);
				m->number = (int32_t)num;
				return 0;
			}
			m->value_case = PB_C(INT_OR_STRING__VALUE_NAME);
			return set_string(c, n, &m->name);
		}
		if (n->type == YAML_SCALAR_NODE && md == &google__protobuf__bool_value__descriptor) {
			Google__Protobuf__BoolValue *m = (Google__Protobuf__BoolValue *)new_message(md);

			if (m == NULL)
				return fail(c, n, "out of memory");
			*(ProtobufCMessage **)p = &m->base;
			return parse_bool(c, n, &m->value);
		}
		return to_message(c, node, md, p, depth + 1);
	}
	default:
		return fail(c, n, "field type not supported");
	}
}

/* A map field from a YAML mapping: one Entry message per pair. */
static int
set_map(struct conv *c, const ProtobufCFieldDescriptor *f, yaml_node_t *n, char *base)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), i;
	ProtobufCMessage **arr;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "expected a mapping");
	arr = calloc(cnt + 1, sizeof(*arr));
	if (arr == NULL)
		return fail(c, n, "out of memory");
	*(ProtobufCMessage ***)(base + f->offset) = arr;
	for (i = 0; i < cnt; i++) {
		yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
		yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
		ProtobufCMessage *e = new_message(ed);

		if (e == NULL)
			return fail(c, n, "out of memory");
		arr[i] = e;
		*(size_t *)(base + f->quantifier_offset) = i + 1;
		if (set_string(c, k, (char **)((char *)e + ed->fields[0].offset)) != 0)
			return -1;
		if (is_null(v)) {
			*(char **)((char *)e + ed->fields[1].offset) = strdup("");
			continue;
		}
		if (set_string(c, v, (char **)((char *)e + ed->fields[1].offset)) != 0)
			return -1;
	}
	return 0;
}

static int
set_field(struct conv *c, const ProtobufCFieldDescriptor *f, int node, char *base, int depth)
{
	yaml_node_t *n = yaml_document_get_node(c->doc, node);
	size_t i, cnt, sz;
	void *arr;

	if (is_null(n))
		return 0;
	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void **)(base + f->offset) != NULL)
			return fail(c, n, "given twice");
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(base + f->quantifier_offset) = f->id;
		return set_value(c, f, n, node, base + f->offset, depth);
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && kd_pb_is_map_entry(f->descriptor))
		return set_map(c, f, n, base);
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "expected a list");
	if (*(size_t *)(base + f->quantifier_offset) != 0)
		return fail(c, n, "given twice");
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	sz = kd_pb_elem_size(f);
	arr = calloc(cnt + 1, sz);
	if (arr == NULL)
		return fail(c, n, "out of memory");
	*(void **)(base + f->offset) = arr;
	for (i = 0; i < cnt; i++) {
		int item = n->data.sequence.items.start[i];
		size_t s = kd_pb_path_push(&c->path, "[%zu]", i);

		*(size_t *)(base + f->quantifier_offset) = i + 1;
		if (set_value(c, f, yaml_document_get_node(c->doc, item), item,
			      (char *)arr + i * sz, depth) != 0)
			return -1;
		kd_pb_path_pop(&c->path, s);
	}
	return 0;
}

static int
to_message(struct conv *c, int node, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out,
	   int depth)
{
	yaml_node_t *n = yaml_document_get_node(c->doc, node);
	ProtobufCMessage *m;
	yaml_node_pair_t *pr;
	unsigned int i;

	if (depth > MAX_DEPTH)
		return fail(c, n, "nested too deeply");
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "expected a mapping");
	m = new_message(d);
	if (m == NULL)
		return fail(c, n, "out of memory");
	*out = m;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		const char *key = scalar(yaml_document_get_node(c->doc, pr->key));
		size_t s;

		if (key == NULL)
			return fail(c, n, "a mapping key must be a string");
		for (i = 0; i < d->n_fields; i++)
			if (same_name(d->fields[i].name, key))
				break;
		if (i == d->n_fields)
			continue;	/* a field the API does not carry */
		s = kd_pb_path_push(&c->path, "%s%s", c->path.len != 0 ? "." : "", key);
		if (set_field(c, &d->fields[i], pr->value, (char *)m, depth) != 0)
			return -1;
		kd_pb_path_pop(&c->path, s);
	}
	return 0;
}

int
kd_manifest_to_message(struct yaml_document_s *doc, int node, const ProtobufCMessageDescriptor *d,
		       ProtobufCMessage **out, const char *where, char *err, size_t errlen)
{
	struct conv c = { .doc = doc, .where = where, .err = err, .errlen = errlen };
	int ret;

	*out = NULL;
	ret = to_message(&c, node, d, out, 0);
	if (ret != 0 && *out != NULL) {
		protobuf_c_message_free_unpacked(*out, NULL);
		*out = NULL;
	}
	return ret;
}

/* A mapping's value for key, or 0. */
static int
member(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return 0;
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		const char *k = scalar(yaml_document_get_node(doc, pr->key));

		if (k != NULL && strcmp(k, key) == 0)
			return pr->value;
	}
	return 0;
}

static const char *
member_str(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	int v = member(doc, map, key);

	return v != 0 ? scalar(yaml_document_get_node(doc, v)) : NULL;
}

static int
add(struct kd_manifest *m, const struct kd_manifest_obj *o)
{
	if (m->n == m->cap) {
		size_t cap = m->cap != 0 ? m->cap * 2 : 16;
		struct kd_manifest_obj *v = realloc(m->obj, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		m->obj = v;
		m->cap = cap;
	}
	m->obj[m->n++] = *o;
	return 0;
}

/* One object (not a List) at node. */
static int
load_object(struct kd_manifest *m, yaml_document_t *doc, int node, const char *file, int index,
	    char *err, size_t errlen)
{
	yaml_node_t *n = yaml_document_get_node(doc, node);
	const char *api_version = member_str(doc, n, "apiVersion"), *kind = member_str(doc, n, "kind");
	const yaml_node_t *meta;
	struct kd_manifest_obj o;
	PB(ObjectMeta) *om;
	const char *name, *ns;
	size_t line = n->start_mark.line + 1;

	memset(&o, 0, sizeof(o));
	snprintf(o.where, sizeof(o.where), "%s: document %d", file, index);
	if (n->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s, line %zu: expected a Kubernetes object (a mapping)",
			 o.where, line);
		return -1;
	}
	if (kind == NULL || api_version == NULL) {
		snprintf(err, errlen, "%s, line %zu: %s is missing", o.where, line,
			 kind == NULL ? "kind" : "apiVersion");
		return -1;
	}
	o.kind = kd_kind_lookup(kind);
	if (o.kind == NULL || strcmp(o.kind->kind, kind) != 0 ||
	    strcmp(o.kind->api_version, api_version) != 0) {
		snprintf(err, errlen, "%s, line %zu: kind %s (apiVersion %s) is not supported", o.where,
			 line, kind, api_version);
		return -1;
	}
	meta = yaml_document_get_node(doc, member(doc, n, "metadata"));
	name = meta != NULL ? member_str(doc, meta, "name") : NULL;
	ns = meta != NULL ? member_str(doc, meta, "namespace") : NULL;
	if (name == NULL || !kd_names_is_dns_subdomain(name)) {
		snprintf(err, errlen, "%s, line %zu: metadata.name: %s%s%s", o.where,
			 meta != NULL ? meta->start_mark.line + 1 : line,
			 name == NULL ? "missing" : "\"", name == NULL ? "" : name,
			 name == NULL ? "" : "\" is not a DNS subdomain name");
		return -1;
	}
	if (o.kind->namespaced && ns != NULL && !kd_names_is_dns_label(ns)) {
		snprintf(err, errlen, "%s, line %zu: metadata.namespace: \"%s\" is not a valid name",
			 o.where, meta->start_mark.line + 1, ns);
		return -1;
	}
	snprintf(o.where, sizeof(o.where), "%s: document %d (%s/%s, line %zu)", file, index,
		 o.kind->field, name, line);
	snprintf(o.id, sizeof(o.id), "%s", name);
	if (o.kind->namespaced)
		snprintf(o.ns, sizeof(o.ns), "%s", ns != NULL ? ns : "default");
	if (kd_manifest_to_message(doc, node, o.kind->desc, &o.msg, o.where, err, errlen) != 0)
		return -1;
	om = (PB(ObjectMeta) *)*kd_pb_message_field(o.msg, 2);
	if (o.kind->namespaced && om->namespace_[0] == '\0') {
		om->namespace_ = strdup(o.ns);
		if (om->namespace_ == NULL) {
			protobuf_c_message_free_unpacked(o.msg, NULL);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (add(m, &o) != 0) {
		protobuf_c_message_free_unpacked(o.msg, NULL);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
load_stream(struct kd_manifest *m, FILE *f, const char *file, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t doc;
	int index = 0, ret = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		yaml_node_t *root;

		if (!yaml_parser_load(&p, &doc)) {
			snprintf(err, errlen, "%s: document %d, line %zu: YAML error: %s", file,
				 index + 1, p.problem_mark.line + 1,
				 p.problem != NULL ? p.problem : "unknown");
			ret = -1;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (root == NULL) {	/* end of stream */
			yaml_document_delete(&doc);
			break;
		}
		index++;
		if (is_null(root)) {
			yaml_document_delete(&doc);
			continue;
		}
		if (root->type == YAML_MAPPING_NODE &&
		    member_str(&doc, root, "kind") != NULL &&
		    strcmp(member_str(&doc, root, "kind"), "List") == 0) {
			yaml_node_t *items = yaml_document_get_node(&doc, member(&doc, root, "items"));
			yaml_node_item_t *it;

			if (items != NULL && items->type == YAML_SEQUENCE_NODE)
				for (it = items->data.sequence.items.start;
				     ret == 0 && it < items->data.sequence.items.top; it++)
					ret = load_object(m, &doc, *it, file, index, err, errlen);
		} else {
			ret = load_object(m, &doc, yaml_document_get_root_node(&doc) - doc.nodes.start + 1,
					  file, index, err, errlen);
		}
		yaml_document_delete(&doc);
		if (ret != 0)
			break;
	}
	yaml_parser_delete(&p);
	return ret;
}

static int
load_file(struct kd_manifest *m, const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	int ret;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = load_stream(m, f, strcmp(path, "-") == 0 ? "<stdin>" : path, err, errlen);
	if (f != stdin)
		fclose(f);
	return ret;
}

static bool
is_manifest_name(const char *s)
{
	size_t n = strlen(s);

	return (n > 5 && strcmp(s + n - 5, ".yaml") == 0) || (n > 4 && strcmp(s + n - 4, ".yml") == 0) ||
	       (n > 5 && strcmp(s + n - 5, ".json") == 0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
kd_manifest_load(struct kd_manifest *m, const char *path, char *err, size_t errlen)
{
	size_t before = m->n, i, n = 0;
	struct dirent *de;
	struct stat st;
	char **names = NULL;
	DIR *dir;
	int ret = 0;

	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ret = load_file(m, path, err, errlen);
		goto out;
	}
	dir = opendir(path);
	if (dir == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		char **v;

		if (de->d_name[0] == '.' || !is_manifest_name(de->d_name))
			continue;
		v = realloc(names, (n + 1) * sizeof(*names));
		if (v == NULL)
			break;
		names = v;
		if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0)
			break;
		n++;
	}
	closedir(dir);
	if (names != NULL)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		if (ret == 0)
			ret = load_file(m, names[i], err, errlen);
		free(names[i]);
	}
	free(names);
out:
	if (ret != 0) {
		for (i = before; i < m->n; i++)
			protobuf_c_message_free_unpacked(m->obj[i].msg, NULL);
		m->n = before;
	}
	return ret;
}

/* References point from later kinds to earlier ones. */
static int
rank(const struct kd_kind *k)
{
	static const enum kd_kind_id order[] = {
		KD_KIND_NAMESPACE, KD_KIND_VPC, KD_KIND_NODE, KD_KIND_POD, KD_KIND_NETDEV,
		KD_KIND_SERVICE, KD_KIND_ENDPOINTSLICE, KD_KIND_NETWORKPOLICY,
	};
	int i;

	for (i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
		if (order[i] == k->id)
			return i;
	return 0;
}

static int
cmp_fwd(const void *a, const void *b)
{
	const struct kd_manifest_obj *x = a, *y = b;

	return rank(x->kind) - rank(y->kind);
}

static int
cmp_rev(const void *a, const void *b)
{
	return cmp_fwd(b, a);
}

void
kd_manifest_sort(struct kd_manifest *m, bool reverse)
{
	size_t i;

	/* Insertion sort: stable, so objects of one kind keep their file order. */
	for (i = 0; i + 1 < m->n; i++) {
		size_t j;

		for (j = i + 1; j > 0; j--) {
			int c = reverse ? cmp_rev(&m->obj[j - 1], &m->obj[j]) :
					  cmp_fwd(&m->obj[j - 1], &m->obj[j]);
			struct kd_manifest_obj t;

			if (c <= 0)
				break;
			t = m->obj[j - 1];
			m->obj[j - 1] = m->obj[j];
			m->obj[j] = t;
		}
	}
}

void
kd_manifest_free(struct kd_manifest *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		protobuf_c_message_free_unpacked(m->obj[i].msg, NULL);
	free(m->obj);
	memset(m, 0, sizeof(*m));
}
