// live.js: the reconnecting client of the "fpmon-live" WebSocket.
//
// Protocol (schemas/live-client.json, live-server.json): subscribe to topics
// (region:<code>, project:<id>, alerts); the server answers each with a
// snapshot (the entity and its direct children, whole) and then deltas with
// an increasing seq, each entity with only its changed metrics (merged here
// into the store: read current values with entity(key), not from a delta). A screen that lost its connection resubscribes with
// `since` = the last seq it saw of that topic, and the server replays the
// missed deltas or sends a fresh snapshot.
//
// Robustness for a screen that runs for months without anyone touching it:
// * back-off with jitter (1 s doubling to 30 s), reset only after the
//   connection has stayed up a while, so a server that accepts and drops
//   does not get hammered;
// * close code 1008 ("too slow: reconnect and resume") reconnects at once;
// * a ping every 20 s (the server closes after 60 s of silence) and a local
//   watchdog: no frame at all for 50 s (the server pings after 15 s idle)
//   means a dead link, which is closed and reopened;
// * a restarted server starts its seq again from 0, and a `since` from the
//   old process would be taken at face value. So before each connection the
//   client reads /healthz (uptime → the process start time) and also
//   compares the first pong's seq with what it has seen; either sign of a
//   new server process drops the old seqs and asks for fresh snapshots.
// * memory is bounded: the store holds only the current values of the
//   entities of subscribed topics.

import { token } from './api.js';

const PING_EVERY_MS = 20_000;
const DEAD_AFTER_MS = 50_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
const STABLE_AFTER_MS = 30_000;

export class LiveClient {
	/**
	 * options.topics: initial topics.
	 * options.onSnapshot(topic, msg), options.onDelta(topic, msg): after the
	 *   store has been updated; msg.entities holds what arrived.
	 * options.onState(state, info): 'connecting' | 'live' | 'reconnecting';
	 *   info = { retryAt (ms), attempts, lastAt (server seconds) }.
	 * options.onError(reason): an "error" message from the server.
	 * options.onFrame(): any frame arrived (pings too): the server is there.
	 */
	constructor(options = {}) {
		this.opt = options;
		this.topics = new Set(options.topics || []);
		this.seq = new Map(); // topic -> last seq applied
		this.members = new Map(); // topic -> Set of entity keys (the snapshot's)
		this.store = new Map(); // entity key -> { name, kind, values, at }
		this.ws = null;
		this.state = 'connecting';
		this.attempts = 0;
		this.epoch = null; // server process start, Unix seconds
		this.lastAt = null; // server time of the newest frame
		this.lastRx = 0;
		this.stopped = false;
		this.timers = { retry: null, ping: null, stable: null, handshake: null };
	}

	start() {
		this.stopped = false;
		this.connect();
		return this;
	}

	stop() {
		this.stopped = true;
		for (const k of Object.keys(this.timers)) clearTimeout(this.timers[k]), clearInterval(this.timers[k]);
		if (this.ws) this.ws.close(1000, 'page closed');
		this.ws = null;
	}

	/** Replace the set of topics (subscribes to new ones, unsubscribes old ones). */
	setTopics(list) {
		const want = new Set(list);
		const add = [...want].filter((t) => !this.topics.has(t));
		const drop = [...this.topics].filter((t) => !want.has(t));
		this.topics = want;
		for (const t of drop) this.forget(t);
		if (this.isOpen()) {
			if (drop.length) this.send({ type: 'unsubscribe', topics: drop });
			for (const t of add) this.send({ type: 'subscribe', topics: [t] });
		}
	}

	/** Current values of an entity, or undefined. */
	entity(key) {
		return this.store.get(key);
	}

	/** Keys of a topic's entity and children (from its snapshot). */
	keysOf(topic) {
		return this.members.get(topic) || new Set();
	}

	isOpen() {
		return this.ws && this.ws.readyState === WebSocket.OPEN && this.state === 'live';
	}

	// ---- connection ----

	setState(state, extra = {}) {
		this.state = state;
		if (this.opt.onState) this.opt.onState(state, { attempts: this.attempts, lastAt: this.lastAt, ...extra });
	}

	async connect() {
		if (this.stopped) return;
		this.setState(this.attempts ? 'reconnecting' : 'connecting');
		// Is the server there, and is it the same process as before?
		try {
			const ctrl = new AbortController();
			const timer = setTimeout(() => ctrl.abort(), 5000);
			const res = await fetch('/healthz', { cache: 'no-store', signal: ctrl.signal });
			clearTimeout(timer);
			const h = await res.json();
			const started = Math.round(Date.now() / 1000 - h.uptime);
			if (this.epoch !== null && Math.abs(started - this.epoch) > 3) this.newServer();
			this.epoch = started;
		} catch {
			this.retry();
			return;
		}
		if (this.stopped) return;
		const url = new URL('/live', location.href);
		url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
		url.search = '';
		if (token()) url.searchParams.set('token', token());
		let ws;
		try {
			ws = new WebSocket(url, 'fpmon-live');
		} catch {
			this.retry();
			return;
		}
		this.ws = ws;
		this.handshaken = false;
		ws.onopen = () => {
			this.lastRx = Date.now();
			// A ping first: its pong tells the server's current seq before we resume.
			this.send({ type: 'ping' });
			// No pong in 5 s (should not happen): subscribe anyway, without trusting old seqs.
			this.timers.handshake = setTimeout(() => {
				if (this.ws === ws && !this.handshaken) {
					this.handshaken = true;
					this.subscribeAll(0);
				}
			}, 5000);
			this.timers.ping = setInterval(() => this.heartbeat(), PING_EVERY_MS);
		};
		ws.onmessage = (ev) => this.onMessage(ev.data);
		ws.onclose = (ev) => this.onClose(ev);
		ws.onerror = () => { /* onclose follows */ };
	}

	heartbeat() {
		if (!this.ws) return;
		if (Date.now() - this.lastRx > DEAD_AFTER_MS) {
			// No frame at all for too long: the link is dead even if the socket looks open.
			this.ws.close(4000, 'watchdog');
			this.onClose({ code: 4000, reason: 'watchdog' });
			return;
		}
		this.send({ type: 'ping' });
	}

	onClose(ev) {
		if (!this.ws) return; // already handled (watchdog)
		const ws = this.ws;
		this.ws = null;
		ws.onclose = ws.onmessage = ws.onopen = null;
		clearInterval(this.timers.ping);
		clearTimeout(this.timers.stable);
		clearTimeout(this.timers.handshake);
		if (this.stopped) return;
		// 1008 = "too slow: reconnect and resume from your last seq": right away.
		this.retry(ev && ev.code === 1008 ? 250 : null);
	}

	retry(delayMs = null) {
		clearTimeout(this.timers.retry);
		const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.attempts, 10));
		const delay = delayMs ?? Math.round(base * (0.5 + Math.random() * 0.5));
		this.attempts++;
		this.setState('reconnecting', { retryAt: Date.now() + delay });
		this.timers.retry = setTimeout(() => this.connect(), delay);
	}

	/** The server is a new process: old seqs mean nothing there. */
	newServer() {
		this.seq.clear();
	}

	send(obj) {
		if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
	}

	/** After the first pong: subscribe to every topic, resuming where possible. */
	subscribeAll(serverSeq) {
		clearTimeout(this.timers.handshake);
		const newest = Math.max(0, ...this.seq.values());
		if (newest > serverSeq) this.newServer(); // seq went backwards (a restarted server), or unknown
		if (this.serverEpoch !== undefined && this.seenEpoch !== undefined && this.serverEpoch !== this.seenEpoch)
			this.newServer(); // the server says it is another process: old seqs mean nothing there
		this.seenEpoch = this.serverEpoch;
		for (const t of this.topics) {
			const since = this.seq.get(t);
			this.send(since ? { type: 'subscribe', topics: [t], since, epoch: this.serverEpoch }
					: { type: 'subscribe', topics: [t] });
		}
		this.setState('live');
		// Only a connection that stays up resets the back-off.
		this.timers.stable = setTimeout(() => (this.attempts = 0), STABLE_AFTER_MS);
	}

	// ---- messages ----

	onMessage(data) {
		this.lastRx = Date.now();
		if (this.opt.onFrame) this.opt.onFrame();
		let msg;
		try {
			msg = JSON.parse(data);
		} catch {
			return;
		}
		if (typeof msg.at === 'number') this.lastAt = msg.at;
		if (typeof msg.epoch === 'number') this.serverEpoch = msg.epoch;
		switch (msg.type) {
		case 'pong':
		case 'ping':
			if (!this.handshaken && msg.type === 'pong') {
				this.handshaken = true;
				this.subscribeAll(msg.seq || 0);
			} else if (this.opt.onState) {
				this.setState(this.state); // refreshes "data as of"
			}
			break;
		case 'snapshot':
			this.applySnapshot(msg);
			break;
		case 'delta':
			this.applyDelta(msg);
			break;
		case 'error':
			console.warn('live: server error:', msg.reason);
			if (this.opt.onError) this.opt.onError(msg.reason);
			break;
		default:
			break;
		}
	}

	applySnapshot(msg) {
		const topic = msg.topic;
		if (!this.topics.has(topic)) return;
		this.seq.set(topic, msg.seq || 0);
		const keys = new Set(Object.keys(msg.entities || {}));
		for (const old of this.keysOf(topic)) if (!keys.has(old)) this.release(old, topic);
		this.members.set(topic, keys);
		for (const [key, e] of Object.entries(msg.entities || {}))
			this.store.set(key, { name: e.name ?? null, kind: e.kind, values: { ...e.values }, at: msg.at ?? null });
		if (this.opt.onSnapshot) this.opt.onSnapshot(topic, msg);
	}

	applyDelta(msg) {
		const topic = msg.topic;
		if (!this.topics.has(topic)) return;
		const last = this.seq.get(topic);
		if (last !== undefined && msg.seq <= last) return; // already in a snapshot or replayed twice
		this.seq.set(topic, msg.seq);
		const members = this.members.get(topic) || new Set();
		this.members.set(topic, members);
		for (const [key, e] of Object.entries(msg.entities || {})) {
			members.add(key);
			const cur = this.store.get(key);
			if (cur) {
				Object.assign(cur.values, e.values);
				if (e.name !== undefined) cur.name = e.name;
				cur.at = msg.at ?? cur.at;
			} else {
				this.store.set(key, { name: e.name ?? null, kind: e.kind, values: { ...e.values }, at: msg.at ?? null });
			}
		}
		if (this.opt.onDelta) this.opt.onDelta(topic, msg);
	}

	/** Drop a topic's entities that no other topic holds. */
	forget(topic) {
		for (const key of this.keysOf(topic)) this.release(key, topic);
		this.members.delete(topic);
		this.seq.delete(topic);
	}

	release(key, topic) {
		for (const [t, keys] of this.members) if (t !== topic && keys.has(key)) return;
		this.store.delete(key);
	}
}

/**
 * Render a connection badge into `el` and keep it current: the state, and
 * "data as of" the newest frame. Returns an update(state, info) function for
 * LiveClient's onState. fmt: (serverSeconds) => string; t: i18n.
 */
export function connectionBadge(el, { t, fmtTime }) {
	let retryTimer = null;
	return function update(state, info = {}) {
		clearInterval(retryTimer);
		const draw = () => {
			const label = t(`conn_${state}`);
			let extra = '';
			if (state === 'reconnecting' && info.retryAt) {
				const s = Math.max(0, Math.ceil((info.retryAt - Date.now()) / 1000));
				extra = ` · ${t('conn_retry_in', { s })}`;
			}
			el.dataset.state = state;
			el.querySelector('.conn-label').textContent = label + extra;
			const asOf = el.querySelector('.conn-asof');
			if (asOf) asOf.textContent = info.lastAt ? `${t('data_as_of')} ${fmtTime(info.lastAt)}` : '';
		};
		draw();
		if (state === 'reconnecting') retryTimer = setInterval(draw, 1000);
	};
}
