/*
 * daemon.c: privilege drop, detaching and pidfiles; see daemon.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

#define DAEMON_ERROR g_quark_from_static_string("artmon-daemon")

bool lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid,
		 GError **err)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	if (!(pw = getpwnam(user))) {
		g_set_error(err, DAEMON_ERROR, 1,
			    "user '%s' does not exist (create it with "
			    "'useradd --system --no-create-home --shell "
			    "/usr/sbin/nologin %s', or set another user)",
			    user, user);
		return false;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group && *group) {
		if (!(gr = getgrnam(group))) {
			g_set_error(err, DAEMON_ERROR, 1,
				    "group '%s' does not exist", group);
			return false;
		}
		*gid = gr->gr_gid;
	}
	return true;
}

int drop_privileges(const char *user, const char *group, GError **err)
{
	uid_t uid;
	gid_t gid;

	if (!lookup_user(user, group, &uid, &gid, err))
		return -1;
	if (uid == 0) {
		g_set_error(err, DAEMON_ERROR, 1,
			    "user '%s' is root: choose an unprivileged user", user);
		return -1;
	}
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		g_set_error(err, DAEMON_ERROR, 1,
			    "cannot become user %s (uid %u, gid %u): %s", user,
			    (unsigned)uid, (unsigned)gid, g_strerror(errno));
		return -1;
	}
	/* Paranoia that costs nothing: root must be gone for good. */
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
		g_set_error(err, DAEMON_ERROR, 1,
			    "privileges could be regained after dropping to %s",
			    user);
		return -1;
	}
	return 0;
}

int daemon_detach(GError **err)
{
	pid_t pid = fork();

	if (pid < 0)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		goto fail;
	/* Fork again so we are not a session leader and can never acquire
	 * a controlling terminal. */
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		goto fail;
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		goto fail;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
fail:
	g_set_error(err, DAEMON_ERROR, 1, "cannot daemonise: %s",
		    g_strerror(errno));
	return -1;
}

int pidfile_write(const char *path, GError **err)
{
	g_autofree gchar *old = NULL;

	if (g_file_get_contents(path, &old, NULL, NULL)) {
		long pid = strtol(old, NULL, 10);
		if (pid > 0 && pid != getpid() &&
		    (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
			g_set_error(err, DAEMON_ERROR, 1,
				    "%s: another instance is running (pid %ld)",
				    path, pid);
			return -1;
		}
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		g_set_error(err, DAEMON_ERROR, 1, "%s: %s", path,
			    g_strerror(errno));
		return -1;
	}
	/* umask may have widened nothing, but a pre-existing file may have
	 * had any mode: set it. */
	fchmod(fd, 0644);
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		g_set_error(err, DAEMON_ERROR, 1, "%s: %s", path,
			    g_strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void pidfile_remove(const char *path)
{
	if (path)
		unlink(path);
}
