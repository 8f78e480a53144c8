/*
 * rrdread: the RRD header parser and ring arithmetic behind the history API's
 * reads. The header is read as librrd lays it out on this machine (its own
 * structs from rrd_format.h), then at most two preads fetch the rows asked
 * for. Row semantics follow rrd_fetch: an archive of `step` seconds per row
 * ends at last_up rounded down to step, its newest row at cur_row.
 */
#define RRD_EXPORT_DEPRECATED /* rrd_format.h: the on-disk structs */
#include "rrdread.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rrd.h>

#define FIRST_READ 16384 /* a header of up to ~30 data sources in one read */

/* Offsets of the parts of the header, from ds_cnt and rra_cnt. */
struct layout {
	size_t ds_def, rra_def, live_head, live_size, pdp_prep, cdp_prep, rra_ptr, end;
};

static int version_of(const stat_head_t *sh)
{
	if (sh->version[0] != '0' || sh->version[1] != '0' || sh->version[2] != '0' || sh->version[4] != '\0')
		return -1;
	return sh->version[3] >= '1' && sh->version[3] <= '5' ? sh->version[3] - '0' : -1;
}

/* -1 when the counts are absurd (the multiplications below cannot overflow then). */
static int layout_of(const stat_head_t *sh, int version, struct layout *l)
{
	if (sh->ds_cnt < 1 || sh->ds_cnt > 4096 || sh->rra_cnt < 1 || sh->rra_cnt > RRDREAD_MAX_RRA)
		return -1;
	l->ds_def = sizeof(stat_head_t);
	l->rra_def = l->ds_def + sh->ds_cnt * sizeof(ds_def_t);
	l->live_head = l->rra_def + sh->rra_cnt * sizeof(rra_def_t);
	l->live_size = version < 3 ? sizeof(time_t) : sizeof(live_head_t);
	l->pdp_prep = l->live_head + l->live_size;
	l->cdp_prep = l->pdp_prep + sh->ds_cnt * sizeof(pdp_prep_t);
	l->rra_ptr = l->cdp_prep + sh->rra_cnt * sh->ds_cnt * sizeof(cdp_prep_t);
	l->end = l->rra_ptr + sh->rra_cnt * sizeof(rra_ptr_t);
	return 0;
}

size_t rrdread_header_need(const void *buf, size_t len)
{
	stat_head_t sh;
	struct layout l;
	if (len < sizeof sh)
		return sizeof sh;
	memcpy(&sh, buf, sizeof sh);
	int version = version_of(&sh);
	if (version < 0 || layout_of(&sh, version, &l) < 0)
		return 0; /* rrdread_parse says what is wrong */
	return l.end > len ? l.end : 0;
}

int rrdread_parse(const void *buf, size_t len, uint64_t file_size, struct rrdread_header *h, char *err,
		  size_t errlen)
{
	const unsigned char *p = buf;
	stat_head_t sh;
	struct layout l;
	memset(h, 0, sizeof *h);
	if (len < sizeof sh) {
		snprintf(err, errlen, "shorter than an RRD header");
		return -1;
	}
	memcpy(&sh, p, sizeof sh);
	int version = version_of(&sh);
	if (memcmp(sh.cookie, RRD_COOKIE, 4) != 0 || version < 0) {
		snprintf(err, errlen, "not an RRD file");
		return -1;
	}
	if (sh.float_cookie != FLOAT_COOKIE) {
		snprintf(err, errlen, "an RRD file of another architecture");
		return -1;
	}
	if (layout_of(&sh, version, &l) < 0 || sh.pdp_step < 1 || sh.pdp_step > 86400 * 366) {
		snprintf(err, errlen, "an RRD header with impossible counts");
		return -1;
	}
	if (l.end > len || l.end > file_size) {
		snprintf(err, errlen, "a truncated RRD header");
		return -1;
	}
	h->n_ds = sh.ds_cnt;
	h->n_rra = sh.rra_cnt;
	h->pdp_step = (int64_t)sh.pdp_step;
	h->header_len = l.end;
	time_t last_up;
	memcpy(&last_up, p + l.live_head, sizeof last_up); /* first member in every version */
	h->last_up = (int64_t)last_up;
	if (h->last_up < 0 || h->last_up > ((int64_t)1 << 40)) {
		snprintf(err, errlen, "an RRD file last updated at an impossible time");
		return -1;
	}
	uint64_t offset = l.end, row_bytes = (uint64_t)sh.ds_cnt * sizeof(rrd_value_t);
	for (size_t i = 0; i < h->n_rra; i++) {
		rra_def_t def;
		rra_ptr_t ptr;
		memcpy(&def, p + l.rra_def + i * sizeof def, sizeof def);
		memcpy(&ptr, p + l.rra_ptr + i * sizeof ptr, sizeof ptr);
		if (def.row_cnt < 1 || def.row_cnt > (1u << 26) || def.pdp_cnt < 1 || def.pdp_cnt > (1u << 26) ||
		    ptr.cur_row >= def.row_cnt ||
		    def.row_cnt > ((uint64_t)1 << 44) / (def.pdp_cnt * sh.pdp_step)) { /* spans fit int64 */
			snprintf(err, errlen, "archive %zu has impossible rows", i);
			return -1;
		}
		memcpy(h->rra[i].cf, def.cf_nam, sizeof h->rra[i].cf);
		h->rra[i].cf[sizeof h->rra[i].cf - 1] = '\0';
		h->rra[i].rows = def.row_cnt;
		h->rra[i].pdp_cnt = def.pdp_cnt;
		h->rra[i].cur_row = ptr.cur_row;
		h->rra[i].offset = offset;
		offset += def.row_cnt * row_bytes;
	}
	if (offset > file_size) {
		snprintf(err, errlen, "an RRD file shorter than its archives");
		return -1;
	}
	return 0;
}

int rrdread_plan(const struct rrdread_header *h, const char *cf, int64_t step, int64_t first, size_t n,
		 struct rrdread_run runs[2], size_t *n_runs)
{
	*n_runs = 0;
	size_t a = 0;
	while (a < h->n_rra && !(strcmp(h->rra[a].cf, cf) == 0 && (int64_t)h->rra[a].pdp_cnt * h->pdp_step == step))
		a++;
	if (a == h->n_rra || step < 1)
		return -1;
	int64_t rows = (int64_t)h->rra[a].rows, end = h->last_up - h->last_up % step,
		start = end - step * (rows - 1);
	if (n == 0 || first % step != 0 || end < start)
		return 0; /* rows that are not row times: none is in the archive */
	/* The rows of [first, first + (n-1) step] inside [start, end]. */
	int64_t lo = first > start ? first : start, last = first + (int64_t)(n - 1) * step,
		hi = last < end ? last : end;
	if (lo > hi)
		return 0;
	size_t at = (size_t)((lo - first) / step), count = (size_t)((hi - lo) / step) + 1;
	uint64_t row_bytes = h->n_ds * sizeof(double);
	/* The oldest row (start) is the one after cur_row. */
	uint64_t slot = (h->rra[a].cur_row + 1 + (uint64_t)((lo - start) / step)) % (uint64_t)rows;
	size_t before_wrap = (size_t)((uint64_t)rows - slot);
	runs[0] = (struct rrdread_run){at, count < before_wrap ? count : before_wrap, h->rra[a].offset + slot * row_bytes};
	*n_runs = 1;
	if (count > before_wrap) {
		runs[1] = (struct rrdread_run){at + before_wrap, count - before_wrap, h->rra[a].offset};
		*n_runs = 2;
	}
	return 0;
}

static int read_exact(int fd, void *buf, size_t len, uint64_t offset)
{
	for (size_t done = 0; done < len;) {
		ssize_t got = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		done += (size_t)got;
	}
	return 0;
}

int rrdread_rows(const char *path, const char *cf, int64_t step, int64_t first, size_t n, size_t n_ds,
		 double *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n * n_ds; i++)
		out[i] = NAN;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	unsigned char first_read[FIRST_READ], *head = first_read;
	struct stat st;
	struct rrdread_header h;
	struct rrdread_run runs[2];
	size_t n_runs = 0, len = 0, need;
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	len = (size_t)st.st_size < sizeof first_read ? (size_t)st.st_size : sizeof first_read;
	if (read_exact(fd, head, len, 0) < 0) {
		snprintf(err, errlen, "%s: cannot read its header", path);
		goto out;
	}
	need = rrdread_header_need(head, len);
	if (need > len && need <= (uint64_t)st.st_size) { /* a larger header: read it whole */
		head = malloc(need);
		if (!head || read_exact(fd, head, need, 0) < 0) {
			snprintf(err, errlen, "%s: cannot read its header", path);
			goto out;
		}
		len = need;
	}
	if (rrdread_parse(head, len, (uint64_t)st.st_size, &h, err, errlen) < 0) {
		char why[128];
		snprintf(why, sizeof why, "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (h.n_ds != n_ds) {
		snprintf(err, errlen, "%s: %zu data sources, expected %zu", path, h.n_ds, n_ds);
		goto out;
	}
	if (rrdread_plan(&h, cf, step, first, n, runs, &n_runs) < 0) {
		snprintf(err, errlen, "%s: no %s archive of %lld s rows", path, cf, (long long)step);
		goto out;
	}
	for (size_t r = 0; r < n_runs; r++)
		if (read_exact(fd, out + runs[r].at * n_ds, runs[r].count * n_ds * sizeof *out, runs[r].offset) < 0) {
			snprintf(err, errlen, "%s: cannot read its rows", path);
			goto out;
		}
	rc = 0;
out:
	if (head != first_read)
		free(head);
	if (rc < 0)
		for (size_t i = 0; i < n * n_ds; i++)
			out[i] = NAN;
	close(fd);
	return rc;
}
