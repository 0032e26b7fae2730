/*
 * capture.h: packets in, through libpcap, from an interface or a file.
 */
#ifndef ARTMON_CAPTURE_H
#define ARTMON_CAPTURE_H

#include <glib.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>

#include "sensor.h"

struct capture_opts {
	int snaplen;		/* bytes per packet kept (default 65535) */
	int buffer_kib;		/* kernel buffer (default 32768 KiB) */
	bool promisc;		/* default on */
	bool immediate;		/* default on: deliver packets at once */
};

struct capture {
	pcap_t *pcap;
	int dlt;
	bool live;
	int fd;			/* live: the descriptor we poll */
	char *source;		/* interface or file name */
	unsigned last_drop, last_ifdrop;	/* pcap_stats at last look */
	/* A file: replay at this multiple of real time (0: at once), set
	 * after opening; and the packet time and clock (ns) pacing starts
	 * from. */
	double replay_speed;
	int64_t pace_ts0, pace_clock0;
};

void capture_opts_default(struct capture_opts *o);

int capture_open_file(struct capture *c, const char *path, GError **err);
int capture_open_live(struct capture *c, const char *iface,
		      const struct capture_opts *o, GError **err);
void capture_close(struct capture *c);

/*
 * The default filter: the enabled plugins' server ports, per transport,
 * also inside VLAN tags on Ethernet.  Returns a new string.
 */
char *capture_default_filter(const struct capture *c, GPtrArray *plugins);
int capture_set_filter(struct capture *c, const char *expr, GError **err);

/*
 * Read packets into the sensor until the file ends, *stop becomes
 * non-zero, or an error.  A file with replay_speed set is paced by its
 * timestamps (sleeping on this thread: nothing waits for a file).  Live: returns every ~second (tick) so the caller
 * can do periodic work; returns 1 when more may come, 0 at end, -1 on
 * error.
 */
int capture_run(struct capture *c, struct sensor *s,
		volatile sig_atomic_t *stop, GError **err);

/* Add new kernel/interface drops since the last call to the counters. */
void capture_update_stats(struct capture *c, struct sensor *s);

#endif /* ARTMON_CAPTURE_H */
