-- 002_access.sql: people, their credentials, and the audit trail.
-- Roles: viewer (reads), operator (acknowledges alerts, updates milestones),
-- admin (users, tokens, configuration). A scope is a division-code prefix
-- ('' = everything); every reply is filtered to it.

CREATE TABLE account (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,          -- login name
	full_name   TEXT NOT NULL DEFAULT '',
	role        TEXT NOT NULL CHECK (role IN ('viewer','operator','admin')),
	scope       TEXT NOT NULL DEFAULT '',
	pw_hash     TEXT NOT NULL,                 -- "scrypt$N$r$p$salt_hex$hash_hex"
	created     INTEGER NOT NULL,
	disabled    INTEGER                        -- when, if disabled
);

-- Login sessions and display tokens. Only the SHA-256 of the secret is kept.
CREATE TABLE credential (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL CHECK (kind IN ('session','display')),
	secret_hash BLOB NOT NULL UNIQUE,
	user_id     INTEGER REFERENCES account(id),   -- sessions
	name        TEXT,                          -- display tokens: which screen
	role        TEXT NOT NULL,
	scope       TEXT NOT NULL DEFAULT '',
	csrf        TEXT,                          -- sessions: value required in X-CSRF-Token
	created     INTEGER NOT NULL,
	expires     INTEGER,                       -- NULL = until revoked (display tokens)
	last_seen   INTEGER,
	revoked     INTEGER
);
CREATE INDEX credential_user ON credential(user_id);

-- Every state-changing action: who, what, when, from where.
CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	ts      INTEGER NOT NULL,
	actor   TEXT NOT NULL,                     -- user name, 'display:<name>', 'token:<name>', 'fpmctl'
	action  TEXT NOT NULL,                     -- e.g. login, logout, user.create, alert.ack
	target  TEXT NOT NULL DEFAULT '',
	detail  TEXT NOT NULL DEFAULT '',
	peer    TEXT NOT NULL DEFAULT ''           -- client address (the proxy's X-Forwarded-For when trusted)
);
CREATE INDEX audit_ts ON audit(ts);

-- Bumped with every change to accounts or credentials, by the daemon or by
-- fpmctl, so each process reloads its credential cache.
INSERT INTO meta VALUES ('auth_version', 1);
