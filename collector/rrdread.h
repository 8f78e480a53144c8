/*
 * rrdread: reads rows of one archive of an RRD file with pread(2), without
 * librrd. rrd_fetch_r maps the whole file, takes a record lock and unmaps
 * it again for every chart; in a threaded daemon the unmap and its page
 * faults cost more than the read. The file format is librrd 1.7.2's own
 * (rrd_format.h, native layout). Nothing here writes; the caller keeps
 * writers of the same file away (rrdw_read_begin) while it reads.
 */
#ifndef RRDREAD_H
#define RRDREAD_H

#include <stddef.h>
#include <stdint.h>

/* What rrdread needs of a file's header: its structure and the ring positions. */
#define RRDREAD_MAX_RRA 32
struct rrdread_header {
	size_t n_ds, n_rra;
	int64_t pdp_step, last_up;
	size_t header_len;                 /* bytes before the first archive's rows */
	struct {
		char cf[20];
		uint64_t rows, pdp_cnt, cur_row;
		uint64_t offset;           /* of its first row in the file */
	} rra[RRDREAD_MAX_RRA];
};

/* Bytes of header to read so rrdread_parse can finish; 0 when buf is enough. */
size_t rrdread_header_need(const void *buf, size_t len);

/*
 * Parses the header in buf (len bytes, from the file's start) of a file of
 * file_size bytes. Every count and offset is checked against file_size.
 * 0, or -1 with the reason in err.
 */
int rrdread_parse(const void *buf, size_t len, uint64_t file_size, struct rrdread_header *h,
		  char *err, size_t errlen);

/*
 * Where the rows for timestamps first, first + step, ... (n of them) of the
 * archive with consolidation cf and `step` seconds per row are: at most two
 * runs of consecutive rows (the ring may wrap). Rows outside the archive's
 * coverage are not in any run (unknown). -1 if no such archive.
 */
struct rrdread_run {
	size_t at;       /* index into the caller's n rows */
	size_t count;
	uint64_t offset; /* of the first row in the file */
};
int rrdread_plan(const struct rrdread_header *h, const char *cf, int64_t step, int64_t first, size_t n,
		 struct rrdread_run runs[2], size_t *n_runs);

/*
 * Reads rows first, first + step, ... (n rows) of path's archive (cf, step)
 * into out (n x n_ds, row-major; NAN where the archive has no row). Returns
 * 0; 1 if the file does not exist (out all NAN); -1 with the reason in err
 * (unreadable, corrupt, no such archive, or not n_ds data sources).
 */
int rrdread_rows(const char *path, const char *cf, int64_t step, int64_t first, size_t n, size_t n_ds,
		 double *out, char *err, size_t errlen);

#endif
