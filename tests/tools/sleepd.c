/* sleepd: a tiny HTTP/1.1 server with known, requested delays, for tests.
 *
 *   sleepd [-l ADDR] [-p PORT] [-t TRUTHFILE] [-P PIDFILE]
 *
 * GET /sleep?ms=N&body_delay=M&size=S[&chunks=K|&close=1]
 *   reads the whole request, sleeps N ms, sends the response headers
 *   (Content-Length: S), sleeps M ms, then sends S body bytes.  With
 *   chunks=K the body goes as K chunks (Transfer-Encoding: chunked, each
 *   chunk its own write) and the empty last chunk; with close=1 there is
 *   no Content-Length and the connection closes after the body.
 * A request body (Content-Length, up to 8 KiB with the headers) is read
 * before the sleep; with "Expect: 100-continue" an interim
 * "100 Continue" response is sent first.  Any other path answers 404 at once.  Connections are kept alive
 * (HTTP/1.1) until the client closes or sends "Connection: close".
 * One process per connection (fork).  TCP_NODELAY is set so that the
 * headers and the body leave as soon as they are written.
 *
 * Ground truth: for every /sleep request one line is appended (one write(),
 * O_APPEND) to TRUTHFILE:
 *   client=ADDR client_port=P seq=K ms=N body_delay=M size=S
 *   req_us=T0 hdr_us=T1 body_us=T2 framing=length|chunked|close
 * (on one line) where seq counts requests on the connection from 1 and the
 * _us fields are the server's wall clock (microseconds since the epoch)
 * when the request was complete, the headers written, and the body written.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ 8192
#define MAX_SIZE (64L * 1024 * 1024)

static int truth_fd = -1;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("sleepd: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Value of query parameter `name` in the target, or def. */
static long query_param(const char *target, const char *name, long def)
{
	const char *q = strchr(target, '?');
	size_t nl = strlen(name);

	if (!q)
		return def;
	q++;
	while (*q && *q != ' ') {
		if (strncmp(q, name, nl) == 0 && q[nl] == '=') {
			char *end;
			long v = strtol(q + nl + 1, &end, 10);

			if (end == q + nl + 1 || v < 0)
				return def;
			return v;
		}
		q = strchr(q, '&');
		if (!q)
			break;
		q++;
	}
	return def;
}

/* Header value (case-insensitive name) in the header block, copied to out. */
static int header_value(const char *hdrs, const char *name, char *out, size_t outlen)
{
	const char *p = hdrs;
	size_t nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t n = 0;

			while (*v == ' ' || *v == '\t')
				v++;
			while (v[n] && v[n] != '\r' && n + 1 < outlen) {
				out[n] = v[n];
				n++;
			}
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

static void serve(int fd, const struct sockaddr_storage *peer)
{
	char buf[MAX_REQ + 1];
	size_t have = 0;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	unsigned seq = 0;
	static char body[65536];

	memset(body, 'a', sizeof(body));
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)peer;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
	} else if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)peer;

		/* a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], host, sizeof(host));
		else
			inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		port = ntohs(s->sin6_port);
	}

	for (;;) {
		char *end;
		size_t hlen, blen = 0;
		char method[16], target[2048], proto[16], val[64];
		int keep = 1;
		int64_t t0, t1, t2;

		buf[have] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
			ssize_t n;

			if (have >= MAX_REQ)
				return;
			n = read(fd, buf + have, MAX_REQ - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;
			have += (size_t)n;
			buf[have] = '\0';
		}
		hlen = (size_t)(end - buf) + 4;
		/* A request body (not expected) is read and ignored. */
		if (header_value(buf, "Content-Length", val, sizeof(val)))
			blen = strtoul(val, NULL, 10);
		if (blen > MAX_REQ - hlen)
			return;
		/* "Expect: 100-continue": an interim response before the body. */
		if (blen > 0 && have < hlen + blen &&
		    header_value(buf, "Expect", val, sizeof(val)) && strcasecmp(val, "100-continue") == 0) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			if (write_all(fd, cont, sizeof(cont) - 1) < 0)
				return;
		}
		while (have < hlen + blen) {
			ssize_t n = read(fd, buf + have, MAX_REQ - have);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		t0 = now_us();
		buf[hlen - 2] = '\0';
		if (sscanf(buf, "%15s %2047s %15s", method, target, proto) != 3)
			return;
		if (strcasecmp(proto, "HTTP/1.0") == 0)
			keep = 0;
		if (header_value(buf, "Connection", val, sizeof(val))) {
			if (strcasecmp(val, "close") == 0)
				keep = 0;
			else if (strcasecmp(val, "keep-alive") == 0)
				keep = 1;
		}
		seq++;

		if (strncmp(target, "/sleep", 6) == 0 && (target[6] == '?' || target[6] == '\0')) {
			long ms = query_param(target, "ms", 0);
			long bd = query_param(target, "body_delay", 0);
			long size = query_param(target, "size", 0);
			long chunks = query_param(target, "chunks", 0);
			long close_delim = query_param(target, "close", 0);
			char hdr[256], line[600];
			int hl, ll;

			if (size > MAX_SIZE)
				size = MAX_SIZE;
			if (chunks > 1000)
				chunks = 1000;
			if (close_delim)
				keep = 0;
			sleep_ms(ms);
			if (chunks > 0)
				hl = snprintf(hdr, sizeof(hdr),
				    "HTTP/1.1 200 OK\r\nServer: sleepd\r\nContent-Type: text/plain\r\n"
				    "Transfer-Encoding: chunked\r\nConnection: %s\r\n\r\n",
				    keep ? "keep-alive" : "close");
			else if (close_delim)
				hl = snprintf(hdr, sizeof(hdr),
				    "HTTP/1.1 200 OK\r\nServer: sleepd\r\nContent-Type: text/plain\r\n"
				    "Connection: close\r\n\r\n");
			else
				hl = snprintf(hdr, sizeof(hdr),
				    "HTTP/1.1 200 OK\r\nServer: sleepd\r\nContent-Type: text/plain\r\n"
				    "Content-Length: %ld\r\nConnection: %s\r\n\r\n",
				    size, keep ? "keep-alive" : "close");
			if (write_all(fd, hdr, (size_t)hl) < 0)
				return;
			t1 = now_us();
			if (size > 0 || chunks > 0) {
				long left = size, k;

				sleep_ms(bd);
				/* chunked: `chunks` chunks of about size/chunks bytes, each
				 * written on its own, then the last (empty) chunk */
				for (k = chunks; k > 0 || (chunks == 0 && left > 0); k--) {
					long part = chunks > 0 ? (left + k - 1) / k : left;
					long this_part = part;

					if (chunks > 0 && part > 0) {
						char cl[32];
						int n = snprintf(cl, sizeof(cl), "%lx\r\n", part);

						if (write_all(fd, cl, (size_t)n) < 0)
							return;
					}
					left -= part;
					while (part > 0) {
						size_t n = part > (long)sizeof(body) ? sizeof(body) : (size_t)part;

						if (write_all(fd, body, n) < 0)
							return;
						part -= (long)n;
					}
					if (chunks > 0 && this_part > 0 && write_all(fd, "\r\n", 2) < 0)
						return;
					if (chunks == 0)
						break;
				}
				if (chunks > 0 && write_all(fd, "0\r\n\r\n", 5) < 0)
					return;
			}
			t2 = now_us();
			ll = snprintf(line, sizeof(line),
			    "client=%s client_port=%u seq=%u ms=%ld body_delay=%ld size=%ld "
			    "req_us=%lld hdr_us=%lld body_us=%lld framing=%s\n",
			    host, port, seq, ms, (size > 0 || chunks > 0) ? bd : 0, size,
			    (long long)t0, (long long)t1, (long long)t2,
			    chunks > 0 ? "chunked" : close_delim ? "close" : "length");
			if (truth_fd >= 0 && write_all(truth_fd, line, (size_t)ll) < 0)
				die("truth file: %s", strerror(errno));
		} else {
			static const char nf[] = "not found\n";
			char hdr[256];
			int hl = snprintf(hdr, sizeof(hdr),
			    "HTTP/1.1 404 Not Found\r\nServer: sleepd\r\nContent-Type: text/plain\r\n"
			    "Content-Length: %zu\r\nConnection: %s\r\n\r\n%s",
			    sizeof(nf) - 1, keep ? "keep-alive" : "close", nf);

			if (write_all(fd, hdr, (size_t)hl) < 0)
				return;
		}
		if (!keep)
			return;
		/* Keep pipelined bytes that followed this request. */
		memmove(buf, buf + hlen + blen, have - hlen - blen);
		have -= hlen + blen;
	}
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *port = "8080", *truth = NULL, *pidfile = NULL;
	struct addrinfo hints, *res, *ai;
	struct sigaction sa;
	int opt, lfd, one = 1, rc;

	while ((opt = getopt(argc, argv, "l:p:t:P:")) != -1) {
		switch (opt) {
		case 'l': addr = optarg; break;
		case 'p': port = optarg; break;
		case 't': truth = optarg; break;
		case 'P': pidfile = optarg; break;
		default:
			fprintf(stderr, "usage: sleepd [-l ADDR] [-p PORT] [-t TRUTHFILE] [-P PIDFILE]\n");
			return 2;
		}
	}
	if (truth) {
		truth_fd = open(truth, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (truth_fd < 0)
			die("%s: %s", truth, strerror(errno));
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(addr, port, &hints, &res)) != 0)
		die("%s: %s", addr ? addr : "*", gai_strerror(rc));
	/* With no address, prefer a dual-stack IPv6 socket. */
	ai = res;
	if (!addr) {
		struct addrinfo *a;

		for (a = res; a; a = a->ai_next)
			if (a->ai_family == AF_INET6) {
				ai = a;
				break;
			}
	}
	lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6) {
		int zero = 0;

		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (bind(lfd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind: %s", strerror(errno));
	if (listen(lfd, 64) < 0)
		die("listen: %s", strerror(errno));
	freeaddrinfo(res);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);

	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f)
			die("%s: %s", pidfile, strerror(errno));
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}

	while (!stop) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int cfd = accept(lfd, (struct sockaddr *)&peer, &plen);
		pid_t pid;

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		pid = fork();
		if (pid == 0) {
			close(lfd);
			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			serve(cfd, &peer);
			close(cfd);
			_exit(0);
		}
		if (pid < 0)
			fprintf(stderr, "sleepd: fork: %s\n", strerror(errno));
		close(cfd);
	}
	if (pidfile)
		unlink(pidfile);
	return 0;
}
