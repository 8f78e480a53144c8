// wall.js: the command-room display.
//
// Data: the county's live topic (the county and its townships, current
// values) drives the KPI tiles and rankings; charts load their history from
// /api/v1/history and get live points appended from the deltas; projects
// come from /api/v1/projects (refreshed when the county's project roll-ups
// change, and every few minutes). A township spotlight subscribes to that
// township's topic while it is on screen.
//
// Unattended for months: the live client reconnects by itself and resumes
// from its last seq; figures are marked stale when the server has not been
// heard from for ?stale= seconds; charts keep capped buffers; and the page
// reloads itself once a night at 03:00 Shanghai time (server clock), but
// only after checking that the server answers, so a reload never lands on
// an error page.

import * as api from './api.js';
import { LiveClient, connectionBadge } from './live.js';
import { t, applyI18n, bindLangSwitch, onLangChange, metricLabel } from './i18n.js';
import { fmtInt, fmtFixed, fmtPct, fmtSpi, fmtMoney, moneyParts, fmtTime, fmtLongDate, isNum, ratioPct, cstSecondsOfDay } from './format.js';
import { TimeChart, PALETTE } from './chart.js';
import { projectStatus, spiBand } from './common.js';
import { AlertStore } from './alerts-model.js';
import { setKpi, setProjectCounts, renderRank, renderWorst, renderLegend, renderTicker, legendValue } from './wall-render.js';

const ALL_VIEWS = ['overview', 'funds', 'projects', 'spotlight'];
const ROTATE_S = api.numParam('rotate', 60, 0, 86400);
const STALE_S = api.numParam('stale', 120, 5, 7 * 86400);
const HISTORY_DAYS = api.numParam('days', 90, 2, 5 * 365);
const VIEWS = (api.param('views') || ALL_VIEWS.join(',')).split(',').filter((v) => ALL_VIEWS.includes(v));
if (!VIEWS.length) VIEWS.push('overview');

const S = {
	county: null,
	countyName: '',
	names: new Map(), // code -> name
	townships: [], // [{code, name}]
	projects: [],
	catalog: null,
	view: VIEWS[0],
	viewStarted: Date.now(),
	spotIdx: -1,
	spot: null, // township code in the spotlight
	charts: {},
	loadedAt: Date.now(),
	lastContact: 0, // screen ms of the last frame from the server
};
const alerts = new AlertStore();
let live;

// ---- chart definitions (series keys are metric keys) ----

const COLORS = { blue: PALETTE[0], amber: PALETTE[1], green: PALETTE[2], pink: PALETTE[3], violet: PALETTE[4], red: PALETTE[5], cyan: PALETTE[6] };
const CHARTS = {
	exits: { entity: 'county', series: [
		{ key: 'poor_hh', kind: 'count', color: COLORS.blue },
		{ key: 'exited_hh', kind: 'count', color: COLORS.green, fill: true },
		{ key: 'incidence_pct', kind: 'pct', color: COLORS.amber, dash: [8, 6] }] },
	monitored: { entity: 'county', series: [
		{ key: 'mon_unstable_hh', kind: 'count', color: COLORS.amber },
		{ key: 'mon_marginal_hh', kind: 'count', color: COLORS.pink },
		{ key: 'mon_sudden_hh', kind: 'count', color: COLORS.red },
		{ key: 'mon_removed_hh', kind: 'count', color: COLORS.green }] },
	funds: { entity: 'county', series: [
		{ key: 'proj_alloc_fen', kind: 'money', color: COLORS.blue },
		{ key: 'proj_paid_fen', kind: 'money', color: COLORS.green, fill: true },
		{ key: 'funds_alloc_fen', kind: 'money', color: COLORS.violet, labelKey: 'kpi_village_funds' },
		{ key: 'pay_paid_fen', kind: 'money', color: COLORS.amber }] },
	ev: { entity: 'county', series: [
		{ key: 'proj_pv_fen', kind: 'money', color: COLORS.blue, dash: [8, 6] },
		{ key: 'proj_ev_fen', kind: 'money', color: COLORS.green, fill: true },
		{ key: 'proj_spi', kind: 'spi', color: COLORS.amber }] },
	t_exits: { entity: 'spot', series: [
		{ key: 'poor_hh', kind: 'count', color: COLORS.blue },
		{ key: 'exited_hh', kind: 'count', color: COLORS.green, fill: true },
		{ key: 'incidence_pct', kind: 'pct', color: COLORS.amber, dash: [8, 6] }] },
};
const VIEW_CHARTS = { overview: ['exits', 'monitored'], funds: ['funds'], projects: ['ev'], spotlight: ['t_exits'] };

function seriesLabels(def) {
	return def.series.map((s) => (s.labelKey ? t(s.labelKey) : metricLabel(S.catalog.byKey.get(s.key)) || s.key));
}

function rootPx() {
	return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}

function makeChart(name) {
	const def = CHARTS[name];
	const el = document.querySelector(`[data-chart="${name}"]`);
	const labels = seriesLabels(def);
	const chart = new TimeChart(el, {
		theme: 'dark', legend: false, fontPx: Math.round(rootPx() * 1.0), maxPoints: 1500, minGap: 300,
		series: def.series.map((s, i) => ({ ...s, label: labels[i], width: Math.max(2, rootPx() / 6) })),
	});
	S.charts[name] = chart;
	return chart;
}

function entityOf(name) {
	return CHARTS[name].entity === 'spot' ? S.spot : S.county;
}

/**
 * History of a chart: the longest range (?days=, then 14 days, then 2) that
 * holds enough points at the resolution the server picks for it. A young
 * installation has only hours of data; a 90-day chart would show one dot.
 */
async function loadHistory(name) {
	const key = entityOf(name);
	if (!key) return;
	const ranges = [...new Set([HISTORY_DAYS, 14, 2])].filter((d) => d <= HISTORY_DAYS);
	const { h } = await api.history(key, CHARTS[name].series.map((s) => s.key), ranges);
	if (entityOf(name) !== key) return; // the spotlight moved on meanwhile
	const chart = S.charts[name] || makeChart(name);
	chart.setData(h.ts, h.values);
	chart.opt.minGap = Math.max(60, h.step); // live points no denser than the history
	drawLegend(name);
}

function drawLegend(name) {
	const def = CHARTS[name];
	const e = live && live.entity(entityOf(name));
	const labels = seriesLabels(def);
	renderLegend(name, def.series.map((s, i) => ({ ...s, label: labels[i] })), e && e.values, legendValue(fmtMoney));
}

// ---- figures ----

const v = (e, k) => (e && e.values && isNum(e.values[k]) ? e.values[k] : null);
const sum = (...xs) => (xs.every((x) => x === null) ? null : xs.reduce((a, x) => a + (x || 0), 0));

function money(fen) {
	const p = moneyParts(fen, undefined, true);
	return { value: p.value, unit: p.unit };
}

function renderOverview() {
	const c = live.entity(S.county);
	setKpi('poor_hh', { value: fmtInt(v(c, 'poor_hh')), sub: `${t('kpi_poor_people')} ${fmtInt(v(c, 'poor_people'))} ${t('unit_people')}` });
	const exitRate = ratioPct(v(c, 'exited_hh'), v(c, 'poor_hh'));
	setKpi('exited', { value: fmtInt(v(c, 'exited_hh')), sub: `${t('kpi_exited_people_sub', { n: fmtInt(v(c, 'exited_people')) })} · ${t('kpi_exited_sub', { pct: fmtPct(exitRate) })}`,
		cls: exitRate === null ? '' : exitRate >= 90 ? 'good' : '' });
	const inc = v(c, 'incidence_pct');
	setKpi('incidence', { value: fmtFixed(inc, 2), sub: t('kpi_remaining', { n: fmtInt(v(c, 'poor_people') === null ? null : v(c, 'poor_people') - (v(c, 'exited_people') || 0)), pop: fmtInt(v(c, 'population')) }), cls: inc === null ? '' : inc < 3 ? 'good' : inc < 5 ? 'warn' : 'bad' });
	const a = v(c, 'mon_unstable_hh'), b = v(c, 'mon_marginal_hh'), s = v(c, 'mon_sudden_hh');
	setKpi('monitored', { value: fmtInt(sum(a, b, s)), sub: t('kpi_monitored_sub', { a: fmtInt(a), b: fmtInt(b), c: fmtInt(s) }) });
	// funds paid vs allocated: project funds and household (card) funds together
	const alloc = sum(v(c, 'proj_alloc_fen'), v(c, 'funds_alloc_fen'));
	const paid = sum(v(c, 'proj_paid_fen'), v(c, 'pay_paid_fen'));
	const rate = ratioPct(paid, alloc);
	setKpi('funds', { value: fmtFixed(rate, 1), bar: rate, sub: t('kpi_funds_sub', { paid: fmtMoney(paid), alloc: fmtMoney(alloc) }),
		cls: rate === null ? '' : rate >= 80 ? 'good' : rate >= 60 ? 'warn' : 'bad' });
	const counts = { on_track: 0, behind: 0, stalled: 0, none: 0 };
	for (const p of S.projects) counts[projectStatus(p.current)]++;
	setProjectCounts(S.projects.length ? counts : {}, `SPI ${fmtSpi(v(c, 'proj_spi'))} · ${t('proj_total_n', { n: fmtInt(v(c, 'proj_total')) })}`);

	const towns = townshipRows();
	renderRank('incidence', towns.filter((r) => isNum(r.inc)).sort((x, y) => y.inc - x.inc)
		.map((r) => ({ name: r.name, value: r.inc, text: fmtPct(r.inc, 2), cls: r.inc >= 5 ? 'bad' : r.inc >= 3 ? 'warn' : 'good' })));
}

function townshipRows() {
	return S.townships.map(({ code, name }) => {
		const e = live.entity(code);
		return {
			code, name: (e && e.name) || name, e,
			inc: v(e, 'incidence_pct'),
			exit: ratioPct(v(e, 'exited_hh'), v(e, 'poor_hh')),
			spend: ratioPct(v(e, 'proj_paid_fen'), v(e, 'proj_alloc_fen')),
			spi: v(e, 'proj_spi'),
		};
	});
}

function renderFunds() {
	const c = live.entity(S.county);
	const pa = v(c, 'proj_alloc_fen'), pp = v(c, 'proj_paid_fen');
	setKpi('proj_alloc', { ...money(pa), sub: `${t('kpi_budget')} ${fmtMoney(v(c, 'proj_budget_fen'))}` });
	setKpi('proj_paid', { ...money(pp), sub: `${t('sum_alloc')} ${fmtMoney(pa)}` });
	const rate = ratioPct(pp, pa);
	setKpi('proj_rate', { value: fmtFixed(rate, 1), bar: rate, sub: t('kpi_funds_sub', { paid: fmtMoney(pp), alloc: fmtMoney(pa) }),
		cls: rate === null ? '' : rate >= 80 ? 'good' : rate >= 60 ? 'warn' : 'bad' });
	setKpi('village_alloc', { ...money(v(c, 'funds_alloc_fen')), sub: metricLabel(S.catalog.byKey.get('funds_alloc_fen')) });
	const issued = v(c, 'pay_issued_fen'), cardPaid = v(c, 'pay_paid_fen');
	const cardRate = ratioPct(cardPaid, issued);
	setKpi('card', { value: fmtFixed(cardRate, 1), bar: cardRate, sub: t('kpi_card_sub', { paid: fmtMoney(cardPaid), issued: fmtMoney(issued) }),
		cls: cardRate === null ? '' : cardRate >= 98 ? 'good' : 'warn' });
	const failed = v(c, 'pay_failed');
	setKpi('pay_failed', { value: fmtInt(failed), unit: lang2('笔', ''), sub: metricLabel(S.catalog.byKey.get('pay_failed')), cls: failed ? 'bad' : failed === 0 ? 'good' : '' });
	renderRank('funds', townshipRows().filter((r) => isNum(r.spend)).sort((x, y) => y.spend - x.spend)
		.map((r) => ({ name: r.name, value: r.spend, text: fmtPct(r.spend), cls: r.spend >= 80 ? 'good' : r.spend >= 60 ? 'warn' : 'bad' })), { max: 100 });
}

function lang2(zh, en) {
	return document.documentElement.lang === 'en' ? en : zh;
}

function renderProjects() {
	const c = live.entity(S.county);
	const total = v(c, 'proj_total');
	setKpi('proj_total', { value: fmtInt(total), sub: `${t('kpi_proj_on_track')} ${S.projects.filter((p) => projectStatus(p.current) === 'on_track').length} · ${t('kpi_proj_behind')} ${S.projects.filter((p) => projectStatus(p.current) === 'behind').length} · ${t('kpi_proj_stalled')} ${S.projects.filter((p) => projectStatus(p.current) === 'stalled').length}` });
	const sr = ratioPct(v(c, 'proj_started'), total), cr = ratioPct(v(c, 'proj_completed'), total);
	setKpi('started_rate', { value: fmtFixed(sr, 1), sub: `${fmtInt(v(c, 'proj_started'))} / ${fmtInt(total)}` });
	setKpi('completed_rate', { value: fmtFixed(cr, 1), sub: `${fmtInt(v(c, 'proj_completed'))} / ${fmtInt(total)}` });
	const spi = v(c, 'proj_spi');
	const band = spiBand(spi);
	setKpi('proj_spi', { value: fmtSpi(spi), sub: `EV ${fmtMoney(v(c, 'proj_ev_fen'))} / PV ${fmtMoney(v(c, 'proj_pv_fen'))}`, cls: band === 'green' ? 'good' : band === 'amber' ? 'warn' : band === 'red' ? 'bad' : '' });
	setKpi('budget', { ...money(v(c, 'proj_budget_fen')), sub: `${t('sum_paid')} ${fmtMoney(v(c, 'proj_paid_fen'))}` });
	setKpi('benef', { value: fmtInt(v(c, 'proj_benef_hh')), sub: metricLabel(S.catalog.byKey.get('proj_benef_hh')) });
	renderWorst(S.projects, (code) => S.names.get(`${String(code).slice(0, 9)}000`) || '', projectStatus);
	renderRank('spi', townshipRows().filter((r) => isNum(r.spi)).sort((x, y) => y.spi - x.spi)
		.map((r) => ({ name: r.name, value: r.spi, text: fmtSpi(r.spi), cls: { green: 'good', amber: 'warn', red: 'bad' }[spiBand(r.spi)] })), { max: 1.2 });
}

function renderSpotlight() {
	if (!S.spot) return;
	const e = live.entity(S.spot);
	const name = (e && e.name) || S.names.get(S.spot) || S.spot;
	document.querySelector('[data-view="spotlight"]').dataset.township = S.spot;
	const tab = document.querySelector('.w-tab[data-view="spotlight"] .w-tab-text');
	if (tab) tab.textContent = `${t('wall_view_spotlight')} · ${name}`;
	setKpi('t_poor', { value: fmtInt(v(e, 'poor_hh')), sub: `${name} · ${fmtInt(v(e, 'poor_people'))} ${t('unit_people')}` });
	const er = ratioPct(v(e, 'exited_hh'), v(e, 'poor_hh'));
	setKpi('t_exited', { value: fmtInt(v(e, 'exited_hh')), sub: t('kpi_exited_sub', { pct: fmtPct(er) }) });
	const inc = v(e, 'incidence_pct');
	setKpi('t_incidence', { value: fmtFixed(inc, 2), sub: name, cls: inc === null ? '' : inc < 3 ? 'good' : inc < 5 ? 'warn' : 'bad' });
	const a = v(e, 'mon_unstable_hh'), b = v(e, 'mon_marginal_hh'), s = v(e, 'mon_sudden_hh');
	setKpi('t_monitored', { value: fmtInt(sum(a, b, s)), sub: t('kpi_monitored_sub', { a: fmtInt(a), b: fmtInt(b), c: fmtInt(s) }) });
	setKpi('t_income', { value: fmtInt(v(e, 'income_pc_yuan')), unit: lang2('元', '¥'), sub: metricLabel(S.catalog.byKey.get('income_pc_yuan')) });
	const spi = v(e, 'proj_spi');
	setKpi('t_spi', { value: fmtSpi(spi), sub: `${fmtInt(v(e, 'proj_total'))} ${lang2('个项目', 'projects')}`, cls: { green: 'good', amber: 'warn', red: 'bad' }[spiBand(spi)] || '' });
	const villages = [...live.keysOf(`region:${S.spot}`)].map((k) => [k, live.entity(k)])
		.filter(([, x]) => x && x.kind === 'village' && isNum(x.values.incidence_pct));
	renderRank('villages', villages.sort((x, y) => y[1].values.incidence_pct - x[1].values.incidence_pct)
		.map(([k, x]) => ({ name: x.name || k, value: x.values.incidence_pct, text: fmtPct(x.values.incidence_pct, 2),
			cls: x.values.incidence_pct >= 5 ? 'bad' : x.values.incidence_pct >= 3 ? 'warn' : 'good' })), { limit: 12 });
}

function renderAll() {
	if (!live || !live.entity(S.county)) return;
	document.getElementById('county-name').textContent = live.entity(S.county).name || S.countyName;
	renderOverview();
	renderFunds();
	renderProjects();
	renderSpotlight();
	for (const name of Object.keys(S.charts)) drawLegend(name);
	drawTicker();
}

/** The alert ticker: the open alerts of this wall's county (a display token may see more). */
function drawTicker() {
	const county = S.county ? S.county.slice(0, 6) : '';
	renderTicker(alerts.open((a) => !a.region || a.region.startsWith(county)), alerts.available, api.serverNow(), (k) => S.names.get(k));
}

// ---- projects ----

let projTimer = null;
async function loadProjects() {
	try {
		S.projects = (await api.getJSON('/api/v1/projects', { under: S.county })).projects;
		for (const p of S.projects) S.names.set(p.id, p.name || p.id); // alert subjects may be projects
		renderAll();
	} catch (e) {
		console.warn('projects:', e.message);
	}
}
function projectsSoon() {
	clearTimeout(projTimer);
	projTimer = setTimeout(loadProjects, 5000); // coalesce a burst of reports into one reload
}

// ---- live ----

function onLive(topic, msg) {
	S.lastContact = Date.now();
	if (topic === 'alerts') {
		alerts.apply(msg);
		drawTicker();
		return;
	}
	if (msg.type === 'delta') {
		// live points for the charts of the entity that changed; a delta carries
		// only the changed metrics, the live store has them merged
		for (const [name, chart] of Object.entries(S.charts)) {
			const key = entityOf(name);
			const e = msg.entities && msg.entities[key] && live.entity(key);
			if (e) chart.append(msg.at || Math.floor(api.serverNow()), e.values);
		}
		const c = msg.entities && msg.entities[S.county];
		if (c && ['proj_ev_fen', 'proj_started', 'proj_completed', 'proj_alloc_fen', 'proj_paid_fen'].some((k) => k in c.values)) projectsSoon();
	} else if (msg.type === 'snapshot' && topic === `region:${S.spot}`) {
		loadHistory('t_exits').catch(() => {});
	}
	renderAll();
}

// ---- rotation ----

function buildTabs() {
	const nav = document.getElementById('view-tabs');
	nav.innerHTML = VIEWS.map((name) => `<span class="w-tab" data-view="${name}"><span class="w-tab-text">${t(`wall_view_${name}`)}</span>` +
		`${ROTATE_S && VIEWS.length > 1 ? '<span class="w-tab-progress"><span></span></span>' : ''}</span>`).join('');
}

function show(view) {
	S.view = view;
	S.viewStarted = Date.now();
	for (const sec of document.querySelectorAll('.w-view')) sec.hidden = sec.dataset.view !== view;
	for (const tab of document.querySelectorAll('.w-tab')) tab.setAttribute('aria-current', String(tab.dataset.view === view));
	document.getElementById('wall').dataset.current = view;
	if (view === 'spotlight') nextSpotlight();
	for (const name of VIEW_CHARTS[view] || []) {
		if (!S.charts[name] && entityOf(name)) loadHistory(name).catch((e) => console.warn(name, e.message));
		else if (S.charts[name]) S.charts[name].resize();
	}
	renderAll();
}

function nextSpotlight() {
	if (!S.townships.length) return;
	S.spotIdx = (S.spotIdx + 1) % S.townships.length;
	const code = S.townships[S.spotIdx].code;
	if (code === S.spot) return;
	S.spot = code;
	live.setTopics([`region:${S.county}`, 'alerts', `region:${code}`]);
	if (S.charts.t_exits) loadHistory('t_exits').catch(() => {});
}

function tick() {
	const now = api.serverNow();
	document.getElementById('clock-time').textContent = fmtTime(now);
	document.getElementById('clock-date').textContent = fmtLongDate(now);
	// rotation
	if (ROTATE_S && VIEWS.length > 1) {
		const elapsed = (Date.now() - S.viewStarted) / 1000;
		const bar = document.querySelector(`.w-tab[data-view="${S.view}"] .w-tab-progress span`);
		if (bar) bar.style.width = `${Math.min(100, (elapsed / ROTATE_S) * 100)}%`;
		if (elapsed >= ROTATE_S) show(VIEWS[(VIEWS.indexOf(S.view) + 1) % VIEWS.length]);
	}
	// stale: no frame from the server for too long (it pings every 15 s when idle)
	const stale = S.lastContact > 0 && (Date.now() - S.lastContact) / 1000 > STALE_S;
	const wall = document.getElementById('wall');
	if (String(stale) !== wall.dataset.stale) {
		wall.dataset.stale = String(stale);
		const note = document.getElementById('stale-note');
		note.hidden = !stale;
	}
	if (stale) {
		document.getElementById('stale-note').textContent =
			`⚠ ${S.authProblem || t('stale_note')} · ${t('data_as_of')} ${live.lastAt ? fmtTime(live.lastAt) : '—'}`;
	}
	nightlyReload(now);
}

// A full reload once a night at a quiet moment (03:00–03:10 Shanghai time):
// frees whatever a page running for weeks may have accumulated.
let reloading = false;
async function nightlyReload(now) {
	const sod = cstSecondsOfDay(now);
	if (reloading || sod < 3 * 3600 || sod > 3 * 3600 + 600 || Date.now() - S.loadedAt < 3600e3) return;
	reloading = true;
	try {
		const res = await fetch('/healthz', { cache: 'no-store' });
		const page = await fetch(location.pathname, { cache: 'no-store' });
		if (res.ok && page.ok) {
			location.reload();
			return;
		}
	} catch { /* server away: try again next tick */ }
	reloading = false;
}

// ---- start ----

async function init() {
	await api.syncTime();
	S.catalog = await api.catalog();
	S.county = await api.pickCounty();
	const regs = await api.regions(S.county);
	for (const r of regs) S.names.set(r.code, r.name);
	S.countyName = S.names.get(S.county) || S.county;
	S.townships = regs.filter((r) => r.level === 'township' && !r.retired && r.parent === S.county).map((r) => ({ code: r.code, name: r.name }));
}

async function main() {
	applyI18n(document);
	const langBtn = document.getElementById('lang');
	bindLangSwitch(langBtn);
	buildTabs();
	const badge = connectionBadge(document.getElementById('conn'), { t, fmtTime });
	badge('connecting', {});
	// Retry the start-up loads with back-off: a wall may boot before the server.
	for (let delay = 2000; ; delay = Math.min(60000, delay * 2)) {
		try {
			await init();
			break;
		} catch (e) {
			document.getElementById('stale-note').hidden = false;
			document.getElementById('stale-note').textContent = api.errorText(e, t);
			await new Promise((r) => setTimeout(r, delay));
		}
	}
	document.getElementById('stale-note').hidden = true;
	document.getElementById('county-name').textContent = S.countyName;
	document.title = `${t('app_title')} · ${S.countyName}`;
	let lastState = ['connecting', {}];
	live = new LiveClient({
		topics: [`region:${S.county}`, 'alerts'],
		onSnapshot: onLive,
		onDelta: onLive,
		onFrame: () => (S.lastContact = Date.now()), // every frame, pings included, counts as contact
		onState: (state, info) => {
			lastState = [state, info];
			badge(state, info);
			if (state === 'live') S.authProblem = null;
			// The server answers but keeps refusing the socket: a revoked display token?
			if (state === 'reconnecting' && info.attempts >= 2 && !S.checkingAuth) {
				S.checkingAuth = true;
				api.getJSON('/api/v1/me').then(() => (S.authProblem = null))
					.catch((e) => (S.authProblem = e.status === 401 || e.status === 403 ? t('err_revoked') : null))
					.finally(() => (S.checkingAuth = false));
			}
		},
	});
	live.start();
	onLangChange(() => {
		buildTabs();
		for (const [name, chart] of Object.entries(S.charts)) chart.relabel(seriesLabels(CHARTS[name]));
		badge(...lastState);
		show(S.view);
	});
	api.keepTimeSynced();
	setInterval(loadProjects, 5 * 60 * 1000);
	// re-read history now and then: corrects any live point the screen missed
	setInterval(() => { for (const name of Object.keys(S.charts)) loadHistory(name).catch(() => {}); }, 30 * 60 * 1000);
	await loadProjects();
	show(VIEWS[0]);
	setInterval(tick, 1000);
	tick();
}

main();
