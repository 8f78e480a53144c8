/*
 * fuzz_ingest: libFuzzer target for the ingest core (collector/ingest*.c),
 * driven as the ingest worker drives it: db_begin, ingest_handle, end of the
 * transaction. The database is an in-memory one from db_open holding the unit
 * tests' county, made once per process; every input ends with a ROLLBACK
 * instead of the worker's COMMIT, so each input starts from the same state
 * (a crash replays on its own) and the database never grows.
 *
 * Input: byte 0 selects the message kind (bits 0-2, modulo 6: samples,
 * payment batch, payment results, progress, milestones, monitoring) and the source
 * (bits 3-4: unscoped, township 610824100000, village 610824100201, a token
 * that may send samples only); the rest is the body. With bit 7 set, the rest
 * is instead up to 8 messages separated by NUL bytes, each starting with its
 * own selector byte, handled in order in the one transaction (a payment batch,
 * then its results, then a reissue...).
 *
 * Besides the sanitizers, these properties abort:
 *  - the reply is a NUL-terminated JSON text of reply_len bytes that matches
 *    schemas/ingest-reply.json (200, 409, 422) or schemas/error-reply.json;
 *  - the status is one the API documents; 503 (the database refused a write)
 *    cannot be caused by a request body on a private in-memory database;
 *  - a 200 verdict counts every item once: accepted + rejected + duplicates
 *    equals the number of items, and (unless errors_truncated) every rejected
 *    item, and only those, has an entry in "errors";
 *  - a sample effect names a current entity of the metric's kind, inside the
 *    token's scope, with a finite value >= 0; nothing is added unless 200;
 *  - monitored households a request stored lie inside its token's scope, and
 *    only a 200 that accepted something marks monitoring changed;
 *  - re-sending the same body is answered with the first verdict plus
 *    "replayed": true and adds nothing;
 *  - re-sending a payment batch's payments under a new batch_id accepts
 *    nothing: what was accepted (or a duplicate) the first time is a
 *    duplicate, what was rejected is rejected again.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embedded.h"
#include "fuzz_util.h"
#include "ingest.h"
#include "jschema.h"
#include "regcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_MESSAGES 8

static sqlite3 *db;
static struct ingest_ctx *ctx;
static struct ingest_effects fx;
static struct jschema *reply_schema, *error_schema;
static int verbose; /* FUZZ_VERBOSE=1: print every verdict (for looking at one input) */

static const struct ingest_source sources[4] = {
	{.id = 1, .name = "fuzz-everything", .scope = "", .kinds = (1u << ING_KINDS) - 1},
	{.id = 2, .name = "fuzz-township", .scope = FUZZ_TOWN_A, .kinds = (1u << ING_KINDS) - 1},
	{.id = 3, .name = "fuzz-village", .scope = FUZZ_VILLAGE1, .kinds = (1u << ING_KINDS) - 1},
	{.id = 4, .name = "fuzz-samples-only", .scope = "", .kinds = 1u << ING_SAMPLES},
};

static const char *const array_of[ING_KINDS] = {
	[ING_SAMPLES] = "samples", [ING_PAYMENT_BATCH] = "payments", [ING_PAYMENT_RESULTS] = "results",
	[ING_PROGRESS] = "reports", [ING_MILESTONES] = "milestones", [ING_MONITORING] = "households",
};

static int64_t fixed_clock(void) { return FUZZ_NOW; }
static int64_t rrd_last(int64_t entity_id) { return FUZZ_NOW - 86400 + entity_id; }

static struct jschema *embedded_schema(const char *name)
{
	const struct embedded_file *f = embedded_find(name);
	char err[256] = "not embedded";
	struct jschema *s = f ? jschema_load((const char *)f->data, f->len, err, sizeof err) : NULL;
	if (!s)
		fuzz_die(name, err);
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fuzz_init_common();
	db = fuzz_open_db(1);
	ctx = ingest_ctx_new(db);
	ingest_set_clock(ctx, fixed_clock);
	ingest_set_rrd_last(ctx, rrd_last);
	reply_schema = embedded_schema("ingest-reply.json");
	error_schema = embedded_schema("error-reply.json");
	return 0;
}

static json_int_t count_of(json_t *reply, const char *what)
{
	return json_integer_value(json_object_get(reply, what));
}

/* The reply must be what the API publishes; returns it parsed. */
static json_t *check_reply(int status, const char *reply, size_t reply_len)
{
	FUZZ_CHECK(status == 200 || status == 400 || status == 403 || status == 409 || status == 413 ||
		   status == 422, "status %d, reply %s", status, reply ? reply : "(null)");
	FUZZ_CHECK(reply != NULL, "status %d without a reply", status);
	FUZZ_CHECK(strlen(reply) == reply_len, "reply_len %zu, strlen %zu", reply_len, strlen(reply));
	json_error_t jerr;
	json_t *doc = json_loadb(reply, reply_len, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(doc != NULL, "reply is not JSON (%s): %s", jerr.text, reply);
	int verdict = status == 200 || status == 409 || status == 422;
	struct jschema_error errs[1];
	size_t n = jschema_validate(verdict ? reply_schema : error_schema, NULL, doc, NULL, errs, 1);
	FUZZ_CHECK(n == 0, "status %d reply does not match %s: %s %s: %s", status,
		   verdict ? "ingest-reply.json" : "error-reply.json", errs[0].path, errs[0].reason, reply);
	return doc;
}

static bool in_scope(const struct registry *r, int32_t at, const char *scope)
{
	if (!scope[0])
		return true;
	const struct reg_entity *e = &r->e[at];
	if (e->kind == REG_PROJECT) {
		if (e->parent < 0)
			return false;
		e = &r->e[e->parent];
	}
	return regcode_is_within(e->key, scope);
}

static void check_effects(const struct ingest_source *src, size_t from)
{
	struct registry *r = reg_acquire();
	for (size_t i = from; i < fx.n_samples; i++) {
		const struct ingest_sample *s = &fx.samples[i];
		int32_t at = reg_find_id(r, s->entity_id);
		FUZZ_CHECK(at >= 0, "sample %zu: entity id %lld is not in the registry", i, (long long)s->entity_id);
		const struct reg_entity *e = &r->e[at];
		FUZZ_CHECK((int)e->kind == s->kind, "sample %zu: entity %s is a %s, the sample says kind %d", i, e->key,
			   reg_kind_name(e->kind), s->kind);
		FUZZ_CHECK(e->kind == REG_VILLAGE || e->kind == REG_PROJECT, "sample %zu for a %s", i, reg_kind_name(e->kind));
		const struct cat_metric *m = cat_metric(s->metric);
		FUZZ_CHECK(s->metric >= 0 && (size_t)s->metric < cat_count() && m, "sample %zu: metric %d", i, s->metric);
		FUZZ_CHECK((m->entity == CAT_PROJECT) == (e->kind == REG_PROJECT),
			   "sample %zu: metric %s stored for %s %s", i, m->key, reg_kind_name(e->kind), e->key);
		FUZZ_CHECK(isfinite(s->value) && s->value >= 0, "sample %zu: %s = %g", i, m->key, s->value);
		FUZZ_CHECK(in_scope(r, at, src->scope), "sample %zu: %s is outside the scope %s of %s",
			   i, e->key, src->scope, src->name);
	}
	reg_release(r);
}

static size_t items_in(const char *body, size_t len, enum ingest_kind kind)
{
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	size_t n = json_array_size(json_object_get(doc, array_of[kind]));
	json_decref(doc);
	return n;
}

/* How many items the errors name (each rejected item has at least one error). */
static size_t rejected_items(json_t *verdict)
{
	json_t *errors = json_object_get(verdict, "errors");
	size_t distinct = 0;
	for (size_t i = 0; i < json_array_size(errors); i++) {
		json_int_t index = json_integer_value(json_object_get(json_array_get(errors, i), "index"));
		bool seen = index < 0;
		for (size_t k = 0; k < i && !seen; k++)
			seen = json_integer_value(json_object_get(json_array_get(errors, k), "index")) == index;
		distinct += !seen;
	}
	return distinct;
}

/* The same payments under another batch_id: all duplicates or rejected again. */
static void resend_payments(const struct ingest_source *src, const char *body, size_t len, json_t *first)
{
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!doc)
		return;
	json_object_set_new(doc, "batch_id", json_string("fuzz.resend.of.payments"));
	char *again = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	size_t before = fx.n_samples, reply_len = 0;
	char *reply = NULL;
	int status = ingest_handle(ctx, src, ING_PAYMENT_BATCH, again, strlen(again), &fx, &reply, &reply_len);
	json_t *second = check_reply(status, reply, reply_len);
	if (status == 200 && !json_is_true(json_object_get(second, "replayed"))) {
		FUZZ_CHECK(count_of(second, "accepted") == 0 &&
			   count_of(second, "duplicates") == count_of(first, "accepted") + count_of(first, "duplicates") &&
			   count_of(second, "rejected") == count_of(first, "rejected"),
			   "the same payments again under a new batch_id:\n first  %s\n second %s\n body %s",
			   json_dumps(first, JSON_COMPACT), reply, again);
		FUZZ_CHECK(fx.n_samples == before, "re-sent payments moved %zu samples", fx.n_samples - before);
	}
	json_decref(second);
	free(reply);
	free(again);
}

/* Households stored by the newest request (its ingest_batch row) are inside the token's scope. */
static void check_monitoring(const struct ingest_source *src)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT e.key FROM monitor_household m JOIN entity e ON e.id = m.village_id"
				      " WHERE m.batch_id = (SELECT max(id) FROM ingest_batch)");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		FUZZ_CHECK(!src->scope[0] || regcode_is_within(key, src->scope),
			   "a household of %s was stored by %s (scope %s)", key, src->name, src->scope);
	}
	sqlite3_finalize(st);
}

static void handle_one(uint8_t selector, const char *body, size_t len)
{
	enum ingest_kind kind = (enum ingest_kind)((selector & 7) % ING_KINDS);
	const struct ingest_source *src = &sources[(selector >> 3) & 3];
	size_t before = fx.n_samples, reply_len = 0;
	int64_t registry_before = fx.registry_changed, monitoring_before = fx.monitoring_changed;
	char *reply = NULL;
	int status = ingest_handle(ctx, src, kind, body, len, &fx, &reply, &reply_len);
	if (verbose)
		fprintf(stderr, "%s as %s: %d %s\n", ingest_kind_name(kind), src->name, status, reply ? reply : "(null)");
	json_t *doc = check_reply(status, reply, reply_len);
	int replayed = json_is_true(json_object_get(doc, "replayed"));
	if (status != 200 || replayed) {
		FUZZ_CHECK(fx.n_samples == before, "status %d%s but %zu samples added", status,
			   replayed ? " (replayed)" : "", fx.n_samples - before);
		FUZZ_CHECK(status == 200 || fx.registry_changed == registry_before, "status %d changed the registry", status);
		FUZZ_CHECK(fx.monitoring_changed == monitoring_before, "status %d%s marked monitoring changed", status,
			   replayed ? " (replayed)" : "");
	}
	if (status == 200 && !replayed) {
		size_t items = items_in(body, len, kind);
		FUZZ_CHECK((size_t)(count_of(doc, "accepted") + count_of(doc, "rejected") + count_of(doc, "duplicates")) == items,
			   "%zu items but the verdict is %s", items, reply);
		if (!json_is_true(json_object_get(doc, "errors_truncated")))
			FUZZ_CHECK(rejected_items(doc) == (size_t)count_of(doc, "rejected"),
				   "%zu items have errors, %lld are counted rejected: %s", rejected_items(doc),
				   (long long)count_of(doc, "rejected"), reply);
		check_effects(src, before);
		if (kind == ING_MONITORING) {
			check_monitoring(src);
			FUZZ_CHECK(count_of(doc, "accepted") > 0 || fx.monitoring_changed == monitoring_before,
				   "nothing accepted but monitoring marked changed: %s", reply);
		}

		/* The same request again is the first verdict, replayed. */
		size_t mark = fx.n_samples, again_len = 0;
		char *again = NULL;
		int again_status = ingest_handle(ctx, src, kind, body, len, &fx, &again, &again_len);
		json_t *second = check_reply(again_status, again, again_len);
		FUZZ_CHECK(again_status == 200 && json_is_true(json_object_get(second, "replayed")),
			   "a re-sent batch_id was not replayed: %d %s", again_status, again);
		json_object_del(second, "replayed");
		FUZZ_CHECK(json_equal(doc, second), "the replay differs:\n first  %s\n replay %s", reply, again);
		FUZZ_CHECK(fx.n_samples == mark, "a replay added %zu samples", fx.n_samples - mark);
		json_decref(second);
		free(again);

		if (kind == ING_PAYMENT_BATCH)
			resend_payments(src, body, len, doc);
	}
	json_decref(doc);
	free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	FUZZ_CHECK(db_begin(db) == 0, "BEGIN failed: %s", sqlite3_errmsg(db));
	ingest_effects_reset(&fx);
	if (!(data[0] & 0x80)) {
		handle_one(data[0], (const char *)data + 1, size - 1);
	} else {
		const uint8_t *p = data + 1, *end = data + size;
		for (int n = 0; n < MAX_MESSAGES && p < end; n++) {
			const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
			const uint8_t *stop = nul ? nul : end;
			if (stop > p)
				handle_one(p[0], (const char *)p + 1, (size_t)(stop - p - 1));
			p = stop + 1;
		}
	}
	db_rollback(db);
	FUZZ_CHECK(sqlite3_get_autocommit(db), "a transaction is still open after ROLLBACK");
	return 0;
}
