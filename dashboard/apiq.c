/*
 * apiq: a small pool of reader threads, each with its own SQLite connection,
 * taking jobs from one bounded queue. Handlers never touch sockets; the
 * service thread matches finished jobs to their connections by ticket.
 */
#include "apiq.h"

#include "db.h"
#include "log.h"
#include "xalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 8
#define QUEUE_MAX   1024
#define AUTH_CHECK_MS 50 /* credentials changed by fpmctl are seen within this */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t threads[MAX_THREADS];
	sqlite3 *dbs[MAX_THREADS];
	int n_threads, stopping;
	struct api_job *head, **tail, *done, **done_tail;
	size_t depth;
	void (*wake)(void *);
	void *wake_arg;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static _Thread_local struct {
	void *p;
	size_t cap;
} scratch[2];

void *apiq_scratch(int slot, size_t size)
{
	if (size > scratch[slot].cap) {
		free(scratch[slot].p);
		scratch[slot].p = xmalloc(size);
		scratch[slot].cap = size;
	}
	return scratch[slot].p;
}

const char *api_arg(const struct api_job *job, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < job->n_args; i++)
		if (strncmp(job->args[i], name, n) == 0 && job->args[i][n] == '=')
			return job->args[i] + n + 1;
	return NULL;
}

int api_reply_json(struct api_job *job, int status, json_t *doc)
{
	job->status = status;
	free(job->reply);
	job->reply = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
	job->len = job->reply ? strlen(job->reply) : 0;
	job->content_type = "application/json";
	json_decref(doc);
	return status;
}

int api_error(struct api_job *job, int status, const char *field, const char *reason)
{
	json_t *o = json_pack("{s:s, s:s}", "error", status == 404 ? "not found" : status == 403 ? "forbidden"
						      : status >= 500 ? "unavailable" : "invalid request",
			      "reason", reason);
	if (field)
		json_object_set_new(o, "field", json_string(field));
	return api_reply_json(job, status, o);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *reader_main(void *arg)
{
	sqlite3 *db = arg;
	int64_t checked_ms = 0;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		while (!q.head && !q.stopping) {
			/* Idle: every few seconds notice credentials changed by fpmctl. */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 3;
			if (pthread_cond_timedwait(&q.cond, &q.lock, &until) != 0) {
				pthread_mutex_unlock(&q.lock);
				auth_reload_if_changed(db);
				pthread_mutex_lock(&q.lock);
			}
		}
		if (!q.head)
			break;
		struct api_job *job = q.head;
		q.head = job->next;
		if (!q.head)
			q.tail = &q.head;
		q.depth--;
		pthread_mutex_unlock(&q.lock);

		job->next = NULL;
		job->handler(job, db);
		if (!job->reply)
			api_error(job, 500, NULL, "the handler produced no reply");

		pthread_mutex_lock(&q.lock);
		*q.done_tail = job;
		q.done_tail = &job->next;
		pthread_mutex_unlock(&q.lock);
		q.wake(q.wake_arg);
		/* fpmctl may have revoked or added credentials: a SQLite read, so after
		 * the reply is on its way, and at most every AUTH_CHECK_MS. */
		if (now_ms() - checked_ms >= AUTH_CHECK_MS) {
			auth_reload_if_changed(db);
			checked_ms = now_ms();
		}
		pthread_mutex_lock(&q.lock);
	}
	pthread_mutex_unlock(&q.lock);
	for (int i = 0; i < 2; i++)
		free(scratch[i].p);
	return NULL;
}

int apiq_start(const char *db_path, int threads, void (*wake)(void *), void *wake_arg,
	       char *err, size_t errlen)
{
	q.tail = &q.head;
	q.done_tail = &q.done;
	q.wake = wake;
	q.wake_arg = wake_arg;
	q.stopping = 0;
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	for (int i = 0; i < threads; i++) {
		q.dbs[i] = db_open(db_path, DB_SYNC_NORMAL, err, errlen);
		if (!q.dbs[i] || pthread_create(&q.threads[i], NULL, reader_main, q.dbs[i]) != 0) {
			if (q.dbs[i])
				snprintf(err, errlen, "cannot start a reader thread");
			return -1;
		}
		q.n_threads++;
	}
	return 0;
}

int apiq_submit(struct api_job *job)
{
	pthread_mutex_lock(&q.lock);
	if (q.stopping || q.depth >= QUEUE_MAX) {
		pthread_mutex_unlock(&q.lock);
		return -1;
	}
	job->next = NULL;
	*q.tail = job;
	q.tail = &job->next;
	q.depth++;
	pthread_mutex_unlock(&q.lock);
	pthread_cond_signal(&q.cond); /* after unlocking: the woken reader does not block on the lock */
	return 0;
}

struct api_job *apiq_take_done(void)
{
	pthread_mutex_lock(&q.lock);
	struct api_job *list = q.done;
	q.done = NULL;
	q.done_tail = &q.done;
	pthread_mutex_unlock(&q.lock);
	return list;
}

void apiq_job_free(struct api_job *job)
{
	if (!job)
		return;
	free(job->body);
	free(job->reply);
	free(job);
}

void apiq_stop(void)
{
	pthread_mutex_lock(&q.lock);
	q.stopping = 1;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	for (int i = 0; i < q.n_threads; i++) {
		pthread_join(q.threads[i], NULL);
		db_close(q.dbs[i]);
	}
	q.n_threads = 0;
	for (struct api_job *j = apiq_take_done(), *next; j; j = next) {
		next = j->next;
		apiq_job_free(j);
	}
}
