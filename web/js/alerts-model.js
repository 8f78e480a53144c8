// alerts-model.js: the alert list as the wall ticker and the console see it.
//
// WAITS ON THE SERVER (issue 6): the alert engine is being written
// (collector/alert_*.c); its HTTP routes and its frames on the live "alerts"
// topic are not served yet: today the topic's snapshot carries no alerts.
// This module follows the engine's alert JSON (alert_row_json: id, rule,
// entity_kind, entity, entity_name, region, township, severity, state,
// value, threshold, detail, message, message_en, fired_at, changed_at,
// acked_by, comment, silenced_until, group, suppressed ...) and accepts it
// in the frames we expect on topic "alerts":
//   snapshot: { type:"snapshot", topic:"alerts", seq, at, alerts: [ALERT...] }
//     (open alerts and recently resolved ones: alert_snapshot_json)
//   delta:    { type:"delta", topic:"alerts", seq, at, alerts: [ALERT...] }
//     or a transition { ..., event: {...}, alert: ALERT } (alert-transition)
// Until a frame with alerts arrives, `available` stays false and the pages
// say that the alert engine is not live yet.
import { lang } from './i18n.js';

export const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };
export const STATE_ORDER = { firing: 0, acknowledged: 1, silenced: 2, resolved: 3 };
export const RULES = ['payment_overdue', 'payment_failed', 'alloc_delayed', 'idle_funds', 'duplicate_subsidy',
	'project_behind', 'project_stalled', 'project_silent', 'milestone_overdue', 'township_silent', 'village_silent'];

/** A server alert in the shape the pages use, or null if it has no id. */
export function normalizeAlert(a) {
	if (!a || (a.id === undefined && a.alert_id === undefined)) return null;
	const sev = String(a.severity || 'warning').toLowerCase();
	const state = String(a.state || 'firing').toLowerCase();
	return {
		id: String(a.id ?? a.alert_id),
		rule: a.rule || 'unknown',
		severity: sev in SEVERITY_ORDER ? sev : 'warning',
		state: state in STATE_ORDER ? state : 'firing',
		entity: a.entity || null,
		entityKind: a.entity_kind || null,
		entityName: a.entity_name || a.name || null,
		township: a.township || null,
		message: (lang() === 'en' && a.message_en) || a.message || '',
		group: a.group || null,
		suppressed: !!a.suppressed,
		value: a.value ?? null,
		firedAt: a.fired_at ?? a.since ?? a.at ?? null,
		changedAt: a.changed_at ?? null,
		silencedUntil: a.silenced_until ?? null,
		ackedBy: a.acked_by ?? null,
		comment: a.comment ?? null,
		history: Array.isArray(a.history) ? a.history : [],
	};
}

/** Most severe first, then open before handled, then newest first. */
export function compareAlerts(a, b) {
	return (SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]) ||
		(STATE_ORDER[a.state] - STATE_ORDER[b.state]) ||
		((b.firedAt || 0) - (a.firedAt || 0));
}

export class AlertStore {
	constructor({ cap = 2000 } = {}) {
		this.cap = cap; // bounded: resolved alerts are dropped first
		this.byId = new Map();
		this.available = false;
	}

	/** Apply a snapshot/delta of topic "alerts"; returns true if anything changed. */
	apply(msg) {
		const list = Array.isArray(msg.alerts) ? msg.alerts : msg.alert ? [msg.alert]
			: Array.isArray(msg.transitions) ? msg.transitions.map((x) => x.alert) : null;
		if (!list) return false;
		this.available = true;
		if (msg.type === 'snapshot') this.byId.clear();
		for (const raw of list) {
			const a = normalizeAlert(raw);
			if (a) this.byId.set(a.id, a);
		}
		if (this.byId.size > this.cap) {
			const resolved = [...this.byId.values()].filter((a) => a.state === 'resolved')
				.sort((a, b) => (a.changedAt || a.firedAt || 0) - (b.changedAt || b.firedAt || 0));
			for (const a of resolved.slice(0, this.byId.size - this.cap)) this.byId.delete(a.id);
		}
		return true;
	}

	/** Sorted list, optionally filtered by a predicate. */
	list(pred = () => true) {
		return [...this.byId.values()].filter(pred).sort(compareAlerts);
	}

	/** Open alerts (firing or acknowledged), most severe first; members shown under their cause are left out. */
	open() {
		return this.list((a) => (a.state === 'firing' || a.state === 'acknowledged') && !a.suppressed);
	}
}
