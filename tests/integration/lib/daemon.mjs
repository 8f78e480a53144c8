// Integration-test helper: one fpmond per test file, in its own temp data dir.
//
//   const d = await Daemon.start({ settings: { max_body_bytes: 4096 } });
//   const r = await d.post('samples', { batch_id: 'b1', samples: [...] });
//   await d.flush();                 // SIGUSR1, then poll the RRD files
//   await d.sqlite('SELECT ...');    // sqlite3 -json
//   await d.rrdtool('lastupdate', d.rrdPath('610824100201'));
//   await d.kill9(); await d.restart(); await d.stop(); await d.cleanup();
//
// No fixed ports (port=0, parsed from the "listening" line), no sleeps as
// assertions: everything that waits polls with a generous deadline.
import { spawn, execFile } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = path.resolve(ROOT, process.env.FPMON_BUILD || 'build');
export const FIXTURES = path.join(ROOT, 'tests/data/integration');
export const STEP = 300;
export const GRACE = 10;

// ---- the fixture county (tests/data/integration/*.csv) ----

export const COUNTY = '610824000000';
export const TOWNSHIPS = {
	'610824100000': ['610824100201', '610824100202'], // 东坑镇 (+ retired 610824100203)
	'610824101000': ['610824101201', '610824101202'], // 张家畔镇
	'610824200000': ['610824200201', '610824200202'], // 红墩界乡 (GB18030 file)
};
export const VILLAGES = Object.values(TOWNSHIPS).flat();
export const RETIRED_VILLAGE = '610824100203';
export const PROJECTS = {
	'XM-A': { location: '610824100201', invest_fen: 100000000, start: '2024-01-01', end: '2034-01-01', stage: 'started' },
	'XM-B': { location: '610824101000', invest_fen: 250000000, start: '2024-06-01', end: '2034-06-01', stage: 'approved' },
	'XM-C': { location: '610824200201', invest_fen: 80000000, start: '2024-03-01', end: '2029-03-01', stage: 'publicised' },
};

// ---- catalog and schemas ----

export const CATALOG = JSON.parse(readFileSync(path.join(ROOT, 'schemas/catalog.json'), 'utf8'));
export function metricIndex(key) {
	const i = CATALOG.metrics.findIndex((m) => m.key === key);
	if (i < 0) throw new Error(`no metric ${key} in catalog.json`);
	return i;
}
/** Key of the `latest` table: entity_id * 256 + metric index. */
export function latestKey(entityId, metric) {
	return entityId * 256 + (typeof metric === 'number' ? metric : metricIndex(metric));
}

export function loadSchema(name) {
	return JSON.parse(readFileSync(path.join(ROOT, 'schemas', name), 'utf8'));
}

const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description']);
const SUPPORTED = new Set(['type', 'required', 'properties', 'additionalProperties', 'items', 'minimum']);

function typeOf(v) {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
	return typeof v; // string, boolean, object
}

/**
 * A tiny JSON Schema validator for the keywords the reply schemas use: type,
 * required, properties, additionalProperties, items, minimum. Any other
 * keyword throws, so a schema growing a new keyword is noticed here.
 * Returns a list of "path: problem" strings (empty when valid).
 */
export function validate(schema, value, where = '$', out = []) {
	if (schema === true) return out;
	if (schema === false) {
		out.push(`${where}: not allowed`);
		return out;
	}
	for (const k of Object.keys(schema))
		if (!ANNOTATIONS.has(k) && !SUPPORTED.has(k))
			throw new Error(`validator: unsupported keyword '${k}' at ${where}`);
	if (schema.type !== undefined) {
		const want = Array.isArray(schema.type) ? schema.type : [schema.type];
		const have = typeOf(value);
		const ok = want.some((t) => t === have || (t === 'number' && have === 'integer'));
		if (!ok) {
			out.push(`${where}: is ${have}, not ${want.join('|')}`);
			return out;
		}
	}
	if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum)
		out.push(`${where}: ${value} < minimum ${schema.minimum}`);
	if (value && typeof value === 'object' && !Array.isArray(value)) {
		for (const r of schema.required || [])
			if (!(r in value)) out.push(`${where}: missing required '${r}'`);
		const props = schema.properties || {};
		for (const [k, v] of Object.entries(value)) {
			if (k in props) validate(props[k], v, `${where}.${k}`, out);
			else if (schema.additionalProperties !== undefined)
				validate(schema.additionalProperties, v, `${where}.${k}`, out);
		}
	}
	if (Array.isArray(value) && schema.items !== undefined)
		value.forEach((v, i) => validate(schema.items, v, `${where}[${i}]`, out));
	return out;
}

export const REPLY_SCHEMA = loadSchema('ingest-reply.json');
export const ERROR_SCHEMA = loadSchema('error-reply.json');

// ---- small utilities ----

export const nowS = () => Math.floor(Date.now() / 1000);
/** The last complete step the writer would write now (step boundary minus grace). */
export const lastCompleteStep = (t = nowS()) => Math.floor((t - GRACE) / STEP) * STEP;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value; throw `what` with the last value after `timeoutMs`. */
export async function waitFor(fn, { timeoutMs = 60_000, intervalMs = 100, what = 'condition' } = {}) {
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		last = await fn();
		if (last) return last;
		if (Date.now() > deadline)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
		await sleep(intervalMs);
	}
}

/** Calendar date (YYYY-MM-DD) in Asia/Shanghai of Unix time t, shifted by `days`. */
export function cstDate(t = nowS(), days = 0) {
	return new Date((t + 8 * 3600 + days * 86400) * 1000).toISOString().slice(0, 10);
}
/** Unix time of 00:00 Asia/Shanghai of a YYYY-MM-DD date. */
export function cstDayStart(date) {
	return Date.parse(`${date}T00:00:00Z`) / 1000 - 8 * 3600;
}

/*
 * rrd_flush_steps for a test daemon: the writer's own timer fires at step
 * k*300 + 10 s when k % N == 0. Tests drive every write with SIGUSR1 or
 * SIGTERM, so pick N >= 13 (the first write then covers the last hour and
 * more, so history of now-3600.. is charted) whose next timer write is at
 * least `horizonS` away: no unexpected cycle can make a sample "late".
 */
export function quietFlushSteps(horizonS = 1800, t = nowS()) {
	const last = Math.floor((t - GRACE) / STEP);
	for (let n = 13; n <= 48; n++) {
		const k = (Math.floor(last / n) + 1) * n;
		if (k * STEP + GRACE > t + horizonS) return n;
	}
	return 48;
}

const PATHS = {
	samples: '/api/v1/ingest/samples',
	'payment-batch': '/api/v1/ingest/payment-batch',
	payment_batches: '/api/v1/ingest/payment-batch',
	'payment-results': '/api/v1/ingest/payment-results',
	payment_results: '/api/v1/ingest/payment-results',
	progress: '/api/v1/ingest/progress',
	milestones: '/api/v1/ingest/milestones',
	monitoring: '/api/v1/ingest/monitoring',
};

// Never leave a daemon behind: not on a normal exit, nor when the test
// process itself is told to stop.
const live = new Set();
function killAll() {
	for (const d of live) if (d.child && d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'])
	process.once(sig, () => {
		killAll();
		process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]);
	});

// ---- the daemon ----

export class Daemon {
	/**
	 * options.settings: extra -s name=value (defaults: port 0, log_level info,
	 *   rrd_flush_steps from quietFlushSteps()).
	 * options.import: false to skip the fixture import.
	 * options.tokens: { name: { scope, kinds } } created besides the default "ingest" token.
	 * options.build: another build directory for fpmond and fpmctl (e.g. the fault build);
	 * options.env: extra environment variables for fpmond.
	 */
	static async start(options = {}) {
		const d = new Daemon(options);
		try {
			if (options.import !== false) await d.importFixtures();
			d.token = await d.createToken('ingest');
			for (const [name, t] of Object.entries(options.tokens || {}))
				d.tokens[name] = await d.createToken(name, t);
			await d.launch();
		} catch (e) {
			await d.cleanup();
			throw e;
		}
		return d;
	}

	constructor(options = {}) {
		this.dir = mkdtempSync(path.join(tmpdir(), 'fpmon-it-'));
		this.settings = {
			data_dir: this.dir,
			port: '0',
			log_level: 'info',
			rrd_flush_steps: String(quietFlushSteps()),
			...Object.fromEntries(Object.entries(options.settings || {}).map(([k, v]) => [k, String(v)])),
		};
		this.tokens = {};
		this.build = options.build ? path.resolve(ROOT, options.build) : BUILD;
		this.env = options.env || {};
		this.child = null;
		this.log = '';
		this.launches = 0;
		this.ids = null;
		live.add(this);
	}

	get dbPath() {
		return path.join(this.dir, 'fpmon.db');
	}

	// -- tools --

	async fpmctl(...args) {
		const { stdout } = await execFileP(path.join(this.build, 'fpmctl'), ['-s', `data_dir=${this.dir}`, ...args], {
			timeout: 60_000,
		});
		return stdout;
	}

	async importFixtures() {
		this.importReports = [
			await this.fpmctl('import', 'regions', path.join(FIXTURES, 'regions-utf8.csv')),
			await this.fpmctl('import', 'regions', path.join(FIXTURES, 'regions-gb18030.csv')),
			await this.fpmctl('import', 'projects', path.join(FIXTURES, 'projects-utf8.csv')),
		];
	}

	async createToken(name, { scope, kinds } = {}) {
		const args = ['token', 'create', name];
		if (scope) args.push('--scope', scope);
		if (kinds) args.push('--kinds', Array.isArray(kinds) ? kinds.join(',') : kinds);
		const token = (await this.fpmctl(...args)).trim();
		if (!/^fpm_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(`fpmctl token create printed '${token}'`);
		return token;
	}

	/** sqlite3 -json; returns the rows (an empty array for none). */
	async sqlite(sql) {
		const { stdout } = await execFileP('sqlite3', ['-json', '-bail', '-cmd', '.timeout 10000', this.dbPath, sql], {
			timeout: 60_000,
			maxBuffer: 256 << 20,
		});
		const text = stdout.trim();
		if (!text) return [];
		// several statements print several arrays: keep the last
		const parts = text.split(/\]\s*\n\s*\[/);
		return JSON.parse(parts.length > 1 ? `[${parts[parts.length - 1]}` : text);
	}

	async scalar(sql) {
		const rows = await this.sqlite(sql);
		return rows.length ? Object.values(rows[0])[0] : undefined;
	}

	async rrdtool(...args) {
		const { stdout } = await execFileP('rrdtool', args, { timeout: 60_000, maxBuffer: 64 << 20 });
		return stdout;
	}

	/** entity key -> entity id */
	async entityIds({ refresh = false } = {}) {
		if (!this.ids || refresh) {
			const rows = await this.sqlite('SELECT id, key FROM entity');
			this.ids = Object.fromEntries(rows.map((r) => [r.key, r.id]));
		}
		return this.ids;
	}
	async entityId(key) {
		const id = (await this.entityIds())[key];
		if (id === undefined) throw new Error(`no entity ${key}`);
		return id;
	}

	/** <data_dir>/rrd/... of a village, township/county or project. */
	rrdPath(key) {
		if (!/^[0-9]{12}$/.test(key)) return path.join(this.dir, 'rrd/project', `${key}.rrd`);
		const isVillage = key.slice(9) !== '000';
		return path.join(this.dir, 'rrd', isVillage ? 'village' : 'region', key.slice(0, 6), `${key}.rrd`);
	}

	allRrdFiles() {
		const out = [];
		const walk = (dir) => {
			if (!existsSync(dir)) return;
			for (const e of readdirSync(dir, { withFileTypes: true })) {
				const p = path.join(dir, e.name);
				if (e.isDirectory()) walk(p);
				else if (e.name.endsWith('.rrd')) out.push(p);
			}
		};
		walk(path.join(this.dir, 'rrd'));
		return out.sort();
	}

	/** rrdtool lastupdate: { ts, values: { ds: number|null } } (null = U). */
	async lastupdate(file) {
		const text = await this.rrdtool('lastupdate', file);
		const lines = text.split('\n').filter((l) => l.trim());
		const names = lines[0].trim().split(/\s+/);
		const m = /^(\d+):\s*(.*)$/.exec(lines[lines.length - 1].trim());
		const vals = m[2].trim().split(/\s+/);
		const values = {};
		names.forEach((n, i) => (values[n] = vals[i] === 'U' ? null : Number(vals[i])));
		return { ts: Number(m[1]), values };
	}

	/** rrdtool fetch FILE LAST -s start -e end: [{ ts, values: { ds: number|NaN } }]. */
	async fetchRows(file, start, end) {
		const text = await this.rrdtool('fetch', file, 'LAST', '-s', String(start), '-e', String(end));
		const lines = text.split('\n').filter((l) => l.trim());
		const names = lines[0].trim().split(/\s+/);
		const rows = [];
		for (const line of lines.slice(1)) {
			const m = /^(\d+):\s*(.*)$/.exec(line.trim());
			if (!m) continue;
			const vals = m[2].trim().split(/\s+/).map((v) => (/nan/i.test(v) ? NaN : Number(v)));
			const values = {};
			names.forEach((n, i) => (values[n] = vals[i]));
			rows.push({ ts: Number(m[1]), values });
		}
		return rows;
	}

	// -- process --

	async launch() {
		const args = Object.entries(this.settings).flatMap(([k, v]) => ['-s', `${k}=${v}`]);
		// FPMOND_WRAPPER runs the daemon under a tool, e.g. valgrind (tests/run.sh VALGRIND=1).
		const wrapper = (process.env.FPMOND_WRAPPER || '').split(' ').filter(Boolean);
		const argv = [...wrapper, path.join(this.build, 'fpmond'), ...args];
		const child = spawn(argv[0], argv.slice(1), {
			stdio: ['ignore', 'ignore', 'pipe'],
			env: { ...process.env, ...this.env },
		});
		this.child = child;
		this.launches++;
		this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
		const header = `---- launch ${this.launches} ----\n`;
		this.log += header;
		let listening;
		const portP = new Promise((resolve, reject) => {
			let buf = '';
			child.stderr.setEncoding('utf8');
			child.stderr.on('data', (chunk) => {
				this.log += chunk;
				buf += chunk;
				const m = /fpmond listening on https?:\/\/127\.0\.0\.1:(\d+)\//.exec(buf);
				if (m && !listening) {
					listening = true;
					resolve(Number(m[1]));
				}
			});
			child.on('error', reject);
			this.exit.then(({ code, signal }) => {
				if (!listening) reject(new Error(`fpmond exited (code ${code}, signal ${signal}) before listening:\n${this.log}`));
			});
		});
		let timer;
		const timeout = new Promise((_, reject) => {
			timer = setTimeout(() => reject(new Error(`fpmond did not print its listening line in 60 s:\n${this.log}`)), 60_000);
		});
		try {
			this.port = await Promise.race([portP, timeout]);
		} finally {
			clearTimeout(timer);
		}
		this.base = `http://127.0.0.1:${this.port}`;
		return this.port;
	}

	get pid() {
		return this.child?.pid;
	}
	get running() {
		return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
	}

	/** SIGTERM; resolves with the exit code, rejects unless it is 0 (pass {expectZero:false} to only wait). */
	async stop({ expectZero = true, timeoutMs = 120_000 } = {}) {
		if (!this.running) return this.lastExit;
		this.child.kill('SIGTERM');
		let res;
		try {
			res = await this.waitExit(timeoutMs);
		} catch (e) {
			await this.kill9();
			throw new Error(`fpmond ignored SIGTERM for ${timeoutMs} ms (killed with SIGKILL):\n${this.log}`);
		}
		if (expectZero && (res.code !== 0 || res.signal))
			throw new Error(`fpmond exited with code ${res.code} signal ${res.signal} after SIGTERM:\n${this.log}`);
		return res;
	}

	async kill9() {
		if (!this.running) return this.lastExit;
		this.child.kill('SIGKILL');
		return this.waitExit(60_000);
	}

	async waitExit(timeoutMs) {
		let timer;
		const res = await Promise.race([
			this.exit,
			new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error(`fpmond did not exit within ${timeoutMs} ms`)), timeoutMs);
			}),
		]);
		clearTimeout(timer);
		this.lastExit = res;
		return res;
	}

	async restart() {
		if (this.running) await this.stop();
		return this.launch();
	}

	async cleanup() {
		if (this.running) {
			this.child.kill('SIGKILL');
			await this.waitExit(60_000).catch(() => {});
		}
		live.delete(this);
		// Under valgrind every report line starts with ==PID==; -q leaves only errors.
		const toolReport = process.env.FPMOND_WRAPPER ? this.log.split('\n').filter((l) => /^==\d+== /.test(l)) : [];
		if (process.env.FPMON_KEEP_TMP) {
			writeFileSync(path.join(this.dir, 'fpmond.log'), this.log);
			console.error(`# kept ${this.dir}`);
		} else {
			rmSync(this.dir, { recursive: true, force: true });
		}
		if (toolReport.length) throw new Error(`${process.env.FPMOND_WRAPPER} reported:\n${toolReport.slice(0, 80).join('\n')}`);
	}

	// -- HTTP --

	/**
	 * POST an ingest body (object -> JSON, string/Buffer as is) to kind
	 * (samples, payment-batch, payment-results, progress, milestones).
	 * token: a token string, null for no Authorization header. Returns
	 * { status, body (parsed JSON or null), text, headers }.
	 */
	async post(kind, body, token = this.token, { headers = {}, timeoutMs = 60_000, path: urlPath, validate: check = true } = {}) {
		const p = urlPath || PATHS[kind];
		if (!p) throw new Error(`unknown ingest kind ${kind}`);
		const h = { 'content-type': 'application/json', ...headers };
		if (token !== null && token !== undefined) h.authorization = `Bearer ${token}`;
		const payload = typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array ? body : JSON.stringify(body);
		const res = await fetch(this.base + p, {
			method: 'POST',
			headers: h,
			body: payload,
			signal: AbortSignal.timeout(timeoutMs),
		});
		const text = await res.text();
		let parsed = null;
		try {
			parsed = JSON.parse(text);
		} catch {
			parsed = null;
		}
		// Every ingest reply is checked: a verdict (2xx, 409, 422) against
		// ingest-reply.json, anything else against error-reply.json.
		if (check) {
			const verdict = (res.status >= 200 && res.status < 300) || res.status === 409 || res.status === 422;
			const schema = verdict ? REPLY_SCHEMA : ERROR_SCHEMA;
			const errs = parsed === null ? ['not JSON'] : validate(schema, parsed);
			if (errs.length)
				throw new Error(
					`${p} ${res.status} reply does not match ${verdict ? 'ingest-reply.json' : 'error-reply.json'}: ${errs.join('; ')}\n${text.slice(0, 2000)}`,
				);
		}
		return { status: res.status, body: parsed, text, headers: res.headers };
	}

	async get(urlPath) {
		const res = await fetch(this.base + urlPath, { signal: AbortSignal.timeout(60_000) });
		return { status: res.status, text: await res.text(), headers: res.headers };
	}

	/**
	 * Ask the writer to write every due row (SIGUSR1) and wait until each
	 * file (default: one file per registry entity) shows a last update at or
	 * after the last complete step as of the signal. Returns the files' last
	 * update (later than predicted if a step boundary passed meanwhile).
	 */
	async flush({ files, timeoutMs = 90_000 } = {}) {
		const due = lastCompleteStep();
		if (!files) {
			const ids = await this.entityIds();
			files = Object.keys(ids).map((k) => this.rrdPath(k));
		}
		// The cycle records in meta 'rrd_applied_sample' the newest sample id
		// that is in a row (held back by the oldest sample still pending, i.e.
		// with a time after the last complete step). Waiting for it as well
		// means a flush with no new rows due still waits for its cycle.
		const [{ maxId, minPending }] = await this.sqlite(
			`SELECT coalesce(max(id), 0) AS maxId, (SELECT min(id) FROM sample WHERE ts > ${due}) AS minPending FROM sample`,
		);
		const target = minPending ? Math.min(maxId, minPending - 1) : maxId;
		process.kill(this.pid, 'SIGUSR1');
		return waitFor(
			async () => {
				const applied = await this.scalar(`SELECT value FROM meta WHERE key = 'rrd_applied_sample'`);
				if (applied < target) return false;
				let last = 0;
				for (const f of files) {
					if (!existsSync(f)) return false;
					const { ts } = await this.lastupdate(f).catch(() => ({ ts: 0 }));
					if (ts < due) return false;
					last = Math.max(last, ts);
				}
				return last || due;
			},
			{ timeoutMs, intervalMs: 200, what: `RRD files written up to ${due} (and samples up to id ${target}) after SIGUSR1` },
		);
	}
}

// ---- raw HTTP/1.1 on one connection ----

/** "POST path" request text with a Content-Length body. */
export function rawPost(urlPath, body, token) {
	return (
		`POST ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}` +
		`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
	);
}
export const rawGet = (urlPath) => `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

/** Split a byte stream into complete responses (all replies here carry Content-Length). */
function parseResponses(buf) {
	const out = [];
	let rest = buf;
	for (;;) {
		const end = rest.indexOf('\r\n\r\n');
		if (end < 0) break;
		const head = rest.subarray(0, end).toString('latin1');
		const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
		const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
		if (!m || rest.length < end + 4 + len) break;
		out.push({ status: Number(m[1]), head, text: rest.subarray(end + 4, end + 4 + len).toString('utf8') });
		rest = rest.subarray(end + 4 + len);
	}
	return out;
}

/**
 * Send requests on ONE keep-alive connection. pipelined=false: each request is
 * written after the previous response arrived; true: all in one write. Resolves
 * with { responses, complete, closed }: when all replies came, when the server
 * closed the connection (closed: true), or when the deadline passed.
 */
export function rawExchange(port, requests, { pipelined = false, timeoutMs = 30_000 } = {}) {
	return new Promise((resolve, reject) => {
		const sock = net.connect(port, '127.0.0.1');
		let buf = Buffer.alloc(0);
		let sent = 0;
		let done = false;
		const finish = (complete, closed = false) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			sock.destroy();
			resolve({ responses: parseResponses(buf), complete, closed });
		};
		const timer = setTimeout(() => finish(false), timeoutMs);
		sock.on('error', (e) => (done || e.code === 'ECONNRESET' || e.code === 'EPIPE' ? null : reject(e)));
		sock.on('close', () => finish(parseResponses(buf).length === requests.length, true));
		sock.on('data', (c) => {
			buf = Buffer.concat([buf, c]);
			const got = parseResponses(buf).length;
			if (got === requests.length) return finish(true);
			if (!pipelined && got === sent && sent < requests.length) sock.write(requests[sent++]);
		});
		sock.on('connect', () => {
			if (pipelined) {
				sent = requests.length;
				sock.write(requests.join(''));
			} else {
				sock.write(requests[sent++]);
			}
		});
	});
}

// ---- assertions shared by the test files ----

/** Throws unless `reply` is a valid ingest verdict; returns it. */
export function assertVerdict(reply) {
	const errs = validate(REPLY_SCHEMA, reply);
	if (errs.length) throw new Error(`reply does not match ingest-reply.json: ${errs.join('; ')}\n${JSON.stringify(reply)}`);
	return reply;
}
export function assertErrorReply(reply) {
	const errs = validate(ERROR_SCHEMA, reply);
	if (errs.length) throw new Error(`reply does not match error-reply.json: ${errs.join('; ')}\n${JSON.stringify(reply)}`);
	return reply;
}
