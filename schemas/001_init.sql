-- 001_init.sql: the registry, the ingest log and the payment ledger.
-- Applied once by db_migrate() inside one transaction; the version lives in
-- PRAGMA user_version. Money is integer fen, times are int64 Unix seconds,
-- calendar dates are 'YYYY-MM-DD' in Asia/Shanghai.

-- Every thing that has time series: regions (by 12-digit code) and projects.
CREATE TABLE entity (
	id      INTEGER PRIMARY KEY,
	kind    TEXT NOT NULL CHECK (kind IN ('province','prefecture','county','township','village','project')),
	key     TEXT NOT NULL,            -- division code, or project id
	created INTEGER NOT NULL,
	UNIQUE (kind, key)
);

CREATE TABLE region (
	entity_id INTEGER PRIMARY KEY REFERENCES entity(id),
	code      TEXT NOT NULL UNIQUE CHECK (length(code) = 12),
	parent    TEXT,                   -- parent division code; NULL at the top
	name_zh   TEXT NOT NULL,
	name_en   TEXT,
	retired   INTEGER NOT NULL DEFAULT 0  -- a retired code keeps its history
);
CREATE INDEX region_parent ON region(parent);

CREATE TABLE project (
	entity_id      INTEGER PRIMARY KEY REFERENCES entity(id),
	name           TEXT NOT NULL,
	category       TEXT NOT NULL CHECK (category IN ('planting','breeding','processing','tourism','ecommerce','photovoltaic','infrastructure','other')),
	location       TEXT NOT NULL,     -- village or township code
	department     TEXT NOT NULL,
	invest_fen     INTEGER NOT NULL CHECK (invest_fen >= 0),
	start_date     TEXT,
	planned_end    TEXT,
	planned_hh     INTEGER NOT NULL DEFAULT 0 CHECK (planned_hh >= 0),
	stage          TEXT NOT NULL DEFAULT 'approved' CHECK (stage IN ('approved','publicised','started','completed','accepted','completion_notice','asset_registered')),
	updated        INTEGER NOT NULL
);
CREATE INDEX project_location ON project(location);

CREATE TABLE milestone (
	id           INTEGER PRIMARY KEY,
	project_id   INTEGER NOT NULL REFERENCES entity(id),
	name         TEXT NOT NULL,
	planned_date TEXT NOT NULL,
	weight       REAL NOT NULL CHECK (weight > 0),
	done_date    TEXT,
	updated      INTEGER NOT NULL,
	UNIQUE (project_id, name)
);

-- Data sources that may write (bank feed, township reporting, simulator).
-- Only the SHA-256 of a token is kept; scope is a division-code prefix.
CREATE TABLE ingest_token (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	token_hash BLOB NOT NULL UNIQUE,
	scope      TEXT NOT NULL DEFAULT '',
	kinds      TEXT NOT NULL DEFAULT 'samples,payment_batches,payment_results,progress,milestones',
	created    INTEGER NOT NULL,
	revoked    INTEGER
);

-- One row per accepted request with a client batch id: makes re-sends idempotent.
CREATE TABLE ingest_batch (
	id         INTEGER PRIMARY KEY,
	source_id  INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	batch_key  TEXT NOT NULL,
	received   INTEGER NOT NULL,
	accepted   INTEGER NOT NULL,
	rejected   INTEGER NOT NULL,
	verdict    TEXT NOT NULL,         -- the JSON reply, replayed on a re-send
	UNIQUE (source_id, kind, batch_key)
);

-- Every accepted sample, append-only. No secondary index on purpose: inserts
-- stay at ~1 M rows/s; reads go through `latest` and the RRD files.
CREATE TABLE sample (
	id        INTEGER PRIMARY KEY,
	entity_id INTEGER NOT NULL,
	metric    INTEGER NOT NULL,       -- index in catalog.json
	ts        INTEGER NOT NULL,
	value     REAL NOT NULL,
	batch_id  INTEGER NOT NULL
);

-- Newest value of every (entity, metric): key = entity_id * 256 + metric.
CREATE TABLE latest (
	key   INTEGER PRIMARY KEY,
	ts    INTEGER NOT NULL,
	value REAL NOT NULL
);

-- Sample-and-hold state of each RRD file as of its last written row; with
-- meta 'rrd_applied_sample' it lets a restart resume without losing a row.
CREATE TABLE rrd_state (
	entity_id INTEGER PRIMARY KEY,
	last_ts   INTEGER NOT NULL,
	held      BLOB NOT NULL           -- doubles, one per data source, NaN = unknown
);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO meta VALUES ('registry_version', 1), ('rrd_applied_sample', 0);

-- Card payments (惠民惠农一卡通): a batch submitted by a department to the bank.
CREATE TABLE pay_batch (
	id            INTEGER PRIMARY KEY,
	batch_no      TEXT NOT NULL UNIQUE,
	department    TEXT NOT NULL,
	fund_type     TEXT NOT NULL,
	period        TEXT NOT NULL,      -- 'YYYY-MM' or 'YYYY'
	submitted     INTEGER NOT NULL,
	funds_at_bank INTEGER,            -- when the money reached the bank
	source_id     INTEGER NOT NULL,
	received      INTEGER NOT NULL
);

CREATE TABLE payment (
	id          INTEGER PRIMARY KEY,
	payment_no  TEXT NOT NULL UNIQUE,
	batch_id    INTEGER NOT NULL REFERENCES pay_batch(id),
	household   TEXT NOT NULL,
	card_masked TEXT NOT NULL,
	amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
	village_id  INTEGER NOT NULL REFERENCES entity(id),
	status      TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('sent','paid','failed')),
	reason      TEXT,
	result_at   INTEGER,
	reissue_of  INTEGER REFERENCES payment(id),
	reissued    INTEGER NOT NULL DEFAULT 0,
	updated     INTEGER NOT NULL
);
CREATE INDEX payment_batch ON payment(batch_id);
CREATE INDEX payment_household ON payment(household);

-- Project progress reports as sent (the numbers also become samples).
CREATE TABLE progress_report (
	id           INTEGER PRIMARY KEY,
	project_id   INTEGER NOT NULL REFERENCES entity(id),
	ts           INTEGER NOT NULL,
	progress_pct REAL,
	stage        TEXT,
	note         TEXT,
	batch_id     INTEGER NOT NULL
);
CREATE INDEX progress_report_project ON progress_report(project_id, ts);
