// HTTP/1.1 pipelining: requests written back to back on one connection
// before the first reply. Node's fetch never pipelines, but any client may,
// and the daemon must neither answer wrongly, nor crash, nor stop serving
// everyone else. Known daemon bugs are marked todo (see the reasons); every
// test runs its own daemon and SIGKILLs it, since a wedged one ignores SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, nowS, rawExchange, rawPost, rawGet } from './lib/daemon.mjs';

const url = '/api/v1/ingest/samples';
const body = (id, value) =>
	JSON.stringify({ batch_id: id, samples: [{ entity: '610824100201', metric: 'poor_hh', ts: nowS() - 60, value }] });

async function withDaemon(fn) {
	const d = await Daemon.start();
	try {
		await fn(d);
	} finally {
		await d.kill9();
		await d.cleanup();
	}
}

/** The daemon still answers on a new connection and has not died. */
async function assertAlive(d) {
	const { responses, complete } = await rawExchange(d.port, [rawGet('/healthz')], { timeoutMs: 15_000 }).catch((e) => ({
		responses: [],
		complete: false,
		error: e.message,
	}));
	assert.ok(d.running, `fpmond died: ${JSON.stringify(d.child.signalCode ?? d.child.exitCode)}`);
	assert.ok(complete && responses[0].status === 200, 'no /healthz reply within 15 s');
}

test('sequential requests on one keep-alive connection are all answered', () =>
	withDaemon(async (d) => {
		const { responses, complete } = await rawExchange(d.port, [
			rawGet('/healthz'),
			rawPost(url, body('seq-1', 1), d.token),
			rawGet('/healthz'),
			rawPost(url, body('seq-2', 2), d.token),
		]);
		assert.ok(complete);
		assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
		await assertAlive(d);
	}));

test(
	'a POST pipelined before another request: never refused-but-stored, a re-send settles it, the daemon survives',
	() =>
		withDaemon(async (d) => {
			// lws 4.1.6 repeats BODY_COMPLETION when bytes are pipelined behind a body whose
			// reply is not written yet; the daemon then hangs up. Whatever reached the
			// client must be true, and re-sending the same batch_id must settle it.
			const { responses } = await rawExchange(d.port, [rawPost(url, body('pipe-1', 2), d.token), rawGet('/healthz')], {
				pipelined: true,
				timeoutMs: 15_000,
			});
			const again = await d.post('samples', body('pipe-1', 2), d.token, { timeoutMs: 15_000 });
			assert.equal(again.status, 200);
			const stored = await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = 'pipe-1'`);
			assert.equal(stored, 1, 'the batch is stored once');
			if (responses.length > 0) {
				// An answer that came back is the real verdict: a 2xx only if it was stored.
				assert.ok(responses[0].status === 200 || responses[0].status >= 500, `reply ${responses[0].status}`);
				if (responses[0].status === 200) assert.equal(again.body.replayed, true);
			}
			await assertAlive(d);
		}),
);

test(
	'a POST pipelined after a GET: the GET is answered, the connection closes, the daemon keeps serving',
	() =>
		withDaemon(async (d) => {
			// lws 4.1.6 reads a body parsed from its buffer of pipelined bytes wrongly
			// (its headers as body, then BODY_COMPLETION without end): the daemon
			// hangs up before the body, and the client re-sends on a new connection.
			const { responses, closed } = await rawExchange(
				d.port,
				[rawGet('/healthz'), rawPost(url, body('pipe-2', 3), d.token)],
				{ pipelined: true, timeoutMs: 15_000 },
			);
			assert.ok(responses.length >= 1, 'the GET is answered');
			assert.equal(responses[0].status, 200);
			assert.equal(responses.length, 1, 'the pipelined POST is not answered');
			assert.ok(closed, 'the connection is closed');
			assert.equal(await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = 'pipe-2'`), 0, 'nothing stored');
			const again = await d.post('samples', body('pipe-2', 3), d.token, { timeoutMs: 15_000 });
			assert.equal(again.status, 200);
			await assertAlive(d);
		}),
);

test('GETs pipelined behind a GET and behind an API request (reader thread) are answered in order', () =>
	withDaemon(async (d) => {
		const { responses, complete } = await rawExchange(
			d.port,
			[rawGet('/healthz'), rawGet('/api/v1/time'), rawGet('/api/v1/time'), rawGet('/healthz')],
			{ pipelined: true, timeoutMs: 15_000 },
		);
		assert.ok(complete, `all four answered (got ${responses.length})`);
		assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
		const isTime = responses.map((r) => JSON.parse(r.text).timezone === 'Asia/Shanghai');
		assert.deepEqual(isTime, [false, true, true, false], 'replies in request order');
		await assertAlive(d);
	}));

test('a POST pipelined behind an API request: the API reply comes, the POST is not read, a re-send is stored', () =>
	withDaemon(async (d) => {
		const { responses, closed } = await rawExchange(
			d.port,
			[rawGet('/api/v1/time'), rawPost(url, body('pipe-3', 4), d.token)],
			{ pipelined: true, timeoutMs: 15_000 },
		);
		assert.equal(responses.length, 1);
		assert.equal(JSON.parse(responses[0].text).timezone, 'Asia/Shanghai');
		assert.ok(closed, 'the connection is closed');
		assert.equal(await d.scalar(`SELECT count(*) FROM ingest_batch WHERE batch_key = 'pipe-3'`), 0);
		assert.equal((await d.post('samples', body('pipe-3', 4), d.token, { timeoutMs: 15_000 })).status, 200);
		await assertAlive(d);
	}));

test('a GET carrying a body is answered and the connection closed, also when pipelined', () =>
	withDaemon(async (d) => {
		// lws reads a GET's body only when it comes with the request; the daemon
		// does not read GET bodies, so it never keeps such a connection.
		const getWithBody = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello`;
		const one = await rawExchange(d.port, [getWithBody, rawGet('/healthz')], { timeoutMs: 15_000 });
		assert.equal(one.responses[0]?.status, 200);
		assert.match(one.responses[0].head, /\r\nconnection: close/i);
		assert.ok(one.closed);
		const two = await rawExchange(d.port, [rawGet('/healthz'), getWithBody, rawGet('/healthz')], {
			pipelined: true,
			timeoutMs: 15_000,
		});
		assert.equal(two.responses[0]?.status, 200);
		assert.ok(two.responses.length <= 2 && two.closed);
		await assertAlive(d);
	}));
