/*
 * alert_text: names and words. Rows keep a structured detail (JSON) and two
 * messages rendered from it here, in Chinese for the office and in English,
 * so the API, the wall ticker and the webhooks all say the same thing.
 * Money is shown in yuan from integer fen; times in Asia/Shanghai.
 */
#include "alert_int.h"

#include "cst.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const rule_names[ALERT_RULES] = {
	[ALERT_PAYMENT_OVERDUE] = "payment_overdue", [ALERT_PAYMENT_FAILED] = "payment_failed",
	[ALERT_ALLOC_DELAYED] = "alloc_delayed", [ALERT_IDLE_FUNDS] = "idle_funds",
	[ALERT_DUPLICATE_SUBSIDY] = "duplicate_subsidy", [ALERT_PROJECT_BEHIND] = "project_behind",
	[ALERT_PROJECT_STALLED] = "project_stalled", [ALERT_PROJECT_SILENT] = "project_silent",
	[ALERT_MILESTONE_OVERDUE] = "milestone_overdue", [ALERT_MONITORING_OVERDUE] = "monitoring_overdue",
	[ALERT_TOWNSHIP_SILENT] = "township_silent",
	[ALERT_VILLAGE_SILENT] = "village_silent",
};

static const char *const rule_titles[ALERT_RULES][2] = {
	[ALERT_PAYMENT_OVERDUE] = {"代发批次逾期未到账", "Payment batch overdue"},
	[ALERT_PAYMENT_FAILED] = {"发放失败未重发", "Failed payments not reissued"},
	[ALERT_ALLOC_DELAYED] = {"下达资金拨付滞后", "Allocated funds not paid out"},
	[ALERT_IDLE_FUNDS] = {"资金闲置", "Idle funds"},
	[ALERT_DUPLICATE_SUBSIDY] = {"重复发放补贴", "Duplicate subsidy"},
	[ALERT_PROJECT_BEHIND] = {"项目进度滞后", "Project behind schedule"},
	[ALERT_PROJECT_STALLED] = {"项目停滞", "Project stalled"},
	[ALERT_PROJECT_SILENT] = {"项目未报进度", "Project silent"},
	[ALERT_MILESTONE_OVERDUE] = {"项目节点逾期", "Milestone overdue"},
	[ALERT_MONITORING_OVERDUE] = {"监测户帮扶超期", "Monitored households not helped in time"},
	[ALERT_TOWNSHIP_SILENT] = {"乡镇数据中断", "Township silent"},
	[ALERT_VILLAGE_SILENT] = {"村级数据中断", "Village silent"},
};

static const char *const event_names[ALERT_EV_KINDS] = {
	"fired", "escalated", "acknowledged", "commented", "silenced", "unsilenced",
	"resolved", "reopened", "severity_changed", "grouped", "ungrouped",
};

static const char *const state_names[] = {"firing", "acknowledged", "silenced", "resolved"};

const char *alert_rule_name(enum alert_rule_id rule) { return rule < ALERT_RULES ? rule_names[rule] : "unknown"; }
const char *alert_rule_title(enum alert_rule_id rule, int zh) { return rule_titles[rule][zh ? 0 : 1]; }
const char *alert_event_name(enum alert_event_kind kind) { return kind < ALERT_EV_KINDS ? event_names[kind] : "unknown"; }
const char *alert_state_name(enum alert_state state) { return state_names[state]; }
const char *alert_severity_name(enum alert_severity severity)
{
	return severity == ALERT_CRITICAL ? "critical" : "warning";
}

int alert_rule_from_name(const char *name)
{
	for (int r = 0; name && r < ALERT_RULES; r++)
		if (strcmp(rule_names[r], name) == 0)
			return r;
	return -1;
}

int alert_severity_from_name(const char *name)
{
	if (name && strcmp(name, "critical") == 0)
		return ALERT_CRITICAL;
	return name && strcmp(name, "warning") == 0 ? ALERT_WARNING : 0;
}

int alert_state_from_name(const char *name)
{
	for (int s = 0; name && s < 4; s++)
		if (strcmp(state_names[s], name) == 0)
			return s;
	return -1;
}

int alert_event_from_name(const char *name)
{
	for (int k = 0; name && k < ALERT_EV_KINDS; k++)
		if (strcmp(event_names[k], name) == 0)
			return k;
	return -1;
}

void alert_fmt_yuan(int64_t fen, char *buf, size_t cap)
{
	int64_t a = fen < 0 ? -fen : fen;
	snprintf(buf, cap, "%s%" PRId64 ".%02" PRId64, fen < 0 ? "-" : "", a / 100, a % 100);
}

void alert_fmt_time(int64_t ts, char *buf, size_t cap)
{
	int64_t day = cst_day(ts), secs = ts + CST_OFFSET_S - day * 86400;
	char date[16];
	cst_date_format(day, date, sizeof date);
	snprintf(buf, cap, "%s %02d:%02d", date, (int)(secs / 3600), (int)(secs / 60 % 60));
}

/* ---- rendering ---- */

struct out {
	char *buf;
	size_t cap, len;
};

__attribute__((format(printf, 2, 3)))
static void add(struct out *o, const char *fmt, ...)
{
	if (o->len + 1 >= o->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n;
	if (o->len >= o->cap) { /* cut: never end in the middle of a UTF-8 character */
		o->len = o->cap - 1;
		while (o->len > 0 && ((unsigned char)o->buf[o->len] & 0xC0) == 0x80)
			o->len--;
		o->buf[o->len] = '\0';
	}
}

static const char *str(const json_t *d, const char *key)
{
	const char *s = json_string_value(json_object_get(d, key));
	return s ? s : "";
}

static int64_t num(const json_t *d, const char *key)
{
	json_t *v = json_object_get(d, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)llround(json_number_value(v));
}

static double real(const json_t *d, const char *key) { return json_number_value(json_object_get(d, key)); }

static const char *yuan(const json_t *d, const char *key, char *buf, size_t cap)
{
	alert_fmt_yuan(num(d, key), buf, cap);
	return buf;
}

static void render_payments(enum alert_rule_id rule, const char *name, const json_t *d, struct out *zh, struct out *en)
{
	char a[32], b[32];
	size_t i;
	json_t *item;
	switch (rule) {
	case ALERT_PAYMENT_OVERDUE:
		add(zh, "代发批次 %s（%s，%s %s）资金到行已 %" PRId64 " 小时，仍有 %" PRId64 " 笔共 %s 元未到账",
		    str(d, "batch_no"), str(d, "department"), str(d, "fund_type"), str(d, "period"), num(d, "hours"),
		    num(d, "waiting"), yuan(d, "waiting_fen", a, sizeof a));
		add(en, "Payment batch %s (%s, %s %s): %" PRId64 " payments, CNY %s, still not credited %" PRId64
		    " h after the funds reached the bank", str(d, "batch_no"), str(d, "department"), str(d, "fund_type"),
		    str(d, "period"), num(d, "waiting"), yuan(d, "waiting_fen", b, sizeof b), num(d, "hours"));
		break;
	case ALERT_PAYMENT_FAILED: {
		add(zh, "%s 有 %" PRId64 " 笔发放失败超过 %" PRId64 " 天未重新发放，共 %s 元。原因：", name,
		    num(d, "count"), num(d, "limit_days"), yuan(d, "amount_fen", a, sizeof a));
		add(en, "%s: %" PRId64 " failed payments (CNY %s) not reissued within %" PRId64 " days. Reasons: ", name,
		    num(d, "count"), yuan(d, "amount_fen", b, sizeof b), num(d, "limit_days"));
		const char *reason;
		json_t *count;
		int first = 1;
		json_object_foreach(json_object_get(d, "reasons"), reason, count) {
			add(zh, "%s%s×%" JSON_INTEGER_FORMAT, first ? "" : "；", reason, json_integer_value(count));
			add(en, "%s%s x%" JSON_INTEGER_FORMAT, first ? "" : "; ", reason, json_integer_value(count));
			first = 0;
		}
		break;
	}
	case ALERT_ALLOC_DELAYED:
		add(zh, "%s 下达资金中有 %s 元超过 %" PRId64 " 天未拨付（最早一笔已 %" PRId64 " 天；累计下达 %s 元）",
		    name, yuan(d, "overdue_fen", a, sizeof a), num(d, "limit_days"), num(d, "days"),
		    yuan(d, "allocated_fen", b, sizeof b));
		add(en, "%s: CNY %s of allocated funds not paid out within %" PRId64 " days (oldest waiting %" PRId64
		    " days)", name, yuan(d, "overdue_fen", a, sizeof a), num(d, "limit_days"), num(d, "days"));
		break;
	case ALERT_IDLE_FUNDS:
		add(zh, "%s 有 %s 元资金闲置满 %" PRId64 " 天", name, yuan(d, "idle_fen", a, sizeof a), num(d, "limit_days"));
		if (num(d, "seriously_idle_fen") > 0)
			add(zh, "，其中 %s 元满两年", yuan(d, "seriously_idle_fen", b, sizeof b));
		add(en, "%s: CNY %s idle for %" PRId64 " days or more", name, yuan(d, "idle_fen", a, sizeof a),
		    num(d, "limit_days"));
		if (num(d, "seriously_idle_fen") > 0)
			add(en, ", of which CNY %s for two years or more", yuan(d, "seriously_idle_fen", b, sizeof b));
		break;
	case ALERT_DUPLICATE_SUBSIDY:
		add(zh, "农户 %s 的 %s（%s）由 ", str(d, "household"), str(d, "fund_type"), str(d, "period"));
		add(en, "Household %s was paid %s for %s by ", str(d, "household"), str(d, "fund_type"), str(d, "period"));
		json_array_foreach(json_object_get(d, "departments"), i, item) {
			add(zh, "%s%s", i ? "、" : "", json_string_value(item));
			add(en, "%s%s", i ? " and " : "", json_string_value(item));
		}
		add(zh, " 重复发放，共 %s 元", yuan(d, "amount_fen", a, sizeof a));
		add(en, " (CNY %s in all)", yuan(d, "amount_fen", b, sizeof b));
		break;
	default:
		break;
	}
}

static void render_projects(enum alert_rule_id rule, const char *name, const json_t *d, struct out *zh, struct out *en)
{
	char when[32];
	size_t i;
	json_t *item;
	switch (rule) {
	case ALERT_PROJECT_BEHIND:
		add(zh, "项目 %s 进度滞后：实际 %.1f%%，计划 %.1f%%，SPI %.2f", name, real(d, "progress_pct"),
		    real(d, "planned_pct"), real(d, "spi"));
		add(en, "Project %s behind schedule: %.1f%% done, %.1f%% planned, SPI %.2f", name, real(d, "progress_pct"),
		    real(d, "planned_pct"), real(d, "spi"));
		break;
	case ALERT_PROJECT_STALLED:
		add(zh, "项目 %s 进度停在 %.1f%% 已 %" PRId64 " 天，同期计划进度由 %.1f%% 增至 %.1f%%", name,
		    real(d, "progress_pct"), num(d, "days"), real(d, "planned_then"), real(d, "planned_now"));
		add(en, "Project %s stalled at %.1f%% for %" PRId64 " days while planned progress grew from %.1f%% to %.1f%%",
		    name, real(d, "progress_pct"), num(d, "days"), real(d, "planned_then"), real(d, "planned_now"));
		break;
	case ALERT_PROJECT_SILENT:
		if (json_is_integer(json_object_get(d, "last_report"))) {
			alert_fmt_time(num(d, "last_report"), when, sizeof when);
			add(zh, "项目 %s 已 %" PRId64 " 天未报送进度（最近一次 %s）", name, num(d, "days"), when);
			add(en, "Project %s: no progress report for %" PRId64 " days (last %s)", name, num(d, "days"), when);
		} else if (strcmp(str(d, "counted_from"), "registration") == 0) {
			add(zh, "项目 %s 自登记入系统起 %" PRId64 " 天未报送进度", name, num(d, "days"));
			add(en, "Project %s: no progress report in the %" PRId64 " days since it was registered", name,
			    num(d, "days"));
		} else {
			add(zh, "项目 %s 自开工日起 %" PRId64 " 天未报送进度", name, num(d, "days"));
			add(en, "Project %s: no progress report in the %" PRId64 " days since its start date", name,
			    num(d, "days"));
		}
		break;
	case ALERT_MILESTONE_OVERDUE:
		add(zh, "项目 %s 有 %" PRId64 " 个节点逾期未完成：", name, num(d, "count"));
		add(en, "Project %s: %" PRId64 " milestones overdue: ", name, num(d, "count"));
		json_array_foreach(json_object_get(d, "milestones"), i, item) {
			add(zh, "%s%s（计划 %s，逾期 %" PRId64 " 天）", i ? "；" : "", str(item, "name"),
			    str(item, "planned_date"), num(item, "days_overdue"));
			add(en, "%s%s (planned %s, %" PRId64 " days late)", i ? "; " : "", str(item, "name"),
			    str(item, "planned_date"), num(item, "days_overdue"));
		}
		break;
	default:
		break;
	}
}

static void render_monitoring(const char *name, const json_t *d, struct out *zh, struct out *en)
{
	static const char *const categories[][2] = {
		{"unstable", "脱贫不稳定户"}, {"at_risk", "边缘易致贫户"}, {"hardship", "突发严重困难户"}};
	char when[32];
	size_t i;
	json_t *item;
	add(zh, "%s 有 %" PRId64 " 户监测对象发现后超过 %" PRId64 " 天未落实帮扶（其中 %" PRId64 " 户未认定）：", name,
	    num(d, "count"), num(d, "limit_days"), num(d, "not_identified"));
	add(en, "%s: %" PRId64 " households flagged at risk without help after %" PRId64 " days (%" PRId64
	    " not yet identified): ", name, num(d, "count"), num(d, "limit_days"), num(d, "not_identified"));
	json_array_foreach(json_object_get(d, "households"), i, item) {
		const char *category = str(item, "category");
		for (size_t k = 0; k < sizeof categories / sizeof categories[0]; k++)
			if (strcmp(categories[k][0], category) == 0)
				category = categories[k][1];
		alert_fmt_time(num(item, "flagged_at"), when, sizeof when);
		add(zh, "%s%s（%s，%s 发现，%" PRId64 " 天）", i ? "；" : "", str(item, "household"), category, when,
		    num(item, "days"));
		add(en, "%s%s (%s, flagged %s, %" PRId64 " days)", i ? "; " : "", str(item, "household"),
		    str(item, "category"), when, num(item, "days"));
	}
	if (num(d, "more") > 0) {
		add(zh, "；另有 %" PRId64 " 户", num(d, "more"));
		add(en, "; and %" PRId64 " more", num(d, "more"));
	}
}

static void render_regions(enum alert_rule_id rule, const char *name, const json_t *d, struct out *zh, struct out *en)
{
	char when[32];
	if (rule == ALERT_MONITORING_OVERDUE) {
		render_monitoring(name, d, zh, en);
	} else if (rule == ALERT_VILLAGE_SILENT) {
		if (json_is_integer(json_object_get(d, "last_data"))) {
			alert_fmt_time(num(d, "last_data"), when, sizeof when);
			add(zh, "%s 已 %" PRId64 " 天无数据上报（最近一次 %s）", name, num(d, "days"), when);
			add(en, "%s: no data for %" PRId64 " days (last %s)", name, num(d, "days"), when);
		} else {
			add(zh, "%s 建档以来 %" PRId64 " 天无任何数据上报", name, num(d, "days"));
			add(en, "%s: no data at all in the %" PRId64 " days since it was registered", name, num(d, "days"));
		}
	} else if (rule == ALERT_TOWNSHIP_SILENT) {
		add(zh, "%s %" PRId64 " 个村中 %" PRId64 " 个已 %" PRId64 " 天以上无数据上报，疑似乡镇数据通道中断",
		    name, num(d, "villages"), num(d, "silent"), num(d, "limit_days"));
		add(en, "%s: %" PRId64 " of %" PRId64 " villages sent no data for %" PRId64
		    " days or more; the township's feed looks down", name, num(d, "silent"), num(d, "villages"),
		    num(d, "limit_days"));
	}
}

void alert_render(enum alert_rule_id rule, const char *name, const json_t *detail, struct alert_text *out)
{
	struct out zh = {out->zh, sizeof out->zh, 0}, en = {out->en, sizeof out->en, 0};
	out->zh[0] = out->en[0] = '\0';
	switch (rule) {
	case ALERT_PAYMENT_OVERDUE:
	case ALERT_PAYMENT_FAILED:
	case ALERT_ALLOC_DELAYED:
	case ALERT_IDLE_FUNDS:
	case ALERT_DUPLICATE_SUBSIDY:
		render_payments(rule, name, detail, &zh, &en);
		break;
	case ALERT_PROJECT_BEHIND:
	case ALERT_PROJECT_STALLED:
	case ALERT_PROJECT_SILENT:
	case ALERT_MILESTONE_OVERDUE:
		render_projects(rule, name, detail, &zh, &en);
		break;
	default:
		render_regions(rule, name, detail, &zh, &en);
		break;
	}
}
