/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UDP and every protocol without a state machine of its own, as Linux's
 * nf_conntrack_proto_udp.c and _generic.c: a connection is new until its
 * first reply, then replied, each with its own timeout (a short one for a
 * datagram nobody answered). Nothing to check or track per packet.
 */
#include "dataplane/conntrack.h"
#include "dataplane/ct_proto.h"

const struct kd_ct_proto kd_ct_proto_udp = {
	.name = "udp",
	.tmo = { KD_CT_T_UDP_UNREPLIED, KD_CT_T_UDP_REPLIED },
};

const struct kd_ct_proto kd_ct_proto_other = {
	.name = "other",
	.tmo = { KD_CT_T_OTHER_UNREPLIED, KD_CT_T_OTHER_REPLIED },
};
