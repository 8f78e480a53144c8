/*
 * simstory_mon: the household monitoring records (防返贫监测户), as the
 * monitoring system would send them. Every household step_monitoring counts
 * as flagged gets a record: identified within days, help in place within two
 * weeks (a few sudden-hardship cases have their risk removed instead), so no
 * alert; one scripted case after an opening act waits past the 15-day limit.
 * Flags rotate through a roster of households per village and category, so a
 * start can send the whole roster's state and mend what an earlier run left.
 */
#include "simstory_int.h"

#include "cst.h"

#include <math.h>
#include <string.h>

#define ROSTER 24        /* households a category's flags rotate through: >= 16, so two episodes never overlap */
#define MAX_LAG_DAYS 13  /* from the day of a flag to its last event, at most */
#define LOOKBACK 40      /* roster rounds searched back for a household's latest episode */

enum { CAT_AT_RISK, CAT_HARDSHIP, CAT_UNSTABLE, CATS };
static const char *const category_names[CATS] = { "at_risk", "hardship", "unstable" };
static const char *const step_names[] = { "identified_at", "helped_at", "risk_removed_at" };

unsigned simstory_mon_flags(const struct simstory *s, size_t index, int32_t day, uint64_t *hash)
{
	double p_new = s->g->regions[s->villages[index].region].monitored_hh / 60.0;
	uint64_t h = demogen_hash(s->g->params.seed ^ 0x6d6f6eu, (uint64_t)index << 24 ^ (uint64_t)day);
	if (hash)
		*hash = h;
	double u[3];
	for (int i = 0; i < 3; i++)
		u[i] = (double)((h >> (16 * i)) & 0xffff) / 65536;
	return (unsigned)(u[0] < p_new) << CAT_AT_RISK | (unsigned)(u[1] < p_new / 3) << CAT_HARDSHIP |
	       (unsigned)(u[2] < p_new / 2) << CAT_UNSTABLE;
}

/* The household numbers a category draws from: the registered first (as the payments use), then the others. */
static void number_range(const struct simstory *s, size_t index, int c, unsigned *first, unsigned *count)
{
	const struct demogen_region *r = &s->g->regions[s->villages[index].region];
	unsigned poor = r->poor_hh, all = (unsigned)(r->population / 3.1);
	if (all < poor + 2)
		all = poor + 2;
	unsigned half = (all - poor) / 2;
	*first = c == CAT_UNSTABLE ? 1 : c == CAT_AT_RISK ? poor + 1 : poor + 1 + half;
	*count = c == CAT_UNSTABLE ? poor : c == CAT_AT_RISK ? half : all - poor - half;
}

static unsigned roster_size(const struct simstory *s, size_t index, int c)
{
	unsigned first, count;
	number_range(s, index, c, &first, &count);
	return count < ROSTER ? count : ROSTER;
}

static int32_t mod(int32_t a, int32_t m) { return (a % m + m) % m; }

/* The household a flag of `day` falls on: a fixed shuffle of the range, one place per day of the roster's round. */
static unsigned household_number(const struct simstory *s, size_t index, int c, int32_t day)
{
	unsigned first, count, roster = roster_size(s, index, c);
	number_range(s, index, c, &first, &count);
	uint64_t shift = demogen_hash(s->g->params.seed ^ 0x726f73u, (uint64_t)index * CATS + (uint64_t)c) % count;
	/* 7919 is a prime above any village's count, so the shuffle is one to one */
	return first + (unsigned)((7919u * (uint64_t)mod(day, (int32_t)roster) + shift) % count);
}

static bool scripted(const struct simstory *s) { return s->opening_played && s->mon_village != SIZE_MAX; }

static int32_t script_day(const struct simstory *s)
{
	return (int32_t)floor(simstory_trend_day_at(s, SIMSTORY_MON_FLAGGED * DAY));
}

static bool is_script(const struct simstory *s, size_t index, int32_t day, int c)
{
	return scripted(s) && index == s->mon_village && c == CAT_AT_RISK && day == script_day(s);
}

/* A flag that opens an episode: none of the household's previous flags is younger than 16 days. */
static bool opens_episode(const struct simstory *s, size_t index, int32_t day, int c)
{
	if (is_script(s, index, day, c))
		return true;
	if (!(simstory_mon_flags(s, index, day, NULL) >> c & 1))
		return false;
	int32_t roster = (int32_t)roster_size(s, index, c);
	for (int32_t back = roster; back <= 15; back += roster)
		if (simstory_mon_flags(s, index, day - back, NULL) >> c & 1)
			return false;
	return true;
}

/*
 * An episode's times (simulated seconds; INFINITY for never): flagged,
 * identified, helped, risk removed. At speed 1 or more the two weeks to help
 * take no more real time, so a live flag is never overdue on the real clock.
 */
struct episode {
	double at[4];
};

static void episode_of(const struct simstory *s, size_t index, int32_t day, int c, struct episode *ep)
{
	uint64_t h = demogen_hash(demogen_hash(s->g->params.seed ^ 0x657069u, index), (uint64_t)(int64_t)day * CATS + (uint64_t)c);
	double u[4];
	for (int i = 0; i < 4; i++)
		u[i] = (double)((h >> (16 * i)) & 0xffff) / 65536;
	double midnight = (double)cst_day_start(s->g->params.anchor_day) + day * DAY - s->opt.start;
	ep->at[0] = midnight + (8 + 10 * u[0]) * HOUR; /* a visit or a check in office hours */
	bool removed = c == CAT_HARDSHIP && u[3] < 0.15; /* the hardship passed (insurance paid, work found) */
	ep->at[1] = ep->at[0] + (0.5 + (removed ? 2 : 3) * u[1]) * DAY;
	ep->at[2] = removed ? INFINITY : ep->at[1] + (2 + 6 * u[2]) * DAY;
	ep->at[3] = removed ? ep->at[1] + (2 + 4 * u[2]) * DAY : INFINITY;
	if (is_script(s, index, day, c)) {
		ep->at[1] = ep->at[0] + SIMSTORY_MON_IDENTIFIED * DAY;
		ep->at[2] = SIMSTORY_MON_HELPED * DAY;
	}
}

/* One household's record as of simulated time `asof`: every time, null for those still to come. */
static void record(struct simstory *s, size_t index, int32_t day, int c, const struct episode *ep, double asof,
		   size_t *in_batch, const char *what)
{
	char household[32];
	size_t region = s->villages[index].region;
	simstory_household_id(s, region, household_number(s, index, c, day), household, sizeof household);
	if (*in_batch == 0)
		simstory_begin(s, "households");
	simstory_item_separator(s);
	simhttp_buf_printf(&s->body, "{\"household\":\"%s\",\"village\":\"%s\",\"category\":\"%s\",\"flagged_at\":%lld",
			   household, s->g->regions[region].code, category_names[c], (long long)simstory_real(s, ep->at[0]));
	for (int k = 1; k < 4; k++)
		if (ep->at[k] <= asof)
			simhttp_buf_printf(&s->body, ",\"%s\":%lld", step_names[k - 1], (long long)simstory_real(s, ep->at[k]));
		else
			simhttp_buf_printf(&s->body, ",\"%s\":null", step_names[k - 1]);
	simhttp_buf_add(&s->body, "}", 1);
	if (++*in_batch == SIMSTORY_MAX_ITEMS) {
		simstory_finish(s, SIMSTORY_MONITORING, what);
		*in_batch = 0;
	}
}

/* Every roster household's latest episode as of the start (an old, settled one when none is found). */
static void send_rosters(struct simstory *s)
{
	const char *what = "monitored households as of the start";
	int32_t today = (int32_t)floor(simstory_trend_day_at(s, 0));
	size_t in_batch = 0;
	struct episode ep;
	for (size_t i = 0; i < s->village_count; i++)
		for (int c = 0; c < CATS; c++) {
			int32_t roster = (int32_t)roster_size(s, i, c);
			for (int32_t k = 0; k < roster; k++) {
				int32_t day = today - mod(today - k, roster);
				for (int r = 0; r < LOOKBACK; r++, day -= roster) {
					if (!opens_episode(s, i, day, c))
						continue;
					episode_of(s, i, day, c, &ep);
					if (ep.at[0] <= 0)
						break;
				}
				episode_of(s, i, day, c, &ep);
				record(s, i, day, c, &ep, 0, &in_batch, what);
			}
		}
	if (in_batch)
		simstory_finish(s, SIMSTORY_MONITORING, what);
}

/*
 * The records of every episode with news in (from, to]: flagged, identified,
 * helped or its risk removed. Silent townships' households too: the records
 * come from the national monitoring system, not the township's own reports.
 */
static void send_news(struct simstory *s, double from, double to)
{
	const char *what = "monitored households: flagged, identified, helped";
	int32_t first = (int32_t)floor(simstory_trend_day_at(s, from)) - MAX_LAG_DAYS - 1;
	int32_t last = (int32_t)floor(simstory_trend_day_at(s, to));
	size_t in_batch = 0;
	struct episode ep;
	for (size_t i = 0; i < s->village_count; i++)
		for (int32_t day = first; day <= last; day++) {
			unsigned flags = simstory_mon_flags(s, i, day, NULL);
			for (int c = 0; flags && c < CATS; c++) {
				if (!(flags >> c & 1) || !opens_episode(s, i, day, c))
					continue;
				episode_of(s, i, day, c, &ep);
				for (int k = 0; k < 4; k++)
					if (ep.at[k] > from && ep.at[k] <= to) {
						record(s, i, day, c, &ep, to, &in_batch, what);
						break;
					}
			}
		}
	if (scripted(s) && SIMSTORY_MON_HELPED * DAY > from && SIMSTORY_MON_HELPED * DAY <= to) {
		episode_of(s, s->mon_village, script_day(s), CAT_AT_RISK, &ep);
		record(s, s->mon_village, script_day(s), CAT_AT_RISK, &ep, to, &in_batch, what);
	}
	if (in_batch)
		simstory_finish(s, SIMSTORY_MONITORING, what);
}

double simstory_mon_advance(struct simstory *s, double e)
{
	if (!s->mon_started) {
		s->mon_started = true;
		s->mon_e = 0;
		if (s->opening_played || s->history_known)
			send_rosters(s);
	}
	double step = s->mon_period, help = scripted(s) ? SIMSTORY_MON_HELPED * DAY : INFINITY;
	if (e >= s->mon_e + step || (help > s->mon_e && help <= e)) {
		send_news(s, s->mon_e, e);
		s->mon_e = e;
	}
	return help > s->mon_e ? fmin(help, s->mon_e + step) : s->mon_e + step;
}

void simstory_mon_cast(struct simstory *s)
{
	s->mon_village = SIZE_MAX;
	size_t n = s->village_count, silent = simstory_silent_township(s, 0);
	size_t offset = n ? (size_t)(demogen_hash(s->g->params.seed, 0x6d6f6e) % n) : 0;
	/* a village whose township keeps reporting, with a full roster: its long episode overlaps no other */
	for (size_t k = 0; k < n && s->mon_village == SIZE_MAX; k++) {
		size_t i = (offset + k) % n;
		if (s->villages[i].township != silent && roster_size(s, i, CAT_AT_RISK) == ROSTER)
			s->mon_village = i;
	}
}

bool simstory_mon_script(const struct simstory *s, char *household, size_t cap, size_t *village, double *flagged)
{
	if (s->mon_village == SIZE_MAX)
		return false;
	struct episode ep;
	int32_t day = (int32_t)floor(simstory_trend_day_at(s, SIMSTORY_MON_FLAGGED * DAY));
	size_t region = s->villages[s->mon_village].region;
	simstory_household_id(s, region, household_number(s, s->mon_village, CAT_AT_RISK, day), household, cap);
	episode_of(s, s->mon_village, day, CAT_AT_RISK, &ep);
	*village = region;
	*flagged = ep.at[0];
	return true;
}
