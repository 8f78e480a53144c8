/*
 * conf: the settings table. Adding a setting is one row here and one field in
 * struct conf; the parser, bounds check, `-n` check and help come with it.
 * Integers accept a k/M suffix (x1024) for sizes. Unknown names are errors,
 * so a misspelt setting is never silently ignored.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conf conf;

enum conf_type { CONF_INT, CONF_STR };

struct conf_entry {
	const char *name;
	enum conf_type type;
	size_t offset;
	size_t size;          /* capacity, for strings */
	const char *default_value;
	int64_t min, max;     /* integers: bounds */
	const char *const *choices; /* strings: allowed values, NULL = any */
	const char *help;
};

static const char *const level_choices[] = {"error", "warn", "info", "debug", NULL};
static const char *const sync_choices[] = {"full", "normal", NULL};

#define INT_ENTRY(field, def, lo, hi, text) \
	{#field, CONF_INT, offsetof(struct conf, field), 0, def, lo, hi, NULL, text}
#define STR_ENTRY(field, def, choices, text) \
	{#field, CONF_STR, offsetof(struct conf, field), sizeof(((struct conf *)0)->field), def, 0, 0, choices, text}

static const struct conf_entry table[] = {
	STR_ENTRY(listen_address, "127.0.0.1", NULL,
		  "address to listen on; 0.0.0.0 for every interface"),
	INT_ENTRY(port, "8080", 0, 65535, "TCP port of the HTTP/WebSocket server (0 = any free port)"),
	STR_ENTRY(data_dir, "var", NULL,
		  "directory for the SQLite database (fpmon.db) and the RRD files (rrd/)"),
	STR_ENTRY(web_dir, "web", NULL, "directory of the browser dashboards, served read-only"),
	STR_ENTRY(log_level, "info", level_choices, "error, warn, info or debug"),
	INT_ENTRY(max_body_bytes, "8M", 1024, 64 << 20, "largest accepted request body"),
	INT_ENTRY(max_batch_items, "50000", 1, 1000000, "most items in one ingest batch"),
	INT_ENTRY(future_tolerance_s, "300", 0, 86400,
		  "how far in the future a timestamp may be (clock skew of senders)"),
	STR_ENTRY(sqlite_synchronous, "full", sync_choices,
		  "full: a 2xx survives power loss; normal: survives a crash of the process only"),
	INT_ENTRY(rrd_flush_steps, "6", 1, 288,
		  "RRD rows are written every N steps of 300 s, N rows per call; pending rows are served from memory"),
	STR_ENTRY(rrdcached_address, "", NULL,
		  "write RRD rows through rrdcached at unix:/path or host:port; empty = write directly"),
	INT_ENTRY(max_connections, "4096", 16, 1000000,
		  "most simultaneous client connections; more are refused at accept"),
	INT_ENTRY(ingest_queue_max, "256", 4, 65536,
		  "ingest requests waiting for the database; beyond it clients get 503 and retry"),
	STR_ENTRY(allowed_origins, "", NULL,
		  "comma-separated origins (scheme://host:port) allowed to open the live WebSocket besides the server's own"),
	STR_ENTRY(trusted_proxies, "", NULL,
		  "comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto are believed"),
	STR_ENTRY(tls_cert, "", NULL, "PEM certificate chain: serve HTTPS and WSS on port (empty: plain HTTP)"),
	STR_ENTRY(tls_key, "", NULL, "PEM private key of tls_cert"),
	STR_ENTRY(alert_webhooks, "", NULL,
		  "alert notifications: format=url pairs separated by ; (formats json, dingtalk, wecom)"),
	INT_ENTRY(alert_eval_interval_s, "60", 5, 3600LL,
		  "evaluate every alert rule this often (seconds); ingest also triggers the affected rules at once"),
	INT_ENTRY(alert_escalate_after_s, "14400", 0, 604800LL,
		  "an alert not acknowledged this long becomes critical and notifies again (0 = never)"),
	INT_ENTRY(alert_resolved_keep_s, "86400", 0, 2592000LL,
		  "resolved alerts stay on screens this long"),
	INT_ENTRY(alert_batch_overdue_hours, "24", 1, 720LL,
		  "card-payment batch not fully paid this long after the funds reached the bank (rule: within 24 h)"),
	INT_ENTRY(alert_batch_critical_hours, "72", 1, 2160LL,
		  "an overdue batch becomes critical after this long"),
	INT_ENTRY(alert_batch_critical_fen, "50000000", 0, 100000000000000LL,
		  "an overdue batch waiting for more than this (fen) is critical at once"),
	INT_ENTRY(alert_failed_reissue_days, "3", 1, 90LL,
		  "a failed card payment not reissued within this many days"),
	INT_ENTRY(alert_alloc_days, "30", 1, 365LL,
		  "allocated funds not paid out within this many days (rule: assigned within 30 days)"),
	INT_ENTRY(alert_alloc_critical_days, "60", 1, 730LL,
		  "allocation delay that becomes critical"),
	INT_ENTRY(alert_idle_days, "365", 30, 3650LL,
		  "allocated money unspent this long is idle (audit practice: 1 year)"),
	INT_ENTRY(alert_idle_serious_days, "730", 60, 3650LL,
		  "idle this long is seriously idle (audit practice: 2 years)"),
	INT_ENTRY(alert_spi_warning_permille, "950", 1, 2000LL,
		  "project behind schedule below this SPI (x1000; FEMA earned-value band 0.95)"),
	INT_ENTRY(alert_spi_critical_permille, "900", 1, 2000LL,
		  "critical below this SPI (x1000; 0.90)"),
	INT_ENTRY(alert_spi_clear_permille, "970", 1, 2000LL,
		  "a behind-schedule alert clears at or above this SPI (x1000; hysteresis)"),
	INT_ENTRY(alert_spi_critical_clear_permille, "920", 1, 2000LL,
		  "critical falls back to warning at or above this SPI (x1000)"),
	INT_ENTRY(alert_spi_min_planned_pct, "5", 0, 100LL,
		  "no SPI judgement before this much progress is planned (%)"),
	INT_ENTRY(alert_stalled_days, "60", 7, 730LL,
		  "project stalled: progress unchanged this many days while planned progress grew"),
	INT_ENTRY(alert_project_silent_days, "35", 7, 365LL,
		  "project silent: no progress report for this many days"),
	INT_ENTRY(alert_milestone_critical_days, "30", 1, 365LL,
		  "an overdue milestone becomes critical after this many days"),
	INT_ENTRY(alert_village_silent_days, "35", 7, 365LL,
		  "village silent: no data for this many days"),
	INT_ENTRY(alert_township_silent_pct, "100", 1, 100LL,
		  "share of a township's villages silent that makes one township alert instead (%)"),
	INT_ENTRY(alert_township_min_villages, "2", 1, 1000LL,
		  "a township needs at least this many villages for a township-wide alert"),
	INT_ENTRY(alert_monitoring_days, "15", 1, 365LL,
		  "monitoring overdue: a household flagged at risk has help in place within this many days"),
	INT_ENTRY(demo, "0", 0, 1, "1 = create the demo county at first start"),
	STR_ENTRY(demo_token, "", NULL, "ingest token given to the demo simulator (created if missing)"),
};

#define TABLE_LEN (sizeof table / sizeof table[0])

static int parse_int(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || end == text)
		return -1;
	int64_t mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'M')
		mult = 1024 * 1024, end++;
	if (*end != '\0')
		return -1;
	if (v > INT64_MAX / mult || v < INT64_MIN / mult)
		return -1;
	*out = (int64_t)v * mult;
	return 0;
}

static const struct conf_entry *find(const char *name)
{
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

int conf_set(const char *name, const char *value, char *err, size_t errlen)
{
	const struct conf_entry *e = find(name);
	if (!e) {
		snprintf(err, errlen, "unknown setting '%s'", name);
		return -1;
	}
	char *field = (char *)&conf + e->offset;
	if (e->type == CONF_INT) {
		int64_t v;
		if (parse_int(value, &v) < 0) {
			snprintf(err, errlen, "%s: '%s' is not an integer", name, value);
			return -1;
		}
		if (v < e->min || v > e->max) {
			snprintf(err, errlen, "%s: %" PRId64 " is outside %" PRId64 "..%" PRId64,
				 name, v, e->min, e->max);
			return -1;
		}
		memcpy(field, &v, sizeof v);
		return 0;
	}
	if (strlen(value) >= e->size) {
		snprintf(err, errlen, "%s: longer than %zu characters", name, e->size - 1);
		return -1;
	}
	if (e->choices) {
		int ok = 0;
		for (const char *const *c = e->choices; *c; c++)
			ok |= strcmp(*c, value) == 0;
		if (!ok) {
			snprintf(err, errlen, "%s: '%s' is not one of the allowed values", name, value);
			return -1;
		}
	}
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

int conf_set_pair(const char *pair, char *err, size_t errlen)
{
	char name[64];
	const char *eq = strchr(pair, '=');
	if (!eq || (size_t)(eq - pair) >= sizeof name) {
		snprintf(err, errlen, "'%s': expected name=value", pair);
		return -1;
	}
	memcpy(name, pair, (size_t)(eq - pair));
	name[eq - pair] = '\0';
	return conf_set(name, eq + 1, err, errlen);
}

void conf_defaults(void)
{
	char err[256];
	memset(&conf, 0, sizeof conf);
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (conf_set(table[i].name, table[i].default_value, err, sizeof err) < 0) {
			fprintf(stderr, "bad embedded default: %s\n", err);
			abort();
		}
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int conf_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024], why[512];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'name = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *value = trim(eq + 1);
		size_t vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		if (conf_set(trim(s), value, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

void conf_print(int with_help)
{
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct conf_entry *e = &table[i];
		const char *field = (const char *)&conf + e->offset;
		if (with_help)
			printf("# %s\n", e->help);
		if (e->type == CONF_INT) {
			int64_t v;
			memcpy(&v, field, sizeof v);
			printf("%s = %" PRId64, e->name, v);
			if (with_help)
				printf("    # default %s, range %" PRId64 "..%" PRId64, e->default_value, e->min, e->max);
		} else {
			printf("%s = \"%s\"", e->name, field);
			if (with_help)
				printf("    # default \"%s\"", e->default_value);
		}
		printf("\n%s", with_help ? "\n" : "");
	}
}
