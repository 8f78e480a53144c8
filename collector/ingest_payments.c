/*
 * ingest_payments: card-payment batches from the office and the bank's
 * results. A payment is identified by its payment_no: re-sending it changes
 * nothing; reusing it for other content is refused. Status moves
 * sent -> paid | failed, failed -> paid (the bank retried); a failed payment
 * may be replaced once by a reissue. The village's issued, paid and open-
 * failure totals move with each change, as samples of derived metrics.
 */
#include "ingest_int.h"

#include "catalog.h"
#include "conf.h"

#include <stdio.h>
#include <string.h>

static int metric_index(const char *key)
{
	const struct cat_metric *m = cat_find(key);
	return m ? m->index : -1;
}

/* Returns the pay_batch id, creating it; -1 rejected (envelope), -2 db error. */
static int64_t upsert_batch(struct ingest_ctx *ctx, json_t *b, struct verdict *v)
{
	const char *no = ingest_str(b, "batch_no"), *dept = ingest_str(b, "department");
	const char *fund = ingest_str(b, "fund_type"), *period = ingest_str(b, "period");
	json_t *funds_at = json_object_get(b, "funds_at_bank");
	int64_t submitted = json_integer_value(json_object_get(b, "submitted"));
	if (submitted > ctx->now_ts + conf.future_tolerance_s ||
	    (funds_at && json_integer_value(funds_at) > ctx->now_ts + conf.future_tolerance_s)) {
		verdict_reject(v, -1, funds_at ? "batch.funds_at_bank" : "batch.submitted", "is in the future");
		v->envelope_status = 422;
		return -1;
	}
	sqlite3_stmt *st = ctx->st_paybatch_find;
	sqlite3_bind_text(st, 1, no, -1, SQLITE_STATIC);
	int64_t id = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		int same = strcmp((const char *)sqlite3_column_text(st, 1), dept) == 0 &&
			   strcmp((const char *)sqlite3_column_text(st, 2), fund) == 0 &&
			   strcmp((const char *)sqlite3_column_text(st, 3), period) == 0;
		int funds_unknown = sqlite3_column_type(st, 4) == SQLITE_NULL;
		sqlite3_reset(st);
		if (!same) {
			verdict_reject(v, -1, "batch.batch_no", "is already used with another department, fund type or period");
			v->envelope_status = 409;
			return -1;
		}
		if (funds_at && funds_unknown) { /* the date funds reached the bank often comes later */
			sqlite3_stmt *u = ctx->st_paybatch_funds;
			sqlite3_bind_int64(u, 1, id);
			sqlite3_bind_int64(u, 2, json_integer_value(funds_at));
			int rc = sqlite3_step(u);
			sqlite3_reset(u);
			if (rc != SQLITE_DONE)
				return -2;
		}
		return id;
	}
	sqlite3_reset(st);
	st = ctx->st_paybatch_insert;
	sqlite3_bind_text(st, 1, no, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dept, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fund, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, period, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, submitted);
	if (funds_at)
		sqlite3_bind_int64(st, 6, json_integer_value(funds_at));
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, ctx->src->id);
	sqlite3_bind_int64(st, 8, ctx->now_ts);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(ctx->db) : -2;
}

struct payment_row {
	int64_t id, batch_id, amount_fen, village_id, reissue_of;
	int reissued;
	char household[257], card[32], status[8], village[13]; /* household: 64 code points of up to 4 bytes */
};

/* 1 found, 0 not found. */
static int find_payment(struct ingest_ctx *ctx, const char *payment_no, struct payment_row *p)
{
	sqlite3_stmt *st = ctx->st_payment_find;
	sqlite3_bind_text(st, 1, payment_no, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		p->id = sqlite3_column_int64(st, 0);
		p->batch_id = sqlite3_column_int64(st, 1);
		snprintf(p->household, sizeof p->household, "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(p->card, sizeof p->card, "%s", (const char *)sqlite3_column_text(st, 3));
		p->amount_fen = sqlite3_column_int64(st, 4);
		p->village_id = sqlite3_column_int64(st, 5);
		snprintf(p->status, sizeof p->status, "%s", (const char *)sqlite3_column_text(st, 6));
		p->reissued = sqlite3_column_int(st, 7);
		p->reissue_of = sqlite3_column_type(st, 8) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 8);
		snprintf(p->village, sizeof p->village, "%s", (const char *)sqlite3_column_text(st, 9));
	}
	sqlite3_reset(st);
	return found;
}

/* Checks a reissue; returns the replaced payment's id, 0 if none, -1 rejected. */
static int64_t check_reissue(struct ingest_ctx *ctx, json_t *item, size_t i, struct verdict *v)
{
	const char *of = ingest_str(item, "reissue_of");
	if (!of)
		return 0;
	char field[64];
	snprintf(field, sizeof field, "payments[%zu].reissue_of", i);
	struct payment_row old;
	if (!find_payment(ctx, of, &old)) {
		verdict_reject(v, (long)i, field, "names an unknown payment");
		return -1;
	}
	if (strcmp(old.status, "failed") != 0) {
		verdict_rejectf(v, (long)i, field, "names a payment that is %s, not failed", old.status);
		return -1;
	}
	if (old.reissued) {
		verdict_reject(v, (long)i, field, "names a payment that was already reissued");
		return -1;
	}
	if (strcmp(old.household, ingest_str(item, "household")) != 0) {
		verdict_reject(v, (long)i, field, "names a payment to another household");
		return -1;
	}
	return old.id;
}

int ingest_payment_batch(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared)
{
	(void)prepared;
	int64_t batch = upsert_batch(ctx, json_object_get(doc, "batch"), v);
	if (batch == -2)
		return -1;
	if (batch < 0)
		return 0;
	int64_t submitted = json_integer_value(json_object_get(json_object_get(doc, "batch"), "submitted"));
	int m_issued = metric_index("pay_issued_fen"), m_failed = metric_index("pay_failed");
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "payments"), i, item) {
		if (ingest_check_item(ctx, ING_PAYMENT_BATCH, "payments", i, item, v) < 0)
			continue;
		int32_t village = ingest_entity_for(ctx, v, "payments", i, "village", ingest_str(item, "village"), REG_VILLAGE);
		if (village < 0)
			continue;
		const char *no = ingest_str(item, "payment_no");
		int64_t amount = json_integer_value(json_object_get(item, "amount_fen"));
		struct payment_row old;
		if (find_payment(ctx, no, &old)) {
			if (old.batch_id == batch && old.amount_fen == amount && old.village_id == ctx->reg->e[village].id &&
			    strcmp(old.household, ingest_str(item, "household")) == 0 &&
			    strcmp(old.card, ingest_str(item, "card")) == 0) {
				v->duplicates++;
			} else {
				char field[64];
				snprintf(field, sizeof field, "payments[%zu].payment_no", i);
				verdict_reject(v, (long)i, field, "is already used for a different payment");
			}
			continue;
		}
		int64_t replaces = check_reissue(ctx, item, i, v);
		if (replaces < 0)
			continue;
		sqlite3_stmt *st = ctx->st_payment_insert;
		sqlite3_bind_text(st, 1, no, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, batch);
		sqlite3_bind_text(st, 3, ingest_str(item, "household"), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, ingest_str(item, "card"), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, amount);
		sqlite3_bind_int64(st, 6, ctx->reg->e[village].id);
		if (replaces)
			sqlite3_bind_int64(st, 7, replaces);
		else
			sqlite3_bind_null(st, 7);
		sqlite3_bind_int64(st, 8, ctx->now_ts);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
		if (replaces) {
			st = ctx->st_payment_reissued;
			sqlite3_bind_int64(st, 1, replaces);
			sqlite3_bind_int64(st, 2, ctx->now_ts);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				return -1;
			/* The failure is being handled; the entitlement was counted once already. */
			ingest_accumulate(ctx, village, m_failed, submitted, -1);
		} else {
			ingest_accumulate(ctx, village, m_issued, submitted, (double)amount);
		}
		v->accepted++;
	}
	return 0;
}

int ingest_payment_results(struct ingest_ctx *ctx, json_t *doc, struct verdict *v, struct ingest_prepared *prepared)
{
	(void)prepared;
	int m_paid = metric_index("pay_paid_fen"), m_failed = metric_index("pay_failed");
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "results"), i, item) {
		if (ingest_check_item(ctx, ING_PAYMENT_RESULTS, "results", i, item, v) < 0)
			continue;
		char field[64];
		struct payment_row p;
		const char *status = ingest_str(item, "status"), *reason = ingest_str(item, "reason");
		int64_t at = json_integer_value(json_object_get(item, "at"));
		if (!find_payment(ctx, ingest_str(item, "payment_no"), &p)) {
			snprintf(field, sizeof field, "results[%zu].payment_no", i);
			verdict_reject(v, (long)i, field, "names an unknown payment");
			continue;
		}
		int32_t village = ingest_entity_for(ctx, v, "results", i, "payment_no", p.village, REG_VILLAGE);
		if (village < 0)
			continue;
		if (strcmp(status, "failed") == 0 && !reason) {
			snprintf(field, sizeof field, "results[%zu].reason", i);
			verdict_reject(v, (long)i, field, "is required when status is failed");
			continue;
		}
		if (at > ctx->now_ts + conf.future_tolerance_s) {
			snprintf(field, sizeof field, "results[%zu].at", i);
			verdict_reject(v, (long)i, field, "is in the future");
			continue;
		}
		if (strcmp(status, p.status) == 0) {
			v->duplicates++;
			continue;
		}
		if (strcmp(p.status, "paid") == 0) {
			snprintf(field, sizeof field, "results[%zu].status", i);
			verdict_reject(v, (long)i, field, "the payment is already paid and cannot fail afterwards");
			continue;
		}
		sqlite3_stmt *st = ctx->st_payment_result;
		sqlite3_bind_int64(st, 1, p.id);
		sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
		if (reason)
			sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_int64(st, 4, at);
		sqlite3_bind_int64(st, 5, ctx->now_ts);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
		if (strcmp(status, "paid") == 0) {
			ingest_accumulate(ctx, village, m_paid, at, (double)p.amount_fen);
			if (strcmp(p.status, "failed") == 0 && !p.reissued)
				ingest_accumulate(ctx, village, m_failed, at, -1);
		} else {
			ingest_accumulate(ctx, village, m_failed, at, 1);
		}
		v->accepted++;
	}
	return 0;
}
