// What the soak test reads about the server process from /proc (resident
// memory, open descriptors, CPU time) and the small statistics it prints:
// percentiles and a fixed-width table. Linux only, like the daemon.
import { readFileSync, readdirSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

/** { rssKiB, fds, cpuS } of a live process. */
export function procSample(pid) {
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
	const fds = readdirSync(`/proc/${pid}/fd`).length;
	// fields after the command's closing parenthesis: utime and stime are the 12th and 13th
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	const cpuS = (Number(f[11]) + Number(f[12])) / TICK;
	return { rssKiB, fds, cpuS };
}

/** Soft limit of open files of a process (what lws sizes its fd table from). */
export function nofileLimit(pid) {
	const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
	return m ? m[1] : '?';
}

/** Nearest-rank percentile of an unsorted array (NaN when empty). */
export function percentile(values, p) {
	if (!values.length) return NaN;
	const s = Float64Array.from(values).sort();
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Rows of objects as an aligned text table with the given columns (`digits` after the point). */
export function table(rows, columns, digits = 1) {
	const cell = (v) => (typeof v === 'number' ? (Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : '-') : String(v ?? ''));
	const cells = [columns, ...rows.map((r) => columns.map((c) => cell(r[c])))];
	const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
	return cells.map((r) => r.map((v, i) => v.padStart(widths[i])).join('  ')).join('\n');
}
