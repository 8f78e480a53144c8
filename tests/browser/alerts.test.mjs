// The alert console and the wall's alert ticker against the real alert
// engine. The test county raises real alerts through the public ingest API
// (the engine evaluates right after each ingest): its stalled and lagging
// projects (project_behind, project_stalled, milestone_overdue, ...), a
// card-payment batch whose funds reached the bank 80 hours ago without a
// bank result (payment_overdue, critical), another whose results then
// arrive (resolved), and a township whose three
// villages last reported 40 days ago (township_silent, with the three
// village_silent alerts grouped under it). The township is added to the
// region tree with fpmctl while the daemon is stopped.
//
// Consoles: an operator signed in through the login page (actions), a wall
// screen's display token and a viewer account (read only). No fixed sleeps:
// every wait polls the page or the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCounty, openBrowser, watchErrors, screenshot, waitFor, C } from './lib/harness.mjs';

const QUIET_TOWNSHIP = { code: '610899202000', name: '青石乡' };
const QUIET_VILLAGES = [['610899202201', '上寨村'], ['610899202202', '下寨村'], ['610899202203', '中寨村']];
const VIEWER = { name: 'laoli', password: 'chakan-only-2026' };
let server, browser, opBrowser;

/** A payment batch whose funds reached the bank `hours` ago, with no bank result yet. */
function lateBatch(batchNo, hours, village) {
	const now = Math.floor(Date.now() / 1000);
	return {
		batch_id: `pb-${batchNo}`,
		batch: { batch_no: batchNo, department: '县民政局', fund_type: '低保金', period: '2026-11', submitted: now - hours * 3600, funds_at_bank: now - hours * 3600 },
		payments: [0, 1, 2].map((k) => ({ payment_no: `${batchNo}-${k}`, household: `${village}${k}`, card: `6217****${3000 + k}`, amount_fen: 120_000, village })),
	};
}

/** Open alerts of the county as the API lists them (top level; members nested). */
async function apiAlerts(query = '') {
	return (await server.get(`/api/v1/alerts?region=${C.COUNTY}${query}`)).alerts;
}

async function findAlert(pred, what) {
	return waitFor(async () => (await apiAlerts('&state=all')).flatMap((a) => [a, ...(a.members || [])]).find(pred), { what, timeoutMs: 20_000 });
}

before(async () => {
	server = await startCounty();
	// a township whose villages stopped reporting: added to the region tree while the daemon is down
	await server.stop();
	const csv = path.join(server.dir, 'quiet-township.csv');
	writeFileSync(csv, `code,name\n${QUIET_TOWNSHIP.code},${QUIET_TOWNSHIP.name}\n${QUIET_VILLAGES.map(([c, n]) => `${c},${n}`).join('\n')}\n`);
	await server.fpmctl('import', 'regions', csv);
	await server.fpmctlInput(`${VIEWER.password}\n`, 'user', 'add', VIEWER.name, '--role', 'viewer', '--full-name', '李科员');
	await server.restart();
	const now = Math.floor(Date.now() / 1000);
	await server.post('samples', { batch_id: 'quiet-villages', samples: QUIET_VILLAGES.map(([code], i) => ({ entity: code, metric: 'poor_hh', ts: now - 40 * 86400, value: 30 + i })) });
	await server.post('payment-batch', lateBatch('B-LATE-01', 80, server.county.villages[2].code));
	await findAlert((a) => a.rule === 'township_silent' && a.entity === QUIET_TOWNSHIP.code, 'the township_silent alert');
	await findAlert((a) => a.rule === 'payment_overdue' && a.entity === 'B-LATE-01', 'the payment_overdue alert');
	// a second late batch whose bank results then arrive: an alert fired and resolved
	await server.post('payment-batch', lateBatch('B-PAID-01', 60, server.county.villages[3].code));
	await findAlert((a) => a.rule === 'payment_overdue' && a.entity === 'B-PAID-01', 'the paid batch\'s payment_overdue alert');
	await server.post('payment-results', { batch_id: 'pr-B-PAID-01', results: [0, 1, 2].map((k) => ({ payment_no: `B-PAID-01-${k}`, status: 'paid', at: now - 3600 })) });
	await findAlert((a) => a.rule === 'payment_overdue' && a.entity === 'B-PAID-01' && a.state === 'resolved', 'that alert resolved');
	browser = await openBrowser();
	opBrowser = await openBrowser();
});
after(async () => {
	await opBrowser?.close();
	await browser?.close();
	await server?.cleanup();
});

/** Sign in through the login page and land on the console. */
async function signIn(context, user, next = '/alerts.html') {
	const page = await context.newPage();
	await page.goto(`${server.base}/login.html?next=${encodeURIComponent(next)}`);
	await page.fill('[name="name"]', user.name);
	await page.fill('[name="password"]', user.password);
	await page.click('button[type="submit"]');
	await page.waitForURL((url) => url.pathname.endsWith(next.split('?')[0]), { timeout: 20_000 });
	return page;
}

const rowIds = (page) => page.locator('#list tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.dataset.id));
const waitLive = (page) => page.waitForFunction(() => document.querySelector('.conn').dataset.state === 'live', null, { timeout: 20_000 });
/** Wait until the list shows exactly these ids, in this order. */
const waitRows = (page, ids) => page.waitForFunction((want) =>
	JSON.stringify([...document.querySelectorAll('#list tbody tr[data-id]')].map((r) => r.dataset.id)) === JSON.stringify(want), ids, { timeout: 20_000 });
const rowState = (page, id, state) => page.waitForFunction(([i, s]) => document.querySelector(`#list tbody tr[data-id="${i}"]`)?.dataset.state === s, [String(id), state], { timeout: 20_000 });

test('the console lists the real alerts most severe and oldest first, with filters and the township group', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page('alerts.html?state=open'));
	const open = await apiAlerts();
	// the API's own order: critical first, then the oldest
	const want = open.map((a) => String(a.id));
	await waitRows(page, want);
	const sev = open.map((a) => a.severity);
	assert.deepEqual(sev, [...sev].sort((a, b) => (a === b ? 0 : a === 'critical' ? -1 : 1)));
	for (let i = 1; i < open.length; i++)
		if (open[i].severity === open[i - 1].severity) assert.ok(open[i].fired_at >= open[i - 1].fired_at, 'oldest first within a severity');
	const rules = new Set(open.map((a) => a.rule));
	for (const r of ['project_behind', 'project_stalled', 'milestone_overdue', 'payment_overdue', 'township_silent']) assert.ok(rules.has(r), `a ${r} alert`);
	assert.equal(await page.locator('[data-stat="critical"] .v').textContent(), String(open.filter((a) => a.severity === 'critical' && a.state === 'firing').length));

	// the township cause stands for its villages: one line, expandable
	const cause = open.find((a) => a.rule === 'township_silent');
	assert.equal(cause.members.length, 3);
	const causeRow = page.locator(`#list tbody tr[data-id="${cause.id}"]`);
	assert.match(await causeRow.textContent(), /青石乡[\s\S]*3 个村/);
	await causeRow.locator('button.expand').click();
	await waitRows(page, [...want.slice(0, want.indexOf(String(cause.id)) + 1), ...cause.members.map((m) => String(m.id)), ...want.slice(want.indexOf(String(cause.id)) + 1)]);
	assert.deepEqual(await page.locator('#list tbody tr.member b').allTextContents(), cause.members.map((m) => m.entity_name));

	// filters: rule, severity, township, state
	await page.selectOption('select[name="rule"]', 'payment_overdue');
	await waitRows(page, open.filter((a) => a.rule === 'payment_overdue').map((a) => String(a.id)));
	assert.match(await page.locator('#list tbody').textContent(), /B-LATE-01[\s\S]*80 小时/);
	await page.selectOption('select[name="rule"]', '');
	await page.selectOption('select[name="severity"]', 'critical');
	await waitRows(page, open.filter((a) => a.severity === 'critical').map((a) => String(a.id)));
	await page.selectOption('select[name="severity"]', '');
	await page.selectOption('select[name="township"]', QUIET_TOWNSHIP.code);
	await waitRows(page, [String(cause.id), ...cause.members.map((m) => String(m.id))]);
	await page.selectOption('select[name="township"]', '');
	await page.selectOption('select[name="state"]', 'resolved');
	// the paid batch's alert, resolved by its bank results
	await page.waitForFunction(() => {
		const rows = [...document.querySelectorAll('#list tbody tr[data-id]')];
		return rows.length > 0 && rows.every((r) => r.dataset.state === 'resolved');
	}, null, { timeout: 20_000 });
	assert.match(page.url(), /state=resolved/);
	await page.click('#reset');
	await page.waitForFunction((n) => document.querySelectorAll('#list tbody tr[data-id]').length > n, want.length + 3);
	await page.selectOption('select[name="state"]', 'open');
	await waitRows(page, [...want.slice(0, want.indexOf(String(cause.id)) + 1), ...cause.members.map((m) => String(m.id)), ...want.slice(want.indexOf(String(cause.id)) + 1)]);
	await screenshot(page, 'alerts');
	assert.deepEqual(errors, []);
	await page.close();
});

test('the detail shows who did what and when, and the subject\'s chart around the moment it fired', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	const stalled = await findAlert((a) => a.rule === 'project_stalled' && a.entity === 'XM-003', 'the stalled project');
	await page.goto(server.page('alerts.html'));
	await page.waitForFunction((id) => document.querySelector(`#list tbody tr[data-id="${id}"]`), String(stalled.id), { timeout: 20_000 });
	await page.click(`#list tbody tr[data-id="${stalled.id}"]`);
	assert.match(page.url(), new RegExp(`id=${stalled.id}`));
	await page.waitForFunction(() => document.querySelector('#detail-body a')?.getAttribute('href').includes('project.html?id=XM-003'));
	assert.match(await page.locator('#detail-body').textContent(), /进度停在/);
	// history from GET /api/v1/alerts/<id>: fired by the engine
	await page.waitForFunction(() => document.querySelector('#history li[data-kind="fired"]'));
	assert.match(await page.locator('#history li[data-kind="fired"]').textContent(), /告警引擎 · 触发/);
	// figures of the rule, and the progress chart around the moment it fired
	assert.match(await page.locator('#detail-figs').textContent(), /进度未变自/);
	await page.waitForFunction(() => document.querySelector('#detail-chart').dataset.loaded === '1' && document.querySelector('#detail-chart canvas'), null, { timeout: 20_000 });
	assert.equal(await page.locator('#detail-chart').getAttribute('data-fired-at'), String(stalled.fired_at));
	// a display token may look, not act
	assert.equal(await page.locator('[data-act="ack"]').isDisabled(), true);
	assert.match(await page.locator('#act-note').textContent(), /显示令牌为只读/);
	await screenshot(page, 'alerts-detail');
	// an unknown alert: the API's 404 reason, in the page's language
	await page.goto(server.page('alerts.html?id=999999'));
	await page.waitForFunction(() => /您的辖区内没有这条告警/.test(document.querySelector('#detail-body').textContent), null, { timeout: 20_000 });
	assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
	await page.close();
});

test('acknowledging in an operator\'s console changes the alert on a second open console, live', async () => {
	const batch = await findAlert((a) => a.rule === 'payment_overdue' && a.entity === 'B-LATE-01', 'the late batch');
	assert.equal(batch.state, 'firing');
	// the second console: a wall screen's display token, already open
	const watcher = await browser.context.newPage();
	const werrors = watchErrors(watcher);
	await watcher.goto(server.page(`alerts.html?id=${batch.id}`));
	await rowState(watcher, batch.id, 'firing');
	await watcher.waitForFunction(() => document.querySelector('#history li[data-kind="fired"]'), null, { timeout: 20_000 });
	await waitLive(watcher);

	const op = await signIn(opBrowser.context, server.user);
	const errors = watchErrors(op);
	await op.waitForFunction((id) => document.querySelector(`#list tbody tr[data-id="${id}"]`), String(batch.id), { timeout: 20_000 });
	await waitLive(op);
	await op.click(`#list tbody tr[data-id="${batch.id}"]`);
	await op.waitForFunction(() => !document.querySelector('[data-act="ack"]').disabled);
	assert.equal(await op.locator('#act-note').isVisible(), false);

	// resolving without a comment: the server's 422 and its reason under the buttons
	await op.click('[data-act="resolve"]');
	await op.waitForFunction(() => document.getElementById('act-msg').dataset.status === '422');
	assert.equal(await op.locator('#act-msg').textContent(), '处置意见：必填');

	await op.fill('[name="comment"]', '已联系农商行核实到账情况');
	await op.click('[data-act="ack"]');
	await op.waitForFunction(() => document.getElementById('act-msg').dataset.status === '200');
	assert.equal(await op.locator('#act-msg').textContent(), '已确认');
	await rowState(op, batch.id, 'acknowledged');
	await op.waitForFunction(() => /xiaowang · 确认 — “已联系农商行核实到账情况”/.test(document.getElementById('history').textContent), null, { timeout: 20_000 });
	assert.equal(await op.locator('[data-act="ack"]').isDisabled(), true);

	// the other console follows without a reload: the row, who, and the history
	await rowState(watcher, batch.id, 'acknowledged');
	assert.match(await watcher.locator(`#list tbody tr[data-id="${batch.id}"] .who-cell`).textContent(), /xiaowang/);
	await watcher.waitForFunction(() => document.querySelector('#history li[data-kind="acknowledged"][data-actor="xiaowang"]'), null, { timeout: 20_000 });
	assert.match(await watcher.locator('#detail-body').textContent(), /xiaowang · [\d-]+ [\d:]+ — “已联系农商行核实到账情况”/);
	assert.deepEqual(werrors, []);
	assert.deepEqual(errors, []);
	await watcher.close();
	await op.close();
});

test('a console that missed the change gets the API\'s 409 inline and reads the alert again', async () => {
	const behind = await findAlert((a) => a.rule === 'project_behind' && a.entity === 'XM-008', 'XM-008 behind');
	const op = await signIn(opBrowser.context, server.user);
	await waitLive(op);
	// a second console of the same operator whose live alert frames stop after the snapshot
	const stale = await opBrowser.context.newPage();
	await stale.routeWebSocket(/\/live/, (ws) => {
		const upstream = ws.connectToServer();
		ws.onMessage((m) => upstream.send(m));
		upstream.onMessage((m) => {
			const msg = JSON.parse(m);
			if (!(msg.topic === 'alerts' && msg.type === 'delta')) ws.send(m);
		});
	});
	await stale.goto(`${server.base}/alerts.html?id=${behind.id}`);
	await rowState(stale, behind.id, 'firing');
	await stale.waitForFunction(() => !document.querySelector('[data-act="ack"]').disabled, null, { timeout: 20_000 });

	await op.goto(`${server.base}/alerts.html?id=${behind.id}`);
	await op.waitForFunction(() => !document.querySelector('[data-act="ack"]').disabled, null, { timeout: 20_000 });
	await op.click('[data-act="ack"]');
	await rowState(op, behind.id, 'acknowledged');

	await stale.click('[data-act="ack"]');
	await stale.waitForFunction(() => document.getElementById('act-msg').dataset.status === '409', null, { timeout: 20_000 });
	assert.equal(await stale.locator('#act-msg').textContent(), '状态冲突：已由 xiaowang 确认');
	// after the conflict it reads the alert again: now acknowledged, the button off
	await rowState(stale, behind.id, 'acknowledged');
	await stale.waitForFunction(() => document.querySelector('[data-act="ack"]').disabled);
	await stale.close();
	await op.close();
});

test('a township and its villages are acknowledged together; a silence reaches the other console', async () => {
	const cause = await findAlert((a) => a.rule === 'township_silent' && a.entity === QUIET_TOWNSHIP.code, 'the township cause');
	const watcher = await browser.context.newPage();
	await watcher.goto(server.page(`alerts.html?township=${QUIET_TOWNSHIP.code}`));
	await rowState(watcher, cause.id, 'firing');
	await waitLive(watcher);

	const op = await signIn(opBrowser.context, server.user);
	const errors = watchErrors(op);
	await op.waitForFunction((id) => document.querySelector(`#list tbody tr[data-id="${id}"]`), String(cause.id), { timeout: 20_000 });
	await waitLive(op);
	await op.click(`#list tbody tr[data-id="${cause.id}"]`);
	// the cause lists its villages, and offers to acknowledge all four
	await op.waitForFunction(() => document.querySelectorAll('#detail-members li').length === 3);
	await op.waitForFunction(() => !document.querySelector('[data-act="ack-group"]').hidden && !document.querySelector('[data-act="ack-group"]').disabled);
	assert.equal(await op.locator('[data-act="ack-group"]').textContent(), '整组确认（4 条）');
	await op.fill('[name="comment"]', '乡镇数据专线故障，已报电信');
	await op.click('[data-act="ack-group"]');
	await op.waitForFunction(() => document.getElementById('act-msg').dataset.status === '200');
	assert.equal(await op.locator('#act-msg').textContent(), '已确认整组 4 条告警');

	// the other console: the cause, and each village once expanded
	await rowState(watcher, cause.id, 'acknowledged');
	await watcher.click(`#list tbody tr[data-id="${cause.id}"] button.expand`);
	for (const m of cause.members) await rowState(watcher, m.id, 'acknowledged');

	// silence one village until it resolves
	const member = cause.members[0];
	await op.click(`#detail-members li[data-goto="${member.id}"]`);
	await op.waitForFunction((id) => new URL(location.href).searchParams.get('id') === id, String(member.id));
	await op.waitForFunction(() => /归入|所属原因/.test(document.getElementById('detail-body').textContent));
	await op.selectOption('[name="until-preset"]', '0');
	await op.fill('[name="comment"]', '村委会换届，暂停报送');
	await op.click('[data-act="silence"]');
	await op.waitForFunction(() => document.getElementById('act-msg').dataset.status === '200');
	await rowState(watcher, member.id, 'silenced');
	assert.match(await watcher.locator(`#list tbody tr[data-id="${member.id}"] .who-cell`).textContent(), /直到告警解除/);
	await op.waitForFunction(() => /静默[\s\S]*直到告警解除[\s\S]*村委会换届/.test(document.getElementById('history').textContent), null, { timeout: 20_000 });
	await screenshot(op, 'alerts-operator');
	assert.deepEqual(errors, []);
	await watcher.close();
	await op.close();
});

test('a viewer account and a display token see the actions disabled, and the server refuses them too', async () => {
	const viewerBrowser = await openBrowser();
	try {
		const page = await signIn(viewerBrowser.context, VIEWER);
		const errors = watchErrors(page);
		await page.waitForFunction(() => document.querySelectorAll('#list tbody tr[data-id]').length > 0, null, { timeout: 20_000 });
		await page.click('#list tbody tr[data-id] >> nth=0');
		await page.waitForFunction(() => !document.getElementById('act-note').hidden);
		assert.match(await page.locator('#act-note').textContent(), /只读（查看者）/);
		for (const act of ['ack', 'comment', 'resolve', 'silence']) assert.equal(await page.locator(`[data-act="${act}"]`).isDisabled(), true, act);
		assert.equal(await page.locator('[name="comment"]').isDisabled(), true);
		// and the API says no to the viewer's session as well
		const id = await page.locator('#list tbody tr[data-id] >> nth=0').getAttribute('data-id');
		const status = await page.evaluate(async (alertId) => {
			const me = await (await fetch('/api/v1/me')).json();
			const r = await fetch(`/api/v1/alerts/${alertId}/ack`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf }, body: '{}' });
			return r.status;
		}, id);
		assert.equal(status, 403);
		assert.deepEqual(errors, []);
		await page.close();
	} finally {
		await viewerBrowser.close();
	}
});

test('a new critical alert beeps and raises a browser notification once the alarm is switched on', async () => {
	const op = await opBrowser.context.newPage();
	// record notifications instead of showing them (headless)
	await op.addInitScript(() => {
		window.__notes = [];
		window.Notification = class {
			static permission = 'granted';
			static requestPermission() { return Promise.resolve('granted'); }
			constructor(title, opts) { window.__notes.push({ title, body: opts && opts.body }); }
			close() {}
		};
	});
	const errors = watchErrors(op);
	await op.goto(`${server.base}/alerts.html`);
	await op.waitForFunction(() => document.querySelectorAll('#list tbody tr[data-id]').length > 0, null, { timeout: 20_000 });
	await waitLive(op);
	assert.equal(await op.locator('#notify-toggle').isChecked(), false, 'off until switched on');
	await op.click('#notify-toggle');
	assert.equal(await op.locator('#notify-toggle').isChecked(), true);

	await server.post('payment-batch', lateBatch('B-LATE-02', 100, server.county.villages[4].code));
	await op.waitForFunction(() => document.getElementById('notify-toggle').dataset.rang === '1', null, { timeout: 20_000 });
	const notes = await op.evaluate(() => window.__notes);
	assert.equal(notes.length, 1);
	assert.equal(notes[0].title, '新严重告警：一卡通批次逾期');
	assert.match(notes[0].body, /B-LATE-02/);
	// the list has it, after the older critical alerts (oldest first)
	const fresh = await findAlert((a) => a.entity === 'B-LATE-02', 'the second late batch');
	await rowState(op, fresh.id, 'firing');
	const critical = await op.locator('#list tbody tr[data-severity="critical"]:not([data-state="resolved"])').evaluateAll((rows) => rows.map((r) => r.dataset.id));
	assert.equal(critical.at(-1), String(fresh.id));
	// and before every warning
	const ids = await rowIds(op);
	const firstWarning = await op.locator('#list tbody tr[data-severity="warning"]').first().getAttribute('data-id');
	assert.ok(ids.indexOf(String(fresh.id)) < ids.indexOf(firstWarning));
	// kept for the next visit
	await op.reload();
	await op.waitForFunction(() => document.getElementById('notify-toggle').checked);
	assert.deepEqual(errors, []);
	await op.close();
});

test('the wall ticker shows the open alerts, most severe first, and follows the stream', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page('wall.html?rotate=0'));
	// open alerts on the ticker: firing and acknowledged, a township group as its cause
	const expected = async () => (await apiAlerts()).filter((a) => a.state === 'firing' || a.state === 'acknowledged');
	let want = await expected();
	await page.waitForFunction((n) => document.getElementById('alert-count').textContent === `(${n})`, want.length, { timeout: 20_000 });
	const sev = await page.locator('#ticker .t-item .t-sev').evaluateAll((els) => els.map((e) => e.className.split(' ').pop()));
	const n = want.length;
	assert.deepEqual(sev.slice(0, n), want.map((a) => a.severity), 'most severe first (the list may be doubled to loop)');
	const shown = await page.locator('#ticker .t-item').evaluateAll((els) => els.map((e) => e.dataset.id));
	assert.deepEqual(shown.slice(0, n), want.map((a) => String(a.id)));
	assert.ok(!shown.includes(String(want.find((a) => a.rule === 'township_silent').members[0].id)), 'villages stay under their township');
	// a new critical alert arrives on the ticker without a reload
	await server.post('payment-batch', lateBatch('B-LATE-03', 90, server.county.villages[6].code));
	const fresh = await findAlert((a) => a.entity === 'B-LATE-03', 'the third late batch');
	want = await expected();
	await page.waitForFunction((id) => [...document.querySelectorAll('#ticker .t-item')].some((e) => e.dataset.id === id), String(fresh.id), { timeout: 20_000 });
	await page.waitForFunction((c) => document.getElementById('alert-count').textContent === c, `(${want.length})`);
	assert.match(await page.locator(`#ticker .t-item[data-id="${fresh.id}"]`).first().textContent(), /严重[\s\S]*一卡通批次逾期[\s\S]*B-LATE-03/);
	await page.waitForFunction(() => document.querySelector('[data-kpi="poor_hh"] .kpi-v b').textContent !== '');
	await screenshot(page, 'wall-alert-ticker');
	assert.deepEqual(errors, []);
	await page.close();
});
