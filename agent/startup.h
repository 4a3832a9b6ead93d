/* Startup checks and the pid file: what artmond verifies before it runs,
 * and what `artmond -n` reports without starting.  Every message names
 * the path and the reason, and the user when a permission is missing.
 * No Net-SNMP here (agent/snmp.c calls startup_probe_agentx to explain
 * why the subagent cannot reach its master). */
#ifndef AM_AGENT_STARTUP_H
#define AM_AGENT_STARTUP_H

#include <stddef.h>
#include <sys/types.h>

struct passwd;

enum startup_level {
	STARTUP_OK,
	STARTUP_WARNING,    /* artmond runs and copes (e.g. no master agent yet) */
	STARTUP_ERROR       /* artmond cannot work this way */
};

/* "running as user NAME, uid N" for the effective user. */
void startup_identity(char *buf, size_t len);

/* Whether the calling user can keep an LMDB store in dir, as artmond
 * would open it: an existing directory with read, write and search
 * permission whose store files are readable and writable and whose store
 * opens, or a directory that mkdir can create (its parent exists and is
 * writable).  With check_lock, a store in use by another writer is a
 * warning.  msg: "store DIR: reason". */
enum startup_level startup_check_store(const char *dir, int check_lock, char *msg, size_t len);

/* Whether the calling user can create or rewrite the pid file: an error
 * for a file that is not a regular file or has another name (a hard
 * link), a warning for one a running artmond holds. */
enum startup_level startup_check_pidfile(const char *path, char *msg, size_t len);

/* Tries to connect to the AgentX master's socket as the calling user:
 * OK when it accepts; a warning when no master listens (ENOENT: no
 * socket, ECONNREFUSED: a stale socket), since artmond waits for the
 * master; an error when the user may not connect (EACCES) or the path is
 * not a socket.  addr: a path, "unix:PATH", or another Net-SNMP transport
 * address (not checked, OK).  *err_out (may be NULL): the errno, 0 when
 * connected or not checked.  msg: "AgentX socket PATH: reason ...". */
enum startup_level startup_probe_agentx(const char *addr, char *msg, size_t len, int *err_out);

/* The same as user pw (as artmond will run after dropping privileges):
 * when root and pw names another user, the probe runs in a child process
 * that has changed to that user.  pw NULL: as the calling user. */
enum startup_level startup_probe_agentx_as(const char *addr, const struct passwd *pw,
    char *msg, size_t len);

/* The pid file.  Opened (created or truncated) before the privilege drop,
 * so that it may live in a directory only root writes (/run); the process
 * id is written once the daemon has detached.  At a clean exit the file
 * is removed, or emptied when the unprivileged process may not remove it
 * from its directory (an empty pid file names no process; the service
 * manager or the init script removes it).  artmond gives the file to the
 * user it runs as (who may then remove it from a sticky directory).  The
 * descriptor stays open until then, with an exclusive lock (flock) on the
 * file: a second artmond fails on the pid file of a running one (msg
 * names its pid), and a stale file (its process died) is rewritten.  The
 * path is not followed through a symbolic link, and a file with another
 * name (a hard link planted where the pid file goes) or not a regular
 * file is refused.  -1 on failure (msg says why). */
int startup_pidfile_open(const char *path, char *msg, size_t len);
int startup_pidfile_write(int fd, char *msg, size_t len);
/* 1: removed, 0: emptied (not removable), -1: left alone (it names
 * another process, or it is another file now). */
int startup_pidfile_remove(int fd, const char *path);

#endif
