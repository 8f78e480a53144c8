// A small, deterministic test county for the browser tests and for looking
// at the pages by hand: 8 townships, 4–6 villages each, 14 industry
// projects with milestones, village figures with a history of past days,
// progress reports, and card-payment batches, all sent through the public
// ingest API as a real feed would.
//
// The history only charts if it is sent before the RRD writer's first write
// (samples older than a file's last row are kept but not charted), so the
// harness posts it right after start with a long rrd_flush_steps and then
// asks for a write (SIGUSR1).

import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const COUNTY = '610899000000';
export const COUNTY_NAME = '石岭县';

const TOWNSHIPS = [
	['100', '石岭镇'], ['101', '河口镇'], ['102', '杨家湾镇'], ['103', '高家堡镇'],
	['104', '王庄镇'], ['105', '柳树湾镇'], ['200', '马坊乡'], ['201', '红石峡乡'],
];
const SYL_A = ['石', '柳', '杨', '高', '王', '马', '李', '张', '刘', '白', '黄', '新', '东', '西', '南', '北', '上', '下', '前', '后'];
const SYL_B = ['家沟', '湾', '庄', '峁', '塬', '坪', '河', '台', '畔', '岔', '墩', '涧', '圪堵', '梁', '崖窑'];

/** Small seeded PRNG (mulberry32): the same county every run. */
export function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export function buildCounty() {
	const r = rng(20201231);
	const pick = (arr) => arr[Math.floor(r() * arr.length)];
	const regions = [{ code: COUNTY, name: COUNTY_NAME }];
	const villages = [];
	const townships = [];
	const used = new Set();
	for (const [ttt, name] of TOWNSHIPS) {
		const tcode = `610899${ttt}000`;
		regions.push({ code: tcode, name });
		townships.push({ code: tcode, name });
		const n = 4 + Math.floor(r() * 3);
		for (let i = 1; i <= n; i++) {
			let vname;
			do vname = `${pick(SYL_A)}${pick(SYL_B)}村`; while (used.has(vname));
			used.add(vname);
			const code = `610899${ttt}${String(200 + i).padStart(3, '0')}`;
			const population = 700 + Math.floor(r() * 1800);
			const poorHh = 30 + Math.floor(r() * 160);
			villages.push({
				code, name: vname, township: tcode, population,
				poorHh, poorPeople: Math.round(poorHh * (2.6 + r() * 0.9)),
				exitFinal: 0.55 + r() * 0.45, // share exited by now
				income: 7000 + Math.floor(r() * 6000),
				allocWan: 20 + Math.floor(r() * 180), // 万元 allocated by now
				monUnstable: Math.floor(r() * 6), monMarginal: Math.floor(r() * 8), monSudden: Math.floor(r() * 3),
				seed: Math.floor(r() * 1e9),
			});
			regions.push({ code, name: vname });
		}
	}
	const CATS = [['planting', '县农业农村局', '种植基地'], ['breeding', '县农业农村局', '养殖场'],
		['processing', '县工信局', '加工厂'], ['tourism', '县文旅局', '乡村旅游示范点'],
		['ecommerce', '县商务局', '电商服务站'], ['photovoltaic', '县发改局', '村级光伏电站']];
	const projects = [];
	for (let i = 1; i <= 14; i++) {
		const [cat, dept, what] = CATS[i % CATS.length];
		const atTownship = i % 4 === 0;
		const v = villages[(i * 7) % villages.length];
		const loc = atTownship ? v.township : v.code;
		const locName = atTownship ? townships.find((t) => t.code === v.township).name : v.name;
		const investWan = 50 + Math.floor(r() * 900);
		// perf: how well the project keeps to plan (SPI-ish), a few behind, one stalled
		const perf = i === 3 ? 0.55 : i === 8 ? 0.86 : i === 11 ? 0.92 : 0.97 + r() * 0.12;
		projects.push({
			id: `XM-${String(i).padStart(3, '0')}`, name: `${locName.replace(/[镇乡村]$/, '')}${what}项目`,
			category: cat, location: loc, department: dept, investFen: investWan * 1_000_000,
			perf, stalled: i === 3, silentDays: i === 3 ? 70 : i === 8 ? 40 : Math.floor(r() * 20),
			benefHh: 20 + Math.floor(r() * 150), seed: Math.floor(r() * 1e9),
		});
	}
	return { regions, villages, townships, projects };
}

/** Write regions.csv and projects.csv (with start/end dates around `today`). */
export function writeCsv(dir, county, today) {
	const day = (d) => new Date(Date.parse(`${today}T00:00:00Z`) + d * 86400e3).toISOString().slice(0, 10);
	const regions = ['code,name', ...county.regions.map((x) => `${x.code},${x.name}`)].join('\n');
	const projects = ['id,name,category,location,department,investment_fen,start,planned_end,households,stage',
		...county.projects.map((p, i) =>
			`${p.id},${p.name},${p.category},${p.location},${p.department},${p.investFen},${day(-200 - i * 10)},${day(160 + i * 15)},${p.benefHh},started`)].join('\n');
	const rp = path.join(dir, 'regions.csv');
	const pp = path.join(dir, 'projects.csv');
	writeFileSync(rp, `${regions}\n`);
	writeFileSync(pp, `${projects}\n`);
	return { regions: rp, projects: pp };
}

const MS_NAMES = ['项目公示', '土建开工', '主体完工', '设备安装', '竣工验收', '资产移交登记'];
const MS_WEIGHTS = [5, 20, 35, 20, 15, 5];
const msDay = (i, k) => {
	const start = -200 - i * 10, end = 160 + i * 15;
	return Math.round(start + ((end - start) * (k + 0.5)) / MS_NAMES.length);
};

/** Planned progress (%) of project i on day d (days from today), as the server's plan curve. */
export function plannedPct(i, d) {
	let prevDay = -200 - i * 10, prevPct = 0, cum = 0;
	if (d <= prevDay) return 0;
	for (let k = 0; k < MS_NAMES.length; k++) {
		cum += MS_WEIGHTS[k];
		const md = msDay(i, k);
		if (d <= md) return prevPct + ((cum - prevPct) * (d - prevDay)) / Math.max(1, md - prevDay);
		prevDay = md;
		prevPct = cum;
	}
	return 100;
}

/** Milestones of each project: planned over its period, the early ones done. */
export function milestoneItems(county, today) {
	const day = (d) => new Date(Date.parse(`${today}T00:00:00Z`) + d * 86400e3).toISOString().slice(0, 10);
	const names = MS_NAMES;
	const weights = MS_WEIGHTS;
	const items = [];
	county.projects.forEach((p, i) => {
		names.forEach((name, k) => {
			const planned = msDay(i, k);
			let done = null;
			if (planned < -5) {
				const late = Math.round((1 - Math.min(1, p.perf)) * 60 + ((p.seed >> k) % 9) - 4);
				done = planned + late < -1 ? day(planned + late) : null;
				if (p.stalled && k >= 2) done = null;
			}
			items.push({ project: p.id, name, planned_date: day(planned), weight: weights[k], done_date: done });
		});
	});
	return items;
}

/** Figures of a village at fraction f (0 = 120 days ago, 1 = now) of its story. */
export function villageValues(v, f) {
	const exitedHh = Math.round(v.poorHh * v.exitFinal * (0.7 + 0.3 * f));
	const exitedPeople = Math.round(v.poorPeople * v.exitFinal * (0.7 + 0.3 * f));
	const remaining = v.poorPeople - exitedPeople;
	return {
		population: v.population,
		poor_hh: v.poorHh,
		poor_people: v.poorPeople,
		exited_hh: exitedHh,
		exited_people: exitedPeople,
		incidence_pct: Math.round((remaining / v.population) * 10000) / 100,
		mon_unstable_hh: Math.max(0, v.monUnstable + Math.round(2 * (1 - f))),
		mon_marginal_hh: v.monMarginal,
		mon_sudden_hh: v.monSudden,
		mon_removed_hh: Math.round(4 * f + (v.seed % 5)),
		income_pc_yuan: Math.round(v.income * (0.92 + 0.08 * f)),
		below_line_hh: Math.max(0, Math.round((v.poorHh - exitedHh) * 0.1)),
		dropouts: v.seed % 7 === 0 ? 1 : 0,
		uninsured: v.seed % 3,
		unsafe_houses: Math.round(3 * (1 - f)),
		no_water_hh: v.seed % 5 === 0 ? 2 : 0,
		migrant_workers: Math.round(v.population * 0.12),
		welfare_jobs: 3 + (v.seed % 9),
		trainees: Math.round(20 * f + (v.seed % 11)),
		funds_alloc_fen: Math.round(v.allocWan * (0.6 + 0.4 * f)) * 1_000_000,
	};
}

/** Samples of every village at Unix time ts, f as in villageValues. */
export function villageSamples(county, ts, f) {
	const out = [];
	for (const v of county.villages)
		for (const [metric, value] of Object.entries(villageValues(v, f))) out.push({ entity: v.code, metric, ts, value });
	return out;
}

/** A progress report of each project at ts, day = days from now (≤ 0). */
export function progressReports(county, ts, day, today) {
	return county.projects.map((p, i) => {
		const planned = plannedPct(i, day);
		const frozen = p.stalled && day > -p.silentDays ? -p.silentDays : day;
		const plannedFrozen = plannedPct(i, frozen);
		const progress = Math.round(Math.min(100, plannedFrozen * p.perf) * 10) / 10;
		const alloc = Math.round((p.investFen * Math.min(1, planned / 100 + 0.3)) / 100) * 100;
		return {
			project: p.id, ts, progress_pct: progress,
			alloc_fen: alloc, paid_fen: Math.round((alloc * Math.min(1, progress / 100 + 0.1)) / 100) * 100,
			reimbursed_fen: Math.round((alloc * progress) / 100 / 2 / 100) * 100,
			benef_hh: Math.round(p.benefHh * Math.min(1, 0.4 + progress / 150)),
			benef_poor_hh: Math.round(p.benefHh * Math.min(1, 0.4 + progress / 150) * 0.6),
			jobs: Math.round(p.benefHh / 6),
		};
	});
}

/** One card-payment batch per village (paid, a few failed) and its results. */
export function paymentBatch(county, ts, tag) {
	const payments = [], results = [];
	county.villages.forEach((v, vi) => {
		for (let k = 0; k < 4; k++) {
			const no = `P${tag}-${vi}-${k}`;
			payments.push({ payment_no: no, household: `${v.code}${k}`, card: `6217****${String(1000 + vi * 4 + k)}`,
				amount_fen: 150_000 + ((v.seed >> k) % 5) * 50_000, village: v.code });
			const failed = (vi + k) % 17 === 0;
			results.push(failed ? { payment_no: no, status: 'failed', reason: '卡已注销', at: ts + 3600 }
				: { payment_no: no, status: 'paid', at: ts + 3600 });
		}
	});
	return {
		batch: { batch_id: `pb-${tag}`, batch: { batch_no: `B${tag}`, department: '县扶贫办', fund_type: '产业奖补', period: '2026-11', submitted: ts, funds_at_bank: ts },
			payments },
		results: { batch_id: `pr-${tag}`, results },
	};
}
