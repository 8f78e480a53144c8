// common.js: what the office pages share: the header (navigation, language
// switch, connection badge), error banners, and the project classification
// used by the wall, the tracker and the console alike.

import { linkTo, me, postJSON, setCsrf } from './api.js';
import { t, bindLangSwitch, applyI18n, onLangChange } from './i18n.js';
import { isNum, fmtTime, esc } from './format.js';
import { connectionBadge } from './live.js';

// ---- schedule performance (FEMA earned-value bands) ----

/** 'green' (≥ 0.95), 'amber' (0.90–0.95), 'red' (< 0.90) or '' (unknown). */
export function spiBand(spi) {
	if (!isNum(spi)) return '';
	if (spi >= 0.95) return 'green';
	if (spi >= 0.9) return 'amber';
	return 'red';
}

export const SILENT_DAYS = 35;
export const STALLED_DAYS = 60;

/**
 * Status of a project from its current figures: 'stalled' (no report for
 * 60 days while behind plan — the alert engine will judge this from the
 * progress history; this is the same idea from current figures), 'behind'
 * (SPI < 0.95), 'on_track', or 'none' (not started or no figures yet).
 */
export function projectStatus(cur) {
	const c = cur || {};
	if (isNum(c.days_silent) && c.days_silent >= STALLED_DAYS && isNum(c.planned_pct) &&
		(!isNum(c.progress_pct) || c.progress_pct < c.planned_pct)) return 'stalled';
	if (!isNum(c.spi)) return 'none';
	return c.spi >= 0.95 ? 'on_track' : 'behind';
}

// ---- page chrome ----

const NAV = [
	['index.html', 'nav_home'], ['wall.html', 'nav_wall'], ['projects.html', 'nav_projects'],
	['region.html', 'nav_region'], ['alerts.html', 'nav_alerts'],
];

/**
 * Fill <header class="topbar"> of an office page: title, navigation (the
 * current page marked), language switch, connection badge. Returns
 * { setConnection } for LiveClient's onState.
 */
export function initChrome(current, { extraQuery = {} } = {}) {
	const bar = document.querySelector('header.topbar');
	bar.innerHTML = `
		<a class="brand" href="${esc(linkTo('index.html'))}"><span class="brand-mark" aria-hidden="true"></span>
			<span data-i18n="app_title"></span></a>
		<nav class="nav">${NAV.filter(([p]) => p !== 'index.html').map(([p, k]) =>
			`<a href="${esc(linkTo(p, p === 'wall.html' ? {} : extraQuery))}" data-i18n="${k}"${p === current ? ' aria-current="page"' : ''}></a>`).join('')}</nav>
		<span class="spacer"></span>
		<span class="conn" data-state="connecting" role="status" hidden><span class="conn-dot"></span><span class="conn-label"></span><span class="conn-asof"></span></span>
		<span class="who" hidden><span class="who-name"></span><button type="button" class="logout" data-i18n="logout"></button></span>
		<button type="button" class="lang-switch"></button>`;
	bindLangSwitch(bar.querySelector('.lang-switch'));
	// who is signed in (a display token shows nothing); a 401 here leads to the login page
	me().then((who) => {
		if (!who || who.kind !== 'session') return;
		const box = bar.querySelector('.who');
		box.querySelector('.who-name').textContent = who.name;
		box.title = `${who.role}${who.scope ? ` · ${who.scope}` : ''}`;
		box.hidden = false;
		box.querySelector('.logout').addEventListener('click', async () => {
			await postJSON('/api/v1/logout', {}).catch(() => {});
			setCsrf(null);
			location.assign('login.html');
		});
	});
	applyI18n(document);
	const badge = connectionBadge(bar.querySelector('.conn'), { t, fmtTime });
	let last = ['connecting', {}];
	onLangChange(() => badge(...last));
	badge(...last);
	return {
		setConnection(state, info) {
			bar.querySelector('.conn').hidden = false; // only pages with a live feed show it
			last = [state, info];
			badge(state, info);
		},
	};
}

/** Show (or clear with null) the page's error banner. */
export function banner(text, kind = 'error') {
	let el = document.querySelector('.banner');
	if (!el) {
		el = document.createElement('div');
		el.className = 'banner';
		el.setAttribute('role', 'alert');
		document.querySelector('main').prepend(el);
	}
	el.hidden = !text;
	el.dataset.kind = kind;
	el.textContent = text || '';
}

/** Retry an async loader with back-off until it succeeds; reports errors via onError. */
export async function withRetry(fn, onError, { first = 1000, max = 30000 } = {}) {
	for (let delay = first; ; delay = Math.min(max, delay * 2)) {
		try {
			return await fn();
		} catch (e) {
			onError(e);
			if (e && (e.status === 401 || e.status === 403 || e.status === 404)) throw e;
			await new Promise((r) => setTimeout(r, delay));
		}
	}
}
