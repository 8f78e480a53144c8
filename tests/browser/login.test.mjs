// Office pages and credentials: without one, a page sends the person to the
// login page and back after; the header shows who is signed in; signing out
// ends the session. A wall screen never falls back to the login page.
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

test('an office page without a session goes to the login page and comes back after it', async () => {
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	await page.goto(server.page('projects.html?band=red', { token: false }));
	await page.waitForURL(/login\.html\?next=/, { timeout: 20_000 });
	await page.waitForFunction(() => document.querySelector('[data-i18n="login_submit"]').textContent === '登录');
	await screenshot(page, 'login');
	await page.fill('[name="name"]', server.user.name);
	await page.fill('[name="password"]', 'not-the-password');
	await page.click('button[type="submit"]');
	await page.waitForFunction(() => /错误/.test(document.querySelector('.form-msg').textContent));
	await page.fill('[name="password"]', server.user.password);
	await page.click('button[type="submit"]');
	await page.waitForURL(/projects\.html\?band=red$/, { timeout: 20_000 });
	await page.waitForFunction(() => document.querySelectorAll('#table tbody tr[data-id]').length > 0, null, { timeout: 20_000 });
	assert.equal(await page.locator('select[name="band"]').inputValue(), 'red');
	await page.waitForFunction(() => !document.querySelector('.who').hidden);
	assert.equal(await page.locator('.who-name').textContent(), server.user.name);
	// the live feed works with the session cookie too
	await page.waitForFunction(() => document.querySelector('.conn').dataset.state === 'live', null, { timeout: 20_000 });
	// signing out ends the session: the next page asks again
	await page.click('.logout');
	await page.waitForURL(/login\.html/);
	await page.goto(server.page('region.html', { token: false }));
	await page.waitForURL(/login\.html\?next=/, { timeout: 20_000 });
	assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
	await page.close();
});

test('a wall screen without a valid token says so and stays on the wall', async () => {
	const page = await browser.context.newPage();
	await page.goto(`${server.base}/wall.html?token=fpm_revoked_or_wrong`);
	await page.waitForFunction(() => /令牌/.test(document.getElementById('stale-note').textContent), null, { timeout: 20_000 });
	assert.match(page.url(), /wall\.html/);
	await page.close();
});
