/*
 * daemon.c: privilege drop, detaching and pidfiles; see daemon.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
	/* The uid change cleared every thread's capabilities (glibc makes
	 * each thread change); this makes sure. */
	return drop_capabilities(err);
}

/*
 * capget/capset by system call: libcap would be one more dependency for
 * two calls.  Version 3 covers the 64 capability bits in two words.
 */
static bool caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };

	memset(d, 0, 2 * sizeof *d);
	return syscall(SYS_capget, &h, d) == 0;
}

static bool caps_none(const struct __user_cap_data_struct d[2])
{
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return false;
	return true;
}

void process_harden(void)
{
	umask(umask(0) | 022);
	/* EINVAL before Linux 3.5: nothing to set there. */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* The first thread of ours that still holds a capability, or 0. */
static long thread_with_caps(char *comm, size_t len)
{
	GDir *d = g_dir_open("/proc/self/task", 0, NULL);
	const char *tid;
	long found = 0;

	while (d && !found && (tid = g_dir_read_name(d))) {
		g_autofree gchar *path = g_strdup_printf("/proc/self/task/%s/status",
							 tid);
		g_autofree gchar *text = NULL;
		if (!g_file_get_contents(path, &text, NULL, NULL))
			continue;	/* the thread ended */
		gchar **lines = g_strsplit(text, "\n", -1);
		for (gchar **l = lines; *l; l++) {
			if (g_str_has_prefix(*l, "Name:"))
				g_strlcpy(comm, g_strstrip(*l + 5), len);
			if ((g_str_has_prefix(*l, "CapPrm:") ||
			     g_str_has_prefix(*l, "CapEff:") ||
			     g_str_has_prefix(*l, "CapAmb:")) &&
			    g_ascii_strtoull(*l + 7, NULL, 16) != 0)
				found = strtol(tid, NULL, 10);
		}
		g_strfreev(lines);
	}
	if (d)
		g_dir_close(d);
	return found;
}

int drop_capabilities(GError **err)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	/* Ambient capabilities (Linux 4.3) first: they would come back into
	 * the permitted set on an execve().  EINVAL: an older kernel. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL) {
		g_set_error(err, DAEMON_ERROR, 1, "cannot clear ambient "
			    "capabilities: %s", g_strerror(errno));
		return -1;
	}
	if (caps_get(d) && !caps_none(d)) {
		memset(d, 0, sizeof d);
		if (syscall(SYS_capset, &h, d) != 0 || !caps_get(d) ||
		    !caps_none(d)) {
			g_set_error(err, DAEMON_ERROR, 1, "cannot give up "
				    "capabilities: %s", g_strerror(errno));
			return -1;
		}
	}
	char comm[32] = "?";
	long tid = thread_with_caps(comm, sizeof comm);
	if (tid) {
		g_set_error(err, DAEMON_ERROR, 1, "thread %ld (%s) still holds "
			    "capabilities, which only it can give up: start as "
			    "root instead (a uid change clears every thread's), "
			    "or without capabilities", tid, comm);
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

/*
 * The pidfile stays open, locked, for the life of the process: the lock,
 * not the number in the file, says whether an instance is running.  A
 * number alone lies after a crash or a reboot (the file outlives us when
 * the unprivileged user we became may not unlink it; the pid comes back
 * as some other process), and a daemon that then refuses to start is
 * worse than none.  The descriptor is kept across the privilege drop, so
 * the lock is held until exit whoever we are by then.
 */
static int pidfile_fd = -1;

int pidfile_write(const char *path, GError **err)
{
	/* O_NOFOLLOW: opened as root, perhaps in a directory others can
	 * write to; a symlink planted there must not aim our write at,
	 * say, /etc/shadow. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		g_set_error(err, DAEMON_ERROR, 1, "%s: %s", path,
			    g_strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		char old[32] = "";
		ssize_t n = pread(fd, old, sizeof old - 1, 0);
		old[n > 0 ? n : 0] = '\0';
		g_strchomp(old);
		if (e == EWOULDBLOCK)
			g_set_error(err, DAEMON_ERROR, 1, "%s: another "
				    "instance is running (pid %s)", path,
				    *old ? old : "?");
		else
			g_set_error(err, DAEMON_ERROR, 1, "%s: cannot lock "
				    "it: %s", path, g_strerror(e));
		close(fd);
		return -1;
	}
	/* A pre-existing file may have had any mode: set it. */
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (fchmod(fd, 0644) != 0 || ftruncate(fd, 0) != 0 ||
	    pwrite(fd, buf, (size_t)n, 0) != n) {
		g_set_error(err, DAEMON_ERROR, 1, "%s: %s", path,
			    g_strerror(errno));
		close(fd);
		return -1;
	}
	pidfile_fd = fd;
	return 0;
}

void pidfile_remove(const char *path)
{
	/* Unlink first, then unlock: a new instance that locked the file in
	 * between would otherwise lose its pidfile.  (Unlinking may fail
	 * once we are no longer root; the lock still goes with us.) */
	if (path)
		unlink(path);
	if (pidfile_fd >= 0) {
		close(pidfile_fd);
		pidfile_fd = -1;
	}
}
