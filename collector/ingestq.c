/*
 * ingestq: two stages on two threads, so parsing and storing use both cores.
 * The preparing thread authenticates each job and does everything that
 * writes nothing (JSON, schema, catalog and registry checks); the writer
 * owns the ingest SQLite connection, takes every prepared job at once
 * (bounded by count and bytes), wraps them in one BEGIN IMMEDIATE ... COMMIT,
 * and only after the COMMIT publishes their effects to observers (RRD
 * writer, live hub) and their replies to the service thread. A failed COMMIT
 * turns every 2xx of the group into 503, as does a transaction SQLite rolled
 * back by itself (disk full, I/O error, busy): nothing is half-written.
 */
#include "ingestq.h"

#include "db.h"
#include "fault.h"
#include "log.h"
#include "registry.h"
#include "stats.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAX_JOBS  256
#define GROUP_MAX_BYTES (64u << 20)
#define MAX_OBSERVERS   8

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond, prep_cond;
	pthread_t thread, prep_thread;
	int running, stopping, prep_stopped;
	struct ingest_job *prep, **prep_tail;   /* submitted, waiting to be prepared */
	struct ingest_job *head, **tail;        /* prepared, waiting for the writer */
	struct ingest_job *done, **done_tail;
	size_t depth;
	struct ingestq_options opt;
	sqlite3 *db, *prep_db;
	struct ingest_ctx *ctx, *prep_ctx;
	struct ingest_effects fx;
	struct { ingestq_observer fn; void *arg; } observers[MAX_OBSERVERS];
	size_t n_observers;
} q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.prep_cond = PTHREAD_COND_INITIALIZER,
};

void ingestq_add_observer(ingestq_observer fn, void *arg)
{
	if (q.n_observers < MAX_OBSERVERS) {
		q.observers[q.n_observers].fn = fn;
		q.observers[q.n_observers].arg = arg;
		q.n_observers++;
	}
}

static char *error_reply(const char *error, const char *reason, size_t *len)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"reason\":\"%s\"}", error, reason);
	*len = (size_t)n;
	return xstrdup(buf);
}

/* The group's transaction is lost (rc): every job answered 2xx so far is 503 now. */
static void refuse_stored(struct ingest_job *group, struct ingest_job *upto, int rc)
{
	for (struct ingest_job *j = group; j != upto; j = j->next)
		if (j->status >= 200 && j->status < 300) {
			free(j->reply);
			j->status = 503;
			j->reply = ingest_unavailable(rc, &j->reply_len);
		}
}

static void run_group(struct ingest_job *group)
{
	static struct log_limit busy_limit;
	reg_refresh(q.db); /* an import by fpmctl may have changed the tree */
	ingest_effects_reset(&q.fx);
	int rc = db_begin(q.db) == 0 ? SQLITE_OK : sqlite3_extended_errcode(q.db);
	for (struct ingest_job *j = group; j; j = j->next) {
		if (rc != SQLITE_OK) {
			j->status = 503;
			j->reply = ingest_unavailable(rc, &j->reply_len);
		} else {
			j->status = ingest_commit_prepared(q.ctx, j->prepared, &q.fx, &j->reply, &j->reply_len);
			if (j->status == 503 && sqlite3_get_autocommit(q.db)) {
				/* SQLite rolled the whole group back (FULL, IOERR, BUSY can):
				 * what earlier jobs wrote is gone, later ones must not run in
				 * autocommit mode, where each statement would commit alone. */
				rc = ingest_storage_error(q.ctx);
				refuse_stored(group, j, rc);
			}
		}
		ingest_prepared_free(j->prepared);
		j->prepared = NULL;
	}
	if (rc == SQLITE_OK && db_commit(q.db) < 0) {
		rc = sqlite3_extended_errcode(q.db);
		db_rollback(q.db);
		refuse_stored(group, NULL, rc);
	}
	if (rc != SQLITE_OK) {
		log_limited(&busy_limit, LOG_ERROR, "ingest: the database refused a group commit (%s); its requests are answered 503",
			    sqlite3_errstr(rc));
		ingest_effects_reset(&q.fx);
		atomic_store(&stats.db_failing, rc);
	} else {
		log_limit_clear(&busy_limit, "ingest: the database accepts writes again");
		atomic_store(&stats.db_failing, 0);
	}
	for (struct ingest_job *j = group; j; j = j->next)
		stats_count_request(j->kind, j->status);
	stats_add(&stats.samples_stored, q.fx.n_samples);
	if (q.fx.registry_changed)
		reg_refresh(q.db);
	for (size_t i = 0; i < q.n_observers; i++)
		q.observers[i].fn(&q.fx, q.observers[i].arg);
}

static void finish_locked(struct ingest_job *j)
{
	j->next = NULL;
	*q.done_tail = j;
	q.done_tail = &j->next;
	q.depth--;
}

/* Stage one: authenticate and judge, write nothing. Refusals finish here. */
static void *preparer(void *arg)
{
	(void)arg;
	FAULT_THREAD_ALLOC(); /* fault build: Jansson's allocations here may be failed */
	pthread_mutex_lock(&q.lock);
	for (;;) {
		while (!q.prep && !q.stopping)
			pthread_cond_wait(&q.prep_cond, &q.lock);
		if (!q.prep)
			break;
		struct ingest_job *j = q.prep;
		q.prep = j->next;
		if (!q.prep)
			q.prep_tail = &q.prep;
		pthread_mutex_unlock(&q.lock);

		struct ingest_source src;
		int status = 0;
		reg_refresh(q.prep_db); /* an import by fpmctl may have changed the tree */
		if (j->has_person) {
			src = j->person;
			status = ingest_prepare(q.prep_ctx, &src, j->kind, j->body, j->len, &j->prepared,
						&j->reply, &j->reply_len);
		} else if (ingest_authenticate(q.prep_ctx, j->token, &src) < 0) {
			status = 401;
			j->reply = error_reply("unauthorized", "missing, unknown or revoked ingest token", &j->reply_len);
		} else {
			status = ingest_prepare(q.prep_ctx, &src, j->kind, j->body, j->len, &j->prepared,
						&j->reply, &j->reply_len);
		}
		free(j->body);
		j->body = NULL;

		pthread_mutex_lock(&q.lock);
		if (status) {
			j->status = status;
			stats_count_request(j->kind, status);
			finish_locked(j);
			pthread_mutex_unlock(&q.lock);
			if (q.opt.wake)
				q.opt.wake(q.opt.wake_arg);
			pthread_mutex_lock(&q.lock);
		} else {
			j->next = NULL;
			*q.tail = j;
			q.tail = &j->next;
			pthread_cond_signal(&q.cond);
		}
	}
	q.prep_stopped = 1;
	pthread_cond_signal(&q.cond);
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		while (!q.head && !q.prep_stopped)
			pthread_cond_wait(&q.cond, &q.lock);
		if (!q.head)
			break; /* stopping, and the preparer has handed over everything */
		/* Take a group: every waiting job up to the caps. */
		struct ingest_job *group = q.head, *last = q.head;
		size_t jobs = 1, bytes = last->len;
		while (last->next && jobs < GROUP_MAX_JOBS && bytes + last->next->len <= GROUP_MAX_BYTES) {
			last = last->next;
			jobs++;
			bytes += last->len;
		}
		q.head = last->next;
		if (!q.head)
			q.tail = &q.head;
		last->next = NULL;
		q.depth -= jobs;
		pthread_mutex_unlock(&q.lock);

		run_group(group);

		pthread_mutex_lock(&q.lock);
		*q.done_tail = group;
		q.done_tail = &last->next;
		pthread_mutex_unlock(&q.lock);
		if (q.opt.wake)
			q.opt.wake(q.opt.wake_arg);
		pthread_mutex_lock(&q.lock);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

int ingestq_start(const struct ingestq_options *opt, char *err, size_t errlen)
{
	q.opt = *opt;
	q.tail = &q.head;
	q.prep_tail = &q.prep;
	q.done_tail = &q.done;
	q.stopping = q.prep_stopped = 0;
	q.db = db_open(opt->db_path, opt->synchronous_full ? DB_SYNC_FULL : DB_SYNC_NORMAL, err, errlen);
	q.prep_db = q.db ? db_open(opt->db_path, DB_SYNC_NORMAL, err, errlen) : NULL; /* reads tokens only */
	if (!q.db || !q.prep_db)
		return -1;
	q.ctx = ingest_ctx_new(q.db);
	q.prep_ctx = ingest_ctx_new(q.prep_db);
	struct ingest_ctx *both[] = {q.ctx, q.prep_ctx};
	for (int i = 0; i < 2; i++) {
		if (opt->clock)
			ingest_set_clock(both[i], opt->clock);
		if (opt->rrd_last)
			ingest_set_rrd_last(both[i], opt->rrd_last);
	}
	reg_refresh(q.db);
	if (pthread_create(&q.thread, NULL, worker, NULL) != 0 ||
	    pthread_create(&q.prep_thread, NULL, preparer, NULL) != 0) {
		snprintf(err, errlen, "cannot start the ingest threads");
		return -1;
	}
	q.running = 1;
	return 0;
}

int ingestq_submit(struct ingest_job *job)
{
	pthread_mutex_lock(&q.lock);
	if (q.stopping || q.depth >= q.opt.queue_max) {
		pthread_mutex_unlock(&q.lock);
		return -1;
	}
	job->next = NULL;
	*q.prep_tail = job;
	q.prep_tail = &job->next;
	q.depth++;
	pthread_cond_signal(&q.prep_cond);
	pthread_mutex_unlock(&q.lock);
	return 0;
}

struct ingest_job *ingestq_take_done(void)
{
	pthread_mutex_lock(&q.lock);
	struct ingest_job *list = q.done;
	q.done = NULL;
	q.done_tail = &q.done;
	pthread_mutex_unlock(&q.lock);
	return list;
}

void ingestq_job_free(struct ingest_job *job)
{
	if (!job)
		return;
	ingest_prepared_free(job->prepared);
	free(job->body);
	free(job->reply);
	free(job);
}

size_t ingestq_depth(void)
{
	pthread_mutex_lock(&q.lock);
	size_t d = q.depth;
	pthread_mutex_unlock(&q.lock);
	return d;
}

void ingestq_stop(void)
{
	if (!q.running)
		return;
	pthread_mutex_lock(&q.lock);
	q.stopping = 1; /* the preparer drains its queue, then the writer drains its own */
	pthread_cond_signal(&q.prep_cond);
	pthread_mutex_unlock(&q.lock);
	pthread_join(q.prep_thread, NULL);
	pthread_join(q.thread, NULL);
	q.running = 0;
	for (struct ingest_job *j = ingestq_take_done(), *next; j; j = next) {
		next = j->next;
		ingestq_job_free(j);
	}
	ingest_ctx_free(q.ctx);
	ingest_ctx_free(q.prep_ctx);
	ingest_effects_free(&q.fx);
	db_close(q.db);
	db_close(q.prep_db);
	q.db = q.prep_db = NULL;
	q.ctx = q.prep_ctx = NULL;
}
