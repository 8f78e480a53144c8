/*
 * rrdc_batch: the BATCH fast path, so that rows of many files cost one round
 * trip instead of one per file. Rows are packed into UPDATE lines under
 * rrdcached's command limit, each line remembering which add call and rows
 * it carries. In BATCH mode the daemon stays silent until the closing "."
 * and then answers "<n> errors" followed by "<command number> <message>" per
 * rejected line; those numbers are mapped back to files and rows here.
 */
#include "rrdc_int.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrdfile.h"
#include "xalloc.h"

struct line_origin {
	size_t add_index;
	size_t first_row;
	size_t n_rows;
};

struct rrdc_batch {
	struct rrdc_conn *conn;
	char *text; /* the UPDATE lines, each ending in '\n' */
	size_t text_len, text_cap;
	struct line_origin *lines;
	size_t n_lines, lines_cap;
	char **paths; /* one per rrdc_batch_add call */
	size_t n_adds, adds_cap;
	size_t n_rows;
	struct rrdc_failure *failures;
	char **failure_messages;
	size_t n_failures;
	int committed;
};

struct rrdc_batch *rrdc_batch_begin(struct rrdc_conn *conn)
{
	struct rrdc_batch *batch = xcalloc(1, sizeof *batch);
	batch->conn = conn;
	return batch;
}

static void batch_reserve_text(struct rrdc_batch *batch, size_t more)
{
	if (batch->text_len + more <= batch->text_cap)
		return;
	size_t cap = batch->text_cap ? batch->text_cap : 65536;
	while (cap < batch->text_len + more)
		cap *= 2;
	batch->text = xreallocarray(batch->text, cap, 1);
	batch->text_cap = cap;
}

static void batch_push_line(struct rrdc_batch *batch, size_t add_index, size_t first_row)
{
	if (batch->n_lines == batch->lines_cap) {
		batch->lines_cap = batch->lines_cap ? batch->lines_cap * 2 : 64;
		batch->lines = xreallocarray(batch->lines, batch->lines_cap, sizeof *batch->lines);
	}
	batch->lines[batch->n_lines++] = (struct line_origin){ add_index, first_row, 0 };
}

int rrdc_batch_add(struct rrdc_batch *batch, const char *path, size_t n_ds,
		   const int64_t *ts, const double *values, size_t n_rows,
		   char *err, size_t errlen)
{
	struct rrdc_conn *conn = batch->conn;
	char prefix[RRDC_LINE_MAX + 1];
	size_t file_ds;

	if (batch->committed) {
		rrdc_set_err(err, errlen, "rrdc_batch_add: batch already committed");
		return -1;
	}
	if (n_rows == 0)
		return 0;
	int prefix_len = snprintf(prefix, sizeof prefix, "UPDATE ");
	long escaped = rrdc_append_escaped_path(prefix, (size_t)prefix_len, sizeof prefix, path);
	if (escaped < 0) {
		rrdc_set_err(err, errlen, "rrdcached: path cannot be sent (empty, control characters or too long)");
		return -1;
	}
	size_t prefix_size = (size_t)escaped;
	if (n_ds == 0) {
		rrdc_set_err(err, errlen, "%s: no data sources", path);
		return -1;
	}
	for (size_t i = 1; i < n_rows; i++) {
		if (ts[i] <= ts[i - 1]) {
			rrdc_set_err(err, errlen, "%s: row %zu time %" PRId64 " not after row %zu's %" PRId64,
				path, i, ts[i], i - 1, ts[i - 1]);
			return -1;
		}
	}
	if (rrdc_ds_count(conn, path, &file_ds, err, errlen) != 0)
		return -1;
	if (file_ds != n_ds) {
		rrdc_set_err(err, errlen, "%s: file has %zu data sources, rows have %zu; not sent",
			path, file_ds, n_ds);
		return -1;
	}

	/* Rows are appended as they are formatted; a row too wide for any
	 * line (a very long path with very many sources) undoes this call. */
	size_t row_max = RRDFILE_ROW_MAX(n_ds);
	char *row = xmalloc(row_max);
	size_t add_index = batch->n_adds;
	size_t text_len_before = batch->text_len, lines_before = batch->n_lines;
	size_t line_len = 0; /* bytes of the open line, 0: none open */

	for (size_t i = 0; i < n_rows; i++) {
		int row_len = rrdfile_format_row(row, row_max, ts[i], values + i * n_ds, n_ds);
		if (row_len < 0 || prefix_size + 1 + (size_t)row_len + 1 > RRDC_LINE_MAX) {
			rrdc_set_err(err, errlen, "%s: row %zu does not fit in a %d-byte command",
				path, i, RRDC_LINE_MAX);
			free(row);
			batch->text_len = text_len_before;
			batch->n_lines = lines_before;
			return -1;
		}
		batch_reserve_text(batch, 1 + prefix_size + 1 + (size_t)row_len + 1);
		if (line_len && line_len + 1 + (size_t)row_len + 1 > RRDC_LINE_MAX) {
			batch->text[batch->text_len++] = '\n';
			line_len = 0;
		}
		if (!line_len) {
			memcpy(batch->text + batch->text_len, prefix, prefix_size);
			batch->text_len += prefix_size;
			line_len = prefix_size;
			batch_push_line(batch, add_index, i);
		}
		batch->text[batch->text_len++] = ' ';
		memcpy(batch->text + batch->text_len, row, (size_t)row_len);
		batch->text_len += (size_t)row_len;
		line_len += 1 + (size_t)row_len;
		batch->lines[batch->n_lines - 1].n_rows++;
	}
	free(row);
	batch_reserve_text(batch, 1);
	batch->text[batch->text_len++] = '\n';

	if (batch->n_adds == batch->adds_cap) {
		batch->adds_cap = batch->adds_cap ? batch->adds_cap * 2 : 16;
		batch->paths = xreallocarray(batch->paths, batch->adds_cap, sizeof *batch->paths);
	}
	batch->paths[batch->n_adds++] = xstrdup(path);
	batch->n_rows += n_rows;
	return 0;
}

static void batch_record_failure(struct rrdc_batch *batch, long command_number, const char *message)
{
	struct rrdc_failure *f = &batch->failures[batch->n_failures];
	char *copy = xstrdup(message);

	batch->failure_messages[batch->n_failures] = copy;
	f->message = copy;
	/* Command numbers count from 1 for the first line after BATCH. */
	if (command_number >= 1 && (size_t)command_number <= batch->n_lines) {
		const struct line_origin *origin = &batch->lines[command_number - 1];
		f->add_index = origin->add_index;
		f->path = batch->paths[origin->add_index];
		f->first_row = origin->first_row;
		f->n_rows = origin->n_rows;
	} else {
		f->add_index = SIZE_MAX;
		f->path = "";
		f->first_row = f->n_rows = 0;
	}
	batch->n_failures++;
}

int rrdc_batch_commit(struct rrdc_batch *batch, char *err, size_t errlen)
{
	struct rrdc_conn *conn = batch->conn;
	char reply[RRDC_REPLY_LINE_MAX];
	const char *message;
	long status;

	if (batch->committed) {
		rrdc_set_err(err, errlen, "rrdc_batch_commit: batch already committed");
		return -1;
	}
	batch->committed = 1;
	if (batch->n_lines == 0)
		return 0;
	if (rrdc_refuse_if_broken(conn, err, errlen) != 0)
		return -1;

	if (rrdc_send_all(conn, "BATCH\n", 6, err, errlen) != 0 ||
	    rrdc_recv_status(conn, reply, sizeof reply, &status, &message, err, errlen) != 0)
		return -1;
	if (status != 0) {
		rrdc_mark_broken(conn, err, errlen, "BATCH refused: %s", message);
		return -1;
	}
	batch_reserve_text(batch, 2);
	memcpy(batch->text + batch->text_len, ".\n", 2);
	if (rrdc_send_all(conn, batch->text, batch->text_len + 2, err, errlen) != 0)
		return -1;
	if (rrdc_recv_status(conn, reply, sizeof reply, &status, &message, err, errlen) != 0)
		return -1;
	if (status < 0) {
		rrdc_mark_broken(conn, err, errlen, "BATCH failed: %s", message);
		return -1;
	}
	if ((size_t)status > batch->n_lines) {
		rrdc_mark_broken(conn, err, errlen, "BATCH reported %ld errors for %zu lines", status, batch->n_lines);
		return -1;
	}
	batch->failures = xcalloc((size_t)status + 1, sizeof *batch->failures);
	batch->failure_messages = xcalloc((size_t)status + 1, sizeof *batch->failure_messages);
	for (long i = 0; i < status; i++) {
		char *end;
		if (rrdc_recv_line(conn, reply, sizeof reply, err, errlen) != 0)
			return -1;
		long command_number = strtol(reply, &end, 10);
		batch_record_failure(batch, end == reply ? -1 : command_number,
				     *end == ' ' ? end + 1 : end);
	}
	if (status > 0) {
		const struct rrdc_failure *first = &batch->failures[0];
		rrdc_set_err(err, errlen, "rrdcached %s: %ld of %zu UPDATE lines rejected, first: %s rows %zu..%zu: %s",
			rrdc_conn_address(conn), status, batch->n_lines, first->path, first->first_row,
			first->first_row + first->n_rows - 1, first->message);
	}
	return (int)status;
}

size_t rrdc_batch_failures(const struct rrdc_batch *batch, const struct rrdc_failure **failures)
{
	if (failures)
		*failures = batch->failures;
	return batch->n_failures;
}

size_t rrdc_batch_rows(const struct rrdc_batch *batch)
{
	return batch->n_rows;
}

size_t rrdc_batch_lines(const struct rrdc_batch *batch)
{
	return batch->n_lines;
}

void rrdc_batch_free(struct rrdc_batch *batch)
{
	if (!batch)
		return;
	for (size_t i = 0; i < batch->n_adds; i++)
		free(batch->paths[i]);
	for (size_t i = 0; i < batch->n_failures; i++)
		free(batch->failure_messages[i]);
	free(batch->paths);
	free(batch->failure_messages);
	free(batch->failures);
	free(batch->lines);
	free(batch->text);
	free(batch);
}

int rrdc_batch_update(struct rrdc_conn *conn, const char *path, size_t n_ds,
		      const int64_t *ts, const double *values, size_t n_rows,
		      char *err, size_t errlen)
{
	struct rrdc_batch *batch = rrdc_batch_begin(conn);
	int rc = rrdc_batch_add(batch, path, n_ds, ts, values, n_rows, err, errlen);

	if (rc == 0)
		rc = rrdc_batch_commit(batch, err, errlen) == 0 ? 0 : -1;
	rrdc_batch_free(batch);
	return rc;
}
