// Fault injection against the real daemon of the fault build (make FAULT=1
// BUILD=build-fault; another directory with FPMON_FAULT_BUILD). Each fault is
// armed through the control file named by $FPMON_FAULTS, then: the ingest
// answers 503 with a reason and stores nothing, the server stays up and says
// it is degraded, and once the fault is cleared the same request is stored
// exactly once and its samples reach the RRD files without anyone's help.
// Skipped, with the command that builds it, when the fault build is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Daemon, ROOT, STEP, lastCompleteStep, metricIndex, nowS, waitFor } from '../integration/lib/daemon.mjs';

const FAULT_BUILD = process.env.FPMON_FAULT_BUILD || 'build-fault';
const present = existsSync(path.join(ROOT, FAULT_BUILD, 'fpmond')) && existsSync(path.join(ROOT, FAULT_BUILD, 'fpmctl'));
const skip = present ? false : `no fault build in ${FAULT_BUILD}/: make FAULT=1 BUILD=${FAULT_BUILD}`;

const VILLAGE = '610824100201';

async function start() {
	const d = new Daemon({ build: FAULT_BUILD });
	d.env.FPMON_FAULTS = path.join(d.dir, 'faults');
	await d.importFixtures();
	d.token = await d.createToken('ingest');
	await d.launch();
	assert.match(d.log, /fault injection build/, `${FAULT_BUILD}/fpmond is not a fault build (make FAULT=1)`);
	return d;
}

/** After the faults a clean SIGTERM exit (0; under ASan: no leak either). */
async function stopAndClean(d) {
	try {
		await d.stop();
	} finally {
		await d.cleanup();
	}
}

/** Replace the control file at once (rename): the daemon re-reads it at its next fault point. */
function arm(d, text) {
	const tmp = `${d.env.FPMON_FAULTS}.tmp`;
	writeFileSync(tmp, `${text}\n`);
	renameSync(tmp, d.env.FPMON_FAULTS);
}
const clear = (d) => arm(d, '# nothing armed');

const body = (batch, value, ts = nowS() - 3600) => ({
	batch_id: batch,
	samples: [{ entity: VILLAGE, metric: 'poor_hh', ts, value }],
});

async function metric(d, name) {
	const m = new RegExp(`^${name.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec((await d.get('/metrics')).text);
	return m ? Number(m[1]) : undefined;
}

async function health(d) {
	const h = await d.get('/healthz');
	assert.equal(h.status, 200, 'the server answers while degraded');
	return JSON.parse(h.text);
}

async function batchRows(d, batch) {
	return d.scalar(`SELECT count(*) FROM sample WHERE batch_id IN (SELECT id FROM ingest_batch WHERE batch_key = '${batch}')`);
}

/** A request refused for `error`: 503, Retry-After, nothing of it stored. */
async function assertRefused(d, batch, value, error) {
	const r = await d.post('samples', body(batch, value));
	assert.equal(r.status, 503, r.text);
	assert.equal(r.body.error, error);
	assert.match(r.body.reason, /nothing was stored/);
	assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
	assert.equal(await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = '${batch}'`), 0);
}

/** The same request once the fault is gone: stored once, and a re-send is a replay. */
async function assertRecovered(d, batch, value) {
	const r = await d.post('samples', body(batch, value));
	assert.equal(r.status, 200, r.text);
	assert.equal(r.body.accepted, 1);
	assert.equal(r.body.replayed, undefined);
	const again = await d.post('samples', body(batch, value));
	assert.equal(again.body.replayed, true);
	assert.equal(await batchRows(d, batch), 1);
	assert.equal((await health(d)).status, 'ok');
	assert.equal(await metric(d, 'fpmon_database_write_failing'), 0);
}

test('database faults: full disk, torn write, I/O error, a held lock: 503, nothing stored, then stored once', { skip }, async (t) => {
	const d = await start();
	t.after(() => stopAndClean(d));
	const cases = [
		['db_write full', 'database full', 'full'],
		['db_write short', 'database full', 'full'],
		['db_write fail', 'storage unavailable', 'io'],
	];
	for (const [fault, error, reason] of cases) {
		const batch = `db-${fault.replace(' ', '-')}`;
		const before = (await metric(d, `fpmon_ingest_unavailable_total{reason="${reason}"}`)) ?? 0;
		arm(d, fault);
		await assertRefused(d, batch, 41, error);
		const h = await health(d);
		assert.equal(h.status, 'degraded');
		assert.match(h.problems.join(' '), /^database: /);
		assert.equal(await metric(d, 'fpmon_database_write_failing'), 1);
		assert.equal(await metric(d, `fpmon_ingest_unavailable_total{reason="${reason}"}`), before + 1);
		clear(d);
		await assertRecovered(d, batch, 41);
	}
	assert.equal(await d.scalar('PRAGMA integrity_check'), 'ok');

	// Another process holds the write lock past the writer's busy timeout (5 s).
	const holder = spawn('sqlite3', [d.dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
	const locked = new Promise((resolve) => holder.stdout.on('data', (c) => /locked/.test(c) && resolve()));
	holder.stdin.write(".timeout 10000\nBEGIN EXCLUSIVE;\nSELECT 'locked';\n");
	await locked;
	try {
		await assertRefused(d, 'db-busy', 42, 'database busy');
	} finally {
		holder.stdin.end('COMMIT;\n');
		await new Promise((resolve) => holder.on('close', resolve));
	}
	await assertRecovered(d, 'db-busy', 42);
	assert.ok(d.running, 'fpmond is still running');
});

test('failed allocations: the N-th allocation of a request fails, N = 1.. until it succeeds', { skip }, async (t) => {
	const d = await start();
	t.after(() => stopAndClean(d));
	// One good item and one bad, so the verdict's errors are built as well.
	const request = body('oom', 43);
	request.samples.push({ ...request.samples[0], metric: 'no_such_metric' });
	let refused = 0;
	for (let n = 1; n <= 200; n++) {
		arm(d, `alloc nth=${n}`);
		const r = await d.post('samples', request);
		if (r.status === 200) break;
		assert.equal(r.status, 503, `allocation ${n}: ${r.text}`);
		assert.equal(r.body.error, 'out of memory');
		assert.equal(await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = 'oom'`), 0);
		refused++;
	}
	clear(d);
	t.diagnostic(`${refused} allocations failed one at a time, each answered 503`);
	assert.ok(refused >= 3, `only ${refused} allocations could be failed`);
	assert.equal(await metric(d, 'fpmon_ingest_unavailable_total{reason="memory"}'), refused);
	assert.equal(await batchRows(d, 'oom'), 1);
	assert.equal((await d.post('samples', request)).body.replayed, true);
	assert.ok(d.running);
});

/**
 * Wait, without any signal, until the writer's own retry has written every
 * file up to `due` and recorded every sample as applied.
 */
async function caughtUp(d, due) {
	const files = Object.keys(await d.entityIds()).map((k) => d.rrdPath(k));
	const maxId = await d.scalar('SELECT max(id) FROM sample');
	await waitFor(
		async () => {
			if ((await d.scalar(`SELECT value FROM meta WHERE key = 'rrd_applied_sample'`)) < maxId) return false;
			for (const f of files) {
				if (!existsSync(f)) return false;
				if ((await d.lastupdate(f).catch(() => ({ ts: 0 }))).ts < due) return false;
			}
			return true;
		},
		{ timeoutMs: 180_000, intervalMs: 500, what: 'the RRD writer to catch up by itself' },
	);
	assert.equal(await metric(d, 'fpmon_rrd_files_failing'), 0);
	// (the database stays "failing" until an ingest commit succeeds again)
	assert.deepEqual(((await health(d)).problems || []).filter((p) => p.startsWith('rrd')), []);
}

/** Every row of the village file from the sample's step to `due` holds `value`. */
async function assertRows(d, ts, value, due) {
	const first = Math.ceil(ts / STEP) * STEP;
	const rows = (await d.fetchRows(d.rrdPath(VILLAGE), first - STEP, due)).filter((r) => r.ts >= first && r.ts <= due);
	assert.ok(rows.length >= 1);
	for (const r of rows) assert.equal(r.values.poor_hh, value, `row ${r.ts}`);
}

async function rrdFailing(d) {
	process.kill(d.pid, 'SIGUSR1'); // a write cycle now, which fails
	await waitFor(async () => (await metric(d, 'fpmon_rrd_files_failing')) > 0, { what: 'fpmon_rrd_files_failing > 0' });
	const h = await health(d);
	assert.equal(h.status, 'degraded');
	assert.match(h.problems.join(' '), /rrd: \d+ files cannot be written/);
}

test('RRD directory not writable: samples are kept, the files catch up by themselves', { skip }, async (t) => {
	const d = await start();
	t.after(() => stopAndClean(d));
	const ts = nowS() - 3600;
	arm(d, 'rrd_dir');
	const r = await d.post('samples', body('rrd-dir', 44, ts));
	assert.equal(r.status, 200, 'RRD files are derived: the commit to SQLite is what counts');
	const errors = await metric(d, 'fpmon_rrd_errors_total');
	await rrdFailing(d);
	assert.ok((await metric(d, 'fpmon_rrd_errors_total')) > errors);
	assert.equal(existsSync(d.rrdPath(VILLAGE)), false);
	const due = lastCompleteStep();
	clear(d);
	await caughtUp(d, due);
	await assertRows(d, ts, 44, due);
	assert.equal(await batchRows(d, 'rrd-dir'), 1);
	assert.equal((d.log.match(/rrd writer: .*cannot create parent directory/g) || []).length >= 1, true);
});

test('a full disk: ingest refused and RRD writes failing at once; both recover', { skip }, async (t) => {
	const d = await start();
	t.after(() => stopAndClean(d));
	const ts = nowS() - 3600;
	assert.equal((await d.post('samples', body('disk-1', 45, ts))).status, 200);
	arm(d, 'rrd_write full\ndb_write full');
	await assertRefused(d, 'disk-2', 46, 'database full');
	await rrdFailing(d);
	assert.equal((await health(d)).problems.length, 2);
	const due = lastCompleteStep();
	clear(d);
	await caughtUp(d, due);
	await assertRows(d, ts, 45, due);
	await assertRecovered(d, 'disk-2', 46);
	assert.equal(await d.scalar(`SELECT count(*) FROM sample WHERE metric = ${metricIndex('poor_hh')}`), 2);
});
