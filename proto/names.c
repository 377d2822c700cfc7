/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "proto/names.h"

bool
kd_names_is_dns_label(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool
kd_names_is_dns_subdomain(const char *s)
{
	char buf[254], *label, *save = NULL;

	if (strlen(s) == 0 || strlen(s) > 253 || s[0] == '.' || s[strlen(s) - 1] == '.' ||
	    strstr(s, "..") != NULL)
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	for (label = strtok_r(buf, ".", &save); label != NULL; label = strtok_r(NULL, ".", &save))
		if (!kd_names_is_dns_label(label))
			return false;
	return true;
}
