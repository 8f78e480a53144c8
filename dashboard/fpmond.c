/*
 * fpmond: the monitoring daemon. Reads the config (embedded defaults, then
 * -c FILE, then -s name=value), opens the database, starts the ingest worker
 * and the RRD writer, and serves HTTP/WebSocket on the main thread until
 * SIGTERM or SIGINT, which only set a flag: the loop then drains and exits.
 */
#include "alert.h"
#include "api_cache.h"
#include "apiq.h"
#include "auth.h"
#include "catalog.h"
#include "conf.h"
#include "db.h"
#include "demo.h"
#include "ingestq.h"
#include "live.h"
#include "notify.h"
#include "log.h"
#include "registry.h"
#include "rrdw.h"
#include "server.h"
#include "static.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fpmond [-c FILE] [-s name=value]... [-n] [--help-config]\n"
		"  -c FILE          read settings from FILE (name = value lines)\n"
		"  -s name=value    set one setting (after the file)\n"
		"  -n               check the configuration, print it and exit\n"
		"  --help-config    list every setting with its default, range and meaning\n"
		"signals: TERM/INT stop cleanly; USR1 writes every due RRD row now; HUP reloads web/\n");
}

static volatile sig_atomic_t flush_wanted, reload_wanted;

static void on_signal(int sig)
{
	if (sig == SIGUSR1 || sig == SIGHUP) {
		*(sig == SIGUSR1 ? &flush_wanted : &reload_wanted) = 1;
		server_wake(NULL);
		return;
	}
	server_stop();
}

/* On the service thread: signals arrive here as events. */
static void on_wake(void)
{
	if (flush_wanted) {
		flush_wanted = 0;
		rrdw_request_flush();
	}
	if (reload_wanted) {
		reload_wanted = 0;
		static_reload_async(server_wake);
	}
	static_adopt_reloaded();
}

static int make_dirs(char *err, size_t errlen)
{
	char rrd[600];
	snprintf(rrd, sizeof rrd, "%s/rrd", conf.data_dir);
	if ((mkdir(conf.data_dir, 0750) < 0 && errno != EEXIST) || (mkdir(rrd, 0750) < 0 && errno != EEXIST)) {
		snprintf(err, errlen, "cannot create %.400s: %s", rrd, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	int check_only = 0;
	conf_defaults();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			if (conf_load_file(argv[++i], err, sizeof err) < 0) {
				fprintf(stderr, "fpmond: %s\n", err);
				return 2;
			}
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (conf_set_pair(argv[++i], err, sizeof err) < 0) {
				fprintf(stderr, "fpmond: %s\n", err);
				return 2;
			}
		} else if (strcmp(argv[i], "-n") == 0) {
			check_only = 1;
		} else if (strcmp(argv[i], "--help-config") == 0) {
			conf_print(1);
			return 0;
		} else {
			usage(strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ? stdout : stderr);
			return strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (check_only) {
		conf_print(0);
		printf("configuration OK\n");
		return 0;
	}
	enum log_level level = LOG_INFO;
	log_level_parse(conf.log_level, &level);
	log_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	char db_path[600];
	snprintf(db_path, sizeof db_path, "%s/fpmon.db", conf.data_dir);
	if (make_dirs(err, sizeof err) < 0 || cat_load(err, sizeof err) < 0) {
		log_error("%s", err);
		return 1;
	}
	sqlite3 *db = db_open(db_path, DB_SYNC_FULL, err, sizeof err);
	if (!db) {
		log_error("%s", err);
		return 1;
	}
	if (conf.demo && demo_ensure(db, err, sizeof err) < 0) {
		log_error("demo: %s", err);
		return 1;
	}
	reg_refresh(db);
	auth_reload_if_changed(db);
	db_close(db);

	long n_files = static_load(conf.web_dir, err, sizeof err);
	if (n_files < 0)
		log_warn("%s: the dashboards will answer 404", err);
	if (server_start(err, sizeof err) < 0) {
		log_error("%s", err);
		return 1;
	}
	struct rrdw_options ropt = {.db_path = db_path, .flush_steps = (int)conf.rrd_flush_steps,
				    .rrdcached = conf.rrdcached_address};
	snprintf(ropt.rrd_dir, sizeof ropt.rrd_dir, "%s/rrd", conf.data_dir);
	if (rrdw_start(&ropt, err, sizeof err) < 0) {
		log_error("rrd writer: %s", err);
		return 1;
	}
	struct live_options lopt = {.wake = server_wake, .interval_ms = 20};
	if (live_start(&lopt, err, sizeof err) < 0) {
		log_error("live: %s", err);
		return 1;
	}
	struct alert_options aopt;
	alert_options_default(&aopt);
	aopt.db_path = db_path;
	aopt.eval_interval_s = conf.alert_eval_interval_s;
	aopt.escalate_after_s = conf.alert_escalate_after_s;
	aopt.resolved_keep_s = conf.alert_resolved_keep_s;
	aopt.batch_overdue_hours = conf.alert_batch_overdue_hours;
	aopt.batch_critical_hours = conf.alert_batch_critical_hours;
	aopt.batch_critical_fen = conf.alert_batch_critical_fen;
	aopt.failed_reissue_days = conf.alert_failed_reissue_days;
	aopt.alloc_days = conf.alert_alloc_days;
	aopt.alloc_critical_days = conf.alert_alloc_critical_days;
	aopt.idle_days = conf.alert_idle_days;
	aopt.idle_serious_days = conf.alert_idle_serious_days;
	aopt.spi_warning_permille = conf.alert_spi_warning_permille;
	aopt.spi_critical_permille = conf.alert_spi_critical_permille;
	aopt.spi_clear_permille = conf.alert_spi_clear_permille;
	aopt.spi_critical_clear_permille = conf.alert_spi_critical_clear_permille;
	aopt.spi_min_planned_pct = conf.alert_spi_min_planned_pct;
	aopt.stalled_days = conf.alert_stalled_days;
	aopt.project_silent_days = conf.alert_project_silent_days;
	aopt.milestone_critical_days = conf.alert_milestone_critical_days;
	aopt.village_silent_days = conf.alert_village_silent_days;
	aopt.township_silent_pct = conf.alert_township_silent_pct;
	aopt.township_min_villages = conf.alert_township_min_villages;
	aopt.monitoring_days = conf.alert_monitoring_days;
	alert_add_listener(live_alert_transition, NULL);
	if (notify_start(err, sizeof err) < 0 || alert_engine_start(&aopt, err, sizeof err) < 0) {
		log_error("alerts: %s", err);
		return 1;
	}
	ingestq_add_observer(rrdw_observe, NULL); /* first: live frames read the writer's state */
	ingestq_add_observer(live_observe, NULL);
	ingestq_add_observer(alert_observe, NULL);
	server_on_wake(on_wake);
	struct ingestq_options qopt = {
		.db_path = db_path,
		.synchronous_full = strcmp(conf.sqlite_synchronous, "full") == 0,
		.queue_max = (size_t)conf.ingest_queue_max,
		.wake = server_wake,
		.rrd_last = rrdw_last_written,
	};
	if (ingestq_start(&qopt, err, sizeof err) < 0) {
		log_error("ingest: %s", err);
		return 1;
	}
	if (apiq_start(db_path, 2, server_wake, NULL, err, sizeof err) < 0) {
		log_error("api readers: %s", err);
		return 1;
	}
	log_info("fpmond listening on %s://%s:%d/ (data in %s)", conf.tls_cert[0] ? "https" : "http",
		 conf.listen_address, server_port(), conf.data_dir);
	server_run();
	log_info("shutting down");
	apiq_stop();
	api_cache_clear();
	ingestq_stop();
	alert_engine_stop();
	live_stop();
	rrdw_stop();
	server_destroy();
	struct registry *r = reg_acquire();
	reg_release(r);
	reg_publish(NULL);
	cat_free();
	static_free();
	auth_free();
	log_info("stopped");
	return 0;
}
