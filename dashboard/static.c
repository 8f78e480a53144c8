/*
 * static: walking web/ with nftw (symlinks are not followed, so a link
 * cannot pull in a file from elsewhere), hashing each file (FNV-1a 64 is
 * plenty for cache validation) and compressing text types with zlib. The
 * reload (SIGHUP) reads the disk on a short-lived thread and the service
 * thread adopts the new table when woken, so serving never waits on disk.
 */
#include "static.h"

#include "log.h"
#include "xalloc.h"

#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_FILE_BYTES (32u << 20)
#define MAX_FILES 4096

struct table {
	struct static_file *files;
	size_t n;
};

static struct table current;     /* service thread only */
static struct table loading;     /* the loading thread only (nftw has no user pointer) */
static size_t root_len;
static int load_failed;
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct table pending;     /* a reloaded table waiting for the service thread */
static int have_pending;
static char reload_dir[4096];
static void (*reload_wake)(void *);

static const char *mime_of(const char *path, int *compressible)
{
	static const struct { const char *ext, *type; int text; } types[] = {
		{".html", "text/html; charset=utf-8", 1}, {".js", "text/javascript; charset=utf-8", 1},
		{".mjs", "text/javascript; charset=utf-8", 1}, {".css", "text/css; charset=utf-8", 1},
		{".json", "application/json", 1}, {".svg", "image/svg+xml", 1}, {".txt", "text/plain; charset=utf-8", 1},
		{".map", "application/json", 1}, {".png", "image/png", 0}, {".ico", "image/x-icon", 0},
		{".woff2", "font/woff2", 0}, {".wav", "audio/wav", 0}, {".mp3", "audio/mpeg", 0},
		{".webp", "image/webp", 0}, {".jpg", "image/jpeg", 0},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0) {
			*compressible = types[i].text;
			return types[i].type;
		}
	*compressible = 0;
	return "application/octet-stream";
}

static void gzip_file(struct static_file *f)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	uLong bound = deflateBound(&z, (uLong)f->len);
	unsigned char *out = xmalloc(bound);
	z.next_in = f->data;
	z.avail_in = (uInt)f->len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out + 64 < f->len) {
		f->gz = out;
		f->gz_len = z.total_out;
	} else {
		free(out);
	}
	deflateEnd(&z);
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	const char *rel = path + root_len;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0; /* directories, and symlinks (FTW_PHYS reports them as FTW_SL) */
	if (strstr(rel, "/.")) /* no dot-files or dot-directories */
		return 0;
	if (st->st_size > (off_t)MAX_FILE_BYTES || loading.n >= MAX_FILES) {
		log_warn("web: %s skipped (over the size or count limit)", path);
		return 0;
	}
	FILE *in = fopen(path, "rb");
	if (!in) {
		load_failed = 1;
		return 0;
	}
	loading.files = xreallocarray(loading.files, loading.n + 1, sizeof *loading.files);
	struct static_file *f = &loading.files[loading.n];
	memset(f, 0, sizeof *f);
	f->len = (size_t)st->st_size;
	f->data = xmalloc(f->len ? f->len : 1);
	if (fread(f->data, 1, f->len, in) != f->len) {
		fclose(in);
		free(f->data);
		load_failed = 1;
		return 0;
	}
	fclose(in);
	f->path = xstrdup(rel);
	int compressible;
	f->mime = mime_of(rel, &compressible);
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < f->len; i++)
		h = (h ^ f->data[i]) * 1099511628211ULL;
	snprintf(f->etag, sizeof f->etag, "\"%016llx\"", (unsigned long long)h);
	f->immutable = strncmp(rel, "/vendor/", 8) == 0;
	if (compressible && f->len > 512)
		gzip_file(f);
	loading.n++;
	return 0;
}

static void free_table(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->files[i].path);
		free(t->files[i].data);
		free(t->files[i].gz);
	}
	free(t->files);
	t->files = NULL;
	t->n = 0;
}

/* Build a table from dir into `loading`; 0 or -1. */
static int build(const char *dir, char *err, size_t errlen)
{
	char root[4096];
	if (!realpath(dir, root)) {
		snprintf(err, errlen, "web_dir %s: not found", dir);
		return -1;
	}
	root_len = strlen(root);
	load_failed = 0;
	memset(&loading, 0, sizeof loading);
	if (nftw(root, visit, 16, FTW_PHYS) != 0 || load_failed) {
		free_table(&loading);
		snprintf(err, errlen, "web_dir %s: could not read every file", dir);
		return -1;
	}
	return 0;
}

long static_load(const char *dir, char *err, size_t errlen)
{
	if (build(dir, err, errlen) < 0)
		return -1;
	free_table(&current);
	current = loading;
	memset(&loading, 0, sizeof loading);
	snprintf(reload_dir, sizeof reload_dir, "%s", dir);
	return (long)current.n;
}

static void *reload_main(void *arg)
{
	(void)arg;
	char err[256];
	if (build(reload_dir, err, sizeof err) < 0) {
		log_error("web: reload failed, keeping the old files: %s", err);
		return NULL;
	}
	pthread_mutex_lock(&pending_lock);
	free_table(&pending);
	pending = loading;
	have_pending = 1;
	memset(&loading, 0, sizeof loading);
	pthread_mutex_unlock(&pending_lock);
	reload_wake(NULL);
	return NULL;
}

void static_reload_async(void (*wake)(void *))
{
	pthread_t t;
	reload_wake = wake;
	if (pthread_create(&t, NULL, reload_main, NULL) == 0)
		pthread_detach(t);
}

void static_adopt_reloaded(void)
{
	pthread_mutex_lock(&pending_lock);
	if (have_pending) {
		free_table(&current);
		current = pending;
		memset(&pending, 0, sizeof pending);
		have_pending = 0;
		log_info("web: %zu files reloaded", current.n);
	}
	pthread_mutex_unlock(&pending_lock);
}

const struct static_file *static_find(const char *path)
{
	char want[1024];
	size_t n = strlen(path);
	if (n == 0 || n + 16 > sizeof want)
		return NULL;
	snprintf(want, sizeof want, "%s%s", path, path[n - 1] == '/' ? "index.html" : "");
	for (size_t i = 0; i < current.n; i++)
		if (strcmp(current.files[i].path, want) == 0)
			return &current.files[i];
	return NULL;
}

void static_free(void)
{
	free_table(&current);
}
