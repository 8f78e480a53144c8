// Soak: the demo county fed by build/fpmsim (its story at --speed 600 plus
// --rate samples/s) while 1,000 wall screens hold the live WebSocket open
// (5% slow readers, 5% reconnecting with since + epoch), for SOAK_SECONDS.
// Every few seconds: the server's RSS, open descriptors and CPU, frames the
// crowd received, and the push latency of a probe sample (ingest POST to the
// delta reaching the normal clients). Fails when RSS grows after warm-up
// beyond max(16 MiB, 10%), when descriptors do not return to their baseline
// after the clients leave, when a normal client misses a delta without a
// snapshot, or when the server or the simulator fail.
//
//   node --test tests/soak/                      (120 s; CI)
//   SOAK_SECONDS=3600 node --test tests/soak/    (an hour; figures to SOAK_OUT)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Daemon, ROOT, BUILD, nowS, sleep, waitFor } from '../integration/lib/daemon.mjs';
import { rng } from '../browser/lib/county.mjs';
import { Crowd } from './lib/crowd.mjs';
import { procSample, nofileLimit, percentile, table } from './lib/proc.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS || 120);
const CLIENTS = Number(process.env.SOAK_CLIENTS || 1000);
const EVERY_S = Number(process.env.SOAK_SAMPLE_S || 5);
const RATE = Number(process.env.SOAK_RATE || 100);
const SEED = Number(process.env.SOAK_SEED || Math.floor(Math.random() * 2 ** 31));
const OUT = process.env.SOAK_OUT || path.join(ROOT, 'tests/artifacts', `soak-${SECONDS}s.txt`);
const WARMUP_S = Math.max(20, Math.round(SECONDS * 0.2));
const RSS_BOUND_MIB = 16;
const RSS_BOUND_PCT = 10;
const FD_SLACK = 2; // the test's own idle keep-alive connections
const PROBE_MS = 2000;
const METRIC = 'dropouts'; // a figure the simulator sends rarely: the probe's value is unmistakable

let d;
let sim;
let crowd;
before(async () => {
	d = await Daemon.start({ import: false, settings: { demo: 1, max_connections: CLIENTS + 500, web_dir: path.join(ROOT, 'web') } });
});
after(async () => {
	if (sim && sim.exitCode === null) sim.kill('SIGTERM');
	await crowd?.close();
	if (d) {
		await d.stop().catch(() => {});
		await d.cleanup();
	}
});

/** build/fpmsim for `seconds` against the daemon; resolves with its exit code and output. */
function runSim(seconds) {
	const args = ['--url', d.base, '--token-file', path.join(d.dir, 'demo-token'), '--speed', '600', '--rate', String(RATE), '--duration', String(seconds)];
	sim = spawn(path.join(BUILD, 'fpmsim'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '';
	sim.stdout.on('data', (c) => (out += c));
	sim.stderr.on('data', (c) => (out += c));
	return new Promise((resolve) => sim.on('exit', (code) => resolve({ code, out })));
}

test(`soak: ${CLIENTS} WebSocket clients and fpmsim for ${SECONDS} s`, { timeout: (SECONDS + 600) * 1000 }, async (t) => {
	const rand = rng(SEED);
	const county = /county=(\d{12})/.exec(readFileSync(path.join(d.dir, 'demo-county'), 'utf8'))[1];
	const display = readFileSync(path.join(d.dir, 'display-token'), 'utf8').trim();
	const village = await d.scalar(`SELECT code FROM region WHERE parent LIKE '${county.slice(0, 6)}%' AND substr(code, 10) != '000' ORDER BY code LIMIT 1`);
	const township = `${village.slice(0, 9)}000`;
	const topics = [`region:${county}`, `region:${township}`, 'alerts'];
	const probe = { topic: `region:${township}`, entity: village, metric: METRIC };
	const townships = (await d.sqlite(`SELECT code FROM region WHERE parent = '${county}' ORDER BY code LIMIT 14`)).map((r) => `region:${r.code}`);
	const slowTopics = [...new Set([...topics, ...townships])].slice(0, 16);
	let probeN = 0;
	const sendProbe = async () => {
		const value = 900000 + ++probeN;
		crowd.probes.set(value, performance.now());
		const r = await d.post('samples', { batch_id: `probe-${probeN}`, samples: [{ entity: village, metric: METRIC, ts: nowS(), value }] });
		assert.equal(r.status, 200, r.text);
	};

	// Baseline in the same run: one client, no load.
	crowd = new Crowd({ port: d.port, token: display, topics, probe, rand });
	await crowd.open(1);
	await waitFor(() => crowd.clients[0].topics.size === topics.length, { what: 'the first snapshots' });
	const base = [];
	for (let i = 0; i < 10; i++) {
		await sendProbe();
		await waitFor(() => crowd.latencies.length, { what: 'a probe delta (baseline)' });
		base.push(...crowd.take());
	}
	await crowd.close();
	await sleep(5000); // let the baseline's keep-alive connections go idle and close
	const pid = d.pid;
	const at0 = procSample(pid);
	t.diagnostic(`server pid ${pid}, open-files limit ${nofileLimit(pid)}, RSS ${(at0.rssKiB / 1024).toFixed(1)} MiB, ${at0.fds} fds before load; seed ${SEED}`);
	t.diagnostic(`baseline push latency, 1 client, no load: p50 ${percentile(base, 50).toFixed(1)} ms, max ${Math.max(...base).toFixed(1)} ms`);

	// The run: simulator, crowd, probes, samples.
	const simDone = runSim(SECONDS);
	const started = Date.now();
	crowd = new Crowd({ port: d.port, token: display, topics, slowTopics, probe, rand });
	await crowd.open(CLIENTS);
	t.diagnostic(`${crowd.openCount()} of ${CLIENTS} clients connected in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	const probeTimer = setInterval(() => sendProbe().catch(() => {}), PROBE_MS);
	const samples = [];
	let prev = { ...at0, frames: 0, at: Date.now() };
	const sampleNow = () => {
		const p = procSample(pid);
		const now = Date.now();
		const lat = crowd.take();
		const row = {
			t_s: Math.round((now - started) / 1000),
			rss_MiB: p.rssKiB / 1024,
			fds: p.fds,
			cpu_pct: (100 * (p.cpuS - prev.cpuS)) / ((now - prev.at) / 1000),
			clients: crowd.openCount(),
			frames_s: (crowd.counts.frames - prev.frames) / ((now - prev.at) / 1000),
			probes: lat.length,
			p50_ms: percentile(lat, 50),
			p99_ms: percentile(lat, 99),
			max_ms: lat.length ? Math.max(...lat) : NaN,
			closed: crowd.counts.serverCloses,
			resyncs: crowd.counts.resyncs,
		};
		samples.push(row);
		prev = { ...p, frames: crowd.counts.frames, at: now };
	};
	while (Date.now() - started < SECONDS * 1000) {
		await sleep(EVERY_S * 1000);
		assert.ok(d.running, `the server died:\n${d.log.slice(-4000)}`);
		sampleNow();
	}
	clearInterval(probeTimer);
	const simResult = await simDone;
	// the last deltas reach every normal and reconnecting client
	crowd.quiesce();
	await waitFor(() => crowd.caughtUp('normal') && crowd.caughtUp('reconnect'), { timeoutMs: 60_000, what: 'the clients to catch up' });
	const gapsNormal = crowd.gaps('normal');
	const gapsReconnect = crowd.gaps('reconnect');
	const closedNormal = crowd.clients.filter((c) => c.group === 'normal' && c.closes.length);
	await crowd.close();
	const fdsAfter = await waitFor(() => {
		const n = procSample(pid).fds;
		return n <= at0.fds + FD_SLACK ? n : false;
	}, { timeoutMs: 60_000, intervalMs: 500, what: `descriptors back to ${at0.fds} (+${FD_SLACK})` }).catch(() => procSample(pid).fds);
	const health = await d.get('/healthz');

	// Report.
	const warm = samples.find((s) => s.t_s >= WARMUP_S) || samples[0];
	const last = samples[samples.length - 1];
	const boundMiB = Math.max(RSS_BOUND_MIB, (warm.rss_MiB * RSS_BOUND_PCT) / 100);
	const cols = ['t_s', 'rss_MiB', 'fds', 'cpu_pct', 'clients', 'frames_s', 'probes', 'p50_ms', 'p99_ms', 'max_ms', 'closed', 'resyncs'];
	const c = crowd.counts;
	const text = [
		`fpmon soak, ${new Date().toISOString()}: ${CLIENTS} clients (${crowd.clients.filter((x) => x.group === 'slow').length} slow, ${crowd.clients.filter((x) => x.group === 'reconnect').length} reconnecting), fpmsim --speed 600 --rate ${RATE}, ${SECONDS} s, seed ${SEED}`,
		`baseline push latency (1 client, no load): p50 ${percentile(base, 50).toFixed(1)} ms, p99 ${percentile(base, 99).toFixed(1)} ms`,
		`RSS before load ${(at0.rssKiB / 1024).toFixed(1)} MiB, after warm-up (${warm.t_s} s) ${warm.rss_MiB.toFixed(1)} MiB, at the end ${last.rss_MiB.toFixed(1)} MiB (bound: +${boundMiB.toFixed(1)} MiB)`,
		`fds before load ${at0.fds}, peak ${Math.max(...samples.map((s) => s.fds))}, after the clients left ${fdsAfter}`,
		`frames ${c.frames}, snapshots ${c.snapshots} (resyncs ${c.resyncs}), server closes ${c.serverCloses}, reconnects ${c.reconnects} (${c.replays} topics resumed without a snapshot), out of order ${c.outOfOrder}, deltas before the snapshot ${c.beforeSnapshot} (newer than it: ${c.staleSnapshots})`,
		`resyncs by group: ${crowd.byGroup((x) => x.resyncs)}; closed by the server: ${crowd.byGroup((x) => x.closes.length)}`,
		`normal clients with a missed delta: ${gapsNormal.length}; reconnecting clients: ${gapsReconnect.length}; normal clients closed by the server: ${closedNormal.length}`,
		`fpmsim exit ${simResult.code}: ${simResult.out.trim().split('\n').filter((l) => /summary|load:/.test(l)).join(' | ')}`,
		'',
		table(samples, cols),
		'',
	].join('\n');
	mkdirSync(path.dirname(OUT), { recursive: true });
	writeFileSync(OUT, text);
	for (const line of text.split('\n')) t.diagnostic(line);
	t.diagnostic(`written to ${OUT}`);

	assert.equal(health.status, 200, 'the server answers /healthz at the end');
	assert.ok(d.running, 'the server is alive');
	assert.equal(simResult.code, 0, `fpmsim: every item accepted\n${simResult.out.slice(-3000)}`);
	assert.deepEqual(crowd.problems, [], 'deltas arrive in seq order');
	assert.equal(c.bad, 0, 'every frame is JSON');
	assert.equal(c.staleSnapshots, 0, 'a delta that arrives before its topic\'s snapshot is older than the snapshot');
	assert.deepEqual(gapsNormal.slice(0, 10), [], 'no normal client misses a delta without a snapshot');
	assert.deepEqual(gapsReconnect.slice(0, 10), [], 'no reconnecting client misses a delta without a snapshot (resumed with since + epoch)');
	assert.deepEqual(closedNormal.map((x) => `${x.id}: ${JSON.stringify(x.closes)}`).slice(0, 10), [], 'no normal client is closed by the server');
	assert.ok(last.rss_MiB - warm.rss_MiB <= boundMiB, `RSS grew ${(last.rss_MiB - warm.rss_MiB).toFixed(1)} MiB after warm-up (bound ${boundMiB.toFixed(1)} MiB)`);
	assert.ok(fdsAfter <= at0.fds + FD_SLACK, `descriptors after the clients left: ${fdsAfter}, before: ${at0.fds}`);
	assert.ok(samples.reduce((s, x) => s + x.probes, 0) > 0, 'probes reached the normal clients');
	await d.stop();
});
