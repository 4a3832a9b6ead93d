/* Startup checks (store directory, AgentX socket, pid file) and the pid
 * file's life: see startup.h. */
#include "config.h"
#include "agent/startup.h"
#include "common/log.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

void
startup_identity(char *buf, size_t len)
{
	uid_t uid = geteuid();
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "running as user %s, uid %ld", pw->pw_name, (long)uid);
	else
		snprintf(buf, len, "running as uid %ld", (long)uid);
}

static enum startup_level AM_PRINTF(4, 5)
say(enum startup_level level, char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return level;
}

/* The directory part of path ("." for a bare name). */
static void
parent_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* Whether a missing `what` PATH can be created in its parent directory. */
static enum startup_level
check_creatable(const char *what, const char *path, const char *who, char *msg, size_t len)
{
	char parent[4096];
	struct stat sb;

	parent_of(path, parent, sizeof(parent));
	if (stat(parent, &sb) < 0)
		return say(STARTUP_ERROR, msg, len, "%s %s: cannot be created: %s: %s (%s)", what, path,
		    parent, strerror(errno), who);
	if (!S_ISDIR(sb.st_mode))
		return say(STARTUP_ERROR, msg, len, "%s %s: cannot be created: %s is not a directory",
		    what, path, parent);
	if (faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS) < 0)
		return say(STARTUP_ERROR, msg, len, "%s %s: cannot be created in %s: %s (%s)", what, path,
		    parent, strerror(errno), who);
	return say(STARTUP_OK, msg, len, "%s %s: does not exist yet, will be created", what, path);
}

enum startup_level
startup_check_store(const char *dir, int check_lock, char *msg, size_t len)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "writer.lock" };
	char who[160], path[4096], err[512];
	struct stat sb;
	int have_data = 0, have_lock = 0;

	startup_identity(who, sizeof(who));
	if (stat(dir, &sb) < 0) {
		if (errno != ENOENT)
			return say(STARTUP_ERROR, msg, len, "store %s: %s (%s)", dir, strerror(errno), who);
		return check_creatable("store", dir, who, msg, len);
	}
	if (!S_ISDIR(sb.st_mode))
		return say(STARTUP_ERROR, msg, len, "store %s: not a directory", dir);
	if (faccessat(AT_FDCWD, dir, R_OK | W_OK | X_OK, AT_EACCESS) < 0)
		return say(STARTUP_ERROR, msg, len,
		    "store %s: %s (%s; the directory needs read, write and search permission)", dir,
		    strerror(errno), who);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (lstat(path, &sb) < 0)
			continue;
		if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0)
			return say(STARTUP_ERROR, msg, len, "store %s: %s (%s)", path, strerror(errno), who);
		have_data |= i == 0;
		have_lock |= i == 1;
	}
	/* The store must open; without its lock file LMDB would create one,
	 * owned by whoever runs this check: the file checks above suffice. */
	if (have_data && have_lock) {
		struct am_store *st = am_store_open(dir, NULL, AM_STORE_RDONLY, err, sizeof(err));
		if (st == NULL)
			return say(STARTUP_ERROR, msg, len, "store %s (%s)", err, who);
		am_store_close(st);
	}
	if (check_lock) {
		snprintf(path, sizeof(path), "%s/writer.lock", dir);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			int busy = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
			close(fd);
			if (busy)
				return say(STARTUP_WARNING, msg, len,
				    "store %s: in use by another writer (a running artmond?): a second artmond "
				    "cannot start on it", dir);
		}
	}
	return say(STARTUP_OK, msg, len, "store %s: usable%s", dir, have_data ? "" : " (empty)");
}

static int pidfile_opened_check(int fd, const char *path, int keep, int *running, char *msg,
    size_t len);

enum startup_level
startup_check_pidfile(const char *path, char *msg, size_t len)
{
	char who[160];
	struct stat sb;

	startup_identity(who, sizeof(who));
	if (lstat(path, &sb) < 0) {
		if (errno != ENOENT)
			return say(STARTUP_ERROR, msg, len, "pid file %s: %s (%s)", path, strerror(errno), who);
		return check_creatable("pid file", path, who, msg, len);
	}
	if (S_ISLNK(sb.st_mode))
		return say(STARTUP_ERROR, msg, len, "pid file %s: a symbolic link (not followed)", path);
	if (!S_ISREG(sb.st_mode))
		return say(STARTUP_ERROR, msg, len, "pid file %s: not a regular file", path);
	if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0)
		return say(STARTUP_ERROR, msg, len, "pid file %s: %s (%s)", path, strerror(errno), who);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		int running;
		int rc = pidfile_opened_check(fd, path, 0, &running, msg, len);
		close(fd);
		/* A running artmond: a start would fail, artmond -n beside it
		 * (before a reload or restart) says so. */
		if (rc < 0)
			return running ? STARTUP_WARNING : STARTUP_ERROR;
	}
	return say(STARTUP_OK, msg, len, "pid file %s: writable", path);
}

/* ------------------------------------------------------------------ AgentX */

#define AGENTX_RETRY "artmond keeps running and joins the master when it starts"

enum startup_level
startup_probe_agentx(const char *addr, char *msg, size_t len, int *err_out)
{
	struct sockaddr_un sun;
	const char *path = NULL;
	char who[160];
	struct stat sb;
	int fd, rc, e;

	if (err_out)
		*err_out = 0;
	if (strncmp(addr, "unix:", 5) == 0)
		path = addr + 5;
	else if (addr[0] == '/')
		path = addr;
	if (path == NULL)
		return say(STARTUP_OK, msg, len, "AgentX address %s: not a unix socket, not checked", addr);
	startup_identity(who, sizeof(who));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: longer than the %zu bytes a unix "
		    "socket's path may have", path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path));
	/* Non-blocking: a master too busy to accept must not hold us up. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: socket: %s", path, strerror(errno));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return say(STARTUP_OK, msg, len, "AgentX socket %s: a master agent accepts connections (%s)",
		    path, who);
	if (err_out)
		*err_out = e;
	/* Linux says ECONNREFUSED, or EACCES without write permission, for a
	 * path that is not a socket. */
	if (stat(path, &sb) == 0 && !S_ISSOCK(sb.st_mode))
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: not a socket", path);
	switch (e) {
	case ENOENT:
		return say(STARTUP_WARNING, msg, len, "AgentX socket %s: %s (%s): no master agent is "
		    "running yet (snmpd with \"master agentx\"); " AGENTX_RETRY, path, strerror(e), who);
	case ECONNREFUSED:
		return say(STARTUP_WARNING, msg, len, "AgentX socket %s: %s (%s): no master agent listens "
		    "on it (snmpd stopped?); " AGENTX_RETRY, path, strerror(e), who);
	case EACCES:
	case EPERM:
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: %s (%s): the master's agentXPerms "
		    "(and the permissions of the socket's directory) must let this user connect",
		    path, strerror(e), who);
	default:
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: %s (%s)", path, strerror(e), who);
	}
}

/* The probe in a child that has become pw, as artmond will after it drops
 * its privileges (no supplementary groups, like drop_privileges). */
enum startup_level
startup_probe_agentx_as(const char *addr, const struct passwd *pw, char *msg, size_t len)
{
	int fds[2], status;
	pid_t pid;
	char buf[1024];
	ssize_t n;
	size_t got = 0;

	if (pw == NULL || geteuid() != 0 || pw->pw_uid == 0)
		return startup_probe_agentx(addr, msg, len, NULL);
	if (pipe(fds) < 0)
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: pipe: %s", addr, strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: fork: %s", addr, strerror(errno));
	}
	if (pid == 0) {
		enum startup_level lv;
		close(fds[0]);
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			lv = say(STARTUP_ERROR, buf + 1, sizeof(buf) - 1, "AgentX socket %s: cannot check as "
			    "user %s: %s", addr, pw->pw_name, strerror(errno));
		} else {
			lv = startup_probe_agentx(addr, buf + 1, sizeof(buf) - 1, NULL);
		}
		buf[0] = (char)lv;
		n = write(fds[1], buf, 1 + strlen(buf + 1));
		_exit(n > 0 ? 0 : 1);
	}
	close(fds[1]);
	while (got < sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < 2)
		return say(STARTUP_ERROR, msg, len, "AgentX socket %s: the check as user %s failed", addr,
		    pw->pw_name);
	buf[got] = 0;
	snprintf(msg, len, "%s", buf + 1);
	return buf[0] == STARTUP_OK ? STARTUP_OK : buf[0] == STARTUP_WARNING ? STARTUP_WARNING :
	    STARTUP_ERROR;
}

/* ------------------------------------------------------------------ pid file */

/* The process id written in the pid file fd (0 when none). */
static long
pidfile_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* Whether another process holds the lock of the pid file fd (a running
 * artmond keeps its pid file open and locked while it runs); with keep,
 * the lock is ours from now on. */
static int
pidfile_locked(int fd, int keep)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (!keep)
			flock(fd, LOCK_UN);
		return 0;
	}
	/* A file system without locks: no protection, but no false alarm. */
	return errno == EWOULDBLOCK;
}

/* The pid file's own checks once open: a regular file with one name (not
 * a hard link to another file: root writes it and gives it away), not
 * locked by a running artmond (*running).  0 (locked by us with keep), or
 * -1 and msg. */
static int
pidfile_opened_check(int fd, const char *path, int keep, int *running, char *msg, size_t len)
{
	struct stat sb;

	*running = 0;
	if (fstat(fd, &sb) < 0) {
		say(STARTUP_ERROR, msg, len, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		say(STARTUP_ERROR, msg, len, "pid file %s: not a regular file", path);
		return -1;
	}
	if (sb.st_nlink != 1) {
		say(STARTUP_ERROR, msg, len, "pid file %s: has %lu names (a hard link to another file?): "
		    "not written", path, (unsigned long)sb.st_nlink);
		return -1;
	}
	if (pidfile_locked(fd, keep)) {
		long pid = pidfile_pid(fd);
		*running = 1;
		if (pid > 0)
			say(STARTUP_ERROR, msg, len, "pid file %s: in use by a running artmond (pid %ld): "
			    "a second artmond cannot start with it", path, pid);
		else
			say(STARTUP_ERROR, msg, len, "pid file %s: in use by a running artmond: a second "
			    "artmond cannot start with it", path);
		return -1;
	}
	return 0;
}

int
startup_pidfile_open(const char *path, char *msg, size_t len)
{
	char who[160];
	int running;
	/* Not through a symbolic link; never blocks on a FIFO planted there. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);

	if (fd < 0) {
		int e = errno;
		/* The words of artmond -n when they tell more. */
		if (startup_check_pidfile(path, msg, len) == STARTUP_ERROR)
			return -1;
		startup_identity(who, sizeof(who));
		say(STARTUP_ERROR, msg, len, "pid file %s: %s (%s)", path, strerror(e), who);
		return -1;
	}
	/* The lock is held while the descriptor stays open (daemon()'s child
	 * keeps it): the file of a process that died is not locked and is
	 * rewritten. */
	if (pidfile_opened_check(fd, path, 1, &running, msg, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
startup_pidfile_write(int fd, char *msg, size_t len)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		say(STARTUP_ERROR, msg, len, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

int
startup_pidfile_remove(int fd, const char *path)
{
	char buf[32];
	struct stat a, b;
	ssize_t n;
	int rc = -1;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		goto out;
	buf[n] = 0;
	/* Only our own file: not one a later instance rewrote or replaced
	 * (empty: opened by this process, which stopped before writing it). */
	if (n > 0 && strtol(buf, NULL, 10) != (long)getpid())
		goto out;
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		goto out;
	if (unlink(path) == 0)
		rc = 1;
	else if (ftruncate(fd, 0) == 0)
		rc = 0;
out:
	close(fd);
	return rc;
}
