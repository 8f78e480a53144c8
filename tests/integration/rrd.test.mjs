// RRD files after SIGUSR1: village files hold their samples (sample-and-hold:
// the row at step t holds the newest value with ts <= t), township and county
// files hold the sum of their villages (population-weighted mean for
// incidence_pct), project files hold progress_pct with planned_pct and spi
// derived from the plan. A sample older than a file's last row is "late".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Daemon, assertVerdict, nowS, STEP, TOWNSHIPS, COUNTY, VILLAGES, PROJECTS, cstDayStart, CATALOG, FIXTURES } from './lib/daemon.mjs';

let d;
let base; // "now" when the samples were made
let due; // the last row written by the first flush

// key -> metric -> [[offset from base, value], ...]
const SERIES = {
	'610824100201': {
		poor_hh: [[-3600, 10], [-2400, 12], ['boundary', 13], [-1500, 15], [-600, 14]],
		population: [[-3500, 1000]],
		incidence_pct: [[-3500, 10], [-1000, 9.5]],
		funds_alloc_fen: [[-3000, 500000]],
		income_pc_yuan: [[-3500, 9000.25]],
		poor_people: [[-3500, 40]],
	},
	'610824100202': {
		poor_hh: [[-3000, 20], [-900, 25]],
		population: [[-3500, 3000]],
		incidence_pct: [[-3500, 2]],
		income_pc_yuan: [[-3500, 12000]],
		poor_people: [[-3500, 60]],
	},
	'610824101201': {
		poor_hh: [[-2000, 7]],
		population: [[-3500, 500]],
		incidence_pct: [[-3500, 8]],
	},
	'610824101202': {
		incidence_pct: [[-3500, 50]], // no population: no weight in the mean
	},
	'610824200201': {
		poor_hh: [[-1800, 4]],
		population: [[-1800, 800]],
		incidence_pct: [[-1800, 5]],
	},
	// 610824200202 sends nothing
	'XM-A': {
		progress_pct: [[-2000, 12.5], [-800, 14]],
		jobs: [[-2500, 30]],
	},
};
// Card payments in village 610824101201 before the first flush: issued at -2500, paid at -1300.
const PAY_VILLAGE = '610824101201';

/** The sample-and-hold value of a series at row t (NaN before its first sample). */
function held(points, t) {
	let v = NaN;
	let at = -Infinity;
	for (const [ts, value] of points) if (ts <= t && ts >= at) [at, v] = [ts, value];
	return v;
}
let resolved; // key -> metric -> [[ts, value]]

function villageValue(key, metric, t) {
	const pts = resolved[key]?.[metric];
	return pts ? held(pts, t) : NaN;
}
function regionValue(villages, metric, t) {
	const m = CATALOG.metrics.find((x) => x.key === metric);
	let sum = 0;
	let weight = 0;
	let count = 0;
	for (const v of villages) {
		const x = villageValue(v, metric, t);
		if (Number.isNaN(x)) continue;
		if (m.rollup === 'sum') {
			sum += x;
			count++;
		} else {
			const w = villageValue(v, m.rollup.weighted_mean, t);
			if (Number.isNaN(w)) continue;
			sum += x * w;
			weight += w;
			count++;
		}
	}
	if (!count) return NaN;
	if (m.rollup === 'sum') return sum;
	return weight > 0 ? sum / weight : NaN;
}
function plannedPct(project, t) {
	const p = PROJECTS[project];
	const s = cstDayStart(p.start);
	const e = cstDayStart(p.end);
	if (t <= s) return 0;
	if (t >= e) return 100;
	return ((t - s) / (e - s)) * 100;
}

const same = (a, b) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

before(async () => {
	d = await Daemon.start();
	base = nowS();
	// a sample exactly on a step boundary: the row at that step must hold it (ts <= t)
	const boundary = Math.floor((base - 2000) / STEP) * STEP;
	resolved = {};
	const samples = [];
	for (const [key, metrics] of Object.entries(SERIES)) {
		resolved[key] = {};
		for (const [metric, pts] of Object.entries(metrics)) {
			resolved[key][metric] = pts.map(([off, value]) => [off === 'boundary' ? boundary : base + off, value]);
			for (const [ts, value] of resolved[key][metric]) samples.push({ entity: key, metric, ts, value });
		}
	}
	// shuffled: arrival order must not matter, only time
	samples.sort((a, b) => ((a.ts * 7919 + a.value) % 13) - ((b.ts * 7919 + b.value) % 13));
	const r = await d.post('samples', { batch_id: 'rrd-1', samples });
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, samples.length, r.text);
	assert.equal(r.body.late, 0, 'nothing is late before the first write');

	const pb = await d.post('payment-batch', {
		batch_id: 'rrd-pay-1',
		batch: { batch_no: 'RRD-PB-1', department: '民政局', fund_type: '临时救助', period: '2026', submitted: base - 2500 },
		payments: [
			{ payment_no: 'RRD-1', household: 'H1', card: '6217****0001', amount_fen: 30000, village: PAY_VILLAGE },
			{ payment_no: 'RRD-2', household: 'H2', card: '6217****0002', amount_fen: 12345, village: PAY_VILLAGE },
		],
	});
	assert.equal(pb.status, 200, pb.text);
	const pr = await d.post('payment-results', {
		batch_id: 'rrd-pay-2',
		results: [
			{ payment_no: 'RRD-1', status: 'paid', at: base - 1300 },
			{ payment_no: 'RRD-2', status: 'failed', reason: '卡已冻结', at: base - 1200 },
		],
	});
	assert.equal(pr.status, 200, pr.text);
	assert.equal(pr.body.accepted, 2);
	resolved[PAY_VILLAGE].pay_issued_fen = [[base - 2500, 42345]];
	resolved[PAY_VILLAGE].pay_paid_fen = [[base - 1300, 30000]];
	resolved[PAY_VILLAGE].pay_failed = [[base - 1200, 1]];

	due = await d.flush();
});
after(async () => {
	if (d) {
		await d.stop().catch(() => {});
		await d.cleanup();
	}
});

async function rowsOf(key) {
	const rows = await d.fetchRows(d.rrdPath(key), base - 3600, due);
	const inRange = rows.filter((r) => r.ts <= due);
	assert.ok(inRange.length >= 11, `${key}: ${inRange.length} rows between ${base - 3600} and ${due}`);
	assert.equal(inRange[inRange.length - 1].ts, due);
	return inRange;
}

test('every file is written up to the last complete step', async () => {
	for (const key of [...VILLAGES, ...Object.keys(TOWNSHIPS), COUNTY, ...Object.keys(PROJECTS)]) {
		const { ts } = await d.lastupdate(d.rrdPath(key));
		assert.equal(ts, due, key);
	}
});

test('village files hold every sample from its time on (sample-and-hold)', async () => {
	for (const key of VILLAGES) {
		const rows = await rowsOf(key);
		for (const metric of ['poor_hh', 'population', 'incidence_pct', 'funds_alloc_fen', 'pay_issued_fen', 'pay_paid_fen', 'pay_failed']) {
			for (const r of rows) {
				const want = villageValue(key, metric, r.ts);
				assert.ok(same(r.values[metric], want), `${key} ${metric} at ${r.ts} (base${r.ts - base}): ${r.values[metric]} != ${want}`);
			}
		}
	}
	// the boundary sample shows at its own row, not one step later
	const boundaryTs = resolved['610824100201'].poor_hh[2][0];
	const rows = await rowsOf('610824100201');
	assert.equal(rows.find((r) => r.ts === boundaryTs).values.poor_hh, 13);
	const before = rows.find((r) => r.ts === boundaryTs - STEP).values.poor_hh;
	assert.ok(before === 10 || before === 12, `row before the boundary holds an older value: ${before}`);
});

test('lastupdate shows the newest value of each series', async () => {
	const v1 = await d.lastupdate(d.rrdPath('610824100201'));
	assert.equal(v1.values.poor_hh, 14);
	assert.equal(v1.values.incidence_pct, 9.5);
	assert.equal(v1.values.income_pc_yuan, 9000.25);
	assert.equal(v1.values.exited_hh, null); // never sent: unknown
	const empty = await d.lastupdate(d.rrdPath('610824200202'));
	assert.ok(Object.values(empty.values).every((x) => x === null), JSON.stringify(empty.values));
	const pay = await d.lastupdate(d.rrdPath(PAY_VILLAGE));
	assert.deepEqual([pay.values.pay_issued_fen, pay.values.pay_paid_fen, pay.values.pay_failed], [42345, 30000, 1]);
});

test('township and county files: sums of their villages, incidence_pct weighted by population', async () => {
	const regions = { ...TOWNSHIPS, [COUNTY]: VILLAGES };
	const metrics = ['poor_hh', 'population', 'poor_people', 'funds_alloc_fen', 'incidence_pct', 'income_pc_yuan', 'pay_issued_fen', 'pay_paid_fen', 'pay_failed', 'dropouts'];
	for (const [key, villages] of Object.entries(regions)) {
		const rows = await rowsOf(key);
		for (const metric of metrics)
			for (const r of rows) {
				const want = regionValue(villages, metric, r.ts);
				assert.ok(same(r.values[metric], want), `${key} ${metric} at base${r.ts - base}: ${r.values[metric]} != ${want}`);
			}
	}
	// spelled out for the last row
	const county = await d.lastupdate(d.rrdPath(COUNTY));
	assert.equal(county.values.poor_hh, 14 + 25 + 7 + 4);
	assert.equal(county.values.population, 1000 + 3000 + 500 + 800);
	assert.ok(same(county.values.incidence_pct, (9.5 * 1000 + 2 * 3000 + 8 * 500 + 5 * 800) / 5300));
	const zjp = await d.lastupdate(d.rrdPath('610824101000'));
	assert.equal(zjp.values.incidence_pct, 8); // 610824101202's 50 % has no population behind it
	assert.equal(zjp.values.pay_issued_fen, 42345);
});

test('project files: progress_pct held, planned_pct from the plan, spi = progress / planned', async () => {
	const rows = await rowsOf('XM-A');
	for (const r of rows) {
		const ev = held(resolved['XM-A'].progress_pct, r.ts);
		const pv = plannedPct('XM-A', r.ts);
		assert.ok(same(r.values.progress_pct, ev), `progress_pct at base${r.ts - base}: ${r.values.progress_pct} != ${ev}`);
		assert.ok(same(r.values.planned_pct, pv), `planned_pct at base${r.ts - base}: ${r.values.planned_pct} != ${pv}`);
		assert.ok(same(r.values.spi, ev / pv), `spi at base${r.ts - base}: ${r.values.spi} != ${ev / pv}`);
		assert.ok(same(r.values.jobs, held(resolved['XM-A'].jobs, r.ts)));
		// days since the newest sample of the project (any metric)
		const reported = Object.values(resolved['XM-A']).flat().some(([ts]) => ts <= r.ts);
		assert.ok(same(r.values.days_silent, reported ? 0 : NaN), `days_silent at base${r.ts - base}: ${r.values.days_silent}`);
	}
	// a project without reports: planned progress only
	const b = await d.lastupdate(d.rrdPath('XM-B'));
	assert.ok(same(b.values.planned_pct, plannedPct('XM-B', due)));
	assert.equal(b.values.progress_pct, null);
	assert.equal(b.values.spi, null);
});

test('a sample older than the last written row is late: counted in the verdict, kept in SQLite, not in the file', async () => {
	const V1 = '610824100201';
	const now = nowS();
	const r = await d.post('samples', {
		batch_id: 'rrd-late',
		samples: [
			{ entity: V1, metric: 'poor_hh', ts: due - 900, value: 99 },
			{ entity: V1, metric: 'dropouts', ts: due, value: 5 }, // at the last row: late too
			{ entity: '610824100202', metric: 'dropouts', ts: Math.max(now - 5, due + 1), value: 3 }, // after it: not late
		],
	});
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 3);
	assert.equal(r.body.late, 2);
	const id = await d.entityId(V1);
	assert.equal(await d.scalar(`SELECT count(*) FROM sample WHERE entity_id = ${id} AND ts = ${due - 900} AND value = 99`), 1);
	const due2 = await d.flush();
	const rows = await d.fetchRows(d.rrdPath(V1), due - 1200, due2);
	assert.equal(rows.find((x) => x.ts === due - 900).values.poor_hh, villageValue(V1, 'poor_hh', due - 900));
	assert.ok(Number.isNaN(rows.find((x) => x.ts === due).values.dropouts));
	const last = await d.lastupdate(d.rrdPath(V1));
	assert.equal(last.values.poor_hh, 14);
	assert.equal(last.values.dropouts, null);
	const metrics = await d.get('/metrics');
	assert.match(metrics.text, /^fpmon_samples_late_total 2$/m);
});

test(
	'card payments reported after the last written row still move the charted village totals',
	async () => {
		const before = Number(/^fpmon_samples_late_total (\d+)$/m.exec((await d.get('/metrics')).text)[1]);
		const { ts: last } = await d.lastupdate(d.rrdPath('610824200201'));
		const r = await d.post('payment-batch', {
			batch_id: 'rrd-pay-late',
			batch: { batch_no: 'RRD-PB-2', department: '民政局', fund_type: '临时救助', period: '2026', submitted: last - 600 },
			payments: [{ payment_no: 'RRD-3', household: 'H3', card: '6217****0003', amount_fen: 5000, village: '610824200201' }],
		});
		assert.equal(r.status, 200, r.text);
		assert.equal(r.body.accepted, 1);
		const after = Number(/^fpmon_samples_late_total (\d+)$/m.exec((await d.get('/metrics')).text)[1]);
		assert.equal(after, before, 'the new issued total reached the RRD writer as a late sample and will never be charted');
	},
);

test('a village imported while the daemon runs is accepted at once and gets its own file with history', async () => {
	const NEW = '610824101203';
	const report = await d.fpmctl('import', 'regions', path.join(FIXTURES, 'regions-extra.csv'));
	assert.match(report, /1 inserted/);
	const { ts: last } = await d.lastupdate(d.rrdPath('610824101201'));
	const r = await d.post('samples', {
		batch_id: 'rrd-new-village',
		samples: [{ entity: NEW, metric: 'poor_hh', ts: last - 1200, value: 6 }],
	});
	assert.equal(r.status, 200, r.text);
	assert.equal(r.body.accepted, 1, r.text);
	assert.equal(r.body.late, 0, 'a new file has no rows yet: nothing is late for it');
	await d.entityIds({ refresh: true });
	const due2 = await d.flush();
	const rows = (await d.fetchRows(d.rrdPath(NEW), last - 1800, due2)).filter((x) => x.ts <= due2);
	assert.equal(rows[rows.length - 1].ts, due2);
	for (const row of rows) assert.ok(same(row.values.poor_hh, row.ts >= last - 1200 ? 6 : NaN), `row ${row.ts}: ${row.values.poor_hh}`);
});
