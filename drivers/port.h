/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_DRIVERS_PORT_H
#define KDPU_DRIVERS_PORT_H

/*
 * Ethdev setup for any PMD (tap, memif, pcap, af_xdp, PCI): one RX and one
 * TX queue per worker, RSS over IP/TCP/UDP when the PMD offers it, MTU, and
 * start/stop/close. Probes first and falls back: a PMD without RSS still
 * works, with its own queue spreading.
 *
 * Control thread only: before workers launch (kd_port_setup) and after they
 * stop (kd_port_close).
 */

#include <stdint.h>

struct rte_ether_addr;
struct rte_mempool;

/** Port id of the probed device named by devargs (the part before ','), or -ENODEV. */
int kd_port_find(const char *devargs);

/**
 * Configure and start port with n_queues RX/TX queue pairs.
 * Returns 0 or -errno; logs the cause once.
 */
int kd_port_setup(uint16_t port, uint16_t n_queues, uint16_t rx_desc, uint16_t tx_desc,
		  uint16_t mtu, struct rte_mempool *mp);

/** The port's MAC address. 0 or -errno. */
int kd_port_mac(uint16_t port, struct rte_ether_addr *mac);

/** Stop and close a port set up by kd_port_setup. */
void kd_port_close(uint16_t port);

#endif
