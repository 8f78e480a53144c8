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
			// lws 4.1.6 cannot hold a second request while the first reply is pending
			// (it spins on BODY_COMPLETION): the daemon hangs up instead, and the
			// client re-sends on a new connection (ingest re-sends are idempotent).
			const { responses } = await rawExchange(d.port, [rawGet('/healthz'), rawPost(url, body('pipe-2', 3), d.token)], {
				pipelined: true,
				timeoutMs: 15_000,
			});
			assert.ok(responses.length >= 1, 'the GET is answered');
			assert.equal(responses[0].status, 200);
			if (responses.length > 1) assert.equal(responses[1].status, 200);
			await assertAlive(d);
		}),
);
