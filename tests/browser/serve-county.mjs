// Look at the dashboards by hand with the browser tests' county:
//   node tests/browser/serve-county.mjs [PORT]     (then open the printed address)
// Starts fpmond (build/, or FPMON_BUILD) in a temp data dir with a day of
// history, then keeps a live feed going (a village figure every few seconds)
// until Ctrl-C. Edit web/ and send SIGHUP to
// the printed pid to reload the pages.
import { startCounty, C } from './lib/harness.mjs';

const port = Number(process.argv[2] || 0);
const s = await startCounty({ port });
console.log(`fpmond pid ${s.child.pid} (data in ${s.dir})
  wall:   ${s.page('wall.html')}
  office: ${s.base}/  (sign in as ${s.user.name} / ${s.user.password})
  ingest token for the report form: ${s.token}`);
const r = C.rng(7);
let n = 0;
const timer = setInterval(async () => {
	n++;
	const now = Math.floor(Date.now() / 1000);
	const v = s.county.villages[Math.floor(r() * s.county.villages.length)];
	const vals = C.villageValues(v, 1);
	const samples = [
		{ entity: v.code, metric: 'exited_hh', ts: now, value: Math.min(v.poorHh, vals.exited_hh + n) },
		{ entity: v.code, metric: 'mon_marginal_hh', ts: now, value: Math.floor(r() * 9) },
	];
	try {
		await s.post('samples', { batch_id: `live-${now}-${n}`, samples });
	} catch (e) {
		console.error(e.message);
	}
}, 4000);
process.on('SIGINT', async () => {
	clearInterval(timer);
	await s.cleanup();
	process.exit(0);
});
