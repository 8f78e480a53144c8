/*
 * fuzz_rrdread: libFuzzer target for the RRD header parser and ring
 * arithmetic (collector/rrdread.c), which read files from disk.
 *
 * Input: bytes 0-3 (little endian) are how many bytes the file has beyond
 * the input (so a header can describe large archives cheaply); the rest is
 * the file's beginning. Seeds: real headers written by librrd.
 *
 * Beyond the sanitizers, these properties abort:
 *  - an accepted header has archives that lie inside the file, one after
 *    another, from header_len on;
 *  - for every archive and a spread of requests around its newest row, the
 *    planned runs are inside the first archive of that consolidation and
 *    step (as librrd picks), within the caller's rows, in order and not
 *    overlapping; an unknown consolidation plans nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrdread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_plans(const struct rrdread_header *h, uint64_t file_size)
{
	uint64_t row_bytes = h->n_ds * sizeof(double);
	for (size_t a = 0; a < h->n_rra; a++) {
		int64_t step = (int64_t)h->rra[a].pdp_cnt * h->pdp_step, end = h->last_up - h->last_up % step;
		const size_t lens[] = {1, 2, 7, (size_t)h->rra[a].rows, (size_t)h->rra[a].rows + 3};
		const int64_t shifts[] = {0, 1, 5, -3, (int64_t)h->rra[a].rows, -(int64_t)h->rra[a].rows - 2};
		for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
			for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
				if (lens[l] > 100000)
					continue;
				int64_t first = end - (int64_t)(lens[l] - 1) * step + shifts[s] * step;
				struct rrdread_run runs[2];
				size_t n_runs = 9;
				if (rrdread_plan(h, h->rra[a].cf, step, first, lens[l], runs, &n_runs) < 0)
					abort(); /* the archive exists */
				if (n_runs > 2)
					abort();
				size_t next_at = 0, used = 0; /* the first archive of that cf and step is read */
				while (strcmp(h->rra[used].cf, h->rra[a].cf) != 0 ||
				       (int64_t)h->rra[used].pdp_cnt * h->pdp_step != step)
					used++;
				for (size_t r = 0; r < n_runs; r++) {
					uint64_t from = h->rra[used].offset, to = from + h->rra[used].rows * row_bytes;
					if (runs[r].count == 0 || runs[r].at < next_at || runs[r].at + runs[r].count > lens[l] ||
					    runs[r].offset < from || runs[r].offset + runs[r].count * row_bytes > to ||
					    to > file_size || (runs[r].offset - from) % row_bytes)
						abort();
					next_at = runs[r].at + runs[r].count;
				}
			}
	}
	struct rrdread_run runs[2];
	size_t n_runs;
	if (rrdread_plan(h, "NOSUCHCF", h->pdp_step, 0, 4, runs, &n_runs) != -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint64_t extra = (uint64_t)data[0] | (uint64_t)data[1] << 8 | (uint64_t)data[2] << 16 | (uint64_t)data[3] << 24;
	const uint8_t *file = data + 4;
	size_t len = size - 4;
	uint64_t file_size = len + extra;
	struct rrdread_header h;
	char err[256];
	(void)rrdread_header_need(file, len);
	if (rrdread_parse(file, len, file_size, &h, err, sizeof err) < 0) {
		if (!err[0])
			abort(); /* a refusal says why */
		return 0;
	}
	uint64_t at = h.header_len;
	for (size_t a = 0; a < h.n_rra; a++) {
		if (h.rra[a].offset != at || h.rra[a].cur_row >= h.rra[a].rows)
			abort();
		at += h.rra[a].rows * h.n_ds * sizeof(double);
	}
	if (at > file_size || h.header_len > len)
		abort();
	check_plans(&h, file_size);
	return 0;
}
