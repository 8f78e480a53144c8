// alerts-model.js: the alert list as the wall ticker and the console see it.
//
// Source: the alert engine (collector/alert_*.c, rules and life cycle in
// schemas/alerts.md). An alert is `$defs/alert` of schemas/alert-reply.json
// (id, rule, entity_kind, entity, entity_name, region, township, severity,
// rule_severity, state, value, threshold, detail, message, message_en,
// fired_at, changed_at, firing_since, acked_by/at, comment, silenced_*,
// resolved_*, escalation, escalated_at, group, suppressed).
//
// It arrives three ways, all accepted by AlertStore.apply():
// * live topic "alerts" (schemas/live-server.json): the snapshot carries
//   `alerts: [...]` (open ones and those resolved lately, flat, cut to the
//   viewer's scope); each delta carries `alerts: [the alert after the
//   change]` and `events: [the transition]`;
// * GET /api/v1/alerts (alert-list-reply.json): members nested under their
//   cause in `members` (flattened here);
// * the reply of an action or of GET /api/v1/alerts/<id> ({alert}).
//
// Order everywhere: open before resolved, then most severe, then oldest
// (fired_at), as the server's list. A group (`group` = township_silent:<code>)
// is its cause (suppressed = false) with its members (suppressed = true)
// shown under it.
import { lang } from './i18n.js';

export const SEVERITY_ORDER = { critical: 0, warning: 1 };
export const STATE_ORDER = { firing: 0, acknowledged: 1, silenced: 2, resolved: 3 };
export const RULES = ['payment_overdue', 'payment_failed', 'alloc_delayed', 'idle_funds', 'duplicate_subsidy',
	'project_behind', 'project_stalled', 'project_silent', 'milestone_overdue', 'monitoring_overdue', 'township_silent',
	'village_silent'];
export const EVENT_KINDS = ['fired', 'escalated', 'acknowledged', 'commented', 'silenced', 'unsilenced', 'resolved',
	'reopened', 'severity_changed', 'grouped', 'ungrouped'];

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A server alert in the shape the pages use, or null if it has no id. */
export function normalizeAlert(a) {
	if (!a || typeof a !== 'object' || (a.id === undefined && a.alert_id === undefined)) return null;
	const sev = String(a.severity || 'warning').toLowerCase();
	const state = String(a.state || 'firing').toLowerCase();
	return {
		id: String(a.id ?? a.alert_id),
		rule: a.rule || 'unknown',
		severity: sev in SEVERITY_ORDER ? sev : 'warning',
		ruleSeverity: a.rule_severity || null,
		state: state in STATE_ORDER ? state : 'firing',
		entity: a.entity || null,
		entityKind: a.entity_kind || null,
		entityName: a.entity_name || null,
		region: a.region || null,
		township: a.township || null,
		messageZh: a.message || '',
		messageEn: a.message_en || '',
		value: num(a.value),
		threshold: num(a.threshold),
		detail: a.detail && typeof a.detail === 'object' ? a.detail : {},
		group: a.group || null,
		suppressed: !!a.suppressed,
		firedAt: num(a.fired_at),
		changedAt: num(a.changed_at),
		firingSince: num(a.firing_since),
		ackedBy: a.acked_by ?? null,
		ackedAt: num(a.acked_at),
		comment: a.comment ?? null,
		silencedAt: num(a.silenced_at),
		silencedUntil: num(a.silenced_until),
		silencedBy: a.silenced_by ?? null,
		silenceReason: a.silence_reason ?? null,
		resolvedAt: num(a.resolved_at),
		resolvedBy: a.resolved_by ?? null,
		resolveComment: a.resolve_comment ?? null,
		escalation: num(a.escalation) || 0,
		escalatedAt: num(a.escalated_at),
	};
}

/** The alert's message in the page's language. */
export function alertMessage(a) {
	return (lang() === 'en' && a.messageEn) || a.messageZh || a.messageEn || '';
}

/** Open before resolved, then most severe, then oldest (fired_at), then id. */
export function compareAlerts(a, b) {
	return ((a.state === 'resolved') - (b.state === 'resolved')) ||
		(SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]) ||
		((a.firedAt ?? Infinity) - (b.firedAt ?? Infinity)) ||
		(Number(a.id) - Number(b.id)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Worth a sound: critical, firing (not acknowledged or silenced), not a member shown under its cause. */
export const isLoudCritical = (a) => !!a && a.severity === 'critical' && a.state === 'firing' && !a.suppressed;

/** Open: anything not resolved. */
export const isOpen = (a) => a.state !== 'resolved';

/** The alerts of a message in any of the accepted shapes (members flattened), or null. */
function alertsOf(msg) {
	const list = Array.isArray(msg.alerts) ? msg.alerts : msg.alert ? [msg.alert]
		: Array.isArray(msg.transitions) ? msg.transitions.map((x) => x && x.alert) : null;
	if (!list) return null;
	const out = [];
	const walk = (arr) => {
		for (const raw of arr) {
			if (!raw) continue;
			out.push(raw);
			if (Array.isArray(raw.members)) walk(raw.members);
		}
	};
	walk(list);
	return out;
}

export class AlertStore {
	constructor({ cap = 3000 } = {}) {
		this.cap = cap; // bounded: resolved alerts are dropped first
		this.byId = new Map();
		this.available = false; // a frame or reply with alerts has arrived
		this.snapshots = 0;
	}

	/**
	 * Apply a snapshot/delta of topic "alerts", an API list reply
	 * ({type:'merge'}) or an action reply. Returns null if the message held
	 * no alerts, else { changed: [alerts after], loud: [alerts that have just
	 * become critical and firing] } (loud is empty for the very first load,
	 * which is the state of things, not news).
	 */
	apply(msg) {
		const list = alertsOf(msg || {});
		if (!list) return null;
		const first = !this.available;
		this.available = true;
		const before = this.byId;
		if (msg.type === 'snapshot') {
			this.byId = new Map();
			this.snapshots++;
		}
		const changed = [], loud = [];
		for (const raw of list) {
			const a = normalizeAlert(raw);
			if (!a) continue;
			const old = before.get(a.id);
			// an older copy (a slow API reply racing a live delta) does not overwrite a newer one
			if (old && msg.type !== 'snapshot' && isNumber(old.changedAt) && isNumber(a.changedAt) && a.changedAt < old.changedAt) {
				this.byId.set(a.id, old);
				continue;
			}
			this.byId.set(a.id, a);
			changed.push(a);
			if (!first && isLoudCritical(a) && !isLoudCritical(old)) loud.push(a);
		}
		if (msg.type === 'snapshot') {
			// a resolved alert known from the API, older than the snapshot keeps, stays in the list
			for (const [id, a] of before) if (!this.byId.has(id) && a.state === 'resolved') this.byId.set(id, a);
		}
		if (this.byId.size > this.cap) {
			const resolved = [...this.byId.values()].filter((a) => a.state === 'resolved')
				.sort((a, b) => (a.changedAt || a.firedAt || 0) - (b.changedAt || b.firedAt || 0));
			for (const a of resolved.slice(0, this.byId.size - this.cap)) this.byId.delete(a.id);
		}
		return { changed, loud };
	}

	get(id) {
		return this.byId.get(String(id));
	}

	/** Sorted list, optionally filtered by a predicate. */
	list(pred = () => true) {
		return [...this.byId.values()].filter(pred).sort(compareAlerts);
	}

	/** Open alerts for a ticker (firing or acknowledged), most severe first; members shown under their cause are left out. */
	open(pred = () => true) {
		return this.list((a) => (a.state === 'firing' || a.state === 'acknowledged') && !a.suppressed && pred(a));
	}

	/** The open members of a group's cause, in list order. */
	members(cause) {
		if (!cause || !cause.group || cause.suppressed) return [];
		return this.list((a) => a.group === cause.group && a.suppressed && a.id !== cause.id && a.state !== 'resolved');
	}

	/** The cause of a member, if known. */
	causeOf(member) {
		if (!member || !member.group || !member.suppressed) return null;
		for (const a of this.byId.values()) if (a.group === member.group && !a.suppressed) return a;
		return null;
	}

	/**
	 * Rows for a list: the alerts that pass `pred`, each group's members
	 * under their cause when the cause passes too (else on their own).
	 * Returns [{ alert, members: [...] }] in list order.
	 */
	grouped(pred = () => true) {
		const shown = this.list(pred);
		const causes = new Map();
		for (const a of shown) if (a.group && !a.suppressed) causes.set(a.group, { alert: a, members: [] });
		const rows = [];
		for (const a of shown) {
			const cause = a.group && a.suppressed ? causes.get(a.group) : null;
			if (cause) cause.members.push(a);
			else rows.push(a.group && causes.get(a.group)?.alert === a ? causes.get(a.group) : { alert: a, members: [] });
		}
		return rows;
	}
}

function isNumber(v) {
	return typeof v === 'number' && Number.isFinite(v);
}
