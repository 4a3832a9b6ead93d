/* dnsd: a DNS responder with per-name delays, and a query generator, for
 * validating artmon's DNS timing.
 *
 *   dnsd server [-a ADDR] [-p PORT] [-o LOG] [--ready FILE]
 *   dnsd client [-s SERVER] [-p PORT] [-n N] [-i INTERVAL_MS] [-t TIMEOUT_MS]
 *               [-T TAIL_MS] [-S SEED] [-o LOG] NAME...
 *
 * Server: answers every query after a delay chosen by the first label of the
 * name: "d150.test" waits 150 ms and answers A 192.0.2.1; "nx40.test" waits
 * 40 ms and answers NXDOMAIN; "drop.test" (first label "drop") is never
 * answered; any other name is answered at once.  Answers wait in a timer
 * list (poll), so slow names do not hold fast ones up.
 * Log (one line per query): name delay_ms id client_port t_recv_us t_sent_us
 * (t_sent -1 when dropped); ids are printed as tshark prints dns.id (0x%04x).
 *
 * Client: sends N queries (default 100), one every INTERVAL_MS (default 5),
 * each from its own socket (its own source port) with a random id, for a
 * name drawn uniformly from the NAME arguments; waits up to TIMEOUT_MS
 * (default 2000) for each answer.  After the last one it waits TAIL_MS
 * (default 0) and sends one more query for "tail.test", so that a capture
 * goes on past the monitor's own timeout.
 * Log (one line per query): name client_port id t_send_us t_recv_us rcode
 * (t_recv and rcode -1 when unanswered).  Times are CLOCK_REALTIME. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXMSG 512

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("dnsd: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rng = 1;

static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Parses the question name at off into text; returns the offset after the
 * name, or -1. */
static int
read_name(const uint8_t *m, int len, int off, char *out, size_t outsz)
{
	size_t o = 0;

	for (;;) {
		if (off >= len)
			return -1;
		int l = m[off++];
		if (l == 0)
			break;
		if (l > 63 || off + l > len || o + (size_t)l + 2 > outsz)
			return -1;
		if (o)
			out[o++] = '.';
		for (int i = 0; i < l; i++)
			out[o++] = (char)tolower(m[off + i]);
		off += l;
	}
	out[o] = 0;
	return off;
}

/* Builds the query for name into m; returns its length. */
static int
build_query(uint8_t *m, uint16_t id, const char *name)
{
	int o = 12;

	memset(m, 0, 12);
	m[0] = (uint8_t)(id >> 8);
	m[1] = (uint8_t)id;
	m[2] = 0x01;                 /* RD */
	m[5] = 1;                    /* QDCOUNT */
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + (int)l + 6 > MAXMSG)
			die("bad name \"%s\"", name);
		m[o++] = (uint8_t)l;
		memcpy(m + o, p, l);
		o += (int)l;
		p += l;
		if (*p == '.')
			p++;
	}
	m[o++] = 0;
	m[o++] = 0;
	m[o++] = 1;                  /* A */
	m[o++] = 0;
	m[o++] = 1;                  /* IN */
	return o;
}

/* --- server ---------------------------------------------------------- */

struct pending {
	int64_t due;                 /* monotonic us */
	struct sockaddr_storage to;
	socklen_t tolen;
	int len;
	uint8_t msg[MAXMSG];
	/* for the log */
	char name[256];
	long delay_ms;
	uint16_t id;
	int64_t t_recv;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint16_t
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int
server_main(const char *addr, int port, const char *logpath, const char *ready)
{
	enum { MAXPEND = 65536 };
	struct pending *pend = calloc(MAXPEND, sizeof(*pend));
	int npend = 0;
	FILE *logfp = NULL;
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (pend == NULL || fd < 0)
		die("setup failed");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (addr == NULL || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind port %d: %s", port, strerror(errno));
	if (logpath && (logfp = fopen(logpath, "a")) == NULL)
		die("%s: %s", logpath, strerror(errno));
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f)
			fclose(f);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	while (!stop) {
		int64_t now = mono_us(), next = -1;
		for (int i = 0; i < npend; i++)
			if (next < 0 || pend[i].due < next)
				next = pend[i].due;
		int timeout = -1;
		if (next >= 0) {
			/* poll has millisecond resolution: wake a little early,
			 * then the loop below spins to the exact instant. */
			int64_t w = next - now;
			timeout = w <= 1000 ? 0 : (int)((w - 1000) / 1000);
		}
		struct pollfd pfd = { fd, POLLIN, 0 };
		int r = poll(&pfd, 1, timeout);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (r > 0 && (pfd.revents & POLLIN)) {
			uint8_t m[MAXMSG];
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(fd, m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
			int64_t t_recv = real_us();
			if (n >= 12 && !(m[2] & 0x80) && npend < MAXPEND) {
				struct pending *p = &pend[npend];
				int end = read_name(m, (int)n, 12, p->name, sizeof(p->name));
				if (end > 0 && end + 4 <= n) {
					char *first = p->name;
					long delay = 0;
					int rcode = 0, drop = 0;
					if (strncmp(first, "drop", 4) == 0 && (first[4] == '.' || first[4] == 0))
						drop = 1;
					else if (first[0] == 'd' && isdigit((unsigned char)first[1]))
						delay = strtol(first + 1, NULL, 10);
					else if (first[0] == 'n' && first[1] == 'x' && isdigit((unsigned char)first[2])) {
						delay = strtol(first + 2, NULL, 10);
						rcode = 3;
					}
					p->id = (uint16_t)(m[0] << 8 | m[1]);
					p->t_recv = t_recv;
					p->delay_ms = drop ? -1 : delay;
					if (drop) {
						if (logfp)
							fprintf(logfp, "%s\t-1\t0x%04x\t%u\t%lld\t-1\n", p->name, p->id,
							    port_of(&from), (long long)t_recv);
					} else {
						/* The answer: header, the question, one A record. */
						int qend = end + 4;
						memcpy(p->msg, m, (size_t)qend);
						p->msg[2] = (uint8_t)(0x84 | (m[2] & 0x01)); /* QR AA RD */
						p->msg[3] = (uint8_t)(0x80 | rcode);          /* RA */
						p->msg[4] = 0;
						p->msg[5] = 1;
						p->msg[6] = 0;
						p->msg[7] = rcode ? 0 : 1;
						memset(p->msg + 8, 0, 4);
						int o = qend;
						if (!rcode) {
							static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
								192, 0, 2, 1 };
							memcpy(p->msg + o, rr, sizeof(rr));
							o += (int)sizeof(rr);
						}
						p->len = o;
						p->to = from;
						p->tolen = fl;
						p->due = mono_us() + delay * 1000;
						npend++;
					}
				}
			}
		}
		now = mono_us();
		for (int i = 0; i < npend;) {
			if (pend[i].due <= now) {
				sendto(fd, pend[i].msg, (size_t)pend[i].len, 0, (struct sockaddr *)&pend[i].to,
				    pend[i].tolen);
				if (logfp)
					fprintf(logfp, "%s\t%ld\t0x%04x\t%u\t%lld\t%lld\n", pend[i].name, pend[i].delay_ms,
					    pend[i].id, port_of(&pend[i].to), (long long)pend[i].t_recv,
					    (long long)real_us());
				pend[i] = pend[--npend];
			} else {
				i++;
			}
		}
	}
	if (logfp)
		fclose(logfp);
	free(pend);
	close(fd);
	return 0;
}

/* --- client ---------------------------------------------------------- */

struct outq {
	int fd;
	uint16_t id, port;
	const char *name;
	int64_t t_send, deadline;
};

static void
client_log(FILE *fp, const struct outq *q, int64_t t_recv, int rcode)
{
	fprintf(fp, "%s\t%u\t0x%04x\t%lld\t%lld\t%d\n", q->name, q->port, q->id, (long long)q->t_send,
	    (long long)t_recv, rcode);
}

static int
client_main(const char *server, int port, int n, double interval_ms, int timeout_ms, int tail_ms,
    const char *logpath, char **names, int nnames)
{
	struct sockaddr_in sin;
	FILE *logfp = stdout;
	struct outq *q = calloc((size_t)n + 1, sizeof(*q));
	struct pollfd *pfd = calloc((size_t)n + 1, sizeof(*pfd));
	int *idx = calloc((size_t)n + 1, sizeof(int));
	int sent = 0, open_n = 0, answered = 0, tail_sent = 0;

	if (q == NULL || pfd == NULL || idx == NULL)
		die("out of memory");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, server, &sin.sin_addr) != 1)
		die("bad server address %s", server);
	if (logpath && (logfp = fopen(logpath, "a")) == NULL)
		die("%s: %s", logpath, strerror(errno));

	int64_t start = mono_us(), tail_at = -1;
	int total = n + (tail_ms >= 0 ? 1 : 0);
	for (;;) {
		int64_t now = mono_us();
		/* Send what is due. */
		while (sent < total) {
			int is_tail = sent == n;
			int64_t due = is_tail ? tail_at : start + (int64_t)(sent * interval_ms * 1000);
			if (is_tail && (open_n > 0 || tail_at < 0)) {
				if (open_n == 0 && tail_at < 0)
					tail_at = now + (int64_t)tail_ms * 1000;
				break;
			}
			if (due > now)
				break;
			struct outq *o = &q[sent];
			o->name = is_tail ? "tail.test" : names[rnd() % (uint64_t)nnames];
			o->id = (uint16_t)rnd();
			o->fd = socket(AF_INET, SOCK_DGRAM, 0);
			if (o->fd < 0 || connect(o->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
				die("socket: %s", strerror(errno));
			struct sockaddr_in me;
			socklen_t ml = sizeof(me);
			getsockname(o->fd, (struct sockaddr *)&me, &ml);
			o->port = ntohs(me.sin_port);
			uint8_t m[MAXMSG];
			int len = build_query(m, o->id, o->name);
			o->t_send = real_us();
			if (send(o->fd, m, (size_t)len, 0) < 0)
				die("send: %s", strerror(errno));
			o->deadline = mono_us() + (int64_t)timeout_ms * 1000;
			idx[open_n++] = sent;
			sent++;
			if (is_tail)
				tail_sent = 1;
		}
		if (sent == total && open_n == 0)
			break;
		/* Wait for answers until the next send or deadline. */
		int64_t wake = -1;
		if (sent < total) {
			if (sent == n)
				wake = tail_at;
			else
				wake = start + (int64_t)(sent * interval_ms * 1000);
		}
		for (int i = 0; i < open_n; i++) {
			pfd[i].fd = q[idx[i]].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			if (wake < 0 || q[idx[i]].deadline < wake)
				wake = q[idx[i]].deadline;
		}
		now = mono_us();
		int to = wake < 0 ? 100 : (wake <= now ? 0 : (int)((wake - now + 999) / 1000));
		if (poll(pfd, (nfds_t)open_n, to) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		now = mono_us();
		for (int i = 0; i < open_n;) {
			struct outq *o = &q[idx[i]];
			int done = 0;
			if (pfd[i].revents & POLLIN) {
				uint8_t m[MAXMSG];
				ssize_t r = recv(o->fd, m, sizeof(m), MSG_DONTWAIT);
				int64_t t = real_us();
				if (r >= 12 && (m[2] & 0x80) && (uint16_t)(m[0] << 8 | m[1]) == o->id) {
					client_log(logfp, o, t, m[3] & 0x0f);
					answered++;
					done = 1;
				}
			}
			if (!done && o->deadline <= now) {
				client_log(logfp, o, -1, -1);
				done = 1;
			}
			if (done) {
				close(o->fd);
				idx[i] = idx[--open_n];
				pfd[i] = pfd[open_n];
			} else {
				i++;
			}
		}
	}
	(void)tail_sent;
	if (logfp != stdout)
		fclose(logfp);
	fprintf(stderr, "dnsd: %d queries, %d answered\n", total, answered);
	free(q);
	free(pfd);
	free(idx);
	return 0;
}

static void
usage(void)
{
	fputs("usage: dnsd server [-a ADDR] [-p PORT] [-o LOG] [--ready FILE]\n"
	      "       dnsd client [-s SERVER] [-p PORT] [-n N] [-i INTERVAL_MS] [-t TIMEOUT_MS]\n"
	      "                   [-T TAIL_MS] [-S SEED] [-o LOG] NAME...\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *addr = NULL, *server = "127.0.0.1", *logpath = NULL, *ready = NULL;
	int port = 53, n = 100, timeout_ms = 2000, tail_ms = -1;
	double interval = 5;
	int i;

	if (argc < 2)
		usage();
	int is_server = strcmp(argv[1], "server") == 0;
	if (!is_server && strcmp(argv[1], "client") != 0)
		usage();
	for (i = 2; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(o, "-a") == 0)
			addr = v;
		else if (strcmp(o, "-s") == 0)
			server = v;
		else if (strcmp(o, "-p") == 0)
			port = atoi(v);
		else if (strcmp(o, "-n") == 0)
			n = atoi(v);
		else if (strcmp(o, "-i") == 0)
			interval = atof(v);
		else if (strcmp(o, "-t") == 0)
			timeout_ms = atoi(v);
		else if (strcmp(o, "-T") == 0)
			tail_ms = atoi(v);
		else if (strcmp(o, "-S") == 0)
			rng = strtoull(v, NULL, 0);
		else if (strcmp(o, "-o") == 0)
			logpath = v;
		else if (strcmp(o, "--ready") == 0)
			ready = v;
		else
			usage();
	}
	if (is_server) {
		if (i != argc)
			usage();
		return server_main(addr, port, logpath, ready);
	}
	if (i >= argc || n < 0)
		usage();
	return client_main(server, port, n, interval, timeout_ms, tail_ms, logpath, argv + i, argc - i);
}
