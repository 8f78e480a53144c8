// region.js: a county, township or village: every metric over a chosen
// range (day, week, month, year, 5 years — the server picks the resolution),
// its subdivisions with their key figures and links (the drill-down from the
// wall and the console), and the projects located there. Live: the region's
// topic updates the current values and appends chart points.

import * as api from './api.js';
import { LiveClient } from './live.js';
import { t, onLangChange, metricLabel } from './i18n.js';
import { esc, fmtInt, fmtPct, fmtSpi, fmtMoney, isNum, ratioPct, regionLevel, countyOf, townshipOf } from './format.js';
import { TimeChart, unitKind, formatterOf, PALETTE } from './chart.js';
import { initChrome, banner, spiBand, withRetry } from './common.js';

const RANGES = { day: 1, week: 7, month: 30, year: 365, '5y': 5 * 365 };
const GROUPS = [
	['grp_poverty', ['poor_hh', 'poor_people', 'exited_hh', 'exited_people', 'population', 'incidence_pct', 'income_pc_yuan']],
	['grp_monitoring', ['mon_unstable_hh', 'mon_marginal_hh', 'mon_sudden_hh', 'mon_removed_hh', 'below_line_hh']],
	['grp_guarantees', ['dropouts', 'uninsured', 'unsafe_houses', 'no_water_hh']],
	['grp_jobs', ['migrant_workers', 'welfare_jobs', 'trainees']],
	['grp_funds', ['funds_alloc_fen', 'pay_issued_fen', 'pay_paid_fen', 'pay_failed']],
	['grp_projects', ['proj_total', 'proj_started', 'proj_completed', 'proj_budget_fen', 'proj_ev_fen', 'proj_pv_fen', 'proj_spi', 'proj_alloc_fen', 'proj_paid_fen', 'proj_benef_hh']],
];
const GROUP_LABELS = {
	grp_poverty: ['贫困人口与脱贫', 'Poverty and exits'], grp_monitoring: ['防返贫监测', 'Monitoring against relapse'],
	grp_guarantees: ['两不愁三保障与饮水', 'Basic guarantees and water'], grp_jobs: ['就业与培训', 'Jobs and training'],
	grp_funds: ['资金与一卡通', 'Funds and card payments'], grp_projects: ['产业项目', 'Industry projects'],
};

const S = { code: null, level: null, catalog: null, names: new Map(), metrics: [], charts: new Map(), range: api.param('range'), live: null, projects: [] };
if (S.range && !(S.range in RANGES)) S.range = null;

const en = () => document.documentElement.lang === 'en';
const groupLabel = (g) => GROUP_LABELS[g][en() ? 1 : 0];

function metricsFor(level) {
	const entity = level === 'village' ? ['village'] : ['village', 'region'];
	return S.catalog.metrics.filter((m) => entity.includes(m.entity));
}

function valueText(m, v) {
	const fmt = formatterOf(unitKind(m));
	if (!isNum(v)) return '—';
	if (m.type === 'money_fen') return fmt(v);
	const unit = m.unit && !['%', '分', ''].includes(m.unit) ? m.unit : '';
	return `${fmt(v)}${unit ? `<small>${esc(en() ? '' : unit)}</small>` : ''}`;
}

function renderMetrics() {
	const box = document.getElementById('metrics');
	for (const c of S.charts.values()) c.destroy();
	S.charts.clear();
	const keys = new Set(S.metrics.map((m) => m.key));
	box.innerHTML = GROUPS.filter(([, list]) => list.some((k) => keys.has(k))).map(([g, list]) =>
		`<section class="m-section"><h2>${esc(groupLabel(g))}</h2><div class="m-grid">${list.filter((k) => keys.has(k)).map((k) => {
			const m = S.catalog.byKey.get(k);
			return `<div class="m-card" data-metric="${k}"><div class="m-head"><span class="m-label" title="${esc(metricLabel(m))}">${esc(metricLabel(m))}</span>` +
				`<span class="m-value">—</span></div><div class="m-chart"></div></div>`;
		}).join('')}</div></section>`).join('');
	const KIND_COLOR = { money: PALETTE[2], pct: PALETTE[1], spi: PALETTE[1], count: PALETTE[0], num: PALETTE[4] };
	for (const card of box.querySelectorAll('.m-card')) {
		const m = S.catalog.byKey.get(card.dataset.metric);
		S.charts.set(m.key, new TimeChart(card.querySelector('.m-chart'), {
			legend: false, fontPx: 11, height: 120,
			series: [{ key: m.key, label: metricLabel(m), kind: unitKind(m), color: KIND_COLOR[unitKind(m)], fill: true }],
		}));
	}
	renderValues();
}

function renderValues() {
	const e = S.live && S.live.entity(S.code);
	const values = (e && e.values) || S.state || {};
	for (const card of document.querySelectorAll('.m-card')) {
		const m = S.catalog.byKey.get(card.dataset.metric);
		card.querySelector('.m-value').innerHTML = valueText(m, values[m.key]);
	}
}

async function loadHistory() {
	const keys = S.metrics.map((m) => m.key);
	const ranges = S.range ? [RANGES[S.range]] : [RANGES.year, RANGES.month, RANGES.week, RANGES.day];
	const { h, days } = await api.history(S.code, keys, ranges);
	if (!S.range) {
		S.range = Object.keys(RANGES).find((r) => RANGES[r] === days);
		renderRange();
	}
	for (const [key, chart] of S.charts) {
		chart.setData(h.ts, { [key]: h.values[key] || [] });
		chart.opt.minGap = Math.max(60, h.step);
	}
}

function renderRange() {
	document.getElementById('range').innerHTML = Object.keys(RANGES)
		.map((r) => `<button type="button" data-range="${r}" aria-pressed="${r === S.range}">${esc(t(`range_${r}`))}</button>`).join('');
}

function renderHead() {
	const name = S.names.get(S.code) || (S.live && S.live.entity(S.code)?.name) || S.code;
	document.title = `${name} · ${t('app_title')}`;
	document.getElementById('title').textContent = name;
	document.getElementById('level').innerHTML = `<span class="chip">${esc(t(`level_${S.level}`))}</span> <span class="chip">${esc(S.code)}</span>`;
	const chain = [];
	const county = countyOf(S.code), town = townshipOf(S.code);
	if (S.level !== 'county' && county) chain.push(county);
	if (S.level === 'village' && town) chain.push(town);
	document.getElementById('crumbs').innerHTML = chain.map((c) => `<span><a href="${esc(api.linkTo('region.html', { code: c }))}">${esc(S.names.get(c) || c)}</a></span>`).join('') +
		`<span>${esc(name)}</span>`;
}

function renderChildren() {
	const keys = S.live ? [...S.live.keysOf(`region:${S.code}`)].filter((k) => k !== S.code) : [];
	const kids = keys.map((k) => [k, S.live.entity(k)]).filter(([, e]) => e && e.kind !== 'project')
		.sort((a, b) => a[0].localeCompare(b[0]));
	const table = document.getElementById('children');
	document.getElementById('children-count').textContent = kids.length ? String(kids.length) : '';
	if (!kids.length) {
		table.innerHTML = `<tbody><tr><td class="muted">${esc(S.level === 'village' ? '—' : t('loading'))}</td></tr></tbody>`;
		return;
	}
	const showSpi = S.level === 'county';
	table.innerHTML = `<thead><tr><th>${esc(t('col_name'))}</th><th class="num">${esc(t('kpi_poor_hh'))}</th><th class="num">${esc(t('exit_rate'))}</th>` +
		`<th class="num">${esc(t('kpi_incidence'))}</th>${showSpi ? '<th class="num">SPI</th>' : ''}</tr></thead><tbody>` +
		kids.map(([k, e]) => {
			const v = e.values;
			const inc = v.incidence_pct;
			return `<tr><td><a href="${esc(api.linkTo('region.html', { code: k, range: S.range }))}">${esc(e.name || k)}</a></td>` +
				`<td class="num">${esc(fmtInt(v.poor_hh))}</td><td class="num">${esc(fmtPct(ratioPct(v.exited_hh, v.poor_hh)))}</td>` +
				`<td class="num" style="color:${isNum(inc) && inc >= 5 ? 'var(--red)' : isNum(inc) && inc >= 3 ? 'var(--amber)' : 'inherit'}">${esc(fmtPct(inc, 2))}</td>` +
				`${showSpi ? `<td class="num"><span class="spi ${spiBand(v.proj_spi)}">${esc(fmtSpi(v.proj_spi))}</span></td>` : ''}</tr>`;
		}).join('') + '</tbody>';
}

function renderProjects() {
	const table = document.getElementById('projects');
	document.getElementById('projects-count').textContent = S.projects.length ? String(S.projects.length) : '';
	if (!S.projects.length) {
		table.innerHTML = `<tbody><tr><td class="muted">${esc(t('no_data'))}</td></tr></tbody>`;
		return;
	}
	table.innerHTML = `<thead><tr><th>${esc(t('col_name'))}</th><th class="num">${esc(t('col_progress'))}</th><th class="num">SPI</th><th class="num">${esc(t('col_invest'))}</th></tr></thead><tbody>` +
		[...S.projects].sort((a, b) => (a.current.spi ?? 9) - (b.current.spi ?? 9)).map((p) =>
			`<tr><td><a href="${esc(api.linkTo('project.html', { id: p.id }))}">${esc(p.name || p.id)}</a></td>` +
			`<td class="num">${esc(fmtPct(p.current.progress_pct, 0))} / ${esc(fmtPct(p.current.planned_pct, 0))}</td>` +
			`<td class="num"><span class="spi ${spiBand(p.current.spi)}">${esc(fmtSpi(p.current.spi))}</span></td>` +
			`<td class="num">${esc(fmtMoney(p.invest_fen))}</td></tr>`).join('') + '</tbody>';
}

async function main() {
	const chrome = initChrome('region.html');
	try {
		await withRetry(async () => {
			await api.syncTime();
			S.catalog = await api.catalog();
			S.code = api.param('code') || await api.pickCounty();
			S.level = regionLevel(S.code);
			if (!S.level) throw new api.ApiError(400, { error: 'bad code', reason: S.code });
			for (const r of await api.regions(countyOf(S.code))) S.names.set(r.code, r.name);
			S.state = (await api.getJSON('/api/v1/state', { entity: S.code })).values;
			S.projects = (await api.getJSON('/api/v1/projects', { under: S.code })).projects;
		}, (e) => banner(api.errorText(e, t)));
	} catch {
		return;
	}
	banner(null);
	S.metrics = metricsFor(S.level);
	renderHead();
	renderRange();
	renderMetrics();
	renderChildren();
	renderProjects();
	loadHistory().catch((e) => banner(api.errorText(e, t)));

	document.getElementById('range').addEventListener('click', (ev) => {
		const b = ev.target.closest('[data-range]');
		if (!b) return;
		S.range = b.dataset.range;
		const url = new URL(location.href);
		url.searchParams.set('range', S.range);
		history.replaceState(null, '', url);
		renderRange();
		loadHistory().catch((e) => banner(api.errorText(e, t)));
	});
	onLangChange(() => {
		renderHead();
		renderRange();
		renderMetrics();
		renderChildren();
		renderProjects();
		loadHistory().catch(() => {});
	});
	S.live = new LiveClient({
		topics: [`region:${S.code}`],
		onSnapshot: () => {
			renderValues();
			renderChildren();
		},
		onDelta: (topic, msg) => {
			// a delta carries only the changed metrics: chart the merged values, every chart gets the point
			const e = msg.entities && msg.entities[S.code] && S.live.entity(S.code);
			if (e) for (const [key, chart] of S.charts) if (key in e.values) chart.append(msg.at || Math.floor(api.serverNow()), e.values);
			renderValues();
			renderChildren();
		},
		onState: chrome.setConnection,
	});
	S.live.start();
	setInterval(() => api.getJSON('/api/v1/projects', { under: S.code }).then((r) => { S.projects = r.projects; renderProjects(); }).catch(() => {}), 120_000);
}

main();
