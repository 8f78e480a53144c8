// SIGTERM: the daemon finishes what it acknowledged, writes every RRD row that
// is due, records its progress, and exits 0; a restart replays nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, nowS, lastCompleteStep, metricIndex } from './lib/daemon.mjs';

test('SIGTERM writes the due RRD rows and exits 0; a restart replays nothing', { timeout: 120_000 }, async () => {
	const d = await Daemon.start();
	try {
		const base = nowS();
		const r = await d.post('samples', {
			batch_id: 'term-1',
			samples: [
				{ entity: '610824100201', metric: 'poor_hh', ts: base - 2000, value: 31 },
				{ entity: '610824100202', metric: 'poor_hh', ts: base - 1500, value: 9 },
				{ entity: '610824101201', metric: 'poor_hh', ts: base - 1000, value: 4 },
				{ entity: 'XM-B', metric: 'progress_pct', ts: base - 1000, value: 2.5 },
			],
		});
		assert.equal(r.status, 200, r.text);
		const dueBefore = lastCompleteStep();
		assert.equal(d.allRrdFiles().length, 0, 'nothing written before the signal');
		const { code, signal } = await d.stop();
		assert.equal(code, 0);
		assert.equal(signal, null);
		assert.match(d.log, /shutting down[\s\S]*stopped/);
		const ids = await d.entityIds();
		assert.equal(d.allRrdFiles().length, Object.keys(ids).length);
		const v1 = await d.lastupdate(d.rrdPath('610824100201'));
		assert.ok(v1.ts >= dueBefore && v1.ts <= lastCompleteStep(), `last row ${v1.ts}, due ${dueBefore}`);
		assert.equal(v1.values.poor_hh, 31);
		const county = await d.lastupdate(d.rrdPath('610824000000'));
		assert.equal(county.ts, v1.ts);
		assert.equal(county.values.poor_hh, 31 + 9 + 4);
		const xmb = await d.lastupdate(d.rrdPath('XM-B'));
		assert.equal(xmb.values.progress_pct, 2.5);
		// sample-and-hold rows from before the samples too
		const rows = (await d.fetchRows(d.rrdPath('610824100000'), base - 2400, v1.ts)).filter((x) => x.ts <= v1.ts);
		for (const row of rows) {
			const want = (row.ts >= base - 2000 ? 31 : 0) + (row.ts >= base - 1500 ? 9 : 0);
			if (row.ts < base - 2000) assert.ok(Number.isNaN(row.values.poor_hh));
			else assert.equal(row.values.poor_hh, want, `row ${row.ts}`);
		}
		// progress recorded: every sample is in a row, every file's state saved
		assert.equal(await d.scalar(`SELECT value FROM meta WHERE key = 'rrd_applied_sample'`), await d.scalar('SELECT max(id) FROM sample'));
		assert.equal(await d.scalar('SELECT count(*) FROM rrd_state'), Object.keys(ids).length);
		assert.equal(await d.scalar(`SELECT count(*) FROM sample WHERE metric = ${metricIndex('poor_hh')}`), 3);

		await d.restart();
		assert.match(d.log.slice(d.log.lastIndexOf('---- launch')), /, 0 samples replayed/);
		const again = await d.stop();
		assert.equal(again.code, 0);
	} finally {
		await d.cleanup();
	}
});

test('SIGTERM during a burst: every acknowledged batch is stored, the daemon exits 0', { timeout: 120_000 }, async () => {
	const d = await Daemon.start();
	try {
		const base = nowS();
		const acked = [];
		let stopping;
		const clients = Array.from({ length: 4 }, async (_, c) => {
			for (let i = 0; i < 1000; i++) {
				const id = `burst-${c}-${i}`;
				try {
					const r = await d.post('samples', {
						batch_id: id,
						samples: [{ entity: '610824101202', metric: 'migrant_workers', ts: base - 3000 + c * 600 + i, value: i }],
					});
					if (r.status === 200) {
						assert.equal(r.body.accepted, 1, r.text);
						acked.push(id);
					}
				} catch {
					return;
				}
				if (i === 25 && c === 0) stopping = d.stop();
			}
		});
		await Promise.all(clients);
		const { code } = await stopping;
		assert.equal(code, 0);
		assert.ok(acked.length >= 26);
		const stored = new Set((await d.sqlite(`SELECT batch_key FROM ingest_batch`)).map((x) => x.batch_key));
		for (const id of acked) assert.ok(stored.has(id), `${id} acknowledged but not stored`);
		assert.equal(await d.scalar('SELECT count(*) FROM sample'), stored.size);
	} finally {
		await d.cleanup();
	}
});
