// alerts-latency.mjs: time from the ingest request that causes an alert to
// the alert's frame at a WebSocket client (issue 6), over TRIALS rounds on a
// fresh daemon with the integration tests' county. Each round posts a payment
// batch whose funds reached the bank 30 h ago (payment_overdue fires on the
// ingest's partial pass) and waits for its `fired` frame on topic `alerts`.
// Baselines in the same run and daemon: the ingest round trip alone (time to
// the 200), and a plain delta: a village sample to its frame on region:<township>.
// Prints "RESULT alerts.<key> <ms>" lines for bench/table.awk and a summary.
//   FPMON_BUILD=build TRIALS=50 node bench/alerts-latency.mjs
import WebSocket from 'ws';
import { Daemon, TOWNSHIPS, nowS, waitFor } from '../tests/integration/lib/daemon.mjs';

const TRIALS = Number(process.env.TRIALS || 50);
const pct = (v, p) => v.slice().sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((v.length * p) / 100))];

const d = await Daemon.start();
const token = (await d.fpmctl('display', 'create', 'bench-wall')).trim();
await waitFor(async () => (await d.get(`/api/v1/me?token=${token}`)).status === 200, { what: 'the display token to be known' });
const ws = new WebSocket(`ws://127.0.0.1:${d.port}/live?token=${token}`, 'fpmon-live');
const waiters = [];
ws.on('message', (m) => {
	const f = JSON.parse(m.toString());
	const t = performance.now();
	for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].match(f)) waiters.splice(i, 1)[0].resolve(t);
});
await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
const frame = (match, what) => new Promise((resolve, reject) => {
	const w = { match, resolve };
	waiters.push(w);
	setTimeout(() => (waiters.includes(w) ? reject(new Error(`no frame: ${what}`)) : null), 30_000);
});
// One township's villages: its topic carries a delta naming the village that reported.
const [TOWNSHIP, VILLAGES] = Object.entries(TOWNSHIPS)[0];
ws.send(JSON.stringify({ type: 'subscribe', topics: ['alerts', `region:${TOWNSHIP}`] }));
await new Promise((r) => setTimeout(r, 2000)); // snapshots and the start-up pass are out of the way

const alert = [], roundTrip = [], delta = [];
try {
	for (let k = 0; k < TRIALS; k++) {
		const no = `LAT-${k}`, t = nowS();
		const fired = frame((f) => f.alerts?.some((a) => a.entity === no) && f.events?.some((e) => e.kind === 'fired'), `alert ${no}`);
		const t0 = performance.now();
		const r = await d.post('payment-batch', {
			batch_id: `lat-${k}`,
			batch: { batch_no: no, department: '县人社局', fund_type: '公益岗位补贴', period: '2026-11', submitted: t - 40 * 3600, funds_at_bank: t - 30 * 3600 },
			payments: [{ payment_no: `${no}-1`, household: `H-LAT-${k}`, card: '6217****1234', amount_fen: 60000, village: VILLAGES[k % VILLAGES.length] }],
		});
		roundTrip.push(performance.now() - t0);
		if (r.status !== 200) throw new Error(`ingest ${r.status} ${r.text}`);
		alert.push((await fired) - t0);

		const village = VILLAGES[k % VILLAGES.length];
		const moved = frame((f) => f.topic === `region:${TOWNSHIP}` && f.entities && village in f.entities, `delta of ${village}`);
		const t1 = performance.now();
		await d.post('samples', { batch_id: `lat-s-${k}`, samples: [{ entity: village, metric: 'poor_hh', ts: nowS(), value: 100 + k }] });
		delta.push((await moved) - t1);
	}
} finally {
	ws.terminate();
	await d.stop();
}
for (const [key, v] of [['alert_frame', alert], ['ingest_rtt', roundTrip], ['delta_frame', delta]])
	for (const p of [50, 99]) console.log(`RESULT alerts.${key}_p${p}_ms ${pct(v, p).toFixed(1)}`);
console.log(`ingest to alert frame over ${TRIALS} trials: p50 ${pct(alert, 50).toFixed(1)} ms, p99 ${pct(alert, 99).toFixed(1)} ms` +
	`; baselines, same run: ingest round trip p50 ${pct(roundTrip, 50).toFixed(1)} / p99 ${pct(roundTrip, 99).toFixed(1)} ms,` +
	` sample to delta frame p50 ${pct(delta, 50).toFixed(1)} / p99 ${pct(delta, 99).toFixed(1)} ms (aim: alert on screen < 1 s)`);
