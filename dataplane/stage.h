/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DATAPLANE_STAGE_H
#define KDPU_DATAPLANE_STAGE_H

/*
 * How a packet leaves a stage: in exactly one way. kd_stage_tx() queues it
 * in the worker's TX buffer of its output port, kd_stage_drop() counts its
 * reason and queues it for freeing, kd_stage_consume() queues for freeing a
 * packet that did its job. Both buffers hold one RX burst; the worker loop
 * flushes them after every burst, so stages never transmit or free.
 * Worker context.
 */

#include <rte_mbuf.h>

#include "dataplane/stats.h"
#include "dataplane/worker.h"

static __rte_always_inline void
kd_stage_tx(struct kd_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct kd_txbuf *b = &w->tx[port];

	if (b->n == 0)
		w->dirty[w->n_dirty++] = port;
	b->m[b->n++] = m;
}

static __rte_always_inline void
kd_stage_drop(struct kd_worker *w, struct rte_mbuf *m, enum kd_drop_reason r)
{
	w->st->drop[r]++;
	w->st->port[m->port].drops++;
	w->drop[w->n_drop++] = m;
}

/** Free a packet that did its job (an ARP reply learned from); no drop is counted. */
static __rte_always_inline void
kd_stage_consume(struct kd_worker *w, struct rte_mbuf *m)
{
	w->drop[w->n_drop++] = m;
}

#endif
