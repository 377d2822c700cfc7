/* SPDX-License-Identifier: Apache-2.0 */
/* The TCP connection tracker against the transitions Linux's conntrack makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <rte_tcp.h>

#include "dataplane/ct_tcp.h"

#define SYN RTE_TCP_SYN_FLAG
#define ACK RTE_TCP_ACK_FLAG
#define FIN RTE_TCP_FIN_FLAG
#define RST RTE_TCP_RST_FLAG
#define PSH RTE_TCP_PSH_FLAG
#define URG RTE_TCP_URG_FLAG

enum { O = 0, R = 1 };

/* A two-ended conversation: each side's next sequence number. */
struct talk {
	struct kd_ct_tcp ct;
	uint32_t next[2];
	uint16_t win[2];
};

static struct kd_ct_tcp_seg
seg(struct talk *t, int dir, uint8_t flags, uint32_t len)
{
	struct kd_ct_tcp_seg s = {
		.seq = t->next[dir], .ack = (flags & ACK) ? t->next[!dir] : 0,
		.win = t->win[dir], .flags = flags, .wscale = 0xff, .payload = len,
	};
	return s;
}

/* Send a segment and, if accepted, advance the sender's sequence. */
static enum kd_ct_tcp_verdict
send_seg(struct talk *t, int dir, uint8_t flags, uint32_t len)
{
	struct kd_ct_tcp_seg s = seg(t, dir, flags, len);
	enum kd_ct_tcp_verdict v = kd_ct_tcp_track(&t->ct, (unsigned int)dir, &s);

	if (v == KD_CT_TCP_OK)
		t->next[dir] += len + ((flags & SYN) ? 1 : 0) + ((flags & FIN) ? 1 : 0);
	return v;
}

static void
handshake(struct talk *t, uint32_t isn_o, uint32_t isn_r)
{
	struct kd_ct_tcp_seg s;

	t->next[O] = isn_o;
	t->next[R] = isn_r;
	t->win[O] = t->win[R] = 29200;
	s = seg(t, O, SYN, 0);
	assert_true(kd_ct_tcp_new(&t->ct, &s));
	t->next[O]++;
	assert_int_equal(t->ct.state, KD_CT_TCP_SYN_SENT);
	assert_int_equal(send_seg(t, R, SYN | ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t->ct.state, KD_CT_TCP_SYN_RECV);
	assert_int_equal(send_seg(t, O, ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t->ct.state, KD_CT_TCP_ESTABLISHED);
}

static void
test_handshake_data_and_close(void **state)
{
	struct talk t;

	(void)state;
	handshake(&t, 1000, 50000);
	assert_int_equal(send_seg(&t, O, ACK | PSH, 500), KD_CT_TCP_OK);
	assert_int_equal(send_seg(&t, R, ACK | PSH, 1400), KD_CT_TCP_OK);
	assert_int_equal(send_seg(&t, O, ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_ESTABLISHED);
	/* Active close from the original side, as Linux walks it. */
	assert_int_equal(send_seg(&t, O, FIN | ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_FIN_WAIT);
	assert_int_equal(send_seg(&t, R, ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_CLOSE_WAIT);
	assert_int_equal(send_seg(&t, R, FIN | ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_LAST_ACK);
	assert_int_equal(send_seg(&t, O, ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_TIME_WAIT);
	assert_string_equal(kd_ct_tcp_state_names[t.ct.state], "TIME_WAIT");
}

static void
test_time_wait_reuse_is_a_new_connection(void **state)
{
	struct talk t;
	struct kd_ct_tcp_seg s;

	(void)state;
	handshake(&t, 7, 9);
	send_seg(&t, O, FIN | ACK, 0);
	send_seg(&t, R, FIN | ACK, 0);
	send_seg(&t, O, ACK, 0);
	assert_int_equal(t.ct.state, KD_CT_TCP_TIME_WAIT);
	t.next[O] += 100000;
	s = seg(&t, O, SYN, 0);
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_NEW);
	assert_int_equal(t.ct.state, KD_CT_TCP_TIME_WAIT);	/* the caller replaces it */
	/* A SYN from the reply side is no such thing. */
	s = seg(&t, R, SYN, 0);
	assert_int_not_equal(kd_ct_tcp_track(&t.ct, R, &s), KD_CT_TCP_NEW);
}

static void
test_rst_needs_to_be_in_window(void **state)
{
	struct talk t;
	struct kd_ct_tcp_seg s;

	(void)state;
	handshake(&t, 1, 2);
	s = seg(&t, R, RST, 0);
	s.seq += 10u << 20;	/* a blind reset, far outside the window */
	assert_int_equal(kd_ct_tcp_track(&t.ct, R, &s), KD_CT_TCP_INVALID);
	assert_int_equal(t.ct.state, KD_CT_TCP_ESTABLISHED);
	assert_int_equal(send_seg(&t, R, RST | ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_CLOSE);
	/* After CLOSE a new SYN reopens the tuple. */
	s = seg(&t, O, SYN, 0);
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_NEW);
}

static void
test_out_of_window_data_is_invalid(void **state)
{
	struct talk t;
	struct kd_ct_tcp_seg s;

	(void)state;
	handshake(&t, 0x1000, 0x2000);
	s = seg(&t, O, ACK, 100);
	s.seq += 1u << 20;	/* beyond what the receiver advertised */
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_INVALID);
	s = seg(&t, O, ACK, 100);
	s.ack += 1u << 20;	/* acks data the peer never sent */
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_INVALID);
	/* A retransmission of old data is fine. */
	assert_int_equal(send_seg(&t, O, ACK, 1000), KD_CT_TCP_OK);
	s = seg(&t, O, ACK, 1000);
	s.seq -= 1000;
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_ESTABLISHED);
}

static void
test_impossible_flags_are_invalid(void **state)
{
	static const uint8_t bad[] = { 0, FIN, SYN | FIN, SYN | RST, FIN | PSH | URG,
				       SYN | FIN | RST | PSH | ACK | URG };
	struct talk t;
	struct kd_ct_tcp_seg s;
	unsigned int i;

	(void)state;
	handshake(&t, 5, 6);
	for (i = 0; i < sizeof(bad); i++) {
		s = seg(&t, O, bad[i], 0);
		assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_INVALID);
		assert_int_equal(t.ct.state, KD_CT_TCP_ESTABLISHED);
		assert_false(kd_ct_tcp_new(&t.ct, &s));
	}
}

static void
test_first_packet_rules(void **state)
{
	struct kd_ct_tcp ct;
	struct kd_ct_tcp_seg s = { .seq = 100, .ack = 200, .win = 1000, .wscale = 0xff };

	(void)state;
	s.flags = SYN | ACK;
	assert_false(kd_ct_tcp_new(&ct, &s));
	s.flags = RST;
	assert_false(kd_ct_tcp_new(&ct, &s));
	/* Mid-stream pickup, as Linux's default nf_conntrack_tcp_loose=1. */
	s.flags = ACK;
	assert_true(kd_ct_tcp_new(&ct, &s));
	assert_int_equal(ct.state, KD_CT_TCP_ESTABLISHED);
	/* Its window was never seen, so it is not held against it. */
	s.seq += 1u << 30;
	assert_int_equal(kd_ct_tcp_track(&ct, O, &s), KD_CT_TCP_OK);
	s.seq = 5;
	s.ack = 100;
	assert_int_equal(kd_ct_tcp_track(&ct, R, &s), KD_CT_TCP_OK);
}

static void
test_syn_sent_corner_cases(void **state)
{
	struct talk t = { .next = { 10, 20 }, .win = { 1000, 1000 } };
	struct kd_ct_tcp_seg s = seg(&t, O, SYN, 0);

	(void)state;
	assert_true(kd_ct_tcp_new(&t.ct, &s));
	/* A retransmitted SYN keeps SYN_SENT. */
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_SYN_SENT);
	t.next[O]++;
	/* A bare ACK from the reply side is ignored, not trusted. */
	s = seg(&t, R, ACK, 0);
	assert_int_equal(kd_ct_tcp_track(&t.ct, R, &s), KD_CT_TCP_IGNORE);
	assert_int_equal(t.ct.state, KD_CT_TCP_SYN_SENT);
	/* Data from the original side before the handshake is invalid. */
	s = seg(&t, O, ACK, 10);
	assert_int_equal(kd_ct_tcp_track(&t.ct, O, &s), KD_CT_TCP_INVALID);
	/* Simultaneous open. */
	s = seg(&t, R, SYN, 0);
	assert_int_equal(kd_ct_tcp_track(&t.ct, R, &s), KD_CT_TCP_OK);
	assert_int_equal(t.ct.state, KD_CT_TCP_SYN_SENT2);
}

static void
test_sequence_wraparound(void **state)
{
	struct talk t;

	(void)state;
	handshake(&t, 0xfffffff0u, 0xffffff00u);
	assert_int_equal(send_seg(&t, O, ACK, 1000), KD_CT_TCP_OK);
	assert_int_equal(send_seg(&t, R, ACK, 1000), KD_CT_TCP_OK);
	assert_true(t.next[O] < 0x1000 && t.next[R] < 0x1000);
	assert_int_equal(t.ct.state, KD_CT_TCP_ESTABLISHED);
}

static void
test_window_scaling(void **state)
{
	struct talk t = { .next = { 1, 1000000 }, .win = { 512, 512 } };
	struct kd_ct_tcp_seg s = seg(&t, O, SYN, 0);
	uint32_t i;

	(void)state;
	s.wscale = 7;
	assert_true(kd_ct_tcp_new(&t.ct, &s));
	t.next[O]++;
	s = seg(&t, R, SYN | ACK, 0);
	s.wscale = 7;
	assert_int_equal(kd_ct_tcp_track(&t.ct, R, &s), KD_CT_TCP_OK);
	t.next[R]++;
	assert_int_equal(send_seg(&t, O, ACK, 0), KD_CT_TCP_OK);
	/* 512 << 7 = 64 KiB of window: 40 segments in flight fit, unscaled they would not. */
	for (i = 0; i < 40; i++)
		assert_int_equal(send_seg(&t, R, ACK, 1400), KD_CT_TCP_OK);
	/* Without scaling on both sides, the same burst overruns the window. */
	t = (struct talk){ .next = { 1, 1000000 }, .win = { 512, 512 } };
	s = seg(&t, O, SYN, 0);
	s.wscale = 7;
	assert_true(kd_ct_tcp_new(&t.ct, &s));
	t.next[O]++;
	assert_int_equal(send_seg(&t, R, SYN | ACK, 0), KD_CT_TCP_OK);
	assert_int_equal(send_seg(&t, O, ACK, 0), KD_CT_TCP_OK);
	for (i = 0; i < 40; i++)
		if (send_seg(&t, R, ACK, 1400) == KD_CT_TCP_INVALID)
			break;
	assert_true(i < 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_data_and_close),
		cmocka_unit_test(test_time_wait_reuse_is_a_new_connection),
		cmocka_unit_test(test_rst_needs_to_be_in_window),
		cmocka_unit_test(test_out_of_window_data_is_invalid),
		cmocka_unit_test(test_impossible_flags_are_invalid),
		cmocka_unit_test(test_first_packet_rules),
		cmocka_unit_test(test_syn_sent_corner_cases),
		cmocka_unit_test(test_sequence_wraparound),
		cmocka_unit_test(test_window_scaling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
