/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy peers: label selectors against label maps, and ipBlocks. */
#include <string.h>

#include <rte_byteorder.h>

#include "control/config.h"
#include "control/selector.h"

struct kv {
	ProtobufCMessage base;
	char *key;
	char *value;
};

static const char *
label(void *entries, size_t n, const char *key)
{
	struct kv **e = entries;
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(e[i]->key, key) == 0)
			return e[i]->value;
	return NULL;
}

bool
kd_selector_match(const PB(LabelSelector) *sel, void *labels, size_t n)
{
	size_t i, j;

	if (sel == NULL)
		return true;
	for (i = 0; i < sel->n_match_labels; i++) {
		const char *v = label(labels, n, sel->match_labels[i]->key);

		if (v == NULL || strcmp(v, sel->match_labels[i]->value) != 0)
			return false;
	}
	for (i = 0; i < sel->n_match_expressions; i++) {
		const PB(LabelSelectorRequirement) *r = sel->match_expressions[i];
		const char *v = label(labels, n, r->key);
		bool in = false;

		for (j = 0; v != NULL && j < r->n_values; j++)
			in |= strcmp(v, r->values[j]) == 0;
		if (strcmp(r->operator_, "In") == 0 ? !in :
		    strcmp(r->operator_, "NotIn") == 0 ? in :
		    strcmp(r->operator_, "Exists") == 0 ? v == NULL : v != NULL)
			return false;
	}
	return true;
}

static bool
in_prefix(uint32_t ip, const char *cidr)
{
	rte_be32_t net;
	uint8_t plen;
	uint32_t mask;

	if (kd_config_parse_cidr(cidr, &net, &plen, false) != 0)
		return false;
	mask = plen == 0 ? 0 : ~0u << (32 - plen);
	return (ip & mask) == (rte_be_to_cpu_32(net) & mask);
}

bool
kd_selector_ip_block(const PB(IPBlock) *b, uint32_t ip)
{
	size_t i;

	if (!in_prefix(ip, b->cidr))
		return false;
	for (i = 0; i < b->n_except; i++)
		if (in_prefix(ip, b->except[i]))
			return false;
	return true;
}
