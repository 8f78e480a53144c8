/*
 * fault: named fault points that tests arm at run time, in the spirit of
 * SQLite's test_malloc.c (fail the N-th call, once or from then on) and
 * curl's runtests -t. The hooks in production code (FAULT_HIT) compile to
 * nothing unless built with -DFPMON_FAULT_INJECTION (make FAULT=1); only
 * such a build reads the control file named by $FPMON_FAULTS, so arming is
 * never an attack surface of a production binary.
 */
#ifndef FAULT_H
#define FAULT_H

#include <stddef.h>
#include <stdint.h>

enum fault_point {
	FAULT_ALLOC,     /* input-sized allocations (xtry*) and Jansson on ingest threads */
	FAULT_DB_WRITE,  /* xWrite of every SQLite file, through the shim VFS */
	FAULT_RRD_WRITE, /* rrdfile_update: the disk under an existing RRD file */
	FAULT_RRD_DIR,   /* rrdfile_create: the RRD directory is not writable */
	FAULT_POINTS
};

/* What an armed point does when it fires (FAULT_NONE: carry on). */
enum fault_effect {
	FAULT_NONE = 0,
	FAULT_FAIL,  /* the call fails (allocation NULL, EACCES, I/O error) */
	FAULT_FULL,  /* no space left on the device */
	FAULT_SHORT, /* part of the data is written, then the device is full */
};

/*
 * Arm point p: calls pass until the nth (1 = the next one), which fires
 * with `effect`; with `repeat` every later call fires too, else the point
 * disarms itself. Thread-safe.
 */
void fault_arm(enum fault_point p, enum fault_effect effect, long nth, int repeat);
void fault_clear_all(void);
/* The hook: what this call should do. Counts hits and firings. */
enum fault_effect fault_check(enum fault_point p);
uint64_t fault_fired(enum fault_point p);

/*
 * Replace every arming with the lines of `text`, one per point:
 *   <point> [fail|full|short] [nth=N] [repeat]
 * points: alloc, db_write, rrd_write, rrd_dir; '#' starts a comment. Without
 * nth= the point fires on every call. 0, or -1 with the reason in err.
 */
int fault_parse(const char *text, char *err, size_t errlen);

/* Jansson allocations fail with FAULT_ALLOC only on threads that opt in;
 * returns the previous setting, to pause around code that cannot take it. */
int fault_thread_alloc(int on);
void fault_json_hooks(void);

/* The shim VFS "fpmon-fault" over the default one: xWrite obeys FAULT_DB_WRITE. */
int fault_vfs_register(int make_default);

/* Fault build: hooks in, shim VFS as default, arming from $FPMON_FAULTS
 * (re-read whenever the file changes). Idempotent. */
void fault_init(void);

#ifdef FPMON_FAULT_INJECTION
#define FAULT_HIT(p)        fault_check(p)
#define FAULT_INIT()        fault_init()
#define FAULT_THREAD_ALLOC() fault_thread_alloc(1)
#else
#define FAULT_HIT(p)        ((enum fault_effect)FAULT_NONE)
#define FAULT_INIT()        ((void)0)
#define FAULT_THREAD_ALLOC() ((void)0)
#endif

#endif
