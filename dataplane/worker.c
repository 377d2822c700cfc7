/* SPDX-License-Identifier: Apache-2.0 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/firewall.h"
#include "dataplane/fwd.h"
#include "dataplane/lb.h"
#include "dataplane/policy.h"
#include "dataplane/stage.h"
#include "dataplane/tables.h"
#include "dataplane/vxlan.h"
#include "dataplane/worker.h"

/* Empty polls in a row before an idle worker starts to sleep. */
#define IDLE_POLLS_BEFORE_SLEEP 256

volatile bool kd_worker_quit;

static void
flush(struct kd_worker *w)
{
	uint16_t i, sent, p;

	for (i = 0; i < w->n_dirty; i++) {
		struct kd_txbuf *b;
		uint64_t bytes = 0;
		uint16_t j;

		p = w->dirty[i];
		b = &w->tx[p];
		for (j = 0; j < b->n; j++)
			bytes += rte_pktmbuf_pkt_len(b->m[j]);
		sent = rte_eth_tx_burst(p, w->queue, b->m, b->n);
		if (unlikely(sent < b->n)) {
			for (j = sent; j < b->n; j++) {
				bytes -= rte_pktmbuf_pkt_len(b->m[j]);
				w->st->drop[KD_DROP_TX_FULL]++;
			}
			rte_pktmbuf_free_bulk(&b->m[sent], b->n - sent);
		}
		w->st->port[p].tx_pkts += sent;
		w->st->port[p].tx_bytes += bytes;
		b->n = 0;
	}
	w->n_dirty = 0;
	if (w->n_drop != 0) {
		rte_pktmbuf_free_bulk(w->drop, w->n_drop);
		w->n_drop = 0;
	}
}

/* Frames the control thread asked this worker to send (ARP requests). */
static void
drain_ctl_tx(struct kd_worker *w)
{
	struct rte_mbuf *m[KD_BURST];
	unsigned int n, i;

	n = rte_ring_dequeue_burst(w->ctl_tx, (void **)m, KD_BURST, NULL);
	for (i = 0; i < n; i++) {
		w->st->event[KD_EV_CTL_TX]++;
		kd_stage_tx(w, m[i]->port, m[i]);
	}
	if (n != 0)
		flush(w);
}

static __rte_always_inline void
dispatch(struct kd_worker *w, const struct kd_tables *t, uint16_t port,
	 struct rte_mbuf **pkts, uint16_t n)
{
	struct kd_port_stats *ps = &w->st->port[port];
	uint16_t i;

	ps->rx_pkts += n;
	for (i = 0; i < n; i++)
		ps->rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	switch (t->port_role[port]) {
	case KD_PORT_VNIC:
		kd_fwd_vnic_burst(w, t, port, pkts, n);
		break;
	case KD_PORT_UPLINK:
		kd_vxlan_uplink_burst(w, t, pkts, n);
		break;
	default:
		for (i = 0; i < n; i++)
			kd_stage_drop(w, pkts[i], KD_DROP_PORT_UNKNOWN);
		break;
	}
}

int
kd_worker_main(void *arg)
{
	struct kd_worker *w = arg;
	struct rte_rcu_qsbr *q = kd_tables_qsbr();
	struct rte_mbuf *pkts[KD_BURST];
	uint32_t idle = 0;

	rte_rcu_qsbr_thread_register(q, w->id);
	rte_rcu_qsbr_thread_online(q, w->id);
	while (!kd_worker_quit) {
		const struct kd_tables *t = kd_tables_get();
		uint64_t start = rte_rdtsc();
		uint32_t got = 0;
		uint16_t i, n;

		/* Published in this order, each a grace period apart: one consistent set. */
		w->pol = kd_policy_get();
		w->lb = kd_lb_get();
		w->st->loops++;
		for (i = 0; i < w->n_ports && t != NULL; i++) {
			uint16_t port = w->ports[i];

			n = rte_eth_rx_burst(port, w->queue, pkts, KD_BURST);
			if (n == 0)
				continue;
			got += n;
			dispatch(w, t, port, pkts, n);
			flush(w);
		}
		if (w->ctl_tx != NULL)
			drain_ctl_tx(w);
		if (w->ct != NULL)
			w->st->event[KD_EV_CT_EXPIRED] += kd_ct_age_tick(w->ct, &w->age, start);
		rte_rcu_qsbr_quiescent(q, w->id);
		if (got != 0) {
			w->st->busy_tsc += rte_rdtsc() - start;
			w->st->busy_pkts += got;
			idle = 0;
		} else if (w->idle_sleep_us != 0 && ++idle > IDLE_POLLS_BEFORE_SLEEP) {
			/* Only an idle worker sleeps; a loaded one never leaves the poll. */
			rte_delay_us_sleep(w->idle_sleep_us);
		}
	}
	rte_rcu_qsbr_thread_offline(q, w->id);
	rte_rcu_qsbr_thread_unregister(q, w->id);
	return 0;
}
