/* abt: a synthetic client/server application whose behaviour is drawn at
 * random and logged, the ground truth for validating artmon's payload-free
 * (a-b-t) timing.
 *
 *   abt server [options] [ADDR] PORT
 *   abt client [options] HOST PORT
 *
 * Per connection, from uniform distributions (ranges "A-B" or "A"):
 *   --exchanges N-M   exchanges (sequential) or ADUs per side (concurrent)
 *   --req A-B         request (client ADU) sizes in bytes, k/K and m/M suffixes (1M = 1048576)
 *   --resp A-B        response (server ADU) sizes
 *   --think A-B       server think time before each response (us, ms or s suffix; default us)
 *   --cthink A-B      client pause after a response before the next request
 *   --wsize A-B       socket write sizes
 *   --wpause A-B      pauses between the writes of one ADU
 * Other options:
 *   --mode seq|conc   sequential (strict turns) or concurrent (both sides send freely)
 *   --seed S          the script of each connection is drawn from S and the
 *                     client port, so both sides agree without a protocol header
 *   -n N              client: connections in total (default 10)
 *   -P N              client: connections at once; server: worker threads
 *                     (default 4 and 64)
 *   -o FILE           ground truth log (default stdout)
 *   --ready FILE      server: created once listening
 *   --cport BASE      client: connection k (from 0) uses source port BASE + k,
 *                     so that no two connections of a run share a port
 *   --rt PRIO         SCHED_FIFO at PRIO (root): the application reacts to
 *                     its data without scheduling delay, which would blur the
 *                     comparison of its own stamps with the capture's
 * Both sides must get the same --mode, --seed and ranges.
 *
 * The payload is random bytes (like TLS records, no recognisable protocol).
 * Sequential: the client writes a request, the server reads all of it, waits
 * its think time, writes the response; the client reads all of it, pauses,
 * and so on; then the client closes.  Concurrent: each side writes its own
 * ADUs, separated by its pauses, while a second thread reads whatever the
 * other side sends; each side shuts its writing half when done.
 *
 * Ground truth, one tab-separated line per exchange or ADU, times in
 * microseconds since the epoch (CLOCK_REALTIME, the clock of pcap stamps):
 *   X role seq cport i req_bytes resp_bytes think_drawn_us t1 t2 t3 t4
 *     server: t1 first request byte read, t2 last request byte read,
 *             t3 before the first response write, t4 after the last
 *     client: t1 before the first request write, t2 after the last,
 *             t3 first response byte read, t4 last response byte read
 *   A role conc cport i dir bytes pause_after_us t_first_write t_last_write
 *     (an ADU that role sent; dir c2s or s2c)
 *   R role conc cport dir bytes   (total bytes role received) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct range {
	uint64_t lo, hi;
};

struct params {
	int conc;
	uint64_t seed;
	struct range exch, req, resp, think, cthink, wsize, wpause;
};

static struct params P = {
	.conc = 0,
	.seed = 1,
	.exch = { 1, 5 },
	.req = { 1, 4096 },
	.resp = { 1, 65536 },
	.think = { 0, 100000 },
	.cthink = { 0, 10000 },
	.wsize = { 1, 65536 },
	.wpause = { 0, 0 },
};

static FILE *logfp;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("abt: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (us && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* splitmix64: small, seedable, good enough for drawing a test script. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
draw(uint64_t *s, const struct range *r)
{
	if (r->hi <= r->lo)
		return r->lo;
	return r->lo + rnd(s) % (r->hi - r->lo + 1);
}

static uint64_t
parse_num(const char *s, const char **end, int is_time)
{
	char *e;
	double v = strtod(s, &e);
	double mul = 1;

	if (e == s || v < 0)
		die("bad number in \"%s\"", s);
	if (is_time) {
		if (strncmp(e, "us", 2) == 0)
			e += 2;
		else if (strncmp(e, "ms", 2) == 0) {
			mul = 1e3;
			e += 2;
		} else if (*e == 's') {
			mul = 1e6;
			e++;
		}
	} else if (*e == 'k' || *e == 'K') {
		mul = 1024;
		e++;
	} else if (*e == 'm' || *e == 'M') {
		mul = 1048576;
		e++;
	}
	*end = e;
	return (uint64_t)(v * mul + 0.5);
}

static struct range
parse_range(const char *s, int is_time)
{
	struct range r;
	const char *e;

	r.lo = parse_num(s, &e, is_time);
	if (*e == '-')
		r.hi = parse_num(e + 1, &e, is_time);
	else
		r.hi = r.lo;
	if (*e || r.hi < r.lo)
		die("bad range \"%s\"", s);
	return r;
}

/* The script of one connection, drawn identically by both sides. */
struct script {
	int n;                       /* exchanges (seq) or client ADUs (conc) */
	int n_srv;                   /* conc: server ADUs */
	uint64_t *req, *resp, *think, *cthink;
};

static uint64_t
conn_seed(uint16_t cport)
{
	return P.seed * 0x100000001b3ULL ^ ((uint64_t)cport << 17) ^ 0xabcdef12345ULL;
}

static void
script_draw(struct script *sc, uint16_t cport)
{
	uint64_t s = conn_seed(cport);
	int n;

	sc->n = (int)draw(&s, &P.exch);
	sc->n_srv = P.conc ? (int)draw(&s, &P.exch) : sc->n;
	n = sc->n > sc->n_srv ? sc->n : sc->n_srv;
	if (n < 1)
		n = 1;
	sc->req = calloc((size_t)n, sizeof(uint64_t));
	sc->resp = calloc((size_t)n, sizeof(uint64_t));
	sc->think = calloc((size_t)n, sizeof(uint64_t));
	sc->cthink = calloc((size_t)n, sizeof(uint64_t));
	if (!sc->req || !sc->resp || !sc->think || !sc->cthink)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		sc->req[i] = draw(&s, &P.req);
		sc->resp[i] = draw(&s, &P.resp);
		sc->think[i] = draw(&s, &P.think);
		sc->cthink[i] = draw(&s, &P.cthink);
	}
}

static void
script_free(struct script *sc)
{
	free(sc->req);
	free(sc->resp);
	free(sc->think);
	free(sc->cthink);
}

/* Random payload: a pool filled once, chunks taken at random offsets, so
 * that sending costs no CPU time that would blur the timings. */
#define POOL_SIZE (4u << 20)
#define CHUNK_MAX (1u << 20)
static unsigned char *pool;

static void
pool_init(void)
{
	uint64_t s = P.seed ^ 0x5eed;

	pool = malloc(POOL_SIZE);
	if (pool == NULL)
		die("out of memory");
	for (size_t i = 0; i < POOL_SIZE; i += 8) {
		uint64_t v = rnd(&s);
		memcpy(pool + i, &v, 8);
	}
}

/* Writes one ADU of n random bytes in drawn chunks with drawn pauses. */
static int
send_adu(int fd, uint64_t n, uint64_t *rs, int64_t *t_first, int64_t *t_last)
{
	int first = 1;

	while (n > 0) {
		uint64_t c = draw(rs, &P.wsize);
		if (c == 0)
			c = 1;
		if (c > n)
			c = n;
		if (c > CHUNK_MAX)
			c = CHUNK_MAX;
		const unsigned char *buf = pool + rnd(rs) % (POOL_SIZE - CHUNK_MAX);
		if (first) {
			*t_first = now_us();
			first = 0;
		}
		size_t off = 0;
		while (off < c) {
			ssize_t w = write(fd, buf + off, c - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			off += (size_t)w;
		}
		n -= c;
		*t_last = now_us();
		if (n > 0)
			sleep_us(draw(rs, &P.wpause));
	}
	return 0;
}

/* Reads exactly n bytes; stamps the first and the last read. */
static int
recv_exact(int fd, uint64_t n, int64_t *t_first, int64_t *t_last)
{
	static __thread unsigned char buf[1 << 16];
	uint64_t got = 0;

	while (got < n) {
		size_t want = n - got < sizeof(buf) ? (size_t)(n - got) : sizeof(buf);
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (got == 0)
			*t_first = now_us();
		got += (uint64_t)r;
		if (got == n)
			*t_last = now_us();
	}
	return 0;
}

static void
log_text(const char *s)
{
	pthread_mutex_lock(&log_mu);
	fputs(s, logfp);
	fflush(logfp);
	pthread_mutex_unlock(&log_mu);
}

/* A growing text buffer: a connection's lines go to the log at once. */
struct tbuf {
	char *p;
	size_t len, cap;
};

static void
tprintf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("format error");
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 256) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			die("out of memory");
	}
}

/* --- concurrent mode: a reader thread beside the writer -------------- */

struct reader {
	int fd;
	uint64_t bytes;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	static __thread unsigned char buf[1 << 16];

	for (;;) {
		ssize_t n = read(r->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r->bytes += (uint64_t)n;
	}
	return NULL;
}

static void
run_conc(int fd, int is_client, uint16_t cport, struct tbuf *b)
{
	struct script sc;
	struct reader rd = { fd, 0 };
	pthread_t th;
	uint64_t ws = conn_seed(cport) ^ (is_client ? 0x1111 : 0x2222);
	const char *role = is_client ? "client" : "server";
	const char *dir = is_client ? "c2s" : "s2c";

	script_draw(&sc, cport);
	if (pthread_create(&th, NULL, reader_main, &rd) != 0)
		die("pthread_create failed");
	int n = is_client ? sc.n : sc.n_srv;
	for (int i = 0; i < n; i++) {
		uint64_t size = is_client ? sc.req[i] : sc.resp[i];
		uint64_t pause = i + 1 < n ? (is_client ? sc.cthink[i] : sc.think[i]) : 0;
		int64_t t1 = 0, t2 = 0;
		if (send_adu(fd, size, &ws, &t1, &t2) < 0)
			break;
		tprintf(b, "A\t%s\tconc\t%u\t%d\t%s\t%llu\t%llu\t%lld\t%lld\n", role, cport, i + 1, dir,
		    (unsigned long long)size, (unsigned long long)pause, (long long)t1, (long long)t2);
		sleep_us(pause);
	}
	shutdown(fd, SHUT_WR);
	pthread_join(th, NULL);
	tprintf(b, "R\t%s\tconc\t%u\t%s\t%llu\n", role, cport, is_client ? "s2c" : "c2s",
	    (unsigned long long)rd.bytes);
	script_free(&sc);
}

/* --- sequential mode ------------------------------------------------- */

static void
run_seq_server(int fd, uint16_t cport, struct tbuf *b)
{
	struct script sc;
	uint64_t ws = conn_seed(cport) ^ 0x2222;

	script_draw(&sc, cport);
	for (int i = 0; i < sc.n; i++) {
		int64_t t1 = 0, t2 = 0, t3 = 0, t4 = 0;
		if (recv_exact(fd, sc.req[i], &t1, &t2) < 0)
			break;
		sleep_us(sc.think[i]);
		if (send_adu(fd, sc.resp[i], &ws, &t3, &t4) < 0)
			break;
		tprintf(b, "X\tserver\tseq\t%u\t%d\t%llu\t%llu\t%llu\t%lld\t%lld\t%lld\t%lld\n", cport, i + 1,
		    (unsigned long long)sc.req[i], (unsigned long long)sc.resp[i],
		    (unsigned long long)sc.think[i], (long long)t1, (long long)t2, (long long)t3, (long long)t4);
	}
	/* Wait for the client's close. */
	{
		char c;
		while (read(fd, &c, 1) > 0)
			;
	}
	script_free(&sc);
}

static void
run_seq_client(int fd, uint16_t cport, struct tbuf *b)
{
	struct script sc;
	uint64_t ws = conn_seed(cport) ^ 0x1111;

	script_draw(&sc, cport);
	for (int i = 0; i < sc.n; i++) {
		int64_t t1 = 0, t2 = 0, t3 = 0, t4 = 0;
		if (send_adu(fd, sc.req[i], &ws, &t1, &t2) < 0)
			break;
		if (recv_exact(fd, sc.resp[i], &t3, &t4) < 0)
			break;
		tprintf(b, "X\tclient\tseq\t%u\t%d\t%llu\t%llu\t%llu\t%lld\t%lld\t%lld\t%lld\n", cport, i + 1,
		    (unsigned long long)sc.req[i], (unsigned long long)sc.resp[i],
		    (unsigned long long)sc.think[i], (long long)t1, (long long)t2, (long long)t3, (long long)t4);
		if (i + 1 < sc.n)
			sleep_us(sc.cthink[i]);
	}
	script_free(&sc);
}

/* --- server ---------------------------------------------------------- */

static void *
server_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint16_t cport = 0;
	struct tbuf b = { NULL, 0, 0 };

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		cport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                       : ((struct sockaddr_in *)&ss)->sin_port);
	if (P.conc)
		run_conc(fd, 0, cport, &b);
	else
		run_seq_server(fd, cport, &b);
	close(fd);
	if (b.p)
		log_text(b.p);
	free(b.p);
	return NULL;
}

static void *
server_worker(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		server_conn((void *)(intptr_t)c);
	}
	return NULL;
}

static int
server_main(const char *addr, const char *port, const char *ready, int nthreads)
{
	struct addrinfo hints, *ai;
	int fd, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(addr, port, &hints, &ai) != 0)
		die("cannot resolve %s port %s", addr ? addr : "*", port);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind: %s", strerror(errno));
	freeaddrinfo(ai);
	if (listen(fd, 1024) < 0)
		die("listen: %s", strerror(errno));
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f)
			fclose(f);
	}
	/* SIGTERM and SIGINT end the server: blocked in every thread, awaited
	 * by the main one. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Workers wait in accept() themselves: a connection is read as soon
	 * as its data arrives, without a thread start in between. */
	for (int i = 0; i < nthreads; i++) {
		pthread_t th;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 1 << 20);
		if (pthread_create(&th, &at, server_worker, (void *)(intptr_t)fd) != 0)
			die("pthread_create failed");
		pthread_attr_destroy(&at);
	}
	int sig;
	sigwait(&set, &sig);
	close(fd);
	/* Give connections in progress a moment to log. */
	sleep_us(200000);
	pthread_mutex_lock(&log_mu);
	fflush(logfp);
	pthread_mutex_unlock(&log_mu);
	return 0;
}

/* --- client ---------------------------------------------------------- */

static struct addrinfo *client_ai;
static int client_total, client_next, client_failed, client_cport;
static pthread_mutex_t client_mu = PTHREAD_MUTEX_INITIALIZER;

static void *
client_worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&client_mu);
		int k = client_next < client_total ? client_next++ : -1;
		pthread_mutex_unlock(&client_mu);
		if (k < 0)
			break;
		int fd = socket(client_ai->ai_family, SOCK_STREAM, 0);
		if (fd >= 0 && client_cport > 0) {
			struct sockaddr_storage la;
			int one = 1;
			memset(&la, 0, sizeof(la));
			la.ss_family = (sa_family_t)client_ai->ai_family;
			if (la.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&la)->sin6_port = htons((uint16_t)(client_cport + k));
			else
				((struct sockaddr_in *)&la)->sin_port = htons((uint16_t)(client_cport + k));
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&la, la.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
			                                                              : sizeof(struct sockaddr_in)) < 0) {
				fprintf(stderr, "abt: bind port %d: %s\n", client_cport + k, strerror(errno));
				close(fd);
				fd = -1;
			}
		}
		if (fd < 0 || connect(fd, client_ai->ai_addr, client_ai->ai_addrlen) < 0) {
			fprintf(stderr, "abt: connect: %s\n", strerror(errno));
			if (fd >= 0)
				close(fd);
			pthread_mutex_lock(&client_mu);
			client_failed++;
			pthread_mutex_unlock(&client_mu);
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		uint16_t cport = 0;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			cport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			                                       : ((struct sockaddr_in *)&ss)->sin_port);
		struct tbuf b = { NULL, 0, 0 };
		if (P.conc)
			run_conc(fd, 1, cport, &b);
		else
			run_seq_client(fd, cport, &b);
		close(fd);
		if (b.p)
			log_text(b.p);
		free(b.p);
	}
	return NULL;
}

static int
client_main(const char *host, const char *port, int n, int par)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &client_ai) != 0)
		die("cannot resolve %s port %s", host, port);
	client_total = n;
	if (par < 1)
		par = 1;
	pthread_t *th = calloc((size_t)par, sizeof(*th));
	if (th == NULL)
		die("out of memory");
	for (int i = 0; i < par; i++) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 1 << 20);
		if (pthread_create(&th[i], &at, client_worker, NULL) != 0)
			die("pthread_create failed");
		pthread_attr_destroy(&at);
	}
	for (int i = 0; i < par; i++)
		pthread_join(th[i], NULL);
	free(th);
	freeaddrinfo(client_ai);
	if (client_failed)
		fprintf(stderr, "abt: %d connection(s) failed\n", client_failed);
	return client_failed ? 1 : 0;
}

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fputs("usage: abt server [options] [ADDR] PORT\n"
	      "       abt client [options] HOST PORT\n"
	      "options: --mode seq|conc --seed S --exchanges A-B --req A-B --resp A-B\n"
	      "         --think A-B --cthink A-B --wsize A-B --wpause A-B\n"
	      "         -n CONNS -P PARALLEL -o TRUTHFILE --ready FILE --cport BASE --rt PRIO\n"
	      "sizes take k/M suffixes, times us/ms/s (default us)\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *out = NULL, *ready = NULL;
	int n = 10, par = -1, is_server, rt = 0;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "server") == 0)
		is_server = 1;
	else if (strcmp(argv[1], "client") == 0)
		is_server = 0;
	else
		usage();
	int i = 2;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(o, "--mode") == 0) {
			if (strcmp(v, "seq") == 0)
				P.conc = 0;
			else if (strcmp(v, "conc") == 0)
				P.conc = 1;
			else
				usage();
		} else if (strcmp(o, "--seed") == 0)
			P.seed = strtoull(v, NULL, 0);
		else if (strcmp(o, "--exchanges") == 0)
			P.exch = parse_range(v, 0);
		else if (strcmp(o, "--req") == 0)
			P.req = parse_range(v, 0);
		else if (strcmp(o, "--resp") == 0)
			P.resp = parse_range(v, 0);
		else if (strcmp(o, "--think") == 0)
			P.think = parse_range(v, 1);
		else if (strcmp(o, "--cthink") == 0)
			P.cthink = parse_range(v, 1);
		else if (strcmp(o, "--wsize") == 0)
			P.wsize = parse_range(v, 0);
		else if (strcmp(o, "--wpause") == 0)
			P.wpause = parse_range(v, 1);
		else if (strcmp(o, "-n") == 0)
			n = atoi(v);
		else if (strcmp(o, "-P") == 0)
			par = atoi(v);
		else if (strcmp(o, "-o") == 0)
			out = v;
		else if (strcmp(o, "--ready") == 0)
			ready = v;
		else if (strcmp(o, "--cport") == 0)
			client_cport = atoi(v);
		else if (strcmp(o, "--rt") == 0)
			rt = atoi(v);
		else
			usage();
	}
	if (P.exch.lo < 1 || P.req.lo < 1 || P.resp.lo < 1 || P.wsize.lo < 1)
		die("exchanges, sizes and write sizes must be at least 1");
	if (P.req.hi > (1 << 20) || P.resp.hi > (1 << 20))
		die("ADU sizes are limited to 1M");
	logfp = stdout;
	if (out && (logfp = fopen(out, "a")) == NULL)
		die("%s: %s", out, strerror(errno));
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pool_init();
	if (rt > 0) {
		/* Before any thread exists: they all inherit it. */
		struct sched_param sp;
		memset(&sp, 0, sizeof(sp));
		sp.sched_priority = rt;
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			fprintf(stderr, "abt: SCHED_FIFO: %s (going on without)\n", strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	int rc;
	if (par < 1)
		par = is_server ? 64 : 4;
	if (is_server) {
		if (argc - i == 1)
			rc = server_main(NULL, argv[i], ready, par);
		else if (argc - i == 2)
			rc = server_main(argv[i], argv[i + 1], ready, par);
		else
			usage();
	} else {
		if (argc - i != 2)
			usage();
		rc = client_main(argv[i], argv[i + 1], n, par);
	}
	if (logfp != stdout)
		fclose(logfp);
	return rc;
}
