/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration loading: a full valid file, and errors that name file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/config.h"

static const char base[] =
	"eal = { file_prefix = \"t\"; main_lcore = 0; memory_mb = 64; args = [\"--log-level=7\"]; };\n" /* 1 */
	"workers = { lcores = [ 1, 2 ]; idle_sleep_us = 10; };\n"		/* 2 */
	"node = { vtep_ip = \"192.168.100.1/24\"; gateway = \"192.168.100.254\"; };\n" /* 3 */
	"ports = (\n"								/* 4 */
	"  { name = \"up\"; devargs = \"net_tap0,iface=u\"; role = \"uplink\"; },\n" /* 5 */
	"  { name = \"pa\"; devargs = \"net_tap1\"; role = \"vnic\"; pci = \"0000:01:00.1\"; mtu = 1450; }\n" /* 6 */
	");\n"									/* 7 */
	"vpcs = ( { name = \"v\"; vni = 100; gateway_ip = \"10.0.0.1\";\n"	/* 8 */
	"           gateway_mac = \"02:00:00:00:00:01\"; } );\n"		/* 9 */
	"vnics = ( { pci = \"0000:01:00.1\"; vpc = \"v\"; mac = \"02:00:00:00:00:0a\";\n" /* 10 */
	"            ip = \"10.0.0.10\"; } );\n"					/* 11 */
	"remote_nodes = ( { name = \"b\"; vtep_ip = \"10.9.9.9\"; vpc = \"v\";\n" /* 12 */
	"                   pod_cidrs = [ \"10.0.2.0/24\", \"10.0.3.0/24\" ]; } );\n"; /* 13 */

static char path[64];
static char err[KD_CFG_ERR_LEN];
static struct kd_config cfg;

static int
load_text(const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/kdpu-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	fd = kd_config_load(path, &cfg, err);
	unlink(path);
	return fd;
}

/* base with the first occurrence of `from` replaced by `to`. */
static int
load_edit(const char *from, const char *to)
{
	char text[4096];
	const char *at = strstr(base, from);

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
	return load_text(text);
}

static void
expect_error(int line, const char *key)
{
	char want[256];

	snprintf(want, sizeof(want), "%s:%d: %s:", path, line, key);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("want prefix \"%s\", got \"%s\"", want, err);
}

static void
test_valid(void **state)
{
	(void)state;
	assert_int_equal(load_text(base), 0);
	assert_string_equal(cfg.file_prefix, "t");
	assert_int_equal(cfg.n_workers, 2);
	assert_int_equal(cfg.worker_lcores[1], 2);
	assert_int_equal(cfg.n_eal_args, 1);
	assert_int_equal(cfg.n_ports, 2);
	assert_int_equal(cfg.ports[0].role, KD_CFG_ROLE_UPLINK);
	assert_int_equal(cfg.ports[0].mtu, 1500);
	assert_string_equal(cfg.ports[0].pci, "net_tap0");
	assert_int_equal(cfg.ports[1].mtu, 1450);
	assert_int_equal(cfg.vtep_ip, rte_cpu_to_be_32(0xc0a86401));
	assert_int_equal(cfg.vtep_plen, 24);
	assert_int_equal(cfg.vnics[0].port, 1);
	assert_int_equal(cfg.n_rnodes, 1);
	assert_int_equal(cfg.rnodes[0].n_cidrs, 2);
	assert_int_equal(cfg.rnodes[0].cidrs[1].plen, 24);
	/* Off the VTEP subnet, so the next hop is the gateway. */
	assert_int_equal(kd_config_nexthop(&cfg, cfg.rnodes[0].vtep_ip), cfg.gateway_ip);
	/* No peer MAC: the VPC's anycast gateway MAC. */
	assert_memory_equal(&cfg.rnodes[0].inner_mac, &cfg.vpcs[0].gw_mac, 6);
	assert_int_equal(cfg.mbufs, 16383);
	kd_config_free(&cfg);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *from, *to;
		int line;
		const char *key;
	} c[] = {
		{ "role = \"uplink\"", "role = \"up\"", 5, "ports[0].role" },
		{ "mtu = 1450", "mtu = 100", 6, "ports[1].mtu" },
		{ "mtu = 1450", "mtu = \"big\"", 6, "ports[1].mtu" },
		{ "pci = \"0000:01:00.1\"; mtu", "colour = 1; pci = \"0000:01:00.1\"; mtu", 6,
		  "ports[1].colour" },
		{ "lcores = [ 1, 2 ]", "lcores = [ 1, 0 ]", 2, "workers.lcores[1]" },
		{ "lcores = [ 1, 2 ]", "lcores = [ 1, 1 ]", 2, "workers.lcores[1]" },
		{ "name = \"pa\"", "name = \"up\"", 6, "ports[1].name" },
		{ "vpc = \"v\"; mac", "vpc = \"w\"; mac", 10, "vnics[0].vpc" },
		{ "pci = \"0000:01:00.1\"; vpc", "pci = \"0000:01:00.9\"; vpc", 10, "vnics[0].pci" },
		{ "mac = \"02:00:00:00:00:0a\"", "mac = \"02:00:00:00:0a\"", 10, "vnics[0].mac" },
		{ "mac = \"02:00:00:00:00:0a\"", "mac = \"03:00:00:00:00:0a\"", 10, "vnics[0].mac" },
		{ "ip = \"10.0.0.10\"", "ip = \"10.0.0.300\"", 11, "vnics[0].ip" },
		{ "\"10.0.3.0/24\"", "\"10.0.3.1/24\"", 13, "remote_nodes[0].pod_cidrs[1]" },
		{ "vni = 100", "vni = 16777216", 8, "vpcs[0].vni" },
		{ "vtep_ip = \"192.168.100.1/24\"", "vtep_ip = \"192.168.100.1\"", 3, "node.vtep_ip" },
		{ "gateway = \"192.168.100.254\"", "name = \"x\"", 12, "remote_nodes[0].vtep_ip" },
		{ "memory_mb = 64;", "memory_mb = 64; huge = 1;", 1, "eal.huge" },
		{ "devargs = \"net_tap1\"", "devargs = \"net_tap0\"", 6, "ports[1].devargs" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(c); i++) {
		if (load_edit(c[i].from, c[i].to) != -1)
			fail_msg("case %zu (%s) loaded", i, c[i].key);
		expect_error(c[i].line, c[i].key);
	}
}

/* base with extra lines after it: line 14 on. */
static int
load_more(const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", base, extra);
	return load_text(text);
}

/* A worker's connection cache: one entry per connection, a power of two, 32 MiB at most. */
static void
test_conntrack_cache_sizing(void **state)
{
	static const struct { const char *conf; uint32_t entries; } c[] = {
		{ "", 262144 },
		{ "conntrack = { capacity = 100000; };\n", 131072 },
		{ "conntrack = { capacity = 50000000; };\n", 4194304 },
		{ "conntrack = { capacity = 100000; cache_entries = 0; };\n", 0 },
		{ "conntrack = { cache_entries = 5000; };\n", 5000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(c); i++) {
		assert_int_equal(load_more(c[i].conf), 0);
		assert_int_equal(cfg.ct_cache_entries, c[i].entries);
		kd_config_free(&cfg);
	}
	assert_int_equal(load_more("conntrack = { cache_entries = -1; };\n"), -1);
	expect_error(14, "conntrack.cache_entries");
	assert_int_equal(load_more("conntrack = { cache_entries = 100000000; };\n"), -1);
	expect_error(14, "conntrack.cache_entries");
}

/* The policy classifier's size: a default, a value, and what is refused. */
static void
test_policy_max_prefixes(void **state)
{
	(void)state;
	assert_int_equal(load_more(""), 0);
	assert_int_equal(cfg.pol_max_prefixes, 65536);
	kd_config_free(&cfg);
	assert_int_equal(load_more("policy = { max_prefixes = 262144; };\n"), 0);
	assert_int_equal(cfg.pol_max_prefixes, 262144);
	kd_config_free(&cfg);
	assert_int_equal(load_more("policy = { max_prefixes = 10; };\n"), -1);
	expect_error(14, "policy.max_prefixes");
	assert_int_equal(load_more("policy = { max_keys = 100; };\n"), -1);
	expect_error(14, "policy.max_keys");
}

static void
test_structural_errors(void **state)
{
	(void)state;
	assert_int_equal(load_text("workers = { lcores = [1]; };\nports = ( { name = ; } );\n"), -1);
	expect_error(2, "syntax error");
	assert_int_equal(load_text("ports = ( { name = \"a\"; devargs = \"b\"; role = \"vnic\"; } );\n"),
			 -1);
	expect_error(0, "workers");
	assert_int_equal(load_text("workers = { lcores = [1]; };\n"), -1);
	expect_error(0, "ports");
	assert_int_equal(load_text("workers = { lcores = [1]; };\nkdpu = 1;\n"), -1);
	expect_error(2, "kdpu");
	assert_int_equal(kd_config_load("/nonexistent/kdpu.conf", &cfg, err), -1);
	assert_non_null(strstr(err, "/nonexistent/kdpu.conf: cannot read"));
}

static void
test_value_parsers(void **state)
{
	struct rte_ether_addr mac;
	rte_be32_t ip;
	uint8_t plen;

	(void)state;
	assert_int_equal(kd_config_parse_ipv4("10.1.2.3", &ip), 0);
	assert_int_equal(ip, rte_cpu_to_be_32(0x0a010203));
	assert_int_equal(kd_config_parse_ipv4("10.1.2", &ip), -EINVAL);
	assert_int_equal(kd_config_parse_ipv4("", &ip), -EINVAL);
	assert_int_equal(kd_config_parse_ipv4(NULL, &ip), -EINVAL);
	assert_int_equal(kd_config_parse_cidr("10.2.0.0/16", &ip, &plen, true), 0);
	assert_int_equal(plen, 16);
	assert_int_equal(kd_config_parse_cidr("0.0.0.0/0", &ip, &plen, true), 0);
	assert_int_equal(kd_config_parse_cidr("10.2.0.1/16", &ip, &plen, true), -EINVAL);
	assert_int_equal(kd_config_parse_cidr("10.2.0.1/16", &ip, &plen, false), 0);
	assert_int_equal(ip, rte_cpu_to_be_32(0x0a020001));
	assert_int_equal(kd_config_parse_cidr("10.2.0.0/33", &ip, &plen, true), -EINVAL);
	assert_int_equal(kd_config_parse_cidr("10.2.0.0/-1", &ip, &plen, true), -EINVAL);
	assert_int_equal(kd_config_parse_cidr("10.2.0.0/", &ip, &plen, true), -EINVAL);
	assert_int_equal(kd_config_parse_cidr("10.2.0.0/8x", &ip, &plen, true), -EINVAL);
	assert_int_equal(kd_config_parse_cidr("10.2.0.0", &ip, &plen, true), -EINVAL);
	assert_int_equal(kd_config_parse_mac("02:AB:cd:00:00:01", &mac), 0);
	assert_int_equal(mac.addr_bytes[1], 0xab);
	assert_int_equal(kd_config_parse_mac("02:ab:cd:00:00:01:", &mac), -EINVAL);
	assert_int_equal(kd_config_parse_mac("02:ab:cd:00:00", &mac), -EINVAL);
	assert_int_equal(kd_config_parse_mac("ff:ff:ff:ff:ff:ff", &mac), -EINVAL);
	assert_int_equal(kd_config_parse_mac("00:00:00:00:00:00", &mac), -EINVAL);
	assert_int_equal(kd_config_parse_mac("2:ab:cd:0:0:1xx", &mac), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_conntrack_cache_sizing),
		cmocka_unit_test(test_policy_max_prefixes),
		cmocka_unit_test(test_structural_errors),
		cmocka_unit_test(test_value_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
