// Industry projects: progress reports (numbers become samples, a stage change
// updates project.stage) and milestone plans (new, update, done), and what
// the plan does to the project's RRD file (planned_pct, spi) and roll-ups.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, assertVerdict, nowS, metricIndex, latestKey, cstDate, cstDayStart, PROJECTS } from './lib/daemon.mjs';

let d;
let T0;

before(async () => {
	d = await Daemon.start();
	T0 = nowS();
});
after(async () => {
	if (d) {
		await d.stop().catch(() => {});
		await d.cleanup();
	}
});

async function postOk(kind, body) {
	const r = await d.post(kind, body);
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	return r.body;
}
const stageOf = (id) => d.scalar(`SELECT p.stage FROM project p JOIN entity e ON e.id = p.entity_id WHERE e.key = '${id}'`);
const registryVersion = () => d.scalar(`SELECT value FROM meta WHERE key = 'registry_version'`);

test('a progress report becomes samples and a progress_report row', async () => {
	const ts = T0 - 1200;
	const v = await postOk('progress', {
		batch_id: 'pr-1',
		reports: [
			{
				project: 'XM-A',
				ts,
				progress_pct: 20.5,
				stage: 'started', // unchanged
				alloc_fen: 5000000,
				paid_fen: 2000000,
				reimbursed_fen: 1500000,
				dividends_fen: 0,
				benef_hh: 40,
				benef_poor_hh: 31,
				jobs: 12,
				note: '羊舍主体完工',
			},
		],
	});
	assert.deepEqual(v, { batch_id: 'pr-1', accepted: 1, rejected: 0, duplicates: 0, late: 0, errors: [] });
	const id = await d.entityId('XM-A');
	const samples = await d.sqlite(`SELECT metric, ts, value FROM sample WHERE entity_id = ${id} ORDER BY metric`);
	const want = { progress_pct: 20.5, alloc_fen: 5000000, paid_fen: 2000000, reimbursed_fen: 1500000, dividends_fen: 0, benef_hh: 40, benef_poor_hh: 31, jobs: 12 };
	assert.deepEqual(
		samples,
		Object.entries(want)
			.map(([k, value]) => ({ metric: metricIndex(k), ts, value }))
			.sort((a, b) => a.metric - b.metric),
	);
	const latest = await d.scalar(`SELECT value FROM latest WHERE key = ${latestKey(id, 'progress_pct')}`);
	assert.equal(latest, 20.5);
	const reports = await d.sqlite(`SELECT ts, progress_pct, stage, note FROM progress_report WHERE project_id = ${id}`);
	assert.deepEqual(reports, [{ ts, progress_pct: 20.5, stage: 'started', note: '羊舍主体完工' }]);
	assert.equal(await stageOf('XM-A'), 'started');
});

test('a stage change updates project.stage and the registry version', async () => {
	assert.equal(await stageOf('XM-B'), 'approved');
	const version = await registryVersion();
	const v = await postOk('progress', {
		batch_id: 'pr-2',
		reports: [
			{ project: 'XM-B', ts: T0 - 900, stage: 'publicised' },
			{ project: 'XM-B', ts: T0 - 600, stage: 'started', progress_pct: 3 },
		],
	});
	assert.equal(v.accepted, 2);
	assert.equal(await stageOf('XM-B'), 'started');
	assert.ok((await registryVersion()) > version, 'registry_version moved');
	const id = await d.entityId('XM-B');
	const reports = await d.sqlite(`SELECT ts, progress_pct, stage FROM progress_report WHERE project_id = ${id} ORDER BY ts`);
	assert.deepEqual(reports, [
		{ ts: T0 - 900, progress_pct: null, stage: 'publicised' },
		{ ts: T0 - 600, progress_pct: 3, stage: 'started' },
	]);
});

test('bad progress reports are answered item by item', async () => {
	const before = await d.scalar('SELECT count(*) FROM progress_report');
	const v = await postOk('progress', {
		batch_id: 'pr-3',
		reports: [
			{ project: 'XM-C', ts: T0 - 300, progress_pct: 101 },
			{ project: 'XM-NOPE', ts: T0 - 300, progress_pct: 1 },
			{ project: 'XM-C', ts: T0 + 86400, progress_pct: 1 },
			{ project: 'XM-C', ts: T0 - 300, alloc_fen: 1.5 },
			{ project: 'XM-C', ts: T0 - 300, paid_fen: -5 },
			{ project: 'XM-C', ts: T0 - 300, stage: 'finished' },
			{ project: 'XM-C', progress_pct: 1 },
			{ project: '610824100201', ts: T0 - 300, progress_pct: 1 },
			{ project: 'XM-C', ts: T0 - 300, progress_pct: 7.5 },
		],
	});
	assert.equal(v.accepted, 1);
	assert.equal(v.rejected, 8);
	const fields = Object.fromEntries(v.errors.map((e) => [e.index, e.field]));
	assert.deepEqual(fields, {
		0: 'reports[0].progress_pct',
		1: 'reports[1].project',
		2: 'reports[2].ts',
		3: 'reports[3].alloc_fen',
		4: 'reports[4].paid_fen',
		5: 'reports[5].stage',
		6: 'reports[6].ts',
		7: 'reports[7].project',
	});
	assert.match(v.errors.find((e) => e.index === 2).reason, /future/);
	assert.match(v.errors.find((e) => e.index === 1).reason, /unknown project/);
	assert.equal(await d.scalar('SELECT count(*) FROM progress_report'), before + 1);
	const replay = await postOk('progress', { batch_id: 'pr-3', reports: [{ project: 'XM-C', ts: T0 - 300, progress_pct: 9 }] });
	assert.deepEqual(replay, { ...v, replayed: true });
	assert.equal(await d.scalar('SELECT count(*) FROM progress_report'), before + 1);
});

const M1 = () => cstDate(T0, -300);
const M2 = () => cstDate(T0, 300);

test('a new milestone needs planned_date and weight', async () => {
	const v = await postOk('milestones', {
		batch_id: 'ms-1',
		milestones: [
			{ project: 'XM-C', name: '厂房建成', planned_date: M1(), weight: 40 },
			{ project: 'XM-C', name: '设备安装', planned_date: M2(), weight: 60 },
			{ project: 'XM-C', name: '无日期', weight: 10 },
			{ project: 'XM-C', name: '无权重', planned_date: M2() },
			{ project: 'XM-C', name: '零权重', planned_date: M2(), weight: 0 },
			{ project: 'XM-C', name: '坏日期', planned_date: '2026-02-30', weight: 1 },
			{ project: 'XM-NOPE', name: 'x', planned_date: M2(), weight: 1 },
			{ project: 'XM-C', name: '', planned_date: M2(), weight: 1 },
		],
	});
	assert.equal(v.accepted, 2);
	assert.equal(v.rejected, 6);
	const fields = Object.fromEntries(v.errors.map((e) => [e.index, e.field]));
	assert.deepEqual(fields, {
		2: 'milestones[2].planned_date',
		3: 'milestones[3].weight',
		4: 'milestones[4].weight',
		5: 'milestones[5].planned_date',
		6: 'milestones[6].project',
		7: 'milestones[7].name',
	});
	assert.match(v.errors.find((e) => e.index === 2).reason, /required/);
	assert.match(v.errors.find((e) => e.index === 3).reason, /required/);
	assert.match(v.errors.find((e) => e.index === 5).reason, /calendar date/);
	const id = await d.entityId('XM-C');
	const rows = await d.sqlite(`SELECT name, planned_date, weight, done_date FROM milestone WHERE project_id = ${id} ORDER BY planned_date`);
	assert.deepEqual(rows, [
		{ name: '厂房建成', planned_date: M1(), weight: 40, done_date: null },
		{ name: '设备安装', planned_date: M2(), weight: 60, done_date: null },
	]);
});

test('a done_date in the future is refused; an existing milestone is updated in place', async () => {
	const id = await d.entityId('XM-C');
	const version = await registryVersion();
	const v = await postOk('milestones', {
		batch_id: 'ms-2',
		milestones: [
			{ project: 'XM-C', name: '厂房建成', done_date: cstDate(T0, 2) },
			{ project: 'XM-C', name: '厂房建成', done_date: cstDate(T0, -10) },
			{ project: 'XM-C', name: '设备安装', weight: 50 },
		],
	});
	assert.equal(v.accepted, 2);
	assert.deepEqual(v.errors.map((e) => [e.index, e.field]), [[0, 'milestones[0].done_date']]);
	assert.match(v.errors[0].reason, /future/);
	assert.ok((await registryVersion()) > version);
	let rows = await d.sqlite(`SELECT name, planned_date, weight, done_date FROM milestone WHERE project_id = ${id} ORDER BY planned_date`);
	assert.deepEqual(rows, [
		{ name: '厂房建成', planned_date: M1(), weight: 40, done_date: cstDate(T0, -10) },
		{ name: '设备安装', planned_date: M2(), weight: 50, done_date: null },
	]);
	// done_date null marks it not done again; nothing else changes
	await postOk('milestones', { batch_id: 'ms-3', milestones: [{ project: 'XM-C', name: '厂房建成', done_date: null }] });
	rows = await d.sqlite(`SELECT name, weight, done_date FROM milestone WHERE project_id = ${id} AND name = '厂房建成'`);
	assert.deepEqual(rows, [{ name: '厂房建成', weight: 40, done_date: null }]);
	// the same name on another project is another milestone
	await postOk('milestones', { batch_id: 'ms-4', milestones: [{ project: 'XM-A', name: '厂房建成', planned_date: M2(), weight: 1 }] });
	assert.equal(await d.scalar(`SELECT count(*) FROM milestone WHERE name = '厂房建成'`), 2);
	assert.equal(await d.scalar('SELECT count(*) FROM milestone'), 3);
});

/** Planned progress (%) of a project at t, computed here from the stored plan. */
async function plannedPct(projectId, t) {
	const [p] = await d.sqlite(`SELECT p.entity_id, p.start_date, p.planned_end FROM project p JOIN entity e ON e.id = p.entity_id WHERE e.key = '${projectId}'`);
	const ms = await d.sqlite(`SELECT planned_date, weight FROM milestone WHERE project_id = ${p.entity_id} ORDER BY planned_date`);
	let pts;
	if (!ms.length) {
		pts = [
			[cstDayStart(p.start_date), 0],
			[cstDayStart(p.planned_end), 100],
		];
	} else {
		const total = ms.reduce((s, m) => s + m.weight, 0);
		let sum = 0;
		pts = ms.map((m) => [cstDayStart(m.planned_date), ((sum += m.weight) / total) * 100]);
		if (cstDayStart(p.start_date) < pts[0][0]) pts.unshift([cstDayStart(p.start_date), 0]);
	}
	if (t <= pts[0][0]) return t < pts[0][0] && pts.length > 1 ? 0 : pts[0][1];
	for (let i = 1; i < pts.length; i++)
		if (t < pts[i][0]) return pts[i - 1][1] + ((t - pts[i - 1][0]) / (pts[i][0] - pts[i - 1][0])) * (pts[i][1] - pts[i - 1][1]);
	return pts[pts.length - 1][1];
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);

test('after a flush the project files carry progress, the milestone plan (planned_pct) and spi; roll-ups count stages', async () => {
	const due = await d.flush();
	const c = await d.lastupdate(d.rrdPath('XM-C'));
	assert.equal(c.ts, due);
	close(c.values.progress_pct, 7.5, 'XM-C progress_pct');
	const pvC = await plannedPct('XM-C', due);
	assert.ok(pvC > 40 && pvC < 100, `milestone plan in effect: ${pvC}`);
	close(c.values.planned_pct, pvC, 'XM-C planned_pct (from milestones)');
	close(c.values.spi, 7.5 / pvC, 'XM-C spi');
	assert.equal(c.values.days_silent, 0);

	const a = await d.lastupdate(d.rrdPath('XM-A'));
	const pvA = await plannedPct('XM-A', due);
	close(a.values.progress_pct, 20.5, 'XM-A progress_pct');
	close(a.values.planned_pct, pvA, 'XM-A planned_pct');
	close(a.values.spi, 20.5 / pvA, 'XM-A spi');
	assert.equal(a.values.jobs, 12);
	assert.equal(a.values.alloc_fen, 5000000);

	const county = await d.lastupdate(d.rrdPath('610824000000'));
	assert.equal(county.values.proj_total, 3);
	assert.equal(county.values.proj_started, 2); // XM-A started, XM-B moved to started
	assert.equal(county.values.proj_completed, 0);
	const budget = Object.values(PROJECTS).reduce((s, p) => s + p.invest_fen, 0);
	assert.equal(county.values.proj_budget_fen, budget);
	const pvB = await plannedPct('XM-B', due);
	const ev = (20.5 / 100) * PROJECTS['XM-A'].invest_fen + (3 / 100) * PROJECTS['XM-B'].invest_fen + (7.5 / 100) * PROJECTS['XM-C'].invest_fen;
	const pv = (pvA / 100) * PROJECTS['XM-A'].invest_fen + (pvB / 100) * PROJECTS['XM-B'].invest_fen + (pvC / 100) * PROJECTS['XM-C'].invest_fen;
	close(county.values.proj_ev_fen, ev, 'proj_ev_fen');
	close(county.values.proj_pv_fen, pv, 'proj_pv_fen');
	close(county.values.proj_spi, ev / pv, 'proj_spi');
	assert.equal(county.values.proj_alloc_fen, 5000000);
	assert.equal(county.values.proj_benef_hh, 40);
	const dongkeng = await d.lastupdate(d.rrdPath('610824100000'));
	assert.equal(dongkeng.values.proj_total, 1); // XM-A, located in one of its villages
	const zhangjiapan = await d.lastupdate(d.rrdPath('610824101000'));
	assert.equal(zhangjiapan.values.proj_total, 1); // XM-B, located at the township itself
	assert.equal(zhangjiapan.values.proj_started, 1);
});

test('a progress report older than the last written row is late: stored, counted, not charted', async () => {
	const { ts: last } = await d.lastupdate(d.rrdPath('XM-A'));
	const v = await postOk('progress', { batch_id: 'pr-late', reports: [{ project: 'XM-A', ts: last - 600, progress_pct: 99 }] });
	assert.equal(v.accepted, 1);
	assert.equal(v.late, 1);
	const id = await d.entityId('XM-A');
	assert.equal(await d.scalar(`SELECT count(*) FROM progress_report WHERE project_id = ${id} AND progress_pct = 99`), 1);
	assert.equal(await d.scalar(`SELECT count(*) FROM sample WHERE entity_id = ${id} AND value = 99 AND ts = ${last - 600}`), 1);
	// `latest` follows time (this report is newer than the one charted), the RRD file does not
	assert.equal(await d.scalar(`SELECT value FROM latest WHERE key = ${latestKey(id, 'progress_pct')}`), 99);
	await d.flush();
	const rows = await d.fetchRows(d.rrdPath('XM-A'), last - 900, last);
	const row = rows.find((r) => r.ts === last - 600);
	assert.ok(row, `row ${last - 600} in ${JSON.stringify(rows.map((r) => r.ts))}`);
	assert.notEqual(row.values.progress_pct, 99);
	const a = await d.lastupdate(d.rrdPath('XM-A'));
	close(a.values.progress_pct, 20.5, 'XM-A progress_pct after a late report');
});
