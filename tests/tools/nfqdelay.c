/* nfqdelay: path delay and random loss for tests on a kernel without netem.
 *
 *   nfqdelay [-q QUEUE] [-d DELAY_MS] [-l LOSS] [-s SEED]
 *
 * Binds NFQUEUE number QUEUE (default 0) and holds every queued packet
 * DELAY_MS milliseconds (fractions allowed, default 0) before accepting it;
 * with probability LOSS (0 to 1, default 0) a packet is dropped instead.
 * Packets leave in arrival order.  Send packets to it with, for example,
 *   iptables -A OUTPUT -o IF -j NFQUEUE --queue-num 0 --queue-bypass
 *   iptables -A INPUT -i IF -j NFQUEUE --queue-num 0 --queue-bypass
 * (with --queue-bypass, packets pass untouched while no program is bound).
 * SIGTERM or SIGINT ends it; the counts go to standard error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

#define RING (1u << 18)

struct held {
	uint32_t id;
	int64_t due;     /* CLOCK_MONOTONIC, nanoseconds */
};

static struct held ring[RING];
static uint32_t head, tail;          /* tail - head packets held */
static struct nfq_q_handle *qh;
static int64_t delay_ns;
static double loss;
static uint64_t rng_state;
static uint64_t n_seen, n_dropped, n_accepted, n_overflow;
static volatile sig_atomic_t stop;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static int
on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id;

	(void)msg;
	(void)data;
	if (ph == NULL)
		return 0;
	id = ntohl(ph->packet_id);
	n_seen++;
	if (loss > 0 && uniform() < loss) {
		n_dropped++;
		return nfq_set_verdict(q, id, NF_DROP, 0, NULL);
	}
	if (delay_ns == 0 || tail - head >= RING) {
		if (delay_ns)
			n_overflow++;
		n_accepted++;
		return nfq_set_verdict(q, id, NF_ACCEPT, 0, NULL);
	}
	ring[tail % RING].id = id;
	ring[tail % RING].due = mono_ns() + delay_ns;
	tail++;
	return 0;
}

static void
release_due(void)
{
	int64_t now = mono_ns();

	while (head != tail && ring[head % RING].due <= now) {
		nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
		n_accepted++;
		head++;
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fputs("usage: nfqdelay [-q QUEUE] [-d DELAY_MS] [-l LOSS] [-s SEED]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	int qnum = 0, ch;
	double dms = 0;
	uint64_t seed = 1;
	static char buf[1 << 16] __attribute__((aligned));

	while ((ch = getopt(argc, argv, "q:d:l:s:h")) != -1) {
		switch (ch) {
		case 'q':
			qnum = atoi(optarg);
			break;
		case 'd':
			dms = atof(optarg);
			break;
		case 'l':
			loss = atof(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || dms < 0 || loss < 0 || loss > 1)
		usage();
	delay_ns = (int64_t)(dms * 1e6 + 0.5);
	rng_state = seed;

	struct nfq_handle *h = nfq_open();
	if (h == NULL) {
		fprintf(stderr, "nfqdelay: nfq_open failed (root? nfnetlink_queue?)\n");
		return 1;
	}
	nfq_unbind_pf(h, AF_INET);
	if (nfq_bind_pf(h, AF_INET) < 0) {
		fprintf(stderr, "nfqdelay: nfq_bind_pf failed\n");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)qnum, on_packet, NULL);
	if (qh == NULL) {
		fprintf(stderr, "nfqdelay: cannot bind queue %d\n", qnum);
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
		fprintf(stderr, "nfqdelay: nfq_set_mode failed\n");
		return 1;
	}
	nfq_set_queue_maxlen(qh, RING);
	int fd = nfq_fd(h);
	int one = 1;
	nfnl_rcvbufsiz(nfq_nfnlh(h), 16u << 20);
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "nfqdelay: queue %d, delay %.3f ms, loss %.4f\n", qnum, dms, loss);

	while (!stop) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct timespec ts, *tp = NULL;
		if (head != tail) {
			int64_t wait = ring[head % RING].due - mono_ns();
			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)(wait / 1000000000);
			ts.tv_nsec = (long)(wait % 1000000000);
			tp = &ts;
		}
		int r = ppoll(&pfd, 1, tp, NULL);
		if (r < 0 && errno != EINTR) {
			perror("nfqdelay: ppoll");
			break;
		}
		if (r > 0 && (pfd.revents & POLLIN)) {
			/* Drain what is queued without blocking. */
			for (;;) {
				ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (n <= 0)
					break;
				nfq_handle_packet(h, buf, (int)n);
			}
		}
		release_due();
	}
	/* Let what is still held go. */
	while (head != tail) {
		nfq_set_verdict(qh, ring[head % RING].id, NF_ACCEPT, 0, NULL);
		n_accepted++;
		head++;
	}
	fprintf(stderr, "nfqdelay: %llu packets, %llu accepted, %llu dropped, %llu not delayed (full)\n",
	    (unsigned long long)n_seen, (unsigned long long)n_accepted, (unsigned long long)n_dropped,
	    (unsigned long long)n_overflow);
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
