// tls.test.mjs: with tls_cert/tls_key set, fpmond serves HTTPS and WSS on its
// port: the API answers over TLS, the session cookie is marked Secure, and a
// display token opens the live WebSocket over wss. The certificate is a
// throwaway self-signed one made here with the openssl command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { Daemon, COUNTY } from './lib/daemon.mjs';

function get(port, urlPath, { method = 'GET', body, headers = {} } = {}) {
	if (body) headers = { ...headers, 'content-length': Buffer.byteLength(body) }; // the daemon refuses chunked bodies (411)
	return new Promise((resolve, reject) => {
		const req = https.request({ host: '127.0.0.1', port, path: urlPath, method, headers, rejectUnauthorized: false }, (res) => {
			let text = '';
			res.on('data', (c) => (text += c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
		});
		req.on('error', reject);
		if (body) req.write(body);
		req.end();
	});
}

test('HTTPS and WSS on the same port, Secure session cookies', async () => {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'fpmon-tls-'));
	const cert = path.join(dir, 'c.pem'), key = path.join(dir, 'k.pem');
	execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
		'-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
	const d = await Daemon.start({ settings: { tls_cert: cert, tls_key: key } });
	try {
		const h = await get(d.port, '/healthz');
		assert.equal(h.status, 200);
		assert.equal(JSON.parse(h.text).status, 'ok');

		const password = 'tls-test-password-1';
		execFileSync(path.join(process.env.FPMON_BUILD ? path.resolve(process.env.FPMON_BUILD) : 'build', 'fpmctl'),
			['-s', `data_dir=${d.dir}`, 'user', 'add', 'tlsadmin', '--role', 'admin'], { input: `${password}\n` });
		const login = await get(d.port, '/api/v1/login', { method: 'POST', body: JSON.stringify({ name: 'tlsadmin', password }) });
		assert.equal(login.status, 200);
		const cookie = [].concat(login.headers['set-cookie'] || []).join(';');
		assert.match(cookie, /fpm_session=fpm_/);
		assert.match(cookie, /HttpOnly/);
		assert.match(cookie, /SameSite=Strict/);
		assert.match(cookie, /Secure/);

		const token = (await d.fpmctl('display', 'create', 'tls-wall', '--scope', COUNTY)).trim().split('\n').pop();
		let snapshot;
		for (let attempt = 0; attempt < 50 && !snapshot; attempt++) {
			snapshot = await new Promise((resolve) => {
				const ws = new WebSocket(`wss://127.0.0.1:${d.port}/?token=${token}`, 'fpmon-live', { rejectUnauthorized: false });
				const timer = setTimeout(() => { ws.terminate(); resolve(null); }, 5000);
				ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', topics: [`region:${COUNTY}`] })));
				ws.on('message', (m) => { clearTimeout(timer); ws.close(); resolve(JSON.parse(m.toString())); });
				ws.on('error', () => { clearTimeout(timer); resolve(null); });
			});
			if (!snapshot) await new Promise((r) => setTimeout(r, 200)); // the token reaches the daemon's cache
		}
		assert.ok(snapshot, 'a wss snapshot');
		assert.equal(snapshot.type, 'snapshot');
		assert.ok(snapshot.entities[COUNTY]);
	} finally {
		await d.stop();
		rmSync(dir, { recursive: true, force: true });
	}
});
