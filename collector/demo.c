/*
 * demo: the demo county behind README's first command. The first start with
 * demo = 1 generates a county, loads it through the CSV importers an office
 * uses (so the demo exercises that path), adds the milestone plans, and
 * makes sure the simulator's ingest token exists. Later starts keep all of
 * it: meta demo_state says how far a load got, so a crash half-way resumes
 * with the same seed and anchor day instead of mixing two counties.
 */
#include "demo.h"

#include "auth.h"
#include "conf.h"
#include "cst.h"
#include "db.h"
#include "demogen.h"
#include "import.h"
#include "ingest.h"
#include "log.h"
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum demo_state { DEMO_NONE, DEMO_LOADING, DEMO_LOADED };

#define DEMO_TOKEN_NAME "simulator"

/* Write the generated CSV to memory and feed it to the importer, as fpmctl import would. */
static int import_generated(sqlite3 *db, const struct demogen *g, bool projects, char *err, size_t errlen)
{
	const char *what = projects ? "projects" : "regions";
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		snprintf(err, errlen, "writing the demo %s: %s", what, strerror(errno));
		return -1;
	}
	int written = projects ? demogen_write_projects_csv(g, out) : demogen_write_regions_csv(g, out);
	if (fclose(out) != 0 || written < 0) {
		snprintf(err, errlen, "writing the demo %s failed", what);
		free(text);
		return -1;
	}
	struct import_report rep;
	int rc = projects ? import_projects(db, text, len, &rep) : import_regions(db, text, len, &rep);
	if (rc < 0) {
		snprintf(err, errlen, "importing the demo %s: %s", what, rep.failure);
	} else if (rep.rejected > 0) {
		/* our own generator wrote a row the importer refuses: a bug to see at once */
		const struct import_row_error *e = rep.error_count ? &rep.errors[0] : NULL;
		snprintf(err, errlen, "importing the demo %s: %zu rows rejected, first line %lu: %s: %s", what,
			 rep.rejected, e ? e->line : 0ul, e ? e->column : "", e ? e->reason : "");
		rc = -1;
	} else {
		log_info("demo: %s imported: %zu inserted, %zu updated, %zu unchanged", what, rep.inserted,
			 rep.updated, rep.unchanged);
	}
	import_report_free(&rep);
	free(text);
	return rc;
}

/* The plans go straight into `milestone`, with the registry version, in one transaction. */
static int insert_milestones(sqlite3 *db, const struct demogen *g, char *err, size_t errlen)
{
	if (db_begin(db) < 0) {
		snprintf(err, errlen, "cannot start a transaction: %s", sqlite3_errmsg(db));
		return -1;
	}
	/* OR IGNORE: a resumed load finds the plans of its first attempt and keeps them */
	sqlite3_stmt *st = db_prepare(db,
		"INSERT OR IGNORE INTO milestone(project_id, name, planned_date, weight, done_date, updated)"
		" SELECT id, ?2, ?3, ?4, ?5, ?6 FROM entity WHERE kind = 'project' AND key = ?1");
	int64_t now = (int64_t)time(NULL);
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < g->project_count && rc == SQLITE_DONE; i++) {
		const struct demogen_project *p = &g->projects[i];
		for (unsigned k = 0; k < p->milestone_count && rc == SQLITE_DONE; k++) {
			const struct demogen_milestone *m = &g->milestones[p->first_milestone + k];
			char planned[16], done[16];
			cst_date_format(m->planned_day, planned, sizeof planned);
			sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, demogen_milestone_names[m->name], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, planned, -1, SQLITE_STATIC);
			sqlite3_bind_double(st, 4, m->weight);
			if (m->done_day) {
				cst_date_format(m->done_day, done, sizeof done);
				sqlite3_bind_text(st, 5, done, -1, SQLITE_STATIC);
			} else {
				sqlite3_bind_null(st, 5);
			}
			sqlite3_bind_int64(st, 6, now);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || reg_bump_version(db) < 0 || db_meta_set(db, "demo_state", DEMO_LOADED) < 0 ||
	    db_commit(db) < 0) {
		snprintf(err, errlen, "storing the milestone plans: %s", sqlite3_errmsg(db));
		db_rollback(db);
		return -1;
	}
	return 0;
}

static int load_county(sqlite3 *db, char *err, size_t errlen)
{
	struct demogen_params params;
	demogen_params_county(&params, DEMOGEN_DEFAULT_COUNTY, (uint64_t)db_meta_get(db, "demo_seed", DEMOGEN_DEFAULT_SEED),
			      db_meta_get(db, "demo_anchor_day", cst_day((int64_t)time(NULL))));
	struct demogen *g = demogen_generate(&params, err, errlen);
	if (!g)
		return -1;
	int rc = import_generated(db, g, false, err, errlen) < 0 || import_generated(db, g, true, err, errlen) < 0 ||
		 insert_milestones(db, g, err, errlen) < 0 ? -1 : 0;
	if (rc == 0)
		log_info("demo: county %s %s created: %zu townships, %zu villages, %zu projects, %zu milestones",
			 params.code, demogen_str(g, g->regions[2].name), g->township_count, g->village_count,
			 g->project_count, g->milestone_count);
	demogen_free(g);
	return rc;
}

/* Write a small file through a temporary name, so a reader never sees half of it. */
static int write_file(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The token in <data_dir>/demo-token, without its line end; "" when there is none. */
static void read_token_file(const char *path, char *token, size_t cap)
{
	token[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(token, (int)cap, f))
		token[0] = '\0';
	fclose(f);
	token[strcspn(token, " \t\r\n")] = '\0';
}

/*
 * The `simulator` token: conf.demo_token when set, else the one in
 * <data_dir>/demo-token as long as it still matches the stored hash, else a
 * new one. The file (0600) always ends up holding the working token, so the
 * simulator and README's script need look nowhere else. It may send every
 * kind, also one added after the token was made. A revoked token stays
 * revoked: that is an administrator's decision, not something a restart undoes.
 */
static int ensure_token(sqlite3 *db, char *err, size_t errlen)
{
	unsigned char stored[32], hash[32];
	bool found = false, revoked = false;
	sqlite3_stmt *st = db_prepare(db, "SELECT token_hash, revoked IS NOT NULL FROM ingest_token WHERE name = ?1");
	sqlite3_bind_text(st, 1, DEMO_TOKEN_NAME, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		found = true;
		memcpy(stored, sqlite3_column_blob(st, 0), 32);
		revoked = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_finalize(st);
	if (revoked) {
		log_warn("demo: the ingest token '%s' is revoked; the simulator cannot send until it is replaced",
			 DEMO_TOKEN_NAME);
		return 0;
	}
	char path[600], in_file[160], token[160], line[170];
	snprintf(path, sizeof path, "%s/demo-token", conf.data_dir);
	read_token_file(path, in_file, sizeof in_file);
	ingest_token_hash(in_file, hash);
	if (conf.demo_token[0]) {
		snprintf(token, sizeof token, "%s", conf.demo_token);
	} else if (in_file[0] && found && memcmp(hash, stored, 32) == 0) {
		snprintf(token, sizeof token, "%s", in_file);
	} else if (ingest_token_generate(token, sizeof token) < 0) {
		/* the file is gone or stale: only the hash is stored, so a new token is the only way back */
		snprintf(err, errlen, "cannot generate an ingest token");
		return -1;
	}
	if (strcmp(token, in_file) != 0) {
		snprintf(line, sizeof line, "%s\n", token);
		if (write_file(path, line, 0600, err, errlen) < 0)
			return -1;
		log_info("demo: ingest token '%s' written to %s", DEMO_TOKEN_NAME, path);
	}
	ingest_token_hash(token, hash);
	/* every kind the server takes, named: the table's default predates the newer kinds, and a token
	 * from an earlier start gets the ones added since (its hash is kept when it still matches) */
	char kinds[160] = "";
	for (int k = 0; k < ING_KINDS; k++)
		snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", k ? "," : "",
			 ingest_kind_name((enum ingest_kind)k));
	st = db_prepare(db, "INSERT INTO ingest_token(name, token_hash, kinds, created) VALUES (?1, ?2, ?3, ?4)"
			    " ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, kinds = excluded.kinds"
			    " WHERE token_hash IS NOT excluded.token_hash OR kinds IS NOT excluded.kinds");
	sqlite3_bind_text(st, 1, DEMO_TOKEN_NAME, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kinds, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "storing the ingest token '%s': %s", DEMO_TOKEN_NAME, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/*
 * The wall screen's display token (<data_dir>/display-token) and a demo
 * administrator whose password is in <data_dir>/admin-password, so that
 * README's first command can print a wall address that just works. Kept
 * across starts like the ingest token; created only when missing.
 */
static int ensure_people(sqlite3 *db, char *err, size_t errlen)
{
	char path[600], secret[160];
	struct auth_principal who;
	snprintf(path, sizeof path, "%s/display-token", conf.data_dir);
	read_token_file(path, secret, sizeof secret);
	auth_reload_if_changed(db);
	if (!secret[0] || auth_lookup(secret, (int64_t)time(NULL), &who) < 0) {
		char fresh[AUTH_SECRET_LEN + 1], line[AUTH_SECRET_LEN + 2];
		if (auth_display_create(db, "demo-wall", DEMOGEN_DEFAULT_COUNTY, (int64_t)time(NULL), fresh) < 0) {
			snprintf(err, errlen, "cannot create the demo display token: %s", sqlite3_errmsg(db));
			return -1;
		}
		snprintf(line, sizeof line, "%s\n", fresh);
		if (write_file(path, line, 0600, err, errlen) < 0)
			return -1;
		log_info("demo: display token for the wall screen written to %s", path);
	}
	if (db_count(db, "SELECT count(*) FROM account") > 0)
		return 0;
	char password[AUTH_SECRET_LEN + 1], stored[200], line[AUTH_SECRET_LEN + 2];
	if (ingest_token_generate(password, sizeof password) < 0 || auth_password_hash(password + 4, stored, sizeof stored) < 0) {
		snprintf(err, errlen, "cannot make the demo administrator's password");
		return -1;
	}
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO account(name, full_name, role, scope, pw_hash, created)"
					  " VALUES ('admin', '演示管理员', 'admin', '', ?1, ?2)");
	sqlite3_bind_text(st, 1, stored, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	snprintf(path, sizeof path, "%s/admin-password", conf.data_dir);
	snprintf(line, sizeof line, "%s\n", password + 4);
	if (rc != SQLITE_DONE || auth_bump(db) < 0 || write_file(path, line, 0600, err, errlen) < 0) {
		if (rc != SQLITE_DONE)
			snprintf(err, errlen, "cannot create the demo administrator: %s", sqlite3_errmsg(db));
		return -1;
	}
	log_info("demo: account 'admin' created; its password is in %s", path);
	return 0;
}

/* <data_dir>/demo-county: what fpmsim needs to rebuild the same county (seed, code, anchor day). */
static int write_county_file(sqlite3 *db, char *err, size_t errlen)
{
	char path[600], anchor[16], text[160];
	snprintf(path, sizeof path, "%s/demo-county", conf.data_dir);
	cst_date_format(db_meta_get(db, "demo_anchor_day", 0), anchor, sizeof anchor);
	snprintf(text, sizeof text, "seed=%lld\ncounty=%s\nanchor=%s\ngenerator=%lld\n",
		 (long long)db_meta_get(db, "demo_seed", DEMOGEN_DEFAULT_SEED), DEMOGEN_DEFAULT_COUNTY, anchor,
		 (long long)db_meta_get(db, "demo_generator", DEMOGEN_VERSION));
	return write_file(path, text, 0644, err, errlen);
}

int demo_ensure(sqlite3 *db, char *err, size_t errlen)
{
	int64_t state = db_meta_get(db, "demo_state", DEMO_NONE);
	if (state == DEMO_NONE) {
		int64_t entities = db_count(db, "SELECT count(*) FROM entity");
		if (entities != 0) {
			log_info("demo: the registry already holds %lld entities; no demo county is generated",
				 (long long)entities);
			return ensure_token(db, err, errlen);
		}
		/* seed and anchor first: a load that dies half-way resumes with the very same county */
		if (db_begin(db) < 0 || db_meta_set(db, "demo_seed", DEMOGEN_DEFAULT_SEED) < 0 ||
		    db_meta_set(db, "demo_anchor_day", cst_day((int64_t)time(NULL))) < 0 ||
		    db_meta_set(db, "demo_generator", DEMOGEN_VERSION) < 0 ||
		    db_meta_set(db, "demo_state", DEMO_LOADING) < 0 || db_commit(db) < 0) {
			snprintf(err, errlen, "cannot record the demo county: %s", sqlite3_errmsg(db));
			db_rollback(db);
			return -1;
		}
		state = DEMO_LOADING;
	}
	if (state == DEMO_LOADING && load_county(db, err, errlen) < 0)
		return -1;
	if (ensure_token(db, err, errlen) < 0 || write_county_file(db, err, errlen) < 0 ||
	    ensure_people(db, err, errlen) < 0)
		return -1;
	return 0;
}
