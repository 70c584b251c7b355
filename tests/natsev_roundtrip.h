/*
 * natsev_roundtrip: the NATS link's prototype.  One connection through
 * our libevent adapter (src/natsev.c) subscribes (sync) to a subject,
 * publishes batches of msgrouter frames on it (a 4-byte id, payload,
 * 0x00; many frames per NATS message) and receives them back on the
 * loop's thread, checking every byte.  Used by tests/natsev-proto (a
 * command) and tests/test_natsev (against a nats-server it starts).
 */
#ifndef MSGROUTER_TESTS_NATSEV_ROUNDTRIP_H
#define MSGROUTER_TESTS_NATSEV_ROUNDTRIP_H

#include <stddef.h>

struct roundtrip_params {
	const char	*rp_url;	/* nats://127.0.0.1:PORT */
	unsigned	 rp_batches;	/* NATS messages to publish */
	unsigned	 rp_frames;	/* frames per NATS message */
	size_t		 rp_frame_size;	/* bytes per frame, 0x00 included */
	size_t		 rp_handoff;	/* publish while Buffered() is under */
	int		 rp_timeout_ms;	/* give up after this */
	/*
	 * Frames may go missing (a NATS server restarted): ids must still
	 * rise, the gaps are counted in rr_lost, and the run ends when the
	 * last frame is back.
	 */
	int		 rp_allow_gaps;
	/* Called once on the loop after the first batch came back, or NULL. */
	void		(*rp_midway)(void *);
	void		*rp_midway_arg;
};

struct roundtrip_result {
	unsigned long	 rr_batches_out;
	unsigned long	 rr_frames_out;
	unsigned long	 rr_batches_in;
	unsigned long	 rr_frames_in;
	unsigned long	 rr_bad;	/* frames not byte-exact or in order */
	unsigned long	 rr_off_loop;	/* messages seen off the loop thread */
	unsigned long	 rr_reads;	/* read events the adapter processed */
	unsigned long	 rr_max_buffered; /* largest Buffered() seen */
	unsigned long	 rr_slow;	/* NATS_SLOW_CONSUMER seen */
	unsigned long	 rr_lost;	/* frames missing (rp_allow_gaps) */
	unsigned long	 rr_refused;	/* publishes on a closed connection */
	unsigned long	 rr_connects;	/* connections handed over */
	double		 rr_seconds;
	int		 rr_timed_out;
	char		 rr_error[256];	/* why it failed, or "" */
};

/*
 * Run one round trip; 0 when every frame came back byte-exact and in
 * order, -1 otherwise (result->rr_error says why).  Call
 * roundtrip_init() once first (before any event_base exists).
 */
int	roundtrip_init(void);
int	roundtrip_run(const struct roundtrip_params *,
	    struct roundtrip_result *);

#endif
