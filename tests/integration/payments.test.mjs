// Card payments (一卡通): a batch to the bank, the bank's results, failures and
// reissues, idempotent re-sends, and the derived village metrics in `latest`
// (pay_issued_fen, pay_paid_fen, pay_failed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, assertVerdict, assertErrorReply, nowS, latestKey, metricIndex } from './lib/daemon.mjs';

let d;
let T0; // "now" of the scenario
const V1 = '610824100201';
const V2 = '610824101202';

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

const payment = (no, household, village, amount_fen, extra = {}) => ({
	payment_no: no,
	household,
	card: '6217****' + String(1000 + (household.length * 37) % 9000).slice(-4),
	amount_fen,
	village,
	...extra,
});
const batchHeader = (batch_no, extra = {}) => ({
	batch_no,
	department: '民政局',
	fund_type: '低保金',
	period: '2026-11',
	submitted: T0 - 7200,
	...extra,
});

/** Derived village metrics from `latest` (undefined when never set). */
async function derived(village) {
	const id = await d.entityId(village);
	const keys = ['pay_issued_fen', 'pay_paid_fen', 'pay_failed'].map((m) => latestKey(id, m));
	const rows = await d.sqlite(`SELECT key, value FROM latest WHERE key IN (${keys.join(',')})`);
	const byKey = Object.fromEntries(rows.map((r) => [r.key, r.value]));
	return { issued: byKey[keys[0]], paid: byKey[keys[1]], failed: byKey[keys[2]] };
}
const paymentRows = () =>
	d.sqlite('SELECT payment_no, status, reason, reissued, amount_fen, reissue_of FROM payment ORDER BY payment_no');
const countOf = (table) => d.scalar(`SELECT count(*) FROM ${table}`);

async function postOk(kind, body) {
	const r = await d.post(kind, body);
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	return r.body;
}

// The tests below form one scenario and run in order.

test('a payment batch: good payments stored, bad ones answered with field and reason', async () => {
	const v = await postOk('payment-batch', {
		batch_id: 'pb-1',
		batch: batchHeader('PB-2026-11-A', { funds_at_bank: T0 - 7000 }),
		payments: [
			payment('P1', 'H001', V1, 10000),
			payment('P2', 'H002', V1, 20000),
			payment('P3', 'H003', V2, 5000),
			{ ...payment('P4', 'H004', V1, 100), card: '6217000012341234' }, // full card number refused
			payment('P5', 'H005', '610824100299', 100), // unknown village
			payment('P6', 'H006', V1, 0), // amount must be >= 1
			payment('P7', 'H007', V1, 12.5), // fractional fen
			payment('P8', 'H008', '610824101000', 100), // a township, not a village
		],
	});
	assert.equal(v.accepted, 3);
	assert.equal(v.rejected, 5);
	assert.equal(v.duplicates, 0);
	assert.deepEqual(
		v.errors.map((e) => [e.index, e.field]),
		[
			[3, 'payments[3].card'],
			[4, 'payments[4].village'],
			[5, 'payments[5].amount_fen'],
			[6, 'payments[6].amount_fen'],
			[7, 'payments[7].village'],
		],
	);
	for (const e of v.errors) assert.ok(e.reason.length > 0);
	assert.deepEqual(
		(await paymentRows()).map((p) => [p.payment_no, p.status]),
		[
			['P1', 'sent'],
			['P2', 'sent'],
			['P3', 'sent'],
		],
	);
	const batch = await d.sqlite(`SELECT batch_no, department, fund_type, period, submitted, funds_at_bank FROM pay_batch`);
	assert.deepEqual(batch, [
		{ batch_no: 'PB-2026-11-A', department: '民政局', fund_type: '低保金', period: '2026-11', submitted: T0 - 7200, funds_at_bank: T0 - 7000 },
	]);
	assert.deepEqual(await derived(V1), { issued: 30000, paid: undefined, failed: undefined });
	assert.deepEqual(await derived(V2), { issued: 5000, paid: undefined, failed: undefined });
});

test('the same batch_id re-sent: replayed, nothing stored twice', async () => {
	const before = { payments: await countOf('payment'), samples: await countOf('sample'), batches: await countOf('ingest_batch') };
	const v = await postOk('payment-batch', {
		batch_id: 'pb-1',
		batch: batchHeader('PB-2026-11-A', { funds_at_bank: T0 - 7000 }),
		payments: [payment('P1', 'H001', V1, 10000)],
	});
	assert.equal(v.replayed, true);
	assert.equal(v.accepted, 3);
	assert.equal(v.rejected, 5);
	assert.deepEqual(
		{ payments: await countOf('payment'), samples: await countOf('sample'), batches: await countOf('ingest_batch') },
		before,
	);
	assert.deepEqual(await derived(V1), { issued: 30000, paid: undefined, failed: undefined });
});

test('payments re-sent under a new batch_id are duplicates; a reused payment_no with other content is refused', async () => {
	const before = await countOf('payment');
	const v = await postOk('payment-batch', {
		batch_id: 'pb-1-again',
		batch: batchHeader('PB-2026-11-A'),
		payments: [
			payment('P1', 'H001', V1, 10000), // identical: duplicate
			payment('P2', 'H002', V1, 99999), // other amount
			payment('P3', 'H099', V2, 5000), // other household
			payment('P9', 'H009', V2, 700), // new
		],
	});
	assert.equal(v.accepted, 1);
	assert.equal(v.duplicates, 1);
	assert.equal(v.rejected, 2);
	assert.deepEqual(
		v.errors.map((e) => [e.index, e.field]),
		[
			[1, 'payments[1].payment_no'],
			[2, 'payments[2].payment_no'],
		],
	);
	assert.equal(await countOf('payment'), before + 1);
	assert.equal(await d.scalar(`SELECT amount_fen FROM payment WHERE payment_no = 'P2'`), 20000);
	assert.deepEqual(await derived(V1), { issued: 30000, paid: undefined, failed: undefined });
	assert.deepEqual(await derived(V2), { issued: 5700, paid: undefined, failed: undefined });
});

test('a batch_no reused with another department, or submitted in the future, is refused as a whole', async () => {
	const before = { payments: await countOf('payment'), batches: await countOf('ingest_batch'), pay: await countOf('pay_batch') };
	const clash = await d.post('payment-batch', {
		batch_id: 'pb-clash',
		batch: batchHeader('PB-2026-11-A', { department: '教育局' }),
		payments: [payment('P20', 'H020', V1, 100)],
	});
	assert.equal(clash.status, 409, clash.text);
	assertVerdict(clash.body);
	assert.deepEqual(clash.body.errors.map((e) => [e.index, e.field]), [[-1, 'batch.batch_no']]);
	const future = await d.post('payment-batch', {
		batch_id: 'pb-future',
		batch: batchHeader('PB-FUTURE', { submitted: T0 + 86400 }),
		payments: [payment('P21', 'H021', V1, 100)],
	});
	assert.equal(future.status, 422, future.text);
	assertVerdict(future.body);
	assert.deepEqual(future.body.errors.map((e) => [e.index, e.field]), [[-1, 'batch.submitted']]);
	assert.match(future.body.errors[0].reason, /future/);
	assert.deepEqual({ payments: await countOf('payment'), batches: await countOf('ingest_batch'), pay: await countOf('pay_batch') }, before);
	// Refused requests are not remembered: the same batch_id may come again, corrected.
	const fixed = await postOk('payment-batch', {
		batch_id: 'pb-future',
		batch: batchHeader('PB-2026-11-B'),
		payments: [payment('P21', 'H021', V1, 100)],
	});
	assert.equal(fixed.replayed, undefined);
	assert.equal(fixed.accepted, 1);
	assert.deepEqual(await derived(V1), { issued: 30100, paid: undefined, failed: undefined });
});

test('bank results: paid and failed (failed needs a reason), unknown payment and future time refused', async () => {
	const v = await postOk('payment-results', {
		batch_id: 'res-1',
		results: [
			{ payment_no: 'P1', status: 'paid', at: T0 - 3600 },
			{ payment_no: 'P2', status: 'failed', at: T0 - 3600 }, // no reason
			{ payment_no: 'P2', status: 'failed', reason: '户名与卡号不符', at: T0 - 3500 },
			{ payment_no: 'P3', status: 'paid', at: T0 - 3600 },
			{ payment_no: 'P404', status: 'paid', at: T0 - 3600 },
			{ payment_no: 'P9', status: 'paid', at: T0 + 86400 },
			{ payment_no: 'P9', status: 'lost', at: T0 - 3600 },
		],
	});
	assert.equal(v.accepted, 3);
	assert.equal(v.rejected, 4);
	assert.deepEqual(
		v.errors.map((e) => [e.index, e.field]),
		[
			[1, 'results[1].reason'],
			[4, 'results[4].payment_no'],
			[5, 'results[5].at'],
			[6, 'results[6].status'],
		],
	);
	assert.match(v.errors[0].reason, /required/);
	assert.match(v.errors[2].reason, /future/);
	const rows = Object.fromEntries((await paymentRows()).map((p) => [p.payment_no, p]));
	assert.equal(rows.P1.status, 'paid');
	assert.equal(rows.P2.status, 'failed');
	assert.equal(rows.P2.reason, '户名与卡号不符');
	assert.equal(rows.P3.status, 'paid');
	assert.equal(rows.P9.status, 'sent');
	assert.deepEqual(await derived(V1), { issued: 30100, paid: 10000, failed: 1 });
	assert.deepEqual(await derived(V2), { issued: 5700, paid: 5000, failed: undefined });
});

test('a re-sent result is a duplicate; paid -> failed is refused', async () => {
	const v = await postOk('payment-results', {
		batch_id: 'res-2',
		results: [
			{ payment_no: 'P1', status: 'paid', at: T0 - 3600 }, // already paid
			{ payment_no: 'P2', status: 'failed', reason: '户名与卡号不符', at: T0 - 3500 }, // already failed
			{ payment_no: 'P1', status: 'failed', reason: '卡已冻结', at: T0 - 3000 }, // paid -> failed
		],
	});
	assert.equal(v.accepted, 0);
	assert.equal(v.duplicates, 2);
	assert.equal(v.rejected, 1);
	assert.deepEqual(v.errors.map((e) => [e.index, e.field]), [[2, 'results[2].status']]);
	assert.equal(await d.scalar(`SELECT status FROM payment WHERE payment_no = 'P1'`), 'paid');
	assert.deepEqual(await derived(V1), { issued: 30100, paid: 10000, failed: 1 });
	const replay = await postOk('payment-results', { batch_id: 'res-1', results: [{ payment_no: 'P3', status: 'paid', at: T0 }] });
	assert.equal(replay.replayed, true);
	assert.equal(replay.accepted, 3);
});

test('a failed payment is reissued once; the reissue is paid', async () => {
	const v = await postOk('payment-batch', {
		batch_id: 'pb-reissue',
		batch: batchHeader('PB-2026-11-R', { submitted: T0 - 1800 }),
		payments: [
			payment('P2R', 'H002', V1, 20000, { reissue_of: 'P2' }),
			payment('P2R2', 'H002', V1, 20000, { reissue_of: 'P2' }), // P2 is already reissued (same request)
			payment('P1R', 'H001', V1, 10000, { reissue_of: 'P1' }), // P1 was paid, not failed
			payment('P9R', 'H077', V2, 700, { reissue_of: 'P9' }), // P9 is sent, and another household
			payment('PXR', 'H001', V1, 10000, { reissue_of: 'P404' }), // unknown
		],
	});
	assert.equal(v.accepted, 1);
	assert.equal(v.rejected, 4);
	assert.deepEqual(
		v.errors.map((e) => e.field),
		['payments[1].reissue_of', 'payments[2].reissue_of', 'payments[3].reissue_of', 'payments[4].reissue_of'],
	);
	assert.match(v.errors[0].reason, /already reissued/);
	assert.match(v.errors[1].reason, /paid, not failed/);
	const p2 = (await d.sqlite(`SELECT id, reissued FROM payment WHERE payment_no = 'P2'`))[0];
	assert.equal(p2.reissued, 1);
	assert.equal(await d.scalar(`SELECT reissue_of FROM payment WHERE payment_no = 'P2R'`), p2.id);
	// The failure is handled: no open failure; the entitlement was issued once, not twice.
	assert.deepEqual(await derived(V1), { issued: 30100, paid: 10000, failed: 0 });

	const r = await postOk('payment-results', { batch_id: 'res-3', results: [{ payment_no: 'P2R', status: 'paid', at: T0 - 600 }] });
	assert.equal(r.accepted, 1);
	assert.deepEqual(await derived(V1), { issued: 30100, paid: 30000, failed: 0 });
	const again = await postOk('payment-results', { batch_id: 'res-4', results: [{ payment_no: 'P2R', status: 'paid', at: T0 - 600 }] });
	assert.equal(again.duplicates, 1);
	assert.deepEqual(await derived(V1), { issued: 30100, paid: 30000, failed: 0 });
});

test('a failed payment later paid by the bank closes the failure', async () => {
	await postOk('payment-results', {
		batch_id: 'res-5',
		results: [{ payment_no: 'P9', status: 'failed', reason: '账户已销户', at: T0 - 500 }],
	});
	assert.deepEqual(await derived(V2), { issued: 5700, paid: 5000, failed: 1 });
	const v = await postOk('payment-results', { batch_id: 'res-6', results: [{ payment_no: 'P9', status: 'paid', at: T0 - 400 }] });
	assert.equal(v.accepted, 1);
	assert.deepEqual(await derived(V2), { issued: 5700, paid: 5700, failed: 0 });
});

test('derived payment metrics are samples too, with the payment times', async () => {
	const id = await d.entityId(V1);
	const [mi, mp, mf] = ['pay_issued_fen', 'pay_paid_fen', 'pay_failed'].map(metricIndex);
	const rows = await d.sqlite(
		`SELECT metric, ts, value FROM sample WHERE entity_id = ${id} AND metric IN (${mi}, ${mp}, ${mf}) ORDER BY id`,
	);
	assert.ok(rows.length >= 5, JSON.stringify(rows));
	// the newest value of each derived metric equals `latest`
	const newest = {};
	for (const r of rows) if (!newest[r.metric] || r.ts >= newest[r.metric].ts) newest[r.metric] = r;
	const lt = await derived(V1);
	assert.equal(newest[mi].value, lt.issued);
	assert.equal(newest[mp].value, lt.paid);
	assert.equal(newest[mf].value, lt.failed);
	assert.equal(newest[mp].ts, T0 - 600); // the reissue's paid time
});

test('payment ingest refuses a bad envelope and invalid JSON', async () => {
	const before = await countOf('payment');
	const r = await d.post('payment-batch', { batch_id: 'pb-env', payments: [payment('P30', 'H030', V1, 1)] });
	assert.equal(r.status, 400, r.text);
	assertErrorReply(r.body);
	assert.match(r.body.field + r.body.reason, /batch/);
	const j = await d.post('payment-results', '{"batch_id":"x","results":[{]}');
	assert.equal(j.status, 400);
	assertErrorReply(j.body);
	assert.equal(await countOf('payment'), before);
});
