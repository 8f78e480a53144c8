// Browser-test harness: one fpmond per test file (own temp data dir, port 0
// parsed from its "listening" line, same port again after a restart), the
// test county imported with fpmctl and fed through the ingest API, and
// Debian's chromium driven by playwright-core (never a downloaded browser).
//
// No fixed sleeps as assertions: waits poll with generous deadlines.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import * as C from './county.mjs';

const execFileP = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = path.resolve(ROOT, process.env.FPMON_BUILD || 'build');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
export const SCREENSHOTS = path.join(ROOT, 'docs/screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export { C };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn until truthy; throw with the last value after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {}) {
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			last = await fn();
		} catch (e) {
			last = e.message;
		}
		if (last && !(typeof last === 'string' && last.startsWith('Error'))) return last;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
		await sleep(intervalMs);
	}
}

const running = new Set();
process.on('exit', () => {
	for (const s of running) if (s.child && s.child.exitCode === null) s.child.kill('SIGKILL');
});

export class Server {
	constructor(settings = {}, port = 0) {
		this.dir = mkdtempSync(path.join(tmpdir(), 'fpmon-web-'));
		this.port = port;
		this.settings = { log_level: 'info', web_dir: path.join(ROOT, 'web'), rrd_flush_steps: '288', ...settings };
		this.log = '';
		running.add(this);
	}

	async fpmctl(...args) {
		const { stdout } = await execFileP(path.join(BUILD, 'fpmctl'), ['-s', `data_dir=${this.dir}`, ...args], { timeout: 60_000 });
		return stdout;
	}

	/** fpmctl with text on its standard input (passwords). */
	fpmctlInput(input, ...args) {
		return new Promise((resolve, reject) => {
			const child = spawn(path.join(BUILD, 'fpmctl'), ['-s', `data_dir=${this.dir}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
			let out = '', err = '';
			child.stdout.on('data', (d) => (out += d));
			child.stderr.on('data', (d) => (err += d));
			child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`fpmctl ${args.join(' ')}: ${code}\n${err}`))));
			child.stdin.end(input);
		});
	}

	/** Address of a page of web/ with the display token (a wall screen's address). */
	page(p, { token = true } = {}) {
		const url = new URL(p, `${this.base}/`);
		if (token && this.display) url.searchParams.set('token', this.display);
		return url.href;
	}

	/** Start fpmond; the first start picks a free port, later ones reuse it. */
	async launch() {
		const args = ['-s', `data_dir=${this.dir}`, '-s', `port=${this.port}`];
		for (const [k, v] of Object.entries(this.settings)) args.push('-s', `${k}=${v}`);
		const child = spawn(path.join(BUILD, 'fpmond'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
		this.child = child;
		this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
		this.port = await new Promise((resolve, reject) => {
			let buf = '';
			const timer = setTimeout(() => reject(new Error(`fpmond did not listen in 60 s:\n${this.log}`)), 60_000);
			child.stderr.setEncoding('utf8');
			child.stderr.on('data', (chunk) => {
				this.log += chunk;
				buf += chunk;
				const m = /fpmond listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(buf);
				if (m) {
					clearTimeout(timer);
					resolve(Number(m[1]));
				}
			});
			this.exited.then(({ code, signal }) => {
				clearTimeout(timer);
				reject(new Error(`fpmond exited (code ${code}, signal ${signal}) before listening:\n${this.log}`));
			});
		});
		this.base = `http://127.0.0.1:${this.port}`;
		return this.port;
	}

	async kill9() {
		if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
			this.child.kill('SIGKILL');
			await this.exited;
		}
	}

	/** Restart on the same port (retrying while the old socket lingers). */
	async restart() {
		for (let i = 0; ; i++) {
			try {
				return await this.launch();
			} catch (e) {
				if (i >= 20) throw e;
				await sleep(250);
			}
		}
	}

	async stop() {
		if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
			this.child.kill('SIGTERM');
			const t = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
			await this.exited;
			clearTimeout(t);
		}
	}

	async cleanup() {
		await this.stop();
		running.delete(this);
		if (!process.env.KEEP_DATA) rmSync(this.dir, { recursive: true, force: true });
	}

	async get(p) {
		const res = await fetch(this.base + p, { headers: this.display ? { Authorization: `Bearer ${this.display}` } : {} });
		if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
		return res.json();
	}

	async post(kind, body, token = this.token) {
		const res = await fetch(`${this.base}/api/v1/ingest/${kind}`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
			body: JSON.stringify(body),
		});
		const json = await res.json().catch(() => null);
		if (!res.ok || (json && json.rejected)) throw new Error(`POST ${kind}: ${res.status} ${JSON.stringify(json).slice(0, 800)}`);
		return json;
	}

	/** Ask the writer for every due RRD row now. */
	flush() {
		this.child.kill('SIGUSR1');
	}
}

/**
 * A daemon with the test county: regions and projects imported, a token,
 * milestones, then four hours of village figures (every 10 min) and
 * project reports, a payment batch, and the RRD rows written.
 *
 * Only a few hours before the writer's first write can be charted (a new
 * RRD file starts at most 48 steps back), so the history is short. Older
 * progress reports still count for days_silent, read from the database.
 */
export async function startCounty({ settings = {}, port = 0 } = {}) {
	const s = new Server(settings, port);
	try {
		const county = C.buildCounty();
		s.county = county;
		const now = Math.floor(Date.now() / 1000);
		const today = new Date((now + 8 * 3600) * 1000).toISOString().slice(0, 10);
		const csv = C.writeCsv(s.dir, county, today);
		await s.fpmctl('import', 'regions', csv.regions);
		await s.fpmctl('import', 'projects', csv.projects);
		s.token = (await s.fpmctl('token', 'create', 'feed')).trim();
		// a wall screen's display token (read-only) and an office account
		s.display = (await s.fpmctl('display', 'create', 'wall-test', '--scope', C.COUNTY)).trim().split(/\s+/).find((w) => w.startsWith('fpm_'));
		s.user = { name: 'xiaowang', password: 'fupin-office-2026' };
		await s.fpmctlInput(`${s.user.password}\n`, 'user', 'add', s.user.name, '--role', 'operator', '--full-name', '王干事');
		await s.launch();
		await s.post('milestones', { batch_id: 'ms-plan', milestones: C.milestoneItems(county, today) });
		// the last report of each project, long ago for the silent and stalled ones
		const first = county.projects.map((p) => C.progressReports(county, now - Math.max(2, p.silentDays) * 86400, -Math.max(2, p.silentDays), today)
			.find((r) => r.project === p.id));
		await s.post('progress', { batch_id: 'prog-old', reports: first });
		// hours of history, oldest first, before the writer's first write
		const H = 4;
		const samples = [];
		for (let m = H * 60; m >= 0; m -= 10) samples.push(...C.villageSamples(county, now - m * 60 - 30, 1 - (m / 60 / H) * 0.15));
		for (let i = 0; i < samples.length; i += 20000)
			await s.post('samples', { batch_id: `hist-${i}`, samples: samples.slice(i, i + 20000) });
		for (let m = H * 60; m >= 0; m -= 30) {
			const reports = C.progressReports(county, now - m * 60 - 60, -m / 60 / 24 * 10, today)
				.filter((r) => county.projects.find((x) => x.id === r.project).silentDays < 2);
			await s.post('progress', { batch_id: `prog-${m}`, reports });
		}
		const pay = C.paymentBatch(county, now - 6 * 3600, 'a');
		await s.post('payment-batch', pay.batch);
		await s.post('payment-results', pay.results);
		s.flush();
		const v = county.villages[0].code;
		await waitFor(async () => {
			const h = await s.get(`/api/v1/history?entity=${v}&metrics=poor_hh&start=${now - 86400}&end=${now}`);
			return h.values.poor_hh.filter((x) => x !== null).length > 2;
		}, { timeoutMs: 120_000, intervalMs: 500, what: 'history in the RRD files' });
		return s;
	} catch (e) {
		await s.cleanup();
		throw e;
	}
}

/** A test file's hooks: a county server and a browser, in the returned object once before() ran. */
export function countyAndBrowser(options) {
	const env = {};
	before(async () => {
		env.server = await startCounty(options);
		env.browser = await openBrowser();
	});
	after(async () => {
		await env.browser?.close();
		await env.server?.cleanup();
	});
	return env;
}

export const CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's chromium with a fresh user-data-dir; returns { context, close }. */
export async function openBrowser({ width = 1920, height = 1080, locale = 'zh-CN' } = {}) {
	if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
	const profile = mkdtempSync(path.join(tmpdir(), 'fpmon-chrome-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: CHROME_ARGS,
		viewport: { width, height },
		locale,
		timezoneId: 'America/New_York', // deliberately not Shanghai: the pages must not use the screen's zone
		reducedMotion: 'reduce', // no transitions half-way in screenshots
	});
	return {
		context,
		async close() {
			await context.close().catch(() => {});
			rmSync(profile, { recursive: true, force: true });
		},
	};
}

/** Collect console errors and failed page scripts of a page. */
export function watchErrors(page) {
	const errors = [];
	page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error' && !/WebSocket|Failed to load resource|ERR_CONNECTION_REFUSED/.test(m.text())) errors.push(`console: ${m.text()}`);
	});
	return errors;
}

/**
 * Screenshot to tests/artifacts/<name>.png (every run), and to
 * docs/screenshots/<name>.png when UPDATE_SCREENSHOTS=1 (so a test run leaves
 * the tree clean; refresh the documented ones on purpose).
 */
export async function screenshot(page, name) {
	mkdirSync(ARTIFACTS, { recursive: true });
	const file = path.join(ARTIFACTS, `${name}.png`);
	await page.screenshot({ path: file });
	if (process.env.UPDATE_SCREENSHOTS === '1') {
		mkdirSync(SCREENSHOTS, { recursive: true });
		copyFileSync(file, path.join(SCREENSHOTS, `${name}.png`));
	}
	return file;
}
