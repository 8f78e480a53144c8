// Who may write what, and how much: tokens (missing, wrong, revoked), region
// scope, allowed kinds, body size limits, and the HTTP surface around ingest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, assertVerdict, assertErrorReply, nowS, rawExchange, rawPost, rawGet } from './lib/daemon.mjs';

const MAX_BODY = 4096;
let d;

before(async () => {
	d = await Daemon.start({
		settings: { max_body_bytes: MAX_BODY },
		tokens: {
			dongkeng: { scope: '610824100000' }, // 东坑镇 only
			'samples-only': { kinds: 'samples' },
			'to-revoke': {},
		},
	});
});
after(async () => {
	if (d) {
		await d.stop().catch(() => {});
		await d.cleanup();
	}
});

const sample = (entity, metric, ts, value) => ({ entity, metric, ts, value });
const counts = async () =>
	(await d.sqlite('SELECT (SELECT count(*) FROM sample) AS samples, (SELECT count(*) FROM ingest_batch) AS batches,' +
		' (SELECT count(*) FROM progress_report) AS reports'))[0];

/** A samples body of exactly `size` bytes (JSON padded with trailing spaces). */
function bodyOfSize(size, batchId) {
	const now = nowS();
	const one = sample('610824101202', 'migrant_workers', now - 60, 1);
	const empty = JSON.stringify({ batch_id: batchId, samples: [] }).length;
	const each = JSON.stringify(one).length + 1; // with its comma
	const body = { batch_id: batchId, samples: Array(Math.floor((size - empty + 1) / each)).fill(one) };
	const text = JSON.stringify(body).padEnd(size, ' ');
	assert.equal(Buffer.byteLength(text), size);
	return { text, items: body.samples.length };
}

test('no Authorization header: 401, nothing stored', async () => {
	const before = await counts();
	const body = { batch_id: 'noauth', samples: [sample('610824100201', 'poor_hh', nowS() - 60, 1)] };
	for (const headers of [{}, { authorization: 'Basic Zm9vOmJhcg==' }, { authorization: 'Bearer' }]) {
		const r = await d.post('samples', body, null, { headers });
		assert.equal(r.status, 401, `${JSON.stringify(headers)}: ${r.text}`);
		assertErrorReply(r.body);
	}
	assert.deepEqual(await counts(), before);
});

test('an unknown token: 401, nothing stored', async () => {
	const before = await counts();
	const body = { batch_id: 'wrongtoken', samples: [sample('610824100201', 'poor_hh', nowS() - 60, 1)] };
	for (const token of ['fpm_' + 'A'.repeat(43), d.token + 'x', d.token.slice(0, -1), 'x'.repeat(200)]) {
		const r = await d.post('samples', body, token);
		assert.equal(r.status, 401, r.text);
		assertErrorReply(r.body);
	}
	assert.deepEqual(await counts(), before);
});

test('a token revoked with fpmctl while the daemon runs: 401 at once, nothing stored', async () => {
	const token = d.tokens['to-revoke'];
	const now = nowS();
	const ok = await d.post('samples', { batch_id: 'rv-1', samples: [sample('610824100201', 'poor_hh', now - 60, 1)] }, token);
	assert.equal(ok.status, 200, ok.text);
	assertVerdict(ok.body);
	await d.fpmctl('token', 'revoke', 'to-revoke');
	const before = await counts();
	for (const id of ['rv-2', 'rv-1']) {
		const r = await d.post('samples', { batch_id: id, samples: [sample('610824100201', 'poor_hh', now - 30, 2)] }, token);
		assert.equal(r.status, 401, r.text);
		assertErrorReply(r.body);
	}
	assert.deepEqual(await counts(), before);
	const list = await d.fpmctl('token', 'list');
	assert.match(list, /to-revoke/);
});

test('a token scoped to one township cannot write outside it', async () => {
	const token = d.tokens.dongkeng;
	const now = nowS();
	const r = await d.post(
		'samples',
		{
			batch_id: 'scope-1',
			samples: [
				sample('610824100201', 'poor_hh', now - 60, 5), // inside
				sample('610824101201', 'poor_hh', now - 60, 6), // 张家畔镇: outside
				sample('610824200202', 'poor_hh', now - 60, 7), // 红墩界乡: outside
				sample('XM-A', 'jobs', now - 60, 3), // project in 610824100201: inside
				sample('XM-B', 'jobs', now - 60, 4), // project in township 610824101000: outside
				sample('610824100202', 'poor_hh', now - 60, 8), // inside
			],
		},
		token,
	);
	assert.equal(r.status, 200, r.text);
	assertVerdict(r.body);
	assert.equal(r.body.accepted, 3);
	assert.equal(r.body.rejected, 3);
	assert.deepEqual(
		r.body.errors.map((e) => [e.index, e.field]),
		[
			[1, 'samples[1].entity'],
			[2, 'samples[2].entity'],
			[4, 'samples[4].entity'],
		],
	);
	for (const e of r.body.errors) assert.match(e.reason, /scope/);
	const stored = await d.sqlite(
		`SELECT e.key FROM sample s JOIN ingest_batch b ON b.id = s.batch_id JOIN entity e ON e.id = s.entity_id` +
			` WHERE b.batch_key = 'scope-1' ORDER BY s.id`,
	);
	assert.deepEqual(stored.map((x) => x.key), ['610824100201', 'XM-A', '610824100202']);

	// Progress reports and payments follow the same scope.
	const p = await d.post(
		'progress',
		{ batch_id: 'scope-2', reports: [{ project: 'XM-B', ts: now - 60, progress_pct: 5 }, { project: 'XM-A', ts: now - 60, progress_pct: 5 }] },
		token,
	);
	assert.equal(p.status, 200, p.text);
	assertVerdict(p.body);
	assert.equal(p.body.accepted, 1);
	assert.deepEqual(p.body.errors.map((e) => e.field), ['reports[0].project']);
	const pay = await d.post(
		'payment-batch',
		{
			batch_id: 'scope-3',
			batch: { batch_no: 'SC-1', department: '民政局', fund_type: '低保', period: '2026-01', submitted: now - 3600 },
			payments: [
				{ payment_no: 'SC-1-1', household: 'H1', card: '6217****1234', amount_fen: 100, village: '610824101202' },
				{ payment_no: 'SC-1-2', household: 'H2', card: '6217****5678', amount_fen: 100, village: '610824100202' },
			],
		},
		token,
	);
	assert.equal(pay.status, 200, pay.text);
	assertVerdict(pay.body);
	assert.equal(pay.body.accepted, 1);
	assert.deepEqual(pay.body.errors.map((e) => e.field), ['payments[0].village']);
});

test('a token without a kind gets 403 for it and nothing is stored', async () => {
	const token = d.tokens['samples-only'];
	const now = nowS();
	const before = await counts();
	const cases = [
		['progress', { batch_id: 'k-1', reports: [{ project: 'XM-A', ts: now - 60, progress_pct: 1 }] }],
		['milestones', { batch_id: 'k-2', milestones: [{ project: 'XM-A', name: 'm', planned_date: '2026-01-01', weight: 1 }] }],
		['payment-results', { batch_id: 'k-3', results: [{ payment_no: 'x', status: 'paid', at: now - 60 }] }],
		[
			'payment-batch',
			{
				batch_id: 'k-4',
				batch: { batch_no: 'K-1', department: 'd', fund_type: 'f', period: '2026', submitted: now - 60 },
				payments: [{ payment_no: 'K-1-1', household: 'h', card: '6217****1234', amount_fen: 1, village: '610824100201' }],
			},
		],
	];
	for (const [kind, body] of cases) {
		const r = await d.post(kind, body, token);
		assert.equal(r.status, 403, `${kind}: ${r.text}`);
		assertErrorReply(r.body);
	}
	assert.deepEqual(await counts(), before);
	const ok = await d.post('samples', { batch_id: 'k-5', samples: [sample('610824100201', 'trainees', now - 60, 1)] }, token);
	assert.equal(ok.status, 200, ok.text);
});

test(`a body over max_body_bytes (${MAX_BODY}) is refused with 413 and nothing is stored`, async () => {
	const before = await counts();
	const over = bodyOfSize(MAX_BODY + 1, 'big-over');
	const r = await d.post('samples', over.text);
	assert.equal(r.status, 413, r.text);
	assertErrorReply(r.body);
	const huge = bodyOfSize(MAX_BODY * 200, 'big-huge');
	const r2 = await d.post('samples', huge.text);
	assert.equal(r2.status, 413, r2.text);
	assertErrorReply(r2.body);
	// An oversize request without a token is refused too (401 or 413, never stored).
	const r3 = await d.post('samples', over.text, null);
	assert.ok([401, 413].includes(r3.status), r3.text);
	assert.deepEqual(await counts(), before);
	// The limit is inclusive: exactly max_body_bytes is fine.
	const exact = bodyOfSize(MAX_BODY, 'big-exact');
	const r4 = await d.post('samples', exact.text);
	assert.equal(r4.status, 200, r4.text);
	assertVerdict(r4.body);
	assert.equal(r4.body.accepted, exact.items);
});

test('a body without Content-Length (chunked) gets 411 and a closed connection instead of hanging', async () => {
	const before = await counts();
	const now = nowS();
	const text = JSON.stringify({ batch_id: 'chunked-1', samples: [sample('610824100201', 'poor_hh', now - 60, 1)] });
	const chunked =
		`POST /api/v1/ingest/samples HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${d.token}\r\n` +
		`Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
		`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n0\r\n\r\n`;
	const { responses, closed } = await rawExchange(d.port, [chunked, rawGet('/healthz')], { pipelined: true, timeoutMs: 60_000 });
	assert.equal(responses[0]?.status, 411, JSON.stringify(responses));
	assertErrorReply(JSON.parse(responses[0].text));
	assert.match(responses[0].head, /\r\nConnection: close/i);
	assert.ok(closed, 'the server closes the connection (the body framing is unknown)');
	// A streaming client (fetch with a stream body is sent chunked) is not left waiting either.
	const enc = new TextEncoder();
	const stream = new ReadableStream({
		start(c) {
			c.enqueue(enc.encode(text.slice(0, 10)));
			c.enqueue(enc.encode(text.slice(10)));
			c.close();
		},
	});
	const settled = await fetch(d.base + '/api/v1/ingest/samples', {
		method: 'POST',
		body: stream,
		duplex: 'half',
		headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
		signal: AbortSignal.timeout(60_000),
	}).then(
		(res) => res.status,
		(e) => (e.name === 'TimeoutError' ? 'hang' : 'connection error'),
	);
	assert.ok(settled === 411 || settled === 'connection error', `fetch with a stream body: ${settled}`);
	assert.deepEqual(await counts(), before);
	const r = await d.post('samples', { batch_id: 'after-chunked', samples: [sample('610824100201', 'poor_hh', now - 50, 2)] });
	assert.equal(r.status, 200, r.text);
});

test('keep-alive: a refusal decided from the headers is sent after the body is read, and the connection stays usable', async () => {
	const now = nowS();
	const good = JSON.stringify({ batch_id: 'ka-1', samples: [sample('610824100201', 'poor_hh', now - 40, 9)] });
	const over = bodyOfSize(MAX_BODY + 500, 'ka-over').text;
	const url = '/api/v1/ingest/samples';
	// 413 and 401-without-token are decided from the headers; the daemon reads and discards
	// the (small) body first, so the refusal is not lost to a reset and no body byte becomes a request.
	for (const first of [rawPost(url, over, d.token), rawPost(url, good, null)]) {
		const { responses, complete } = await rawExchange(d.port, [first, rawGet('/healthz')], { timeoutMs: 60_000 });
		assert.ok(complete, JSON.stringify(responses.map((r) => r.status)));
		assert.ok([413, 401].includes(responses[0].status));
		assert.equal(responses[1].status, 200);
	}
	// Refusals after the whole body was read keep the connection.
	const { responses, complete } = await rawExchange(
		d.port,
		[rawPost(url, good, 'fpm_' + 'B'.repeat(43)), rawPost(url, '{"batch_id":', d.token), rawPost(url, good, d.token), rawGet('/healthz')],
		{ timeoutMs: 60_000 },
	);
	assert.ok(complete, `only ${responses.length} replies: ${JSON.stringify(responses.map((r) => r.status))}`);
	assert.deepEqual(responses.map((r) => r.status), [401, 400, 200, 200]);
	assertVerdict(JSON.parse(responses[2].text));
});

test('ingest endpoints: unknown path 404, GET 405', async () => {
	const r = await d.post('samples', '{}', d.token, { path: '/api/v1/ingest/unknown' });
	assert.equal(r.status, 404);
	assertErrorReply(r.body);
	const g = await d.get('/api/v1/ingest/samples');
	assert.equal(g.status, 405);
	assertErrorReply(JSON.parse(g.text));
	const h = await d.get('/healthz');
	assert.equal(h.status, 200);
	assert.equal(JSON.parse(h.text).status, 'ok');
});

test('a batch with more items than max_batch_items is refused with 413 and nothing is stored', async () => {
	const small = await Daemon.start({ settings: { max_batch_items: 20 } });
	try {
		const now = nowS();
		const items = (n) => Array.from({ length: n }, (_, i) => sample('610824101202', 'trainees', now - 600 + i, i));
		const over = await small.post('samples', { batch_id: 'items-21', samples: items(21) });
		assert.equal(over.status, 413, over.text);
		assertErrorReply(over.body);
		assert.equal(over.body.field, 'samples');
		assert.match(over.body.reason, /max_batch_items/);
		const reports = Array.from({ length: 21 }, (_, i) => ({ project: 'XM-A', ts: now - 600 + i, progress_pct: i }));
		const overP = await small.post('progress', { batch_id: 'items-p21', reports });
		assert.equal(overP.status, 413, overP.text);
		assert.equal(await small.scalar('SELECT count(*) FROM sample'), 0);
		assert.equal(await small.scalar('SELECT count(*) FROM ingest_batch'), 0);
		const ok = await small.post('samples', { batch_id: 'items-20', samples: items(20) });
		assert.equal(ok.status, 200, ok.text);
		assert.equal(ok.body.accepted, 20);
	} finally {
		await small.stop().catch(() => {});
		await small.cleanup();
	}
});
