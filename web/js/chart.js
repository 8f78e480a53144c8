// chart.js: time-series charts on uPlot.
//
// Why uPlot: it is small (~50 KB minified, one file, no dependencies), draws
// on a canvas and is built for exactly this — many points of live time
// series, appended and redrawn many times a second, at a fraction of the CPU
// and memory of SVG/DOM chart libraries. That matters on a wall screen that
// runs for months, and on an office PC with a dozen charts on one page.
//
// Every chart here has the time (Unix seconds) on x, drawn in Asia/Shanghai
// whatever the screen's own zone is, and one y scale per unit. Values are
// held as the API gives them (fen for money) and formatted on the axes and
// in the legend. Buffers are capped (maxPoints): live points are appended,
// and points closer than `minGap` seconds replace the previous one, so a
// chart never grows without bound however long the page stays open.

import uPlot from '../vendor/uplot/uPlot-1.6.32.esm.js';
import { cstDate, fmtTime, fmtInt, fmtNum, fmtPct, fmtMoney, fmtSpi, isNum, TZ } from './format.js';

/** Colours that stay apart on dark and light backgrounds and for common colour blindness. */
export const PALETTE = ['#3fa7ff', '#ffb020', '#34d399', '#f472b6', '#a78bfa', '#f87171', '#22d3ee', '#facc15'];

const THEMES = {
	dark: { axis: '#a9bccf', grid: 'rgba(255,255,255,0.08)', tick: 'rgba(255,255,255,0.15)' },
	light: { axis: '#4a5b6c', grid: '#e7ecf1', tick: '#cfd8e1' },
};

/** Value formatter of a unit kind. */
export function formatterOf(kind) {
	switch (kind) {
	case 'money': return (v) => fmtMoney(v);
	case 'pct': return (v) => fmtPct(v);
	case 'spi': return (v) => fmtSpi(v);
	case 'count': return (v) => fmtInt(v);
	default: return (v) => fmtNum(v, 2);
	}
}

/** Unit kind of a catalog metric. */
export function unitKind(m) {
	if (!m) return 'num';
	if (m.type === 'money_fen') return 'money';
	if (m.type === 'percent') return 'pct';
	if (m.type === 'ratio') return 'spi';
	if (m.type === 'count') return 'count';
	return 'num';
}

/** X-axis labels in Shanghai time, coarser as the visible range grows. */
function xValues(u, splits) {
	const range = u.scales.x.max - u.scales.x.min;
	return splits.map((t) => {
		if (range > 400 * 86400) return cstDate(t).slice(0, 7);
		if (range > 2 * 86400) return cstDate(t).slice(5);
		return fmtTime(t, false);
	});
}

export class TimeChart {
	/**
	 * el: container (the chart fills its width; height from options or the element).
	 * options.series: [{ key, label, color, kind: 'money'|'pct'|'spi'|'count'|'num', dash, fill }]
	 * options.theme: 'dark' | 'light'; options.fontPx: axis font size;
	 * options.legend: show uPlot's legend (desktop) or not (wall);
	 * options.maxPoints (default 2000), options.minGap seconds (default 60);
	 * options.yMin: lower bound of y (default 0: these quantities are ≥ 0).
	 */
	constructor(el, options) {
		this.el = el;
		this.opt = { theme: 'light', fontPx: 12, legend: true, maxPoints: 2000, minGap: 60, yMin: 0, ...options };
		this.ts = [];
		this.cols = this.opt.series.map(() => []);
		this.build();
		this.ro = new ResizeObserver(() => this.resize());
		this.ro.observe(el);
	}

	build() {
		const o = this.opt;
		const th = THEMES[o.theme] || THEMES.light;
		const font = `${o.fontPx}px "Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif`;
		const kinds = [...new Set(o.series.map((s) => s.kind || 'num'))];
		const scales = { x: { time: true } };
		const axes = [{
			stroke: th.axis, font, grid: { stroke: th.grid, width: 1 }, ticks: { stroke: th.tick, width: 1 },
			values: xValues, space: o.fontPx * 6, size: o.fontPx * 2.6,
		}];
		kinds.forEach((k, i) => {
			const fmt = formatterOf(k);
			scales[k] = {
				auto: true,
				range: (u, min, max) => {
					const lo = o.yMin === null ? min : Math.min(o.yMin, min);
					if (!isNum(min) || !isNum(max)) return [0, 1];
					const hi = max === lo ? lo + (k === 'pct' ? 10 : k === 'spi' ? 1.2 : Math.max(1, Math.abs(lo) * 0.1)) : max + (max - lo) * 0.08;
					return [lo, hi];
				},
			};
			axes.push({
				scale: k, side: i === 0 ? 3 : 1, stroke: th.axis, font,
				grid: { show: i === 0, stroke: th.grid, width: 1 }, ticks: { stroke: th.tick, width: 1 },
				values: (u, splits) => (k === 'money' ? axisMoney(splits) : splits.map((v) => shortFmt(k, v))),
				space: o.fontPx * 2.6, // tick spacing follows the font: 4K walls get no more ticks than HD
				size: (u, values) => measure(values, o.fontPx),
			});
		});
		const stepped = uPlot.paths.stepped({ align: 1 });
		const series = [{ label: document.documentElement.lang === 'en' ? 'Time' : '时间', value: (u, v) => (v === null ? '—' : `${cstDate(v)} ${fmtTime(v, false)}`) }];
		o.series.forEach((s, i) => {
			const color = s.color || PALETTE[i % PALETTE.length];
			series.push({
				label: s.label, scale: s.kind || 'num', stroke: color, width: s.width || (o.theme === 'dark' ? 3 : 2),
				dash: s.dash, paths: s.linear ? undefined : stepped, spanGaps: false,
				fill: s.fill ? `${color}22` : undefined,
				// dots only where there are few points (a lone value would be invisible as a line)
				points: { show: (u, si) => u.data[si].filter((x) => x !== null && x !== undefined).length <= 3, size: 8 },
				value: (u, v) => formatterOf(s.kind)(v),
			});
		});
		const { width, height } = this.size();
		this.u = new uPlot({
			width, height, series, axes, scales,
			tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TZ),
			legend: { show: o.legend, live: true },
			cursor: { show: o.legend, drag: { x: false, y: false }, points: { size: 6 } },
			padding: [o.fontPx * 0.8, o.fontPx * 1.8, 0, 0], // room for the last time label
		}, [this.ts, ...this.cols], this.el);
	}

	size() {
		const r = this.el.getBoundingClientRect();
		const legendH = this.opt.legend ? 34 : 0;
		return { width: Math.max(120, Math.floor(r.width)), height: Math.max(80, Math.floor((this.opt.height || r.height) - legendH)) };
	}

	resize() {
		const { width, height } = this.size();
		if (width !== this.u.width || height !== this.u.height) this.u.setSize({ width, height });
	}

	/** Replace all data: ts[] and { key: values[] } (as /api/v1/history returns). */
	setData(ts, values) {
		// leading rows where nothing is known yet (before the first data) are left out
		let first = 0;
		const cols = this.opt.series.map((s) => values[s.key] || []);
		while (first < ts.length && cols.every((c) => c[first] === null || c[first] === undefined)) first++;
		if (ts.length - first < 2) first = 0; // keep the asked-for range around a lone point
		const start = Math.max(first, ts.length - this.opt.maxPoints);
		this.ts = ts.slice(start);
		this.cols = this.opt.series.map((s) => (values[s.key] || []).slice(start));
		this.redraw();
	}

	/** Append a live point { key: value } at Unix time ts (out-of-order points are dropped). */
	append(ts, vals) {
		const n = this.ts.length;
		if (n && ts < this.ts[n - 1]) return;
		const same = n && ts - this.ts[n - 1] < this.opt.minGap;
		this.opt.series.forEach((s, i) => {
			const v = s.key in vals ? vals[s.key] : n ? this.cols[i][n - 1] : null;
			if (same) this.cols[i][n - 1] = v;
			else this.cols[i].push(v);
		});
		if (same) this.ts[n - 1] = ts;
		else this.ts.push(ts);
		const over = this.ts.length - this.opt.maxPoints;
		if (over > 0) {
			this.ts.splice(0, over);
			for (const c of this.cols) c.splice(0, over);
		}
		this.redraw();
	}

	/** Keep the x range ending at `now` (charts of "the last N days" slide along). */
	redraw() {
		this.u.setData([this.ts, ...this.cols]);
	}

	/** Rebuild (after a language switch: series labels are baked in). */
	relabel(labels) {
		labels.forEach((l, i) => (this.opt.series[i].label = l));
		this.u.destroy();
		this.build();
	}

	destroy() {
		this.ro.disconnect();
		this.u.destroy();
	}
}

/** Money ticks (fen) in one unit chosen from the largest: "1.6 亿", "8,000 万" / "¥160M". */
function axisMoney(splits) {
	const top = Math.max(...splits.map((v) => Math.abs(v || 0)));
	const en = document.documentElement.lang === 'en';
	const [div, unit] = en
		? (top >= 1e11 ? [1e11, 'bn'] : top >= 1e8 ? [1e8, 'M'] : top >= 1e5 ? [1e5, 'k'] : [100, ''])
		: (top >= 1e10 ? [1e10, ' 亿'] : top >= 1e6 ? [1e6, ' 万'] : [100, ' 元']);
	return splits.map((v) => (isNum(v) ? `${en ? '¥' : ''}${fmtNum(v / div, 2)}${unit}` : ''));
}

/** Compact axis numbers: money in 万元/亿元, counts with 万 (en: k/M). */
function shortFmt(kind, v) {
	if (!isNum(v)) return '';
	if (kind === 'money') return fmtMoney(v);
	if (kind === 'pct') return `${fmtNum(v, 1)}%`;
	if (kind === 'spi') return fmtNum(v, 2);
	const en = document.documentElement.lang === 'en';
	if (Math.abs(v) >= 1e4 && !en) return `${fmtNum(v / 1e4, 1)}万`;
	if (Math.abs(v) >= 1e6 && en) return `${fmtNum(v / 1e6, 1)}M`;
	if (Math.abs(v) >= 1e3 && en) return `${fmtNum(v / 1e3, 1)}k`;
	return fmtNum(v, 1);
}

function measure(values, fontPx) {
	const longest = (values || []).reduce((m, s) => Math.max(m, String(s).length), 4);
	return Math.ceil(longest * fontPx * 0.65 + fontPx * 1.6);
}

/**
 * A small inline progress bar pair: actual vs planned (percent, 0..100).
 * Returns HTML; colour class from the SPI band.
 */
export function progressBar(actual, planned, band) {
	const a = isNum(actual) ? Math.max(0, Math.min(100, actual)) : 0;
	const p = isNum(planned) ? Math.max(0, Math.min(100, planned)) : null;
	return `<span class="pbar ${band || ''}"><span class="pbar-fill" style="width:${a}%"></span>${
		p === null ? '' : `<span class="pbar-plan" style="left:${p}%"></span>`}</span>`;
}
