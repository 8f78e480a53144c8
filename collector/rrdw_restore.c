/*
 * rrdw_restore: the writer's state at start: each file's last written row
 * and held values from rrd_state, checked against the files themselves
 * after an unclean stop, then every acknowledged sample not yet in a row
 * replayed from SQLite, so a restart loses nothing and writes nothing twice.
 */
#include "rrdw_int.h"

#include "db.h"
#include "log.h"
#include "rrdfile.h"

#include <string.h>
#include <unistd.h>

static struct rrdw_writer *const w = &rrdw_state;

/*
 * A kill between a cycle's file writes and its state commit leaves files
 * ahead of rrd_state. Each file's own last update then wins, so a sample for
 * a step already written is answered late (kept in SQLite, counted) instead
 * of acknowledged and skipped at the next write. Only after an unclean stop
 * (rrd_running still set): a clean one commits its state last.
 */
static void resync_from_files(void)
{
	size_t ahead = 0, recreated = 0;
	for (size_t i = 0; i < w->n_files; i++) {
		struct rrdw_file *f = &w->files[i];
		const struct cat_layout *l = cat_layout(f->layout);
		char path[512], err[256];
		double values[CAT_MAX_DS];
		int64_t last = 0;
		if (rrdw_path_of(f, path, sizeof path) < 0 || access(path, F_OK) != 0)
			continue;
		/* A file with no saved state was created by the cut cycle, whose librrd
		 * update may be torn (rows, row pointer and last update are written in
		 * place, not atomically): remove it; the next cycle creates it whole. */
		if (f->last_ts <= 0) {
			if (unlink(path) == 0)
				recreated++;
			continue;
		}
		if (rrdfile_last(path, &last, values, l->n_ds, err, sizeof err) < 0) {
			log_warn("rrd writer: %s: %s", path, err);
			continue;
		}
		if (last > f->last_ts) {
			f->last_ts = last;
			memcpy(f->held, values, l->n_ds * sizeof *values);
			ahead++;
		}
	}
	log_info("rrd writer: after an unclean stop, %zu of %zu files were ahead of their saved state, %zu to be "
		 "created again", ahead, w->n_files, recreated);
}

void rrdw_restore_locked(void)
{
	sqlite3_stmt *st = db_prepare(w->db, "SELECT entity_id, last_ts, held FROM rrd_state");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int32_t at = rrdw_find_file(sqlite3_column_int64(st, 0));
		if (at < 0)
			continue;
		struct rrdw_file *f = &w->files[at];
		f->last_ts = sqlite3_column_int64(st, 1);
		size_t bytes = (size_t)sqlite3_column_bytes(st, 2);
		if (bytes <= sizeof f->held)
			memcpy(f->held, sqlite3_column_blob(st, 2), bytes);
	}
	sqlite3_finalize(st);
	if (!w->opt.rrdcached[0] && db_meta_get(w->db, "rrd_running", 0))
		resync_from_files();
	db_meta_set(w->db, "rrd_running", 1);
	/* Projects' newest report, for days_silent. */
	st = db_prepare(w->db, "SELECT key >> 8, max(ts) FROM latest GROUP BY key >> 8");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int32_t at = rrdw_find_file(sqlite3_column_int64(st, 0));
		if (at >= 0 && w->files[at].layout == CAT_PROJECT)
			w->files[at].last_report_ts = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	/* Samples acknowledged but not yet in a written row: replay them. */
	int64_t applied = db_meta_get(w->db, "rrd_applied_sample", 0);
	st = db_prepare(w->db, "SELECT entity_id, metric, ts, value, id FROM sample WHERE id > ?1 ORDER BY id");
	sqlite3_bind_int64(st, 1, applied);
	size_t replayed = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		rrdw_observe_one_locked(sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
				   sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3),
				   sqlite3_column_int64(st, 4));
		replayed++;
	}
	sqlite3_finalize(st);
	st = db_prepare(w->db, "SELECT max(id) FROM sample");
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > w->max_sample_id)
		w->max_sample_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	log_info("rrd writer: %zu files, %zu samples replayed since the last written row", w->n_files, replayed);
}
