/*
 * bench_daemon: what the benchmark measures of a running fpmond other than
 * ingest. `launch` starts it with its log in a file and reports the time to
 * its "listening" line (start-up, including the rebuild of in-memory state
 * from SQLite) and the port it chose. `cycle` makes the RRD writer write
 * everything due (SIGUSR1) and reports the cycle's wall time, CPU, librrd
 * calls and rows; with a clock file (bench/shim/clockshift.c) it first moves
 * the daemon's wall clock on by whole 300 s steps so that rows are due.
 */
#include "bench_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define STEP 300

/* The log from byte `from` on, NUL-terminated; NULL if unreadable. */
static char *read_log(const char *path, off_t from)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct stat st;
	fstat(fd, &st);
	size_t len = st.st_size > from ? (size_t)(st.st_size - from) : 0;
	char *text = malloc(len + 1);
	ssize_t got = text ? pread(fd, text, len, from) : -1;
	close(fd);
	if (got < 0) {
		free(text);
		return NULL;
	}
	text[got] = '\0';
	return text;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

static int launch(const char *label, const char *log, char **cmd)
{
	off_t from = file_size(log);
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		close(fd);
		setpgid(0, 0); /* out of the bench's process group: run.sh stops it by pid */
		execv(cmd[0], cmd);
		_exit(127);
	}
	for (;;) {
		char *text = read_log(log, from);
		const char *at = text ? strstr(text, "listening on http://") : NULL;
		const char *colon = at ? strchr(at + 20, ':') : NULL;
		if (colon && strchr(colon, '\n')) {
			double ms = (bench_now() - t0) * 1e3;
			char key[96];
			snprintf(key, sizeof key, "%s.startup_ms", label);
			bench_result(key, "%.0f", ms);
			snprintf(key, sizeof key, "%s.pid", label);
			bench_result(key, "%d", (int)pid);
			snprintf(key, sizeof key, "%s.port", label);
			bench_result(key, "%ld", strtol(colon + 1, NULL, 10));
			free(text);
			return 0;
		}
		free(text);
		if (waitpid(pid, NULL, WNOHANG) == pid || bench_now() - t0 > 300) {
			fprintf(stderr, "bench_daemon: %s did not start; see %s\n", cmd[0], log);
			kill(pid, SIGKILL);
			return 1;
		}
		usleep(1000);
	}
}

/* The writer's cycle lines: "rrd writer: N files written up to T in M ms". */
struct cycle_line {
	int count;
	long files, ms;
	long long up_to;
};

static struct cycle_line last_cycle_line(const char *log)
{
	struct cycle_line c = {0};
	char *text = read_log(log, 0);
	for (const char *p = text; p && (p = strstr(p, "rrd writer: ")); p++) {
		long files, ms;
		long long up_to;
		if (sscanf(p, "rrd writer: %ld files written up to %lld in %ld ms", &files, &up_to, &ms) == 3) {
			c.count++;
			c.files = files, c.up_to = up_to, c.ms = ms;
		}
	}
	free(text);
	return c;
}

/* Move the daemon's wall clock so that its last complete step is `step_end`, mid-step. */
static int set_clock(const char *clock_file, long long step_end)
{
	int64_t offset = (int64_t)(step_end + STEP / 2) - (int64_t)time(NULL);
	int fd = open(clock_file, O_WRONLY);
	if (fd < 0 || pwrite(fd, &offset, sizeof offset, 0) != (ssize_t)sizeof offset) {
		perror(clock_file);
		return -1;
	}
	close(fd);
	return 0;
}

static int cycle(const char *label, int pid, int port, const char *log, const char *clock_file, int advance_steps,
		 int flush_steps)
{
	struct cycle_line before = last_cycle_line(log);
	if (clock_file && advance_steps > 0) {
		if (!before.count) {
			fprintf(stderr, "bench_daemon: no earlier cycle in %s to advance from\n", log);
			return 1;
		}
		if (set_clock(clock_file, before.up_to + (long long)advance_steps * STEP) < 0)
			return 1;
	}
	char *m0 = bench_http_get(port, "/metrics");
	struct bench_threads th0, th1;
	bench_thread_cpu(pid, &th0);
	double cpu0 = bench_process_cpu(pid), t0 = bench_now();
	if (!m0 || kill(pid, SIGUSR1) < 0) {
		perror("bench_daemon: daemon");
		return 1;
	}
	struct cycle_line after;
	while ((after = last_cycle_line(log)).count == before.count) {
		if (bench_now() - t0 > 280 || kill(pid, 0) < 0) {
			fprintf(stderr, "bench_daemon: no cycle ended in %s\n", log);
			return 1;
		}
		usleep(5000);
	}
	double wall = bench_now() - t0, cpu = bench_process_cpu(pid) - cpu0;
	bench_thread_cpu(pid, &th1);
	char *m1 = bench_http_get(port, "/metrics");
	if (!m1 || cpu < 0) {
		fprintf(stderr, "bench_daemon: fpmond (pid %d) is gone after its cycle; see %s\n", pid, log);
		free(m0);
		free(m1);
		return 1;
	}
	double writer = 0; /* the busiest thread is the writer: nothing else runs meanwhile */
	for (size_t i = 0; i < th1.n; i++)
		if (bench_thread_delta(&th0, &th1, i) > writer)
			writer = bench_thread_delta(&th0, &th1, i);
	double calls = bench_metric(m1, "fpmon_rrd_update_calls_total") - bench_metric(m0, "fpmon_rrd_update_calls_total");
	double rows = bench_metric(m1, "fpmon_rrd_rows_written_total") - bench_metric(m0, "fpmon_rrd_rows_written_total");
	double errors = bench_metric(m1, "fpmon_rrd_errors_total") - bench_metric(m0, "fpmon_rrd_errors_total");
	char key[96];
#define OUT(name, ...) (snprintf(key, sizeof key, "%s.%s", label, name), bench_result(key, __VA_ARGS__))
	OUT("files", "%ld", after.files);
	OUT("wall_s", "%.2f", wall);
	OUT("daemon_reported_ms", "%ld", after.ms);
	OUT("cpu_s", "%.2f", cpu);
	OUT("writer_cpu_s", "%.2f", writer);
	OUT("rrd_calls", "%.0f", calls);
	OUT("rrd_rows", "%.0f", rows);
	OUT("rrd_errors", "%.0f", errors);
	OUT("rows_per_call", "%.1f", calls > 0 ? rows / calls : 0);
	OUT("writer_us_per_call", "%.0f", calls > 0 ? writer / calls * 1e6 : 0);
	OUT("rows_per_s", "%.0f", rows / wall);
	if (flush_steps > 0)
		OUT("cpu_share_pct", "%.2f", writer / (flush_steps * STEP) * 100);
#undef OUT
	free(m0);
	free(m1);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: bench_daemon launch LABEL LOGFILE -- /path/to/fpmond ARGS...\n"
		"       bench_daemon clock FILE     (wall clock to the middle of the next step)\n"
		"       bench_daemon cycle LABEL --pid P --port P --log LOGFILE [--flush-steps N]\n"
		"                    [--clock-file F --advance-steps K]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "launch") == 0 && strcmp(argv[4], "--") == 0)
		return launch(argv[2], argv[3], argv + 5);
	if (argc == 3 && strcmp(argv[1], "clock") == 0)
		return set_clock(argv[2], (long long)time(NULL) / STEP * STEP + STEP) < 0;
	if (argc < 3 || strcmp(argv[1], "cycle") != 0)
		return usage();
	int pid = 0, port = 0, advance = 0, flush_steps = 0;
	const char *log = NULL, *clock_file = NULL;
	for (int i = 3; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];
		if (strcmp(opt, "--pid") == 0)
			pid = (int)strtol(val, NULL, 10);
		else if (strcmp(opt, "--port") == 0)
			port = (int)strtol(val, NULL, 10);
		else if (strcmp(opt, "--log") == 0)
			log = val;
		else if (strcmp(opt, "--clock-file") == 0)
			clock_file = val;
		else if (strcmp(opt, "--advance-steps") == 0)
			advance = (int)strtol(val, NULL, 10);
		else if (strcmp(opt, "--flush-steps") == 0)
			flush_steps = (int)strtol(val, NULL, 10);
		else
			return usage();
	}
	if (!pid || !port || !log)
		return usage();
	return cycle(argv[2], pid, port, log, clock_file, advance, flush_steps);
}
