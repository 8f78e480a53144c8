// Browser memory: the wall display left running in headless Chromium while
// the test county is fed fast (every village's figures twice a second,
// project reports, card-payment batches with failures that raise alerts) and
// the views rotate every 5 s (the spotlight subscribes and leaves township
// topics). Every few seconds the JS heap is measured after a forced garbage
// collection (CDP HeapProfiler.collectGarbage, Performance.getMetrics); the
// heap and the DOM must not grow after warm-up beyond a stated bound.
//
//   HEAP_SECONDS=3600 node --test tests/soak/heap.test.mjs   (default 75 s)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { countyAndBrowser, watchErrors, sleep, ARTIFACTS, C } from '../browser/lib/harness.mjs';
import { table } from './lib/proc.mjs';

const SECONDS = Number(process.env.HEAP_SECONDS || 75);
const EVERY_S = 5;
const WARMUP_S = Math.max(30, Math.round(SECONDS * 0.2));
const HEAP_BOUND_MIB = 1; // or 25% of the heap after warm-up, whichever is larger
const HEAP_BOUND_PCT = 25;
const NODES_BOUND_PCT = 10;
const OUT = process.env.HEAP_OUT || path.join(ARTIFACTS, `heap-${SECONDS}s.txt`);

const env = countyAndBrowser();

/** Feed the county until stop() is called; counts what it sent. */
function feed(server) {
	const county = server.county;
	const today = new Date((Date.now() / 1000 + 8 * 3600) * 1000).toISOString().slice(0, 10);
	const sent = { samples: 0, reports: 0, payments: 0, errors: 0 };
	let stop = false;
	const run = (async () => {
		for (let k = 0; !stop; k++) {
			const now = Math.floor(Date.now() / 1000);
			try {
				const samples = C.villageSamples(county, now, 0.5 + 0.5 * Math.sin(k / 7));
				await server.post('samples', { batch_id: `heap-s-${k}`, samples });
				sent.samples += samples.length;
				if (k % 10 === 0) {
					const reports = C.progressReports(county, now, 0, today).filter((r) => county.projects.find((p) => p.id === r.project).silentDays < 2);
					await server.post('progress', { batch_id: `heap-p-${k}`, reports });
					sent.reports += reports.length;
				}
				if (k % 20 === 5) {
					const pay = C.paymentBatch(county, now - 7200, `heap${k}`);
					await server.post('payment-batch', pay.batch);
					await server.post('payment-results', pay.results);
					sent.payments += pay.batch.payments.length;
				}
			} catch {
				sent.errors++;
			}
			await sleep(500);
		}
	})();
	return { sent, stop: async () => ((stop = true), await run) };
}

test(`the wall display's JS heap stays bounded over ${SECONDS} s of fast data`, { timeout: (SECONDS + 300) * 1000 }, async (t) => {
	const { server, browser } = env;
	const page = await browser.context.newPage();
	const errors = watchErrors(page);
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('Performance.enable');
	await page.goto(server.page('wall.html?rotate=5'));
	await page.waitForFunction(() => document.getElementById('conn').dataset.state === 'live', null, { timeout: 30_000 });
	const measure = async () => {
		await cdp.send('HeapProfiler.collectGarbage');
		const { metrics } = await cdp.send('Performance.getMetrics');
		const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
		return { heap_MiB: m.JSHeapUsedSize / 2 ** 20, total_MiB: m.JSHeapTotalSize / 2 ** 20, nodes: m.Nodes, listeners: m.JSEventListeners };
	};
	const atLoad = await measure();
	const fed = feed(server);
	const samples = [];
	const started = Date.now();
	try {
		while (Date.now() - started < SECONDS * 1000) {
			await sleep(EVERY_S * 1000);
			const view = await page.evaluate(() => document.getElementById('wall').dataset.current);
			samples.push({ t_s: Math.round((Date.now() - started) / 1000), ...(await measure()), view });
		}
	} finally {
		await fed.stop();
	}
	assert.equal(await page.evaluate(() => document.getElementById('conn').dataset.state), 'live', 'still live at the end');

	const warm = samples.find((s) => s.t_s >= WARMUP_S) || samples[0];
	// the end: the least of the last three samples (the DOM swells for a moment while a view changes)
	const tail = samples.slice(-3);
	const last = { heap_MiB: Math.min(...tail.map((s) => s.heap_MiB)), nodes: Math.min(...tail.map((s) => s.nodes)) };
	const bound = Math.max(HEAP_BOUND_MIB, (warm.heap_MiB * HEAP_BOUND_PCT) / 100);
	const cols = ['t_s', 'heap_MiB', 'total_MiB', 'nodes', 'listeners', 'view'];
	const lines = [
		`fpmon wall heap, ${new Date().toISOString()}: ${SECONDS} s, ${server.county.villages.length} villages fed every 0.5 s, views rotating every 5 s`,
		`sent: ${fed.sent.samples} samples, ${fed.sent.reports} progress reports, ${fed.sent.payments} payments (${fed.sent.errors} failed posts)`,
		`JS heap after GC: at load ${atLoad.heap_MiB.toFixed(2)} MiB, after warm-up (${warm.t_s} s) ${warm.heap_MiB.toFixed(2)} MiB, at the end ${last.heap_MiB.toFixed(2)} MiB (bound: +${bound.toFixed(2)} MiB)`,
		`DOM nodes: at load ${atLoad.nodes}, after warm-up ${warm.nodes}, at the end ${last.nodes} (bound: +${NODES_BOUND_PCT}%)`,
		'',
		...table(samples, cols, 2).split('\n'),
		'',
	];
	mkdirSync(path.dirname(OUT), { recursive: true });
	writeFileSync(OUT, lines.join('\n'));
	for (const l of lines) t.diagnostic(l);

	assert.equal(fed.sent.errors, 0, 'every post was accepted');
	assert.ok(last.heap_MiB - warm.heap_MiB <= bound, `JS heap grew ${(last.heap_MiB - warm.heap_MiB).toFixed(2)} MiB after warm-up (bound ${bound.toFixed(2)} MiB)`);
	assert.ok(last.nodes <= warm.nodes * (1 + NODES_BOUND_PCT / 100) + 50, `DOM nodes ${warm.nodes} -> ${last.nodes}`);
	assert.deepEqual(errors, []);
	await page.close();
});
