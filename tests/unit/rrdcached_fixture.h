/*
 * rrdcached_fixture: starts Debian's /usr/bin/rrdcached on a unix socket in a
 * mkdtemp directory for a test group and stops it afterwards, so the
 * rrdcached paths are tested against the real daemon. Header-only: include
 * it in one test file; it defines tmp_dir, socket_address and the setups.
 */
#ifndef RRDCACHED_FIXTURE_H
#define RRDCACHED_FIXTURE_H

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rrdc.h"

static char tmp_dir[] = "/tmp/test_rrdc.XXXXXX";
static char socket_address[300];
static pid_t daemon_pid = -1;

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Runs rrdcached on the group's directory and socket; 0 once it answers. */
static inline int launch_daemon(void)
{
	char sock_arg[300], journal[300], pidfile[300], log_path[300];
	snprintf(sock_arg, sizeof sock_arg, "unix:%s/sock", tmp_dir);
	snprintf(journal, sizeof journal, "%s/journal", tmp_dir);
	snprintf(pidfile, sizeof pidfile, "%s/pid", tmp_dir);
	snprintf(log_path, sizeof log_path, "%s/rrdcached.log", tmp_dir);
	snprintf(socket_address, sizeof socket_address, "%s", sock_arg);
	mkdir(journal, 0700);
	daemon_pid = fork();
	if (daemon_pid < 0)
		return -1;
	if (daemon_pid == 0) {
		FILE *log = freopen(log_path, "a", stdout);
		if (log)
			dup2(fileno(log), STDERR_FILENO);
		execl("/usr/bin/rrdcached", "rrdcached", "-g", "-l", sock_arg, "-b", tmp_dir, "-B",
		      "-j", journal, "-p", pidfile, (char *)NULL);
		_exit(127);
	}
	/* Ready when a connection succeeds (up to 5 s). */
	for (int i = 0; i < 100; i++) {
		char err[256];
		struct rrdc_conn *conn = rrdc_open(socket_address, 1000, err, sizeof err);
		if (conn) {
			rrdc_close(conn);
			return 0;
		}
		int status;
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			fprintf(stderr, "rrdcached exited early (status %d), see %s\n", status, log_path);
			daemon_pid = -1;
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "rrdcached did not open %s\n", socket_address);
	return -1;
}

static int start_daemon(void **state)
{
	(void)state;
	if (!mkdtemp(tmp_dir))
		return -1;
	return launch_daemon();
}

/* As if it crashed: SIGKILL, its socket and pid file left for the next launch to clear. */
static inline void kill_daemon(void)
{
	char path[320];
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	snprintf(path, sizeof path, "%s/sock", tmp_dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/pid", tmp_dir);
	unlink(path);
}

static int stop_daemon(void **state)
{
	int status;
	(void)state;

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		int reaped = 0;
		for (int i = 0; i < 100 && !reaped; i++) {
			reaped = waitpid(daemon_pid, &status, WNOHANG) == daemon_pid;
			if (!reaped)
				sleep_ms(50);
		}
		if (!reaped) {
			kill(daemon_pid, SIGKILL);
			waitpid(daemon_pid, &status, 0);
		}
		daemon_pid = -1;
	}
	return nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
