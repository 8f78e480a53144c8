// The English switch, and the formatting helpers run in the browser itself
// (money in fen → 元/万元, dates in Asia/Shanghai whatever the screen's zone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCounty, openBrowser, watchErrors, screenshot } from './lib/harness.mjs';

let server, browser;

before(async () => {
	server = await startCounty();
	browser = await openBrowser();
});
after(async () => {
	await browser?.close();
	await server?.cleanup();
});

test('the English switch changes labels, and the choice is kept', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page(`projects.html`));
	await page.waitForFunction(() => document.querySelectorAll('#table tbody tr[data-id]').length > 0, null, { timeout: 20_000 });
	assert.equal(await page.locator('h1').textContent(), '产业项目跟踪');
	assert.equal(await page.locator('th[data-sort="name"]').textContent(), '项目名称');
	await page.click('.lang-switch');
	assert.equal(await page.locator('h1').textContent(), 'Industry project tracker');
	assert.equal(await page.locator('th[data-sort="name"]').textContent(), 'Project');
	assert.equal(await page.locator('html').getAttribute('lang'), 'en');
	// dynamic text too: stage chips and money units
	assert.match(await page.locator('#table tbody').textContent(), /Started/);
	assert.match(await page.locator('#stats').textContent(), /¥[\d.,]+M/);
	await screenshot(page, 'projects-en');
	// kept for the next page
	await page.goto(server.page(`wall.html?rotate=0`));
	await page.waitForFunction(() => document.querySelector('[data-kpi="poor_hh"] .kpi-k').textContent === 'Poor households', null, { timeout: 20_000 });
	await page.waitForFunction(() => document.querySelector('[data-kpi="poor_hh"] .kpi-v b').textContent !== '');
	await screenshot(page, 'wall-overview-en');
	// and back
	await page.click('.lang-switch');
	assert.equal(await page.locator('[data-kpi="poor_hh"] .kpi-k').textContent(), '建档立卡贫困户');
	assert.deepEqual(errors, []);
	await page.close();
});

test('money and dates are formatted for Shanghai in a browser set to New York', async () => {
	const page = await browser.context.newPage();
	await page.goto(server.page(`index.html?lang=zh`));
	const r = await page.evaluate(async () => {
		const f = await import('/js/format.js');
		return {
			zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
			wan: f.fmtMoney(3502190000), yi: f.fmtMoney(35021900000), yuan: f.fmtMoney(12345),
			parse: [f.parseYuanToFen('1,234.5'), f.parseYuanToFen('0.07'), f.parseYuanToFen('12.345'), f.parseYuanToFen('-1')],
			date: f.cstDate(1795622400), // 2026-11-26 00:00 in Shanghai = 2026-11-25 16:00 UTC
			time: f.fmtTime(1795622400),
			dayStart: f.cstDayStart('2026-11-26'),
		};
	});
	assert.equal(r.zone, 'America/New_York');
	assert.equal(r.wan, '3,502.19 万元');
	assert.equal(r.yi, '3.50 亿元');
	assert.equal(r.yuan, '123.45 元');
	assert.deepEqual(r.parse, [{ fen: 123450 }, { fen: 7 }, { error: 'money_format' }, { error: 'money_negative' }]);
	assert.equal(r.date, '2026-11-26');
	assert.equal(r.time, '00:00:00');
	assert.equal(r.dayStart, 1795622400);
	await page.close();
});
