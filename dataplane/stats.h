/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_STATS_H
#define KDPU_DATAPLANE_STATS_H

/*
 * Counters. Each worker owns one cache-aligned struct kd_stats and writes it
 * with plain increments: no atomics, no shared lines. Readers (the control
 * thread, rte_telemetry callbacks) sum all workers with kd_stats_sum(); a sum
 * may be a few packets stale, never torn, because every counter is one
 * aligned 64-bit word.
 *
 * Drop reasons live in drops.def and normal events in events.def; both are
 * append-only and expand here into enums and name tables.
 */

#include <stdint.h>

#include <rte_common.h>
#include <rte_config.h>

enum kd_drop_reason {
#define KD_DROP(name, desc) KD_DROP_##name,
#include "dataplane/drops.def"
#undef KD_DROP
	KD_DROP_MAX
};

enum kd_event {
#define KD_EVENT(name, desc) KD_EV_##name,
#include "dataplane/events.def"
#undef KD_EVENT
	KD_EV_MAX
};

struct kd_port_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t drops;		/* packets received on this port and dropped */
};

/* Policy ids above this are enforced but not counted per policy. */
#define KD_STATS_POLICIES 1024

struct kd_stats {
	uint64_t drop[KD_DROP_MAX];
	uint64_t event[KD_EV_MAX];
	struct kd_port_stats port[RTE_MAX_ETHPORTS];
	uint64_t loops;
	uint64_t busy_tsc;	/* TSC spent in loops that moved packets */
	uint64_t busy_pkts;	/* packets received in those loops */
	/* Per policy id - 1: connections it allowed. */
	uint64_t pol_allow[KD_STATS_POLICIES];
	/*
	 * Connections refused at an isolated vNIC port, by direction: one count
	 * however many policies isolate it. The control thread credits them to
	 * the isolating policies (control/api.c), off the packet path.
	 */
	uint64_t deny_at[RTE_MAX_ETHPORTS][2];
} __rte_cache_aligned;

/** Name of a drop reason ("parse_trunc_l2"); of an event, below. */
const char *kd_stats_drop_name(enum kd_drop_reason r);
const char *kd_stats_event_name(enum kd_event e);

/** Sum n per-worker structs into *out. Any thread. */
void kd_stats_sum(struct kd_stats *out, const struct kd_stats *per_worker, unsigned int n);

/**
 * Register the /kdpu/... rte_telemetry commands over the given per-worker
 * array. Control thread, after rte_eal_init(). Returns 0 or -errno.
 */
int kd_stats_telemetry_register(const struct kd_stats *per_worker, unsigned int n);

#endif
