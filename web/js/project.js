// project.js: one industry project: its figures, milestones planned vs
// actual on a timeline, progress and spending history, and the report form
// (project-form.js). Live: the project's topic updates the figures and
// appends points to the charts.

import * as api from './api.js';
import { LiveClient } from './live.js';
import { t, onLangChange, stageLabel, categoryLabel, metricLabel } from './i18n.js';
import { esc, fmtInt, fmtPct, fmtSpi, fmtMoney, isNum, ratioPct, townshipOf, countyOf, cstDayStart, daysBetween } from './format.js';
import { TimeChart, PALETTE } from './chart.js';
import { initChrome, banner, spiBand, projectStatus, withRetry, SILENT_DAYS, STALLED_DAYS } from './common.js';
import { initForms } from './project-form.js';

const ID = api.param('id');
const RANGES = { day: 1, week: 7, month: 30, year: 365, '5y': 5 * 365 };
const S = { project: null, names: new Map(), range: api.param('range'), charts: {}, live: null };
if (S.range && !(S.range in RANGES)) S.range = null; // null: the longest range with enough data

const PROGRESS_SERIES = [
	{ key: 'progress_pct', kind: 'pct', color: PALETTE[2], fill: true },
	{ key: 'planned_pct', kind: 'pct', color: PALETTE[0], dash: [6, 4] },
	{ key: 'spi', kind: 'spi', color: PALETTE[1] },
];
const SPEND_SERIES = [
	{ key: 'alloc_fen', kind: 'money', color: PALETTE[0] },
	{ key: 'paid_fen', kind: 'money', color: PALETTE[2], fill: true },
	{ key: 'reimbursed_fen', kind: 'money', color: PALETTE[4] },
];

let catalog = null;
const label = (k) => metricLabel(catalog && catalog.byKey.get(k)) || k;

function current() {
	const live = S.live && S.live.entity(ID);
	return { ...(S.project ? S.project.current : {}), ...(live ? live.values : {}) };
}

function renderHead() {
	const p = S.project;
	const c = current();
	document.title = `${p.name || p.id} · ${t('app_title')}`;
	document.getElementById('title').textContent = p.name || p.id;
	const town = townshipOf(p.location);
	const county = countyOf(p.location);
	const crumbs = [[county, S.names.get(county)], [town, S.names.get(town)]];
	if (p.location !== town) crumbs.push([p.location, S.names.get(p.location)]);
	document.getElementById('crumbs').innerHTML = crumbs.filter(([code]) => code)
		.map(([code, name]) => `<span><a href="${esc(api.linkTo('region.html', { code }))}">${esc(name || code)}</a></span>`).join('') +
		`<span><a href="${esc(api.linkTo('projects.html'))}">${esc(t('nav_projects'))}</a></span>`;
	const band = spiBand(c.spi);
	const status = projectStatus(c);
	document.getElementById('badges').innerHTML = `<span class="chip">${esc(p.id)}</span> <span class="chip">${esc(stageLabel(p.stage))}</span> ` +
		`<span class="chip ${band}">SPI ${esc(fmtSpi(c.spi))}</span>${status === 'stalled' ? ` <span class="chip red">${esc(t('kpi_proj_stalled'))}</span>` : ''}`;
	const stat = (k, v, cls = '', small = '') => `<div class="stat ${cls}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}${small ? `<small>${esc(small)}</small>` : ''}</div></div>`;
	const silentCls = isNum(c.days_silent) ? (c.days_silent >= STALLED_DAYS ? 'red' : c.days_silent > SILENT_DAYS ? 'amber' : '') : '';
	document.getElementById('stats').innerHTML =
		stat(label('progress_pct'), fmtPct(c.progress_pct), band === 'red' ? 'red' : band === 'amber' ? 'amber' : '', `${t('ms_planned')} ${fmtPct(c.planned_pct)}`) +
		stat('SPI', fmtSpi(c.spi), band === 'red' ? 'red' : band === 'amber' ? 'amber' : '', band ? t(`band_${band}`) : '') +
		stat(label('alloc_fen'), fmtMoney(c.alloc_fen)) +
		stat(label('paid_fen'), fmtMoney(c.paid_fen), '', fmtPct(ratioPct(c.paid_fen, c.alloc_fen))) +
		stat(label('reimbursed_fen'), fmtMoney(c.reimbursed_fen)) +
		stat(label('benef_hh'), fmtInt(c.benef_hh), '', `${t('form_benef_poor')} ${fmtInt(c.benef_poor_hh)}`) +
		stat(label('jobs'), fmtInt(c.jobs)) +
		stat(label('days_silent'), isNum(c.days_silent) ? t('days_n', { n: fmtInt(c.days_silent) }) : '—', silentCls);
	const fact = (k, v) => `<dt>${esc(k)}</dt><dd>${v}</dd>`;
	document.getElementById('facts').innerHTML =
		fact(t('col_category'), esc(categoryLabel(p.category))) +
		fact(t('col_department'), esc(p.department || '—')) +
		fact(t('fact_location'), `<a href="${esc(api.linkTo('region.html', { code: p.location }))}">${esc(S.names.get(p.location) || p.location)}</a>`) +
		fact(t('fact_period'), `${esc(p.start_date || '—')} — ${esc(p.planned_end || '—')}`) +
		fact(t('col_invest'), esc(fmtMoney(p.invest_fen))) +
		fact(t('fact_planned_hh'), esc(fmtInt(p.planned_hh)));
}

// ---- milestone timeline ----

function renderTimeline() {
	const p = S.project;
	const today = api.lastTime().date;
	const el = document.getElementById('timeline');
	const ms = [...p.milestones].sort((a, b) => a.planned_date.localeCompare(b.planned_date));
	if (!ms.length) {
		el.innerHTML = `<p class="muted">${esc(t('no_data'))}</p>`;
		return;
	}
	const dates = [p.start_date, p.planned_end, today, ...ms.map((m) => m.planned_date), ...ms.map((m) => m.done_date)].filter(Boolean);
	const lo = cstDayStart(dates.reduce((a, b) => (a < b ? a : b)));
	const hi = cstDayStart(dates.reduce((a, b) => (a > b ? a : b)));
	const pad = Math.max(86400 * 7, (hi - lo) * 0.03);
	const x0 = lo - pad, x1 = hi + pad;
	const pos = (date) => ((cstDayStart(date) - x0) / (x1 - x0)) * 100;
	// month ticks, thinned to fit
	const ticks = [];
	const d = new Date((x0 + 8 * 3600) * 1000);
	let y = d.getUTCFullYear(), m = d.getUTCMonth() + 1;
	const months = Math.round((x1 - x0) / (30.44 * 86400));
	const every = months > 36 ? 6 : months > 18 ? 3 : months > 9 ? 2 : 1;
	for (;;) {
		m++;
		if (m > 12) (m = 1), y++;
		const date = `${y}-${String(m).padStart(2, '0')}-01`;
		if (cstDayStart(date) > x1) break;
		if ((m - 1) % every === 0) ticks.push(date);
	}
	const grid = ticks.map((dt) => `<span class="tl-grid" style="left:${pos(dt)}%"></span>`).join('');
	let html = `<div class="tl-axis"><span></span><div class="tl-track">${ticks.map((dt) =>
		`<span class="tl-tick" style="left:${pos(dt)}%">${dt.slice(0, m === 1 && every === 1 ? 7 : 7)}</span>`).join('')}</div><span></span></div>`;
	for (const mstone of ms) {
		const pl = pos(mstone.planned_date);
		let span = '', mark = '', status;
		if (mstone.done_date) {
			const late = daysBetween(mstone.planned_date, mstone.done_date);
			const dn = pos(mstone.done_date);
			const cls = late > 30 ? 'late verylate' : late > 0 ? 'late' : '';
			span = `<span class="tl-span ${late > 0 ? 'late' : 'early'}" style="left:${Math.min(pl, dn)}%;width:${Math.abs(dn - pl)}%"></span>`;
			mark = `<span class="tl-mark done ${cls}" style="left:${dn}%" title="${esc(t('ms_done'))} ${esc(mstone.done_date)}"></span>`;
			status = late > 0 ? `<span class="chip ${late > 30 ? 'red' : 'amber'}">${esc(t('ms_late', { n: late }))}</span>`
				: late < 0 ? `<span class="chip green">${esc(t('ms_early', { n: -late }))}</span>` : `<span class="chip green">${esc(t('ms_ontime'))}</span>`;
		} else if (mstone.planned_date < today) {
			const over = daysBetween(mstone.planned_date, today);
			span = `<span class="tl-span overdue" style="left:${pl}%;width:${pos(today) - pl}%"></span>`;
			status = `<span class="chip ${over > 30 ? 'red' : 'amber'}">${esc(t('ms_overdue', { n: over }))}</span>`;
		} else {
			status = `<span class="chip">${esc(t('ms_open'))}</span>`;
		}
		html += `<div class="tl-row" data-ms="${esc(mstone.name)}"><div class="tl-name" title="${esc(mstone.name)}">${esc(mstone.name)}<small>${esc(t('ms_weight'))} ${esc(String(mstone.weight))}</small></div>` +
			`<div class="tl-track">${grid}${span}<span class="tl-mark planned" style="left:${pl}%" title="${esc(t('ms_planned'))} ${esc(mstone.planned_date)}"></span>${mark}</div>` +
			`<div class="tl-status">${status}</div></div>`;
	}
	el.innerHTML = `${html}<div class="tl-row tl-foot"><span></span><div class="tl-track" style="height:0"><span class="tl-today" style="left:${pos(today)}%;top:-${34 * ms.length}px"></span></div><span></span></div>`;
}

// ---- charts ----

function makeCharts() {
	for (const c of Object.values(S.charts)) c.destroy();
	S.charts.progress = new TimeChart(document.getElementById('chart-progress'), {
		series: PROGRESS_SERIES.map((s) => ({ ...s, label: label(s.key) })), height: 240 });
	S.charts.spending = new TimeChart(document.getElementById('chart-spending'), {
		series: SPEND_SERIES.map((s) => ({ ...s, label: label(s.key) })), height: 240 });
}

async function loadHistory() {
	const keys = [...PROGRESS_SERIES, ...SPEND_SERIES].map((s) => s.key);
	const ranges = S.range ? [RANGES[S.range]] : [RANGES.year, RANGES.month, RANGES.week, RANGES.day];
	const { h, days } = await api.history(ID, keys, ranges);
	if (!S.range) {
		S.range = Object.keys(RANGES).find((r) => RANGES[r] === days);
		renderRange();
	}
	for (const c of Object.values(S.charts)) {
		c.setData(h.ts, h.values);
		c.opt.minGap = Math.max(60, h.step);
	}
}

function renderRange() {
	const seg = document.getElementById('range');
	seg.innerHTML = Object.keys(RANGES).map((r) => `<button type="button" data-range="${r}" aria-pressed="${r === S.range}">${esc(t(`range_${r}`))}</button>`).join('');
}

// ---- load ----

async function loadProject() {
	S.project = await api.getJSON(`/api/v1/projects/${encodeURIComponent(ID)}`);
}

async function main() {
	const chrome = initChrome('projects.html');
	if (!ID) {
		banner(`${t('err_not_found')}: ?id=`);
		return;
	}
	try {
		await withRetry(async () => {
			await api.syncTime();
			catalog = await api.catalog();
			await loadProject();
			const county = countyOf(S.project.location);
			if (county) for (const r of await api.regions(county)) S.names.set(r.code, r.name);
		}, (e) => banner(api.errorText(e, t)));
	} catch {
		return;
	}
	banner(null);
	renderHead();
	renderTimeline();
	renderRange();
	makeCharts();
	loadHistory().catch((e) => banner(api.errorText(e, t)));
	const forms = initForms({
		projectId: ID,
		onSubmitted: async () => {
			await loadProject().catch(() => {});
			renderHead();
			renderTimeline();
			forms.refresh(S.project);
		},
	});
	forms.refresh(S.project);

	document.getElementById('range').addEventListener('click', (ev) => {
		const r = ev.target.closest('[data-range]');
		if (!r) return;
		S.range = r.dataset.range;
		const url = new URL(location.href);
		url.searchParams.set('range', S.range);
		history.replaceState(null, '', url);
		renderRange();
		loadHistory().catch((e) => banner(api.errorText(e, t)));
	});
	onLangChange(() => {
		renderHead();
		renderTimeline();
		renderRange();
		makeCharts();
		loadHistory().catch(() => {});
		forms.refresh(S.project);
	});
	S.live = new LiveClient({
		topics: [`project:${ID}`],
		onSnapshot: () => renderHead(),
		onDelta: (topic, msg) => {
			// a delta carries only the changed metrics: chart the merged values
			const e = msg.entities && msg.entities[ID] && S.live.entity(ID);
			if (e) for (const c of Object.values(S.charts)) c.append(msg.at || Math.floor(api.serverNow()), e.values);
			renderHead();
		},
		onState: chrome.setConnection,
	});
	S.live.start();
	// milestones and stage are not in the live feed: re-read them now and then
	setInterval(() => loadProject().then(() => { renderHead(); renderTimeline(); forms.refresh(S.project); }).catch(() => {}), 120_000);
}

main();
