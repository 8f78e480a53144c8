// login.js: name and password → POST /api/v1/login → a session cookie (set
// by the server, HttpOnly) and the session's CSRF token (kept for POSTs),
// then back to the page that sent the person here (?next=, same site only).
import * as api from './api.js';
import { t, applyI18n, bindLangSwitch } from './i18n.js';

function nextPage() {
	const next = api.param('next', 'index.html');
	// only a path on this site: never an absolute or protocol-relative address
	return /^\/(?!\/)[^\s]*$/.test(next) || /^[a-z]+\.html/.test(next) ? next : 'index.html';
}

applyI18n(document);
bindLangSwitch(document.querySelector('.lang-switch'));
const form = document.getElementById('login');
const msg = form.querySelector('.form-msg');
form.name.focus();
form.addEventListener('submit', async (ev) => {
	ev.preventDefault();
	msg.className = 'form-msg';
	const name = form.name.value.trim(), password = form.password.value;
	if (!name || !password) {
		msg.textContent = t('login_missing');
		msg.classList.add('bad');
		return;
	}
	const button = form.querySelector('button');
	button.disabled = true;
	try {
		const { status, body } = await api.postJSON('/api/v1/login', { name, password });
		if (status === 200 && body) {
			api.setCsrf(body.csrf);
			location.assign(nextPage());
			return;
		}
		msg.textContent = status === 429 ? t('login_wait', { s: body && body.retry_after ? body.retry_after : '' })
			: status === 401 ? t('login_wrong') : t('err_load', { msg: (body && (body.reason || body.error)) || status });
		msg.classList.add('bad');
		form.password.select();
	} catch (e) {
		msg.textContent = t('err_load', { msg: e.message });
		msg.classList.add('bad');
	} finally {
		button.disabled = false;
	}
});
