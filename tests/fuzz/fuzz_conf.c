/*
 * fuzz_conf: libFuzzer target for the settings parser (collector/conf.c).
 *
 * Input: byte 0 bit 0 picks the entry point.
 *   0: the rest is a config file for conf_load_file (written to a memfd and
 *      opened by path, as the daemon opens /etc/fpmon.conf);
 *   1: the rest is "name=value" (split at the first '=' or NUL byte) for
 *      conf_set, with an error buffer of 256, 16 or 1 bytes (bits 1-2); with
 *      bit 3 set, the whole rest goes to conf_set_pair (fpmond -s) instead,
 *      which must then behave as conf_set on the same split.
 * Every input starts from conf_defaults().
 *
 * Beyond the sanitizers, these properties abort:
 *  - a refusal says why (a file error starts with "path:"), an acceptance
 *    writes no error;
 *  - a refused conf_set changes nothing; an accepted one stores exactly the
 *    value (strings) or its number (integers), and changes nothing else;
 *  - after any load, every string setting is NUL-terminated in its field,
 *    and feeding every current value back through conf_set is accepted and
 *    changes nothing (what was stored is within the bounds and choices).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The fields of struct conf (conf.h); a new one missing here only goes unchecked. */
#define INT_FIELD(f) {#f, offsetof(struct conf, f), 0}
#define STR_FIELD(f) {#f, offsetof(struct conf, f), sizeof(((struct conf *)0)->f)}
static const struct field {
	const char *name;
	size_t offset;
	size_t size; /* 0: int64_t */
} fields[] = {
	STR_FIELD(listen_address), INT_FIELD(port), STR_FIELD(data_dir), STR_FIELD(web_dir),
	STR_FIELD(log_level), INT_FIELD(max_body_bytes), INT_FIELD(max_batch_items),
	INT_FIELD(future_tolerance_s), STR_FIELD(sqlite_synchronous), INT_FIELD(rrd_flush_steps),
	STR_FIELD(rrdcached_address), INT_FIELD(max_connections), INT_FIELD(ingest_queue_max),
	STR_FIELD(allowed_origins), STR_FIELD(trusted_proxies), STR_FIELD(tls_cert), STR_FIELD(tls_key),
	INT_FIELD(demo), STR_FIELD(demo_token),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	memfd = memfd_create("fuzz_conf", 0);
	if (memfd < 0)
		fuzz_die("memfd_create", "failed");
	snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
	return 0;
}

static const struct field *field_named(const char *name)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* Every stored value is one conf_set accepts, and accepting it changes nothing. */
static void check_settings(void)
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		const struct field *f = &fields[i];
		const char *at = (const char *)&conf + f->offset;
		char value[600], err[256] = "";
		if (f->size) {
			FUZZ_CHECK(strnlen(at, f->size) < f->size, "%s is not NUL-terminated", f->name);
			snprintf(value, sizeof value, "%s", at);
		} else {
			int64_t v;
			memcpy(&v, at, sizeof v);
			snprintf(value, sizeof value, "%" PRId64, v);
		}
		struct conf before = conf;
		FUZZ_CHECK(conf_set(f->name, value, err, sizeof err) == 0, "stored %s = '%s' is refused: %s",
			   f->name, value, err);
		FUZZ_CHECK(memcmp(&before, &conf, sizeof conf) == 0, "setting %s to its own value changed the settings",
			   f->name);
	}
}

static void fuzz_file(const uint8_t *data, size_t size)
{
	FUZZ_CHECK(ftruncate(memfd, 0) == 0, "ftruncate");
	FUZZ_CHECK(size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size, "pwrite");
	char err[512];
	memset(err, 0, sizeof err);
	int rc = conf_load_file(memfd_path, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1, "conf_load_file returned %d", rc);
	if (rc < 0) {
		FUZZ_CHECK(strncmp(err, memfd_path, strlen(memfd_path)) == 0 && err[strlen(memfd_path)] == ':',
			   "a refusal that does not start with the path: '%s'", err);
	} else {
		FUZZ_CHECK(err[0] == '\0', "accepted, yet an error was written: '%s'", err);
	}
	check_settings();
}

static void fuzz_set(uint8_t flags, const uint8_t *data, size_t size)
{
	bool pair_mode = flags & 8;
	char *pair = fuzz_strndup(data, size);
	char *name, *value;
	if (pair_mode) {
		/* conf_set_pair sees the text up to the first NUL and splits at the first '=' */
		char *eq = strchr(pair, '=');
		name = fuzz_strndup((const uint8_t *)pair, eq ? (size_t)(eq - pair) : strlen(pair));
		value = fuzz_strndup((const uint8_t *)(eq ? eq + 1 : ""), eq ? strlen(eq + 1) : 0);
	} else {
		size_t split = 0;
		while (split < size && data[split] != '=' && data[split] != '\0')
			split++;
		name = fuzz_strndup(data, split);
		value = split < size ? fuzz_strndup(data + split + 1, size - split - 1) : fuzz_strndup(data, 0);
	}
	static const size_t caps[] = {256, 16, 1, 256};
	size_t cap = caps[(flags >> 1) & 3];
	char err[256];
	memset(err, 0x5a, sizeof err);
	struct conf before = conf;
	int rc = pair_mode ? conf_set_pair(pair, err, cap) : conf_set(name, value, err, cap);
	FUZZ_CHECK(rc == 0 || rc == -1, "conf_set returned %d", rc);
	FUZZ_CHECK(memchr(err, '\0', cap) != NULL || (rc == 0 && (unsigned char)err[0] == 0x5a),
		   "the error is not NUL-terminated within %zu bytes", cap);
	for (size_t i = cap; i < sizeof err; i++)
		FUZZ_CHECK((unsigned char)err[i] == 0x5a, "conf_set wrote past its %zu-byte error buffer", cap);
	if (pair_mode && (!strchr(pair, '=') || strlen(name) >= 64))
		FUZZ_CHECK(rc < 0, "conf_set_pair accepted '%s'", pair);
	const struct field *f = field_named(name);
	if (rc < 0) {
		FUZZ_CHECK(cap == 1 || err[0] != '\0', "refused without a reason");
		FUZZ_CHECK(memcmp(&before, &conf, sizeof conf) == 0, "a refused %s = '%s' changed the settings", name, value);
	} else {
		FUZZ_CHECK(f != NULL, "accepted the unknown setting '%s'", name);
		char *at = (char *)&conf + f->offset;
		if (f->size) {
			FUZZ_CHECK(strcmp(at, value) == 0, "%s = '%s' stored as '%s'", name, value, at);
		} else {
			int64_t v;
			memcpy(&v, at, sizeof v);
			char *end;
			long long parsed = strtoll(value, &end, 10);
			int64_t mult = *end == 'k' || *end == 'K' ? 1024 : *end == 'M' ? 1024 * 1024 : 1;
			FUZZ_CHECK(v == (int64_t)parsed * mult, "%s = '%s' stored as %" PRId64, name, value, v);
		}
		/* Nothing else moved. */
		memcpy(at, (const char *)&before + f->offset, f->size ? f->size : sizeof(int64_t));
		FUZZ_CHECK(memcmp(&before, &conf, sizeof conf) == 0, "setting %s changed another setting", name);
	}
	free(pair);
	free(name);
	free(value);
	check_settings();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	conf_defaults();
	if (data[0] & 1)
		fuzz_set(data[0], data + 1, size - 1);
	else
		fuzz_file(data + 1, size - 1);
	return 0;
}
