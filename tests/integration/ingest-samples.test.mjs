// Sample ingest: good, bad and mixed batches, per-item verdicts with field and
// reason, re-sent batches, invalid JSON and values JSON cannot carry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, assertVerdict, assertErrorReply, nowS, metricIndex, latestKey, RETIRED_VILLAGE } from './lib/daemon.mjs';

let d;
const V1 = '610824100201';
const V2 = '610824100202';
const V3 = '610824101201';

before(async () => {
	d = await Daemon.start();
});
after(async () => {
	if (d) {
		await d.stop().catch(() => {});
		await d.cleanup();
	}
});

const sample = (entity, metric, ts, value) => ({ entity, metric, ts, value });

/** Samples stored by the request with this batch_id (for the default token). */
async function storedBy(batchId) {
	return d.sqlite(
		`SELECT e.key AS entity, s.metric, s.ts, s.value FROM sample s JOIN ingest_batch b ON b.id = s.batch_id` +
			` JOIN entity e ON e.id = s.entity_id WHERE b.batch_key = '${batchId}' ORDER BY s.id`,
	);
}
const counts = async () =>
	(await d.sqlite('SELECT (SELECT count(*) FROM sample) AS samples, (SELECT count(*) FROM ingest_batch) AS batches'))[0];

function errorFor(reply, index) {
	const errs = reply.errors.filter((e) => e.index === index);
	assert.ok(errs.length > 0, `no error for item ${index} in ${JSON.stringify(reply.errors)}`);
	for (const e of errs) {
		assert.equal(typeof e.field, 'string');
		assert.ok(e.field.length > 0, 'error field is empty');
		assert.ok(e.reason.length > 0, 'error reason is empty');
	}
	return errs;
}

test('fixture county is imported from UTF-8 and GB18030 CSV', async () => {
	assert.match(d.importReports[0], /8 rows \(UTF-8\): 8 inserted/);
	assert.match(d.importReports[1], /3 rows \(GB18030\): 3 inserted/);
	assert.match(d.importReports[2], /3 rows \(UTF-8\): 3 inserted/);
	const rows = await d.sqlite(`SELECT code, parent, name_zh FROM region WHERE code LIKE '6108242%' ORDER BY code`);
	assert.deepEqual(rows, [
		{ code: '610824200000', parent: '610824000000', name_zh: '红墩界乡' },
		{ code: '610824200201', parent: '610824200000', name_zh: '红墩界村' },
		{ code: '610824200202', parent: '610824200000', name_zh: '白湾子村' },
	]);
});

test('a good batch is stored and answered with a verdict', async () => {
	const now = nowS();
	const body = {
		batch_id: 'good-1',
		samples: [
			sample(V1, 'poor_hh', now - 900, 41),
			sample(V1, 'poor_people', now - 900, 120),
			sample(V2, 'incidence_pct', now - 900, 3.25),
			sample(V3, 'income_pc_yuan', now - 900, 10234.5),
			sample('XM-A', 'progress_pct', now - 900, 12.5),
			sample(V1, 'funds_alloc_fen', now - 900, 123456789),
		],
	};
	const r = await d.post('samples', body);
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.deepEqual(r.body, { batch_id: 'good-1', accepted: 6, rejected: 0, duplicates: 0, late: 0, errors: [] });
	const stored = await storedBy('good-1');
	assert.deepEqual(
		stored,
		body.samples.map((s) => ({ entity: s.entity, metric: metricIndex(s.metric), ts: s.ts, value: s.value })),
	);
	const id = await d.entityId(V1);
	const latest = await d.sqlite(`SELECT ts, value FROM latest WHERE key = ${latestKey(id, 'poor_hh')}`);
	assert.deepEqual(latest, [{ ts: now - 900, value: 41 }]);
});

test('an all-bad batch stores nothing and explains every item', async () => {
	const now = nowS();
	const before = await counts();
	const r = await d.post('samples', {
		batch_id: 'bad-1',
		samples: [sample('610824199999', 'poor_hh', now - 60, 1), sample(V1, 'no_such_metric', now - 60, 1)],
	});
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 0);
	assert.equal(r.body.rejected, 2);
	assert.deepEqual(
		r.body.errors.map((e) => [e.index, e.field]),
		[
			[0, 'samples[0].entity'],
			[1, 'samples[1].metric'],
		],
	);
	const after = await counts();
	assert.equal(after.samples, before.samples, 'no sample stored');
});

test('a mixed batch stores the good items and answers each bad one with field and reason', async () => {
	const now = nowS();
	const items = [
		/* 0 ok */ sample(V1, 'poor_hh', now - 600, 40),
		/* 1 unknown entity */ sample('610824100299', 'poor_hh', now - 600, 1),
		/* 2 malformed code (11 digits) */ sample('61082410020', 'poor_hh', now - 600, 1),
		/* 3 negative money */ sample(V1, 'funds_alloc_fen', now - 600, -5),
		/* 4 fractional money */ sample(V1, 'funds_alloc_fen', now - 600, 1.5),
		/* 5 far future */ sample(V1, 'poor_hh', now + 86400, 1),
		/* 6 ok */ sample(V2, 'population', now - 600, 1500),
		/* 7 percent > 100 */ sample(V2, 'incidence_pct', now - 600, 100.5),
		/* 8 count not integer */ sample(V2, 'poor_hh', now - 600, 2.5),
		/* 9 server-computed metric */ sample(V1, 'pay_paid_fen', now - 600, 100),
		/* 10 village metric on a project */ sample('XM-A', 'poor_hh', now - 600, 1),
		/* 11 village metric on a township */ sample('610824100000', 'poor_hh', now - 600, 1),
		/* 12 retired village */ sample(RETIRED_VILLAGE, 'poor_hh', now - 600, 1),
		/* 13 unknown property */ { ...sample(V1, 'poor_hh', now - 600, 1), extra: true },
		/* 14 value as a string */ sample(V1, 'poor_hh', now - 600, '3'),
		/* 15 missing ts */ { entity: V1, metric: 'poor_hh', value: 3 },
		/* 16 unknown project */ sample('XM-NOPE', 'progress_pct', now - 600, 3),
		/* 17 negative count */ sample(V3, 'dropouts', now - 600, -1),
		/* 18 ts before 2000 */ sample(V1, 'poor_hh', 900000000, 1),
		/* 19 ok */ sample(V3, 'dropouts', now - 600, 0),
	];
	const r = await d.post('samples', { batch_id: 'mixed-1', samples: items });
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 3);
	assert.equal(r.body.rejected, items.length - 3);
	const expect = {
		1: ['samples[1].entity', /unknown division code/],
		2: ['samples[2].entity', /match/],
		3: ['samples[3].value', />= 0/],
		4: ['samples[4].value', /integer number of fen/],
		5: ['samples[5].ts', /future/],
		7: ['samples[7].value', /<= 100/],
		8: ['samples[8].value', /integer/],
		9: ['samples[9].metric', /computed by the server/],
		10: ['samples[10].entity', /project, not a village/],
		11: ['samples[11].entity', /township, not a village/],
		12: ['samples[12].entity', /retired/],
		13: ['samples[13].extra', /not allowed/],
		14: ['samples[14].value', /number/],
		15: ['samples[15].ts', /required/],
		16: ['samples[16].entity', /unknown project/],
		17: ['samples[17].value', />= 0/],
		18: ['samples[18].ts', /946684800/],
	};
	for (const [i, [field, reason]] of Object.entries(expect)) {
		const errs = errorFor(r.body, Number(i));
		assert.ok(
			errs.some((e) => e.field.startsWith(field) && reason.test(e.reason)),
			`item ${i}: want ${field} ~ ${reason}, got ${JSON.stringify(errs)}`,
		);
	}
	for (const ok of [0, 6, 19]) assert.equal(r.body.errors.filter((e) => e.index === ok).length, 0, `item ${ok} is good`);
	const stored = await storedBy('mixed-1');
	assert.deepEqual(
		stored,
		[items[0], items[6], items[19]].map((s) => ({ entity: s.entity, metric: metricIndex(s.metric), ts: s.ts, value: s.value })),
	);
});

test('a timestamp within future_tolerance_s (300 s) is accepted, beyond it refused', async () => {
	const now = nowS();
	const r = await d.post('samples', {
		batch_id: 'future-1',
		samples: [sample(V3, 'trainees', now + 120, 5), sample(V3, 'trainees', now + 3600, 6)],
	});
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 1);
	assert.deepEqual(r.body.errors, [{ index: 1, field: 'samples[1].ts', reason: 'is in the future' }]);
});

test('a re-sent batch_id is answered from the first verdict and stores nothing twice', async () => {
	const now = nowS();
	const body = {
		batch_id: 'resend-1',
		samples: [sample(V1, 'exited_hh', now - 300, 7), sample(V1, 'exited_hh', now + 99999, 8), sample(V2, 'exited_hh', now - 300, 9)],
	};
	const first = await d.post('samples', body);
	assert.equal(first.status, 200, first.text);
	assertVerdict(first.body);
	assert.equal(first.body.accepted, 2);
	assert.equal(first.body.replayed, undefined);
	const mid = await counts();
	for (let i = 0; i < 3; i++) {
		const again = await d.post('samples', body);
		assert.equal(again.status, 200, again.text);
		assertVerdict(again.body);
		assert.deepEqual(again.body, { ...first.body, replayed: true });
	}
	// Same batch_id, different content: still the first verdict, nothing stored.
	const changed = await d.post('samples', { batch_id: 'resend-1', samples: [sample(V3, 'exited_hh', now - 300, 1)] });
	assert.equal(changed.status, 200);
	assert.deepEqual(changed.body, { ...first.body, replayed: true });
	assert.deepEqual(await counts(), mid);
	assert.equal((await storedBy('resend-1')).length, 2);
	assert.equal(await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = 'resend-1'`), 1);
});

test('the same batch sent twice at once is stored once', async () => {
	const now = nowS();
	const body = { batch_id: 'race-1', samples: [sample(V2, 'trainees', now - 120, 11), sample(V3, 'trainees', now - 120, 12)] };
	const before = await counts();
	const replies = await Promise.all([1, 2, 3, 4].map(() => d.post('samples', body)));
	for (const r of replies) {
		assert.equal(r.status, 200, r.text);
		assertVerdict(r.body);
		assert.equal(r.body.accepted, 2);
	}
	assert.equal(replies.filter((r) => r.body.replayed !== true).length, 1, 'exactly one first verdict');
	const after = await counts();
	assert.equal(after.samples - before.samples, 2);
	assert.equal(after.batches - before.batches, 1);
});

test('a batch_id is per token: another token with the same batch_id is a new batch', async () => {
	const other = await d.createToken('second-source');
	const now = nowS();
	const body = { batch_id: 'shared-id', samples: [sample(V1, 'welfare_jobs', now - 60, 3)] };
	const a = await d.post('samples', body);
	const b = await d.post('samples', body, other);
	assert.equal(a.status, 200);
	assert.equal(b.status, 200);
	assert.equal(a.body.replayed, undefined);
	assert.equal(b.body.replayed, undefined);
	assert.equal(await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = 'shared-id'`), 2);
});

test('invalid JSON is refused with 400 and nothing is stored', async () => {
	const before = await counts();
	for (const text of [
		'{"batch_id":"j1","samples":[',
		'not json at all',
		'{"batch_id":"j2","batch_id":"j3","samples":[]}',
		'\u00ff\u00fe',
	]) {
		const r = await d.post('samples', text);
		assert.equal(r.status, 400, `${text}: ${r.text}`);
		assertErrorReply(r.body);
		assert.ok(r.body.error.length > 0);
	}
	assert.deepEqual(await counts(), before);
});

test('an invalid envelope is refused with 400 naming the field', async () => {
	const before = await counts();
	const cases = [
		[{ samples: [sample(V1, 'poor_hh', nowS(), 1)] }, /batch_id|body/],
		[{ batch_id: 'env-1' }, /samples|body/],
		[{ batch_id: 'env-2', samples: [] }, /samples/],
		[{ batch_id: 'has space', samples: [sample(V1, 'poor_hh', nowS(), 1)] }, /batch_id/],
		[{ batch_id: 'env-3', samples: [sample(V1, 'poor_hh', nowS(), 1)], extra: 1 }, /extra/],
		[[sample(V1, 'poor_hh', nowS(), 1)], /body|\(root\)|^$/],
	];
	for (const [body, field] of cases) {
		const r = await d.post('samples', body);
		assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
		assertErrorReply(r.body);
		assert.ok(typeof r.body.reason === 'string' && r.body.reason.length > 0, r.text);
		assert.match(r.body.field ?? '', field, r.text);
	}
	const empty = await d.post('samples', '');
	assert.equal(empty.status, 400);
	assertErrorReply(empty.body);
	assert.deepEqual(await counts(), before);
});

test('non-finite numbers: JSON cannot carry NaN/Infinity, 1e400 overflows: the request is refused', async () => {
	const now = nowS();
	const before = await counts();
	const good = `{"entity":"${V1}","metric":"poor_hh","ts":${now - 60},"value":1}`;
	for (const literal of ['1e400', '-1e400', 'NaN', 'Infinity', '-Infinity']) {
		const text = `{"batch_id":"nf-${literal.replace(/[^a-z0-9]/gi, '')}","samples":[${good},{"entity":"${V1}","metric":"income_pc_yuan","ts":${now - 60},"value":${literal}}]}`;
		const r = await d.post('samples', text);
		assert.equal(r.status, 400, `${literal}: ${r.text}`);
		assertErrorReply(r.body);
		assert.equal(r.body.error, 'invalid JSON');
	}
	// What JSON can carry: the largest finite double is a valid number; a string "NaN" is not a number.
	const r = await d.post('samples', {
		batch_id: 'nf-ok',
		samples: [sample(V1, 'income_pc_yuan', now - 60, 1.7976931348623157e308), sample(V1, 'income_pc_yuan', now - 60, 'NaN')],
	});
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 1);
	assert.deepEqual(r.body.errors.map((e) => e.field), ['samples[1].value']);
	const after = await counts();
	assert.equal(after.samples - before.samples, 1);
});

test('more than 1000 bad items: errors are capped and errors_truncated is set', async () => {
	const now = nowS();
	const items = Array.from({ length: 1100 }, (_, i) => sample(V1, 'poor_hh', now - 60, -1 - i));
	items.push(sample(V1, 'poor_hh', now - 60, 42));
	const r = await d.post('samples', { batch_id: 'many-bad', samples: items });
	assert.equal(r.status, 200, r.text.slice(0, 300));
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 1);
	assert.equal(r.body.rejected, 1100);
	assert.equal(r.body.errors.length, 1000);
	assert.equal(r.body.errors_truncated, true);
});
