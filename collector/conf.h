/*
 * conf: every setting of the daemon in one table (name, type, default,
 * bounds, help), the parser of the `key = value` config file, and the dump
 * that `fpmond -n` and `fpmond --help-config` print. Values live in one
 * global struct read-only after start-up, so any thread may read them.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

struct conf {
	char listen_address[64];
	int64_t port;
	char data_dir[512];
	char web_dir[512];
	char log_level[16];
	int64_t max_body_bytes;
	int64_t max_batch_items;
	int64_t future_tolerance_s;
	char sqlite_synchronous[16];
	int64_t rrd_flush_steps;
	char rrdcached_address[256];
	int64_t max_connections;
	int64_t ingest_queue_max;
	char allowed_origins[512];
	char trusted_proxies[256];
	char tls_cert[512];
	char tls_key[512];
	char alert_webhooks[1024];
	int64_t alert_eval_interval_s;
	int64_t alert_escalate_after_s;
	int64_t alert_resolved_keep_s;
	int64_t alert_batch_overdue_hours;
	int64_t alert_batch_critical_hours;
	int64_t alert_batch_critical_fen;
	int64_t alert_failed_reissue_days;
	int64_t alert_alloc_days;
	int64_t alert_alloc_critical_days;
	int64_t alert_idle_days;
	int64_t alert_idle_serious_days;
	int64_t alert_spi_warning_permille;
	int64_t alert_spi_critical_permille;
	int64_t alert_spi_clear_permille;
	int64_t alert_spi_critical_clear_permille;
	int64_t alert_spi_min_planned_pct;
	int64_t alert_stalled_days;
	int64_t alert_project_silent_days;
	int64_t alert_milestone_critical_days;
	int64_t alert_village_silent_days;
	int64_t alert_township_silent_pct;
	int64_t alert_township_min_villages;
	int64_t alert_monitoring_days;
	int64_t demo;
	char demo_token[128];
};

extern struct conf conf;

/* Fill `conf` with the embedded defaults. */
void conf_defaults(void);
/* Apply one "name = value" setting; on error returns -1 and writes why. */
int conf_set(const char *name, const char *value, char *err, size_t errlen);
/* Apply "name=value" as given to -s on a command line (argv is left as it is). */
int conf_set_pair(const char *pair, char *err, size_t errlen);
/* Read a config file; errors carry "path:line: ...". */
int conf_load_file(const char *path, char *err, size_t errlen);
/* Print every setting with its current value, bounds and help. */
void conf_print(int with_help);

#endif
