/*
 * output.c: a bounded queue and one thread that runs the consumers.
 *
 * GAsyncQueue does the locking; the bound is ours (a count checked under
 * the queue's lock), because GAsyncQueue itself never refuses an item.
 */
#include "config.h"

#include "log.h"
#include "output.h"

enum item_kind { ITEM_BATCH, ITEM_TEXT, ITEM_STOP };

struct item {
	enum item_kind kind;
	struct summary_batch *batch;
	FILE *file;
	GString *text;
};

struct consumer {
	batch_consumer_fn fn;
	void *ctx;
};

struct output {
	GAsyncQueue *q;
	GThread *thread;
	unsigned max_items;
	bool block;
	GMutex lock;
	GCond room;		/* signalled when an item is taken */
	unsigned queued;
	uint64_t dropped;
	struct consumer consumers[4];
	unsigned nconsumers;
};

static void item_free(struct item *it)
{
	summary_batch_free(it->batch);
	if (it->text)
		g_string_free(it->text, TRUE);
	g_free(it);
}

static void consume(struct output *o, struct item *it)
{
	if (it->kind == ITEM_BATCH) {
		for (unsigned i = 0; i < o->nconsumers; i++)
			o->consumers[i].fn(o->consumers[i].ctx, it->batch);
	} else if (it->kind == ITEM_TEXT) {
		fwrite(it->text->str, 1, it->text->len, it->file);
		fflush(it->file);
	}
	item_free(it);
}

static gpointer run(gpointer data)
{
	struct output *o = data;

	for (;;) {
		struct item *it = g_async_queue_pop(o->q);
		g_mutex_lock(&o->lock);
		o->queued--;
		g_cond_signal(&o->room);
		g_mutex_unlock(&o->lock);
		if (it->kind == ITEM_STOP) {
			item_free(it);
			return NULL;
		}
		consume(o, it);
	}
}

struct output *output_new(unsigned max_items, bool block)
{
	struct output *o = g_new0(struct output, 1);

	o->q = g_async_queue_new();
	o->max_items = max_items ? max_items : 1;
	o->block = block;
	g_mutex_init(&o->lock);
	g_cond_init(&o->room);
	return o;
}

void output_add_consumer(struct output *o, batch_consumer_fn fn, void *ctx)
{
	g_return_if_fail(o->nconsumers < G_N_ELEMENTS(o->consumers));
	o->consumers[o->nconsumers].fn = fn;
	o->consumers[o->nconsumers].ctx = ctx;
	o->nconsumers++;
}

void output_start(struct output *o)
{
	o->thread = g_thread_new("artmon-output", run, o);
}

/* Reserve a place; false if the item must be dropped. */
static bool reserve(struct output *o, bool force)
{
	bool ok = true;

	g_mutex_lock(&o->lock);
	while (!force && o->queued >= o->max_items) {
		if (!o->block) {
			o->dropped++;
			ok = false;
			break;
		}
		g_cond_wait(&o->room, &o->lock);
	}
	if (ok)
		o->queued++;
	g_mutex_unlock(&o->lock);
	return ok;
}

static void push(struct output *o, struct item *it, bool force)
{
	if (!o->thread) {
		/* Not started (a test, or a failure at start-up): run the
		 * consumers here so nothing is lost. */
		if (it->kind == ITEM_STOP)
			item_free(it);
		else
			consume(o, it);
		return;
	}
	if (!reserve(o, force)) {
		item_free(it);
		return;
	}
	g_async_queue_push(o->q, it);
}

void output_push_batch(void *op, struct summary_batch *b)
{
	struct item *it = g_new0(struct item, 1);
	it->kind = ITEM_BATCH;
	it->batch = b;
	push(op, it, false);
}

void output_push_text(struct output *o, FILE *f, GString *text)
{
	struct item *it = g_new0(struct item, 1);
	it->kind = ITEM_TEXT;
	it->file = f;
	it->text = text;
	push(o, it, false);
}

uint64_t output_take_dropped(struct output *o)
{
	g_mutex_lock(&o->lock);
	uint64_t d = o->dropped;
	o->dropped = 0;
	g_mutex_unlock(&o->lock);
	return d;
}

void output_finish(struct output *o)
{
	if (!o)
		return;
	if (o->thread) {
		struct item *it = g_new0(struct item, 1);
		it->kind = ITEM_STOP;
		push(o, it, true);
		g_thread_join(o->thread);
	}
	struct item *x;
	while ((x = g_async_queue_try_pop(o->q)))
		item_free(x);
	g_async_queue_unref(o->q);
	g_mutex_clear(&o->lock);
	g_cond_clear(&o->room);
	if (o->dropped)
		log_warnx("output queue full: %" G_GUINT64_FORMAT
			  " items dropped", o->dropped);
	g_free(o);
}
