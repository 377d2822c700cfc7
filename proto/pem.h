/* SPDX-License-Identifier: Apache-2.0 */
#ifndef KDPU_PROTO_PEM_H
#define KDPU_PROTO_PEM_H

/* Small files read whole: the PEM certificates and keys of the API's TLS. */

#include <stddef.h>

/** The file's bytes, NUL-terminated (malloc'd; 1 MiB at most), or NULL with err set. */
char *kd_pem_read(const char *path, char *err, size_t errlen);

#endif
