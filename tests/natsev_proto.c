/*
 * natsev-proto: the NATS link's prototype as a command (not installed).
 * Connects to a running nats-server, publishes batches of frames to
 * itself through our libevent adapter and receives them back on the
 * loop's thread, then prints the counts.
 *
 *	tests/natsev-proto [-b batches] [-f frames] [-s size] URL
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <nats/nats.h>

#include "natsev_roundtrip.h"

int
main(int argc, char **argv)
{
	struct roundtrip_params	p = { NULL, 1000, 1000, 64, 1 << 20,
				    60000, 0, NULL, NULL };
	struct roundtrip_result	r;
	int			ch, rc;

	while ((ch = getopt(argc, argv, "b:f:s:")) != -1) {
		switch (ch) {
		case 'b':
			p.rp_batches = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			p.rp_frames = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			p.rp_frame_size = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	p.rp_url = argv[optind];
	if (roundtrip_init() != 0) {
		fprintf(stderr, "natsev-proto: evthread_use_pthreads failed\n");
		return 1;
	}
	rc = roundtrip_run(&p, &r);
	printf("batches out %lu in %lu, frames out %lu in %lu, bad %lu, "
	    "off-loop %lu, read events %lu, max buffered %lu, %.3f s, "
	    "%.0f frames/s%s%s\n", r.rr_batches_out, r.rr_batches_in,
	    r.rr_frames_out, r.rr_frames_in, r.rr_bad, r.rr_off_loop,
	    r.rr_reads, r.rr_max_buffered, r.rr_seconds,
	    r.rr_seconds > 0 ? r.rr_frames_in / r.rr_seconds : 0,
	    rc != 0 ? ": " : "", r.rr_error);
	nats_Close();
	return rc == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: natsev-proto [-b batches] [-f frames] "
	    "[-s size] nats://HOST:PORT\n");
	return 2;
}
