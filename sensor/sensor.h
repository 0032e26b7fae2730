/*
 * sensor.h: the sensor's run-time state and the entry points main.c and the
 * tests use.
 *
 * One struct sensor holds everything the packet path touches: the loaded
 * plugins and their port map, the flow table, the reassembler, the
 * counters, and the sinks that receive finished transactions.  The packet
 * path is single-threaded; see session.c for the order of work per packet.
 */
#ifndef ARTMON_SENSOR_H
#define ARTMON_SENSOR_H

#include <gio/gio.h>	/* G_IO_ERROR codes for GErrors */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "artmon-plugin.h"
#include "decode.h"
#include "flow.h"
#include "rules.h"
#include "tcp_reasm.h"
#include "txn.h"

/* Caps and timeouts, with their documented defaults (docs/configuration.md). */
struct sensor_limits {
	uint32_t max_flows;		/* 1000000 */
	int64_t tcp_opening_ns;		/* 30 s: SYN seen, no data */
	int64_t tcp_idle_ns;		/* 300 s */
	int64_t tcp_closed_ns;		/* 5 s linger after FIN/RST */
	int64_t udp_idle_ns;		/* 30 s */
	uint32_t reasm_flow_bytes;	/* 1 MiB per direction */
	uint64_t reasm_total_bytes;	/* 256 MiB */
	uint16_t max_txns_per_flow;	/* 256 open per flow */
	uint32_t max_names;		/* 10000 per plugin */
};

void sensor_limits_default(struct sensor_limits *l);

/* A plugin as loaded: descriptor plus what the core keeps for it. */
struct plugin_rt {
	const struct artmon_plugin *desc;
	void *handle;			/* dlopen handle; NULL if built in */
	char *path;
	char *sigs_path;		/* NULL: no rules file */
	struct ruleset *rules;
	struct name_table *names;
	uint16_t *ports;		/* 0-terminated server ports in use */
	unsigned transports;
	unsigned index;			/* position in sensor.plugins */
	/* counters */
	uint64_t txns, errors, timeouts, dropped;
	uint64_t events[ARTMON_EV_COUNT];
};

struct sensor_counters {
	uint64_t packets, bytes;
	uint64_t malformed, truncated, fragments, other;
	uint64_t kernel_drops, iface_drops;	/* pcap_stats */
	uint64_t tcp_no_flow;	/* segments of unknown flows not worth one */
	uint64_t flows_ignored;	/* flows no plugin wanted */
	uint64_t txns_late_ack;	/* emitted with the covering ACK unmeasured */
};

/* What the current plugin callback is working on (txn.c reads it). */
struct delivery {
	struct flow *flow;
	int dir;
	int64_t ts;
	uint64_t serial;	/* packet serial */
	uint32_t seq_end;	/* TCP: sequence after the packet's payload */
	uint32_t pkt_len;	/* payload length of the packet on the wire */
};

struct txn_sink {
	txn_sink_fn fn;
	void *ctx;
};

/*
 * Who watches the packet path besides the transaction sinks (the interval
 * summarizer).  All optional; called on the packet thread.
 */
struct sensor_observer {
	void *ctx;
	/* Packet time reached sensor.next_tick (before that packet is
	 * counted); the observer sets the next one. */
	void (*tick)(void *ctx, int64_t now);
	/* A flow was created; syn: by a client's SYN (a new connection). */
	void (*flow_new)(void *ctx, const struct flow *f, bool syn);
	/* A plugin counted an event on f. */
	void (*event)(void *ctx, const struct flow *f,
		      const struct plugin_rt *pr, enum artmon_event ev);
};

struct sensor {
	struct sensor_limits lim;
	GPtrArray *plugins;		/* struct plugin_rt *, owned */
	uint8_t port_map[2][65536];	/* [0] TCP, [1] UDP: plugin index + 1 */
	bool any_probe;			/* some plugin can detect by content */
	struct flow_table flows;
	struct reasm reasm;
	struct sensor_counters ctr;
	int64_t now;			/* latest packet time seen */
	int64_t next_expire;		/* packet time of the next expiry */
	uint64_t serial;		/* packets so far */
	struct delivery cur;
	struct txn_sink sinks[4];
	unsigned nsinks;
	struct sensor_observer obs;
	int64_t next_tick;		/* packet time of the next obs.tick */
	struct artmon_txn *dummy_txn;	/* returned past the per-flow cap */
};

/*
 * Create a sensor with these limits and plugins (ownership of the array
 * passes to the sensor).  Builds the port map; fails if two plugins claim
 * the same port and transport.
 */
struct sensor *sensor_new(const struct sensor_limits *lim, GPtrArray *plugins,
			  GError **err);
/* Flush every flow (emitting what is open) and free everything. */
void sensor_free(struct sensor *s);

/* Add a receiver of finished transactions (up to 4). */
void sensor_add_sink(struct sensor *s, txn_sink_fn fn, void *ctx);

/* The packet path: one decoded packet. */
void sensor_packet(struct sensor *s, const struct pkt *p);
/* Decode and process one frame of link type dlt; counts what it skips. */
void sensor_frame(struct sensor *s, int dlt, const uint8_t *frame,
		  uint32_t caplen, uint32_t wirelen, int64_t ts_ns);
/* End of input: every flow is released, every transaction emitted. */
void sensor_flush(struct sensor *s);

/* Print the counters (at exit and on SIGUSR1). */
void sensor_print_counters(const struct sensor *s, FILE *out);

#endif /* ARTMON_SENSOR_H */
