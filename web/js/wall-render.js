// wall-render.js: the wall display's building blocks: KPI tiles that flash
// when a figure changes, ranked bar lists, the "furthest behind" table, the
// chart legends and the alert ticker. Pure DOM; wall.js decides what to show.

import { t, metricLabel } from './i18n.js';
import { esc, isNum, fmtInt, fmtPct, fmtSpi, fmtAge, DASH } from './format.js';
import { spiBand } from './common.js';
import { alertMessage } from './alerts-model.js';

/**
 * Set a KPI tile: tile(name) finds [data-kpi=name].
 * fields: { value (text), unit (text, optional), sub (text), cls ('good'|'warn'|'bad'|''), bar (0..100) }
 * A changed value flashes the tile for a moment (not on the first fill).
 */
export function setKpi(name, fields) {
	const el = document.querySelector(`[data-kpi="${name}"]`);
	if (!el) return;
	const b = el.querySelector('.kpi-v b');
	if (b && fields.value !== undefined) {
		const before = b.textContent;
		if (before !== fields.value) {
			b.textContent = fields.value;
			if (before && before !== DASH && el.dataset.filled) flash(el);
		}
		el.dataset.filled = '1';
	}
	if (fields.unit !== undefined) {
		const i = el.querySelector('.kpi-v i');
		if (i) i.textContent = fields.unit;
	}
	if (fields.sub !== undefined) el.querySelector('.kpi-s').textContent = fields.sub;
	if (fields.bar !== undefined) {
		const bar = el.querySelector('.kpi-bar span');
		if (bar) bar.style.width = `${isNum(fields.bar) ? Math.max(0, Math.min(100, fields.bar)) : 0}%`;
	}
	el.classList.remove('good', 'warn', 'bad');
	if (fields.cls) el.classList.add(fields.cls);
}

function flash(el) {
	el.classList.add('flash');
	clearTimeout(el._flash);
	el._flash = setTimeout(() => el.classList.remove('flash'), 2500);
}

/** Project counts in the three-figure tile. */
export function setProjectCounts(counts, sub) {
	for (const k of ['on_track', 'behind', 'stalled']) {
		const b = document.querySelector(`[data-p="${k}"]`);
		const v = isNum(counts[k]) ? String(counts[k]) : DASH;
		if (b.textContent !== v) {
			if (b.textContent !== DASH && b.textContent) flash(b.closest('.kpi'));
			b.textContent = v;
		}
	}
	document.querySelector('[data-kpi="projects"] .kpi-s').textContent = sub;
}

/**
 * A ranked list into <ol data-rank=name>.
 * rows: [{ name, value (number), text (display), cls }], sorted already; max: bar scale.
 */
export function renderRank(name, rows, { max, limit = 30 } = {}) {
	const ol = document.querySelector(`[data-rank="${name}"]`);
	if (!ol) return;
	if (!rows.length) {
		ol.innerHTML = `<li class="empty">${esc(t('no_data'))}</li>`;
		return;
	}
	const top = max ?? Math.max(...rows.map((r) => (isNum(r.value) ? r.value : 0)), 1e-9);
	ol.innerHTML = rows.slice(0, limit).map((r, i) => {
		const w = isNum(r.value) && top > 0 ? Math.max(1.5, (r.value / top) * 100) : 0;
		return `<li><span class="r-no">${i + 1}</span><span class="r-name">${esc(r.name)}</span>` +
			`<span class="r-bar ${r.cls || ''}"><span style="width:${w}%"></span></span><b>${esc(r.text)}</b></li>`;
	}).join('');
	// show only the rows that fit the panel whole (a county may have 25 townships)
	requestAnimationFrame(() => {
		const bottom = ol.getBoundingClientRect().bottom;
		for (const li of ol.children) li.hidden = li.getBoundingClientRect().bottom > bottom + 1;
	});
}

/** Projects furthest behind: lowest SPI first (stalled ones flagged). */
export function renderWorst(projects, townshipName, statusOf, limit = 9) {
	const table = document.querySelector('[data-list="worst"]');
	const rows = projects.filter((p) => isNum(p.current.spi) || statusOf(p.current) === 'stalled')
		.sort((a, b) => (a.current.spi ?? -1) - (b.current.spi ?? -1)).slice(0, limit);
	if (!rows.length) {
		table.innerHTML = `<tr><td class="empty">${esc(t('no_data'))}</td></tr>`;
		return;
	}
	table.innerHTML = rows.map((p) => {
		const c = p.current;
		const band = spiBand(c.spi);
		const a = isNum(c.progress_pct) ? c.progress_pct : 0;
		const pl = isNum(c.planned_pct) ? c.planned_pct : null;
		const stalled = statusOf(c) === 'stalled';
		return `<tr><td class="wp-name"><span class="wp-in">${stalled ? `<span class="tag">${esc(t('kpi_proj_stalled'))}</span>` : ''}<span class="nm">${esc(p.name || p.id)}</span></span></td>` +
			`<td class="wp-town">${esc(townshipName(p.location))}</td>` +
			`<td class="wp-bar"><div class="wbar"><i class="${band}" style="width:${Math.min(100, a)}%"></i>${pl === null ? '' : `<u style="left:${Math.min(100, pl)}%"></u>`}</div></td>` +
			`<td>${esc(fmtPct(c.progress_pct, 0))} / ${esc(fmtPct(c.planned_pct, 0))}</td>` +
			`<td><span class="spi-b ${band}">${esc(fmtSpi(c.spi))}</span></td></tr>`;
	}).join('');
}

/** Legend above a chart: colour, label, current value. */
export function renderLegend(name, series, values, fmt) {
	const el = document.querySelector(`[data-legend="${name}"]`);
	if (!el) return;
	el.innerHTML = series.map((s) =>
		`<span style="--c:${s.color}">${esc(s.label)} <b>${esc(fmt(s, values ? values[s.key] : null))}</b></span>`).join('');
}

/**
 * The alert ticker: open alerts (firing and acknowledged, a group as its
 * cause), most severe first, then oldest; scrolls only when it overflows.
 * alerts: normalized and sorted (alerts-model.js); available: whether the
 * alert stream has answered yet. Rebuilt only when its text changes, so
 * the scrolling is not restarted by every live frame.
 */
export function renderTicker(alerts, available, now, entityName) {
	const box = document.getElementById('ticker');
	const count = document.getElementById('alert-count');
	const quiet = (text) => {
		if (box.dataset.html === text) return;
		box.dataset.html = text;
		box.className = 't-items';
		box.innerHTML = `<span class="t-quiet">${esc(text)}</span>`;
	};
	if (!available) {
		count.textContent = '';
		quiet(t('alerts_waiting'));
		return;
	}
	count.textContent = alerts.length ? `(${alerts.length})` : '';
	if (!alerts.length) {
		quiet(t('alerts_none'));
		return;
	}
	// the message names its subject: bold there, else the name before it
	const text = (a) => {
		const name = a.entityName || entityName(a.entity) || a.entity || '';
		const msg = alertMessage(a);
		const at = name ? msg.indexOf(name) : -1;
		if (at < 0) return `<b>${esc(name)}</b>${msg ? `<span>${esc(msg)}</span>` : ''}`;
		return `<span>${esc(msg.slice(0, at))}<b>${esc(name)}</b>${esc(msg.slice(at + name.length))}</span>`;
	};
	const item = (a) => `<span class="t-item" data-id="${esc(a.id)}" data-state="${esc(a.state)}"><span class="t-sev ${a.severity}">${esc(t(`sev_${a.severity}`))}</span>` +
		`<span>${esc(t(`rule_${a.rule}`))}</span>${text(a)}` +
		`${a.state === 'acknowledged' ? `<span class="t-when">${esc(t('st_acknowledged'))}</span>` : ''}` +
		`<span class="t-when t-age" data-at="${esc(a.firedAt ?? '')}">${esc(isNum(a.firedAt) ? fmtAge(now - a.firedAt) : '')}</span></span>`;
	const html = alerts.slice(0, 40).map(item).join('');
	// the ages move every minute: updated in place, so the scrolling goes on undisturbed
	const key = html.replace(/(<span class="t-when t-age"[^>]*>)[^<]*/g, '$1');
	if (box.dataset.html === key) {
		for (const el of box.querySelectorAll('.t-age')) if (el.dataset.at) el.textContent = fmtAge(now - Number(el.dataset.at));
		return;
	}
	box.dataset.html = key;
	box.className = 't-items';
	box.innerHTML = html;
	// Scroll only if the items do not fit; the list is doubled for a seamless loop.
	requestAnimationFrame(() => {
		if (box.dataset.html === key && box.scrollWidth > box.parentElement.clientWidth) {
			box.innerHTML = html + html;
			box.style.setProperty('--dur', `${Math.max(30, Math.min(alerts.length, 40) * 8)}s`);
			box.classList.add('scrolling');
		}
	});
}

/** Format a legend value of a series kind. */
export function legendValue(fmtMoney) {
	return (s, v) => {
		if (!isNum(v)) return DASH;
		if (s.kind === 'money') return fmtMoney(v);
		if (s.kind === 'pct') return fmtPct(v, 2);
		if (s.kind === 'spi') return fmtSpi(v);
		return fmtInt(v);
	};
}

export { metricLabel };
