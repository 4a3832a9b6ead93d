/* Startup checks (agent/startup.c) without artmond or snmpd: what the
 * AgentX probe says for a missing socket, a stale one, a listening one, a
 * file that is not a socket and (as root, checking as nobody) a socket the
 * user may not open; the store directory checks; the pid file's life,
 * its lock against a second instance and what may be planted in its place. */
#include "config.h"
#include "agent/startup.h"
#include "store/store.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[256];

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/check_startup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	chmod(tmp, 0755);
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* A unix socket at path; listening or not (closed: a stale socket). */
static int
unix_socket(const char *path, int listening)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening) {
		ck_assert_int_eq(listen(fd, 4), 0);
		return fd;
	}
	close(fd);
	return -1;
}

#define HAS(msg, text) ck_assert_msg(strstr((msg), (text)) != NULL, "no \"%s\" in \"%s\"", (text), (msg))

START_TEST(test_agentx_probe)
{
	char path[512], msg[1024], longp[200];
	int e, fd;

	snprintf(path, sizeof(path), "%s/none.sock", tmp);
	ck_assert_int_eq(startup_probe_agentx(path, msg, sizeof(msg), &e), STARTUP_WARNING);
	ck_assert_int_eq(e, ENOENT);
	HAS(msg, "No such file or directory");
	HAS(msg, "no master agent is running yet");
	HAS(msg, "running as ");

	snprintf(path, sizeof(path), "%s/stale.sock", tmp);
	unix_socket(path, 0);
	ck_assert_int_eq(startup_probe_agentx(path, msg, sizeof(msg), &e), STARTUP_WARNING);
	ck_assert_int_eq(e, ECONNREFUSED);
	HAS(msg, "Connection refused");
	HAS(msg, "no master agent listens on it");

	snprintf(path, sizeof(path), "%s/master.sock", tmp);
	fd = unix_socket(path, 1);
	ck_assert_int_eq(startup_probe_agentx(path, msg, sizeof(msg), &e), STARTUP_OK);
	ck_assert_int_eq(e, 0);
	char unixaddr[600];
	snprintf(unixaddr, sizeof(unixaddr), "unix:%s", path);
	ck_assert_int_eq(startup_probe_agentx(unixaddr, msg, sizeof(msg), &e), STARTUP_OK);
	HAS(msg, "a master agent accepts connections");
	close(fd);

	snprintf(path, sizeof(path), "%s/file", tmp);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	ck_assert_int_eq(startup_probe_agentx(path, msg, sizeof(msg), &e), STARTUP_ERROR);
	HAS(msg, "not a socket");

	ck_assert_int_eq(startup_probe_agentx("tcp:localhost:705", msg, sizeof(msg), &e), STARTUP_OK);
	HAS(msg, "not checked");

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	ck_assert_int_eq(startup_probe_agentx(longp, msg, sizeof(msg), &e), STARTUP_ERROR);
	HAS(msg, "longer than");
}
END_TEST

/* As root: the probe for user nobody runs as nobody, who may not open a
 * socket of mode 0700. */
START_TEST(test_agentx_probe_as_user)
{
	struct passwd *pw;
	char path[512], msg[1024], uid[64];
	int fd;

	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/master.sock", tmp);
	fd = unix_socket(path, 1);
	chmod(path, 0700);
	ck_assert_int_eq(startup_probe_agentx_as(path, pw, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "Permission denied");
	HAS(msg, "agentXPerms");
	snprintf(uid, sizeof(uid), "running as user nobody, uid %ld", (long)pw->pw_uid);
	HAS(msg, uid);
	chmod(path, 0777);
	ck_assert_int_eq(startup_probe_agentx_as(path, pw, msg, sizeof(msg)), STARTUP_OK);
	HAS(msg, uid);
	/* NULL: as the caller. */
	chmod(path, 0700);
	ck_assert_int_eq(startup_probe_agentx_as(path, NULL, msg, sizeof(msg)), STARTUP_OK);
	close(fd);
}
END_TEST

START_TEST(test_store_checks)
{
	char dir[512], path[600], msg[1024], err[256];
	struct am_store *st;
	int fd;

	snprintf(dir, sizeof(dir), "%s/store", tmp);
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_OK);
	HAS(msg, "will be created");
	ck_assert_int_ne(access(dir, F_OK), 0);          /* the check creates nothing */

	snprintf(dir, sizeof(dir), "%s/missing/store", tmp);
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "cannot be created");
	HAS(msg, "No such file or directory");

	snprintf(dir, sizeof(dir), "%s/file", tmp);
	close(open(dir, O_WRONLY | O_CREAT, 0644));
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "not a directory");

	snprintf(dir, sizeof(dir), "%s/empty", tmp);
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_OK);
	HAS(msg, "(empty)");

	/* A real store; in use by a writer, a warning with check_lock. */
	snprintf(dir, sizeof(dir), "%s/real", tmp);
	st = am_store_open(dir, NULL, AM_STORE_RDWR, err, sizeof(err));
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_WARNING);
	HAS(msg, "in use by another writer");
	ck_assert_int_eq(startup_check_store(dir, 0, msg, sizeof(msg)), STARTUP_OK);
	am_store_close(st);
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_OK);
	HAS(msg, "usable");

	/* Not an LMDB file. */
	snprintf(dir, sizeof(dir), "%s/bad", tmp);
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0640);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(write(fd, "garbage garbage garbage garbage garbage garbage garbage garbage\n", 64), 64);
	close(fd);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	close(open(path, O_WRONLY | O_CREAT, 0640));
	ck_assert_int_eq(startup_check_store(dir, 1, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "MDB_INVALID");
}
END_TEST

START_TEST(test_pidfile)
{
	char path[512], msg[1024], buf[64];
	int fd;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/nodir/x.pid", tmp);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_ERROR);
	ck_assert_int_lt(startup_pidfile_open(path, msg, sizeof(msg)), 0);
	HAS(msg, "cannot be created");

	snprintf(path, sizeof(path), "%s/x.pid", tmp);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_OK);
	fd = startup_pidfile_open(path, msg, sizeof(msg));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(startup_pidfile_write(fd, msg, sizeof(msg)), 0);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	ck_assert_int_eq(atol(buf), (long)getpid());
	ck_assert_int_eq(startup_pidfile_remove(fd, path), 1);
	ck_assert_int_ne(access(path, F_OK), 0);

	/* Opened, never written (the start failed): removed. */
	fd = startup_pidfile_open(path, msg, sizeof(msg));
	ck_assert_int_eq(startup_pidfile_remove(fd, path), 1);
	ck_assert_int_ne(access(path, F_OK), 0);

	/* Rewritten by another process: left alone. */
	fd = startup_pidfile_open(path, msg, sizeof(msg));
	ck_assert_int_eq(startup_pidfile_write(fd, msg, sizeof(msg)), 0);
	fp = fopen(path, "w");
	fprintf(fp, "1\n");
	fclose(fp);
	ck_assert_int_eq(startup_pidfile_remove(fd, path), -1);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/* The file's whole text, or "" (at most len - 1 bytes). */
static void
slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : 0;

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A running instance holds its pid file: a second open fails and names
 * it (artmond -n: a warning), the file keeps the first one's pid; the
 * file of a process that died is rewritten. */
START_TEST(test_pidfile_running_and_stale)
{
	char path[512], msg[1024], buf[64], want[64];
	int fd, fd2, status;
	pid_t dead;

	snprintf(path, sizeof(path), "%s/run.pid", tmp);
	fd = startup_pidfile_open(path, msg, sizeof(msg));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(startup_pidfile_write(fd, msg, sizeof(msg)), 0);
	/* Another open file description: another instance as flock sees it. */
	fd2 = startup_pidfile_open(path, msg, sizeof(msg));
	ck_assert_int_lt(fd2, 0);
	snprintf(want, sizeof(want), "in use by a running artmond (pid %ld)", (long)getpid());
	HAS(msg, want);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_WARNING);
	HAS(msg, want);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	slurp(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(startup_pidfile_remove(fd, path), 1);

	/* A stale file: its process is gone (and never locked it). */
	dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &status, 0), dead);
	snprintf(buf, sizeof(buf), "%ld\n", (long)dead);
	put(path, buf);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_OK);
	fd = startup_pidfile_open(path, msg, sizeof(msg));
	ck_assert_msg(fd >= 0, "stale pid file refused: %s", msg);
	ck_assert_int_eq(startup_pidfile_write(fd, msg, sizeof(msg)), 0);
	slurp(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(startup_pidfile_remove(fd, path), 1);
}
END_TEST

/* What may be planted where the pid file goes (a directory another user
 * writes): a symbolic link, a hard link to another file, a FIFO.  None is
 * written, truncated or waited on. */
START_TEST(test_pidfile_planted)
{
	char path[512], victim[512], msg[1024], buf[64];

	snprintf(path, sizeof(path), "%s/x.pid", tmp);
	snprintf(victim, sizeof(victim), "%s/victim", tmp);
	put(victim, "secret\n");

	ck_assert_int_eq(symlink(victim, path), 0);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "symbolic link");
	ck_assert_int_lt(startup_pidfile_open(path, msg, sizeof(msg)), 0);
	HAS(msg, "symbolic link");
	ck_assert_int_eq(unlink(path), 0);

	ck_assert_int_eq(link(victim, path), 0);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "hard link");
	ck_assert_int_lt(startup_pidfile_open(path, msg, sizeof(msg)), 0);
	HAS(msg, "hard link");
	ck_assert_int_eq(unlink(path), 0);

	ck_assert_int_eq(mkfifo(path, 0644), 0);
	ck_assert_int_eq(startup_check_pidfile(path, msg, sizeof(msg)), STARTUP_ERROR);
	HAS(msg, "not a regular file");
	ck_assert_int_lt(startup_pidfile_open(path, msg, sizeof(msg)), 0);
	HAS(msg, "not a regular file");
	ck_assert_int_eq(unlink(path), 0);

	slurp(victim, buf, sizeof(buf));
	ck_assert_str_eq(buf, "secret\n");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("startup");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_agentx_probe);
	tcase_add_test(tc, test_agentx_probe_as_user);
	tcase_add_test(tc, test_store_checks);
	tcase_add_test(tc, test_pidfile);
	tcase_add_test(tc, test_pidfile_running_and_stale);
	tcase_add_test(tc, test_pidfile_planted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
