// The wall display against a real fpmond with the test county: figures,
// live updates from the ingest API, surviving a SIGKILL of the server, the
// stale marking while it is away, the view playlist, and screenshots at
// 1920×1080 (and one at 4K).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCounty, openBrowser, watchErrors, screenshot, C } from './lib/harness.mjs';

const zh = (n) => new Intl.NumberFormat('zh-CN').format(n);
let server, browser;

before(async () => {
	server = await startCounty();
	browser = await openBrowser();
});
after(async () => {
	await browser?.close();
	await server?.cleanup();
});

async function countyState() {
	return (await server.get(`/api/v1/state?entity=${C.COUNTY}`)).values;
}

/** Text of a KPI tile's big figure. */
const kpi = (page, name) => page.locator(`[data-kpi="${name}"] .kpi-v b`).textContent();

test('the wall display shows the county figures', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page(`wall.html?rotate=0`));
	const v = await countyState();
	await page.waitForFunction(([want]) => document.querySelector('[data-kpi="poor_hh"] .kpi-v b')?.textContent === want, [zh(v.poor_hh)], { timeout: 20_000 });
	assert.equal(await kpi(page, 'exited'), zh(v.exited_hh));
	assert.equal(await page.locator('#county-name').textContent(), C.COUNTY_NAME);
	// the monitored-households tile is the sum of the three categories
	assert.equal(await kpi(page, 'monitored'), zh(v.mon_unstable_hh + v.mon_marginal_hh + v.mon_sudden_hh));
	// incidence with two decimals, as the API gives it
	assert.equal(await kpi(page, 'incidence'), v.incidence_pct.toFixed(2));
	// townships ranked by incidence, highest first
	const ranked = await page.locator('[data-rank="incidence"] li b').allTextContents();
	const nums = ranked.map((s) => parseFloat(s));
	assert.ok(nums.length >= 8, `ranking has ${nums.length} rows`);
	assert.deepEqual(nums, [...nums].sort((a, b) => b - a));
	await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'live');
	// every project is counted in exactly one of on track / behind / stalled / no data
	await page.waitForFunction(() => document.querySelector('[data-p="stalled"]').textContent !== '—');
	assert.equal(await page.locator('[data-p="stalled"]').textContent(), '1');
	await page.waitForFunction(() => document.querySelectorAll('[data-chart="exits"] canvas').length > 0);
	await screenshot(page, 'wall-overview');
	assert.deepEqual(errors, []);
	await page.close();
});

test('a sample ingested through the API changes a KPI on screen', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page(`wall.html?rotate=0`));
	const before = await countyState();
	await page.waitForFunction(([want]) => document.querySelector('[data-kpi="poor_hh"] .kpi-v b')?.textContent === want, [zh(before.poor_hh)], { timeout: 20_000 });
	await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'live');
	const v = server.county.villages[0];
	const now = Math.floor(Date.now() / 1000);
	await server.post('samples', { batch_id: 'live-1', samples: [{ entity: v.code, metric: 'poor_hh', ts: now, value: v.poorHh + 250 }] });
	// the county roll-up, pushed over the WebSocket: no reload, no fixed sleep
	await page.waitForFunction(([want]) => document.querySelector('[data-kpi="poor_hh"] .kpi-v b').textContent === want,
		[zh(before.poor_hh + 250)], { timeout: 15_000 });
	assert.equal((await countyState()).poor_hh, before.poor_hh + 250);
	assert.deepEqual(errors, []);
	await page.close();
});

test('after the server is killed and restarted the wall reconnects and shows the same figures', async () => {
	const page = await browser.context.newPage();
	await page.goto(server.page(`wall.html?rotate=0&stale=3`));
	const wantPoor = zh((await countyState()).poor_hh);
	await page.waitForFunction(([want]) => document.querySelector('[data-kpi="poor_hh"] .kpi-v b')?.textContent === want, [wantPoor], { timeout: 20_000 });
	await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'live');
	const figures = async () => Promise.all(['poor_hh', 'exited', 'incidence', 'monitored', 'funds'].map((k) => kpi(page, k)));
	const shown = await figures();

	await server.kill9();
	await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'reconnecting', null, { timeout: 30_000 });
	// figures stay on screen, marked stale once the server has been away longer than ?stale=
	await page.waitForFunction(() => document.getElementById('wall').dataset.stale === 'true', null, { timeout: 30_000 });
	assert.deepEqual(await figures(), shown);
	await screenshot(page, 'wall-reconnecting');

	await server.restart();
	await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'live', null, { timeout: 60_000 });
	await page.waitForFunction(() => document.getElementById('wall').dataset.stale === 'false', null, { timeout: 30_000 });
	assert.equal(await kpi(page, 'poor_hh'), wantPoor);
	assert.deepEqual(await figures(), shown);

	// and it is really subscribed again: a new sample reaches the screen (the
	// restarted server counts seq from 0, so a stale `since` must not be trusted)
	const v = server.county.villages[1];
	const now = Math.floor(Date.now() / 1000);
	const before = (await countyState()).exited_hh;
	await server.post('samples', { batch_id: 'after-restart', samples: [{ entity: v.code, metric: 'exited_hh', ts: now, value: v.poorHh }] });
	const after = (await countyState()).exited_hh;
	assert.notEqual(after, before);
	await page.waitForFunction(([want]) => document.querySelector('[data-kpi="exited"] .kpi-v b').textContent === want, [zh(after)], { timeout: 15_000 });
	await page.close();
});

test('the playlist rotates through the views', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page(`wall.html?rotate=2`));
	const seen = new Set();
	await page.waitForFunction(() => document.getElementById('wall').dataset.current);
	for (let i = 0; i < 200 && seen.size < 4; i++) {
		seen.add(await page.evaluate(() => document.getElementById('wall').dataset.current));
		await page.waitForTimeout(100);
	}
	assert.deepEqual([...seen].sort(), ['funds', 'overview', 'projects', 'spotlight']);
	assert.deepEqual(errors, []);
	await page.close();
});

test('screenshots of every view (1920×1080) and of the overview at 4K', async () => {
	const page = await browser.context.newPage();
	for (const view of ['funds', 'projects', 'spotlight']) {
		await page.goto(server.page(`wall.html?rotate=0&views=${view}`));
		await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'live', null, { timeout: 20_000 });
		await page.waitForFunction((v) => [...document.querySelectorAll(`section[data-view="${v}"] .kpi-v b`)].every((b) => b.textContent !== ''), view);
		await page.waitForFunction((v) => document.querySelector(`section[data-view="${v}"] canvas`), view);
		if (view === 'spotlight') await page.waitForFunction(() => document.querySelectorAll('[data-rank="villages"] li b').length > 0);
		await screenshot(page, `wall-${view}`);
	}
	await page.setViewportSize({ width: 3840, height: 2160 });
	await page.goto(server.page(`wall.html?rotate=0`));
	await page.waitForFunction(() => document.querySelectorAll('[data-chart="exits"] canvas').length > 0);
	await page.waitForFunction(() => document.querySelector('[data-p="on_track"]').textContent !== '—');
	// the layout scales with the screen: 1rem = 32 px at 4K
	assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize), '32px');
	await screenshot(page, 'wall-overview-4k');
	await page.close();
});
