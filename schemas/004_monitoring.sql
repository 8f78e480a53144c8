-- 004_monitoring.sql: households under return-to-poverty monitoring
-- (防返贫监测对象), sent per village by POST /api/v1/ingest/monitoring
-- (schemas/ingest-monitoring.json). One row per household with its latest
-- state; the request that last changed it is in ingest_batch. Households are
-- named by the id the payment feed uses; nothing else about them is kept.

CREATE TABLE monitor_household (
	household       TEXT PRIMARY KEY,           -- 户编号, as in payment.household
	village_id      INTEGER NOT NULL REFERENCES entity(id),
	category        TEXT NOT NULL CHECK (category IN ('unstable','at_risk','hardship')),
	flagged_at      INTEGER NOT NULL,           -- found at risk
	identified_at   INTEGER,                    -- identified as a monitored household (认定)
	helped_at       INTEGER,                    -- assistance measures in place
	risk_removed_at INTEGER,                    -- risk declared removed
	batch_id        INTEGER NOT NULL REFERENCES ingest_batch(id),
	updated         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX monitor_household_village ON monitor_household(village_id);
-- The monitoring_overdue rule reads only households still waiting for help.
CREATE INDEX monitor_waiting ON monitor_household(flagged_at) WHERE helped_at IS NULL AND risk_removed_at IS NULL;
