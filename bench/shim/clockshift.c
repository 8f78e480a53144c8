/*
 * clockshift: an LD_PRELOAD library that adds an offset to the wall clock
 * (time, gettimeofday, clock_gettime with CLOCK_REALTIME*) of the program it
 * is loaded into. The offset, int64 seconds, is read on every call from the
 * first 8 bytes of the file named by $CLOCKSHIFT_FILE, mapped shared, so a
 * benchmark can move a running daemon to its next RRD step without waiting
 * 300 s. The monotonic clock is untouched. Built by bench/run.sh, not make.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile const int64_t *offset;
static int (*real_clock_gettime)(clockid_t, struct timespec *);

static void find_real(void)
{
	real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
}

/* Other libraries' constructors may read the clock before this one runs. */
__attribute__((constructor)) static void clockshift_init(void)
{
	if (!real_clock_gettime)
		find_real();
	const char *path = getenv("CLOCKSHIFT_FILE");
	int fd = path ? open(path, O_RDONLY) : -1;
	if (fd < 0)
		return;
	void *p = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED)
		offset = p;
}

static int64_t shift(void) { return offset ? *offset : 0; }

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!real_clock_gettime)
		find_real();
	int rc = real_clock_gettime(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += shift();
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;
	int rc = clock_gettime(CLOCK_REALTIME, &ts);
	if (rc == 0) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	(void)tz;
	return rc;
}

time_t time(time_t *out)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (out)
		*out = ts.tv_sec;
	return ts.tv_sec;
}
