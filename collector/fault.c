/*
 * fault: the arming table, its text form (the control file of a fault
 * build) and the allocation hook for Jansson. Everything here is cheap but
 * not free (a mutex, a stat of the control file per check), which is why
 * production code reaches it only through FAULT_HIT, compiled out unless
 * FPMON_FAULT_INJECTION is defined.
 */
#include "fault.h"

#include "log.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONTROL_MAX 4096

struct arming {
	enum fault_effect effect; /* FAULT_NONE: not armed */
	long countdown;           /* calls left until it fires */
	int repeat;
	uint64_t fired;
};

static struct {
	pthread_mutex_t lock;
	struct arming at[FAULT_POINTS];
	const char *control;      /* $FPMON_FAULTS in a fault build, else NULL */
	struct stat seen;         /* the control file as last read */
	int seen_exists;
} f = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *const point_names[FAULT_POINTS] = {"alloc", "db_write", "rrd_write", "rrd_dir"};
static const char *const effect_names[] = {"none", "fail", "full", "short"};

static _Thread_local int thread_alloc;

static void arm_locked(enum fault_point p, enum fault_effect effect, long nth, int repeat)
{
	f.at[p].effect = effect;
	f.at[p].countdown = nth > 0 ? nth : 1;
	f.at[p].repeat = repeat;
}

void fault_arm(enum fault_point p, enum fault_effect effect, long nth, int repeat)
{
	pthread_mutex_lock(&f.lock);
	arm_locked(p, effect, nth, repeat);
	pthread_mutex_unlock(&f.lock);
}

static void clear_locked(void)
{
	for (int p = 0; p < FAULT_POINTS; p++)
		f.at[p].effect = FAULT_NONE;
}

void fault_clear_all(void)
{
	pthread_mutex_lock(&f.lock);
	clear_locked();
	pthread_mutex_unlock(&f.lock);
}

/* One line "<point> [effect] [nth=N] [repeat]"; 0 ok, 1 blank, -1 error. */
static int parse_line(char *line, char *err, size_t errlen)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *save = NULL, *word = strtok_r(line, " \t\r", &save);
	if (!word)
		return 1;
	int p = -1;
	for (int i = 0; i < FAULT_POINTS; i++)
		if (strcmp(word, point_names[i]) == 0)
			p = i;
	if (p < 0) {
		snprintf(err, errlen, "unknown fault point '%s'", word);
		return -1;
	}
	enum fault_effect effect = FAULT_FAIL;
	long nth = 0;
	int repeat = 0;
	while ((word = strtok_r(NULL, " \t\r", &save))) {
		char *end = NULL;
		if (strncmp(word, "nth=", 4) == 0) {
			nth = strtol(word + 4, &end, 10);
			if (!*(word + 4) || *end || nth < 1) {
				snprintf(err, errlen, "%s: bad '%s' (want nth=N, N >= 1)", point_names[p], word);
				return -1;
			}
		} else if (strcmp(word, "repeat") == 0) {
			repeat = 1;
		} else if (strcmp(word, "fail") == 0) {
			effect = FAULT_FAIL;
		} else if (strcmp(word, "full") == 0) {
			effect = FAULT_FULL;
		} else if (strcmp(word, "short") == 0) {
			effect = FAULT_SHORT;
		} else {
			snprintf(err, errlen, "%s: unknown word '%s'", point_names[p], word);
			return -1;
		}
	}
	arm_locked((enum fault_point)p, effect, nth ? nth : 1, nth ? repeat : 1);
	return 0;
}

static int parse_locked(const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text), *save = NULL;
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	clear_locked();
	int rc = 0;
	for (char *line = strtok_r(copy, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save))
		rc = parse_line(line, err, errlen) < 0 ? -1 : 0;
	free(copy);
	if (rc < 0)
		clear_locked(); /* a half-read file arms nothing */
	return rc;
}

int fault_parse(const char *text, char *err, size_t errlen)
{
	pthread_mutex_lock(&f.lock);
	int rc = parse_locked(text, err, errlen);
	pthread_mutex_unlock(&f.lock);
	return rc;
}

/* Re-read the control file when it changed (tests replace it by rename). */
static void poll_control_locked(void)
{
	struct stat st;
	int exists = stat(f.control, &st) == 0;
	if (!exists) {
		if (f.seen_exists)
			clear_locked();
		f.seen_exists = 0;
		return;
	}
	if (f.seen_exists && st.st_ino == f.seen.st_ino && st.st_size == f.seen.st_size &&
	    st.st_mtim.tv_sec == f.seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == f.seen.st_mtim.tv_nsec)
		return;
	f.seen = st;
	f.seen_exists = 1;
	char text[CONTROL_MAX + 1], err[160];
	FILE *fp = fopen(f.control, "r");
	size_t n = fp ? fread(text, 1, CONTROL_MAX, fp) : 0;
	if (fp)
		fclose(fp);
	text[n] = '\0';
	if (parse_locked(text, err, sizeof err) < 0) {
		log_error("fault: %s: %s", f.control, err);
		return;
	}
	for (char *nl = strchr(text, '\n'); nl; nl = strchr(nl, '\n'))
		*nl = ';'; /* one log line */
	log_info("fault: armed from %s: %s", f.control, n ? text : "(nothing)");
}

enum fault_effect fault_check(enum fault_point p)
{
	pthread_mutex_lock(&f.lock);
	if (f.control)
		poll_control_locked();
	struct arming *a = &f.at[p];
	enum fault_effect fire = FAULT_NONE;
	if (a->effect != FAULT_NONE && --a->countdown <= 0) {
		fire = a->effect;
		a->fired++;
		if (a->repeat)
			a->countdown = 1;
		else
			a->effect = FAULT_NONE;
	}
	pthread_mutex_unlock(&f.lock);
	if (fire && p != FAULT_ALLOC) /* allocations are many: the caller's error says enough */
		log_warn_rl("fault: %s fired (%s)", point_names[p], effect_names[fire]);
	return fire;
}

uint64_t fault_fired(enum fault_point p)
{
	pthread_mutex_lock(&f.lock);
	uint64_t n = f.at[p].fired;
	pthread_mutex_unlock(&f.lock);
	return n;
}

/* ---- allocations ---- */

int fault_thread_alloc(int on)
{
	int was = thread_alloc;
	thread_alloc = on;
	return was;
}

static int json_fault(void) { return thread_alloc && fault_check(FAULT_ALLOC) != FAULT_NONE; }

void fault_json_hooks(void)
{
	xalloc_json_fault = json_fault;
	xalloc_json_install();
}

/* ---- the fault build's start ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
	fault_vfs_register(1);
	fault_json_hooks();
	const char *control = getenv("FPMON_FAULTS");
	if (control && *control) {
		pthread_mutex_lock(&f.lock);
		f.control = strdup(control);
		pthread_mutex_unlock(&f.lock);
		log_info("fault: fault injection build; arming from %s", control);
	}
}

void fault_init(void) { pthread_once(&init_once, init); }
