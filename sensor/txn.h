/*
 * txn.h: transactions: the core side of the plugin API.
 *
 * A plugin opens a transaction when a request starts and says which bytes
 * of each callback belong to its request and its response; txn.c turns that
 * into times (first and last packet of each message), byte and packet
 * counts, and when the plugin closes it, waits for the client's ACK of the
 * response's last packet before handing a finished struct txn_record to
 * the sinks (per-transaction output, summaries).
 *
 * Definitions (docs/metrics.md is the reference):
 *   start          request's first packet
 *   request_ns     request's first packet -> request's last packet
 *   ttfb_ns        request's last packet  -> response's first packet
 *   ttlb_ns        request's last packet  -> response's last packet
 *   handshake_rtt  client's SYN -> client's ACK of the SYN/ACK
 *   client_ack     response's last packet -> first client ACK covering it
 * A "last packet" is the one that completed the message (the latest to
 * arrive of those carrying its bytes); a "first packet" the earliest.
 */
#ifndef ARTMON_TXN_H
#define ARTMON_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "artmon-plugin.h"
#include "decode.h"

struct sensor;
struct flow;
struct plugin_rt;

/* A finished transaction, as the sinks see it.  -1 marks "not measured". */
struct txn_record {
	const struct plugin_rt *plugin;
	const char *signature;
	uint32_t signature_id;
	uint8_t family;
	uint8_t transport;	/* ARTMON_TCP or ARTMON_UDP */
	struct ipaddr client, server;
	uint16_t client_port, server_port;
	int64_t start_ns;	/* request's first packet, epoch ns */
	int64_t request_ns;
	int64_t ttfb_ns;	/* -1 without a response */
	int64_t ttlb_ns;	/* -1 without a response */
	int64_t handshake_rtt_ns;	/* -1 if not seen */
	int64_t client_ack_ns;	/* -1 if not seen */
	uint64_t request_bytes, response_bytes;
	uint32_t request_packets, server_packets;
	uint32_t retransmissions;
	uint32_t server_pkt_min, server_pkt_max;	/* payload bytes; 0: none */
	uint32_t server_mss;	/* 0: not seen */
	int64_t server_window_min;	/* scaled bytes; -1 if none seen */
	uint32_t retries;	/* requests sent again (DNS) */
	const char *status;	/* "200", "NXDOMAIN", "OK", "timeout" */
	bool error;
	unsigned flags;		/* ARTMON_TXN_* */
};

typedef void (*txn_sink_fn)(void *ctx, const struct txn_record *r);

/* The host function table handed to plugins. */
extern const struct artmon_host txn_host;

/* Bind the host functions to s (the one sensor of the process). */
void txn_bind(struct sensor *s);

/* A client packet acknowledged ack at ts: emit transactions it completes. */
void txn_client_ack(struct sensor *s, struct flow *f, uint32_t ack,
		    int64_t ts);
/* A server packet advertised window (scaled bytes). */
void txn_server_window(struct flow *f, uint32_t window);
/* Mark every open transaction of f as having a gap. */
void txn_flow_gap(struct flow *f);
/* The flow is going away: close what is open, emit what waits. */
void txn_flow_end(struct sensor *s, struct flow *f);

#endif /* ARTMON_TXN_H */
