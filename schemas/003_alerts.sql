-- 003_alerts.sql: the alert engine's memory. Current alerts (one open row per
-- rule and subject), the history of every transition, and the allocation
-- ledger the money rules need. Everything the engine knows is here, so a
-- restart resumes where it was. Rules and defaults: schemas/alerts.md.

-- One row per alert. A row stays after it resolves (history); while it is
-- open (state <> 'resolved') it is the only open row of its rule and subject.
CREATE TABLE alert (
	id              INTEGER PRIMARY KEY,
	rule            TEXT NOT NULL,              -- payment_overdue, village_silent ... (alerts.md)
	entity_kind     TEXT NOT NULL CHECK (entity_kind IN ('village','township','project','batch','household')),
	entity_key      TEXT NOT NULL,              -- division code, project id, batch_no, household/fund_type/period
	entity_id       INTEGER,                    -- entity.id for villages, townships and projects
	entity_name     TEXT NOT NULL DEFAULT '',
	region          TEXT NOT NULL,              -- 12-digit code for scope filtering (batches: their county)
	township        TEXT,                       -- township code, when the subject lies in one
	severity        TEXT NOT NULL CHECK (severity IN ('warning','critical')),      -- shown: rule's or escalated
	rule_severity   TEXT NOT NULL CHECK (rule_severity IN ('warning','critical')), -- what the rule says now
	state           TEXT NOT NULL CHECK (state IN ('firing','acknowledged','silenced','resolved')),
	value           REAL,
	threshold       REAL,
	detail          TEXT NOT NULL DEFAULT '{}', -- JSON the messages are rendered from
	message_zh      TEXT NOT NULL DEFAULT '',
	message_en      TEXT NOT NULL DEFAULT '',
	first_fired     INTEGER NOT NULL,
	firing_since    INTEGER NOT NULL,           -- escalation clock: when it last became unhandled
	last_change     INTEGER NOT NULL,           -- last transition (not value updates)
	ack_by          TEXT,
	ack_at          INTEGER,
	ack_comment     TEXT,
	silenced_at     INTEGER,
	silenced_until  INTEGER,                    -- NULL while silenced = until resolved
	silenced_by     TEXT,
	silence_reason  TEXT,
	resolved_at     INTEGER,
	resolved_by     TEXT,                       -- 'engine' when the condition cleared
	resolve_comment TEXT,
	recheck         INTEGER NOT NULL DEFAULT 0, -- resolved by hand: the next evaluation confirms or reopens
	escalation      INTEGER NOT NULL DEFAULT 0,
	escalated_at    INTEGER,
	group_key       TEXT,                       -- 'township_silent:<code>' for a cause and its members
	suppressed      INTEGER NOT NULL DEFAULT 0  -- 1: a member shown under its cause, not notified alone
);
CREATE UNIQUE INDEX alert_open ON alert(rule, entity_key) WHERE state <> 'resolved';
CREATE INDEX alert_open_entity ON alert(entity_id) WHERE state <> 'resolved';
CREATE INDEX alert_recheck ON alert(rule) WHERE recheck = 1;
CREATE INDEX alert_firing ON alert(firing_since) WHERE state = 'firing';
CREATE INDEX alert_silenced ON alert(silenced_until) WHERE state = 'silenced';
CREATE INDEX alert_group ON alert(group_key) WHERE group_key IS NOT NULL;
CREATE INDEX alert_entity ON alert(entity_key, first_fired);
CREATE INDEX alert_rule ON alert(rule, last_change);
CREATE INDEX alert_list ON alert(state, severity, first_fired);

-- Every transition of every alert, append-only.
CREATE TABLE alert_event (
	id        INTEGER PRIMARY KEY,
	alert_id  INTEGER NOT NULL REFERENCES alert(id),
	ts        INTEGER NOT NULL,
	kind      TEXT NOT NULL CHECK (kind IN ('fired','escalated','acknowledged','commented','silenced',
					    'unsilenced','resolved','reopened','severity_changed','grouped','ungrouped')),
	actor     TEXT NOT NULL,                    -- 'engine' or the user (as in the audit log)
	severity  TEXT NOT NULL,                    -- after the transition
	state     TEXT NOT NULL,                    -- after the transition
	value     REAL,
	detail    TEXT NOT NULL DEFAULT '{}'        -- JSON: comment, until, reason, from/to, group
);
CREATE INDEX alert_event_alert ON alert_event(alert_id, id);
CREATE INDEX alert_event_ts ON alert_event(ts);

-- Allocation ledger: each increase of a village's funds_alloc_fen or a
-- project's alloc_fen, with the running total, so "allocated more than 30
-- days ago and still unpaid" is one index range per subject. Fed from the
-- samples (sample has no index by design); meta alert_alloc_sample says how
-- far the feed got.
CREATE TABLE alloc_event (
	id        INTEGER PRIMARY KEY,
	entity_id INTEGER NOT NULL,
	ts        INTEGER NOT NULL,
	delta_fen INTEGER NOT NULL,
	cum_fen   INTEGER NOT NULL,
	sample_id INTEGER NOT NULL
);
CREATE INDEX alloc_event_entity ON alloc_event(entity_id, ts, cum_fen);

CREATE TABLE alloc_total (
	entity_id   INTEGER PRIMARY KEY,
	total_fen   INTEGER NOT NULL,
	last_ts     INTEGER NOT NULL,
	last_sample INTEGER NOT NULL
);

-- Small partial indexes for the rules: only the rows a rule looks for are
-- indexed, so they stay tiny and cheap to maintain on ingest.
CREATE INDEX alert_payment_waiting ON payment(batch_id) WHERE status = 'sent';
CREATE INDEX alert_payment_failed ON payment(village_id, result_at) WHERE status = 'failed' AND reissued = 0;
CREATE INDEX alert_milestone_open ON milestone(planned_date) WHERE done_date IS NULL;
CREATE INDEX alert_progress ON progress_report(project_id, ts, progress_pct);

INSERT INTO meta VALUES ('alert_alloc_sample', 0), ('alert_dup_payment', 0);
