/*
 * alert_webhook: request bodies for webhooks. Offices read alerts in the
 * group chats of DingTalk and WeCom, whose robots take markdown; other
 * systems take the generic JSON (the same text as the live push). Text
 * that came from outside (names, reasons, comments) is defused: markdown
 * control characters become their full-width forms, so nobody can slip a
 * link or a heading into the office's chat through a payment reason.
 */
#include "alert_int.h"

#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROBOT_TEXT_MAX 4000   /* WeCom markdown content is limited to 4096 bytes */

int alert_webhook_format_parse(const char *name, enum alert_webhook_format *fmt)
{
	static const char *const names[] = {"json", "dingtalk", "wecom"};
	for (int i = 0; name && i < 3; i++)
		if (strcmp(name, names[i]) == 0) {
			*fmt = (enum alert_webhook_format)i;
			return 0;
		}
	return -1;
}

static const char *const state_zh[] = {"告警中", "已确认", "已静默", "已恢复"};
static const char *const event_zh[ALERT_EV_KINDS] = {
	"新告警", "已升级", "已确认", "新备注", "已静默", "解除静默", "已恢复", "重新打开", "级别变化", "已归并", "取消归并",
};

struct text {
	char buf[ROBOT_TEXT_MAX + 1];
	size_t len;
};

static void put_raw(struct text *t, const char *s, size_t n)
{
	if (t->len + n > ROBOT_TEXT_MAX) { /* cut on a character boundary */
		n = ROBOT_TEXT_MAX - t->len;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	char tmp[ROBOT_TEXT_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put_raw(t, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Outside text: markdown and HTML control characters as full-width look-alikes, lines joined. */
static void put_safe(struct text *t, const char *s)
{
	static const struct {
		char c;
		const char *wide;
	} map[] = {{'[', "［"}, {']', "］"}, {'(', "（"}, {')', "）"}, {'<', "＜"}, {'>', "＞"}, {'*', "＊"},
		   {'_', "＿"}, {'#', "＃"}, {'`', "｀"}, {'|', "｜"}, {'!', "！"}, {'\n', " "}, {'\r', " "}};
	for (; s && *s; s++) {
		const char *wide = NULL;
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			if (*s == map[i].c)
				wide = map[i].wide;
		if (wide)
			put_raw(t, wide, strlen(wide));
		else
			put_raw(t, s, 1);
	}
}

static const char *field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The robot message, as markdown; WeCom gets coloured severity. */
static void robot_text(const struct alert_transition *tr, int wecom, struct text *t, char *title, size_t title_cap)
{
	const json_t *a = tr->alert, *ev_detail = json_object_get(tr->event, "detail");
	int critical = tr->severity == ALERT_CRITICAL, resolved = tr->state == ALERT_RESOLVED;
	const char *level = resolved ? "已恢复" : critical ? "严重" : "警告";
	const char *rule_zh = alert_rule_title(tr->rule, 1);
	snprintf(title, title_cap, "【%s】%s", level, rule_zh);
	if (wecom)
		put(t, "### <font color=\"%s\">【%s】</font>%s\n", resolved ? "info" : critical ? "warning" : "comment",
		    level, rule_zh);
	else
		put(t, "### 【%s】%s\n\n", level, rule_zh);
	put(t, "> ");
	put_safe(t, field(a, "message"));
	put(t, "\n\n- 对象：");
	put_safe(t, field(a, "entity_name"));
	put(t, "（");
	put_safe(t, field(a, "entity"));
	put(t, "）\n- 区划：%s\n", field(a, "region"));
	put(t, "- 事件：%s（", event_zh[tr->kind]);
	put_safe(t, strcmp(tr->actor, ALERT_ENGINE_ACTOR) == 0 ? "系统" : tr->actor);
	put(t, "）；当前状态：%s\n", state_zh[tr->state]);
	char when[32];
	json_t *fired = json_object_get(a, "fired_at");
	if (json_is_integer(fired)) {
		alert_fmt_time((int64_t)json_integer_value(fired), when, sizeof when);
		put(t, "- 首次告警：%s\n", when);
	}
	alert_fmt_time(tr->ts, when, sizeof when);
	put(t, "- 事件时间：%s\n", when);
	const char *comment = json_string_value(json_object_get(ev_detail, "comment"));
	const char *reason = json_string_value(json_object_get(ev_detail, "reason"));
	if (comment || (reason && tr->kind == ALERT_EV_SILENCED)) {
		put(t, "- 备注：");
		put_safe(t, comment ? comment : reason);
		put(t, "\n");
	}
	if (tr->suppressed && tr->group_key[0]) {
		put(t, "- 已归并到：");
		put_safe(t, tr->group_key);
		put(t, "\n");
	}
	put(t, "- 告警编号：#%lld\n", (long long)tr->alert_id);
}

int alert_webhook_body(const struct alert_transition *t, enum alert_webhook_format fmt, char **body)
{
	*body = NULL;
	if (fmt == ALERT_WEBHOOK_JSON) {
		*body = xstrdup(t->json);
		return 0;
	}
	struct text text = {.len = 0};
	text.buf[0] = '\0';
	char title[256];
	robot_text(t, fmt == ALERT_WEBHOOK_WECOM, &text, title, sizeof title);
	json_t *doc = fmt == ALERT_WEBHOOK_DINGTALK
		? json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown", "title", title, "text", text.buf)
		: json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", "content", text.buf);
	if (!doc)
		return -1;
	*body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return *body ? 0 : -1;
}
