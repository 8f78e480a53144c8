/*
 * notify: where alert transitions go besides the database: the webhooks
 * configured in alert_webhooks (generic JSON, DingTalk, WeCom robots).
 * Parsed once at start; the listener only formats and queues.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>

/* Parse conf.alert_webhooks and register the listener; -1 with a reason on a bad entry. */
int notify_start(char *err, size_t errlen);

#endif
