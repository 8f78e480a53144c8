// api.js: the JSON API, the display token and the server clock.
//
// Two kinds of credential (docs/DEPLOY.md):
// * a display token in the page address (wall.html?token=…): a wall screen
//   cannot set headers, so the token is forwarded to every API call as
//   "Authorization: Bearer" and to the WebSocket URL as ?token=; links
//   between pages keep it (linkTo). Such a page never falls back to a login
//   page: it shows the error and keeps retrying.
// * a login session (office desktops): an HttpOnly cookie the browser sends
//   by itself; state-changing requests carry the session's CSRF token (from
//   the login reply, kept in localStorage) as X-CSRF-Token. An API answer of
//   401 sends the person to login.html and back afterwards.
//
// All dates and day boundaries come from the server clock (GET /api/v1/time):
// serverNow() is the screen's clock corrected by the measured offset.

const params = new URLSearchParams(location.search);
const displayToken = params.get('token') || null;

export class ApiError extends Error {
	constructor(status, body) {
		const b = body && typeof body === 'object' ? body : {};
		super(b.error ? `${b.error}${b.field ? ` (${b.field}: ${b.reason})` : b.reason ? `: ${b.reason}` : ''}` : `HTTP ${status}`);
		this.status = status;
		this.body = b;
		this.field = b.field || null;
		this.reason = b.reason || null;
	}
}

/** The token from the page address, or null. */
export function token() {
	return displayToken;
}

/** A query parameter of the page address. */
export function param(name, fallback = null) {
	const v = params.get(name);
	return v === null || v === '' ? fallback : v;
}

/** A numeric query parameter clamped to [min, max]. */
export function numParam(name, fallback, min, max) {
	const v = Number(params.get(name));
	return params.has(name) && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

const CSRF_KEY = 'fpmon.csrf';

/** The CSRF token of the login session, or null. */
export function csrf() {
	try {
		return localStorage.getItem(CSRF_KEY);
	} catch {
		return null;
	}
}

export function setCsrf(value) {
	try {
		if (value) localStorage.setItem(CSRF_KEY, value);
		else localStorage.removeItem(CSRF_KEY);
	} catch { /* storage off */ }
}

function headers(extra = {}, post = false) {
	const h = { Accept: 'application/json', ...extra };
	if (displayToken && !h.Authorization) h.Authorization = `Bearer ${displayToken}`;
	if (post && !h.Authorization && csrf()) h['X-CSRF-Token'] = csrf();
	return h;
}

/**
 * An office page without credentials goes to the login page (and comes back
 * after). Pages opened with a display token, and the wall, never do.
 */
export function loginRedirect() {
	if (displayToken || /\/(wall|login)\.html$/.test(location.pathname)) return false;
	const next = `${location.pathname}${location.search}`;
	location.assign(`login.html?next=${encodeURIComponent(next)}`);
	return true;
}

/** GET a JSON endpoint; query values null/undefined are left out. Throws ApiError. */
export async function getJSON(path, query = {}, { signal, timeoutMs = 20000 } = {}) {
	const url = new URL(path, location.origin);
	for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, v);
	const ctrl = new AbortController();
	const timer = setTimeout(() => ctrl.abort(), timeoutMs);
	if (signal) signal.addEventListener('abort', () => ctrl.abort(), { once: true });
	try {
		const res = await fetch(url, { headers: headers(), signal: ctrl.signal, cache: 'no-store' });
		const body = await res.json().catch(() => null);
		if (res.status === 401 && loginRedirect()) await new Promise(() => {}); // leaving the page
		if (!res.ok) throw new ApiError(res.status, body);
		return body;
	} finally {
		clearTimeout(timer);
	}
}

/**
 * POST to an ingest endpoint (kind: samples | progress | milestones | …)
 * with an ingest token, or with the operator's session when none is given. Resolves { status, body } for 2xx and 4xx with a
 * JSON verdict (the caller shows field/reason errors); throws on network
 * failure.
 */
export async function postIngest(kind, body, operatorToken) {
	// Without a typed token, a logged-in operator's session (cookie + CSRF) is used.
	const extra = operatorToken ? { 'Content-Type': 'application/json', Authorization: `Bearer ${operatorToken}` }
		: { 'Content-Type': 'application/json' };
	const res = await fetch(`/api/v1/ingest/${kind}`, {
		method: 'POST',
		headers: headers(extra, !operatorToken),
		body: JSON.stringify(body),
		cache: 'no-store',
	});
	const json = await res.json().catch(() => null);
	return { status: res.status, body: json };
}

/**
 * GET /api/v1/history over the last `days` (server clock). With several
 * ranges, the first that holds at least `minPoints` known values at the
 * resolution the server picks for it wins (a young installation has only
 * hours of data: a month's chart of it would be a single daily point).
 * Returns { h, days }.
 */
export async function history(entity, metrics, rangesDays, minPoints = 12) {
	const now = Math.floor(serverNow());
	const list = Array.isArray(rangesDays) ? rangesDays : [rangesDays];
	let h, days;
	for (days of list) {
		h = await getJSON('/api/v1/history', { entity, metrics: metrics.join(','), start: now - Math.round(days * 86400), end: now });
		const filled = Math.max(0, ...Object.values(h.values).map((col) => col.filter((x) => x !== null).length));
		if (filled >= minPoints) break;
	}
	return { h, days };
}

// ---- cached reference data ----

let catalogP = null;
/** The metric catalog as { metrics: [...], byKey: Map }. */
export function catalog() {
	if (!catalogP) {
		catalogP = getJSON('/api/v1/catalog').then((c) => ({ ...c, byKey: new Map(c.metrics.map((m) => [m.key, m])) }));
		catalogP.catch(() => (catalogP = null));
	}
	return catalogP;
}

/** Regions under a code (or all visible), as an array. */
export async function regions(under) {
	return (await getJSON('/api/v1/regions', { under })).regions;
}

/** The county to show: ?region= if given, else the first county the server lists. */
export async function pickCounty() {
	const want = param('region');
	if (want) return want;
	const all = await regions();
	const county = all.find((r) => r.level === 'county' && !r.retired);
	if (!county) throw new ApiError(404, { error: 'no county', reason: 'the region tree has no county yet' });
	return county.code;
}

// ---- server clock ----

let offsetS = 0; // server - screen, seconds
let timeInfo = null;

/** Fetch /api/v1/time and remember the offset; returns the reply. */
export async function syncTime() {
	const t0 = Date.now();
	const r = await getJSON('/api/v1/time');
	const t1 = Date.now();
	offsetS = r.now - (t0 + t1) / 2000;
	timeInfo = r;
	return r;
}

/** Unix seconds now by the server's clock (after syncTime()). */
export function serverNow() {
	return Date.now() / 1000 + offsetS;
}

/** The last /api/v1/time reply (date, day_start, step…) or null. */
export function lastTime() {
	return timeInfo;
}

/** Keep the offset fresh (screens drift; a wall runs for months). */
export function keepTimeSynced(everyMs = 10 * 60 * 1000) {
	setInterval(() => syncTime().catch(() => {}), everyMs);
}

// ---- links ----

/** A same-site link that keeps ?token= and ?lang=. */
export function linkTo(page, query = {}) {
	const url = new URL(page, location.href);
	for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined) url.searchParams.set(k, v);
	if (displayToken) url.searchParams.set('token', displayToken);
	const l = new URLSearchParams(location.search).get('lang');
	if (l && !url.searchParams.has('lang')) url.searchParams.set('lang', l);
	return `${url.pathname}${url.search}`;
}

/** POST JSON with the session's CSRF token (or the display token); resolves { status, body }. */
export async function postJSON(path, body) {
	const res = await fetch(path, {
		method: 'POST', headers: headers({ 'Content-Type': 'application/json' }, true), body: JSON.stringify(body), cache: 'no-store',
	});
	return { status: res.status, body: await res.json().catch(() => null) };
}

/** Who is this: { name, role, scope, kind: 'session' | 'display' }, or null. */
export async function me() {
	try {
		return await getJSON('/api/v1/me');
	} catch {
		return null;
	}
}

/** Human message of an error for a banner. */
export function errorText(e, t) {
	if (e instanceof ApiError) {
		if (e.status === 401) return t('err_unauthorized');
		if (e.status === 403) return t('err_forbidden');
		if (e.status === 404) return `${t('err_not_found')}${e.reason ? `: ${e.reason}` : ''}`;
		return t('err_load', { msg: e.message });
	}
	return t('err_load', { msg: e && e.message ? e.message : String(e) });
}
