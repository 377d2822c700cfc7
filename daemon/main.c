/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdpu-dataplane: load the configuration, start EAL from it, set up ports,
 * publish the first table generation, launch one worker per worker lcore and
 * run the control loop (neighbour resolution) on the main lcore until
 * SIGTERM or SIGINT. Every failure before the workers start exits non-zero;
 * a configuration error exits before EAL or any port is touched.
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "control/api.h"
#include "control/config.h"
#include "control/grpc_server.h"
#include "control/provision.h"
#include "control/publish.h"
#include "dataplane/arp.h"
#include "dataplane/conntrack.h"
#include "dataplane/ct_cache.h"
#include "dataplane/lb.h"
#include "dataplane/stats.h"
#include "dataplane/tables.h"
#include "dataplane/worker.h"
#include "drivers/port.h"

#define DEFAULT_CONFIG "/etc/kdpu/kdpu.conf"
#define CTL_TICK_MS 100
#define HOUSEKEEPING_TICK_MS 10
#define ARP_RETRY_MS 1000
/* An unresolved next hop is asked again sooner, backing off to ARP_RETRY_MS:
 * the first request may go out before the link or the neighbour is up. */
#define ARP_FIRST_RETRY_MS 50

static volatile sig_atomic_t quit_signal;

struct daemon {
	struct kd_config cfg;
	uint16_t port_ids[KD_CFG_MAX_PORTS];
	unsigned int n_ports_up;
	struct rte_mempool *mp;
	struct rte_ring *ctl_tx;
	struct kd_stats *stats;
	struct kd_worker *workers;
	uint64_t arp_sent_tsc[KD_ARP_MAX_NEIGH];
	uint8_t arp_tries[KD_ARP_MAX_NEIGH];	/* requests since the entry was last valid */
	bool uplink_up;
	struct kd_api api;
	struct kd_publish *pub;
	struct kd_grpc_server *grpc;
	struct kd_ct *ct;
	uint64_t aff_age_tsc;
	pthread_t housekeeping;
	bool housekeeping_up;
	bool housekeeping_quit;
};

static void
on_signal(int sig)
{
	quit_signal = sig;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kdpu-dataplane [-c FILE] [--check]\n"
		"  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"      --check        validate the configuration and exit\n"
		"  -h, --help         this text\n");
}

/* A PCI address (DDDD:BB:DD.F or BB:DD.F) goes to -a, anything else is a vdev. */
static bool
is_pci(const char *devargs)
{
	unsigned int d, b, s, f;
	char c;

	return sscanf(devargs, "%x:%x:%x.%x%c", &d, &b, &s, &f, &c) >= 4 ||
	       sscanf(devargs, "%x:%x.%x%c", &b, &s, &f, &c) >= 3;
}

static int
build_eal_argv(const struct kd_config *cfg, char **argv, int max, const char *prog)
{
	static char buf[KD_CFG_MAX_PORTS + KD_CFG_MAX_EAL_ARGS + 8][320];
	bool any_pci = false;
	unsigned int i;
	int n = 0, k = 0;

#define ADD(...) do { \
		if (n >= max - 1) return -E2BIG; \
		snprintf(buf[k], sizeof(buf[k]), __VA_ARGS__); argv[n++] = buf[k++]; \
	} while (0)
	ADD("%s", prog);
	ADD("--file-prefix=%s", cfg->file_prefix);
	if (cfg->lcores[0] != '\0') {
		ADD("--lcores=%s", cfg->lcores);
	} else {
		int off = snprintf(buf[k], sizeof(buf[k]), "-l%u", cfg->main_lcore);

		for (i = 0; i < cfg->n_workers; i++)
			off += snprintf(buf[k] + off, sizeof(buf[k]) - (size_t)off, ",%u",
					cfg->worker_lcores[i]);
		argv[n++] = buf[k++];
	}
	ADD("--main-lcore=%u", cfg->main_lcore);
	if (cfg->memory_mb != 0)
		ADD("-m%u", cfg->memory_mb);
	for (i = 0; i < cfg->n_ports; i++) {
		if (is_pci(cfg->ports[i].devargs)) {
			any_pci = true;
			ADD("-a%s", cfg->ports[i].devargs);
		} else {
			ADD("--vdev=%s", cfg->ports[i].devargs);
		}
	}
	if (!any_pci)
		ADD("--no-pci");
	for (i = 0; i < cfg->n_eal_args; i++)
		ADD("%s", cfg->eal_args[i]);
#undef ADD
	argv[n] = NULL;
	return n;
}

static int
setup_ports(struct daemon *d)
{
	const struct kd_config *cfg = &d->cfg;
	unsigned int i;
	int ret;

	/* Enough for every RX ring full, every TX ring full, and the bursts in flight. */
	d->mp = rte_pktmbuf_pool_create("kd_mbuf", cfg->mbufs, cfg->mbuf_cache, 0,
					cfg->mbuf_data_room, (int)rte_socket_id());
	if (d->mp == NULL) {
		fprintf(stderr, "kdpu-dataplane: mbuf pool of %u: %s\n", cfg->mbufs,
			rte_strerror(rte_errno));
		return -1;
	}
	for (i = 0; i < cfg->n_ports; i++) {
		ret = kd_port_find(cfg->ports[i].devargs);
		if (ret < 0) {
			fprintf(stderr, "kdpu-dataplane: port \"%s\": no device for devargs \"%s\"\n",
				cfg->ports[i].name, cfg->ports[i].devargs);
			return -1;
		}
		d->port_ids[i] = (uint16_t)ret;
		ret = kd_port_setup(d->port_ids[i], (uint16_t)cfg->n_workers, cfg->rx_desc,
				    cfg->tx_desc, cfg->ports[i].mtu, d->mp);
		if (ret < 0) {
			fprintf(stderr, "kdpu-dataplane: port \"%s\": setup failed: %s\n",
				cfg->ports[i].name, strerror(-ret));
			return -1;
		}
		d->n_ports_up = i + 1;
	}
	return 0;
}

static int
launch_workers(struct daemon *d)
{
	const struct kd_config *cfg = &d->cfg;
	unsigned int i, p;

	d->stats = rte_zmalloc("kd_stats", sizeof(*d->stats) * cfg->n_workers, RTE_CACHE_LINE_SIZE);
	d->workers = rte_zmalloc("kd_workers", sizeof(*d->workers) * cfg->n_workers,
				 RTE_CACHE_LINE_SIZE);
	d->ctl_tx = rte_ring_create("kd_ctl_tx", 256, (int)rte_socket_id(),
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (d->stats == NULL || d->workers == NULL || d->ctl_tx == NULL) {
		fprintf(stderr, "kdpu-dataplane: cannot allocate worker state\n");
		return -1;
	}
	if (kd_stats_telemetry_register(d->stats, cfg->n_workers) != 0)
		fprintf(stderr, "kdpu-dataplane: telemetry commands not registered\n");
	for (i = 0; i < cfg->n_workers; i++) {
		struct kd_worker *w = &d->workers[i];

		w->id = i;
		w->queue = (uint16_t)i;
		w->st = &d->stats[i];
		w->idle_sleep_us = cfg->idle_sleep_us;
		w->ctl_tx = i == 0 ? d->ctl_tx : NULL;
		/* Each worker ages its own share of the connection table. */
		w->ct = d->ct;
		if (cfg->ct_cache_entries != 0) {
			w->ctc = kd_ct_cache_create(cfg->ct_cache_entries,
						    (int)rte_lcore_to_socket_id(cfg->worker_lcores[i]));
			if (w->ctc == NULL) {
				fprintf(stderr, "kdpu-dataplane: conntrack.cache_entries %u: "
					"cannot allocate %zu MiB for worker %u\n",
					cfg->ct_cache_entries,
					kd_ct_cache_memsize(cfg->ct_cache_entries) >> 20, i);
				return -1;
			}
		}
		w->age.lo = (uint32_t)((uint64_t)cfg->ct_capacity * i / cfg->n_workers);
		w->age.hi = (uint32_t)((uint64_t)cfg->ct_capacity * (i + 1) / cfg->n_workers);
		w->age.cursor = w->age.lo;
		for (p = 0; p < cfg->n_ports; p++)
			w->ports[w->n_ports++] = d->port_ids[p];
	}
	for (i = 0; i < cfg->n_workers; i++) {
		unsigned int lc = cfg->worker_lcores[i];
		int ret;

		if (!rte_lcore_is_enabled(lc) || lc == rte_get_main_lcore()) {
			fprintf(stderr, "kdpu-dataplane: workers.lcores: lcore %u is not an EAL "
				"worker lcore (check eal.lcores)\n", lc);
			return -1;
		}
		ret = rte_eal_remote_launch(kd_worker_main, &d->workers[i], lc);
		if (ret != 0) {
			fprintf(stderr, "kdpu-dataplane: cannot launch worker on lcore %u: %s\n", lc,
				strerror(-ret));
			return -1;
		}
	}
	return 0;
}

/*
 * The configuration's VPCs, vNICs and nodes become API objects, validated like
 * any request, and the first generation is built from them in one go.
 */
static int
provision(struct daemon *d)
{
	struct kd_err e = { .code = KD_OK };

	kd_api_init(&d->api);
	d->api.cfg = &d->cfg;
	d->api.port_ids = d->port_ids;
	d->api.n_workers = d->cfg.n_workers;
	d->api.ct = d->ct;
	d->pub = kd_publish_create(&d->cfg, d->port_ids, d->ct);
	if (d->pub == NULL) {
		fprintf(stderr, "kdpu-dataplane: out of memory\n");
		return -1;
	}
	/* Objects first, each validated; then the first generation, in one go. */
	if (kd_provision_config(&d->api, &d->cfg, &e) == KD_OK) {
		d->api.pub = d->pub;
		if (kd_api_sync(&d->api, NULL, 0, false, &e) == KD_OK)
			return 0;
	}
	fprintf(stderr, "kdpu-dataplane: %s: %s\n", d->cfg.path, e.msg);
	return -1;
}

static int
start_api(struct daemon *d)
{
	const struct kd_config *cfg = &d->cfg;
	struct kd_grpc_opts o = {
		.unix_socket = cfg->api_unix_socket,
		.listen = cfg->api_listen,
		.tls_cert = cfg->api_tls_cert,
		.tls_key = cfg->api_tls_key,
		.tls_client_ca = cfg->api_tls_client_ca,
		.max_message_kb = cfg->api_max_message_kb,
	};
	char err[256];

	d->api.stats = d->stats;
	d->grpc = kd_grpc_start(&o, &d->api, err, sizeof(err));
	if (d->grpc == NULL) {
		fprintf(stderr, "kdpu-dataplane: API: %s\n", err);
		return -1;
	}
	return 0;
}

/* Ask for unresolved next hops (soon, then every second) and refresh known ones periodically. */
static void
neigh_tick(struct daemon *d, const struct kd_tables *t)
{
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint64_t refresh = hz * d->cfg.arp_refresh_s;
	uint32_t i, n = __atomic_load_n(&kd_arp_neigh->n, __ATOMIC_ACQUIRE);

	struct rte_eth_link link;

	if (t->uplink_port == RTE_MAX_ETHPORTS)
		return;
	/* The link came up: what was asked into the void is asked again now. */
	if (rte_eth_link_get_nowait(t->uplink_port, &link) == 0 &&
	    (bool)link.link_status != d->uplink_up) {
		d->uplink_up = link.link_status;
		if (d->uplink_up) {
			memset(d->arp_tries, 0, sizeof(d->arp_tries));
			memset(d->arp_sent_tsc, 0, sizeof(d->arp_sent_tsc));
		}
	}
	for (i = 0; i < n; i++) {
		const struct kd_neigh *e = &kd_arp_neigh->e[i];
		bool valid = __atomic_load_n(&e->mac, __ATOMIC_RELAXED) & KD_ARP_MAC_VALID;
		uint64_t seen = __atomic_load_n(&e->learned_tsc, __ATOMIC_RELAXED);
		uint64_t retry = hz * ARP_RETRY_MS / 1000;
		struct rte_mbuf *m;

		if (valid)
			d->arp_tries[i] = 0;
		else if (d->arp_tries[i] < 8)
			retry = RTE_MIN(retry, hz * (ARP_FIRST_RETRY_MS << d->arp_tries[i]) / 1000);
		if (__atomic_load_n(&e->ip, __ATOMIC_ACQUIRE) == 0 ||
		    now - d->arp_sent_tsc[i] < retry || (valid && now - seen < refresh))
			continue;	/* reserved by a worker, IP not yet written; or fresh */
		m = kd_arp_request_build(d->mp, t, (uint16_t)i);
		if (m == NULL)
			continue;
		if (rte_ring_enqueue(d->ctl_tx, m) != 0)
			rte_pktmbuf_free(m);
		d->arp_sent_tsc[i] = now;
		if (!valid && d->arp_tries[i] < UINT8_MAX)
			d->arp_tries[i]++;
	}
}

static void
print_counters(const struct daemon *d)
{
	struct kd_stats s;
	unsigned int i;

	kd_stats_sum(&s, d->stats, d->cfg.n_workers);
	for (i = 0; i < d->cfg.n_ports; i++) {
		const struct kd_port_stats *p = &s.port[d->port_ids[i]];

		printf("port %-12s rx %" PRIu64 " tx %" PRIu64 " drops %" PRIu64 "\n",
		       d->cfg.ports[i].name, p->rx_pkts, p->tx_pkts, p->drops);
	}
	for (i = 0; i < KD_EV_MAX; i++)
		if (s.event[i] != 0)
			printf("event %-24s %" PRIu64 "\n", kd_stats_event_name(i), s.event[i]);
	for (i = 0; i < KD_DROP_MAX; i++)
		if (s.drop[i] != 0)
			printf("drop  %-24s %" PRIu64 "\n", kd_stats_drop_name(i), s.drop[i]);
	fflush(stdout);
}

/*
 * ARP requests and ClientIP affinity aging, on a thread of their own, so
 * that a long table build on the control thread never delays them. It reads
 * the routing tables as one more RCU reader (the last QSBR thread id),
 * online only while it does, so publications never wait on its sleep.
 */
static void *
housekeeping(void *arg)
{
	struct daemon *d = arg;
	struct rte_rcu_qsbr *q = kd_tables_qsbr();
	unsigned int id = d->cfg.n_workers;
	struct timespec tick = { .tv_nsec = HOUSEKEEPING_TICK_MS * 1000000L };

	rte_rcu_qsbr_thread_register(q, id);
	while (!__atomic_load_n(&d->housekeeping_quit, __ATOMIC_ACQUIRE)) {
		const struct kd_tables *t;

		rte_rcu_qsbr_thread_online(q, id);
		t = kd_tables_get();
		if (t != NULL)
			neigh_tick(d, t);
		rte_rcu_qsbr_thread_offline(q, id);
		if (rte_rdtsc() - d->aff_age_tsc > rte_get_tsc_hz()) {
			d->aff_age_tsc = rte_rdtsc();
			kd_lb_affinity_age(d->aff_age_tsc);
		}
		nanosleep(&tick, NULL);
	}
	rte_rcu_qsbr_thread_unregister(q, id);
	return NULL;
}

/*
 * EAL keeps its hugepage files and runtime directory so that secondaries
 * (dpdk-dumpcap, dpdk-proc-info) can attach; on a clean stop we made them and
 * remove them.
 */
static void
remove_runtime_files(const char *runtime_dir, const char *prefix)
{
	const char *dirs[] = { "/dev/hugepages", "/mnt/huge" };
	char pat[PATH_MAX + 16];
	glob_t g;
	size_t i, j;

	for (i = 0; i < RTE_DIM(dirs); i++) {
		snprintf(pat, sizeof(pat), "%s/%smap_*", dirs[i], prefix);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (j = 0; j < g.gl_pathc; j++)
			unlink(g.gl_pathv[j]);
		globfree(&g);
	}
	snprintf(pat, sizeof(pat), "%s/*", runtime_dir);
	if (runtime_dir[0] != '\0' && glob(pat, 0, NULL, &g) == 0) {
		for (j = 0; j < g.gl_pathc; j++)
			unlink(g.gl_pathv[j]);
		globfree(&g);
	}
	if (runtime_dir[0] != '\0')
		rmdir(runtime_dir);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d;
	const char *path = DEFAULT_CONFIG;
	char err[KD_CFG_ERR_LEN], runtime_dir[PATH_MAX];
	char *eal_argv[KD_CFG_MAX_PORTS + KD_CFG_MAX_EAL_ARGS + 8];
	bool check = false, launched = false;
	unsigned int i;
	int opt, eal_argc, rc = EXIT_FAILURE;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (kd_config_load(path, &d.cfg, err) != 0) {
		fprintf(stderr, "kdpu-dataplane: %s\n", err);
		return EXIT_FAILURE;
	}
	eal_argc = build_eal_argv(&d.cfg, eal_argv, (int)RTE_DIM(eal_argv), argv[0]);
	if (check) {
		printf("%s: OK; EAL:", path);
		for (i = 1; i < (unsigned int)eal_argc; i++)
			printf(" %s", eal_argv[i]);
		printf("\n");
		kd_config_free(&d.cfg);
		return EXIT_SUCCESS;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "kdpu-dataplane: EAL init failed: %s\n", rte_strerror(rte_errno));
		kd_config_free(&d.cfg);
		return EXIT_FAILURE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_pdump_init() != 0)
		fprintf(stderr, "kdpu-dataplane: pdump unavailable: %s\n", rte_strerror(rte_errno));
	/* One QSBR reader per worker, and the housekeeping thread. */
	if (kd_tables_init(d.cfg.n_workers + 1) != 0 || kd_arp_init() != 0 ||
	    kd_arp_telemetry_register() != 0 ||
	    kd_lb_init(d.cfg.svc_affinity_capacity, kd_tables_qsbr()) != 0) {
		fprintf(stderr, "kdpu-dataplane: cannot allocate tables\n");
		goto out;
	}
	d.ct = kd_ct_create("kd_ct", d.cfg.ct_capacity, &d.cfg.ct_timeouts, kd_tables_qsbr());
	if (d.ct == NULL) {
		fprintf(stderr, "kdpu-dataplane: conntrack.capacity %u: cannot allocate %zu MiB: %s\n",
			d.cfg.ct_capacity, kd_ct_memsize(d.cfg.ct_capacity) >> 20,
			rte_strerror(rte_errno));
		goto out;
	}
	if (setup_ports(&d) != 0)
		goto out;
	if (provision(&d) != 0)
		goto out;
	if (launch_workers(&d) != 0)
		goto stop;
	launched = true;
	if (start_api(&d) != 0) {
		rc = EXIT_FAILURE;
		goto stop_now;
	}
	printf("kdpu-dataplane: running %u worker(s) on %u port(s), file prefix %s, API %s%s%s\n",
	       d.cfg.n_workers, d.cfg.n_ports, d.cfg.file_prefix,
	       d.cfg.api_unix_socket[0] != '\0' ? d.cfg.api_unix_socket : "",
	       d.cfg.api_listen[0] != '\0' && d.cfg.api_unix_socket[0] != '\0' ? " and " : "",
	       d.cfg.api_listen);
	fflush(stdout);
	if (rte_ctrl_thread_create(&d.housekeeping, "kd-housekeep", NULL, housekeeping, &d) != 0) {
		fprintf(stderr, "kdpu-dataplane: cannot start the housekeeping thread\n");
		rc = EXIT_FAILURE;
		goto stop_now;
	}
	d.housekeeping_up = true;
	while (quit_signal == 0)
		kd_grpc_poll(d.grpc, CTL_TICK_MS);
	printf("kdpu-dataplane: signal %d, stopping\n", (int)quit_signal);
	rc = EXIT_SUCCESS;
stop_now:
	if (d.housekeeping_up) {
		__atomic_store_n(&d.housekeeping_quit, true, __ATOMIC_RELEASE);
		pthread_join(d.housekeeping, NULL);
	}
	kd_grpc_stop(d.grpc);
stop:
	kd_worker_quit = true;
	rte_eal_mp_wait_lcore();
	if (launched)
		print_counters(&d);
out:
	for (i = 0; i < d.n_ports_up; i++)
		kd_port_close(d.port_ids[i]);
	kd_api_fini(&d.api);
	kd_publish_free(d.pub);
	kd_lb_fini();
	kd_ct_free(d.ct);
	kd_tables_fini();
	kd_arp_fini();
	if (d.ctl_tx != NULL) {
		struct rte_mbuf *m = NULL;

		while (rte_ring_dequeue(d.ctl_tx, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(d.ctl_tx);
	}
	for (i = 0; d.workers != NULL && i < d.cfg.n_workers; i++)
		kd_ct_cache_free(d.workers[i].ctc);
	rte_free(d.workers);
	rte_free(d.stats);
	rte_mempool_free(d.mp);
	rte_pdump_uninit();
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	remove_runtime_files(runtime_dir, d.cfg.file_prefix);
	kd_config_free(&d.cfg);
	return rc;
}
