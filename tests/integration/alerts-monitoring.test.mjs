// alerts-monitoring.test.mjs: households under return-to-poverty monitoring
// through the real daemon. POST /api/v1/ingest/monitoring judges each
// household (bad ones named by field), a token must be allowed the kind, a
// household flagged 20 days ago without help raises monitoring_overdue for its
// village at once (seen in the API and pushed on the WebSocket topic
// `alerts`), the alert actions name the member and the reason of a refusal,
// and help reported through the same endpoint resolves the alert.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { Daemon, BUILD, VILLAGES, ERROR_SCHEMA, validate, nowS, waitFor } from './lib/daemon.mjs';

const VILLAGE = VILLAGES[0];
const OPERATOR = { name: 'monitor-op', password: 'long-enough-password-1' };
let d;
let op; // { cookie, csrf }

/** An operator account made with fpmctl (password on stdin), then logged in. */
async function operatorSession() {
	await new Promise((resolve, reject) => {
		const args = ['-s', `data_dir=${d.dir}`, 'user', 'add', OPERATOR.name, '--role', 'operator'];
		const child = spawn(path.join(BUILD, 'fpmctl'), args, { stdio: ['pipe', 'ignore', 'inherit'] });
		child.on('error', reject);
		child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fpmctl user add: exit ${code}`))));
		child.stdin.end(`${OPERATOR.password}\n`);
	});
	return waitFor(async () => {
		const res = await fetch(`${d.base}/api/v1/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(OPERATOR),
		});
		if (res.status !== 200) return null;
		const cookie = /fpm_session=[^;]+/.exec(res.headers.get('set-cookie') || '')?.[0];
		return cookie ? { cookie, csrf: (await res.json()).csrf } : null;
	}, { what: 'the operator to log in' });
}

/** GET or POST the JSON API as the operator; { status, json }. */
async function api(urlPath, body) {
	const headers = { cookie: op.cookie };
	if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'x-csrf-token': op.csrf });
	const res = await fetch(d.base + urlPath, {
		method: body === undefined ? 'GET' : 'POST',
		headers,
		body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
	});
	return { status: res.status, json: await res.json() };
}

const household = (id, flaggedAt, more = {}) => ({ household: id, village: VILLAGE, category: 'at_risk', flagged_at: flaggedAt, ...more });

before(async () => {
	d = await Daemon.start({ tokens: { bank: { kinds: 'payment_batches,payment_results' } } });
	op = await operatorSession();
});
after(async () => {
	if (d) await d.stop();
});

test('monitoring records: verdicts per household, token kinds, an overdue household alerts its village, help resolves it', async () => {
	const t = nowS();
	const ws = new WebSocket(`ws://127.0.0.1:${d.port}/live`, 'fpmon-live', { headers: { cookie: op.cookie } });
	const frames = [];
	ws.on('message', (m) => frames.push(JSON.parse(m.toString())));
	await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
	ws.send(JSON.stringify({ type: 'subscribe', topics: ['alerts'] }));
	try {
		const r = await d.post('monitoring', {
			batch_id: 'mon-1',
			households: [
				household('H-MON-1', t - 20 * 86400, { identified_at: t - 18 * 86400 }),
				household('H-MON-2', t - 2 * 86400),
				{ ...household('H-MON-3', t - 30 * 86400), village: '610824999999' },
				household('H-MON-4', t - 30 * 86400, { helped_at: t - 31 * 86400 }),
			],
		});
		assert.equal(r.status, 200);
		assert.equal(r.body.accepted, 2);
		assert.equal(r.body.rejected, 2);
		assert.deepEqual(r.body.errors.map((e) => e.field), ['households[2].village', 'households[3].helped_at']);
		assert.equal(r.body.errors[1].reason, 'is before flagged_at');
		assert.equal(await d.scalar('SELECT count(*) FROM monitor_household'), 2);

		// A token for the bank's data may not send monitoring records.
		const refused = await d.post('monitoring', { batch_id: 'mon-x', households: [household('H-MON-9', t)] }, d.tokens.bank);
		assert.equal(refused.status, 403);

		// The alert: one for the village, listing the overdue household only.
		const alert = await waitFor(async () => {
			const l = await api('/api/v1/alerts?rule=monitoring_overdue');
			return l.json.alerts?.find((a) => a.entity === VILLAGE);
		}, { what: 'the monitoring_overdue alert' });
		assert.equal(alert.severity, 'warning');
		assert.equal(alert.state, 'firing');
		assert.deepEqual(alert.detail.households.map((h) => h.household), ['H-MON-1']);
		assert.equal(alert.detail.limit_days, 15);
		assert.equal(alert.detail.households[0].identified, true);
		const pushed = await waitFor(() => frames.find((f) => f.alerts?.some((a) => a.id === alert.id) && f.events?.some((e) => e.kind === 'fired')), { what: 'the fired frame on the WebSocket' });
		assert.ok(pushed);

		// Action errors name the member and the reason (error-reply.json).
		const refusals = [
			['silence', {}, 'reason', /required/],
			['silence', { reason: 'visit planned', until: 'tomorrow' }, 'until', /integer/],
			['ack', { comment: 5 }, 'comment', /string/],
			['ack', { comments: 'typo' }, 'comments', /not taken/],
			['resolve', { comment: '' }, 'comment', /required/],
		];
		for (const [verb, body, field, reason] of refusals) {
			const e = await api(`/api/v1/alerts/${alert.id}/${verb}`, body);
			assert.equal(e.status, 422, `${verb} ${JSON.stringify(body)}`);
			assert.deepEqual(validate(ERROR_SCHEMA, e.json), []);
			assert.equal(e.json.field, field);
			assert.match(e.json.reason, reason);
		}
		const notJson = await api(`/api/v1/alerts/${alert.id}/ack`, '{"comment":');
		assert.equal(notJson.status, 400);
		assert.equal(notJson.json.field, '(body)');
		// A comment is optional for an acknowledgement.
		const acked = await api(`/api/v1/alerts/${alert.id}/ack`, {});
		assert.equal(acked.status, 200);
		assert.equal(acked.json.alert.state, 'acknowledged');
		assert.equal(acked.json.alert.acked_by, OPERATOR.name);

		// Help in place: the alert resolves by the engine, and the transition is pushed.
		const helped = await d.post('monitoring', { batch_id: 'mon-2', households: [household('H-MON-1', t - 20 * 86400, { helped_at: t - 60 })] });
		assert.equal(helped.body.accepted, 1);
		const resolved = await waitFor(async () => {
			const one = await api(`/api/v1/alerts/${alert.id}`);
			return one.json.alert.state === 'resolved' ? one.json.alert : null;
		}, { what: 'the alert to resolve' });
		assert.equal(resolved.resolved_by, 'engine');
		await waitFor(() => frames.find((f) => f.events?.some((e) => e.alert_id === alert.id && e.kind === 'resolved')), { what: 'the resolved frame' });
	} finally {
		ws.terminate();
	}
});
