/*
 * daemon.h: what a long-running artmon process does to become a daemon:
 * detach, write a pidfile, and give up root.
 *
 * Shared by artmon-sensor and artmon-collector.  Order matters, as in
 * OpenBSD's privilege-separated daemons: open every privileged resource
 * first (the capture device, the listening port, the pidfile, the spool
 * directory), then drop to the unprivileged user for good.
 */
#ifndef ARTMON_DAEMON_H
#define ARTMON_DAEMON_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * First thing in main(), before any thread exists: a umask of at least
 * 022 (nothing we create is writable by group or others, whatever the
 * caller's umask), and no_new_privs (no execve() can ever add privileges;
 * it is per thread and inherited, hence before the first thread).
 */
void process_harden(void);

/*
 * Become root-less for good: supplementary groups, then gid, then uid
 * (setresgid/setresuid, so saved ids go too), and check root cannot be
 * regained.  group NULL: the user's primary group.  Any failure is an
 * error: a daemon that thinks it dropped privileges but did not is worse
 * than one that refuses to start.
 */
int drop_privileges(const char *user, const char *group, GError **err);

/*
 * Not root but holding capabilities (a binary given cap_net_raw with
 * setcap, or systemd's AmbientCapabilities=): give them all up, ambient
 * ones included, once the privileged resources are open.  Nothing to do
 * (0) when none are held; -1 with err if they cannot be cleared, or if a
 * thread started earlier still holds some: capset(2) changes only the
 * calling thread, so a process with capabilities must not start threads
 * before this (start as root instead: a uid change clears every
 * thread's).
 */
int drop_capabilities(GError **err);

/* Look up a user; returns false (with err) if unknown. */
bool lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid,
		 GError **err);

/*
 * Fork into the background, start a new session, chdir /, and point
 * stdin/stdout/stderr at /dev/null.  Returns in the child only.
 */
int daemon_detach(GError **err);

/*
 * Write our pid to path (mode 0644) and keep it open and locked (flock)
 * until pidfile_remove() or exit.  Refuses if another process holds the
 * lock (another instance); a file left by a dead one is taken over,
 * whatever pid it names.
 */
int pidfile_write(const char *path, GError **err);
void pidfile_remove(const char *path);

#endif /* ARTMON_DAEMON_H */
