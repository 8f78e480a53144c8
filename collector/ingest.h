/*
 * ingest: turns one authenticated request body into stored rows and a
 * verdict, on the ingest worker's SQLite connection. Every item is judged on
 * its own: good items are stored, bad ones answered with the field and the
 * reason. Nothing here touches sockets, so unit tests drive it directly.
 * What a request changed (samples, payments...) is collected as effects and
 * handed to the RRD writer and the live hub only after the COMMIT.
 */
#ifndef INGEST_H
#define INGEST_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

enum ingest_kind {
	ING_SAMPLES,
	ING_PAYMENT_BATCH,
	ING_PAYMENT_RESULTS,
	ING_PROGRESS,
	ING_MILESTONES,
	ING_MONITORING,   /* households under return-to-poverty monitoring */
	ING_KINDS
};

/* A data source, as found from its token; or a person (id = -account id)
 * reporting progress or milestones from the dashboard with a session. */
struct ingest_source {
	int64_t id;
	char name[64];
	char scope[13];   /* division-code prefix it may write to; "" = anywhere */
	unsigned kinds;   /* bit per enum ingest_kind */
	char peer[48];    /* people (id < 0): where from, for the audit log */
};

/* One stored sample, as the RRD writer and the live hub need it. */
struct ingest_sample {
	int64_t entity_id;
	int16_t metric;
	int16_t kind;     /* enum reg_kind of the entity */
	int64_t ts;
	double value;
	int64_t sample_id;
};

struct ingest_effects {
	struct ingest_sample *samples;
	size_t n_samples, cap_samples;
	int64_t registry_changed; /* a project's stage or milestones changed */
	int64_t monitoring_changed; /* monitored households' records changed */
};

struct ingest_ctx;

/* Latest value of (entity id, metric) for cumulative payment metrics. */
struct ingest_latest_fn {
	int (*get)(void *arg, int64_t entity_id, int metric, int64_t *ts, double *value);
	void *arg;
};

struct ingest_ctx *ingest_ctx_new(sqlite3 *db);
void ingest_ctx_free(struct ingest_ctx *ctx);
/* Clock used for "in the future" checks and received times (tests set it). */
void ingest_set_clock(struct ingest_ctx *ctx, int64_t (*now)(void));
/* Last RRD row per entity id, for reporting late samples (may be NULL). */
void ingest_set_rrd_last(struct ingest_ctx *ctx, int64_t (*last)(int64_t entity_id));

const char *ingest_kind_name(enum ingest_kind kind);
int ingest_kind_from_path(const char *path, enum ingest_kind *kind);

/* Look a bearer token up; 0 and *src filled if valid and not revoked. */
int ingest_authenticate(struct ingest_ctx *ctx, const char *token, struct ingest_source *src);

/*
 * Handle one request inside the caller's transaction (a SAVEPOINT is taken
 * and released or rolled back here). Returns the HTTP status; *reply is a
 * malloc'd JSON body. Effects are appended to `fx`; on failure nothing is.
 * Equivalent to ingest_prepare followed by ingest_commit_prepared.
 */
int ingest_handle(struct ingest_ctx *ctx, const struct ingest_source *src,
		  enum ingest_kind kind, const char *body, size_t len,
		  struct ingest_effects *fx, char **reply, size_t *reply_len);

/*
 * The half of a request that writes nothing, so it can run on another
 * thread than the database writer (with its own ctx): parse the JSON, check
 * the envelope and, for samples, judge every item against the catalog, the
 * registry and the token's scope. Returns 0 with *out, or the HTTP status of
 * a refusal with *reply set.
 */
struct ingest_prepared;
int ingest_prepare(struct ingest_ctx *ctx, const struct ingest_source *src, enum ingest_kind kind,
		   const char *body, size_t len, struct ingest_prepared **out, char **reply, size_t *reply_len);
/* The writing half, on the writer's ctx inside its transaction. Frees nothing. */
int ingest_commit_prepared(struct ingest_ctx *ctx, struct ingest_prepared *p, struct ingest_effects *fx,
			   char **reply, size_t *reply_len);
void ingest_prepared_free(struct ingest_prepared *p);

/*
 * A 503 body saying why storage refused, from SQLite's result code: busy
 * (another process holds the write lock), full (the disk), out of memory
 * (SQLITE_NOMEM, also used for a failed input-sized allocation) or any other
 * I/O failure. Counted per reason for /metrics. Never NULL.
 */
char *ingest_unavailable(int sqlite_rc, size_t *len);
/* The SQLite code behind the last 503 of ingest_commit_prepared on this ctx. */
int ingest_storage_error(const struct ingest_ctx *ctx);

void ingest_effects_reset(struct ingest_effects *fx);
void ingest_effects_free(struct ingest_effects *fx);

/* Token helpers shared with fpmctl: SHA-256 of the token, 32 bytes. */
void ingest_token_hash(const char *token, unsigned char out[32]);
/* A new random token "fpm_" + 43 base64url chars; buf >= 48. */
int ingest_token_generate(char *buf, size_t cap);

#endif
