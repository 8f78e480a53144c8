// Village and township pages: every metric of the region over time, the
// subdivisions with links (the drill-down), the range picker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCounty, openBrowser, watchErrors, screenshot, C } from './lib/harness.mjs';

let server, browser;

before(async () => {
	server = await startCounty();
	browser = await openBrowser();
});
after(async () => {
	await browser?.close();
	await server?.cleanup();
});

test('a township page charts every metric and drills down to its villages', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	const town = server.county.townships[0];
	await page.goto(server.page(`region.html?code=${town.code}`));
	const catalog = (await server.get('/api/v1/catalog')).metrics;
	const regionMetrics = catalog.filter((m) => m.entity === 'village' || m.entity === 'region');
	await page.waitForFunction((n) => document.querySelectorAll('.m-card canvas').length === n, regionMetrics.length, { timeout: 20_000 });
	assert.equal(await page.locator('h1#title').textContent(), town.name);
	const state = (await server.get(`/api/v1/state?entity=${town.code}`)).values;
	const poor = await page.locator('.m-card[data-metric="poor_hh"] .m-value').textContent();
	assert.equal(poor.replace(/[^\d]/g, ''), String(state.poor_hh));
	// its villages, each a link
	const villages = server.county.villages.filter((v) => v.township === town.code);
	await page.waitForFunction((n) => document.querySelectorAll('#children tbody a').length === n, villages.length, { timeout: 15_000 });
	await screenshot(page, 'region-township');
	// drill down to the first village, range picker to "week"
	await page.click(`#children a:text("${villages[0].name}")`);
	await page.waitForURL(/code=\d{12}/);
	assert.match(page.url(), new RegExp(`code=${villages[0].code}`));
	const villageMetrics = catalog.filter((m) => m.entity === 'village');
	await page.waitForFunction((n) => document.querySelectorAll('.m-card canvas').length === n, villageMetrics.length, { timeout: 20_000 });
	assert.match(await page.locator('#crumbs').textContent(), new RegExp(town.name));
	await page.click('[data-range="week"]');
	await page.waitForFunction(() => document.querySelector('[data-range="week"]').getAttribute('aria-pressed') === 'true');
	assert.match(page.url(), /range=week/);
	assert.deepEqual(errors, []);
	await page.close();
});

test('the county page lists its townships', async () => {
	const page = await browser.context.newPage();
	await page.goto(server.page(`region.html`));
	await page.waitForFunction((n) => document.querySelectorAll('#children tbody a').length === n, server.county.townships.length, { timeout: 20_000 });
	assert.equal(await page.locator('h1#title').textContent(), C.COUNTY_NAME);
	await page.waitForFunction(() => document.querySelectorAll('.m-card canvas').length > 20);
	await screenshot(page, 'region-county');
	await page.close();
});
