// project-form.js: reporting progress and completing milestones from the
// project page, through the ingest API (POST /api/v1/ingest/progress and
// /milestones) with the operator's token.
//
// The checks here mirror the API's (schemas/ingest-progress.json,
// ingest-milestones.json, collector/ingest_projects.c): progress 0–100,
// money as integer fen ≥ 0 (typed in 元, converted without floating-point
// rounding), counts as integers ≥ 0, dates YYYY-MM-DD that are real calendar
// dates and not after today in Asia/Shanghai (today by the server's clock).
// The server stays the judge: its per-item field/reason errors are shown
// next to the field they name.
//
// WAITS ON THE SERVER (issue 5): once users log in, the session cookie will
// replace the typed token: the server accepts an operator's session (with
// its CSRF token), so the token field is needed only without a login.

import * as api from './api.js';
import { t, stageLabel, STAGE_KEYS } from './i18n.js';
import { parseYuanToFen, cstDayStart, fmtInt, esc } from './format.js';

const TOKEN_KEY = 'fpmon.ingestToken';
const MONEY = ['alloc_fen', 'paid_fen', 'reimbursed_fen'];
const COUNTS = ['benef_hh', 'benef_poor_hh', 'jobs'];

function fieldOf(form, name) {
	const input = form.querySelector(`[name="${name}"]`);
	return input ? input.closest('.field') : null;
}

function setError(field, msg) {
	if (!field) return;
	field.classList.toggle('invalid', !!msg);
	const err = field.querySelector('.err');
	if (err) err.textContent = msg || '';
}

function clearErrors(form) {
	for (const f of form.querySelectorAll('.field')) setError(f, null);
	setError(document.getElementById('f-token'), null);
}

function message(form, text, ok) {
	const el = form.querySelector('.form-msg');
	el.textContent = text || '';
	el.className = `form-msg ${ok ? 'ok' : text ? 'bad' : ''}`;
}

/** A date typed or picked: null if fine, else the message. */
export function checkDate(text, today, { notFuture = true } = {}) {
	if (!text) return t('v_required');
	if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(cstDayStart(text))) return t('v_date');
	if (notFuture && text > today) return t('v_future', { today });
	return null;
}

/** Progress report fields → { item, errors: {name: message} }. */
export function buildReport(values, projectId, today, nowTs) {
	const errors = {};
	const item = { project: projectId };
	const dateErr = checkDate(values.date, today);
	if (dateErr) errors.date = dateErr;
	else item.ts = values.date === today ? Math.floor(nowTs) : cstDayStart(values.date) + 12 * 3600;
	const pct = String(values.progress_pct ?? '').trim();
	if (pct !== '') {
		const n = Number(pct);
		if (!/^-?\d+(\.\d+)?$/.test(pct) || !Number.isFinite(n)) errors.progress_pct = t('v_number');
		else if (n < 0 || n > 100) errors.progress_pct = t('v_pct_range');
		else item.progress_pct = n;
	}
	if (values.stage) item.stage = values.stage;
	for (const k of MONEY) {
		const r = parseYuanToFen(values[k] ?? '');
		if (r.error) errors[k] = t(r.error);
		else if (r.fen !== null) item[k] = r.fen;
	}
	for (const k of COUNTS) {
		const s = String(values[k] ?? '').trim();
		if (s === '') continue;
		if (!/^\d+$/.test(s) || Number(s) > 1e9) errors[k] = t('v_int');
		else item[k] = Number(s);
	}
	const note = String(values.note ?? '').trim();
	if (note.length > 500) errors.note = '≤ 500';
	else if (note) item.note = note;
	const figures = Object.keys(item).filter((k) => !['project', 'ts', 'note'].includes(k));
	if (!Object.keys(errors).length && !figures.length) errors._form = t('form_nothing');
	return { item, errors };
}

/**
 * Wire both forms. ctx: { projectId, getProject() → project reply,
 * onSubmitted() → reload the page's data }.
 */
export function initForms(ctx) {
	const tokenInput = document.querySelector('[name="token"]');
	try {
		tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || '';
	} catch { /* storage off */ }
	tokenInput.addEventListener('change', () => {
		try {
			sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
		} catch { /* ignore */ }
	});

	// tabs
	for (const tab of document.querySelectorAll('[data-tab]'))
		tab.addEventListener('click', () => {
			for (const b of document.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', String(b === tab));
			document.getElementById('form-progress').hidden = tab.dataset.tab !== 'progress';
			document.getElementById('form-milestone').hidden = tab.dataset.tab !== 'milestone';
		});

	const fp = document.getElementById('form-progress');
	const fm = document.getElementById('form-milestone');
	// money hints: what the typed 元 amount is in fen, as the API will store it
	for (const k of MONEY) {
		const input = fp.querySelector(`[name="${k}"]`);
		input.addEventListener('input', () => {
			const r = parseYuanToFen(input.value);
			input.closest('.field').querySelector('.hint').textContent = r.fen !== null && r.fen !== undefined ? t('fen_hint', { fen: fmtInt(r.fen) }) : '';
		});
	}
	const todayNow = () => (api.lastTime() ? api.lastTime().date : null);
	const resetDates = () => {
		const today = todayNow();
		if (!today) return;
		for (const [form, name] of [[fp, 'date'], [fm, 'done_date']]) {
			const input = form.querySelector(`[name="${name}"]`);
			input.max = today;
			if (!input.value) input.value = today;
		}
	};
	resetDates();

	// A re-send after a network failure keeps its batch_id, so it is never stored twice.
	const pending = new Map();
	const batchIdFor = (kind, body) => {
		const key = `${kind}:${JSON.stringify(body)}`;
		if (!pending.has(key)) pending.set(key, `web-${kind}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
		return { key, id: pending.get(key) };
	};

	async function send(form, kind, listName, payloadItem) {
		const token = tokenInput.value.trim();
		if (!token && !api.csrf()) { /* neither a token nor a logged-in session */
			setError(document.getElementById('f-token'), t('v_token'));
			tokenInput.focus();
			return;
		}
		const { key, id } = batchIdFor(kind, payloadItem);
		const button = form.querySelector('button[type="submit"]');
		button.disabled = true;
		message(form, t('form_sending'), true);
		try {
			const { status, body } = await api.postIngest(kind, { batch_id: id, [listName]: [payloadItem] }, token);
			pending.delete(key);
			if (status === 401 || status === 403) {
				setError(document.getElementById('f-token'), `${t(`v_http_${status}`)}${body && body.reason ? ` (${body.reason})` : ''}`);
				message(form, t('form_rejected'), false);
				return;
			}
			if (status >= 400 || !body) {
				const field = body && body.field ? body.field.replace(/^.*\./, '') : null;
				if (field && fieldOf(form, field)) setError(fieldOf(form, field), body.reason);
				message(form, `${t('form_rejected')}: ${body ? `${body.error || ''}${body.reason ? ` — ${body.reason}` : ''}` : status}`, false);
				return;
			}
			if (body.errors && body.errors.length) {
				// "reports[0].progress_pct: must be ..." → next to that field
				const loose = [];
				for (const e of body.errors) {
					const name = e.field.replace(/^[a-z_]+\[\d+\]\.?/, '').replace(/^ts$/, 'date');
					const f = fieldOf(form, name);
					if (f) setError(f, e.reason);
					else loose.push(`${e.field}: ${e.reason}`);
				}
				message(form, `${t('form_rejected')}${loose.length ? `: ${loose.join('; ')}` : ''}`, false);
				return;
			}
			if (body.duplicates && !body.accepted) message(form, t('form_dup'), true);
			else message(form, t('form_ok', { a: body.accepted }), true);
			ctx.onSubmitted();
		} catch (e) {
			message(form, t('err_load', { msg: e.message }), false);
		} finally {
			button.disabled = false;
		}
	}

	fp.addEventListener('submit', (ev) => {
		ev.preventDefault();
		clearErrors(fp);
		message(fp, '');
		const values = Object.fromEntries(new FormData(fp).entries());
		const { item, errors } = buildReport(values, ctx.projectId, todayNow(), api.serverNow());
		if (errors._form) {
			message(fp, errors._form, false);
			return;
		}
		if (Object.keys(errors).length) {
			for (const [name, msg] of Object.entries(errors)) setError(fieldOf(fp, name), msg);
			message(fp, t('form_rejected'), false);
			fp.querySelector('.field.invalid input, .field.invalid select')?.focus();
			return;
		}
		send(fp, 'progress', 'reports', item);
	});

	fm.addEventListener('submit', (ev) => {
		ev.preventDefault();
		clearErrors(fm);
		message(fm, '');
		const name = fm.querySelector('[name="name"]').value;
		const done = fm.querySelector('[name="done_date"]').value;
		let bad = false;
		if (!name) {
			setError(fieldOf(fm, 'name'), t('v_required'));
			bad = true;
		}
		const dErr = checkDate(done, todayNow());
		if (dErr) {
			setError(fieldOf(fm, 'done_date'), dErr);
			bad = true;
		}
		if (bad) {
			message(fm, t('form_rejected'), false);
			return;
		}
		send(fm, 'milestones', 'milestones', { project: ctx.projectId, name, done_date: done });
	});

	return {
		/** Refill the selects (stage, open milestones) from the project and the language. */
		refresh(project) {
			resetDates();
			const stageSel = fp.querySelector('[name="stage"]');
			const cur = stageSel.value;
			stageSel.innerHTML = `<option value="">${esc(t('form_stage_keep'))} ${esc(stageLabel(project.stage))}</option>` +
				STAGE_KEYS.map((s) => `<option value="${s}">${esc(stageLabel(s))}</option>`).join('');
			stageSel.value = cur;
			const msSel = fm.querySelector('[name="name"]');
			const keep = msSel.value;
			const open = project.milestones.filter((m) => !m.done_date);
			const done = project.milestones.filter((m) => m.done_date);
			msSel.innerHTML = open.map((m) => `<option value="${esc(m.name)}">${esc(m.name)} · ${esc(t('ms_planned'))} ${esc(m.planned_date)}</option>`).join('') +
				(done.length ? `<optgroup label="${esc(t('ms_done'))}">${done.map((m) => `<option value="${esc(m.name)}">${esc(m.name)} · ${esc(m.done_date)}</option>`).join('')}</optgroup>` : '');
			if ([...msSel.options].some((o) => o.value === keep)) msSel.value = keep;
		},
	};
}
