// alerts-notify.js: the console's alarm for new critical alerts: a short
// beep made with WebAudio (no sound file, nothing fetched) and a browser
// notification. Off until the person switches it on (the choice is kept in
// this browser); switching it on is the user gesture browsers ask for before
// a page may play sound or show notifications. After a reload with the alarm
// on, the sound waits for the first click or key on the page (autoplay rule).
//
// The toggle element counts what it has rung in data-rang (tests read it).

const KEY = 'fpmon.alertAlarm';

export class AlertAlarm {
	/**
	 * toggle: <input type=checkbox>; note: element for "blocked" notes;
	 * t: i18n; onOpen(id): a notification was clicked.
	 */
	constructor({ toggle, note, t, onOpen }) {
		this.toggle = toggle;
		this.note = note;
		this.t = t;
		this.onOpen = onOpen;
		this.ctx = null;
		this.rang = 0;
		this.toggle.checked = this.saved();
		this.toggle.addEventListener('change', () => (this.toggle.checked ? this.enable() : this.disable()));
		if (this.toggle.checked) {
			// the page may not play sound before a gesture: resume at the first one
			const wake = () => {
				this.audio();
				if (this.ctx && this.ctx.state === 'running') this.setNote(null);
			};
			window.addEventListener('pointerdown', wake, { once: true, capture: true });
			window.addEventListener('keydown', wake, { once: true, capture: true });
		}
	}

	saved() {
		try {
			return localStorage.getItem(KEY) === 'on';
		} catch {
			return false;
		}
	}

	save(on) {
		try {
			if (on) localStorage.setItem(KEY, 'on');
			else localStorage.removeItem(KEY);
		} catch { /* storage off: on for this page only */ }
	}

	get on() {
		return this.toggle.checked;
	}

	setNote(key) {
		this.note.hidden = !key;
		this.note.textContent = key ? this.t(key) : '';
		this.note.dataset.key = key || '';
	}

	/** The audio context, created or resumed (only works during or after a user gesture). */
	audio() {
		const AC = window.AudioContext || window.webkitAudioContext;
		if (!AC) return null;
		if (!this.ctx) {
			try {
				this.ctx = new AC();
			} catch {
				return null;
			}
		}
		if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
		return this.ctx;
	}

	/** Switched on (a click: the gesture that unlocks sound and the permission prompt). */
	async enable() {
		this.save(true);
		this.setNote(null);
		this.audio();
		this.beep(1);
		if ('Notification' in window && Notification.permission === 'default') {
			try {
				await Notification.requestPermission();
			} catch { /* old API shape or refused */ }
		}
		if (!('Notification' in window) || Notification.permission === 'denied') this.setNote('notify_denied');
	}

	disable() {
		this.save(false);
		this.setNote(null);
	}

	/** Two-tone beep, `times` times; false if the page may not play sound yet. */
	beep(times = 2) {
		const ctx = this.audio();
		if (!ctx) return false;
		if (ctx.state !== 'running') {
			this.setNote('notify_click');
			return false;
		}
		const t0 = ctx.currentTime + 0.02;
		for (let i = 0; i < times; i++) {
			for (const [freq, dt] of [[988, 0], [740, 0.2]]) {
				const at = t0 + i * 0.5 + dt;
				const osc = ctx.createOscillator();
				const gain = ctx.createGain();
				osc.type = 'sine';
				osc.frequency.value = freq;
				gain.gain.setValueAtTime(0.0001, at);
				gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
				gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
				osc.connect(gain).connect(ctx.destination);
				osc.start(at);
				osc.stop(at + 0.2);
			}
		}
		return true;
	}

	/**
	 * New critical alerts: one beep, and a notification each (the first
	 * three; then one that counts the rest). items: [{ id, title, body }].
	 */
	ring(items) {
		if (!this.on || !items.length) return;
		this.rang += items.length;
		this.toggle.dataset.rang = String(this.rang);
		this.beep();
		if (!('Notification' in window) || Notification.permission !== 'granted') return;
		const show = (title, body, id) => {
			try {
				const n = new Notification(title, { body, tag: id ? `fpmon-alert-${id}` : 'fpmon-alerts' });
				n.onclick = () => {
					window.focus();
					if (id && this.onOpen) this.onOpen(id);
					n.close();
				};
			} catch { /* a browser that wants a service worker for notifications: sound only */ }
		};
		for (const it of items.slice(0, 3)) show(it.title, it.body, it.id);
		if (items.length > 3) show(this.t('notify_title', { rule: '' }).replace(/[：:]\s*$/, ''), this.t('notify_more', { n: items.length - 3 }), null);
	}
}
