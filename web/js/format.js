// format.js: numbers, money and dates for the dashboards.
//
// Money arrives from the API as integer fen (分). It is converted to 元 only
// for display, and scaled to 万元 / 亿元 the way Chinese finance reports do
// (en: ¥ with k / M / bn). Dates and day boundaries are always Asia/Shanghai
// (UTC+8, no daylight saving), computed from Unix seconds of the server
// clock, never from the screen's own time zone.

import { lang } from './i18n.js';

export const TZ = 'Asia/Shanghai';
const CST_OFFSET_S = 8 * 3600;
export const DASH = '—';

const nfCache = new Map();
function nf(digits, minDigits = digits) {
	const key = `${lang()}|${digits}|${minDigits}`;
	let f = nfCache.get(key);
	if (!f) {
		f = new Intl.NumberFormat(lang() === 'en' ? 'en-US' : 'zh-CN', {
			maximumFractionDigits: digits,
			minimumFractionDigits: minDigits,
		});
		nfCache.set(key, f);
	}
	return f;
}

export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** An integer count with thousands separators ("12,345"); "—" when unknown. */
export function fmtInt(v) {
	return isNum(v) ? nf(0).format(Math.round(v)) : DASH;
}

/** A number with up to `digits` decimals. */
export function fmtNum(v, digits = 1) {
	return isNum(v) ? nf(digits, 0).format(v) : DASH;
}

/** A number with exactly `digits` decimals ("94.0"). */
export function fmtFixed(v, digits = 1) {
	return isNum(v) ? nf(digits, digits).format(v) : DASH;
}

/** A percentage value (already 0..100): "12.3%". */
export function fmtPct(v, digits = 1) {
	return isNum(v) ? `${nf(digits, digits).format(v)}%` : DASH;
}

/** A ratio a/b as a percentage, "—" when b is 0 or unknown. */
export function ratioPct(a, b) {
	return isNum(a) && isNum(b) && b > 0 ? (a / b) * 100 : null;
}

/** SPI with two decimals. */
export function fmtSpi(v) {
	return isNum(v) ? nf(2, 2).format(v) : DASH;
}

/**
 * Money in fen → { value, unit } scaled for reading.
 * zh: 元 below 1 万元, 万元 below 1 亿元, then 亿元; en: ¥, ¥k, ¥M, ¥bn.
 * `fixedUnit` ('yuan' | 'wan' | 'yi') forces a unit, e.g. for table columns.
 * `compact` (the wall's big figures): one decimal from 1,000 万元 up.
 */
export function moneyParts(fen, fixedUnit, compact = false) {
	if (!isNum(fen)) return { value: DASH, unit: '' };
	const yuan = fen / 100;
	const abs = Math.abs(yuan);
	if (lang() === 'en') {
		const scale = fixedUnit === 'wan' ? 'M' : fixedUnit === 'yi' ? 'bn' : fixedUnit === 'yuan' ? '' :
			abs >= 1e9 ? 'bn' : abs >= 1e6 ? 'M' : abs >= 1e4 ? 'k' : '';
		const div = { bn: 1e9, M: 1e6, k: 1e3, '': 1 }[scale];
		const digits = scale === '' ? 2 : abs / div >= 100 ? 1 : 2;
		return { value: `¥${nf(digits, scale === '' ? 2 : 0).format(yuan / div)}`, unit: scale };
	}
	const unit = fixedUnit || (abs >= 1e8 ? 'yi' : abs >= 1e4 ? 'wan' : 'yuan');
	if (unit === 'yi') return { value: nf(2, 2).format(yuan / 1e8), unit: '亿元' };
	const d = compact && abs / 1e4 >= 1000 ? 1 : 2;
	if (unit === 'wan') return { value: nf(d, d).format(yuan / 1e4), unit: '万元' };
	return { value: nf(2, 2).format(yuan), unit: '元' };
}

/** Money in fen as one string: "3,502.19 万元" / "¥35.02M". */
export function fmtMoney(fen, fixedUnit) {
	const { value, unit } = moneyParts(fen, fixedUnit);
	if (value === DASH) return DASH;
	return lang() === 'en' ? `${value}${unit}` : `${value} ${unit}`;
}

/** Exact 元 amount of integer fen, for forms and tooltips: "1,234.50 元". */
export function fmtYuanExact(fen) {
	if (!isNum(fen)) return DASH;
	const s = lang() === 'en' ? '¥' : '';
	return `${s}${nf(2, 2).format(fen / 100)}${lang() === 'en' ? '' : ' 元'}`;
}

/**
 * Parse a 元 amount typed by a person ("1,234.5", "12万" is not accepted)
 * into integer fen without floating-point rounding. Returns
 * { fen } or { error: 'money_format' | 'money_negative' | 'money_too_large' }.
 */
export function parseYuanToFen(text) {
	const s = String(text).trim().replace(/[,，\s]/g, '');
	if (s === '') return { fen: null };
	if (/^-/.test(s)) return { error: 'money_negative' };
	const m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(s);
	if (!m) return { error: 'money_format' };
	const whole = m[1].replace(/^0+(?=\d)/, '');
	if (whole.length > 12) return { error: 'money_too_large' };
	const fen = Number(whole) * 100 + Number((m[2] || '').padEnd(2, '0'));
	if (fen > 1e14) return { error: 'money_too_large' };
	return { fen };
}

// ---- dates in Asia/Shanghai ----

/** 'YYYY-MM-DD' of Unix seconds t in Asia/Shanghai. */
export function cstDate(t) {
	return new Date((t + CST_OFFSET_S) * 1000).toISOString().slice(0, 10);
}

/** Unix seconds of 00:00 Asia/Shanghai on a 'YYYY-MM-DD' date (NaN if malformed). */
export function cstDayStart(date) {
	if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return NaN;
	const ms = Date.parse(`${date}T00:00:00Z`);
	if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== date) return NaN;
	return ms / 1000 - CST_OFFSET_S;
}

/** Whole days between two 'YYYY-MM-DD' dates (b - a). */
export function daysBetween(a, b) {
	return Math.round((cstDayStart(b) - cstDayStart(a)) / 86400);
}

/** Seconds since 00:00 Asia/Shanghai of Unix time t. */
export function cstSecondsOfDay(t) {
	return (((t + CST_OFFSET_S) % 86400) + 86400) % 86400;
}

const dtfCache = new Map();
function dtf(opts) {
	const key = lang() + JSON.stringify(opts);
	let f = dtfCache.get(key);
	if (!f) {
		f = new Intl.DateTimeFormat(lang() === 'en' ? 'en-GB' : 'zh-CN', { timeZone: TZ, hour12: false, ...opts });
		dtfCache.set(key, f);
	}
	return f;
}

/** "14:05:09" of Unix seconds in Shanghai. */
export function fmtTime(t, seconds = true) {
	if (!isNum(t)) return DASH;
	return dtf({ hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) }).format(t * 1000);
}

/** "2026-11-26 14:05" of Unix seconds in Shanghai. */
export function fmtDateTime(t) {
	if (!isNum(t)) return DASH;
	return `${cstDate(t)} ${fmtTime(t, false)}`;
}

/** Long date for the wall clock: "2026年11月26日 星期四" / "Thu 26 Nov 2026". */
export function fmtLongDate(t) {
	if (!isNum(t)) return DASH;
	return lang() === 'en' ? dtf({ year: 'numeric', month: 'short', day: 'numeric', weekday: 'short' }).format(t * 1000)
		: dtf({ year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' }).format(t * 1000);
}

/** Relative age: "3 分钟前" / "3 min ago". */
export function fmtAge(seconds) {
	if (!isNum(seconds)) return DASH;
	const s = Math.max(0, Math.round(seconds));
	const en = lang() === 'en';
	if (s < 60) return en ? `${s} s ago` : `${s} 秒前`;
	if (s < 3600) return en ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 60)} 分钟前`;
	if (s < 86400) return en ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 3600)} 小时前`;
	return en ? `${Math.floor(s / 86400)} d ago` : `${Math.floor(s / 86400)} 天前`;
}

/** Escape text for use inside HTML built from strings. */
export function esc(s) {
	return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// ---- region codes (12 digits: PP CC DD TTT VVV) ----

export function regionLevel(code) {
	if (!/^\d{12}$/.test(code)) return null;
	if (code.slice(9) !== '000') return 'village';
	if (code.slice(6, 9) !== '000') return 'township';
	if (code.slice(4, 6) !== '00') return 'county';
	if (code.slice(2, 4) !== '00') return 'prefecture';
	return 'province';
}

/** The township code containing a village or township code (null above). */
export function townshipOf(code) {
	const lvl = regionLevel(code);
	return lvl === 'village' || lvl === 'township' ? `${code.slice(0, 9)}000` : null;
}

/** The county code containing a code at county level or below. */
export function countyOf(code) {
	return /^\d{12}$/.test(code) ? `${code.slice(0, 6)}000000` : null;
}
