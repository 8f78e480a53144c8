// Access control (issue 5): every route of the route table in
// dashboard/api_meta.c and the live WebSocket refuse callers without
// credentials; roles, region scopes, CSRF, logout and revocation, login
// throttling, the Origin check, header injection and the audit log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { Daemon, COUNTY, ROOT, BUILD, waitFor, rawExchange } from './lib/daemon.mjs';

// The route table, read from the source so that a new route is covered too.
const ROUTES = [...readFileSync(path.join(ROOT, 'dashboard/api_meta.c'), 'utf8').matchAll(/\{([01]), "(\/api\/v1\/[^"]*)", ([01]), (\w+), (AUTH_\w+), \w+\}/g)].map(
	([, post, p, prefix, handler, need]) => ({ post: post === '1', path: p, prefix: prefix === '1', handler, need }),
);
const SAMPLE_PATH = {
	'/api/v1/projects/': '/api/v1/projects/XM-A',
	'/api/v1/admin/users/': '/api/v1/admin/users/nobody/disable',
	'/api/v1/admin/tokens/': '/api/v1/admin/tokens/display/999999/revoke',
	'/api/v1/alerts/': '/api/v1/alerts/999999',
};
const urlOf = (r) => (r.prefix ? SAMPLE_PATH[r.path] + (r.post && r.path === '/api/v1/alerts/' ? '/acknowledge' : '') : r.path) + (r.path === '/api/v1/history' || r.path === '/api/v1/state' ? `?entity=${COUNTY}` : '');

const PASSWORD = 'correct-horse-battery';
const TOWN = '610824100000';
const OTHER_VILLAGE = '610824101201';

let d;
let display; // county display token
const creds = {}; // name -> { cookie, csrf }
const sockets = [];

async function userAdd(name, role, scope) {
	const args = ['-s', `data_dir=${d.dir}`, 'user', 'add', name, '--role', role, ...(scope ? ['--scope', scope] : [])];
	await new Promise((resolve, reject) => {
		const p = spawn(path.join(BUILD, 'fpmctl'), args, { stdio: ['pipe', 'ignore', 'pipe'] });
		let err = '';
		p.stderr.on('data', (c) => (err += c));
		p.on('error', reject);
		p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fpmctl user add ${name}: ${code} ${err}`))));
		p.stdin.end(`${PASSWORD}\n`);
	});
}
async function request(method, urlPath, { cred, token, csrf = true, body, headers = {} } = {}) {
	const h = { ...headers };
	if (cred) {
		h.cookie = cred.cookie;
		if (csrf && method === 'POST') h['x-csrf-token'] = cred.csrf;
	}
	if (token) h.authorization = `Bearer ${token}`;
	if (body !== undefined) h['content-type'] = 'application/json';
	const res = await fetch(d.base + urlPath, {
		method,
		headers: h,
		body: body === undefined ? (method === 'POST' ? '{}' : undefined) : JSON.stringify(body),
		signal: AbortSignal.timeout(60_000),
	});
	const text = await res.text();
	let json = null;
	try {
		json = JSON.parse(text);
	} catch {}
	return { status: res.status, text, json, headers: res.headers };
}
async function login(name, password = PASSWORD) {
	const r = await request('POST', '/api/v1/login', { body: { name, password } });
	if (r.status !== 200) return r;
	const cookie = /fpm_session=[^;]+/.exec(r.headers.get('set-cookie'))?.[0];
	assert.ok(cookie, `login sets the session cookie: ${r.headers.get('set-cookie')}`);
	assert.ok(r.json.csrf, 'login returns the CSRF token');
	return { status: 200, cookie, csrf: r.json.csrf, json: r.json };
}
async function displayToken(name, scope) {
	const t = (await d.fpmctl('display', 'create', name, ...(scope ? ['--scope', scope] : []))).trim();
	await waitFor(async () => (await request('GET', '/api/v1/me', { token: t })).status === 200, { what: `display token ${name} to be known` });
	return t;
}
/** Open the live WebSocket; resolves { ws, msgs, closed } or rejects with the refusal. */
function live(query, headers = {}) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`ws://127.0.0.1:${d.port}/live${query}`, 'fpmon-live', { headers });
		const s = { ws, msgs: [], closed: null };
		sockets.push(ws);
		ws.on('message', (m) => s.msgs.push(JSON.parse(m.toString())));
		ws.on('close', (code, reason) => (s.closed = { code, reason: reason.toString() }));
		ws.once('open', () => resolve(s));
		ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
		ws.once('error', (e) => reject(e));
	});
}

before(async () => {
	d = await Daemon.start({ settings: { web_dir: path.join(ROOT, 'web') } });
	await userAdd('adm', 'admin');
	await userAdd('op', 'operator');
	await userAdd('view', 'viewer');
	await userAdd('townview', 'viewer', TOWN);
	for (const n of ['adm', 'op', 'view', 'townview']) {
		creds[n] = await waitFor(async () => {
			const r = await login(n);
			return r.status === 200 ? r : null;
		}, { what: `login as ${n}` });
	}
	display = await displayToken('access-wall', COUNTY);
});
after(async () => {
	for (const ws of sockets) ws.terminate();
	if (d) {
		await d.stop();
		await d.cleanup();
	}
});

test('the route table was read', () => {
	assert.ok(ROUTES.length >= 20, `${ROUTES.length} routes`);
	for (const r of ROUTES) if (r.prefix) assert.ok(SAMPLE_PATH[r.path], `a sample path for ${r.path}`);
});

test('every route without credentials: 401 (routes marked AUTH_NONE excepted); the WebSocket upgrade is refused', async () => {
	for (const r of ROUTES) {
		const res = await request(r.post ? 'POST' : 'GET', urlOf(r));
		if (r.need === 'AUTH_NONE') assert.notEqual(res.status, 401, `${r.path} needs no credentials`);
		else {
			assert.equal(res.status, 401, `${r.post ? 'POST' : 'GET'} ${urlOf(r)}: ${res.text}`);
			assert.equal(res.json?.error, 'unauthorized');
		}
	}
	await assert.rejects(live(''), 'no credential: no WebSocket');
	await assert.rejects(live('?token=fpm_' + 'A'.repeat(43)), 'a made-up token: no WebSocket');
	const ok = await live(`?token=${display}`);
	ok.ws.terminate();
});

test('roles: a viewer gets 403 on every admin and operator route; an operator may act on alerts; an admin may administer', async () => {
	for (const r of ROUTES) {
		if (r.handler === 'api_logout') continue; // would end the session (tested below)
		const res = await request(r.post ? 'POST' : 'GET', urlOf(r), { cred: creds.view });
		if (r.need === 'AUTH_ADMIN' || r.need === 'AUTH_OPERATOR') assert.equal(res.status, 403, `viewer ${urlOf(r)}: ${res.text}`);
		else assert.notEqual(res.status, 403, `viewer ${urlOf(r)}: ${res.text}`);
		if (r.need === 'AUTH_OPERATOR') {
			const op = await request('POST', urlOf(r), { cred: creds.op });
			assert.notEqual(op.status, 403, `operator ${urlOf(r)}: ${op.text}`);
			assert.notEqual(op.status, 401);
			const disp = await request('POST', urlOf(r), { token: display });
			assert.equal(disp.status, 403, `a display token is read-only: ${urlOf(r)}`);
		}
		if (r.need === 'AUTH_ADMIN') {
			const op = await request(r.post ? 'POST' : 'GET', urlOf(r), { cred: creds.op });
			assert.equal(op.status, 403, `operator ${urlOf(r)}`);
		}
	}
	for (const p of ['/api/v1/admin/users', '/api/v1/admin/tokens', '/api/v1/admin/audit'])
		assert.equal((await request('GET', p, { cred: creds.adm })).status, 200, p);
});

test('a township-scoped viewer: another township\'s village is 403, indistinguishable from a code that does not exist; lists are filtered', async () => {
	const t = creds.townview;
	const foreign = await request('GET', `/api/v1/state?entity=${OTHER_VILLAGE}`, { cred: t });
	const missing = await request('GET', '/api/v1/state?entity=610824101299', { cred: t });
	assert.equal(foreign.status, 403);
	assert.equal(missing.status, 403);
	assert.equal(foreign.text, missing.text, 'the same reply whether it exists or not');
	const h1 = await request('GET', `/api/v1/history?entity=${OTHER_VILLAGE}`, { cred: t });
	const h2 = await request('GET', '/api/v1/history?entity=610824101299', { cred: t });
	assert.equal(h1.status, 403);
	assert.equal(h1.text, h2.text);
	const p1 = await request('GET', '/api/v1/projects/XM-B', { cred: t });
	const p2 = await request('GET', '/api/v1/projects/XM-NOPE', { cred: t });
	assert.equal(p1.status, 403);
	assert.equal(p1.text, p2.text);
	assert.equal((await request('GET', '/api/v1/state?entity=610824100201', { cred: t })).status, 200);
	const regions = (await request('GET', '/api/v1/regions', { cred: t })).json.regions;
	assert.ok(regions.length > 0);
	assert.ok(regions.every((r) => r.code.startsWith('610824100')), JSON.stringify(regions.map((r) => r.code)));
	assert.ok(!regions.some((r) => r.code === COUNTY));
	const projects = (await request('GET', '/api/v1/projects', { cred: t })).json.projects;
	assert.deepEqual(projects.map((p) => p.id), ['XM-A']);
	const all = (await request('GET', '/api/v1/projects', { cred: creds.view })).json.projects;
	assert.equal(all.length, 3);
	// and on the WebSocket: a session cookie works at the upgrade; another township's topic is an error
	const s = await live('', { cookie: t.cookie });
	s.ws.send(JSON.stringify({ type: 'subscribe', topics: [`region:${OTHER_VILLAGE}`, 'region:610824100201'] }));
	await waitFor(() => s.msgs.some((m) => m.type === 'error') && s.msgs.some((m) => m.type === 'snapshot'), { what: 'error + snapshot' });
	assert.ok(!s.msgs.some((m) => m.topic === `region:${OTHER_VILLAGE}`));
	s.ws.terminate();
});

test('a cookie session POST without X-CSRF-Token is 403 (with it: allowed)', async () => {
	const adm = creds.adm;
	const no = await request('POST', '/api/v1/admin/tokens', { cred: adm, csrf: false, body: { kind: 'display', name: 'csrf-test', scope: COUNTY } });
	assert.equal(no.status, 403, no.text);
	const wrong = await request('POST', '/api/v1/admin/tokens', { cred: { ...adm, csrf: 'x'.repeat(adm.csrf.length) }, body: { kind: 'display', name: 'csrf-test', scope: COUNTY } });
	assert.equal(wrong.status, 403, wrong.text);
	const yes = await request('POST', '/api/v1/admin/tokens', { cred: adm, body: { kind: 'display', name: 'csrf-test', scope: COUNTY } });
	assert.equal(yes.status, 201, yes.text);
	assert.match(yes.json.token, /^fpm_/);
});

test('logout ends the session; a revoked display token is refused and its open WebSocket closed', async () => {
	const s = await login('view');
	assert.equal((await request('GET', '/api/v1/me', { cred: s })).status, 200);
	const out = await request('POST', '/api/v1/logout', { cred: s });
	assert.equal(out.status, 200, out.text);
	assert.equal((await request('GET', '/api/v1/me', { cred: s })).status, 401);
	assert.equal((await request('GET', `/api/v1/state?entity=${COUNTY}`, { cred: s })).status, 401);

	const t = await displayToken('to-revoke', COUNTY);
	const ws = await live(`?token=${t}`);
	ws.ws.send(JSON.stringify({ type: 'subscribe', topics: [`region:${COUNTY}`] }));
	await waitFor(() => ws.msgs.some((m) => m.type === 'snapshot'), { what: 'snapshot' });
	const id = (await d.fpmctl('display', 'list')).split('\n').find((l) => /\bto-revoke\b/.test(l)).trim().split(/\s+/)[0];
	await d.fpmctl('display', 'revoke', id);
	const revokedAt = Date.now();
	await waitFor(async () => (await request('GET', '/api/v1/me', { token: t })).status === 401, { what: 'the revoked token refused' });
	await waitFor(() => ws.closed, { what: 'the WebSocket of a revoked token closed', timeoutMs: 30_000 });
	assert.ok(Date.now() - revokedAt < 20_000, `closed within seconds (${Date.now() - revokedAt} ms)`);
	assert.equal(ws.closed.code, 1008, JSON.stringify(ws.closed));
	assert.match(ws.closed.reason, /revoked/);
	await assert.rejects(live(`?token=${t}`), 'no new WebSocket with it');
});

test('the WebSocket upgrade with a foreign Origin is refused; the same origin is accepted', async () => {
	await assert.rejects(live(`?token=${display}`, { origin: 'https://evil.example' }));
	await assert.rejects(live(`?token=${display}`, { origin: `http://127.0.0.1:${d.port}.evil.example` }));
	const ok = await live(`?token=${display}`, { origin: `http://127.0.0.1:${d.port}` });
	ok.ws.terminate();
});

test('CR LF in a path or query does not inject headers', async () => {
	const attempts = [
		`/api/v1/time?x=%0d%0aSet-Cookie:%20evil=1%0d%0aX-Injected:%201`,
		`/%0d%0aX-Injected:%201`,
		`/api/v1/state?entity=%0d%0aX-Injected:%201&token=${display}`,
		`/api/v1/projects/XM-A%0d%0aX-Injected:%201?token=${display}`,
		`/wall.html?%0d%0aX-Injected:%201`,
	];
	for (const a of attempts) {
		const { responses, closed } = await rawExchange(d.port, [`GET ${a} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`]);
		if (!responses.length) {
			assert.ok(closed, `${a}: a reply or a closed connection`);
			continue;
		}
		const head = responses[0].head;
		assert.doesNotMatch(head, /^x-injected:/im, `${a}: ${head}`);
		assert.doesNotMatch(head, /^set-cookie:\s*evil/im, `${a}: ${head}`);
	}
});

test('the audit log records logins, failed logins and token creation with the peer address', async () => {
	const bad = await request('POST', '/api/v1/login', { body: { name: 'op', password: 'not-the-password' } });
	assert.equal(bad.status, 401);
	const created = await request('POST', '/api/v1/admin/tokens', { cred: creds.adm, body: { kind: 'display', name: 'audit-wall', scope: TOWN } });
	assert.equal(created.status, 201, created.text);
	const a = await request('GET', '/api/v1/admin/audit?limit=1000', { cred: creds.adm });
	assert.equal(a.status, 200);
	const log = a.json.audit;
	const find = (pred, what) => {
		const e = log.find(pred);
		assert.ok(e, `${what} in ${JSON.stringify(log.slice(0, 20))}`);
		assert.equal(e.peer, '127.0.0.1', `${what}: the peer address`);
		assert.ok(Number.isInteger(e.ts) && e.ts > 0);
		return e;
	};
	find((e) => e.action === 'login' && e.actor === 'view', 'a login');
	find((e) => e.action === 'login.failed' && e.actor === 'op', 'a failed login');
	find((e) => e.action.startsWith('token.create') && e.target === 'audit-wall' && e.actor === 'adm', 'a token creation');
	assert.equal((await request('GET', '/api/v1/admin/audit', { cred: creds.op })).status, 403);
});

// last: it locks the loopback address out of logging in
test('login throttling: after 5 wrong passwords, 429 with retry_after (even with the right one)', async () => {
	await userAdd('victim', 'viewer');
	// the address has one failed login already (the audit test): five in all lock it
	let failures = 1;
	let r;
	for (;;) {
		r = await request('POST', '/api/v1/login', { body: { name: 'victim', password: `wrong-password-${failures}` } });
		if (r.status !== 401) break;
		failures++;
		assert.ok(failures <= 5, `still 401 after ${failures} failures`);
	}
	assert.equal(failures, 5, 'locked after exactly 5 failures');
	assert.equal(r.status, 429, r.text);
	assert.ok(Number.isInteger(r.json.retry_after) && r.json.retry_after > 0, r.text);
	const right = await request('POST', '/api/v1/login', { body: { name: 'victim', password: PASSWORD } });
	assert.equal(right.status, 429, 'locked even with the right password');
	// existing sessions are unaffected
	assert.equal((await request('GET', '/api/v1/me', { cred: creds.adm })).status, 200);
});
