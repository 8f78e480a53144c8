/*
 * notify: "format=url;format=url" becomes a small table of targets. For each
 * transition that should reach people (alert_transition_notifies: not a
 * suppressed member, not silenced) one body per target is formatted and
 * handed to the webhook sender, which retries on its own.
 */
#include "notify.h"

#include "alert.h"
#include "conf.h"
#include "log.h"
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TARGETS 8

static struct {
	enum alert_webhook_format fmt;
	char url[512];
} targets[MAX_TARGETS];
static size_t n_targets;

static void to_webhooks(const struct alert_transition *t, void *arg)
{
	(void)arg;
	if (!alert_transition_notifies(t))
		return;
	for (size_t i = 0; i < n_targets; i++) {
		char *body;
		if (alert_webhook_body(t, targets[i].fmt, &body) == 0) {
			webhook_enqueue(targets[i].url, body, strlen(body));
			free(body);
		}
	}
}

int notify_start(char *err, size_t errlen)
{
	char list[sizeof conf.alert_webhooks];
	snprintf(list, sizeof list, "%s", conf.alert_webhooks);
	n_targets = 0;
	for (char *item = list, *next; item && *item; item = next) {
		next = strchr(item, ';');
		if (next)
			*next++ = '\0';
		char *eq = strchr(item, '=');
		while (*item == ' ')
			item++;
		if (!eq || n_targets == MAX_TARGETS) {
			snprintf(err, errlen, "alert_webhooks: '%s' is not format=url (at most %d)", item, MAX_TARGETS);
			return -1;
		}
		*eq = '\0';
		if (alert_webhook_format_parse(item, &targets[n_targets].fmt) < 0) {
			snprintf(err, errlen, "alert_webhooks: unknown format '%s' (json, dingtalk, wecom)", item);
			return -1;
		}
		snprintf(targets[n_targets].url, sizeof targets[n_targets].url, "%s", eq + 1);
		n_targets++;
	}
	if (n_targets)
		alert_add_listener(to_webhooks, NULL);
	log_info("alerts: %zu webhook target(s)", n_targets);
	return 0;
}
