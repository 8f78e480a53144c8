// The project tracker and the project page: the table with SPI bands,
// filters and sorting; the milestone timeline; the report form's checks
// (the same as the API's), the API's own errors shown inline, and a good
// report reaching the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCounty, openBrowser, watchErrors, screenshot, waitFor } from './lib/harness.mjs';

let server, browser;

before(async () => {
	server = await startCounty();
	browser = await openBrowser();
});
after(async () => {
	await browser?.close();
	await server?.cleanup();
});

test('the tracker lists every project with its SPI band, filters and sorts', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page(`projects.html`));
	const api = (await server.get('/api/v1/projects')).projects;
	await page.waitForFunction((n) => document.querySelectorAll('#table tbody tr[data-id]').length === n, api.length, { timeout: 20_000 });
	// bands as the API's SPI says: green ≥ 0.95, amber 0.90–0.95, red < 0.90
	for (const p of api) {
		const spi = p.current.spi;
		const want = spi === null ? '' : spi >= 0.95 ? 'green' : spi >= 0.9 ? 'amber' : 'red';
		assert.equal(await page.locator(`tr[data-id="${p.id}"]`).getAttribute('data-band'), want, `${p.id} spi ${spi}`);
	}
	assert.ok(api.some((p) => p.current.spi < 0.9) && api.some((p) => p.current.spi >= 0.95), 'the county has red and green projects');
	// default sort: SPI ascending (worst first)
	const firstId = await page.locator('#table tbody tr[data-id]').first().getAttribute('data-id');
	const worst = [...api].filter((p) => p.current.spi !== null).sort((a, b) => a.current.spi - b.current.spi)[0];
	assert.equal(firstId, worst.id);
	await screenshot(page, 'projects');

	// filter by township: only its projects remain, and the address keeps the filter
	const town = server.county.townships.find((t) => api.some((p) => p.location.slice(0, 9) === t.code.slice(0, 9)));
	await page.selectOption('select[name="township"]', town.code);
	const inTown = api.filter((p) => p.location.slice(0, 9) === town.code.slice(0, 9)).map((p) => p.id).sort();
	await page.waitForFunction((n) => document.querySelectorAll('#table tbody tr[data-id]').length === n, inTown.length);
	assert.deepEqual((await page.locator('#table tbody tr[data-id]').evaluateAll((rows) => rows.map((r) => r.dataset.id))).sort(), inTown);
	assert.match(page.url(), new RegExp(`township=${town.code}`));
	await page.click('#reset');
	// red band filter
	await page.selectOption('select[name="band"]', 'red');
	const reds = api.filter((p) => p.current.spi !== null && p.current.spi < 0.9).length;
	await page.waitForFunction((n) => document.querySelectorAll('#table tbody tr[data-id]').length === n, reds);
	await page.click('#reset');
	// sort by investment, descending after two clicks
	await page.click('th[data-sort="invest"]');
	await page.click('th[data-sort="invest"]');
	const top = [...api].sort((a, b) => b.invest_fen - a.invest_fen)[0].id;
	await page.waitForFunction((id) => document.querySelector('#table tbody tr[data-id]').dataset.id === id, top);
	assert.deepEqual(errors, []);
	await page.close();
});

test('the project page shows milestones planned vs actual and its history', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page(`project.html?id=XM-003`));
	const p = await server.get('/api/v1/projects/XM-003');
	await page.waitForFunction((n) => document.querySelectorAll('.tl-row[data-ms]').length === n, p.milestones.length, { timeout: 20_000 });
	assert.equal(await page.locator('h1#title').textContent(), p.name);
	// a milestone planned in the past and not done is shown overdue
	const { date } = await server.get('/api/v1/time');
	const overdue = p.milestones.find((m) => !m.done_date && m.planned_date < date);
	assert.ok(overdue, 'the stalled project has an overdue milestone');
	assert.match(await page.locator(`.tl-row[data-ms="${overdue.name}"] .tl-status`).textContent(), /逾期 \d+ 天/);
	await page.waitForFunction(() => document.querySelectorAll('#chart-progress canvas').length > 0);
	await screenshot(page, 'project');
	assert.deepEqual(errors, []);
	await page.close();
});

test('the project form rejects bad input with a message, shows the API errors, and sends a good report', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	const posts = [];
	page.on('request', (r) => r.method() === 'POST' && posts.push(r.url()));
	await page.goto(server.page(`project.html?id=XM-001`));
	await page.waitForSelector('#form-progress select[name="stage"] option', { state: 'attached', timeout: 20_000 });
	const err = (form, name) => page.locator(`${form} [name="${name}"]`).locator('xpath=ancestor::*[contains(@class,"field")][1]').locator('.err').textContent();

	// checked in the page, as the API would: nothing is sent
	await page.fill('[name="token"]', server.token);
	await page.fill('#form-progress [name="progress_pct"]', '150');
	await page.fill('#form-progress [name="paid_fen"]', '-5');
	await page.fill('#form-progress [name="alloc_fen"]', '12.345');
	await page.fill('#form-progress [name="jobs"]', '2.5');
	await page.click('#form-progress button[type="submit"]');
	assert.equal(await err('#form-progress', 'progress_pct'), '须在 0 到 100 之间');
	assert.equal(await err('#form-progress', 'paid_fen'), '金额不能为负');
	assert.equal(await err('#form-progress', 'alloc_fen'), '金额格式：元，最多两位小数');
	assert.equal(await err('#form-progress', 'jobs'), '须为非负整数');
	assert.equal(await page.locator('#form-progress .form-msg').textContent(), '服务器拒绝了提交');
	// a done date after today (server's date in Asia/Shanghai) is refused too
	const today = (await server.get('/api/v1/time')).date;
	await page.click('[data-tab="milestone"]');
	const next = new Date(Date.parse(`${today}T00:00:00Z`) + 86400e3).toISOString().slice(0, 10);
	await page.locator('#form-milestone [name="done_date"]').evaluate((el, v) => { el.value = v; }, next);
	await page.evaluate(() => document.querySelector('#form-milestone [name="done_date"]').removeAttribute('max'));
	await page.click('#form-milestone button[type="submit"]');
	assert.match(await err('#form-milestone', 'done_date'), /不能晚于今天/);
	assert.deepEqual(posts, [], 'nothing was sent');

	// the API's own verdict: a revoked or wrong token
	await page.click('[data-tab="progress"]');
	await page.fill('#form-progress [name="progress_pct"]', '81.5');
	await page.fill('#form-progress [name="paid_fen"]', '1,900,000.50');
	await page.fill('#form-progress [name="alloc_fen"]', '');
	await page.fill('#form-progress [name="jobs"]', '');
	await page.fill('[name="token"]', 'fpm_wrong');
	await page.click('#form-progress button[type="submit"]');
	await page.waitForFunction(() => document.querySelector('#f-token .err').textContent !== '');
	assert.match(await page.locator('#f-token .err').textContent(), /令牌无效/);

	// a good report is stored: the API's project figures follow
	await page.fill('[name="token"]', server.token);
	await page.click('#form-progress button[type="submit"]');
	await page.waitForFunction(() => /已提交/.test(document.querySelector('#form-progress .form-msg').textContent), null, { timeout: 15_000 });
	await waitFor(async () => {
		const c = (await server.get('/api/v1/projects/XM-001')).current;
		return c.progress_pct === 81.5 && c.paid_fen === 190000050;
	}, { what: 'the report in the project figures' });
	// and the page shows it (live delta of project:XM-001)
	await page.waitForFunction(() => /81\.5%/.test(document.getElementById('stats').textContent), null, { timeout: 15_000 });
	await screenshot(page, 'project-form');
	assert.deepEqual(errors, []);
	await page.close();
});
