// The read API against the RRD files it reads (history = rrdtool fetch of the
// same file, archive choice by range, pending rows overlaid before a flush),
// /metrics (promtool), /healthz, the static files (ETag, 304, gzip) and path
// traversal. Every JSON reply is validated against its schema in schemas/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { Daemon, COUNTY, TOWNSHIPS, PROJECTS, ROOT, STEP, nowS, waitFor, loadSchema, rawExchange, rawGet } from './lib/daemon.mjs';

// ---- tiny validator: type, required, properties, additionalProperties, items, enum, minimum, pattern, $ref #/$defs ----
const ANNOT = new Set(['$schema', '$id', '$comment', 'title', 'description', '$defs', 'maxItems', 'maxLength']);
const KW = new Set(['type', 'required', 'properties', 'additionalProperties', 'items', 'enum', 'minimum', 'pattern', '$ref', 'const']);
const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);
function check(schema, value, root = schema, where = '$', out = []) {
	if (schema === true) return out;
	if (schema === false) return out.push(`${where}: not allowed`), out;
	for (const k of Object.keys(schema)) if (!ANNOT.has(k) && !KW.has(k)) throw new Error(`validator: unsupported keyword ${k} at ${where}`);
	if (schema.$ref) {
		const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
		if (!m || !root.$defs?.[m[1]]) throw new Error(`validator: unresolvable $ref ${schema.$ref}`);
		check(root.$defs[m[1]], value, root, where, out);
	}
	if (schema.type !== undefined) {
		const want = [].concat(schema.type);
		const have = typeOf(value);
		if (!want.some((t) => t === have || (t === 'number' && have === 'integer'))) return out.push(`${where}: is ${have}, not ${want.join('|')}`), out;
	}
	if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) out.push(`${where}: ${JSON.stringify(value)} not in enum`);
	if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) out.push(`${where}: not ${JSON.stringify(schema.const)}`);
	if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum) out.push(`${where}: ${value} < minimum ${schema.minimum}`);
	if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern, 'u').test(value)) out.push(`${where}: does not match ${schema.pattern}`);
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
const SCHEMAS = Object.fromEntries(['history', 'state', 'regions', 'projects', 'project', 'time', 'error'].map((n) => [n, loadSchema(`${n}-reply.json`)]));

let d;
let token;
/** GET with the display token; validates the reply against schemas/<schema>-reply.json (error-reply.json unless 2xx). */
async function api(urlPath, schema) {
	const res = await fetch(d.base + urlPath, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
	const text = await res.text();
	const body = JSON.parse(text);
	const which = res.status >= 200 && res.status < 300 ? schema : 'error';
	const errs = check(SCHEMAS[which], body);
	assert.deepEqual(errs, [], `${urlPath} ${res.status} vs ${which}-reply.json: ${text.slice(0, 500)}`);
	return { status: res.status, body, headers: res.headers };
}
/** Plain node:http GET (no decompression, no path normalisation of our own). */
function rawHttp(urlPath, headers = {}) {
	return new Promise((resolve, reject) => {
		const req = http.get({ host: '127.0.0.1', port: d.port, path: urlPath, headers }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
		});
		req.on('error', reject);
	});
}
let batch = 0;
async function ingest(samples) {
	const r = await d.post('samples', { batch_id: `api-${process.pid}-${++batch}`, samples });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.body.accepted, samples.length, r.text);
	return r.body;
}

const V = '610824100201';
let base;

before(async () => {
	d = await Daemon.start({ settings: { web_dir: path.join(ROOT, 'web') } });
	token = (await d.fpmctl('display', 'create', 'api-wall', '--scope', COUNTY)).trim();
	await waitFor(async () => (await fetch(`${d.base}/api/v1/me?token=${token}`)).status === 200, { what: 'the display token to be known' });
	base = nowS();
	await ingest([
		{ entity: V, metric: 'poor_hh', ts: base - 3500, value: 10 },
		{ entity: V, metric: 'poor_hh', ts: base - 2000, value: 12 },
		{ entity: V, metric: 'poor_hh', ts: base - 900, value: 15 },
		{ entity: V, metric: 'income_pc_yuan', ts: base - 1500, value: 9000.25 },
		{ entity: '610824100202', metric: 'poor_hh', ts: base - 2500, value: 20 },
		{ entity: 'XM-A', metric: 'progress_pct', ts: base - 1200, value: 12.5 },
	]);
});
after(async () => {
	if (d) {
		await d.stop();
		await d.cleanup();
	}
});

test('history at 300 s equals rrdtool fetch of the same file (nulls where rrdtool has nan)', async () => {
	const due = await d.flush();
	const start = base - 2 * 3600;
	for (const key of [V, '610824100000', COUNTY, 'XM-A']) {
		const h = await api(`/api/v1/history?entity=${key}&start=${start}&end=${due}`, 'history');
		assert.equal(h.status, 200);
		assert.equal(h.body.step, STEP);
		assert.equal(h.body.entity, key);
		const rows = await d.fetchRows(d.rrdPath(key), start, due);
		const byTs = new Map(rows.map((r) => [r.ts, r.values]));
		let compared = 0;
		let numbers = 0;
		let nulls = 0;
		h.body.ts.forEach((ts, i) => {
			assert.equal(ts % STEP, 0);
			if (ts > due) return;
			const want = byTs.get(ts);
			assert.ok(want, `${key}: rrdtool has a row at ${ts}`);
			for (const [ds, col] of Object.entries(h.body.values)) {
				const got = col[i];
				if (Number.isNaN(want[ds])) {
					assert.equal(got, null, `${key} ${ds}@${ts}: null where rrdtool shows nan`);
					nulls++;
				} else {
					assert.ok(typeof got === 'number' && Math.abs(got - want[ds]) <= 1e-9 * Math.max(1, Math.abs(want[ds])), `${key} ${ds}@${ts}: ${got} vs ${want[ds]}`);
					numbers++;
				}
				compared++;
			}
		});
		assert.ok(compared > 0 && numbers > 0 && nulls > 0, `${key}: compared ${compared} cells (${numbers} numbers, ${nulls} nulls)`);
		// the API's rows are exactly rrdtool's rows in (start, due]
		assert.deepEqual(h.body.ts.filter((t) => t <= due), rows.map((r) => r.ts).filter((t) => t > start && t <= due));
	}
	const v = await api(`/api/v1/history?entity=${V}&metrics=poor_hh&start=${start}&end=${due}`, 'history');
	assert.deepEqual(Object.keys(v.body.values), ['poor_hh']);
	const last = v.body.values.poor_hh[v.body.ts.indexOf(due)];
	assert.equal(last, 15, 'sample-and-hold: the newest value at the last row');
});

test('archive choice by range: 10 days -> 3600, 30 days and a year -> 86400, 3 years -> 604800', async () => {
	// schemas/rrd-layout.md: 5 min x 2 days, 1 h x 14 days, 1 day x 2 years, 1 week x 5 years
	const now = nowS();
	for (const [days, step] of [[1, 300], [10, 3600], [30, 86400], [365, 86400], [3 * 365, 604800]]) {
		const h = await api(`/api/v1/history?entity=${V}&metrics=poor_hh&start=${now - days * 86400}&end=${now}`, 'history');
		assert.equal(h.status, 200);
		assert.equal(h.body.step, step, `${days} days`);
		assert.ok(h.body.ts.every((t) => t % step === 0), `${days} days: rows on ${step} s boundaries`);
		assert.equal(h.body.ts.length, h.body.values.poor_hh.length);
	}
	const bad = await api(`/api/v1/history?entity=${V}&start=${now}&end=${now - 10}`, 'history');
	assert.equal(bad.status, 400);
	const none = await api(`/api/v1/history?entity=610824999999`, 'history');
	assert.equal(none.status, 403, 'a scoped token: 403 for an unknown code');
});

test('a sample after the last flush shows in state and history before any flush', async () => {
	await d.flush();
	const t = nowS() - 2;
	await ingest([{ entity: V, metric: 'poor_hh', ts: t, value: 31 }]);
	const s = await api(`/api/v1/state?entity=${V}`, 'state');
	assert.equal(s.status, 200);
	assert.equal(s.body.values.poor_hh, 31);
	assert.ok(s.body.as_of >= t, `as_of ${s.body.as_of} >= ${t}`);
	const town = await api(`/api/v1/state?entity=610824100000`, 'state');
	assert.equal(town.body.values.poor_hh, 31 + 20, 'the township sums its villages');
	const h = await api(`/api/v1/history?entity=${V}&metrics=poor_hh&start=${t - 3600}`, 'history');
	const row = Math.ceil(t / STEP) * STEP;
	const i = h.body.ts.indexOf(row);
	assert.ok(i >= 0, `a row at ${row} in ${JSON.stringify(h.body.ts.slice(-3))}`);
	assert.equal(h.body.values.poor_hh[i], 31);
	const lu = await d.lastupdate(d.rrdPath(V));
	assert.ok(lu.ts < row, 'the row is not in the file yet');
});

async function cacheCount(result) {
	const m = (await rawHttp('/metrics')).body.toString();
	return Number(new RegExp(`^fpmon_api_cache_requests_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(m)[1]);
}

test('a repeated chart request is answered from memory until its data changes, never stale, never outside the scope', async () => {
	await d.flush();
	const start = nowS() - 7200;
	const url = (s, e = '') => `/api/v1/history?entity=610824100202&metrics=poor_hh,population&start=${s}${e}`;
	const first = await api(url(start), 'history');
	const hits0 = await cacheCount('hit');
	const again = await api(url(start), 'history');
	assert.equal(await cacheCount('hit'), hits0 + 1, 'the same request again is a hit');
	assert.deepEqual(again.body, first.body);
	// Another start in the same step: the same rows, its own start echoed.
	const shifted = await api(url(start - 1), 'history');
	assert.equal(shifted.body.start, start - 1);
	assert.deepEqual(shifted.body.ts, first.body.ts);
	assert.deepEqual(shifted.body.values, first.body.values);
	// Cache-Control: no-cache reads anew.
	const hits1 = await cacheCount('hit');
	const fresh = await fetch(d.base + url(start), { headers: { authorization: `Bearer ${token}`, 'cache-control': 'no-cache' } });
	assert.deepEqual(await fresh.json(), first.body);
	assert.equal(await cacheCount('hit'), hits1, 'no-cache is never a hit');

	// A sample for the village: its chart and its township's and county's change at once.
	const town = `/api/v1/history?entity=610824100000&metrics=poor_hh&start=${start}`;
	const county = `/api/v1/history?entity=${COUNTY}&metrics=poor_hh&start=${start}`;
	const townBefore = (await api(town, 'history')).body;
	const countyBefore = (await api(county, 'history')).body;
	await api(town, 'history'); // cached now
	const t = nowS() - 1;
	await ingest([{ entity: '610824100202', metric: 'poor_hh', ts: t, value: 77 }]);
	const row = Math.ceil(t / STEP) * STEP;
	const after = (await api(url(start), 'history')).body;
	assert.equal(after.values.poor_hh[after.ts.indexOf(row)], 77, 'the village chart shows the new sample');
	const townAfter = (await api(town, 'history')).body;
	const i = townAfter.ts.indexOf(row);
	assert.equal(townAfter.values.poor_hh[i] - townBefore.values.poor_hh[townBefore.ts.indexOf(row)], 77 - 20, 'the township too');
	const countyAfter = (await api(county, 'history')).body;
	assert.equal(countyAfter.values.poor_hh[i] - countyBefore.values.poor_hh[countyBefore.ts.indexOf(row)], 77 - 20, 'and the county');

	// Written to the file: the same rows, from the file now.
	await d.flush();
	assert.deepEqual((await api(url(start), 'history')).body.values, after.values);

	// Cached for the county display; a display of another township still gets 403.
	const other = (await d.fpmctl('display', 'create', 'api-other-town', '--scope', '610824200000')).trim();
	await waitFor(async () => (await fetch(`${d.base}/api/v1/me?token=${other}`)).status === 200, { what: 'the second token' });
	await api(url(start), 'history');
	const denied = await fetch(d.base + url(start), { headers: { authorization: `Bearer ${other}` } });
	assert.equal(denied.status, 403);
});

test('regions, projects, project, time, catalog replies match their schemas', async () => {
	const r = await api('/api/v1/regions', 'regions');
	assert.ok(r.body.regions.some((x) => x.code === COUNTY));
	for (const t of Object.keys(TOWNSHIPS)) assert.ok(r.body.regions.some((x) => x.code === t));
	const p = await api('/api/v1/projects', 'projects');
	assert.deepEqual(p.body.projects.map((x) => x.id).sort(), Object.keys(PROJECTS).sort());
	const one = await api('/api/v1/projects/XM-A', 'project');
	assert.equal(one.body.id, 'XM-A');
	const time = await api('/api/v1/time', 'time');
	assert.equal(time.body.step, STEP);
	const bad = await api('/api/v1/regions?under=12', 'regions');
	assert.equal(bad.status, 400);
});

test('/metrics passes promtool check metrics; /healthz', async () => {
	const m = await rawHttp('/metrics');
	assert.equal(m.status, 200);
	assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
	const out = await new Promise((resolve, reject) => {
		const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
		let text = '';
		p.stdout.on('data', (c) => (text += c));
		p.stderr.on('data', (c) => (text += c));
		p.on('error', reject);
		p.on('close', (code) => resolve({ code, text }));
		p.stdin.end(m.body);
	});
	assert.equal(out.code, 0, `promtool: ${out.text}`);
	assert.match(m.body.toString(), /^fpmon_samples_stored_total \d+$/m);
	const h = await rawHttp('/healthz');
	assert.equal(h.status, 200);
	const body = JSON.parse(h.body.toString());
	assert.equal(body.status, 'ok');
	assert.ok(Number.isInteger(body.uptime));
});

test('static files: ETag, If-None-Match -> 304, gzip when accepted', async () => {
	for (const p of ['/', '/wall.html']) {
		const plain = await rawHttp(p);
		assert.equal(plain.status, 200, p);
		assert.match(plain.headers['content-type'], /text\/html/);
		const etag = plain.headers.etag;
		assert.ok(etag, `${p} has an ETag`);
		assert.match(plain.body.toString('utf8'), /<html|<!doctype/i);
		const again = await rawHttp(p, { 'if-none-match': etag });
		assert.equal(again.status, 304, `${p} revalidated`);
		assert.equal(again.body.length, 0);
		const gz = await rawHttp(p, { 'accept-encoding': 'gzip' });
		assert.equal(gz.status, 200);
		assert.equal(gz.headers['content-encoding'], 'gzip', `${p} gzip`);
		assert.deepEqual(zlib.gunzipSync(gz.body), plain.body, `${p}: the gzip body is the same file`);
		const other = await rawHttp(p, { 'if-none-match': '"not-it"' });
		assert.equal(other.status, 200);
	}
});

test('path traversal: 404 and never a file\'s content', async () => {
	const attempts = ['/../etc/passwd', '/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '//etc/passwd', '/.git/config', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
		'/js/../../Makefile', '/js/%2e%2e/%2e%2e/Makefile', '/..\\..\\etc\\passwd', '/index.html%00.png', '/../../../../../../etc/passwd', '/.%2e/.%2e/etc/passwd'];
	// one connection each: a refused request may close its connection
	const responses = [];
	for (const a of attempts) {
		const { responses: got, closed } = await rawExchange(d.port, [rawGet(a)]);
		if (got.length === 0) assert.ok(closed, `${a}: a reply, or the connection closed without one`);
		else responses.push({ ...got[0], attempt: a });
	}
	for (const r of responses) {
		assert.ok(r.status === 404 || r.status === 400, `${r.attempt}: ${r.status}`);
		assert.doesNotMatch(r.text, /root:x?:0:0|\[core\]|CFLAGS|^all:/m, `${r.attempt}: no file content`);
	}
	for (const a of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd', '//etc/passwd', '/.git/config'])
		assert.equal(responses.find((r) => r.attempt === a)?.status, 404, `${a}: 404`);
});

test('API refusals decided from the headers come after the body is read, on a connection that stays usable', async () => {
	const post = (p, body, extra = '') =>
		`POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
	const cases = [
		['no credential', post('/api/v1/alerts/999999/acknowledge', '{"comment":"x"}'), 401],
		['role too low (display token)', post('/api/v1/alerts/999999/acknowledge', '{}', `Authorization: Bearer ${token}\r\n`), 403],
		['body over 64 KiB', post('/api/v1/login', JSON.stringify({ name: 'x'.repeat(100 * 1024) })), 413],
		['no such endpoint', post('/api/v1/nowhere', '{"a":1}'), 404],
	];
	for (const [what, req, status] of cases) {
		const { responses, complete, closed } = await rawExchange(d.port, [req, rawGet('/healthz')], { timeoutMs: 60_000 });
		assert.ok(complete, `${what}: ${JSON.stringify(responses.map((r) => r.status))}, closed ${closed}`);
		assert.equal(responses[0].status, status, what);
		assert.deepEqual(check(SCHEMAS.error, JSON.parse(responses[0].text)), [], `${what}: ${responses[0].text}`);
		assert.doesNotMatch(responses[0].head, /^connection:\s*close/im, `${what}: keep-alive`);
		assert.equal(responses[1].status, 200, `${what}: the next request on the same connection`);
	}
	// A body without a length (chunked) cannot be read to its end by lws 4.1.6: the reply says so, then the connection closes.
	const chunked = 'POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n';
	const { responses, closed } = await rawExchange(d.port, [chunked, rawGet('/healthz')], { timeoutMs: 60_000 });
	assert.equal(responses[0]?.status, 411, JSON.stringify(responses.map((r) => r.status)));
	assert.match(responses[0].head, /^connection:\s*close/im);
	assert.ok(closed && responses.length === 1, 'closed after the reply');
});
