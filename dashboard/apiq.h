/*
 * apiq: the reader threads behind the JSON API. The service thread turns a
 * GET into a job (route + decoded query arguments) and moves on; a reader
 * thread runs the route's handler (SQLite reads, RRD fetches) and hands the
 * reply back through lws_cancel_service(), like the ingest worker does.
 */
#ifndef APIQ_H
#define APIQ_H

#include "auth.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct json_t;

#define APIQ_MAX_ARGS 16

struct api_job;
typedef int (*api_handler)(struct api_job *job, sqlite3 *db);
/* On the service thread, before queueing: 1 when the job's reply was filled
 * from memory (a cache), 0 to queue it as usual. Must not block. */
typedef int (*api_fast_path)(struct api_job *job);

struct api_job {
	struct api_job *next;
	uint64_t id;
	api_handler handler;
	char path[256];                 /* the request path, e.g. /api/v1/projects/XM001 */
	char args[APIQ_MAX_ARGS][256];  /* "name=value", decoded */
	size_t n_args;
	char scope[13];                 /* region prefix the caller may see; "" = all */
	int64_t now;                    /* request time, for "as of" */
	int post;                       /* 1 for POST (a body may follow) */
	char *body;                     /* POST body, NUL-terminated, owned */
	size_t body_len;
	struct auth_principal who;      /* role NONE for public routes without credentials */
	char peer[64];                  /* POST only: the client's address, for the audit log */
	int https;                      /* POST only: the request came over TLS */
	char set_cookie[256];           /* filled by login/logout */
	int revalidate;                 /* Cache-Control: no-cache: no reply from the cache */
	/* filled by the handler */
	int status;
	char *reply;
	size_t len;
	const char *content_type;
	struct {                        /* a reply the service thread may keep (api_cache.h) */
		char key[192];          /* "" = not cacheable */
		uint64_t generation;
		int64_t expires;        /* Unix seconds after which no request asks for it */
		size_t hole_at, hole_end; /* the request's own bytes, filled anew on a hit */
	} cache;
};

int apiq_start(const char *db_path, int threads, void (*wake)(void *), void *wake_arg,
	       char *err, size_t errlen);
int apiq_submit(struct api_job *job);    /* -1 when the queue is full */
struct api_job *apiq_take_done(void);
void apiq_job_free(struct api_job *job);
void apiq_stop(void);

/* Routing: the handler for a method and path with the least role it needs. */
struct api_route_def {
	int post;
	const char *path;
	int prefix;                     /* path is a prefix followed by more */
	api_handler handler;
	enum auth_role need;            /* AUTH_NONE: public */
	api_fast_path cached;           /* NULL: always queued */
};
const struct api_route_def *api_route_find(int post, const char *path);

/* Handler helpers. */
const char *api_arg(const struct api_job *job, const char *name); /* NULL if absent */
int api_reply_json(struct api_job *job, int status, struct json_t *doc); /* steals doc */
int api_error(struct api_job *job, int status, const char *field, const char *reason);
/* A reader thread's reusable scratch area `slot` (0 or 1) of at least size
 * bytes, valid until the handler returns: no per-request allocation of the
 * large working arrays (which glibc would mmap and munmap every time). */
void *apiq_scratch(int slot, size_t size);

#endif
