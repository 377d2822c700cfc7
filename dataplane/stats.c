/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "dataplane/stats.h"

/* Lower-case names are built once so telemetry keys look like DPDK's own. */
static char drop_name[KD_DROP_MAX][48];
static char event_name[KD_EV_MAX][48];

static void
lower_into(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void __attribute__((constructor))
names_init(void)
{
#define KD_DROP(name, desc) lower_into(drop_name[KD_DROP_##name], sizeof(drop_name[0]), #name);
#include "dataplane/drops.def"
#undef KD_DROP
#define KD_EVENT(name, desc) lower_into(event_name[KD_EV_##name], sizeof(event_name[0]), #name);
#include "dataplane/events.def"
#undef KD_EVENT
}

const char *
kd_stats_drop_name(enum kd_drop_reason r)
{
	return r < KD_DROP_MAX ? drop_name[r] : "unknown";
}

const char *
kd_stats_event_name(enum kd_event e)
{
	return e < KD_EV_MAX ? event_name[e] : "unknown";
}

void
kd_stats_sum(struct kd_stats *out, const struct kd_stats *per_worker, unsigned int n)
{
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)out;
	size_t words = sizeof(*out) / sizeof(uint64_t);
	unsigned int w;
	size_t i;

	RTE_BUILD_BUG_ON(sizeof(struct kd_stats) % sizeof(uint64_t) != 0);
	memset(out, 0, sizeof(*out));
	for (w = 0; w < n; w++) {
		src = (const uint64_t *)&per_worker[w];
		for (i = 0; i < words; i++)
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

static const struct kd_stats *tel_stats;
static unsigned int tel_n;

static int
tel_drops(const char *cmd __rte_unused, const char *params __rte_unused,
	  struct rte_tel_data *d)
{
	struct kd_stats s;
	int i;

	kd_stats_sum(&s, tel_stats, tel_n);
	rte_tel_data_start_dict(d);
	for (i = 0; i < KD_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(d, drop_name[i], s.drop[i]);
	return 0;
}

static int
tel_events(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	struct kd_stats s;
	int i;

	kd_stats_sum(&s, tel_stats, tel_n);
	rte_tel_data_start_dict(d);
	for (i = 0; i < KD_EV_MAX; i++)
		rte_tel_data_add_dict_u64(d, event_name[i], s.event[i]);
	return 0;
}

static int
tel_ports(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct kd_stats s;
	unsigned long pid;
	char *end;

	if (params == NULL || *params == '\0') {
		uint16_t p;

		rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
		RTE_ETH_FOREACH_DEV(p)
			rte_tel_data_add_array_int(d, p);
		return 0;
	}
	pid = strtoul(params, &end, 10);
	if (*end != '\0' || pid >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)pid))
		return -EINVAL;
	kd_stats_sum(&s, tel_stats, tel_n);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_pkts", s.port[pid].rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.port[pid].rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_pkts", s.port[pid].tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.port[pid].tx_bytes);
	rte_tel_data_add_dict_u64(d, "drops", s.port[pid].drops);
	return 0;
}

/* Flat keys (w0_busy_pkts, ...): 22.11 telemetry nests only arrays in dicts. */
static int
tel_workers(const char *cmd __rte_unused, const char *params __rte_unused,
	    struct rte_tel_data *d)
{
	char key[64];
	unsigned int i;

	rte_tel_data_start_dict(d);
	for (i = 0; i < tel_n; i++) {
		const struct kd_stats *s = &tel_stats[i];
		uint64_t pkts = __atomic_load_n(&s->busy_pkts, __ATOMIC_RELAXED);
		uint64_t tsc = __atomic_load_n(&s->busy_tsc, __ATOMIC_RELAXED);

		snprintf(key, sizeof(key), "w%u_loops", i);
		rte_tel_data_add_dict_u64(d, key, __atomic_load_n(&s->loops, __ATOMIC_RELAXED));
		snprintf(key, sizeof(key), "w%u_busy_tsc", i);
		rte_tel_data_add_dict_u64(d, key, tsc);
		snprintf(key, sizeof(key), "w%u_busy_pkts", i);
		rte_tel_data_add_dict_u64(d, key, pkts);
		snprintf(key, sizeof(key), "w%u_cycles_per_pkt", i);
		rte_tel_data_add_dict_u64(d, key, pkts ? tsc / pkts : 0);
	}
	return 0;
}

int
kd_stats_telemetry_register(const struct kd_stats *per_worker, unsigned int n)
{
	int ret;

	tel_stats = per_worker;
	tel_n = n;
	ret = rte_telemetry_register_cmd("/kdpu/drops", tel_drops,
					 "Drop counters by reason, summed over workers");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/kdpu/events", tel_events,
						 "Event counters, summed over workers");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/kdpu/ports", tel_ports,
						 "Port ids, or one port's counters. Parameters: int port_id");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/kdpu/workers", tel_workers,
						 "Per-worker loops and busy cycles per packet");
	return ret;
}
