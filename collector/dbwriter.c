/*
 * dbwriter.c: the writer thread; see dbwriter.h.
 *
 * Threads: the main thread calls submit (takes the lock briefly, never
 * waits); the writer thread takes groups off the queue, stores them, and
 * hands verdicts back with g_main_context_invoke, so everything that
 * touches a connection (the ACK frame, its counter) stays on the main
 * thread.  Nothing else is shared.
 *
 * Deliberately not done: keeping batches across a database outage.  When
 * the connection is lost, queued batches are answered RETRY and new ones
 * refused, so memory stays bounded however long the outage lasts: the
 * sensors' spools, not the collector's RAM, hold the data meanwhile.
 */
#include "config.h"

#include <string.h>

#include "dbwriter.h"
#include "log.h"
#include "store.h"

struct job {
	struct summary_batch *b;	/* freed by the writer once stored */
	void *owner;
	char *sensor, *peer;
	uint8_t id[WIRE_BATCH_ID_LEN];
	enum dbw_verdict verdict;
};

struct dbwriter {
	char *conninfo;
	struct dbwriter_limits lim;
	GMainContext *ctx;
	dbw_reply_fn reply;
	void *reply_data;

	GThread *thread;
	GMutex lock;
	GCond cond;
	GQueue queue;			/* struct job *, under lock */
	uint64_t queued_rows;		/* under lock */
	bool stopping;			/* under lock */
	gint db_up;			/* atomic */

	GMutex stats_lock;
	struct dbwriter_stats st;

	struct complaint down;		/* the writer thread's only */
	struct complaint bad_batch;
};

/* ----------------------------------------------------------------------
 * Verdicts back to the main context
 */

struct delivery {
	struct dbwriter *w;
	GPtrArray *jobs;
};

static void job_free(struct job *j)
{
	summary_batch_free(j->b);
	g_free(j->sensor);
	g_free(j->peer);
	g_free(j);
}

static gboolean deliver(gpointer data)
{
	struct delivery *d = data;

	for (unsigned i = 0; i < d->jobs->len; i++) {
		struct job *j = d->jobs->pdata[i];
		d->w->reply(j->owner, j->id, j->verdict, d->w->reply_data);
		job_free(j);
	}
	g_ptr_array_free(d->jobs, TRUE);
	g_free(d);
	return G_SOURCE_REMOVE;
}

/* Send the verdicts of jobs (all set) to the main context. */
static void send_verdicts(struct dbwriter *w, struct job **jobs, unsigned n)
{
	struct delivery *d = g_new0(struct delivery, 1);

	d->w = w;
	d->jobs = g_ptr_array_sized_new(n);
	g_mutex_lock(&w->stats_lock);
	for (unsigned i = 0; i < n; i++) {
		/* The rows are stored: free them here, not on the main
		 * thread, which only needs the owner and the id. */
		summary_batch_free(jobs[i]->b);
		jobs[i]->b = NULL;
		if (jobs[i]->verdict == DBW_RETRY)
			w->st.retries++;
		g_ptr_array_add(d->jobs, jobs[i]);
	}
	g_mutex_unlock(&w->stats_lock);
	g_main_context_invoke(w->ctx, deliver, d);
}

/* ----------------------------------------------------------------------
 * Main thread side
 */

bool dbwriter_submit(struct dbwriter *w, void *owner, const char *sensor,
		     const char *peer, const uint8_t id[WIRE_BATCH_ID_LEN],
		     struct summary_batch *b)
{
	bool ok = false;

	g_mutex_lock(&w->lock);
	/* An empty queue takes any batch, so one larger than queue_rows
	 * is slow to go through rather than refused forever. */
	if (!w->stopping && g_atomic_int_get(&w->db_up) &&
	    w->queue.length < w->lim.queue_batches &&
	    (w->queue.length == 0 ||
	     w->queued_rows + b->nrows <= w->lim.queue_rows)) {
		struct job *j = g_new0(struct job, 1);
		j->b = b;
		j->owner = owner;
		j->sensor = g_strdup(sensor);
		j->peer = g_strdup(peer);
		memcpy(j->id, id, WIRE_BATCH_ID_LEN);
		g_queue_push_tail(&w->queue, j);
		w->queued_rows += b->nrows;
		g_cond_signal(&w->cond);
		ok = true;
	}
	g_mutex_unlock(&w->lock);
	if (!ok) {
		summary_batch_free(b);
		g_mutex_lock(&w->stats_lock);
		w->st.retries++;
		g_mutex_unlock(&w->stats_lock);
	}
	return ok;
}

bool dbwriter_database_up(struct dbwriter *w)
{
	return g_atomic_int_get(&w->db_up) != 0;
}

void dbwriter_get_stats(struct dbwriter *w, struct dbwriter_stats *st)
{
	g_mutex_lock(&w->stats_lock);
	*st = w->st;
	g_mutex_unlock(&w->stats_lock);
	g_mutex_lock(&w->lock);
	st->queued_batches = w->queue.length;
	st->queued_rows = w->queued_rows;
	g_mutex_unlock(&w->lock);
}

/* ----------------------------------------------------------------------
 * Writer thread
 */

/* Take a group: wait for the first job; then whatever is queued, up to
 * transaction_rows rows.  NULL when stopping. */
static GPtrArray *take_group(struct dbwriter *w)
{
	GPtrArray *g = NULL;
	uint64_t rows = 0;

	g_mutex_lock(&w->lock);
	while (!w->stopping && w->queue.length == 0)
		g_cond_wait(&w->cond, &w->lock);
	if (!w->stopping) {
		g = g_ptr_array_new();
		while (w->queue.length > 0) {
			struct job *j = g_queue_peek_head(&w->queue);
			if (g->len > 0 &&
			    rows + j->b->nrows > w->lim.transaction_rows)
				break;
			g_queue_pop_head(&w->queue);
			rows += j->b->nrows;
			w->queued_rows -= j->b->nrows;
			g_ptr_array_add(g, j);
		}
	}
	g_mutex_unlock(&w->lock);
	return g;
}

/* Everything queued: RETRY (the database is gone, or we stop). */
static void reject_queued(struct dbwriter *w)
{
	GPtrArray *g = g_ptr_array_new();

	g_mutex_lock(&w->lock);
	struct job *j;
	while ((j = g_queue_pop_head(&w->queue)) != NULL) {
		w->queued_rows -= j->b->nrows;
		j->verdict = DBW_RETRY;
		g_ptr_array_add(g, j);
	}
	g_mutex_unlock(&w->lock);
	if (g->len)
		send_verdicts(w, (struct job **)g->pdata, g->len);
	g_ptr_array_free(g, TRUE);
}

/* Wait up to ns, or until stopping; true if stopping. */
static bool nap(struct dbwriter *w, int64_t ns)
{
	gint64 until = g_get_monotonic_time() + ns / 1000;
	bool stop;

	g_mutex_lock(&w->lock);
	while (!w->stopping && g_cond_wait_until(&w->cond, &w->lock, until))
		;
	stop = w->stopping;
	g_mutex_unlock(&w->lock);
	return stop;
}

static int store_group(struct dbwriter *w, struct store *s, struct job **jobs,
		       unsigned n, bool *retryable, GError **err)
{
	struct store_item *items = g_new0(struct store_item, n);
	uint64_t rows = 0, dups = 0;

	for (unsigned i = 0; i < n; i++) {
		items[i].sensor = jobs[i]->sensor;
		items[i].peer = jobs[i]->peer;
		items[i].id = jobs[i]->id;
		items[i].b = jobs[i]->b;
	}
	int rc = store_batches(s, items, n, retryable, err);
	g_mutex_lock(&w->stats_lock);
	w->st.transactions++;
	if (rc == 0) {
		for (unsigned i = 0; i < n; i++) {
			jobs[i]->verdict = DBW_ACK;
			if (items[i].duplicate)
				dups++;
			else
				rows += jobs[i]->b->nrows;
		}
		w->st.batches_stored += n - dups;
		w->st.duplicates += dups;
		w->st.rows_stored += rows;
	} else {
		w->st.failed_transactions++;
	}
	g_mutex_unlock(&w->stats_lock);
	g_free(items);
	return rc;
}

static gpointer writer_main(gpointer data)
{
	struct dbwriter *w = data;
	struct store *s = NULL;
	int64_t backoff = 500000000;	/* ns */
	GError *err = NULL;

	for (;;) {
		if (!s) {
			s = store_connect(w->conninfo, &err);
			if (!s) {
				g_atomic_int_set(&w->db_up, 0);
				complain(&w->down, "database unavailable, "
					 "asking sensors to retry: %s",
					 err->message);
				g_clear_error(&err);
				reject_queued(w);
				if (nap(w, backoff))
					break;
				backoff *= 2;
				if (backoff > w->lim.reconnect_max_ns)
					backoff = w->lim.reconnect_max_ns;
				g_mutex_lock(&w->stats_lock);
				w->st.reconnects++;
				g_mutex_unlock(&w->stats_lock);
				continue;
			}
			complaint_release(&w->down, "database connection "
					  "restored");
			backoff = 500000000;
			g_atomic_int_set(&w->db_up, 1);
		}

		GPtrArray *g = take_group(w);
		if (!g)
			break;
		struct job **jobs = (struct job **)g->pdata;
		bool retryable;
		int rc = store_group(w, s, jobs, g->len, &retryable, &err);
		for (int attempt = 0; rc != 0 && retryable && attempt < 2;
		     attempt++) {
			/* A server restart or a deadlock: one new connection
			 * or another go usually does it. */
			log_debug("storing %u batches failed (%s), trying "
				  "again", g->len, err->message);
			g_clear_error(&err);
			if (!store_connection_ok(s)) {
				store_free(s);
				s = store_connect(w->conninfo, &err);
				if (!s)
					break;
			}
			rc = store_group(w, s, jobs, g->len, &retryable, &err);
		}
		if (rc != 0 && (!s || retryable)) {
			/* The database is gone: sensors keep their data. */
			complain(&w->down, "database failed, asking sensors to "
				 "retry: %s", err ? err->message : "?");
			g_clear_error(&err);
			for (unsigned i = 0; i < g->len; i++)
				jobs[i]->verdict = DBW_RETRY;
			if (s && !store_connection_ok(s)) {
				store_free(s);
				s = NULL;
			}
			if (!s)
				g_atomic_int_set(&w->db_up, 0);
		} else if (rc != 0 && g->len == 1) {
			jobs[0]->verdict = DBW_RETRY;
			complain(&w->bad_batch, "sensor %s: a batch cannot be "
				 "stored, asking to retry: %s", jobs[0]->sensor,
				 err ? err->message : "?");
			g_clear_error(&err);
		} else if (rc != 0) {
			/* The content: find the batch that fails by storing
			 * each alone; the others go in. */
			g_clear_error(&err);
			for (unsigned i = 0; i < g->len; i++) {
				if (store_group(w, s, &jobs[i], 1, &retryable,
						&err) == 0)
					continue;
				jobs[i]->verdict = DBW_RETRY;
				complain(&w->bad_batch, "sensor %s: a batch "
					 "cannot be stored, asking to retry: "
					 "%s", jobs[i]->sensor,
					 err ? err->message : "?");
				g_clear_error(&err);
			}
		}
		send_verdicts(w, jobs, g->len);
		g_ptr_array_free(g, TRUE);
	}
	g_atomic_int_set(&w->db_up, 0);
	store_free(s);
	g_clear_error(&err);
	return NULL;
}

struct dbwriter *dbwriter_new(const char *conninfo,
			      const struct dbwriter_limits *lim,
			      GMainContext *ctx, dbw_reply_fn reply,
			      void *reply_data)
{
	struct dbwriter *w = g_new0(struct dbwriter, 1);

	w->conninfo = g_strdup(conninfo ? conninfo : "");
	w->lim = *lim;
	w->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
	w->reply = reply;
	w->reply_data = reply_data;
	g_mutex_init(&w->lock);
	g_cond_init(&w->cond);
	g_mutex_init(&w->stats_lock);
	g_queue_init(&w->queue);
	w->thread = g_thread_new("db-writer", writer_main, w);
	return w;
}

void dbwriter_stop(struct dbwriter *w)
{
	if (!w->thread)
		return;
	g_mutex_lock(&w->lock);
	w->stopping = true;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
	g_thread_join(w->thread);
	w->thread = NULL;
	reject_queued(w);
	/* Deliver what the thread sent: every owner reference comes back. */
	while (g_main_context_pending(w->ctx))
		g_main_context_iteration(w->ctx, FALSE);
}

void dbwriter_free(struct dbwriter *w)
{
	if (!w)
		return;
	dbwriter_stop(w);
	g_main_context_unref(w->ctx);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->cond);
	g_mutex_clear(&w->stats_lock);
	memset(w->conninfo, 0, strlen(w->conninfo));
	g_free(w->conninfo);
	g_free(w);
}
