// projects.js: the project tracker. One table of the county's industry
// projects: progress against plan with the SPI band (green ≥ 0.95, amber
// 0.90–0.95, red < 0.90), spending against allocation, beneficiaries and
// days since the last report. Sortable by any column, filterable by
// township, category, department, stage and schedule band; the filters live
// in the address so a filtered view can be bookmarked or sent on.
// The list reloads when the county's project roll-ups change (live topic)
// and every minute.

import * as api from './api.js';
import { LiveClient } from './live.js';
import { t, onLangChange, stageLabel, categoryLabel, STAGE_KEYS } from './i18n.js';
import { esc, fmtInt, fmtPct, fmtSpi, fmtMoney, isNum, ratioPct, townshipOf } from './format.js';
import { progressBar } from './chart.js';
import { initChrome, banner, spiBand, projectStatus, SILENT_DAYS, STALLED_DAYS, withRetry } from './common.js';

const S = { county: null, names: new Map(), projects: [], sort: { key: 'spi', dir: 'asc' } };
const FILTERS = ['township', 'category', 'department', 'stage', 'band', 'q'];

function filterValues() {
	const out = {};
	for (const name of FILTERS) out[name] = document.querySelector(`[name="${name}"]`).value;
	return out;
}

/** Keep filters and sort in the address (replaceState: no history spam). */
function saveToUrl() {
	const url = new URL(location.href);
	const f = filterValues();
	for (const k of FILTERS) if (f[k]) url.searchParams.set(k, f[k]); else url.searchParams.delete(k);
	url.searchParams.set('sort', `${S.sort.key}:${S.sort.dir}`);
	history.replaceState(null, '', url);
}

function row(p) {
	const c = p.current || {};
	return {
		p, c,
		id: p.id,
		name: p.name || p.id,
		township: townshipOf(p.location) || '',
		townshipName: S.names.get(townshipOf(p.location)) || '',
		locationName: S.names.get(p.location) || p.location || '',
		category: p.category || '',
		department: p.department || '',
		stage: p.stage || '',
		progress: c.progress_pct,
		planned: c.planned_pct,
		spi: c.spi,
		band: spiBand(c.spi),
		status: projectStatus(c),
		spend: ratioPct(c.paid_fen, c.alloc_fen),
		invest: p.invest_fen,
		benef: c.benef_hh,
		silent: c.days_silent,
	};
}

function matches(r, f) {
	if (f.township && r.township !== f.township) return false;
	if (f.category && r.category !== f.category) return false;
	if (f.department && r.department !== f.department) return false;
	if (f.stage && r.stage !== f.stage) return false;
	if (f.band) {
		if (f.band === 'stalled' && r.status !== 'stalled') return false;
		if (f.band === 'none' && r.band) return false;
		if (['green', 'amber', 'red'].includes(f.band) && r.band !== f.band) return false;
	}
	if (f.q) {
		const q = f.q.toLowerCase();
		if (!`${r.id} ${r.name} ${r.locationName} ${r.townshipName}`.toLowerCase().includes(q)) return false;
	}
	return true;
}

function compare(a, b) {
	const { key, dir } = S.sort;
	const sign = dir === 'asc' ? 1 : -1;
	const va = key === 'township' ? a.townshipName : a[key], vb = key === 'township' ? b.townshipName : b[key];
	const na = va === null || va === undefined || va === '', nb = vb === null || vb === undefined || vb === '';
	if (na || nb) return na && nb ? 0 : na ? 1 : -1; // unknown last, whichever the direction
	if (typeof va === 'number' && typeof vb === 'number') return (va - vb) * sign;
	return String(va).localeCompare(String(vb), 'zh-CN') * sign;
}

function renderStats(rows) {
	const sum = (k) => rows.reduce((a, r) => a + (isNum(r.c[k]) ? r.c[k] : 0), 0);
	const invest = rows.reduce((a, r) => a + (r.invest || 0), 0);
	const alloc = sum('alloc_fen'), paid = sum('paid_fen');
	const behind = rows.filter((r) => r.band === 'red' || r.band === 'amber').length;
	const silent = rows.filter((r) => isNum(r.silent) && r.silent > SILENT_DAYS).length;
	const stat = (k, v, cls = '', small = '') => `<div class="stat ${cls}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}${small ? `<small>${esc(small)}</small>` : ''}</div></div>`;
	document.getElementById('stats').innerHTML =
		stat(t('kpi_projects'), fmtInt(rows.length)) +
		stat(t('sum_invest'), fmtMoney(invest)) +
		stat(t('sum_alloc'), fmtMoney(alloc)) +
		stat(t('sum_paid'), fmtMoney(paid), '', fmtPct(ratioPct(paid, alloc))) +
		stat(t('sum_behind'), fmtInt(behind), behind ? 'amber' : '') +
		stat(t('sum_silent'), fmtInt(silent), silent ? 'red' : '');
}

function render() {
	const f = filterValues();
	const all = S.projects.map(row);
	const rows = all.filter((r) => matches(r, f)).sort(compare);
	renderStats(rows);
	document.getElementById('count').textContent = rows.length === all.length ? t('n_projects', { n: all.length }) : t('n_shown', { n: rows.length, total: all.length });
	for (const th of document.querySelectorAll('th[data-sort]'))
		th.setAttribute('aria-sort', th.dataset.sort === S.sort.key ? (S.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
	const tbody = document.querySelector('#table tbody');
	if (!rows.length) {
		tbody.innerHTML = `<tr><td colspan="12" class="muted">${esc(S.projects.length ? t('no_data') : t('loading'))}</td></tr>`;
		return;
	}
	tbody.innerHTML = rows.map((r) => {
		const c = r.c;
		const silentCls = isNum(r.silent) ? (r.silent >= STALLED_DAYS ? 'silent-crit' : r.silent > SILENT_DAYS ? 'silent-warn' : '') : '';
		const bandLabel = r.status === 'stalled' ? t('kpi_proj_stalled') : r.band ? t(`band_${r.band}`) : t('band_none');
		return `<tr data-id="${esc(r.id)}" data-band="${r.band}">
			<td class="idcell">${esc(r.id)}</td>
			<td><a href="${esc(api.linkTo('project.html', { id: r.id }))}">${esc(r.name)}</a>${r.status === 'stalled' ? ` <span class="chip red">${esc(t('kpi_proj_stalled'))}</span>` : ''}
				<div class="muted" style="font-size:12px">${esc(r.locationName !== r.townshipName ? r.locationName : '')}</div></td>
			<td>${r.township ? `<a href="${esc(api.linkTo('region.html', { code: r.township }))}">${esc(r.townshipName || r.township)}</a>` : ''}</td>
			<td>${esc(categoryLabel(r.category))}</td>
			<td>${esc(r.department)}</td>
			<td><span class="chip">${esc(stageLabel(r.stage))}</span></td>
			<td><div class="cell-pbar">${progressBar(r.progress, r.planned, r.band)}<span class="nums">${esc(fmtPct(r.progress, 0))} / ${esc(fmtPct(r.planned, 0))}</span></div></td>
			<td class="num"><span class="spi ${r.band}" title="${esc(bandLabel)}">${esc(fmtSpi(r.spi))}</span></td>
			<td><div class="cell-pbar">${progressBar(r.spend, null, '')}<span class="nums">${esc(fmtMoney(c.paid_fen))} / ${esc(fmtMoney(c.alloc_fen))}</span></div></td>
			<td class="num">${esc(fmtMoney(r.invest))}</td>
			<td class="num">${esc(fmtInt(c.benef_hh))}<span class="muted"> (${esc(fmtInt(c.benef_poor_hh))})</span></td>
			<td class="num ${silentCls}">${isNum(r.silent) ? esc(t('days_n', { n: fmtInt(r.silent) })) : '—'}</td>
		</tr>`;
	}).join('');
}

function fillSelect(name, options, keep) {
	const sel = document.querySelector(`select[name="${name}"]`);
	const cur = keep ?? sel.value;
	sel.innerHTML = `<option value="">${esc(t('all'))}</option>` + options.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join('');
	sel.value = options.some(([v]) => v === cur) ? cur : '';
}

function fillFilters(initial = {}) {
	const uniq = (xs) => [...new Set(xs.filter(Boolean))];
	const towns = uniq(S.projects.map((p) => townshipOf(p.location))).sort();
	fillSelect('township', towns.map((c) => [c, S.names.get(c) || c]), initial.township);
	fillSelect('category', uniq(S.projects.map((p) => p.category)).map((c) => [c, categoryLabel(c)]), initial.category);
	fillSelect('department', uniq(S.projects.map((p) => p.department)).sort((a, b) => a.localeCompare(b, 'zh-CN')).map((d) => [d, d]), initial.department);
	const stages = STAGE_KEYS.filter((s) => S.projects.some((p) => p.stage === s));
	fillSelect('stage', stages.map((s) => [s, stageLabel(s)]), initial.stage);
	fillSelect('band', [['green', `${t('band_green')} (≥ 0.95)`], ['amber', `${t('band_amber')} (0.90–0.95)`], ['red', `${t('band_red')} (< 0.90)`],
		['stalled', t('kpi_proj_stalled')], ['none', t('band_none')]], initial.band);
}

async function load() {
	S.projects = (await api.getJSON('/api/v1/projects', { under: S.county })).projects;
	banner(null);
	fillFilters();
	render();
}

let reloadTimer = null;
function reloadSoon() {
	clearTimeout(reloadTimer);
	reloadTimer = setTimeout(() => load().catch((e) => banner(api.errorText(e, t))), 3000);
}

async function main() {
	const chrome = initChrome('projects.html');
	const sortParam = (api.param('sort') || '').split(':');
	if (sortParam[0]) S.sort = { key: sortParam[0], dir: sortParam[1] === 'desc' ? 'desc' : 'asc' };
	const initial = Object.fromEntries(FILTERS.map((k) => [k, api.param(k, '')]));
	document.querySelector('[name="q"]').value = initial.q;
	try {
		await withRetry(async () => {
			await api.syncTime();
			S.county = await api.pickCounty();
			for (const r of await api.regions(S.county)) S.names.set(r.code, r.name);
			S.projects = (await api.getJSON('/api/v1/projects', { under: S.county })).projects;
		}, (e) => banner(api.errorText(e, t)));
	} catch {
		return;
	}
	banner(null);
	document.getElementById('crumbs').innerHTML = `<span><a href="${esc(api.linkTo('region.html', { code: S.county }))}">${esc(S.names.get(S.county) || S.county)}</a></span>`;
	fillFilters(initial);
	render();

	document.getElementById('filters').addEventListener('input', () => {
		saveToUrl();
		render();
	});
	document.getElementById('reset').addEventListener('click', () => {
		for (const name of FILTERS) document.querySelector(`[name="${name}"]`).value = '';
		saveToUrl();
		render();
	});
	for (const th of document.querySelectorAll('th[data-sort]'))
		th.addEventListener('click', () => {
			const key = th.dataset.sort;
			S.sort = { key, dir: S.sort.key === key && S.sort.dir === 'asc' ? 'desc' : 'asc' };
			saveToUrl();
			render();
		});
	onLangChange(() => {
		fillFilters();
		render();
	});
	const live = new LiveClient({
		topics: [`region:${S.county}`],
		onDelta: () => reloadSoon(),
		onState: chrome.setConnection,
	});
	live.start();
	setInterval(() => load().catch((e) => banner(api.errorText(e, t))), 60_000);
}

main();
