/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_log.h>

#include "drivers/port.h"

RTE_LOG_REGISTER_SUFFIX(kd_port_logtype, port, INFO);
#define PLOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, kd_port_logtype, "port: " fmt "\n", ##__VA_ARGS__)

int
kd_port_find(const char *devargs)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t port;
	size_t n = strcspn(devargs, ",");

	if (n >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, devargs, n);
	name[n] = '\0';
	if (rte_eth_dev_get_port_by_name(name, &port) != 0)
		return -ENODEV;
	return port;
}

int
kd_port_setup(uint16_t port, uint16_t n_queues, uint16_t rx_desc, uint16_t tx_desc,
	      uint16_t mtu, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	int socket = rte_eth_dev_socket_id(port);
	uint16_t q, nrx = rx_desc, ntx = tx_desc;
	int ret;

	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0) {
		PLOG(ERR, "%u: cannot get device info: %s", port, strerror(-ret));
		return ret;
	}
	if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues) {
		PLOG(ERR, "%u (%s): %u workers need %u queue pairs, the PMD offers %u rx/%u tx",
		     port, info.driver_name, n_queues, n_queues, info.max_rx_queues,
		     info.max_tx_queues);
		return -EINVAL;
	}
	/* Spread flows over the workers' queues where the PMD can hash them. */
	if (n_queues > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	ret = rte_eth_dev_configure(port, n_queues, n_queues, &conf);
	if (ret != 0) {
		PLOG(ERR, "%u (%s): configure failed: %s", port, info.driver_name, strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (ret != 0)
		return ret;
	for (q = 0; q < n_queues; q++) {
		ret = rte_eth_rx_queue_setup(port, q, nrx, (unsigned int)socket, NULL, mp);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port, q, ntx, (unsigned int)socket, NULL);
		if (ret != 0) {
			PLOG(ERR, "%u: queue %u setup failed: %s", port, q, strerror(-ret));
			return ret;
		}
	}
	ret = rte_eth_dev_set_mtu(port, mtu);
	if (ret != 0 && ret != -ENOTSUP)
		PLOG(WARNING, "%u (%s): cannot set MTU %u: %s", port, info.driver_name, mtu,
		     strerror(-ret));
	ret = rte_eth_dev_start(port);
	if (ret != 0) {
		PLOG(ERR, "%u (%s): start failed: %s", port, info.driver_name, strerror(-ret));
		return ret;
	}
	/* Routed traffic is addressed to the gateway MAC, not the port's own. */
	rte_eth_promiscuous_enable(port);
	PLOG(INFO, "%u (%s): %u queue pair(s), rss %s, mtu %u", port, info.driver_name, n_queues,
	     conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? "on" : "off", mtu);
	return 0;
}

int
kd_port_mac(uint16_t port, struct rte_ether_addr *mac)
{
	return rte_eth_macaddr_get(port, mac);
}

void
kd_port_close(uint16_t port)
{
	int ret = rte_eth_dev_stop(port);

	if (ret != 0)
		PLOG(WARNING, "%u: stop failed: %s", port, strerror(-ret));
	rte_eth_dev_close(port);
}
