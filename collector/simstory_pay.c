/*
 * simstory_pay: the story's card payments (一卡通). Who a batch pays is a
 * function of the seed, the period it pays for and the village, so batch
 * and payment numbers are too: a restart of the simulator in the same month
 * sends the same payments and the server's unique payment_no turns them into
 * duplicates instead of second payments. The money a village is allocated is
 * what its batches will pay, from the first day of each cycle.
 *
 * Live month cycle m (every 30 days from the run start), period start + m:
 *   0d 02:00  A 公益岗位补贴 (县人社局)  results 0d 08:00: 3 failed, one per reason
 *   0d 10:00  B 产业奖补 (县农业农村局)  results 0d 16:00: 2 failed (账户冻结, 户名不符)
 *   1d 09:00  C 教育资助 (县教育局)      results only 2d 15:00, 30 h late; 1 failed (卡已注销)
 *   2d 09:00  D 生态护林员补助 (县林业局) results 2d 13:00, all paid
 *   2d 18:00  A's failures reissued (within 3 days)     paid 3d 10:00
 *   3d 09:00  C's failure reissued to a new card        paid 3d 15:00
 *   4d 10:00  E 产业奖补 by 县扶贫办 with 3 households B paid in the same period:
 *             the duplicate subsidy                     paid 4d 16:00
 *   6d 10:00  B's failures reissued late (after 3 days) paid 7d 09:00
 * The opening act (real time before the start): cycle -2 (36 days back,
 * period start - 2) A-D all paid; cycle -1 (6 days back, period start - 1)
 * A and B with their failures left unreissued, C submitted 30 h back and
 * never answered, D paid, E the duplicate. The run answers them early on.
 */
#include "simstory_int.h"

#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	uint8_t fund, share, per_village, failures; /* one village in `share` gets 1..per_village payments */
	uint8_t first_reason;                       /* failures take demogen_reasons from here on */
} pay_plans[PAY_BATCHES] = {
	[PAY_A] = { DEMOGEN_FUND_WELFARE_JOB, 3, 3, 3, 0 }, [PAY_B] = { DEMOGEN_FUND_INDUSTRY, 2, 2, 2, 2 },
	[PAY_C] = { DEMOGEN_FUND_EDUCATION, 4, 1, 1, 1 }, [PAY_D] = { DEMOGEN_FUND_FORESTER, 5, 1, 0, 0 },
	[PAY_E] = { DEMOGEN_FUND_INDUSTRY_OFFICE, 10, 1, 0, 0 },
};
static const char *const step_names[] = { "batch", "bank results", "reissue", "reissue results" };
static const struct pay_event {
	double at;
	uint8_t step, batch;
	const char *note;
} pay_events[] = {
	{ 2 * HOUR, SUBMIT, PAY_A, "" }, { 8 * HOUR, RESULTS, PAY_A, "3 failed: one per reason" },
	{ 10 * HOUR, SUBMIT, PAY_B, "" }, { 16 * HOUR, RESULTS, PAY_B, "2 failed (账户冻结, 户名与身份证号不符)" },
	{ DAY + 9 * HOUR, SUBMIT, PAY_C, "the late bank: no results for 30 h" },
	{ 2 * DAY + 9 * HOUR, SUBMIT, PAY_D, "" }, { 2 * DAY + 13 * HOUR, RESULTS, PAY_D, "all paid" },
	{ 2 * DAY + 15 * HOUR, RESULTS, PAY_C, "30 h after the funds reached the bank; 1 failed (卡已注销)" },
	{ 2 * DAY + 18 * HOUR, REISSUE, PAY_A, "within the 3-day limit" },
	{ 3 * DAY + 9 * HOUR, REISSUE, PAY_C, "to a new card" },
	{ 3 * DAY + 10 * HOUR, REISSUE_RESULTS, PAY_A, "paid" }, { 3 * DAY + 15 * HOUR, REISSUE_RESULTS, PAY_C, "paid" },
	{ 4 * DAY + 10 * HOUR, SUBMIT, PAY_E, "incl. 3 households B paid: the duplicate subsidy" },
	{ 4 * DAY + 16 * HOUR, RESULTS, PAY_E, "all paid" },
	{ 6 * DAY + 10 * HOUR, REISSUE, PAY_B, "late: after the 3-day limit" },
	{ 7 * DAY + 9 * HOUR, REISSUE_RESULTS, PAY_B, "paid" },
};
#define PAY_EVENTS (sizeof pay_events / sizeof pay_events[0])

/* The opening act's cycles: when they began (simulated seconds) and how many batches they had. */
#define OPEN_FIRST_CYCLE (-2)
static const double open_cycle_start[] = { -36 * DAY, -6 * DAY };
static const int open_cycle_batches[] = { PAY_D + 1, PAY_BATCHES };
#define LATE_BANK_AT (-30 * HOUR)   /* the opening's C reached the bank 30 h before the start */

/* Answers to the opening's trouble in the run (simulated time from the start). */
static const struct pay_event answers[] = {
	{ 6 * HOUR, RESULTS, PAY_C, "the late bank's results for period start-1 at last: payment_overdue resolves" },
	{ 12 * HOUR, REISSUE, PAY_A, "period start-1 failures reissued" },
	{ 12 * HOUR, REISSUE, PAY_B, "period start-1 failures reissued" },
	{ 18 * HOUR, REISSUE_RESULTS, PAY_A, "paid: payment_failed resolves" },
	{ 18 * HOUR, REISSUE_RESULTS, PAY_B, "paid" },
};
#define ANSWERS (sizeof answers / sizeof answers[0])

static double cycle_start(int cycle)
{
	return cycle < 0 ? open_cycle_start[cycle - OPEN_FIRST_CYCLE] : cycle * MONTH;
}

static int cycle_batches(int cycle) { return cycle < 0 ? open_cycle_batches[cycle - OPEN_FIRST_CYCLE] : PAY_BATCHES; }

static uint64_t pay_hash(const struct simstory *s, int period, int batch, uint64_t what)
{
	return demogen_hash(demogen_hash(s->g->params.seed, (uint64_t)period * 16 + (uint64_t)batch + 1000), what);
}

/* How many payments batch `batch` of `period` makes in village i (0: none), and the hash that chose them. */
static unsigned village_share(const struct simstory *s, int period, int batch, size_t i, uint64_t *hash)
{
	uint64_t h = pay_hash(s, period, batch, i);
	*hash = h;
	/* E pays households of villages B did not: apart from the three it pays twice */
	if (h % pay_plans[batch].share != 0 ||
	    (batch == PAY_E && pay_hash(s, period, PAY_B, i) % pay_plans[PAY_B].share == 0))
		return 0;
	unsigned poor = s->g->regions[s->villages[i].region].poor_hh;
	double per = round((1 + (double)((h >> 8) % pay_plans[batch].per_village)) * s->pay_scale);
	return per < 1 ? 1 : per > poor ? poor : (unsigned)per;
}

static int64_t payment_amount(int batch, unsigned amount_step)
{
	const struct demogen_fund *fund = &demogen_funds[pay_plans[batch].fund];
	/* industry awards vary with the household's plan: 2,000 to 5,000 yuan */
	return batch == PAY_B || batch == PAY_E ? 100000 * (2 + (int64_t)amount_step) : fund->amount_fen;
}

double simstory_village_alloc(const struct simstory *s, size_t i, double e)
{
	double total = 0;
	/* the opening's months count when they were paid: in this run or an earlier one */
	for (int c = s->opening_played || s->history_known ? OPEN_FIRST_CYCLE : 0; cycle_start(c) <= e; c++)
		for (int b = 0; b < cycle_batches(c); b++) {
			uint64_t h;
			unsigned n = village_share(s, s->base_period + c, b, i, &h);
			total += (double)n * (double)payment_amount(b, (unsigned)(h >> 40) % 4);
		}
	return total;
}

/* Payments a month cycle makes at the current scale (cycle 0's: the others are alike). */
static double cycle_payments(const struct simstory *s)
{
	double n = 0;
	for (int b = 0; b < PAY_BATCHES; b++)
		for (size_t i = 0; i < s->village_count; i++) {
			uint64_t h;
			n += village_share(s, s->base_period, b, i, &h);
		}
	return n;
}

void simstory_pay_init(struct simstory *s)
{
	s->pay_scale = 1;
	/* scale the story's own counts to the payments asked for; small villages cap it, so measure twice more */
	for (int round = 0; round < 3 && s->opt.payments > 0; round++) {
		double made = cycle_payments(s);
		if (made > 0)
			s->pay_scale *= s->opt.payments / made;
	}
}

static void add_payment(struct pay_batch *b, struct payment p)
{
	if (b->count == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->items = xreallocarray(b->items, b->cap, sizeof *b->items);
	}
	b->items[b->count++] = p;
}

/* Who a batch pays; `dups` (E only): the batch whose paid households it pays again. */
static void plan_batch(const struct simstory *s, struct pay_batch *b, int period, int batch, bool failures,
		       const struct pay_batch *dups)
{
	b->count = 0;
	b->period = period;
	b->letter = batch;
	for (size_t i = 0, copied = 0; dups && i < dups->count && copied < 3; i++)
		if (dups->items[i].reason < 0) {
			add_payment(b, dups->items[i]);
			copied++;
		}
	for (size_t i = 0; i < s->village_count; i++) {
		uint64_t h;
		unsigned per = village_share(s, period, batch, i, &h), poor = s->g->regions[s->villages[i].region].poor_hh;
		for (unsigned j = 0; j < per; j++)
			add_payment(b, (struct payment){ s->villages[i].region, (uint16_t)(1 + ((h >> 16) % poor + j) % poor), -1,
							 (uint8_t)((h >> 40) % 4) });
	}
	for (unsigned f = 0; failures && f < pay_plans[batch].failures && f < b->count; f++) {
		size_t at = pay_hash(s, period, batch, 0xfa11u + f) % b->count;
		while (b->items[at].reason >= 0)
			at = (at + 1) % b->count;
		b->items[at].reason = (int8_t)((f + pay_plans[batch].first_reason) % 3);
	}
}

/* Household n (1-based) of a village: its 户编号, and its masked card (a new card per version). */
static void household_id(const struct simstory *s, size_t region, unsigned n, char *out, size_t cap)
{
	snprintf(out, cap, "%s%04u", s->g->regions[region].code, n);
}

static void household_card(const struct simstory *s, size_t region, unsigned n, unsigned version, char *out, size_t cap)
{
	static const char *const banks[] = { "6217", "6228", "6221", "6230" }; /* 建行, 农行, 农信, 农商 */
	uint64_t h = demogen_hash(demogen_hash(s->g->params.seed, region), (uint64_t)n << 8 | version);
	snprintf(out, cap, "%s****%04u", banks[h % 4], (unsigned)(h >> 8) % 10000u);
}

static void batch_no(const struct simstory *s, const struct pay_batch *b, bool reissue, char *out, size_t cap)
{
	snprintf(out, cap, "YKT-%.6s-%04d%02d-%c%s", s->g->params.code, b->period / 12, b->period % 12 + 1,
		 'A' + b->letter, reissue ? "R" : "");
}

/* Payment number: period, batch letter and household, so the same payment always has the same number. */
static void payment_no(const struct simstory *s, const struct pay_batch *b, const struct payment *p, bool reissue,
		       char *out, size_t cap)
{
	char household[32];
	household_id(s, p->region, p->household, household, sizeof household);
	snprintf(out, cap, "%04d%02d%c-%s%s", b->period / 12, b->period % 12 + 1, 'A' + b->letter, household,
		 reissue ? "R" : "");
}

static void batch_header(struct simstory *s, const struct pay_batch *b, bool reissue, double submitted, double funds)
{
	const struct demogen_fund *fund = &demogen_funds[pay_plans[b->letter].fund];
	char number[64];
	batch_no(s, b, reissue, number, sizeof number);
	simstory_begin_envelope(s);
	simhttp_buf_printf(&s->body, "\"batch\":{\"batch_no\":\"%s\",\"department\":\"%s\",\"fund_type\":\"%s\","
			   "\"period\":\"%04d-%02d\",\"submitted\":%lld", number, fund->department, fund->fund_type,
			   b->period / 12, b->period % 12 + 1, (long long)submitted);
	if (funds > 0)
		simhttp_buf_printf(&s->body, ",\"funds_at_bank\":%lld", (long long)funds);
	simhttp_buf_add(&s->body, "},\"payments\":[", 14);
}

static void payment_item(struct simstory *s, const struct pay_batch *b, const struct payment *p, bool reissue)
{
	char number[64], household[32], card[32];
	payment_no(s, b, p, reissue, number, sizeof number);
	household_id(s, p->region, p->household, household, sizeof household);
	/* a closed card (卡已注销) is paid again to the household's new card */
	household_card(s, p->region, p->household, reissue && p->reason == 1, card, sizeof card);
	simstory_item_separator(s);
	simhttp_buf_printf(&s->body, "{\"payment_no\":\"%s\",\"household\":\"%s\",\"card\":\"%s\",\"amount_fen\":%lld,"
			   "\"village\":\"%s\"", number, household, card,
			   (long long)payment_amount(b->letter, p->amount_step), s->g->regions[p->region].code);
	if (reissue) {
		payment_no(s, b, p, false, number, sizeof number);
		simhttp_buf_printf(&s->body, ",\"reissue_of\":\"%s\"", number);
	}
	simhttp_buf_add(&s->body, "}", 1);
}

/*
 * One step of a batch at real time ts: the office's payments (with the day
 * the funds reached the bank, unless `funds_later`) or the bank's results,
 * first or reissued, split to fit.
 */
static void send_step(struct simstory *s, const struct pay_batch *b, enum pay_step step, double ts, bool funds_later,
		      const char *what)
{
	bool reissue = step == REISSUE || step == REISSUE_RESULTS, results = step == RESULTS || step == REISSUE_RESULTS;
	enum simstory_kind kind = results ? SIMSTORY_PAYMENT_RESULTS : SIMSTORY_PAYMENT_BATCH;
	char number[64];
	size_t in_batch = 0;
	for (size_t i = 0; i < b->count; i++) {
		const struct payment *p = &b->items[i];
		if (reissue && p->reason < 0)
			continue;
		if (in_batch == 0 && results)
			simstory_begin(s, "results");
		else if (in_batch == 0)
			batch_header(s, b, reissue, ts, funds_later ? 0 : ts);
		if (results) {
			bool failed = !reissue && p->reason >= 0;
			payment_no(s, b, p, reissue, number, sizeof number);
			simstory_item_separator(s);
			simhttp_buf_printf(&s->body, "{\"payment_no\":\"%s\",\"status\":\"%s\",\"at\":%lld", number,
					   failed ? "failed" : "paid", (long long)ts);
			if (failed)
				simhttp_buf_printf(&s->body, ",\"reason\":\"%s\"", demogen_reasons[p->reason]);
			simhttp_buf_add(&s->body, "}", 1);
		} else {
			payment_item(s, b, p, reissue);
		}
		if (++in_batch == SIMSTORY_MAX_ITEMS) {
			simstory_finish(s, kind, what);
			in_batch = 0;
		}
	}
	if (in_batch)
		simstory_finish(s, kind, what);
}

/*
 * The day the funds reached the bank, given after the results: the batch's
 * header again with its first payment (a duplicate the server ignores). The
 * opening act dates its settled batches this way, so that no engine pass
 * between a past batch and its results sees it waiting on the bank.
 */
static void send_funds_date(struct simstory *s, const struct pay_batch *b, double submitted, const char *what)
{
	if (b->count == 0)
		return;
	batch_header(s, b, false, submitted, submitted);
	payment_item(s, b, &b->items[0], false);
	simstory_finish(s, SIMSTORY_PAYMENT_BATCH, what);
}

static void describe(char *what, size_t cap, const char *when, const struct pay_batch *b, enum pay_step step)
{
	const struct demogen_fund *fund = &demogen_funds[pay_plans[b->letter].fund];
	snprintf(what, cap, "%s %04d-%02d %c %s %s (%s)", when, b->period / 12, b->period % 12 + 1, 'A' + b->letter,
		 fund->fund_type, step_names[step], fund->department);
}

/* A settled past batch: submitted at e, paid (less its planned failures) `after` later, then dated. */
static void settled_batch(struct simstory *s, struct pay_batch *b, double e, double after)
{
	char what[160];
	double ts = simstory_real(s, e);
	describe(what, sizeof what, "history", b, SUBMIT);
	send_step(s, b, SUBMIT, ts, true, what);
	describe(what, sizeof what, "history", b, RESULTS);
	send_step(s, b, RESULTS, simstory_real(s, e + after), false, what);
	send_funds_date(s, b, ts, "history: the day the funds reached the bank");
}

void simstory_pay_history(struct simstory *s)
{
	struct pay_batch *o = s->opening;
	int period = s->base_period + OPEN_FIRST_CYCLE;
	static const double submit_at[PAY_BATCHES] = { 2 * HOUR, 10 * HOUR, DAY + 9 * HOUR, 2 * DAY + 9 * HOUR, 4 * DAY + 10 * HOUR };
	for (int b = PAY_A; b < open_cycle_batches[0]; b++) { /* a quiet month: everything paid */
		plan_batch(s, &o[b], period, b, false, NULL);
		settled_batch(s, &o[b], cycle_start(OPEN_FIRST_CYCLE) + submit_at[b], 6 * HOUR);
	}
	period++;
	double c1 = cycle_start(OPEN_FIRST_CYCLE + 1);
	plan_batch(s, &o[PAY_A], period, PAY_A, true, NULL);
	settled_batch(s, &o[PAY_A], c1 + submit_at[PAY_A], 6 * HOUR); /* 3 failed, never reissued */
	plan_batch(s, &o[PAY_B], period, PAY_B, true, NULL);
	settled_batch(s, &o[PAY_B], c1 + submit_at[PAY_B], 6 * HOUR); /* 2 failed, never reissued */
	plan_batch(s, &o[PAY_D], period, PAY_D, false, NULL);
	settled_batch(s, &o[PAY_D], c1 + submit_at[PAY_D], 4 * HOUR);
	plan_batch(s, &o[PAY_E], period, PAY_E, false, &o[PAY_B]);
	settled_batch(s, &o[PAY_E], c1 + submit_at[PAY_E], 6 * HOUR); /* the duplicate subsidy */
	char what[160];
	plan_batch(s, &o[PAY_C], period, PAY_C, false, NULL);
	describe(what, sizeof what, "history: the late bank", &o[PAY_C], SUBMIT);
	send_step(s, &o[PAY_C], SUBMIT, simstory_real(s, LATE_BANK_AT), false, what);
}

static void run_event(struct simstory *s, const struct pay_event *ev, struct pay_batch *b, double now, const char *when)
{
	char what[200];
	describe(what, sizeof what, when, b, (enum pay_step)ev->step);
	send_step(s, b, (enum pay_step)ev->step, now, false, what);
}

double simstory_pay_advance(struct simstory *s, double e, double now)
{
	for (;;) {
		double live = (double)s->month * MONTH + pay_events[s->next_event].at;
		double answer = s->opening_played && s->next_answer < ANSWERS ? answers[s->next_answer].at : INFINITY;
		if (fmin(live, answer) > e)
			return fmin(live, answer);
		if (answer <= live) {
			const struct pay_event *ev = &answers[s->next_answer++];
			run_event(s, ev, &s->opening[ev->batch], now, "answer:");
			continue;
		}
		const struct pay_event *ev = &pay_events[s->next_event];
		struct pay_batch *b = &s->batches[ev->batch];
		if (ev->step == SUBMIT)
			plan_batch(s, b, s->base_period + (int)s->month, ev->batch, true,
				   ev->batch == PAY_E ? &s->batches[PAY_B] : NULL);
		char when[32];
		snprintf(when, sizeof when, "month %zu", s->month);
		run_event(s, ev, b, now, when);
		if (++s->next_event == PAY_EVENTS) {
			s->next_event = 0;
			s->month++;
		}
	}
}

bool simstory_pay_event(size_t i, double *at, char *batch, const struct demogen_fund **fund, const char **step,
			const char **note)
{
	if (i >= PAY_EVENTS)
		return false;
	*at = pay_events[i].at;
	*batch = (char)('A' + pay_events[i].batch);
	*fund = &demogen_funds[pay_plans[pay_events[i].batch].fund];
	*step = step_names[pay_events[i].step];
	*note = pay_events[i].note;
	return true;
}

bool simstory_pay_answer(size_t i, double *at, char *what, size_t cap)
{
	if (i >= ANSWERS)
		return false;
	const struct demogen_fund *fund = &demogen_funds[pay_plans[answers[i].batch].fund];
	*at = answers[i].at;
	snprintf(what, cap, "%c %s %s: %s", 'A' + answers[i].batch, fund->fund_type, step_names[answers[i].step],
		 answers[i].note);
	return true;
}

void simstory_pay_roles(const struct simstory *s, FILE *out)
{
	const struct pay_batch *o = s->opening;
	char text[64];
	fprintf(out, "\"payment_overdue\":[");
	if (o[PAY_C].count) {
		batch_no(s, &o[PAY_C], false, text, sizeof text);
		fprintf(out, "\"%s\"", text);
	}
	/* one alert per village with failures, in village order */
	fprintf(out, "],\"payment_failed\":[");
	for (size_t r = 0, n = 0; r < s->g->region_count; r++) {
		bool hit = false;
		for (int b = PAY_A; b <= PAY_B; b++)
			for (size_t i = 0; i < o[b].count; i++)
				hit |= o[b].items[i].region == r && o[b].items[i].reason >= 0;
		if (hit)
			fprintf(out, "%s\"%s\"", n++ ? "," : "", s->g->regions[r].code);
	}
	fprintf(out, "],\"duplicate_subsidy\":[");
	const struct demogen_fund *fund = &demogen_funds[pay_plans[PAY_E].fund];
	for (size_t i = 0; i < o[PAY_E].count && i < 3; i++) {
		char household[32];
		household_id(s, o[PAY_E].items[i].region, o[PAY_E].items[i].household, household, sizeof household);
		fprintf(out, "%s\"%s/%s/%04d-%02d\"", i ? "," : "", household, fund->fund_type, o[PAY_E].period / 12,
			o[PAY_E].period % 12 + 1);
	}
	fprintf(out, "]");
}

void simstory_pay_free(struct simstory *s)
{
	for (int b = 0; b < PAY_BATCHES; b++) {
		free(s->batches[b].items);
		free(s->opening[b].items);
	}
}
