// webhooks.test.mjs: alert notifications leave the daemon as webhooks. A
// payment batch whose funds reached the bank 30 h ago with no bank result
// raises `payment_overdue` at once; the receivers (on loopback, run here)
// get it as generic JSON and in the DingTalk and WeCom robot formats; a receiver that is
// down when the alert fires gets it once it comes back (the sender retries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Daemon, VILLAGES } from './lib/daemon.mjs';

function receiver(port = 0) {
	const got = [];
	const server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			got.push({ path: req.url, type: req.headers['content-type'], body });
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end('{"errcode":0}');
		});
	});
	return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, got, port: server.address().port })));
}

async function freePort() {
	const s = net.createServer();
	await new Promise((r) => s.listen(0, '127.0.0.1', r));
	const { port } = s.address();
	await new Promise((r) => s.close(r));
	return port;
}

async function until(what, fn, timeoutMs = 60_000) {
	const end = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

function overdueBatch(no) {
	const now = Math.floor(Date.now() / 1000);
	return {
		batch_id: `wh-${no}`,
		batch: { batch_no: no, department: '县人社局', fund_type: '公益岗位补贴', period: '2026-11',
			 submitted: now - 40 * 3600, funds_at_bank: now - 30 * 3600 },
		payments: [{ payment_no: `${no}-1`, household: 'H-WH-1', card: '6217****1234', amount_fen: 60000, village: VILLAGES[0] }],
	};
}

test('an alert reaches a JSON receiver, a DingTalk and a WeCom receiver; a receiver that was down gets it after coming back', async () => {
	const json = await receiver();
	const ding = await receiver();
	const wecom = await receiver();
	const latePort = await freePort(); // nothing listens here yet
	const d = await Daemon.start({
		settings: {
			alert_webhooks: `json=http://127.0.0.1:${json.port}/hook;dingtalk=http://127.0.0.1:${ding.port}/robot/send?access_token=t;wecom=http://127.0.0.1:${wecom.port}/cgi-bin/webhook/send?key=k;json=http://127.0.0.1:${latePort}/late`,
		},
	});
	let late;
	try {
		const r = await d.post('payment-batch', overdueBatch('WH-2026-1'));
		assert.equal(r.status, 200);
		assert.equal(r.body.accepted, 1);

		const first = await until('the JSON webhook', () => json.got.find((g) => g.body.includes('payment_overdue')));
		assert.match(first.type, /application\/json/);
		const doc = JSON.parse(first.body);
		assert.equal(doc.alert.rule, 'payment_overdue');
		assert.equal(first.path, '/hook');

		const robot = await until('the DingTalk webhook', () => ding.got.find((g) => g.body.includes('markdown')));
		const msg = JSON.parse(robot.body);
		assert.equal(msg.msgtype, 'markdown');
		assert.ok(msg.markdown.title && msg.markdown.text, 'DingTalk markdown has a title and a text');
		assert.equal(robot.path, '/robot/send?access_token=t');

		const work = await until('the WeCom webhook', () => wecom.got.find((g) => g.body.includes('WH-2026-1')));
		const card = JSON.parse(work.body);
		assert.equal(card.msgtype, 'markdown');
		assert.match(card.markdown.content, /代发批次/, 'the WeCom message is the batch alert, in Chinese');
		assert.ok(Buffer.byteLength(card.markdown.content) <= 4000, 'WeCom markdown content within its 4,000 bytes');
		assert.equal(work.path, '/cgi-bin/webhook/send?key=k');

		// The third receiver comes up now: the sender's retry (5 s, 10 s, ... back-off) reaches it.
		late = await receiver(latePort);
		const arrived = await until('the late receiver', () => late.got.find((g) => g.body.includes('payment_overdue')), 90_000);
		assert.equal(JSON.parse(arrived.body).alert.rule, 'payment_overdue');

		const metrics = (await d.get('/metrics')).text;
		assert.match(metrics, /^fpmon_webhooks_total\{result="sent"\} [1-9]/m);
	} finally {
		await d.stop();
		json.server.close();
		ding.server.close();
		wecom.server.close();
		if (late) late.server.close();
	}
});
