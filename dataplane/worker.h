/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_WORKER_H
#define KDPU_DATAPLANE_WORKER_H

/*
 * The worker lcore: poll RX queue `queue` of every port, run the packet path
 * on each burst, transmit on TX queue `queue` of the output ports, free drops
 * in bulk, and report quiescent once per loop. Worker 0 also drains the
 * control TX ring (ARP requests built by the control thread).
 *
 * The tables (routes, compiled policy, Services) are loaded once per loop,
 * into the worker, and every stage of that loop uses those same pointers;
 * the worker reports quiescent after TX, never between stages. How a packet
 * leaves a stage is dataplane/stage.h.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/conntrack.h"
#include "dataplane/stats.h"

#define KD_BURST 32

struct rte_ring;
struct kd_ct_cache;
struct kd_lb;
struct kd_policy;

struct kd_txbuf {
	uint16_t n;
	struct rte_mbuf *m[KD_BURST];
};

struct kd_worker {
	unsigned int id;		/* RCU thread id and index into stats */
	uint16_t queue;			/* RX and TX queue on every port */
	uint16_t n_ports;
	uint16_t ports[RTE_MAX_ETHPORTS];
	uint32_t idle_sleep_us;		/* 0: poll without ever sleeping */
	struct kd_stats *st;
	struct rte_ring *ctl_tx;	/* worker 0 only */
	struct kd_ct *ct;		/* shared connection table */
	struct kd_ct_cache *ctc;	/* this worker's cache in front of it; NULL: none */
	const struct kd_policy *pol;	/* this loop's compiled policy; NULL: none isolated */
	const struct kd_lb *lb;		/* this loop's Service tables; NULL: none */
	struct kd_ct_ager age;		/* this worker's share of the table's aging */
	uint16_t n_dirty;
	uint16_t dirty[RTE_MAX_ETHPORTS];
	uint16_t n_drop;
	struct rte_mbuf *drop[KD_BURST];
	struct kd_txbuf tx[RTE_MAX_ETHPORTS];
} __rte_cache_aligned;

/** Stop flag for every worker; set by the control thread. */
extern volatile bool kd_worker_quit;

/** lcore entry point; arg is the struct kd_worker. */
int kd_worker_main(void *arg);

#endif
