// Crash safety: clients keep posting sample batches while the daemon is
// killed with SIGKILL (several times). Every acknowledged sample must be in
// SQLite exactly once after a restart, a re-sent unacknowledged batch must be
// stored at most once (replayed if it had been committed), and after SIGUSR1
// each RRD file's last values must be the last acknowledged values.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, assertVerdict, nowS, waitFor, metricIndex } from './lib/daemon.mjs';

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

// One client per series, each posting its series in time order.
const SERIES = [
	{ entity: '610824100201', metric: 'poor_people' },
	{ entity: '610824100202', metric: 'poor_people' },
	{ entity: '610824101201', metric: 'poor_people' },
	{ entity: '610824101202', metric: 'welfare_jobs' },
	{ entity: '610824200201', metric: 'poor_people' },
	{ entity: 'XM-A', metric: 'benef_hh' },
];
const PER_BATCH = 3;
const ROUNDS = 3;

test(`${ROUNDS} x kill -9 under load: acknowledged samples survive exactly once, RRD ends at the last acknowledged values`, { timeout: 300_000 }, async () => {
	const base = nowS();
	const ids = await d.entityIds();
	const state = SERIES.map((s) => ({ ...s, next: 0, acked: new Map(), inflight: null, lastAcked: null }));
	const point = (i) => ({ ts: base - 3000 + i, value: i + 1 });
	const batchOf = (st, i) => ({
		batch_id: `${st.entity}-${st.metric}-${i}`,
		samples: Array.from({ length: PER_BATCH }, (_, k) => ({ entity: st.entity, metric: st.metric, ...point(i + k) })),
	});
	const ack = (st, body, reply) => {
		assertVerdict(reply);
		assert.equal(reply.accepted, PER_BATCH, JSON.stringify(reply));
		for (const s of body.samples) st.acked.set(s.ts, s.value);
		const last = body.samples[body.samples.length - 1];
		if (!st.lastAcked || last.ts > st.lastAcked.ts) st.lastAcked = last;
	};

	let totalAcks = 0;
	for (let round = 1; round <= ROUNDS; round++) {
		let roundAcks = 0;
		let stop = false;
		const target = 200 + Math.floor(Math.random() * 150);
		const workers = state.map(async (st) => {
			while (!stop) {
				const body = batchOf(st, st.next);
				st.inflight = body;
				st.next += PER_BATCH;
				let r;
				try {
					r = await d.post('samples', body, d.token, { timeoutMs: 120_000 });
				} catch {
					return; // the daemon is gone: this batch is in flight, unacknowledged
				}
				assert.equal(r.status, 200, r.text);
				ack(st, body, r.body);
				st.inflight = null;
				roundAcks++;
				totalAcks++;
			}
		});
		await waitFor(() => roundAcks >= target, { timeoutMs: 120_000, intervalMs: 5, what: `${target} acks in round ${round}` });
		await d.kill9();
		stop = true;
		await Promise.all(workers);
		const inflight = state.filter((st) => st.inflight).length;
		assert.ok(inflight > 0, 'some requests were in flight at the kill');

		await d.restart();

		// Every acknowledged sample is stored exactly once.
		const rows = await d.sqlite(
			`SELECT entity_id, metric, ts, value, count(*) AS n FROM sample GROUP BY entity_id, metric, ts, value`,
		);
		const byKey = new Map(rows.map((r) => [`${r.entity_id}/${r.metric}/${r.ts}/${r.value}`, r.n]));
		for (const st of state)
			for (const [ts, value] of st.acked) {
				const n = byKey.get(`${ids[st.entity]}/${metricIndex(st.metric)}/${ts}/${value}`);
				assert.equal(n, 1, `round ${round}: ${st.entity} ${st.metric} ts=${ts} value=${value} stored ${n ?? 0} times`);
			}
		assert.deepEqual(rows.filter((r) => r.n > 1), [], 'no sample stored twice');

		// A batch in flight at the kill was committed or not; re-sending it (same batch_id) stores it once.
		for (const st of state) {
			if (!st.inflight) continue;
			const body = st.inflight;
			const first = body.samples[0];
			const before = await d.scalar(
				`SELECT count(*) FROM sample WHERE entity_id = ${ids[st.entity]} AND metric = ${metricIndex(st.metric)} AND ts = ${first.ts}`,
			);
			assert.ok(before === 0 || before === 1, `in-flight sample stored ${before} times`);
			const r = await d.post('samples', body);
			assert.equal(r.status, 200, r.text);
			assert.equal(r.body.replayed === true, before === 1, `replayed iff it had been committed (${JSON.stringify(r.body)})`);
			ack(st, body, r.body);
			st.inflight = null;
			const afterN = await d.scalar(
				`SELECT count(*) FROM sample WHERE entity_id = ${ids[st.entity]} AND metric = ${metricIndex(st.metric)} AND ts = ${first.ts}`,
			);
			assert.equal(afterN, 1);
		}
	}
	assert.ok(totalAcks >= ROUNDS * 200);

	// Everything sent is acknowledged now: the table holds exactly what was sent.
	const total = state.reduce((s, st) => s + st.acked.size, 0);
	assert.equal(await d.scalar('SELECT count(*) FROM sample'), total);
	assert.equal(await d.scalar('SELECT count(*) FROM ingest_batch'), total / PER_BATCH);

	await d.flush();
	for (const st of state) {
		const { values } = await d.lastupdate(d.rrdPath(st.entity));
		assert.equal(values[st.metric], st.lastAcked.value, `${st.entity} ${st.metric}`);
	}
	// the townships and the county sum the villages' last values
	const county = await d.lastupdate(d.rrdPath('610824000000'));
	const poorPeople = state.filter((st) => st.metric === 'poor_people').reduce((s, st) => s + st.lastAcked.value, 0);
	assert.equal(county.values.poor_people, poorPeople);
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
