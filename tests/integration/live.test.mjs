// The live WebSocket (subprotocol fpmon-live, schemas/live-*.json): snapshots
// of a topic's entity and its children, deltas with exactly the changed
// entities in seq order, resuming with since + epoch, the fate of a slow
// reader, bad frames, heartbeats. Every server message is validated against
// schemas/live-server.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import { Daemon, COUNTY, TOWNSHIPS, VILLAGES, PROJECTS, ROOT, nowS, waitFor, loadSchema } from './lib/daemon.mjs';

// ---- a small JSON Schema validator: type, required, properties,
// additionalProperties, items, enum, minimum, $ref to #/$defs ----
const ANNOT = new Set(['$schema', '$id', '$comment', 'title', 'description', '$defs', 'maxItems', 'maxLength', 'pattern']);
function typeOf(v) {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
	return typeof v;
}
function check(schema, value, root = schema, where = '$', out = []) {
	if (schema === true) return out;
	if (schema === false) return out.push(`${where}: not allowed`), out;
	for (const k of Object.keys(schema))
		if (!ANNOT.has(k) && !['type', 'required', 'properties', 'additionalProperties', 'items', 'enum', 'minimum', '$ref'].includes(k))
			throw new Error(`validator: unsupported keyword ${k} at ${where}`);
	if (schema.$ref) {
		const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
		if (!m || !root.$defs?.[m[1]]) throw new Error(`validator: unresolvable $ref ${schema.$ref}`);
		check(root.$defs[m[1]], value, root, where, out);
	}
	if (schema.type !== undefined) {
		const want = [].concat(schema.type);
		const have = typeOf(value);
		if (!want.some((t) => t === have || (t === 'number' && have === 'integer')))
			return out.push(`${where}: is ${have}, not ${want.join('|')}`), out;
	}
	if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
		out.push(`${where}: ${JSON.stringify(value)} not in enum`);
	if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum)
		out.push(`${where}: ${value} < minimum ${schema.minimum}`);
	if (value && typeof value === 'object' && !Array.isArray(value)) {
		for (const r of schema.required || []) if (!(r in value)) out.push(`${where}: missing required '${r}'`);
		const props = schema.properties || {};
		for (const [k, v] of Object.entries(value)) {
			if (k in props) check(props[k], v, root, `${where}.${k}`, out);
			else if (schema.additionalProperties !== undefined) check(schema.additionalProperties, v, root, `${where}.${k}`, out);
		}
	}
	if (Array.isArray(value) && schema.items !== undefined) value.forEach((v, i) => check(schema.items, v, root, `${where}[${i}]`, out));
	return out;
}
const SERVER_SCHEMA = loadSchema('live-server.json');
const CLIENT_SCHEMA = loadSchema('live-client.json');

// ---- a collecting client ----
class Live {
	constructor(d, token, { origin } = {}) {
		this.msgs = [];
		this.problems = [];
		this.bytes = 0;
		this.closed = null;
		const headers = origin ? { origin } : {};
		this.ws = new WebSocket(`ws://127.0.0.1:${d.port}/live?token=${token}`, 'fpmon-live', { headers });
		this.ws.on('message', (data, binary) => {
			this.bytes += data.length;
			let m;
			try {
				m = JSON.parse(data.toString('utf8'));
			} catch {
				this.problems.push(`not JSON: ${data.toString('utf8').slice(0, 200)}`);
				return;
			}
			if (binary) this.problems.push('a binary frame from the server');
			const errs = check(SERVER_SCHEMA, m);
			if (errs.length) this.problems.push(`${errs.join('; ')} in ${JSON.stringify(m).slice(0, 300)}`);
			this.msgs.push(m);
		});
		// a well-behaved client sends a ping well within the server's 60 s
		this.heartbeat = setInterval(() => this.ws.readyState === WebSocket.OPEN && this.ws.send('{"type":"ping"}'), 10_000);
		this.ws.on('close', (code, reason) => {
			clearInterval(this.heartbeat);
			this.closed = { code, reason: reason.toString() };
		});
		this.ws.on('error', (e) => (this.error = e));
		this.opened = new Promise((resolve, reject) => {
			this.ws.once('open', resolve);
			this.ws.once('error', reject);
			this.ws.once('unexpected-response', (req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
		});
	}
	send(obj) {
		if (typeof obj === 'object') assert.deepEqual(check(CLIENT_SCHEMA, obj), [], 'the test sends valid client messages');
		this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
	}
	/** Wait for a message after index `from` matching pred; returns it. */
	async next(pred, { from = 0, what = 'a message', timeoutMs = 30_000 } = {}) {
		return waitFor(() => this.msgs.slice(from).find(pred) || (this.closed ? Promise.reject(new Error(`closed ${JSON.stringify(this.closed)} waiting for ${what}`)) : null), {
			timeoutMs,
			intervalMs: 20,
			what,
		});
	}
	async waitClosed(timeoutMs = 30_000) {
		return waitFor(() => this.closed, { timeoutMs, intervalMs: 20, what: 'the server to close the WebSocket' });
	}
	close() {
		clearInterval(this.heartbeat);
		if (!this.closed) this.ws.terminate();
	}
	assertValid() {
		assert.deepEqual(this.problems, [], 'every server message matches live-server.json');
	}
}

let d;
let token;
const clients = [];
const open = async (opts) => {
	const c = new Live(d, token, opts);
	clients.push(c);
	await c.opened;
	return c;
};
let batch = 0;
async function ingest(samples) {
	const r = await d.post('samples', { batch_id: `live-${process.pid}-${++batch}`, samples });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.body.accepted, samples.length, r.text);
}
const TOWN_OF = Object.fromEntries(Object.entries(TOWNSHIPS).flatMap(([t, vs]) => vs.map((v) => [v, t])));

before(async () => {
	d = await Daemon.start({ settings: { web_dir: path.join(ROOT, 'web') } });
	token = (await d.fpmctl('display', 'create', 'live-wall', '--scope', COUNTY)).trim();
	await waitFor(async () => (await fetch(`${d.base}/api/v1/me?token=${token}`)).status === 200, { what: 'the display token to be known' });
});
after(async () => {
	for (const c of clients) c.close();
	if (d) {
		await d.stop();
		await d.cleanup();
	}
});

test('subscribe: snapshots of the county (with its townships) and of a project', async () => {
	const c = await open();
	c.send({ type: 'subscribe', topics: [`region:${COUNTY}`, 'project:XM-A'] });
	const region = await c.next((m) => m.type === 'snapshot' && m.topic === `region:${COUNTY}`, { what: 'region snapshot' });
	for (const k of [COUNTY, ...Object.keys(TOWNSHIPS)]) assert.ok(region.entities[k], `snapshot has ${k}`);
	assert.equal(region.entities[COUNTY].kind, 'county');
	for (const t of Object.keys(TOWNSHIPS)) assert.equal(region.entities[t].kind, 'township');
	assert.ok(Number.isInteger(region.epoch) && Number.isInteger(region.seq));
	const project = await c.next((m) => m.type === 'snapshot' && m.topic === 'project:XM-A', { what: 'project snapshot' });
	assert.equal(project.entities['XM-A'].kind, 'project');
	assert.ok('progress_pct' in project.entities['XM-A'].values);
	c.assertValid();
	c.close();
});

test('a sample gives a delta with the village\'s township and the county, seq increasing', async () => {
	const c = await open();
	c.send({ type: 'subscribe', topics: [`region:${COUNTY}`] });
	const snap = await c.next((m) => m.type === 'snapshot', { what: 'snapshot' });
	const village = '610824101201';
	let from = c.msgs.length;
	await ingest([{ entity: village, metric: 'poor_hh', ts: nowS() - 5, value: 41 }]);
	const d1 = await c.next((m) => m.type === 'delta' && m.entities[TOWN_OF[village]]?.values.poor_hh === 41, { from, what: 'delta 1' });
	assert.equal(d1.topic, `region:${COUNTY}`);
	assert.ok(d1.entities[COUNTY], 'the county is in the delta');
	assert.ok(d1.seq > snap.seq, `delta seq ${d1.seq} > snapshot seq ${snap.seq}`);
	for (const k of Object.keys(d1.entities)) assert.ok(k === COUNTY || k === TOWN_OF[village], `only changed entities: ${k}`);
	for (const [k, e] of Object.entries(d1.entities)) assert.deepEqual(Object.keys(e.values), ['poor_hh'], `${k}: only the changed metric`);
	// the same value again changes nothing: no delta of this topic for it; a later change still comes
	from = c.msgs.length;
	await ingest([{ entity: village, metric: 'poor_hh', ts: nowS() - 5, value: 41 }]);
	await ingest([{ entity: village, metric: 'trainees', ts: nowS() - 5, value: 7 }]);
	const d1b = await c.next((m) => m.type === 'delta' && m.entities[TOWN_OF[village]]?.values.trainees === 7, { from, what: 'delta 1b' });
	assert.ok(!c.msgs.slice(from).some((m) => m.type === 'delta' && m.seq < d1b.seq && m.entities[TOWN_OF[village]]?.values.poor_hh !== undefined), 'a re-sent value is no change');
	assert.deepEqual(Object.keys(d1b.entities[TOWN_OF[village]].values), ['trainees']);
	// a late subscriber's snapshot has the whole entities with both changes
	const late = await open();
	late.send({ type: 'subscribe', topics: [`region:${COUNTY}`] });
	const s2 = await late.next((m) => m.type === 'snapshot', { what: 'late snapshot' });
	assert.equal(s2.entities[TOWN_OF[village]].values.poor_hh, 41);
	assert.equal(s2.entities[TOWN_OF[village]].values.trainees, 7);
	assert.ok('population' in s2.entities[TOWN_OF[village]].values && s2.entities[TOWN_OF[village]].kind, 'snapshots stay whole');
	late.assertValid();
	late.close();
	from = c.msgs.length;
	await ingest([{ entity: '610824200201', metric: 'poor_hh', ts: nowS() - 4, value: 42 }]);
	const d2 = await c.next((m) => m.type === 'delta' && m.entities['610824200000']?.values.poor_hh === 42, { from, what: 'delta 2' });
	assert.ok(d2.seq > d1.seq, `seq increases: ${d1.seq} then ${d2.seq}`);
	const deltas = c.msgs.filter((m) => m.type === 'delta').map((m) => m.seq);
	assert.deepEqual(deltas, [...deltas].sort((a, b) => a - b), 'deltas arrive in seq order');
	c.assertValid();
	c.close();
});

test('ping -> pong with seq and epoch (the snapshot\'s epoch)', async () => {
	const c = await open();
	c.send({ type: 'subscribe', topics: ['project:XM-B'] });
	const snap = await c.next((m) => m.type === 'snapshot', { what: 'snapshot' });
	const from = c.msgs.length;
	c.send({ type: 'ping' });
	const pong = await c.next((m) => m.type === 'pong', { from, what: 'pong' });
	assert.ok(Number.isInteger(pong.seq) && pong.seq >= snap.seq);
	assert.equal(pong.epoch, snap.epoch);
	c.assertValid();
	c.close();
});

test('reconnecting with since + epoch replays the missed deltas (or sends a snapshot); a wrong epoch gets a snapshot', async () => {
	const topic = `region:${COUNTY}`;
	const a = await open();
	a.send({ type: 'subscribe', topics: [topic] });
	await a.next((m) => m.type === 'snapshot', { what: 'snapshot' });
	a.send({ type: 'ping' });
	const pong = await a.next((m) => m.type === 'pong', { what: 'pong' });
	// everything a saw
	let from = a.msgs.length;
	await ingest([{ entity: '610824100202', metric: 'poor_hh', ts: nowS() - 3, value: 51 }]);
	await a.next((m) => m.type === 'delta' && m.entities['610824100000']?.values.poor_hh != null, { from, what: 'delta' });
	const since = Math.max(...a.msgs.filter((m) => m.seq !== undefined).map((m) => m.seq));
	a.close();
	await a.waitClosed();

	// missed while away: two deltas of the topic (a probe client shows they were made)
	const probe = await open();
	probe.send({ type: 'subscribe', topics: [topic] });
	await probe.next((m) => m.type === 'snapshot', { what: 'probe snapshot' });
	from = probe.msgs.length;
	await ingest([{ entity: '610824100201', metric: 'dropouts', ts: nowS() - 2, value: 61 }]);
	await probe.next((m) => m.type === 'delta' && m.entities['610824100000']?.values.dropouts === 61, { from, what: 'missed delta 1' });
	await ingest([{ entity: '610824101202', metric: 'dropouts', ts: nowS() - 2, value: 62 }]);
	const last = await probe.next((m) => m.type === 'delta' && m.entities['610824101000']?.values.dropouts === 62, { from, what: 'missed delta 2' });
	const missed = probe.msgs.slice(from).filter((m) => m.type === 'delta' && m.topic === topic && m.seq > since);

	const b = await open();
	b.send({ type: 'subscribe', topics: [topic], since, epoch: pong.epoch });
	const first = await b.next((m) => m.topic === topic && (m.type === 'delta' || m.type === 'snapshot'), { what: 'replay or snapshot' });
	if (first.type === 'delta') {
		await b.next((m) => m.type === 'delta' && m.seq === last.seq, { what: 'the last missed delta' });
		const replayed = b.msgs.filter((m) => m.type === 'delta' && m.topic === topic);
		assert.deepEqual(replayed.map((m) => m.seq), missed.map((m) => m.seq), 'exactly the missed deltas, in order');
		assert.ok(replayed.every((m) => m.seq > since));
	} else {
		assert.equal(first.entities['610824100000'].values.dropouts, 61);
		assert.equal(first.entities['610824101000'].values.dropouts, 62);
	}
	b.assertValid();

	const c = await open();
	c.send({ type: 'subscribe', topics: [topic], since, epoch: pong.epoch + 1 });
	const snap = await c.next((m) => m.topic === topic && (m.type === 'delta' || m.type === 'snapshot'), { what: 'snapshot after a wrong epoch' });
	assert.equal(snap.type, 'snapshot', 'a since from another epoch means nothing: snapshot');
	assert.equal(snap.entities['610824101000'].values.dropouts, 62);
	c.assertValid();
	for (const x of [probe, b, c]) x.close();
});

test('bad frames: invalid JSON and unknown topic -> error (connection stays); binary -> 1003; over 4096 bytes -> 1009', async () => {
	const c = await open();
	c.send('{"type": "subscribe", ');
	const e1 = await c.next((m) => m.type === 'error', { what: 'error for invalid JSON' });
	assert.match(e1.reason, /JSON/i);
	let from = c.msgs.length;
	c.send({ type: 'subscribe', topics: ['region:999999999999'] });
	await c.next((m) => m.type === 'error', { from, what: 'error for an unknown region' });
	from = c.msgs.length;
	c.ws.send(JSON.stringify({ type: 'subscribe', topics: ['weather'] }));
	await c.next((m) => m.type === 'error', { from, what: 'error for an unknown topic kind' });
	from = c.msgs.length;
	c.ws.send(JSON.stringify({ type: 'dance' }));
	await c.next((m) => m.type === 'error', { from, what: 'error for an unknown type' });
	from = c.msgs.length;
	c.send({ type: 'ping' });
	await c.next((m) => m.type === 'pong', { from, what: 'pong: the connection stayed' });
	assert.equal(c.closed, null);
	c.assertValid();

	const bin = await open();
	bin.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
	const closed1 = await bin.waitClosed();
	assert.equal(closed1.code, 1003, JSON.stringify(closed1));

	const big = await open();
	big.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }));
	const closed2 = await big.waitClosed();
	assert.equal(closed2.code, 1009, JSON.stringify(closed2));
	c.close();
});

// Filling a socket takes minutes under valgrind; the plain and sanitizer stages run it.
const slowUnderTool = process.env.FPMOND_WRAPPER ? 'filling a socket takes minutes under valgrind (run in the plain and sanitizer stages)' : false;
test('a slow reader is told why (an error message, then close 1008 with the reason) once it reads again; another client keeps receiving', { skip: slowUnderTool }, async () => {
	const topics = [`region:${COUNTY}`, ...Object.keys(TOWNSHIPS).map((t) => `region:${t}`), ...VILLAGES.map((v) => `region:${v}`), ...Object.keys(PROJECTS).map((p) => `project:${p}`)];
	assert.ok(topics.length <= 16);
	const slow = await open();
	const fast = await open();
	for (const c of [slow, fast]) c.send({ type: 'subscribe', topics });
	await slow.next((m) => m.type === 'snapshot' && m.topic === topics.at(-1), { what: 'slow: last snapshot' });
	await waitFor(() => fast.msgs.filter((m) => m.type === 'snapshot').length >= topics.length, { what: 'fast: all snapshots' });
	slow.ws._socket.pause();
	const before = fast.bytes;
	// Several times what the paused reader's socket buffers hold (the server caps its send buffer at 256 KiB).
	const METRICS = ['poor_hh', 'poor_people', 'exited_hh', 'exited_people', 'population', 'mon_unstable_hh', 'migrant_workers', 'welfare_jobs'];
	let n = 0;
	while (fast.bytes - before < 4 << 20) {
		n++;
		const ts = nowS() - 1;
		await ingest([
			...VILLAGES.flatMap((v, i) => METRICS.map((metric, k) => ({ entity: v, metric, ts, value: n * 10 + i + k * 100000 }))),
			...Object.keys(PROJECTS).map((p, i) => ({ entity: p, metric: 'jobs', ts, value: n * 10 + i })),
		]);
		// paced by the fast client: each batch its own tick (a delta, or a snapshot if it fell behind)
		await waitFor(() => fast.closed || fast.msgs.some((m) => m.topic === `region:${VILLAGES[0]}` && m.entities[VILLAGES[0]]?.values.poor_hh === n * 10), { what: `fast client at batch ${n}`, intervalMs: 5 });
		assert.equal(fast.closed, null, 'the fast client is never closed');
		assert.ok(n < 20000, 'the fast client kept receiving');
	}
	const seen = slow.msgs.length;
	slow.ws._socket.resume();
	const closed = await slow.waitClosed(60_000);
	console.error(`slow reader closed after ${n} batches, ${fast.bytes - before} bytes to the fast client`);
	assert.equal(closed.code, 1008, JSON.stringify(closed));
	assert.match(closed.reason, /slow/, 'with a reason');
	const told = slow.msgs.slice(seen).filter((m) => m.type === 'error');
	assert.equal(told.length, 1, 'one error message before the close');
	assert.equal(told[0].reason, closed.reason);
	assert.equal(slow.msgs.at(-1).type, 'error', 'nothing after it');
	slow.assertValid();
	// the other client is still served
	assert.equal(fast.closed, null);
	const from = fast.msgs.length;
	await ingest([{ entity: VILLAGES[0], metric: 'poor_hh', ts: nowS() - 1, value: 777777 }]);
	await fast.next((m) => m.entities?.[VILLAGES[0]]?.values.poor_hh === 777777, { from, what: 'fast: delta after the slow one was closed' });
	fast.assertValid();
	fast.close();
});
