/*
 * artmon-plugin.h: the whole contract between artmon-sensor and a protocol
 * plugin.  A plugin includes this file and nothing else from the sensor.
 *
 * Data flow.  The core captures, decodes, tracks flows and reassembles TCP.
 * For each flow it hands a plugin the in-order bytes of each direction
 * (client to server, server to client), or for UDP each datagram.  The
 * plugin finds where requests and responses begin and end and tells the core
 * through the host functions below; the core does the timing (from packet
 * timestamps), runs the signature rules that name each transaction, adds what
 * it knows of the connection (handshake RTT, the client's ACK, packet and
 * retransmission counts) and emits the transaction.  A plugin never sees
 * pcap, packets, sequence numbers or clocks, and never frees what the core
 * owns.
 *
 * Timing model.  Every data callback delivers bytes that arrived in one
 * packet; the core remembers that packet's timestamp while the callback
 * runs.  txn_request()/txn_response() say "n bytes of this callback belong
 * to the request/response of txn"; the core keeps, per message, the earliest
 * and the latest packet time it has seen and the packets that carried it.
 * So the first packet of a message is the earliest-arriving packet that
 * carried any of its bytes, and its last packet is the one that completed
 * it, which is what tshark reports as the reassembled PDU's frame.  The
 * plugin therefore must call txn_request()/txn_response() from inside
 * data(), for the bytes of the current call.  One addition: a message
 * that the end of the stream completes (an HTTP response without a
 * length) ends with the packet that carried the FIN, which tshark also
 * counts as its last frame; txn_response(txn, 0) inside end() says so.
 *
 * Ownership.  state_new() returns the plugin's per-flow state; the core
 * keeps the pointer and gives it back through every callback and finally
 * state_free().  An artmon_txn handle is owned by the core: it is valid from
 * txn_open() until the plugin passes it to txn_close(); after close() (the
 * flow is going away) any transaction the plugin left open is closed by the
 * core as unanswered, so the plugin must not use its handles in
 * state_free().  Strings passed to the host are copied; the host never keeps
 * a plugin pointer.
 *
 * Threading: all callbacks run on the sensor's packet thread, one at a time.
 * A plugin may keep global state only for its options.
 *
 * A plugin exports exactly one symbol, `artmon_plugin`, a const struct
 * artmon_plugin built with ARTMON_PLUGIN_HEADER.  The loader refuses a
 * plugin whose api_version or abi_signature differ from its own, naming the
 * file.  docs/plugin-api.md is the tutorial; plugins/http.c the reference.
 */
#ifndef ARTMON_PLUGIN_H
#define ARTMON_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bumped on any incompatible change of this file.  Additions that only
 * grow a structure (txn_name_default) change ARTMON_PLUGIN_ABI_SIGNATURE,
 * which already makes the loader refuse a plugin built before them.
 */
#define ARTMON_PLUGIN_API_VERSION 1u	/* unsigned, as api_version is */

enum artmon_dir {
	ARTMON_C2S = 0,		/* client to server: requests */
	ARTMON_S2C = 1		/* server to client: responses */
};

/* Transport bits for artmon_plugin.transports. */
#define ARTMON_TCP 0x1
#define ARTMON_UDP 0x2

/*
 * Flags on a transaction.  The core sets GAP (bytes were missing while the
 * transaction was open) and MIDSTREAM (the connection was picked up after it
 * started) by itself; a plugin may add any of them at txn_close().
 */
#define ARTMON_TXN_GAP       0x01	/* some bytes were not seen */
#define ARTMON_TXN_MIDSTREAM 0x02	/* connection picked up mid-stream */
#define ARTMON_TXN_TIMEOUT   0x04	/* no (complete) response */

/* Events a plugin counts that are not transactions. */
enum artmon_event {
	ARTMON_EV_ORPHAN_RESPONSE,	/* a response with no request */
	ARTMON_EV_MALFORMED,		/* protocol violation; plugin resyncs */
	ARTMON_EV_QUEUE_FULL,		/* too many requests in flight: oldest closed */
	ARTMON_EV_OPAQUE,		/* rest of the flow unreadable (STARTTLS, tunnel) */
	ARTMON_EV_RETRY,		/* a request was retransmitted (DNS) */
	ARTMON_EV_COUNT
};

typedef struct artmon_flow artmon_flow;	/* opaque: a flow in the core */
typedef struct artmon_txn artmon_txn;	/* opaque: an open transaction */

/* What a plugin may know about its flow (pointer valid during a callback). */
struct artmon_flow_info {
	unsigned transport;		/* ARTMON_TCP or ARTMON_UDP */
	uint16_t client_port;
	uint16_t server_port;
	bool midstream;			/* picked up without its handshake */
	int64_t handshake_done_ns;	/* client's ACK of SYN/ACK; 0: not seen */
};

/*
 * Services of the core.  Passed once to init(); the plugin keeps the pointer.
 */
struct artmon_host {
	unsigned api_version;

	/*
	 * Open a transaction on flow.  start_ns is the request's start time:
	 * 0 means "the packet of the current callback" (the usual case);
	 * a server-first protocol passes a time it got from flow_info (the
	 * IMAP greeting starts when the handshake ends).  Never returns NULL:
	 * past the core's cap on open transactions per flow it returns a
	 * handle that ignores every call, and counts the request as
	 * unmeasured, so a plugin needs no special case.
	 */
	artmon_txn *(*txn_open)(artmon_flow *flow, int64_t start_ns);

	/* n bytes of the current callback belong to txn's request. */
	void (*txn_request)(artmon_txn *txn, size_t n);

	/* n bytes of the current callback belong to txn's response. */
	void (*txn_response)(artmon_txn *txn, size_t n);

	/*
	 * Name txn: the core runs the plugin's signature rules over text
	 * (Offset and Depth index into it) and keeps the first match.  text
	 * need live only for the call.  Without a call, or with no match, the
	 * transaction takes its txn_name_default() name, else the plugin's
	 * default_name.
	 */
	void (*txn_name)(artmon_txn *txn, const uint8_t *text, size_t len);

	/*
	 * The name txn takes when no rule names it, in place of the
	 * descriptor's default_name: for names a plugin derives from
	 * something rules cannot see (the generic TCP plugin's "TCP_5432",
	 * "TLS_handshake").  A name from a matching txn_name() rule still
	 * wins; the order of the two calls does not matter, and of several
	 * txn_name_default() calls the last wins.  name is copied and kept
	 * as rule names are: bytes outside printable ASCII are %XX-encoded,
	 * it is cut at 200 bytes, and it counts against the plugin's cap on
	 * distinct names (past the cap, default_name is used).  NULL or ""
	 * restores default_name.  Call it before txn_close().
	 */
	void (*txn_name_default)(artmon_txn *txn, const char *name);

	/* The request was sent again (DNS retry): counted, timing unchanged. */
	void (*txn_retry)(artmon_txn *txn);

	/*
	 * Finish txn.  status: the protocol's result ("200", "NXDOMAIN", "OK");
	 * NULL with ARTMON_TXN_TIMEOUT means unanswered (reported as
	 * "timeout" and counted as an error).  error: the plugin's rule for a
	 * failed transaction.  flags: ARTMON_TXN_* to add.  txn is invalid
	 * afterwards.
	 */
	void (*txn_close)(artmon_txn *txn, const char *status, bool error,
			  unsigned flags);

	/* Count an event that is not a transaction. */
	void (*count)(artmon_flow *flow, enum artmon_event ev);

	/*
	 * Stop delivering this flow's bytes (the rest is encrypted or a
	 * tunnel).  Open transactions stay open until the plugin closes them
	 * or the flow ends.
	 */
	void (*stop)(artmon_flow *flow);

	const struct artmon_flow_info *(*flow_info)(artmon_flow *flow);

	/* Log a warning once per process for this format string's call site. */
	void (*warn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

/*
 * The descriptor.  Spare slots keep the layout stable when callbacks are
 * added (nginx's NGX_MODULE_V1 padding).
 */
struct artmon_plugin {
	uint32_t api_version;		/* ARTMON_PLUGIN_API_VERSION */
	uint32_t abi_signature;		/* ARTMON_PLUGIN_ABI_SIGNATURE */
	const char *name;		/* "http": protocol column, <name>.sigs */
	const char *default_name;	/* name of an unmatched transaction
					 * without a txn_name_default() */
	unsigned transports;		/* ARTMON_TCP | ARTMON_UDP */
	const uint16_t *default_ports;	/* server ports, 0-terminated */

	/*
	 * Process-wide set-up, once, before any flow.  Return 0, or -1 with
	 * a message in err.  Optional.
	 */
	int (*init)(const struct artmon_host *host, char *err, size_t errlen);

	/*
	 * A configuration key of this plugin's group that the core does not
	 * know (the core handles "ports", "sigs", "enabled").  Called before
	 * init().  Return 0, or -1 with a message in err.  Optional.
	 */
	int (*option)(const char *key, const char *value, char *err,
		      size_t errlen);

	/*
	 * Content detection for flows on ports no plugin claims: given the
	 * first bytes the client sent, return true if they are this
	 * protocol.  Optional.
	 */
	bool (*probe)(const uint8_t *data, size_t len);

	/* Per-flow state, created when the flow's first bytes arrive. */
	void *(*state_new)(artmon_flow *flow);

	/* In-order bytes of one direction, all from one packet at ts_ns. */
	void (*data)(void *state, enum artmon_dir dir, const uint8_t *data,
		     size_t len, int64_t ts_ns);

	/*
	 * nbytes of dir were lost (never captured).  The core has already
	 * flagged every open transaction of the flow with ARTMON_TXN_GAP;
	 * the plugin resynchronises (HTTP: at the next request line).
	 */
	void (*gap)(void *state, enum artmon_dir dir, uint64_t nbytes);

	/*
	 * No more bytes will come in dir (FIN, or RST for both).  When a
	 * packet of dir ended the stream (its FIN in order, or the segment
	 * that filled the last hole before it), that packet is the current
	 * one here: txn_response(txn, 0) makes it the last packet of txn's
	 * response (and counts it among the response's packets).  Without
	 * such a packet (RST, a gap up to the FIN, the flow's end) that
	 * call does nothing.
	 */
	void (*end)(void *state, enum artmon_dir dir);

	/*
	 * The flow is going away (closed, idle, evicted, end of capture).
	 * Close or abandon open transactions; host calls are still allowed.
	 */
	void (*close)(void *state);

	/* Free the state; no host call on this flow is allowed any more. */
	void (*state_free)(void *state);

	void (*spare[6])(void);
};

/*
 * A plugin built against a different layout must not load: pointer size and
 * the sizes of the two shared structures go into one number.
 */
#define ARTMON_PLUGIN_ABI_SIGNATURE                                        \
	((uint32_t)((sizeof(void *) << 24) |                               \
		    (sizeof(struct artmon_plugin) << 12) |                 \
		    sizeof(struct artmon_host)))

#define ARTMON_PLUGIN_HEADER                                               \
	.api_version = ARTMON_PLUGIN_API_VERSION,                          \
	.abi_signature = ARTMON_PLUGIN_ABI_SIGNATURE

#ifdef __cplusplus
}
#endif

#endif /* ARTMON_PLUGIN_H */
