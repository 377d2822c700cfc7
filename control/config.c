/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file (libconfig): one loader per group, each checking
 * every key, range and reference, with a message naming the setting's path.
 * Over 800 lines: the groups share one error context and a dozen typed
 * getters; split into files, those would become a private header and a
 * second home for the defaults below, which docs/configuration.md mirrors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "control/config.h"
#include "dataplane/ct_cache.h"
#include "dataplane/maglev.h"
#include "proto/names.h"

/* Defaults; docs/configuration.md mirrors this table. */
#define DEF_FILE_PREFIX "kdpu"
#define DEF_MEMORY_MB 512
#define DEF_MBUFS 16383
#define DEF_MBUF_CACHE 256
#define DEF_DATA_ROOM 2176
#define DEF_DESC 1024
#define DEF_MTU 1500
#define DEF_MAX_ROUTES 65536
#define DEF_MAX_RNODES 1024
#define DEF_ARP_REFRESH 30
#define DEF_CT_CAPACITY 262144
#define DEF_MAGLEV_M 65521		/* prime; the largest table, 100 entries each for 655 endpoints */
#define DEF_MAGLEV_PER_EP 100		/* Maglev's advice: M >= 100 N */
#define DEF_AFFINITY_CAPACITY 65536
#define DEF_MAX_FRONTENDS 131072
#define DEF_POL_MAX_PREFIXES 65536
#define DEF_HAIRPIN_IP "169.254.42.1"	/* link-local, as Cilium uses for hairpin */
#define DEF_MASQ_LO 1024		/* Linux MASQUERADE's range without --to-ports */
#define DEF_MASQ_HI 65535
#define DEF_API_SOCKET "/run/kdpu/kdpu.sock"
#define DEF_API_MAX_KB 32768	/* a Batch of 50,000 Services with their slices */

struct ctx {
	const char *path;
	char *err;
	const config_setting_t *at;	/* for messages when no setting is handy */
};

/* "ports[1].role" from the setting's place in the tree. */
static void
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[16];
	size_t n = 0, off = 0;

	for (; s != NULL && config_setting_parent(s) != NULL && n < 16;
	     s = config_setting_parent(s))
		chain[n++] = s;
	buf[0] = '\0';
	while (n-- > 0 && off < len) {
		const char *name = config_setting_name(chain[n]);
		int w;

		if (name != NULL)
			w = snprintf(buf + off, len - off, "%s%s", off ? "." : "", name);
		else
			w = snprintf(buf + off, len - off, "[%d]", config_setting_index(chain[n]));
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int __attribute__((format(printf, 4, 5)))
fail(struct ctx *c, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	char where[256];
	char msg[256];
	va_list ap;
	int line;

	if (s == NULL)
		s = c->at;
	setting_path(s, where, sizeof(where));
	if (key != NULL) {
		size_t l = strlen(where);

		snprintf(where + l, sizeof(where) - l, "%s%s", l ? "." : "", key);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = s != NULL ? (int)config_setting_source_line(s) : 0;
	if (snprintf(c->err, KD_CFG_ERR_LEN, "%s:%d: %s: %s", c->path, line, where, msg) >=
	    KD_CFG_ERR_LEN)
		memcpy(c->err + KD_CFG_ERR_LEN - 4, "...", 4);	/* cut short, and says so */
	return -1;
}

int
kd_config_parse_ipv4(const char *s, rte_be32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = a.s_addr;
	return 0;
}

int
kd_config_parse_cidr(const char *s, rte_be32_t *prefix, uint8_t *plen, bool strict)
{
	char buf[32];
	const char *slash;
	char *end;
	unsigned long n;
	uint32_t mask;
	rte_be32_t ip;

	if (s == NULL || (slash = strchr(s, '/')) == NULL || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (kd_config_parse_ipv4(buf, &ip) != 0 || slash[1] == '\0')
		return -EINVAL;
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || n > 32 || slash[1] == '-' || slash[1] == '+')
		return -EINVAL;
	mask = n == 0 ? 0 : ~0u << (32 - n);
	if (strict && (rte_be_to_cpu_32(ip) & ~mask) != 0)
		return -EINVAL;
	*prefix = ip;
	*plen = (uint8_t)n;
	return 0;
}

int
kd_config_parse_mac(const char *s, struct rte_ether_addr *mac)
{
	unsigned int b[6];
	char tail;
	int i;

	if (s == NULL || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				&b[4], &b[5], &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac->addr_bytes[i] = (uint8_t)b[i];
	if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac))
		return -EINVAL;
	return 0;
}

void
kd_config_format_ipv4(rte_be32_t ip, char *buf, size_t len)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, len, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

void
kd_config_format_mac(const struct rte_ether_addr *mac, char *buf, size_t len)
{
	const uint8_t *b = mac->addr_bytes;

	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* Every key of a group must be one we know: a typo must not pass silently. */
static int
check_keys(struct ctx *c, const config_setting_t *g, const char *const *known)
{
	int i, n = config_setting_length(g);

	if (!config_setting_is_group(g))
		return fail(c, g, NULL, "expected a group { ... }");
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(e);
		const char *const *k;

		for (k = known; *k != NULL; k++)
			if (strcmp(*k, name) == 0)
				break;
		if (*k == NULL)
			return fail(c, e, NULL, "unknown key");
	}
	return 0;
}

/* Optional string; copied into dst. Returns 1 if present, 0 if absent, -1 on error. */
static int
get_str(struct ctx *c, const config_setting_t *g, const char *key, char *dst, size_t len,
	bool required)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, key) : NULL;
	const char *v;

	if (s == NULL) {
		if (required)
			return fail(c, g, key, "missing required key");
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(c, s, NULL, "expected a string");
	v = config_setting_get_string(s);
	if (strlen(v) == 0 || strlen(v) >= len)
		return fail(c, s, NULL, "must be 1 to %zu characters", len - 1);
	snprintf(dst, len, "%s", v);
	return 1;
}

/* A name that becomes part of an API resource name: an RFC 1123 label. */
static int
get_name(struct ctx *c, const config_setting_t *g, const char *key, char *dst, size_t len,
	 bool required, bool dots)
{
	int r = get_str(c, g, key, dst, len, required);

	if (r > 0 && !(dots ? kd_names_is_dns_subdomain(dst) : kd_names_is_dns_label(dst)))
		return fail(c, config_setting_get_member(g, key), NULL,
			    "\"%s\" is not a name of a-z, 0-9%s and '-'", dst,
			    dots ? ", '.'" : "");
	return r;
}

static int
get_uint(struct ctx *c, const config_setting_t *g, const char *key, uint64_t min, uint64_t max,
	 uint64_t def, uint64_t *out)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, key) : NULL;
	long long v;

	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(c, s, NULL, "expected an integer");
	v = config_setting_get_int64(s);
	if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
		return fail(c, s, NULL, "%lld is out of range [%llu, %llu]", v,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)v;
	return 0;
}

#define GET_UINT(c, g, key, min, max, def, dst) __extension__({				\
		uint64_t v_;								\
		int r_ = get_uint(c, g, key, min, max, def, &v_);			\
		if (r_ == 0)								\
			(dst) = (__typeof__(dst))v_;					\
		r_;									\
	})

static int
get_ip(struct ctx *c, const config_setting_t *g, const char *key, rte_be32_t *ip, bool required)
{
	char buf[64];
	int r = get_str(c, g, key, buf, sizeof(buf), required);

	if (r <= 0)
		return r;
	if (kd_config_parse_ipv4(buf, ip) != 0)
		return fail(c, config_setting_get_member(g, key), NULL,
			    "\"%s\" is not an IPv4 address", buf);
	return 1;
}

static int
get_mac(struct ctx *c, const config_setting_t *g, const char *key, struct rte_ether_addr *mac,
	bool required)
{
	char buf[64];
	int r = get_str(c, g, key, buf, sizeof(buf), required);

	if (r <= 0)
		return r;
	if (kd_config_parse_mac(buf, mac) != 0)
		return fail(c, config_setting_get_member(g, key), NULL,
			    "\"%s\" is not a unicast MAC address (aa:bb:cc:dd:ee:ff)", buf);
	return 1;
}

/* A list or array member, or NULL; anything else is an error. */
static int
get_list(struct ctx *c, const config_setting_t *g, const char *key, const config_setting_t **out)
{
	const config_setting_t *s = g != NULL ? config_setting_get_member(g, key) : NULL;

	*out = NULL;
	if (s == NULL)
		return 0;
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return fail(c, s, NULL, "expected a list ( ... ) or array [ ... ]");
	*out = s;
	return 0;
}

static int
load_eal(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "file_prefix", "lcores", "main_lcore", "memory_mb",
					    "args", NULL };
	const config_setting_t *g = config_setting_get_member(root, "eal");
	const config_setting_t *args;
	unsigned int i;

	snprintf(cfg->file_prefix, sizeof(cfg->file_prefix), DEF_FILE_PREFIX);
	if (g == NULL)
		return 0;
	if (check_keys(c, g, keys) < 0 ||
	    get_str(c, g, "file_prefix", cfg->file_prefix, sizeof(cfg->file_prefix), false) < 0 ||
	    get_str(c, g, "lcores", cfg->lcores, sizeof(cfg->lcores), false) < 0 ||
	    GET_UINT(c, g, "main_lcore", 0, 127, 0, cfg->main_lcore) < 0 ||
	    GET_UINT(c, g, "memory_mb", 0, 1 << 20, DEF_MEMORY_MB, cfg->memory_mb) < 0 ||
	    get_list(c, g, "args", &args) < 0)
		return -1;
	if (strchr(cfg->file_prefix, '/') != NULL)
		return fail(c, config_setting_get_member(g, "file_prefix"), NULL,
			    "must not contain '/'");
	if (args == NULL)
		return 0;
	if ((unsigned int)config_setting_length(args) > KD_CFG_MAX_EAL_ARGS)
		return fail(c, args, NULL, "at most %d arguments", KD_CFG_MAX_EAL_ARGS);
	for (i = 0; i < (unsigned int)config_setting_length(args); i++) {
		const config_setting_t *e = config_setting_get_elem(args, i);
		const char *v = config_setting_get_string(e);

		if (v == NULL || strlen(v) >= sizeof(cfg->eal_args[0]))
			return fail(c, e, NULL, "expected a string of at most 255 characters");
		snprintf(cfg->eal_args[cfg->n_eal_args++], sizeof(cfg->eal_args[0]), "%s", v);
	}
	return 0;
}

static int
load_workers(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "lcores", "idle_sleep_us", "rx_desc", "tx_desc",
					    NULL };
	const config_setting_t *g = config_setting_get_member(root, "workers");
	const config_setting_t *l;
	unsigned int i, j;

	c->at = root;
	if (g == NULL)
		return fail(c, root, "workers", "missing required group");
	if (check_keys(c, g, keys) < 0 || get_list(c, g, "lcores", &l) < 0 ||
	    GET_UINT(c, g, "idle_sleep_us", 0, 100000, 0, cfg->idle_sleep_us) < 0 ||
	    GET_UINT(c, g, "rx_desc", 64, 16384, DEF_DESC, cfg->rx_desc) < 0 ||
	    GET_UINT(c, g, "tx_desc", 64, 16384, DEF_DESC, cfg->tx_desc) < 0)
		return -1;
	if (l == NULL || config_setting_length(l) == 0)
		return fail(c, g, "lcores", "at least one worker lcore is required");
	if (config_setting_length(l) > KD_CFG_MAX_WORKERS)
		return fail(c, l, NULL, "at most %d workers", KD_CFG_MAX_WORKERS);
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		int v;

		if (config_setting_type(e) != CONFIG_TYPE_INT)
			return fail(c, e, NULL, "expected an lcore id");
		v = config_setting_get_int(e);
		if (v < 0 || v > 127)
			return fail(c, e, NULL, "lcore %d out of range [0, 127]", v);
		if ((unsigned int)v == cfg->main_lcore)
			return fail(c, e, NULL, "lcore %d is the main (control) lcore", v);
		for (j = 0; j < i; j++)
			if (cfg->worker_lcores[j] == (unsigned int)v)
				return fail(c, e, NULL, "lcore %d listed twice", v);
		cfg->worker_lcores[cfg->n_workers++] = (unsigned int)v;
	}
	return 0;
}

static int
load_sizes(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const mkeys[] = { "mbufs", "cache", "data_room", NULL };
	static const char *const tkeys[] = { "max_routes", "max_remote_nodes", NULL };
	const config_setting_t *m = config_setting_get_member(root, "mempool");
	const config_setting_t *t = config_setting_get_member(root, "tables");

	if ((m != NULL && check_keys(c, m, mkeys) < 0) ||
	    (t != NULL && check_keys(c, t, tkeys) < 0) ||
	    GET_UINT(c, m, "mbufs", 1023, 1 << 24, DEF_MBUFS, cfg->mbufs) < 0 ||
	    GET_UINT(c, m, "cache", 0, 512, DEF_MBUF_CACHE, cfg->mbuf_cache) < 0 ||
	    GET_UINT(c, m, "data_room", 1024, 65535, DEF_DATA_ROOM, cfg->mbuf_data_room) < 0 ||
	    GET_UINT(c, t, "max_routes", 16, 1 << 24, DEF_MAX_ROUTES, cfg->max_routes) < 0 ||
	    GET_UINT(c, t, "max_remote_nodes", 1, 1 << 20, DEF_MAX_RNODES, cfg->max_rnodes) < 0)
		return -1;
	return 0;
}

static int
load_node(struct ctx *c, const config_setting_t *root, struct kd_config *cfg, bool need_vtep)
{
	static const char *const keys[] = { "name", "vtep_ip", "gateway", "arp_refresh_s", NULL };
	const config_setting_t *g = config_setting_get_member(root, "node");
	char buf[64];
	int r;

	snprintf(cfg->node_name, sizeof(cfg->node_name), "local");
	cfg->arp_refresh_s = DEF_ARP_REFRESH;
	if (g == NULL) {
		if (need_vtep)
			return fail(c, root, "node", "missing: an uplink port needs node.vtep_ip");
		return 0;
	}
	if (check_keys(c, g, keys) < 0 ||
	    get_name(c, g, "name", cfg->node_name, sizeof(cfg->node_name), false, true) < 0 ||
	    GET_UINT(c, g, "arp_refresh_s", 1, 3600, DEF_ARP_REFRESH, cfg->arp_refresh_s) < 0)
		return -1;
	r = get_str(c, g, "vtep_ip", buf, sizeof(buf), need_vtep);
	if (r < 0)
		return -1;
	if (r > 0 && kd_config_parse_cidr(buf, &cfg->vtep_ip, &cfg->vtep_plen, false) != 0)
		return fail(c, config_setting_get_member(g, "vtep_ip"), NULL,
			    "\"%s\" is not an address with prefix length (a.b.c.d/n)", buf);
	if (get_ip(c, g, "gateway", &cfg->gateway_ip, false) < 0)
		return -1;
	return 0;
}

static int
load_ports(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "name", "devargs", "role", "pci", "mtu", NULL };
	const config_setting_t *l;
	unsigned int i, j, uplinks = 0;

	c->at = root;
	if (get_list(c, root, "ports", &l) < 0)
		return -1;
	if (l == NULL || config_setting_length(l) == 0)
		return fail(c, root, "ports", "at least one port is required");
	if (config_setting_length(l) > KD_CFG_MAX_PORTS)
		return fail(c, l, NULL, "at most %d ports", KD_CFG_MAX_PORTS);
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		struct kd_cfg_port *p = &cfg->ports[i];
		char role[16];

		if (check_keys(c, e, keys) < 0 ||
		    get_name(c, e, "name", p->name, sizeof(p->name), true, false) < 0 ||
		    get_str(c, e, "devargs", p->devargs, sizeof(p->devargs), true) < 0 ||
		    get_str(c, e, "role", role, sizeof(role), true) < 0 ||
		    GET_UINT(c, e, "mtu", 576, 9600, DEF_MTU, p->mtu) < 0)
			return -1;
		if (strcmp(role, "uplink") == 0)
			p->role = KD_CFG_ROLE_UPLINK;
		else if (strcmp(role, "vnic") == 0)
			p->role = KD_CFG_ROLE_VNIC;
		else
			return fail(c, config_setting_get_member(e, "role"), NULL,
				    "\"%s\" is not \"uplink\" or \"vnic\"", role);
		if (p->role == KD_CFG_ROLE_UPLINK && ++uplinks > 1)
			return fail(c, e, "role", "only one uplink port is supported");
		switch (get_str(c, e, "pci", p->pci, sizeof(p->pci), false)) {
		case -1:
			return -1;
		case 0: {
			size_t n = RTE_MIN(strcspn(p->devargs, ","), sizeof(p->pci) - 1);

			memcpy(p->pci, p->devargs, n);
			p->pci[n] = '\0';
			break;
		}
		}
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->ports[j].name, p->name) == 0)
				return fail(c, e, "name", "port \"%s\" defined twice", p->name);
			if (strcmp(cfg->ports[j].pci, p->pci) == 0)
				return fail(c, e, "pci", "\"%s\" is used by port \"%s\" too",
					    p->pci, cfg->ports[j].name);
			if (strcspn(p->devargs, ",") == strcspn(cfg->ports[j].devargs, ",") &&
			    strncmp(p->devargs, cfg->ports[j].devargs, strcspn(p->devargs, ",")) == 0)
				return fail(c, e, "devargs", "device name also used by port \"%s\"",
					    cfg->ports[j].name);
		}
		cfg->n_ports++;
	}
	return 0;
}

rte_be32_t
kd_config_nexthop(const struct kd_config *cfg, rte_be32_t dst)
{
	uint32_t mask = cfg->vtep_plen == 0 ? 0 : ~0u << (32 - cfg->vtep_plen);

	if (((rte_be_to_cpu_32(dst) ^ rte_be_to_cpu_32(cfg->vtep_ip)) & mask) == 0)
		return dst;
	return cfg->gateway_ip;
}

static int
find_vpc(const struct kd_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->n_vpcs; i++)
		if (strcmp(cfg->vpcs[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
load_vpcs(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "name", "vni", "gateway_ip", "gateway_mac", NULL };
	const config_setting_t *l;
	unsigned int i, j;

	if (get_list(c, root, "vpcs", &l) < 0)
		return -1;
	if (l == NULL)
		return 0;
	if (config_setting_length(l) > KD_CFG_MAX_VPCS)
		return fail(c, l, NULL, "at most %d VPCs", KD_CFG_MAX_VPCS);
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		struct kd_cfg_vpc *v = &cfg->vpcs[i];

		if (check_keys(c, e, keys) < 0 ||
		    get_name(c, e, "name", v->name, sizeof(v->name), true, false) < 0 ||
		    GET_UINT(c, e, "vni", 1, 0xffffff, 0, v->vni) < 0 ||
		    get_ip(c, e, "gateway_ip", &v->gw_ip, true) < 0 ||
		    get_mac(c, e, "gateway_mac", &v->gw_mac, true) < 0)
			return -1;
		if (v->vni == 0)
			return fail(c, e, "vni", "missing required key");
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->vpcs[j].name, v->name) == 0)
				return fail(c, e, "name", "VPC \"%s\" defined twice", v->name);
			if (cfg->vpcs[j].vni == v->vni)
				return fail(c, e, "vni", "VNI %u is also VPC \"%s\"", v->vni,
					    cfg->vpcs[j].name);
		}
		cfg->n_vpcs++;
	}
	return 0;
}

static int
ref_vpc(struct ctx *c, const config_setting_t *e, const struct kd_config *cfg, uint16_t *out)
{
	char name[KD_CFG_NAME_LEN];
	int idx;

	if (get_str(c, e, "vpc", name, sizeof(name), true) < 0)
		return -1;
	idx = find_vpc(cfg, name);
	if (idx < 0)
		return fail(c, config_setting_get_member(e, "vpc"), NULL,
			    "no VPC named \"%s\" in vpcs", name);
	*out = (uint16_t)idx;
	return 0;
}

static int
load_vnics(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "pci", "vpc", "mac", "ip", "pod", NULL };
	const config_setting_t *l;
	unsigned int i, j;

	if (get_list(c, root, "vnics", &l) < 0)
		return -1;
	if (l == NULL)
		return 0;
	if (config_setting_length(l) > KD_CFG_MAX_PORTS)
		return fail(c, l, NULL, "at most %d vNICs", KD_CFG_MAX_PORTS);
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		struct kd_cfg_vnic *v = &cfg->vnics[i];
		bool found = false;

		if (check_keys(c, e, keys) < 0 ||
		    get_str(c, e, "pci", v->pci, sizeof(v->pci), true) < 0 ||
		    ref_vpc(c, e, cfg, &v->vpc) < 0 ||
		    get_mac(c, e, "mac", &v->mac, true) < 0 ||
		    get_ip(c, e, "ip", &v->ip, true) < 0 ||
		    get_str(c, e, "pod", v->pod, sizeof(v->pod), false) < 0)
			return -1;
		for (j = 0; j < cfg->n_ports; j++) {
			if (strcmp(cfg->ports[j].pci, v->pci) != 0)
				continue;
			if (cfg->ports[j].role != KD_CFG_ROLE_VNIC)
				return fail(c, config_setting_get_member(e, "pci"), NULL,
					    "port \"%s\" has role uplink", cfg->ports[j].name);
			v->port = (uint16_t)j;
			found = true;
		}
		if (!found)
			return fail(c, config_setting_get_member(e, "pci"), NULL,
				    "no port with pci \"%s\"", v->pci);
		for (j = 0; j < i; j++) {
			if (cfg->vnics[j].port == v->port)
				return fail(c, e, "pci", "\"%s\" provisioned twice", v->pci);
			if (cfg->vnics[j].vpc == v->vpc && cfg->vnics[j].ip == v->ip)
				return fail(c, e, "ip", "address already used by vNIC \"%s\"",
					    cfg->vnics[j].pci);
		}
		cfg->n_vnics++;
	}
	return 0;
}

static int
load_rnodes(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "name", "vtep_ip", "vpc", "pod_cidrs", "mac", NULL };
	const config_setting_t *l;
	unsigned int i, j;

	if (get_list(c, root, "remote_nodes", &l) < 0)
		return -1;
	if (l == NULL)
		return 0;
	if ((unsigned int)config_setting_length(l) > cfg->max_rnodes)
		return fail(c, l, NULL, "more than tables.max_remote_nodes (%u)", cfg->max_rnodes);
	cfg->rnodes = calloc((size_t)config_setting_length(l) + 1, sizeof(*cfg->rnodes));
	if (cfg->rnodes == NULL)
		return fail(c, l, NULL, "out of memory");
	for (i = 0; i < (unsigned int)config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		struct kd_cfg_rnode *r = &cfg->rnodes[i];
		const config_setting_t *cl;
		int has_mac;

		if (check_keys(c, e, keys) < 0 ||
		    get_name(c, e, "name", r->name, sizeof(r->name), true, true) < 0 ||
		    get_ip(c, e, "vtep_ip", &r->vtep_ip, true) < 0 ||
		    ref_vpc(c, e, cfg, &r->vpc) < 0 ||
		    (has_mac = get_mac(c, e, "mac", &r->inner_mac, false)) < 0 ||
		    get_list(c, e, "pod_cidrs", &cl) < 0)
			return -1;
		/* Without a MAC the peer is assumed to share the VPC's anycast gateway MAC. */
		if (has_mac == 0)
			r->inner_mac = cfg->vpcs[r->vpc].gw_mac;
		if (r->vtep_ip == cfg->vtep_ip)
			return fail(c, config_setting_get_member(e, "vtep_ip"), NULL,
				    "is this node's own VTEP");
		if (kd_config_nexthop(cfg, r->vtep_ip) == 0)
			return fail(c, config_setting_get_member(e, "vtep_ip"), NULL,
				    "not on the node.vtep_ip subnet and no node.gateway is set");
		if (cl == NULL || config_setting_length(cl) == 0)
			return fail(c, e, "pod_cidrs", "at least one pod CIDR is required");
		if (config_setting_length(cl) > KD_CFG_MAX_CIDRS)
			return fail(c, cl, NULL, "at most %d CIDRs", KD_CFG_MAX_CIDRS);
		for (j = 0; j < (unsigned int)config_setting_length(cl); j++) {
			const config_setting_t *ce = config_setting_get_elem(cl, j);
			struct kd_cfg_cidr *cd = &r->cidrs[j];

			if (kd_config_parse_cidr(config_setting_get_string(ce), &cd->prefix,
						 &cd->plen, true) != 0 || cd->plen == 0)
				return fail(c, ce, NULL,
					    "not a CIDR a.b.c.d/n with n >= 1 and no host bits");
			r->n_cidrs++;
		}
		for (j = 0; j < i; j++)
			if (strcmp(cfg->rnodes[j].name, r->name) == 0)
				return fail(c, e, "name", "remote node \"%s\" defined twice",
					    r->name);
		cfg->n_rnodes++;
	}
	return 0;
}

static int
load_conntrack(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "capacity", "cache_entries", "timeouts", NULL };
	/* Linux's sysctl names without the nf_conntrack_ prefix and _timeout. */
	static const struct { const char *key; int tcp_state; } tmo[] = {
		{ "tcp_syn_sent", KD_CT_TCP_SYN_SENT }, { "tcp_syn_recv", KD_CT_TCP_SYN_RECV },
		{ "tcp_established", KD_CT_TCP_ESTABLISHED }, { "tcp_fin_wait", KD_CT_TCP_FIN_WAIT },
		{ "tcp_close_wait", KD_CT_TCP_CLOSE_WAIT }, { "tcp_last_ack", KD_CT_TCP_LAST_ACK },
		{ "tcp_time_wait", KD_CT_TCP_TIME_WAIT }, { "tcp_close", KD_CT_TCP_CLOSE },
		{ "udp", -1 }, { "udp_stream", -2 }, { "icmp", -3 }, { "generic", -4 },
	};
	static const char *const tkeys[] = { "tcp_syn_sent", "tcp_syn_recv", "tcp_established",
					     "tcp_fin_wait", "tcp_close_wait", "tcp_last_ack",
					     "tcp_time_wait", "tcp_close", "udp", "udp_stream",
					     "icmp", "generic", NULL };
	const config_setting_t *g = config_setting_get_member(root, "conntrack");
	const config_setting_t *t = g != NULL ? config_setting_get_member(g, "timeouts") : NULL;
	struct kd_ct_timeouts *o = &cfg->ct_timeouts;
	unsigned int i;

	kd_ct_timeouts_default(o);
	if (g != NULL && check_keys(c, g, keys) < 0)
		return -1;
	if (GET_UINT(c, g, "capacity", 1024, 1u << 26, DEF_CT_CAPACITY, cfg->ct_capacity) < 0)
		return -1;
	/* 0 turns the cache off. */
	if (GET_UINT(c, g, "cache_entries", 0, 1u << 26,
		     kd_ct_cache_default_entries(cfg->ct_capacity), cfg->ct_cache_entries) < 0)
		return -1;
	if (t == NULL)
		return 0;
	if (!config_setting_is_group(t))
		return fail(c, t, NULL, "expected a group { ... }");
	if (check_keys(c, t, tkeys) < 0)
		return -1;
	for (i = 0; i < RTE_DIM(tmo); i++) {
		uint32_t *dst = tmo[i].tcp_state >= 0 ? &o->tcp[tmo[i].tcp_state] :
				tmo[i].tcp_state == -1 ? &o->udp_unreplied :
				tmo[i].tcp_state == -2 ? &o->udp_replied :
				tmo[i].tcp_state == -3 ? &o->icmp : &o->other_unreplied;

		if (GET_UINT(c, t, tmo[i].key, 1, 30 * 86400, *dst, *dst) < 0)
			return -1;
	}
	o->tcp[KD_CT_TCP_SYN_SENT2] = o->tcp[KD_CT_TCP_SYN_SENT];
	o->other_replied = o->other_unreplied;
	return 0;
}

static int
load_services(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "maglev_table_size", "maglev_entries_per_endpoint",
					    "hairpin_ip", "affinity_capacity", "max_frontends", "vpc",
					    NULL };
	const config_setting_t *g = config_setting_get_member(root, "services");

	kd_config_parse_ipv4(DEF_HAIRPIN_IP, &cfg->svc_hairpin_ip);
	snprintf(cfg->svc_vpc, sizeof(cfg->svc_vpc), "%s",
		 cfg->n_vpcs != 0 ? cfg->vpcs[0].name : "default");
	if (g != NULL && check_keys(c, g, keys) < 0)
		return -1;
	if (get_name(c, g, "vpc", cfg->svc_vpc, sizeof(cfg->svc_vpc), false, false) < 0)
		return -1;
	if (GET_UINT(c, g, "maglev_table_size", 7, 1000003, DEF_MAGLEV_M,
		     cfg->svc_maglev_m) < 0 ||
	    GET_UINT(c, g, "maglev_entries_per_endpoint", 0, 65536, DEF_MAGLEV_PER_EP,
		     cfg->svc_maglev_per_ep) < 0 ||
	    GET_UINT(c, g, "affinity_capacity", 1024, 1u << 24, DEF_AFFINITY_CAPACITY,
		     cfg->svc_affinity_capacity) < 0 ||
	    GET_UINT(c, g, "max_frontends", 64, 1u << 24, DEF_MAX_FRONTENDS,
		     cfg->svc_max_frontends) < 0 ||
	    get_ip(c, g, "hairpin_ip", &cfg->svc_hairpin_ip, false) < 0)
		return -1;
	if (!kd_maglev_is_prime(cfg->svc_maglev_m))
		return fail(c, config_setting_get_member(g, "maglev_table_size"), NULL,
			    "%u is not prime (Maglev needs a prime table size, e.g. 4093 or 65537)",
			    cfg->svc_maglev_m);
	return 0;
}

/* "LO-HI" or a single port. */
static int
get_port_range(struct ctx *c, const config_setting_t *g, const char *key, uint16_t *lo,
	       uint16_t *hi)
{
	char buf[32], *end;
	unsigned long a, b;
	int r = get_str(c, g, key, buf, sizeof(buf), false);

	if (r <= 0)
		return r;
	a = strtoul(buf, &end, 10);
	b = *end == '-' ? strtoul(end + 1, &end, 10) : a;
	if (*end != '\0' || a < 1 || b > 65535 || a > b)
		return fail(c, config_setting_get_member(g, key), NULL,
			    "\"%s\" is not a port range LO-HI within 1-65535", buf);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 1;
}

static int
load_policy(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "max_prefixes", NULL };
	const config_setting_t *g = config_setting_get_member(root, "policy");

	if (g != NULL && check_keys(c, g, keys) < 0)
		return -1;
	return GET_UINT(c, g, "max_prefixes", 64, 1u << 24, DEF_POL_MAX_PREFIXES,
			cfg->pol_max_prefixes) < 0 ? -1 : 0;
}

static int
load_nat(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "cluster_cidrs", "masquerade", "ports", NULL };
	const config_setting_t *g = config_setting_get_member(root, "nat");
	const config_setting_t *l, *m;
	unsigned int j;

	cfg->masq_lo = DEF_MASQ_LO;
	cfg->masq_hi = DEF_MASQ_HI;
	if (g == NULL)
		return 0;
	if (check_keys(c, g, keys) < 0 || get_list(c, g, "cluster_cidrs", &l) < 0 ||
	    get_port_range(c, g, "ports", &cfg->masq_lo, &cfg->masq_hi) < 0)
		return -1;
	if (l != NULL) {
		if (config_setting_length(l) > KD_CFG_MAX_CIDRS)
			return fail(c, l, NULL, "at most %d CIDRs", KD_CFG_MAX_CIDRS);
		for (j = 0; j < (unsigned int)config_setting_length(l); j++) {
			const config_setting_t *ce = config_setting_get_elem(l, j);
			struct kd_cfg_cidr *cd = &cfg->cluster_cidrs[j];
			const char *v = config_setting_get_string(ce);

			if (v == NULL || kd_config_parse_cidr(v, &cd->prefix, &cd->plen, true) != 0)
				return fail(c, ce, NULL, "not a CIDR a.b.c.d/n with no host bits");
			cfg->n_cluster_cidrs++;
		}
	}
	/* Masquerading needs to know what is inside: on by default once that is said. */
	cfg->masquerade = cfg->n_cluster_cidrs != 0;
	m = config_setting_get_member(g, "masquerade");
	if (m != NULL) {
		if (config_setting_type(m) != CONFIG_TYPE_BOOL)
			return fail(c, m, NULL, "expected true or false");
		cfg->masquerade = config_setting_get_bool(m);
		if (cfg->masquerade && cfg->n_cluster_cidrs == 0)
			return fail(c, m, NULL, "masquerading needs nat.cluster_cidrs, the "
				    "destinations that stay untranslated (pod and Service CIDRs)");
	}
	return 0;
}

static bool
is_loopback(const char *hostport)
{
	return strncmp(hostport, "127.", 4) == 0 || strncmp(hostport, "localhost:", 10) == 0 ||
	       strncmp(hostport, "[::1]:", 6) == 0;
}

static int
load_api(struct ctx *c, const config_setting_t *root, struct kd_config *cfg)
{
	static const char *const keys[] = { "unix_socket", "listen", "tls_cert", "tls_key",
					    "tls_client_ca", "max_message_kb", NULL };
	static const char *const tls[] = { "tls_cert", "tls_key", "tls_client_ca" };
	char *tls_dst[] = { cfg->api_tls_cert, cfg->api_tls_key, cfg->api_tls_client_ca };
	const config_setting_t *g = config_setting_get_member(root, "api");
	const config_setting_t *s;
	const char *colon;
	unsigned int i, n_tls = 0;

	snprintf(cfg->api_unix_socket, sizeof(cfg->api_unix_socket), "%s", DEF_API_SOCKET);
	if (g != NULL && check_keys(c, g, keys) < 0)
		return -1;
	if (GET_UINT(c, g, "max_message_kb", 64, 65536, DEF_API_MAX_KB, cfg->api_max_message_kb) < 0)
		return -1;
	if (g == NULL)
		return 0;
	s = config_setting_get_member(g, "unix_socket");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return fail(c, s, NULL, "expected a string (\"\" disables the socket)");
		if (strlen(config_setting_get_string(s)) >= sizeof(cfg->api_unix_socket) - 1)
			return fail(c, s, NULL, "at most %zu characters",
				    sizeof(cfg->api_unix_socket) - 2);
		snprintf(cfg->api_unix_socket, sizeof(cfg->api_unix_socket), "%s",
			 config_setting_get_string(s));
	}
	if (get_str(c, g, "listen", cfg->api_listen, sizeof(cfg->api_listen), false) < 0)
		return -1;
	for (i = 0; i < RTE_DIM(tls); i++) {
		int r = get_str(c, g, tls[i], tls_dst[i], sizeof(cfg->api_tls_cert), false);
		FILE *f;

		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		n_tls++;
		f = fopen(tls_dst[i], "r");
		if (f == NULL)
			return fail(c, config_setting_get_member(g, tls[i]), NULL, "%s: %s",
				    tls_dst[i], strerror(errno));
		fclose(f);
	}
	if (n_tls != 0 && n_tls != RTE_DIM(tls))
		return fail(c, g, NULL, "tls_cert, tls_key and tls_client_ca go together");
	if (cfg->api_listen[0] == '\0')
		return 0;
	s = config_setting_get_member(g, "listen");
	colon = strrchr(cfg->api_listen, ':');
	if (colon == NULL || colon == cfg->api_listen || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		return fail(c, s, NULL, "\"%s\" is not HOST:PORT", cfg->api_listen);
	if (n_tls == 0 && !is_loopback(cfg->api_listen))
		return fail(c, s, NULL, "TCP on a non-loopback address needs mutual TLS: "
			    "set api.tls_cert, api.tls_key and api.tls_client_ca");
	return 0;
}

int
kd_config_load(const char *path, struct kd_config *cfg, char err[KD_CFG_ERR_LEN])
{
	static const char *const top[] = { "eal", "workers", "mempool", "tables", "node", "ports",
					   "vpcs", "vnics", "remote_nodes", "api", "conntrack",
					   "services", "nat", "policy", NULL };
	struct ctx c = { .path = path, .err = err };
	const config_setting_t *root;
	config_t lc;
	bool uplink = false;
	unsigned int i;
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	err[0] = '\0';
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			snprintf(err, KD_CFG_ERR_LEN, "%s: cannot read: %s", path, strerror(errno));
		else
			snprintf(err, KD_CFG_ERR_LEN, "%s:%d: syntax error: %s",
				 config_error_file(&lc) ? config_error_file(&lc) : path,
				 config_error_line(&lc), config_error_text(&lc));
		goto out;
	}
	root = config_root_setting(&lc);
	c.at = root;
	if (check_keys(&c, root, top) < 0 || load_eal(&c, root, cfg) < 0 ||
	    load_workers(&c, root, cfg) < 0 || load_sizes(&c, root, cfg) < 0 ||
	    load_ports(&c, root, cfg) < 0)
		goto out;
	for (i = 0; i < cfg->n_ports; i++)
		uplink |= cfg->ports[i].role == KD_CFG_ROLE_UPLINK;
	if (load_node(&c, root, cfg, uplink) < 0 || load_vpcs(&c, root, cfg) < 0 ||
	    load_vnics(&c, root, cfg) < 0 || load_rnodes(&c, root, cfg) < 0 ||
	    load_api(&c, root, cfg) < 0 || load_conntrack(&c, root, cfg) < 0 ||
	    load_services(&c, root, cfg) < 0 || load_nat(&c, root, cfg) < 0 ||
	    load_policy(&c, root, cfg) < 0)
		goto out;
	if (cfg->n_rnodes > 0 && !uplink) {
		fail(&c, config_setting_get_member(root, "remote_nodes"), NULL,
		     "remote nodes need a port with role \"uplink\"");
		goto out;
	}
	ret = 0;
out:
	config_destroy(&lc);
	if (ret != 0)
		kd_config_free(cfg);
	return ret;
}

void
kd_config_free(struct kd_config *cfg)
{
	free(cfg->rnodes);
	cfg->rnodes = NULL;
}
