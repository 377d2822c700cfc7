/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_TESTS_UNIT_FIXTURE_H
#define KDPU_TESTS_UNIT_FIXTURE_H

/*
 * What the compiler tests share: an EAL without hugepages or devices with
 * one QSBR reader, and API objects read from YAML as kdpuctl reads them.
 * Include after <cmocka.h>.
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "cli/manifest.h"
#include "dataplane/tables.h"

/* A seeded sequence that is the same on every machine: set seed, then draw. */
static unsigned int seed;

/** A number below n. */
static inline unsigned int
rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/** EAL for test name with mb MiB of heap, and the tables' QSBR variable. 0 or -1; teardown below. */
static inline int
kd_test_eal(const char *name, const char *mb)
{
	char *argv[] = { (char *)(uintptr_t)name, "--no-huge", "--no-pci", "-m", (char *)(uintptr_t)mb,
			 "--no-shconf", "--log-level=lib.eal:error", "-l", "0" };

	return rte_eal_init(9, argv) < 0 || kd_tables_init(1) != 0 ? -1 : 0;
}

static inline int
kd_test_teardown(void **state)
{
	(void)state;
	kd_tables_fini();
	rte_eal_cleanup();
	return 0;
}

/** The objects of a YAML text into m, as kdpuctl reads a manifest file. */
static inline void
kd_test_manifest(struct kd_manifest *m, const char *yaml)
{
	char path[] = "/tmp/kdpu-test-XXXXXX", err[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	if (kd_manifest_load(m, path, err, sizeof(err)) != 0)
		fail_msg("%s\n%s", err, yaml);
	unlink(path);
}

/** The one object of a YAML text; its metadata names it, its resource name is left unset. */
static inline struct kd_manifest_obj
kd_test_object(const char *yaml)
{
	struct kd_manifest m = { 0 };
	struct kd_manifest_obj o;

	kd_test_manifest(&m, yaml);
	assert_int_equal(m.n, 1);
	o = m.obj[0];
	m.obj[0].msg = NULL;
	kd_manifest_free(&m);
	return o;
}

#endif
