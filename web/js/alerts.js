// alerts.js: the poverty office's alert console (shell).
//
// WAITS ON THE SERVER: the alert engine and alert API (issue 6), and users
// and login (issue 5). What works today: the list is subscribed to the live
// "alerts" topic and renders whatever the engine will send there (contract
// in alerts-model.js); filters by severity, state, rule and township; the
// detail shows the alert's subject with a chart of the metrics its rule
// watches. The actions (acknowledge with a comment, silence until, resolve)
// are wired to the endpoints we expect —
//   POST /api/v1/alerts/<id>/ack      {comment}
//   POST /api/v1/alerts/<id>/silence  {until (Unix s, 0 = until resolved), reason, comment}
//   POST /api/v1/alerts/<id>/resolve  {comment}
// — and stay disabled until GET /api/v1/alerts answers (today: 404).

import * as api from './api.js';
import { LiveClient } from './live.js';
import { t, onLangChange, metricLabel } from './i18n.js';
import { esc, fmtDateTime, fmtAge, isNum, townshipOf, countyOf } from './format.js';
import { TimeChart, unitKind, PALETTE } from './chart.js';
import { initChrome, banner, withRetry } from './common.js';
import { AlertStore, RULES, SEVERITY_ORDER, STATE_ORDER } from './alerts-model.js';

const FILTERS = ['severity', 'state', 'rule', 'township'];
// The metrics a rule watches, by the kind of entity it fires on.
const RULE_METRICS = {
	project_behind: { project: ['progress_pct', 'planned_pct', 'spi'] },
	project_stalled: { project: ['progress_pct', 'planned_pct'] },
	project_silent: { project: ['days_silent', 'progress_pct'] },
	milestone_overdue: { project: ['progress_pct', 'planned_pct'] },
	payment_overdue: { region: ['pay_issued_fen', 'pay_paid_fen'] },
	payment_failed: { region: ['pay_failed', 'pay_paid_fen'] },
	alloc_delayed: { project: ['alloc_fen', 'paid_fen'], region: ['funds_alloc_fen', 'pay_paid_fen'] },
	idle_funds: { project: ['alloc_fen', 'paid_fen'], region: ['funds_alloc_fen', 'pay_paid_fen'] },
	village_silent: { region: ['poor_hh', 'exited_hh'] },
	township_silent: { region: ['poor_hh', 'exited_hh'] },
	duplicate_subsidy: { region: ['pay_paid_fen', 'pay_issued_fen'] },
	monitoring_overdue: { region: ['mon_unstable_hh', 'mon_marginal_hh', 'mon_sudden_hh'] },
};

const S = { county: null, names: new Map(), projectLoc: new Map(), catalog: null, selected: api.param('id'), chart: null, apiReady: false };
const store = new AlertStore();

// The engine says what an alert is about (entity_kind); older frames may not.
const isProject = (a) => (a.entityKind ? a.entityKind === 'project' : a.entity && !/^\d{12}$/.test(a.entity));
const isRegion = (a) => (a.entityKind ? ['village', 'township'].includes(a.entityKind) : /^\d{12}$/.test(a.entity || ''));
const townOfEntity = (a) => a.township || townshipOf(isProject(a) ? S.projectLoc.get(a.entity) || '' : a.entity || '');
const entityName = (a) => a.entityName || S.names.get(a.entity) || a.entity || '—';

function filterValues() {
	return Object.fromEntries(FILTERS.map((k) => [k, document.querySelector(`[name="${k}"]`).value]));
}

function visible() {
	const f = filterValues();
	return store.list((a) => (!f.severity || a.severity === f.severity) && (!f.state || a.state === f.state) &&
		(!f.rule || a.rule === f.rule) && (!f.township || townOfEntity(a) === f.township));
}

function fillFilters(initial = {}) {
	const fill = (name, opts) => {
		const sel = document.querySelector(`[name="${name}"]`);
		const cur = initial[name] ?? sel.value;
		sel.innerHTML = `<option value="">${esc(t('all'))}</option>${opts.map(([v, l]) => `<option value="${esc(v)}">${esc(l)}</option>`).join('')}`;
		sel.value = opts.some(([v]) => v === cur) ? cur : '';
	};
	fill('severity', Object.keys(SEVERITY_ORDER).map((s) => [s, t(`sev_${s}`)]));
	fill('state', Object.keys(STATE_ORDER).map((s) => [s, t(`st_${s}`)]));
	fill('rule', RULES.map((r) => [r, t(`rule_${r}`)]));
	fill('township', [...S.names].filter(([code]) => code.endsWith('000') && code.slice(6, 9) !== '000').map(([c, n]) => [c, n]));
}

function renderStats() {
	const open = store.open();
	const stat = (k, v, cls = '') => `<div class="stat ${cls}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`;
	const count = (pred) => (store.available ? String(store.list(pred).length) : '—');
	document.getElementById('stats').innerHTML =
		stat(t('sev_critical'), count((a) => a.severity === 'critical' && a.state === 'firing'), store.available && open.some((a) => a.severity === 'critical') ? 'red' : '') +
		stat(t('sev_warning'), count((a) => a.severity === 'warning' && a.state === 'firing'), 'amber') +
		stat(t('st_acknowledged'), count((a) => a.state === 'acknowledged')) +
		stat(t('st_silenced'), count((a) => a.state === 'silenced')) +
		stat(t('st_resolved'), count((a) => a.state === 'resolved'));
}

function renderList() {
	renderStats();
	const rows = visible();
	document.getElementById('count').textContent = store.available ? t('n_alerts', { n: rows.length }) : '';
	const tbody = document.querySelector('#list tbody');
	if (!store.available) {
		tbody.innerHTML = `<tr><td colspan="6"><div class="empty-state"><b>${esc(t('waits_server'))}</b>${esc(t('alerts_pending'))}</div></td></tr>`;
		return;
	}
	if (!rows.length) {
		tbody.innerHTML = `<tr><td colspan="6"><div class="empty-state"><b>${esc(t('alerts_none'))}</b></div></td></tr>`;
		return;
	}
	const now = api.serverNow();
	tbody.innerHTML = rows.map((a) => `<tr data-id="${esc(a.id)}" aria-selected="${a.id === S.selected}">
		<td><span class="sev ${a.severity}">${esc(t(`sev_${a.severity}`))}</span></td>
		<td>${esc(t(`rule_${a.rule}`))}</td>
		<td>${esc(entityName(a))}<div class="muted" style="font-size:12px">${esc(a.message || '')}${a.suppressed && a.group ? ` · ${esc(t('grouped_under', { cause: a.group }))}` : ''}</div></td>
		<td>${esc(S.names.get(townOfEntity(a)) || '')}</td>
		<td class="num" title="${esc(fmtDateTime(a.firedAt))}">${esc(isNum(a.firedAt) ? fmtAge(now - a.firedAt) : '—')}</td>
		<td><span class="chip ${a.state === 'firing' ? 'red' : a.state === 'resolved' ? 'green' : ''}">${esc(t(`st_${a.state}`))}</span></td>
	</tr>`).join('');
}

async function renderDetail() {
	const a = S.selected && store.byId.get(S.selected);
	const body = document.getElementById('detail-body');
	const chartEl = document.getElementById('detail-chart');
	if (!a) {
		body.innerHTML = `<p class="muted">${esc(t('alert_pick'))}</p>`;
		chartEl.hidden = true;
		return;
	}
	const link = isProject(a) ? api.linkTo('project.html', { id: a.entity }) : isRegion(a) ? api.linkTo('region.html', { code: a.entity }) : null;
	const kv = (k, v) => `<dt>${esc(k)}</dt><dd>${v}</dd>`;
	body.innerHTML = `<dl class="kv">${kv(t('col_severity'), `<span class="sev ${a.severity}">${esc(t(`sev_${a.severity}`))}</span>`)}` +
		kv(t('col_rule'), esc(t(`rule_${a.rule}`))) +
		kv(t('col_entity'), `${link ? `<a href="${esc(link)}">${esc(entityName(a))}</a>` : esc(entityName(a))} <span class="muted">${esc(a.entity || '')}</span>`) +
		kv(t('col_since'), esc(fmtDateTime(a.firedAt))) +
		kv(t('col_state'), esc(t(`st_${a.state}`)) + (a.silencedUntil ? ` · ${esc(fmtDateTime(a.silencedUntil))}` : '')) +
		(a.message ? kv(t('col_message'), esc(a.message)) : '') + '</dl>';
	renderHistory(a);
	// chart of what the rule watches
	const kind = isProject(a) ? 'project' : isRegion(a) ? 'region' : null;
	const keys = (kind && (RULE_METRICS[a.rule] || {})[kind]) || [];
	if (S.chart) S.chart.destroy();
	S.chart = null;
	chartEl.hidden = !keys.length || !a.entity;
	if (chartEl.hidden) return;
	S.chart = new TimeChart(chartEl, {
		height: 240, series: keys.map((k, i) => ({ key: k, label: metricLabel(S.catalog.byKey.get(k)), kind: unitKind(S.catalog.byKey.get(k)), color: PALETTE[i] })),
	});
	try {
		const { h } = await api.history(a.entity, keys, [30, 7, 1]);
		if (S.chart) S.chart.setData(h.ts, h.values);
	} catch (e) {
		console.warn('history', e.message);
	}
}

/** Who did what and when: from GET /api/v1/alerts/<id> once it exists, else what the frame carried. */
async function renderHistory(a) {
	const ol = document.getElementById('history');
	let events = a.history;
	if (S.apiReady) {
		try {
			events = (await api.getJSON(`/api/v1/alerts/${encodeURIComponent(a.id)}`)).history || [];
		} catch { /* keep what we have */ }
	}
	ol.innerHTML = events.length
		? events.map((h) => `<li>${esc(fmtDateTime(h.ts ?? h.at))} · ${esc(h.actor || h.by || '')} · ${esc(t(`ev_${h.kind || h.action}`))}` +
			`${h.detail && h.detail.comment ? ` — ${esc(h.detail.comment)}` : h.comment ? ` — ${esc(h.comment)}` : ''}</li>`).join('')
		: '<li class="muted">—</li>';
}

function setActionsEnabled(on) {
	for (const el of document.querySelectorAll('#detail [data-act], #detail textarea, #detail input')) el.disabled = !on;
	document.querySelector('#detail .small').hidden = on;
	document.getElementById('api-note').hidden = on && store.available;
}

/** Acknowledge / silence / resolve (enabled once the alert API exists). */
async function act(verb) {
	const a = S.selected && store.byId.get(S.selected);
	const comment = document.querySelector('[name="comment"]').value.trim();
	if (!a || !comment) {
		banner(t('act_comment'));
		return;
	}
	const body = { comment };
	if (verb === 'silence') {
		// the picker's wall time is read as Shanghai time; empty = until the alert resolves (0)
		const until = document.querySelector('[name="until"]').value;
		body.until = until ? Math.floor(Date.parse(`${until}:00+08:00`) / 1000) : 0;
		body.reason = comment;
	}
	const res = await fetch(`/api/v1/alerts/${encodeURIComponent(a.id)}/${verb}`, {
		method: 'POST', headers: { 'Content-Type': 'application/json', ...(api.token() ? { Authorization: `Bearer ${api.token()}` } : {}) },
		body: JSON.stringify(body),
	});
	if (!res.ok) banner(api.errorText(new api.ApiError(res.status, await res.json().catch(() => null)), t));
}

async function main() {
	const chrome = initChrome('alerts.html');
	const initial = Object.fromEntries(FILTERS.map((k) => [k, api.param(k, '')]));
	try {
		await withRetry(async () => {
			await api.syncTime();
			S.catalog = await api.catalog();
			S.county = await api.pickCounty();
			for (const r of await api.regions(S.county)) S.names.set(r.code, r.name);
			for (const p of (await api.getJSON('/api/v1/projects', { under: S.county })).projects) {
				S.projectLoc.set(p.id, p.location);
				S.names.set(p.id, p.name);
			}
		}, (e) => banner(api.errorText(e, t)));
	} catch {
		return;
	}
	banner(null);
	document.getElementById('crumbs').innerHTML = `<span><a href="${esc(api.linkTo('region.html', { code: S.county }))}">${esc(S.names.get(S.county) || countyOf(S.county))}</a></span>`;
	fillFilters(initial);
	renderList();
	// Does the alert API exist yet? (404 today: actions stay disabled)
	try {
		const r = await api.getJSON('/api/v1/alerts', { under: S.county });
		if (Array.isArray(r.alerts)) store.apply({ type: 'snapshot', alerts: r.alerts });
		S.apiReady = true;
	} catch {
		S.apiReady = false;
	}
	setActionsEnabled(S.apiReady);
	renderList();

	document.getElementById('filters').addEventListener('input', () => {
		const url = new URL(location.href);
		const f = filterValues();
		for (const k of FILTERS) if (f[k]) url.searchParams.set(k, f[k]); else url.searchParams.delete(k);
		history.replaceState(null, '', url);
		renderList();
	});
	document.getElementById('reset').addEventListener('click', () => {
		for (const k of FILTERS) document.querySelector(`[name="${k}"]`).value = '';
		document.getElementById('filters').dispatchEvent(new Event('input'));
	});
	document.querySelector('#list tbody').addEventListener('click', (ev) => {
		const tr = ev.target.closest('tr[data-id]');
		if (!tr) return;
		S.selected = tr.dataset.id;
		const url = new URL(location.href);
		url.searchParams.set('id', S.selected);
		history.replaceState(null, '', url);
		renderList();
		renderDetail();
	});
	for (const b of document.querySelectorAll('[data-act]')) b.addEventListener('click', () => act(b.dataset.act).catch((e) => banner(e.message)));
	onLangChange(() => {
		fillFilters();
		renderList();
		renderDetail();
	});
	const live = new LiveClient({
		topics: ['alerts'],
		onSnapshot: (topic, msg) => {
			if (store.apply(msg)) {
				setActionsEnabled(S.apiReady);
				renderList();
				renderDetail();
			}
		},
		onDelta: (topic, msg) => {
			if (store.apply(msg)) {
				renderList();
				if (msg.alerts.some((a) => String(a.id) === S.selected)) renderDetail();
			}
		},
		onState: chrome.setConnection,
	});
	live.start();
	setInterval(renderList, 30_000); // keeps "3 分钟前" current
}

main();
