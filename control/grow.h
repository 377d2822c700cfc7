/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_CONTROL_GROW_H
#define KDPU_CONTROL_GROW_H

/*
 * Room for one more element in a growing array of the control thread:
 * *v holds n elements of sz bytes in room for *cap; doubling keeps appends
 * amortized O(1).
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/** 0 when *v has room for element n (growing it if needed), -ENOMEM otherwise. */
static inline int
kd_grow(void **v, uint32_t *cap, uint32_t n, size_t sz)
{
	uint32_t c;
	void *nv;

	if (n < *cap)
		return 0;
	c = *cap != 0 ? *cap * 2 : 4;
	nv = realloc(*v, (size_t)c * sz);
	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

#endif
