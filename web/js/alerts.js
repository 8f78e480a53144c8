// alerts.js: the poverty office's alert console.
//
// The list is the live topic "alerts" (snapshot, then a delta per
// transition: schemas/live-server.json), started from GET /api/v1/alerts so
// it shows before the socket is up; older resolved alerts are read from the
// API when the "resolved" filter is picked. Order: open first, most severe,
// oldest (as the server's list). A township's silence is one line (the
// cause, group township_silent:<code>) with its villages (suppressed
// members) under it, expandable and acknowledged together.
//
// The detail reads GET /api/v1/alerts/<id> (the alert, its history oldest
// first, a cause's members) again whenever the alert changes, and charts
// what the rule watches on the subject around the moment it fired.
//
// Actions (schemas/alerts.md, body alert-action.json), operators and admins
// only (the role from /api/v1/me; viewers and display tokens see them
// disabled with a note):
//   POST /api/v1/alerts/<id>/ack        {comment?}
//   POST /api/v1/alerts/<id>/comment    {comment}
//   POST /api/v1/alerts/<id>/silence    {until (Unix s, 0 = until resolved), reason}
//   POST /api/v1/alerts/<id>/unsilence  {comment?}
//   POST /api/v1/alerts/<id>/resolve    {comment}
//   POST /api/v1/alerts/ack-group       {group, comment?}
// sent with the session cookie and X-CSRF-Token. The server decides: its
// 404 / 409 / 422 reasons are shown under the buttons, and after a 404 or
// 409 the alert is read again (someone else was quicker).
//
// A new critical alert can beep and raise a browser notification
// (alerts-notify.js), off until switched on.

import * as api from './api.js';
import { LiveClient } from './live.js';
import { t, onLangChange, metricLabel } from './i18n.js';
import { esc, fmtDateTime, fmtAge, fmtMoney, fmtNum, isNum, countyOf } from './format.js';
import { TimeChart, unitKind, PALETTE } from './chart.js';
import { initChrome, banner, withRetry } from './common.js';
import { AlertStore, RULES, SEVERITY_ORDER, alertMessage } from './alerts-model.js';
import { AlertAlarm } from './alerts-notify.js';

const FILTERS = ['severity', 'state', 'rule', 'township'];
const STATE_FILTERS = ['open', 'firing', 'acknowledged', 'silenced', 'resolved'];
// What a rule watches, by the kind of file its subject has (project or region).
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
	duplicate_subsidy: { region: ['pay_issued_fen', 'pay_paid_fen'] },
};
const SILENCE_PRESETS = [['3600', 'sil_1h'], ['14400', 'sil_4h'], ['86400', 'sil_1d'], ['259200', 'sil_3d'],
	['604800', 'sil_7d'], ['0', 'sil_resolved'], ['custom', 'sil_custom']];
// Detail figures shown as dates (Unix seconds) and those that may be null for "never".
const TIME_KEYS = new Set(['funds_at_bank', 'oldest_failed_at', 'oldest_unpaid_at', 'unchanged_since', 'last_report', 'last_data', 'failed_at']);

const S = {
	county: null,
	prefix: '',
	names: new Map(),
	townships: [],
	catalog: null,
	selected: api.param('id'),
	expanded: new Set(),
	who: null,
	canAct: false,
	detail: { id: null, alert: null, history: null, members: null, error: null, loading: false, again: false },
	chart: null,
	chartFor: null,
	busy: false,
	resolvedLoaded: false,
	truncated: false,
};
const store = new AlertStore();
let alarm = null;

const $ = (sel) => document.querySelector(sel);
const inCounty = (a) => !a.region || !S.prefix || a.region.startsWith(S.prefix);
const nameOf = (code) => S.names.get(code) || '';
const entityName = (a) => a.entityName || S.names.get(a.entity) || a.entity || '—';
const actorName = (who) => (who === 'engine' ? t('actor_engine') : who || '');
const ruleLabel = (rule) => t(`rule_${rule}`);

// ---- filters ----

function filterValues() {
	return Object.fromEntries(FILTERS.map((k) => [k, $(`[name="${k}"]`).value]));
}

function matches(a, f) {
	if (!inCounty(a)) return false;
	if (f.severity && a.severity !== f.severity) return false;
	if (f.state === 'open' ? a.state === 'resolved' : f.state && a.state !== f.state) return false;
	if (f.rule && a.rule !== f.rule) return false;
	if (f.township && a.township !== f.township) return false;
	return true;
}

function fillFilters(initial = {}) {
	const fill = (name, opts) => {
		const sel = $(`[name="${name}"]`);
		const cur = initial[name] ?? sel.value;
		sel.innerHTML = `<option value="">${esc(t('all'))}</option>${opts.map(([v, l]) => `<option value="${esc(v)}">${esc(l)}</option>`).join('')}`;
		sel.value = opts.some(([v]) => v === cur) ? cur : '';
	};
	fill('severity', Object.keys(SEVERITY_ORDER).map((s) => [s, t(`sev_${s}`)]));
	fill('state', STATE_FILTERS.map((s) => [s, t(`st_${s}`)]));
	fill('rule', RULES.map((r) => [r, ruleLabel(r)]));
	fill('township', S.townships.map((x) => [x.code, x.name]));
	const preset = $('[name="until-preset"]');
	const cur = preset.value || '86400';
	preset.innerHTML = SILENCE_PRESETS.map(([v, k]) => `<option value="${v}">${esc(t(k))}</option>`).join('');
	preset.value = cur;
}

// ---- list ----

function renderStats() {
	const mine = store.list((a) => inCounty(a) && !a.suppressed);
	const n = (pred) => (store.available ? String(mine.filter(pred).length) : '—');
	const stat = (key, k, v, cls = '') => `<div class="stat ${cls}" data-stat="${key}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`;
	const crit = n((a) => a.severity === 'critical' && a.state === 'firing');
	$('#stats').innerHTML =
		stat('critical', t('stat_critical_firing'), crit, crit !== '0' && crit !== '—' ? 'red' : '') +
		stat('warning', t('stat_warning_firing'), n((a) => a.severity === 'warning' && a.state === 'firing'), 'amber') +
		stat('acknowledged', t('st_acknowledged'), n((a) => a.state === 'acknowledged')) +
		stat('silenced', t('st_silenced'), n((a) => a.state === 'silenced')) +
		stat('resolved', t('stat_resolved_recent'), n((a) => a.state === 'resolved'));
}

function stateCell(a) {
	const cls = a.state === 'firing' ? (a.severity === 'critical' ? 'red' : 'amber') : a.state === 'resolved' ? 'green' : '';
	let who = '';
	if (a.state === 'acknowledged' && a.ackedBy) who = a.ackedBy;
	else if (a.state === 'silenced') who = a.silencedUntil ? t('d_until', { t: fmtDateTime(a.silencedUntil) }) : t('d_until_resolved');
	else if (a.state === 'resolved' && a.resolvedBy) who = actorName(a.resolvedBy);
	return `<span class="chip ${cls}">${esc(t(`st_${a.state}`))}</span>${who ? `<div class="who-cell">${esc(who)}</div>` : ''}`;
}

function rowHtml(a, { members = [], member = false, now }) {
	const expanded = S.expanded.has(a.group);
	const toggle = members.length ? ` <button type="button" class="expand" data-group="${esc(a.group)}" aria-expanded="${expanded}"` +
		` title="${esc(t(expanded ? 'group_collapse' : 'group_expand'))}">${expanded ? '▾' : '▸'} ${esc(t('group_n', { n: members.length }))}</button>` : '';
	return `<tr data-id="${esc(a.id)}" data-severity="${a.severity}" data-state="${a.state}"${a.group ? ` data-group="${esc(a.group)}"` : ''}` +
		` class="st-${a.state}${member ? ' member' : ''}${members.length ? ' cause' : ''}" aria-selected="${a.id === S.selected}" tabindex="0">
		<td><span class="sev ${a.severity}">${esc(t(`sev_${a.severity}`))}</span></td>
		<td>${esc(ruleLabel(a.rule))}</td>
		<td class="subj"><b>${esc(entityName(a))}</b>${toggle}<div class="msg">${esc(alertMessage(a))}</div></td>
		<td>${esc(nameOf(a.township))}</td>
		<td class="num" title="${esc(fmtDateTime(a.firedAt))}">${esc(isNum(a.firedAt) ? fmtAge(now - a.firedAt) : '—')}</td>
		<td>${stateCell(a)}</td>
	</tr>`;
}

function renderList() {
	renderStats();
	const tbody = $('#list tbody');
	if (!store.available) {
		tbody.innerHTML = `<tr><td colspan="6"><div class="empty-state">${esc(t('alerts_waiting'))}</div></td></tr>`;
		$('#count').textContent = '';
		return;
	}
	const f = filterValues();
	const rows = store.grouped((a) => matches(a, f));
	const members = rows.reduce((n, r) => n + r.members.length, 0);
	$('#count').textContent = (members ? t('n_alerts_members', { n: rows.length, m: members }) : t('n_alerts', { n: rows.length })) +
		(S.truncated && f.state === 'resolved' ? ` · ${t('alerts_truncated', { n: 500 })}` : '');
	if (!rows.length) {
		tbody.innerHTML = `<tr><td colspan="6"><div class="empty-state"><b>${esc(t('alerts_none'))}</b></div></td></tr>`;
		return;
	}
	const now = api.serverNow();
	tbody.innerHTML = rows.map((r) => rowHtml(r.alert, { members: r.members, now }) +
		(S.expanded.has(r.alert.group) ? r.members.map((m) => rowHtml(m, { member: true, now })).join('') : '')).join('');
}

// ---- detail ----

function entityLink(a) {
	if (a.entityKind === 'project') return api.linkTo('project.html', { id: a.entity });
	if (a.entityKind === 'village' || a.entityKind === 'township') return api.linkTo('region.html', { code: a.entity });
	if (a.entityKind === 'household' && a.detail.village) return api.linkTo('region.html', { code: a.detail.village });
	return null;
}

/** One figure of an alert's detail, formatted by its key. */
function figure(key, v) {
	if (v === null || v === undefined) return TIME_KEYS.has(key) ? t('never') : '—';
	if (typeof v === 'number') {
		if (/_fen$/.test(key)) return fmtMoney(v);
		if (TIME_KEYS.has(key)) return fmtDateTime(v);
		if (key === 'spi') return fmtNum(v, 3);
		if (/_pct$|^planned_(then|now)$/.test(key)) return `${fmtNum(v, 1)}%`;
		return fmtNum(v, 2);
	}
	if (key === 'village' && typeof v === 'string') return nameOf(v) ? `${nameOf(v)} (${v})` : v;
	if (key === 'counted_from' && typeof v === 'string' && t(`from_${v}`) !== `from_${v}`) return t(`from_${v}`);
	if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join('、');
	if (typeof v === 'object') return Object.entries(v).map(([k, n]) => `${k}: ${n}`).join('；');
	return String(v);
}

const figLabel = (key) => (t(`dk_${key}`) === `dk_${key}` ? key : t(`dk_${key}`));

function figuresHtml(detail) {
	const plain = [], tables = [];
	for (const [k, v] of Object.entries(detail || {})) {
		if (Array.isArray(v) && v.length && typeof v[0] === 'object' && v[0] !== null) tables.push([k, v]);
		else plain.push(`<dt>${esc(figLabel(k))}</dt><dd data-key="${esc(k)}">${esc(figure(k, v))}</dd>`);
	}
	const table = ([k, rows]) => {
		const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
		return `<div class="figs" data-key="${esc(k)}"><b>${esc(figLabel(k))}</b><table><thead><tr>${cols.map((c) => `<th>${esc(figLabel(c))}</th>`).join('')}</tr></thead>` +
			`<tbody>${rows.map((r) => `<tr>${cols.map((c) => `<td>${esc(figure(c, r[c]))}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
	};
	return (plain.length ? `<dl class="kv figs">${plain.join('')}</dl>` : '') + tables.map(table).join('');
}

function handlingHtml(a) {
	const kv = (k, v) => `<dt>${esc(k)}</dt><dd>${v}</dd>`;
	let out = '';
	if (a.ackedBy) out += kv(t('d_acked'), `${esc(actorName(a.ackedBy))} · ${esc(fmtDateTime(a.ackedAt))}${a.comment ? ` — “${esc(a.comment)}”` : ''}`);
	if (a.state === 'silenced' || a.silencedBy) {
		out += kv(t('d_silenced'), `${esc(actorName(a.silencedBy))} · ${esc(fmtDateTime(a.silencedAt))} · ${
			esc(a.silencedUntil ? t('d_until', { t: fmtDateTime(a.silencedUntil) }) : t('d_until_resolved'))}${a.silenceReason ? ` — “${esc(a.silenceReason)}”` : ''}`);
	}
	if (a.state === 'resolved') out += kv(t('d_resolved'), `${esc(actorName(a.resolvedBy))} · ${esc(fmtDateTime(a.resolvedAt))}${a.resolveComment ? ` — “${esc(a.resolveComment)}”` : ''}`);
	return out;
}

function current() {
	if (!S.selected) return null;
	return store.get(S.selected) || (S.detail.id === S.selected ? S.detail.alert : null);
}

function renderDetail({ refetch = false } = {}) {
	const a = current();
	const body = $('#detail-body');
	$('#detail-id').textContent = S.selected ? `${t('alert_id')} ${S.selected}` : '';
	if (!S.selected || !a) {
		if (S.selected && S.detail.id === S.selected && S.detail.error) body.innerHTML = `<p class="act-msg bad" data-status="${esc(S.detail.error.status)}">${esc(S.detail.error.text)}</p>`;
		else if (S.selected) body.innerHTML = `<p class="muted">${esc(t('loading'))}</p>`;
		else body.innerHTML = `<p class="muted">${esc(t('alert_pick'))}</p>`;
		$('#actions').hidden = true;
		$('#detail-members').hidden = true;
		$('#detail-figs').hidden = true;
		$('#detail-chart-box').hidden = true;
		dropChart();
		$('#history').innerHTML = '<li class="muted">—</li>';
		if (S.selected && refetch) loadDetail(S.selected);
		return;
	}
	const link = entityLink(a);
	const kv = (k, v) => `<dt>${esc(k)}</dt><dd>${v}</dd>`;
	const cause = store.causeOf(a);
	body.innerHTML = `<p class="msg-big">${esc(alertMessage(a))}</p><dl class="kv">` +
		kv(t('col_severity'), `<span class="sev ${a.severity}">${esc(t(`sev_${a.severity}`))}</span>` +
			(a.escalation && a.ruleSeverity && a.ruleSeverity !== a.severity ? ` <span class="muted">${esc(t('d_escalated', { sev: t(`sev_${a.ruleSeverity}`) }))}</span>` : '')) +
		kv(t('col_rule'), esc(ruleLabel(a.rule))) +
		kv(t('col_entity'), `${link ? `<a href="${esc(link)}">${esc(entityName(a))}</a>` : esc(entityName(a))} <span class="muted">${esc(t(`ek_${a.entityKind}`) === `ek_${a.entityKind}` ? '' : t(`ek_${a.entityKind}`))} ${esc(a.entity || '')}</span>`) +
		(a.township ? kv(t('col_township'), esc(nameOf(a.township) || a.township)) : '') +
		(cause ? kv(t('d_cause'), `<a href="#" data-goto="${esc(cause.id)}">${esc(entityName(cause))} · ${esc(ruleLabel(cause.rule))}</a>`) : '') +
		kv(t('d_value'), `${esc(fmtNum(a.value, 3))} / ${esc(fmtNum(a.threshold, 3))}`) +
		kv(t('d_fired'), esc(fmtDateTime(a.firedAt))) +
		(a.firingSince && a.firingSince !== a.firedAt ? kv(t('d_firing_since'), esc(fmtDateTime(a.firingSince))) : '') +
		kv(t('col_state'), `<span data-state="${a.state}">${stateCell(a)}</span>`) +
		handlingHtml(a) + '</dl>';
	const figs = figuresHtml(a.detail);
	$('#detail-figs').hidden = !figs;
	$('#detail-figs').innerHTML = figs ? `<h3>${esc(t('d_figures'))}</h3>${figs}` : '';
	renderMembers(a);
	renderActions(a);
	renderHistoryList(a);
	if (S.chartFor !== a.id) drawChart(a);
	if (refetch) loadDetail(a.id);
}

function renderMembers(a) {
	const box = $('#detail-members');
	const fetched = S.detail.id === a.id && S.detail.members ? S.detail.members : [];
	const live = store.members(a);
	const members = live.length || !fetched.length ? live : fetched;
	box.hidden = !members.length;
	if (!members.length) return;
	box.innerHTML = `<h3>${esc(t('d_members', { n: members.length }))}</h3><ul class="members">${members.map((m) =>
		`<li data-goto="${esc(m.id)}"><span class="sev ${m.severity}">${esc(t(`sev_${m.severity}`))}</span> ${esc(entityName(m))} · ${esc(alertMessage(m))} · ${stateCell(m)}</li>`).join('')}</ul>`;
}

function historyExtra(e) {
	const d = e.detail || {};
	const bits = [];
	if (e.kind === 'severity_changed' && d.from && d.to) bits.push(`${t(`sev_${d.from}`)} → ${t(`sev_${d.to}`)}`);
	if (e.kind === 'escalated' && d.after_s) bits.push(t('hist_after', { h: Math.round(d.after_s / 3600) }));
	if (e.kind === 'silenced') bits.push(d.until ? t('hist_until', { t: fmtDateTime(d.until) }) : t('d_until_resolved'));
	if (d.reason) {
		const known = { 'condition cleared': 'hist_cleared', 'condition still holds after a resolve by hand': 'hist_still_holds', 'silence ended': 'hist_silence_ended' };
		bits.push(known[d.reason] ? t(known[d.reason]) : t('hist_reason', { r: d.reason }));
	}
	if (d.by_hand) bits.push(t('hist_by_hand'));
	if (d.group && (e.kind === 'grouped' || e.kind === 'ungrouped' || e.kind === 'acknowledged')) {
		const code = String(d.group).split(':')[1];
		bits.push(t('hist_group', { g: nameOf(code) || d.group }));
	}
	if (d.comment) bits.push(`“${d.comment}”`);
	return bits.length ? ` — ${bits.map(esc).join(' · ')}` : '';
}

function renderHistoryList(a) {
	const ol = $('#history');
	if (S.detail.id !== a.id || !S.detail.history) {
		ol.innerHTML = `<li class="muted">${esc(t('hist_loading'))}</li>`;
		return;
	}
	const events = S.detail.history;
	ol.innerHTML = events.length ? events.map((e) => `<li data-kind="${esc(e.kind)}" data-actor="${esc(e.actor)}">` +
		`<span class="muted">${esc(fmtDateTime(e.ts))}</span> · <span class="h-actor">${esc(actorName(e.actor))}</span> · ` +
		`<span class="h-kind">${esc(t(`ev_${e.kind}`))}</span>${historyExtra(e)}</li>`).join('') : '<li class="muted">—</li>';
}

/** GET /api/v1/alerts/<id>: the alert, its history and a cause's members; coalesces repeated asks. */
async function loadDetail(id) {
	if (S.detail.loading && S.detail.id === id) {
		S.detail.again = true;
		return;
	}
	if (S.detail.id !== id) S.detail = { id, alert: null, history: null, members: null, error: null, loading: false, again: false };
	S.detail.loading = true;
	try {
		const r = await api.getJSON(`/api/v1/alerts/${encodeURIComponent(id)}`);
		if (S.detail.id !== id) return;
		store.apply({ type: 'merge', alerts: [r.alert, ...(r.members || [])] });
		S.detail.alert = store.get(id) || null;
		S.detail.history = r.history || [];
		S.detail.members = (r.members || []).map((m) => store.get(String(m.id))).filter(Boolean);
		S.detail.error = null;
	} catch (e) {
		if (S.detail.id !== id) return;
		S.detail.error = { status: e.status || 0, text: t('alert_missing', { id, reason: e.status === 404 ? reasonText(e.reason || e.message) : api.errorText(e, t) }) };
	} finally {
		if (S.detail.id === id) {
			S.detail.loading = false;
			const again = S.detail.again;
			S.detail.again = false;
			if (S.selected === id) {
				renderList();
				renderDetail();
			}
			if (again && S.selected === id) loadDetail(id);
		}
	}
}

// ---- chart around the moment it fired ----

function dropChart() {
	if (S.chart) S.chart.destroy();
	S.chart = null;
	S.chartFor = null;
	$('#detail-chart').innerHTML = '';
}

/** The file to chart and its metrics: the subject's own file, or the region of a batch or household. */
function chartSpec(a) {
	const rm = RULE_METRICS[a.rule] || {};
	let entity, kind;
	if (a.entityKind === 'project') [entity, kind] = [a.entity, 'project'];
	else if (a.entityKind === 'village' || a.entityKind === 'township') [entity, kind] = [a.entity, 'region'];
	else [entity, kind] = [a.entityKind === 'household' && a.detail.village ? a.detail.village : a.region, 'region'];
	const keys = (rm[kind] || []).filter((k) => S.catalog && S.catalog.byKey.has(k));
	return entity && keys.length ? { entity, keys } : null;
}

async function drawChart(a) {
	dropChart();
	S.chartFor = a.id;
	const spec = chartSpec(a);
	const box = $('#detail-chart-box');
	box.hidden = !spec;
	if (!spec) return;
	const el = $('#detail-chart');
	el.dataset.firedAt = String(a.firedAt ?? '');
	const chart = new TimeChart(el, {
		height: 240,
		series: spec.keys.map((k, i) => ({ key: k, label: metricLabel(S.catalog.byKey.get(k)), kind: unitKind(S.catalog.byKey.get(k)), color: PALETTE[i] })),
	});
	S.chart = chart;
	const at = a.firedAt;
	// a red line at the moment it fired
	chart.u.hooks.draw = [(u) => {
		if (!isNum(at)) return;
		const x = u.valToPos(at, 'x', true);
		if (!(x >= u.bbox.left - 1 && x <= u.bbox.left + u.bbox.width + 1)) return;
		const ctx = u.ctx;
		ctx.save();
		ctx.strokeStyle = '#c62828';
		ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
		ctx.setLineDash([6, 4]);
		ctx.beginPath();
		ctx.moveTo(x, u.bbox.top);
		ctx.lineTo(x, u.bbox.top + u.bbox.height);
		ctx.stroke();
		ctx.restore();
	}];
	try {
		const now = Math.floor(api.serverNow());
		const centre = isNum(at) ? Math.min(at, now) : now;
		let h;
		// a week either side; a young installation has hours only: then a day, then six hours (finer rows)
		for (const span of [7 * 86400, 86400, 6 * 3600]) {
			const start = centre - span;
			const end = Math.max(start + 3600, Math.min(now, centre + span));
			h = await api.getJSON('/api/v1/history', { entity: spec.entity, metrics: spec.keys.join(','), start, end });
			const filled = Math.max(0, ...Object.values(h.values).map((col) => col.filter((x) => x !== null).length));
			if (filled >= 12) break;
		}
		if (S.chart !== chart) return;
		const ts = [...h.ts];
		const values = Object.fromEntries(spec.keys.map((k) => [k, [...(h.values[k] || [])]]));
		// keep the moment it fired inside the chart when the newest row is older
		if (isNum(at) && (!ts.length || at > ts[ts.length - 1])) {
			ts.push(at);
			for (const k of spec.keys) values[k].push(null);
		}
		chart.setData(ts, values);
		el.dataset.loaded = '1';
	} catch (e) {
		console.warn('history', e.message);
		if (S.chart === chart) el.insertAdjacentHTML('afterbegin', `<p class="chart-note">${esc(t('chart_none'))}</p>`);
	}
}

// ---- actions ----

/** A reason from the server in the page's language (unknown ones as they came). */
function reasonText(reason) {
	const r = String(reason || '');
	let m;
	if ((m = /^already acknowledged by (.+)$/.exec(r))) return t('rs_acked_by', { who: m[1] });
	const known = {
		'is required': 'rs_required', 'is longer than 1000 characters': 'rs_too_long',
		'must be in the future, or 0 for until the alert resolves': 'rs_future', 'the alert is resolved': 'rs_is_resolved',
		'the alert is already resolved': 'rs_is_resolved', 'the alert is not silenced': 'rs_not_silenced',
		'every alert of the group is already acknowledged': 'rs_group_acked', 'no such alert in your region': 'rs_no_alert',
		'no such open group in your region': 'rs_no_group',
	};
	return known[r] ? t(known[r]) : r;
}

function errorMessage(status, body) {
	const b = body || {};
	const reason = reasonText(b.reason || b.error || '');
	if (status === 404) return t('act_err_404', { reason });
	if (status === 409) return t('act_err_409', { reason });
	if (status === 422 || status === 400) {
		const field = b.field ? (t(`field_${b.field}`) === `field_${b.field}` ? b.field : t(`field_${b.field}`)) : '';
		return field ? t('act_err_422', { field, reason }) : t('act_err_other', { status, reason });
	}
	if (status === 403) return t('act_err_403', { reason });
	return t('act_err_other', { status, reason: reason || '—' });
}

function say(text, ok, status = '') {
	const el = $('#act-msg');
	el.textContent = text || '';
	el.className = `act-msg${text ? (ok ? ' ok' : ' bad') : ''}`;
	el.dataset.status = String(status);
}

function renderActions(a) {
	const box = $('#actions');
	box.hidden = false;
	const note = $('#act-note');
	note.hidden = S.canAct;
	note.textContent = S.canAct ? '' : t(S.who && S.who.kind === 'display' ? 'act_ro_display' : 'act_ro_viewer');
	const resolved = a.state === 'resolved';
	const groupOpen = a.group && !a.suppressed && !resolved;
	const unacked = groupOpen ? [a, ...store.members(a)].filter((x) => !x.ackedAt && x.state !== 'resolved').length : 0;
	const btn = (act) => box.querySelector(`[data-act="${act}"]`);
	const can = S.canAct && !S.busy;
	btn('ack').disabled = !can || resolved || !!a.ackedAt;
	btn('comment').disabled = !can;
	btn('resolve').disabled = !can || resolved;
	btn('silence').disabled = !can || resolved;
	btn('unsilence').hidden = a.state !== 'silenced';
	btn('unsilence').disabled = !can;
	btn('ack-group').hidden = !groupOpen;
	btn('ack-group').disabled = !can || !unacked;
	btn('ack-group').textContent = t('act_ack_group', { n: unacked });
	for (const el of box.querySelectorAll('textarea, select, input')) el.disabled = !S.canAct;
	$('[name="until"]').hidden = $('[name="until-preset"]').value !== 'custom';
}

/** Send an action for the selected alert; the server's verdict is shown under the buttons. */
async function act(verb) {
	const a = current();
	if (!a || !S.canAct || S.busy) return;
	const comment = $('[name="comment"]').value.trim();
	let path = `/api/v1/alerts/${encodeURIComponent(a.id)}/${verb}`;
	const body = {};
	if (verb === 'silence') {
		const preset = $('[name="until-preset"]').value;
		if (preset === 'custom') {
			// the picker's wall time is read as Shanghai time, whatever the screen's zone
			const v = $('[name="until"]').value;
			const until = v ? Math.floor(Date.parse(`${v}:00+08:00`) / 1000) : NaN;
			if (!Number.isFinite(until)) {
				say(t('act_until_bad'), false);
				return;
			}
			body.until = until;
		} else {
			body.until = preset === '0' ? 0 : Math.floor(api.serverNow()) + Number(preset);
		}
		if (comment) body.reason = comment;
	} else if (verb === 'ack-group') {
		path = '/api/v1/alerts/ack-group';
		body.group = a.group;
		if (comment) body.comment = comment;
	} else if (comment) {
		body.comment = comment;
	}
	S.busy = true;
	say(t('form_sending'), true);
	renderActions(a);
	let status = 0, reply = null;
	try {
		({ status, body: reply } = await api.postJSON(path, body));
	} catch (e) {
		say(t('act_err_other', { status: '—', reason: e.message }), false);
	} finally {
		S.busy = false;
	}
	if (status === 200 && reply) {
		store.apply({ type: 'merge', ...(reply.alert ? { alerts: [reply.alert] } : { alerts: reply.alerts || [] }) });
		$('[name="comment"]').value = '';
		say(verb === 'ack-group' ? t('act_ok_ack_group', { n: reply.acknowledged }) : t(`act_ok_${verb}`), true, status);
		renderList();
		renderDetail({ refetch: true });
		return;
	}
	if (status === 401 && api.loginRedirect()) return;
	if (status) say(status === 401 ? t('act_err_session') : errorMessage(status, reply), false, status);
	// someone else was quicker, or the alert left: read it again
	if (status === 404 || status === 409) renderDetail({ refetch: true });
	else renderActions(current() || a);
}

// ---- selection ----

function select(id) {
	if (id === S.selected) return;
	S.selected = id ? String(id) : null;
	say('');
	$('[name="comment"]').value = '';
	const url = new URL(location.href);
	if (S.selected) url.searchParams.set('id', S.selected);
	else url.searchParams.delete('id');
	history.replaceState(null, '', url);
	// a member picked elsewhere (its detail, a notification): open its group in the list
	const a = S.selected && store.get(S.selected);
	if (a && a.suppressed && a.group) S.expanded.add(a.group);
	renderList();
	renderDetail({ refetch: true });
}

/** Older resolved alerts than the live snapshot keeps: read once when the filter asks for them. */
async function loadResolved() {
	if (S.resolvedLoaded) return;
	S.resolvedLoaded = true;
	try {
		const r = await api.getJSON('/api/v1/alerts', { state: 'resolved', region: S.county, limit: 500 });
		S.truncated = !!r.truncated;
		store.apply({ type: 'merge', alerts: r.alerts });
		renderList();
	} catch (e) {
		S.resolvedLoaded = false;
		banner(api.errorText(e, t));
	}
}

/** New critical alerts of this county: the alarm, if switched on. */
function ringFor(loud) {
	const mine = loud.filter(inCounty);
	if (!mine.length || !alarm) return;
	alarm.ring(mine.map((a) => ({ id: a.id, title: t('notify_title', { rule: ruleLabel(a.rule) }), body: `${entityName(a)}：${alertMessage(a)}` })));
}

function onAlerts(msg) {
	const res = store.apply(msg);
	if (!res) return;
	renderList();
	ringFor(res.loud);
	const sel = current();
	const touched = msg.type === 'snapshot' || res.changed.some((a) => a.id === S.selected || (sel && sel.group && a.group === sel.group));
	if (touched) renderDetail({ refetch: !!S.selected });
}

async function main() {
	const chrome = initChrome('alerts.html');
	const initial = Object.fromEntries(FILTERS.map((k) => [k, api.param(k, '')]));
	alarm = new AlertAlarm({ toggle: $('#notify-toggle'), note: $('#notify-note'), t, onOpen: (id) => select(id) });
	try {
		await withRetry(async () => {
			await api.syncTime();
			S.catalog = await api.catalog();
			S.county = await api.pickCounty();
			S.prefix = S.county.slice(0, 6);
			for (const r of await api.regions(S.county)) {
				S.names.set(r.code, r.name);
				if (r.level === 'township' && !r.retired) S.townships.push({ code: r.code, name: r.name });
			}
			for (const p of (await api.getJSON('/api/v1/projects', { under: S.county })).projects) S.names.set(p.id, p.name);
		}, (e) => banner(api.errorText(e, t)));
	} catch {
		return;
	}
	banner(null);
	S.townships.sort((a, b) => a.code.localeCompare(b.code));
	document.getElementById('crumbs').innerHTML = `<span><a href="${esc(api.linkTo('region.html', { code: S.county }))}">${esc(S.names.get(S.county) || countyOf(S.county))}</a></span>`;
	fillFilters(initial);
	renderList();
	renderDetail({ refetch: !!S.selected });

	// who is this: operators and admins act; a session also refreshes its CSRF token here
	S.who = await api.me();
	if (S.who && S.who.kind === 'session' && S.who.csrf) api.setCsrf(S.who.csrf);
	S.canAct = !!S.who && S.who.kind === 'session' && (S.who.role === 'operator' || S.who.role === 'admin');
	if (current()) renderActions(current());

	const live = new LiveClient({
		topics: ['alerts'],
		onSnapshot: (topic, msg) => onAlerts(msg),
		onDelta: (topic, msg) => onAlerts(msg),
		onState: chrome.setConnection,
	});
	live.start();
	// the list before the socket is up (the snapshot replaces it)
	api.getJSON('/api/v1/alerts', { region: S.county, limit: 2000 })
		.then((r) => onAlerts({ type: 'merge', alerts: r.alerts }))
		.catch((e) => banner(api.errorText(e, t)));
	if (initial.state === 'resolved') loadResolved();

	document.getElementById('filters').addEventListener('input', () => {
		const url = new URL(location.href);
		const f = filterValues();
		for (const k of FILTERS) if (f[k]) url.searchParams.set(k, f[k]); else url.searchParams.delete(k);
		history.replaceState(null, '', url);
		if (f.state === 'resolved') loadResolved();
		renderList();
	});
	document.getElementById('reset').addEventListener('click', () => {
		for (const k of FILTERS) $(`[name="${k}"]`).value = '';
		document.getElementById('filters').dispatchEvent(new Event('input'));
	});
	const tbody = $('#list tbody');
	tbody.addEventListener('click', (ev) => {
		const exp = ev.target.closest('button.expand');
		if (exp) {
			const g = exp.dataset.group;
			if (S.expanded.has(g)) S.expanded.delete(g);
			else S.expanded.add(g);
			renderList();
			return;
		}
		const tr = ev.target.closest('tr[data-id]');
		if (tr) select(tr.dataset.id);
	});
	tbody.addEventListener('keydown', (ev) => {
		const tr = ev.target.closest('tr[data-id]');
		if (tr && (ev.key === 'Enter' || ev.key === ' ') && !ev.target.closest('button')) {
			ev.preventDefault();
			select(tr.dataset.id);
		}
	});
	$('#detail').addEventListener('click', (ev) => {
		const go = ev.target.closest('[data-goto]');
		if (go) {
			ev.preventDefault();
			select(go.dataset.goto);
		}
	});
	for (const b of document.querySelectorAll('[data-act]')) b.addEventListener('click', () => act(b.dataset.act));
	$('[name="until-preset"]').addEventListener('change', () => {
		$('[name="until"]').hidden = $('[name="until-preset"]').value !== 'custom';
	});
	onLangChange(() => {
		fillFilters();
		renderList();
		S.chartFor = null; // series labels are baked into the chart
		renderDetail();
		if (current()) renderActions(current());
		if (alarm.note.dataset.key) alarm.setNote(alarm.note.dataset.key);
	});
	setInterval(renderList, 30_000); // keeps "3 分钟前" current
}

main();
