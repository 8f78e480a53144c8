/*
 * ingestq: the ingest pipeline's two threads and their queues. The lws
 * service thread submits raw jobs (body + token); the preparing thread
 * authenticates, parses and judges them (no writes); the writer stores a
 * whole group of prepared jobs in one transaction (group commit: one fsync
 * for many requests), then hands the finished jobs back and wakes the
 * service thread. Replies exist only after COMMIT.
 */
#ifndef INGESTQ_H
#define INGESTQ_H

#include "ingest.h"

#include <stddef.h>
#include <stdint.h>

struct ingest_job {
	struct ingest_job *next;
	uint64_t id;             /* the waiting HTTP request's ticket */
	enum ingest_kind kind;
	char token[128];
	int has_person;          /* authenticated by a session instead of a token */
	struct ingest_source person;
	char *body;              /* owned by the job */
	size_t len;
	struct ingest_prepared *prepared; /* between the two stages */
	/* filled by the worker */
	int status;
	char *reply;
	size_t reply_len;
};

/* Observers see the effects of each committed group, on the worker thread. */
typedef void (*ingestq_observer)(const struct ingest_effects *fx, void *arg);

struct ingestq_options {
	const char *db_path;
	int synchronous_full;
	size_t queue_max;            /* jobs waiting; more are refused */
	void (*wake)(void *arg);     /* called after jobs finish (lws_cancel_service) */
	void *wake_arg;
	int64_t (*clock)(void);      /* NULL: time(NULL) */
	int64_t (*rrd_last)(int64_t entity_id);
};

int ingestq_start(const struct ingestq_options *opt, char *err, size_t errlen);
void ingestq_add_observer(ingestq_observer fn, void *arg); /* before start */
/* Queue a job; -1 if the queue is full (answer 503). Takes ownership on success. */
int ingestq_submit(struct ingest_job *job);
/* Finished jobs, oldest first; the caller frees them with ingestq_job_free. */
struct ingest_job *ingestq_take_done(void);
void ingestq_job_free(struct ingest_job *job);
size_t ingestq_depth(void);
/* Finish the queued jobs, then stop the thread. */
void ingestq_stop(void);

#endif
