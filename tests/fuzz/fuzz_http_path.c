/*
 * fuzz_http_path: libFuzzer target for what the HTTP side does with the
 * request path and query values before any handler runs:
 *   - static_find (dashboard/static.c) over a small web directory loaded once
 *     with static_load (made under /tmp at start, with a dot-file, a
 *     dot-directory and a symlink that must not be served);
 *   - regcode_check for every level, regcode_is_within, regcode_level,
 *     regcode_parent (collector/regcode.c) on division codes from query strings
 *     and scopes;
 *   - cst_date_parse (collector/cst.c) on dates from query strings.
 *
 * Input: the whole input is one path (up to the first NUL byte); bytes after
 * a NUL, when there are any, are a second string used as the region of
 * regcode_is_within and, split at the next NUL, its own date.
 *
 * Beyond the sanitizers, these properties abort:
 *  - static_find answers exactly for the files that were loaded ("/" and
 *    "/x/" meaning their index.html), never for a dot-file or what a symlink
 *    points to; what it returns is that file, with a MIME type and a
 *    "\"16 hex digits\"" ETag;
 *  - a code regcode_check accepts is well-formed, has a level, and its
 *    parent chain stays within its ancestors; a refusal has a reason, made of
 *    printable ASCII; regcode_is_within(a, b) for a != b means b is above a;
 *  - a date cst_date_parse accepts is a real "YYYY-MM-DD" that formats back
 *    to the very same text; a refusal has a reason.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cst.h"
#include "fuzz_util.h"
#include "regcode.h"
#include "static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The web directory: what is served (by URL path) and what must not be. */
static const char *const served[] = {
	"/index.html", "/wall.html", "/css/app.css", "/js/app.js", "/vendor/lib-1.2.js",
	"/sub/index.html", "/sub/deeper/index.html", "/a b.txt", "/%41.html", "/中文.html", "/x.json",
};
static const char *const hidden[] = {"/.env", "/.git/config", "/sub/.secret"};
#define N_SERVED (sizeof served / sizeof served[0])

static void write_file(const char *root, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s%s", root, rel);
	for (char *slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		fuzz_die("web dir", path);
	fputs(text, f);
	/* a bigger file too, so that some have a gzip copy */
	for (int i = 0; strstr(rel, "app") && i < 200; i++)
		fputs(" body { margin: 0 }\n", f);
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	char root[] = "/tmp/fpmon-fuzz-web-XXXXXX";
	if (!mkdtemp(root))
		fuzz_die("mkdtemp", root);
	for (size_t i = 0; i < N_SERVED; i++)
		write_file(root, served[i], served[i]);
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
		write_file(root, hidden[i], "secret");
	char link[600];
	snprintf(link, sizeof link, "%s/passwd.txt", root);
	if (symlink("/etc/passwd", link) != 0)
		fuzz_die("symlink", link);
	char err[256] = "";
	long n = static_load(root, err, sizeof err);
	if (n != (long)N_SERVED) {
		fprintf(stderr, "static_load: %ld files (%s), expected %zu\n", n, err, N_SERVED);
		abort();
	}
	/* Everything is in memory now: the directory can go. */
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return 0;
}

static void check_static(const char *path)
{
	const struct static_file *f = static_find(path);
	size_t n = strlen(path);
	char want[1100];
	snprintf(want, sizeof want, "%s%s", path, n && path[n - 1] == '/' ? "index.html" : "");
	bool expected = false;
	for (size_t i = 0; i < N_SERVED && n > 0; i++)
		expected |= strcmp(served[i], want) == 0;
	FUZZ_CHECK((f != NULL) == expected, "static_find('%s') %s", path, f ? "found a file not loaded" : "missed a file");
	if (!f)
		return;
	FUZZ_CHECK(strcmp(f->path, want) == 0, "static_find('%s') returned %s", path, f->path);
	FUZZ_CHECK(f->mime && f->mime[0], "%s has no MIME type", f->path);
	FUZZ_CHECK(strlen(f->etag) == 18 && f->etag[0] == '"' && f->etag[17] == '"' &&
		   strspn(f->etag + 1, "0123456789abcdef") == 16, "%s has ETag %s", f->path, f->etag);
	FUZZ_CHECK(f->len == strlen(f->path) + (strstr(f->path, "app") ? 200 * 20 : 0),
		   "%s: %zu bytes served", f->path, f->len);
	FUZZ_CHECK(memcmp(f->data, f->path, strlen(f->path)) == 0, "%s: other content served", f->path);
}

static void check_reason(const char *what, const char *reason)
{
	FUZZ_CHECK(reason && reason[0], "%s refused without a reason", what);
	for (const char *p = reason; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "%s: reason has byte 0x%02x: %s", what, (unsigned char)*p, reason);
}

static void check_regcode(const char *code, const char *region)
{
	const char *reason = NULL;
	int any = regcode_check(code, REGCODE_ANY, &reason);
	enum regcode_level level = regcode_level(code);
	FUZZ_CHECK(any == 0 || any == -1, "regcode_check returned %d", any);
	if (any < 0) {
		check_reason("regcode_check", reason);
	} else {
		FUZZ_CHECK(regcode_is_wellformed(code) && level != REGCODE_INVALID, "'%s' accepted, level %d", code, level);
		FUZZ_CHECK(regcode_is_within(code, code), "'%s' is not within itself", code);
	}
	int accepted_at = 0;
	for (int want = REGCODE_PROVINCE; want <= REGCODE_VILLAGE; want++) {
		reason = NULL;
		int rc = regcode_check(code, (enum regcode_level)want, &reason);
		if (rc < 0) {
			check_reason("regcode_check", reason);
			continue;
		}
		accepted_at++;
		FUZZ_CHECK(any == 0 && (int)level == want, "'%s' accepted as %s but its level is %s",
			   code, regcode_level_name((enum regcode_level)want), regcode_level_name(level));
	}
	FUZZ_CHECK(accepted_at == (any == 0), "'%s': accepted at %d levels, as any: %d", code, accepted_at, any == 0);
	FUZZ_CHECK(regcode_check(code, REGCODE_ANY, NULL) == any, "the answer depends on asking for the reason");

	if (level != REGCODE_INVALID) {
		char parent[REGCODE_SIZE], up[REGCODE_SIZE];
		snprintf(up, sizeof up, "%s", code);
		for (int steps = 0; regcode_parent(up, parent) == 0; steps++) {
			FUZZ_CHECK(steps < 5, "'%s' has more than 4 ancestors", code);
			FUZZ_CHECK(regcode_level(parent) < regcode_level(up) && regcode_is_within(up, parent) &&
				   regcode_is_within(code, parent), "'%s': parent %s of %s does not contain it", code, parent, up);
			memcpy(up, parent, sizeof up);
		}
		FUZZ_CHECK(regcode_level(up) == REGCODE_PROVINCE, "'%s': the chain of parents ends at %s", code, up);
	}
	if (regcode_is_within(code, region) && strcmp(code, region) != 0)
		FUZZ_CHECK(regcode_level(region) < regcode_level(code), "'%s' is within '%s' which is not above it", code, region);
	if (regcode_is_within(code, region))
		FUZZ_CHECK(regcode_is_wellformed(code) && regcode_level(region) != REGCODE_INVALID,
			   "'%s' within '%s' though one is invalid", code, region);
}

static void check_date(const char *text)
{
	int64_t day = INT64_MIN;
	const char *reason = NULL;
	int rc = cst_date_parse(text, &day, &reason);
	FUZZ_CHECK(rc == 0 || rc == -1, "cst_date_parse returned %d", rc);
	if (rc < 0) {
		check_reason("cst_date_parse", reason);
		return;
	}
	char again[32];
	cst_date_format(day, again, sizeof again);
	FUZZ_CHECK(strcmp(again, text) == 0, "'%s' was accepted as the date %s", text, again);
	FUZZ_CHECK(cst_day(cst_day_start(day)) == day && cst_day(cst_day_start(day) + 86399) == day,
		   "day %lld does not start and end in itself", (long long)day);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	size_t first = strlen(text);
	const char *second = first < size ? text + first + 1 : text;
	const char *third = second;
	if (first < size) {
		size_t n = strlen(second);
		third = second + n < text + size ? second + n + 1 : second;
	}
	check_static(text);
	check_regcode(text, second);
	if (second != text)
		check_regcode(second, text);
	check_date(text);
	if (third != text)
		check_date(third);
	free(text);
	return 0;
}
