// The soak test's WebSocket crowd: wall screens on the fpmon-live protocol,
// each in one of three groups: normal (reads everything), slow (pauses its
// socket for tens of seconds, as a screen behind a bad link), reconnecting
// (drops its connection now and then and resumes with since + epoch).
// Every client keeps, per topic, the seq of its last snapshot and the count
// of deltas after it, so the test can tell a missed delta from a resync.
import WebSocket from 'ws';

export class Crowd {
	/**
	 * port, token, topics (each client's subscription), slowTopics (the slow
	 * group's: more, so their socket buffers fill sooner), probe: { topic,
	 * entity, metric }, rand: () => [0,1)
	 */
	constructor({ port, token, topics, slowTopics = topics, probe, rand }) {
		Object.assign(this, { port, token, topics, slowTopics, probe, rand });
		this.clients = [];
		this.ref = new Map(); // topic -> every delta seq of it anyone saw
		this.newest = new Map(); // topic -> the newest of them
		this.probes = new Map(); // probe value -> sent at (performance.now())
		this.latencies = []; // ms, since the last take()
		this.problems = []; // the first few deltas out of order
		this.counts = { frames: 0, snapshots: 0, resyncs: 0, serverCloses: 0, reconnects: 0, replays: 0, outOfOrder: 0, beforeSnapshot: 0, staleSnapshots: 0, bad: 0 };
		this.stopping = false;
	}

	between(lo, hi) {
		return lo + this.rand() * (hi - lo);
	}

	/** Open n clients, `batch` at a time; group by index: every 20th slow, every 20th (offset 10) reconnecting. */
	async open(n, batch = 50) {
		for (let i = 0; i < n; i += batch) {
			const opened = [];
			for (let k = i; k < Math.min(n, i + batch); k++) {
				const group = k % 20 === 7 ? 'slow' : k % 20 === 17 ? 'reconnect' : 'normal';
				const c = { id: k, group, topics: new Map(), last: 0, epoch: null, closes: [], ws: null, timers: new Set() };
				this.clients.push(c);
				opened.push(this.connect(c));
			}
			await Promise.all(opened);
		}
		for (const c of this.clients) this.schedule(c);
	}

	connect(c, resume = false) {
		const ws = new WebSocket(`ws://127.0.0.1:${this.port}/live?token=${this.token}`, 'fpmon-live');
		c.ws = ws;
		c.open = false;
		c.connects = (c.connects || 0) + 1;
		c.firstSnapshotSeen = new Set();
		ws.on('message', (data) => c.ws === ws && this.onMessage(c, data)); // a connection being left says nothing more
		ws.on('close', (code, reason) => {
			if (c.ws !== ws) return;
			c.open = false;
			if (!c.leaving && !this.stopping) {
				// the server closed it: a real screen comes back after a moment, without a since
				c.closes.push({ code, reason: reason.toString() });
				this.counts.serverCloses++;
				this.later(c, this.between(1000, 4000), () => this.connect(c));
			}
		});
		ws.on('error', () => {});
		return new Promise((resolve) => {
			ws.once('open', () => {
				c.open = true;
				c.leaving = false;
				const topics = c.group === 'slow' ? this.slowTopics : this.topics;
				// resume each topic from its own last seq, as web/js/live.js does: one
				// since for all would skip a topic's deltas dropped for a resync whose
				// snapshot had not arrived yet
				for (const topic of topics) {
					const since = resume && c.epoch !== null ? c.topics.get(topic)?.last : undefined;
					ws.send(JSON.stringify(since ? { type: 'subscribe', topics: [topic], since, epoch: c.epoch } : { type: 'subscribe', topics: [topic] }));
				}
				resolve();
			});
			ws.once('error', resolve); // counted by the caller from c.open
		});
	}

	later(c, ms, fn) {
		const t = setTimeout(() => {
			c.timers.delete(t);
			if (!this.stopping) fn();
		}, ms);
		c.timers.add(t);
	}

	/** Heartbeats for all; pauses for the slow; reconnects for the reconnecting. */
	schedule(c) {
		const ping = () => {
			if (c.open) c.ws.send('{"type":"ping"}');
			this.later(c, this.between(12_000, 18_000), ping);
		};
		this.later(c, this.between(0, 15_000), ping);
		if (c.group === 'slow') {
			const pause = () => {
				if (this.quiet) return;
				c.ws._socket?.pause();
				this.later(c, this.between(20_000, 60_000), () => {
					c.ws._socket?.resume();
					this.later(c, this.between(3000, 8000), pause);
				});
			};
			this.later(c, this.between(2000, 10_000), pause);
		}
		if (c.group === 'reconnect') {
			const again = () => {
				if (this.quiet) return;
				c.leaving = true;
				if (this.rand() < 0.5) c.ws.close(1000);
				else c.ws.terminate(); // abrupt: frames in flight are lost, the since must cover them
				this.counts.reconnects++;
				c.resumedAt = c.last;
				this.connect(c, true);
				this.later(c, this.between(10_000, 25_000), again);
			};
			this.later(c, this.between(5000, 25_000), again);
		}
	}

	onMessage(c, data) {
		let m;
		try {
			m = JSON.parse(data.toString('utf8'));
		} catch {
			this.counts.bad++;
			return;
		}
		this.counts.frames++;
		if (m.type === 'snapshot') {
			this.counts.snapshots++;
			if (c.firstSnapshotSeen.has(m.topic)) this.counts.resyncs++, (c.resyncs = (c.resyncs || 0) + 1);
			c.firstSnapshotSeen.add(m.topic);
			// deltas that came before it must be older: the snapshot supersedes them
			const early = c.early?.get(m.topic);
			if (early > m.seq) this.counts.staleSnapshots++;
			c.early?.delete(m.topic);
			c.topics.set(m.topic, { from: m.seq, got: 0, last: m.seq });
			c.epoch = m.epoch;
			if (m.seq > c.last) c.last = m.seq;
		} else if (m.type === 'delta') {
			const t = c.topics.get(m.topic);
			if (!t) { // subscribed, snapshot still on its way: kept out, but checked against it
				c.early ??= new Map();
				c.early.set(m.topic, Math.max(m.seq, c.early.get(m.topic) ?? 0));
				this.counts.beforeSnapshot++;
				return;
			}
			if (m.seq <= t.last) {
				if (this.problems.length < 10) this.problems.push(`client ${c.id} (${c.group}, connection ${c.connects}) ${m.topic}: delta ${m.seq} after ${t.last}`);
				this.counts.outOfOrder++;
				c.outOfOrder = (c.outOfOrder || 0) + 1;
				return;
			}
			if (c.resumedAt !== undefined && !c.firstSnapshotSeen.has(m.topic)) {
				this.counts.replays++; // resumed without a snapshot: the missed deltas were replayed
				c.firstSnapshotSeen.add(m.topic);
			}
			t.last = m.seq;
			t.got++;
			c.last = m.seq;
			if (!this.ref.has(m.topic)) this.ref.set(m.topic, new Set());
			this.ref.get(m.topic).add(m.seq);
			if (m.seq > (this.newest.get(m.topic) ?? 0)) this.newest.set(m.topic, m.seq);
			if (m.topic === this.probe.topic && c.group === 'normal') {
				const v = m.entities?.[this.probe.entity]?.values?.[this.probe.metric];
				const sent = this.probes.get(v);
				if (sent !== undefined) this.latencies.push(performance.now() - sent);
			}
		} else if (m.type === 'ping' || m.type === 'pong') {
			if (m.epoch !== undefined) c.epoch = m.epoch;
		}
	}

	/** No more pauses or reconnects from now on (heartbeats go on): the end of a run, before the checks. */
	quiesce() {
		this.quiet = true;
	}

	/** Probe latencies (ms) of the normal group since the last call. */
	take() {
		const l = this.latencies;
		this.latencies = [];
		return l;
	}

	/** Sum of a per-client counter by group: "normal 0, slow 12, reconnect 3". */
	byGroup(fn) {
		const sums = { normal: 0, slow: 0, reconnect: 0 };
		for (const c of this.clients) sums[c.group] += fn(c) || 0;
		return Object.entries(sums).map(([g, n]) => `${g} ${n}`).join(', ');
	}

	openCount(group) {
		return this.clients.filter((c) => c.open && (!group || c.group === group)).length;
	}

	/**
	 * Clients of `group` that missed a delta without a snapshot after it: for
	 * each topic, the deltas it counted since its last snapshot must be every
	 * delta of that topic anyone saw after that snapshot.
	 */
	gaps(group) {
		const sorted = new Map([...this.ref].map(([t, s]) => [t, Float64Array.from(s).sort()]));
		const after = (arr, x) => {
			let lo = 0, hi = arr.length;
			while (lo < hi) {
				const mid = (lo + hi) >> 1;
				if (arr[mid] <= x) lo = mid + 1;
				else hi = mid;
			}
			return arr.length - lo;
		};
		const out = [];
		for (const c of this.clients) {
			if (c.group !== group || !c.open) continue;
			for (const [topic, t] of c.topics) {
				const want = after(sorted.get(topic) ?? [], t.from);
				if (t.got !== want) out.push(`client ${c.id} ${topic}: ${t.got} deltas after its snapshot at seq ${t.from}, ${want} sent`);
			}
		}
		return out;
	}

	/** Every open client of `group` has seen the newest delta of every topic. */
	caughtUp(group) {
		return this.clients.every((c) => c.group !== group || !c.open || [...c.topics].every(([t, x]) => x.last >= (this.newest.get(t) ?? 0)));
	}

	async close() {
		this.stopping = true;
		for (const c of this.clients) {
			for (const t of c.timers) clearTimeout(t);
			c.leaving = true;
			c.ws?._socket?.resume();
			c.ws?.close(1000);
		}
		const deadline = Date.now() + 30_000;
		while (this.clients.some((c) => c.ws && c.ws.readyState !== WebSocket.CLOSED) && Date.now() < deadline)
			await new Promise((r) => setTimeout(r, 100));
		for (const c of this.clients) if (c.ws && c.ws.readyState !== WebSocket.CLOSED) c.ws.terminate();
	}
}
