/* Runs one command and reports what it cost.
 *
 *   measure [-i MS] [-t SECONDS] [-o OUT] [-O STDOUT_FILE] [-E STDERR_FILE] -- COMMAND [ARG...]
 *
 * Prints (to OUT, default stderr) one line of key=value pairs:
 *   wall_s user_s sys_s maxrss_kb peak_anon_kb samples status
 * wall_s comes from the monotonic clock between fork and exit; user_s and
 * sys_s and maxrss_kb (the kernel's high-water mark of the resident set,
 * VmHWM, which counts file pages too) from wait4(); peak_anon_kb is the
 * largest RssAnon seen in /proc/PID/status, sampled every MS milliseconds
 * (default 10) and once more just before the process exits is noticed.
 * RssAnon excludes mapped files, so an LMDB map does not inflate it.
 * The command's stdout goes to STDOUT_FILE (default /dev/null), its stderr
 * to STDERR_FILE (default: inherited).  With -t, a command still running
 * after SECONDS is killed (status 137, timed_out=1). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long
rss_anon_kb(int fd)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, "RssAnon:");
	if (p == NULL)
		return -1;
	return strtol(p + 8, NULL, 10);
}

static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	int ch, interval = 10, timed_out = 0;
	double limit = 0;
	const char *out = NULL, *sout = "/dev/null", *serr = NULL;

	while ((ch = getopt(argc, argv, "+i:t:o:O:E:")) != -1) {
		switch (ch) {
		case 'i': interval = atoi(optarg); break;
		case 't': limit = atof(optarg); break;
		case 'o': out = optarg; break;
		case 'O': sout = optarg; break;
		case 'E': serr = optarg; break;
		default:
			fprintf(stderr, "usage: measure [-i MS] [-t SECONDS] [-o OUT] [-O STDOUT] [-E STDERR] -- COMMAND...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "measure: no command\n");
		return 2;
	}
	if (interval < 1)
		interval = 1;

	double t0 = mono();
	pid_t pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 1;
	}
	if (pid == 0) {
		int fd = open(sout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0) {
			perror(sout);
			_exit(127);
		}
		close(fd);
		if (serr) {
			fd = open(serr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || dup2(fd, 2) < 0) {
				perror(serr);
				_exit(127);
			}
			close(fd);
		}
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "measure: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int sfd = open(path, O_RDONLY);
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long peak = 0, samples = 0;
	int status = 0;
	struct rusage ru;

	for (;;) {
		if (limit > 0 && !timed_out && mono() - t0 > limit) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		if (sfd >= 0) {
			long v = rss_anon_kb(sfd);
			if (v > peak)
				peak = v;
			samples++;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			int r = poll(&p, 1, interval);
			if (r > 0)
				break;
		} else {
			pid_t w = wait4(pid, &status, WNOHANG, &ru);
			if (w == pid)
				goto reaped;
			usleep((useconds_t)interval * 1000);
		}
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("measure: wait4");
		return 1;
	}
reaped:;
	double wall = mono() - t0;
	FILE *fp = out ? fopen(out, "a") : stderr;
	if (fp == NULL) {
		perror(out);
		return 1;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(fp, "wall_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kb=%ld peak_anon_kb=%ld samples=%ld status=%d timed_out=%d\n",
	    wall, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss, peak, samples, code, timed_out);
	if (out)
		fclose(fp);
	return code;
}
