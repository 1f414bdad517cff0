/**
 * CPU time of every live process, grouped by kind (this node process, Nightshift nodes started by a bench, and
 * Chromium's browser, renderer, GPU and utility processes by their `--type=`). Snapshots taken over a run give where
 * its CPU went.
 */
import fs from "node:fs";

const TICK_MILLIS = 1000 / 100; // USER_HZ

export type CpuByKind = Map<string, number>;

function kindOf(pid: string): string | undefined {
	if (pid === String(process.pid)) return "node (this process)";
	let cmd: string;
	try {
		cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
	} catch {
		return undefined;
	}
	if (cmd.includes("src/main.ts")) return "nightshift node";
	if (!cmd.includes("chrom")) return undefined;
	const type = /--type=([a-z-]+)/.exec(cmd)?.[1];
	if (!type) return "chromium browser";
	if (type === "utility") return `chromium utility ${/--utility-sub-type=([\w.]+)/.exec(cmd)?.[1] ?? ""}`.trim();
	return `chromium ${type}`;
}

/** Per pid: kind and CPU milliseconds so far. */
export function snapshot(): Map<string, { kind: string; millis: number }> {
	const out = new Map<string, { kind: string; millis: number }>();
	for (const pid of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(pid)) continue;
		const kind = kindOf(pid);
		if (!kind) continue;
		const millis = cpuMillisOf(Number(pid));
		if (millis !== undefined) out.set(pid, { kind, millis });
	}
	return out;
}

/** CPU milliseconds (user + system) one process has used so far; undefined once it is gone. */
export function cpuMillisOf(pid: number): number | undefined {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
		const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(f[11]) + Number(f[12])) * TICK_MILLIS;
	} catch {
		return undefined;
	}
}

/** CPU milliseconds by kind between two snapshots (processes started in between count from zero). */
export function cpuBetween(before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>): CpuByKind {
	const byKind: CpuByKind = new Map();
	for (const [pid, { kind, millis }] of after) byKind.set(kind, (byKind.get(kind) ?? 0) + millis - (before.get(pid)?.millis ?? 0));
	return byKind;
}

/**
 * With BY_PROCESS=1, an `onTimed` hook for a peer: call it when the timed part starts and the function it returns when
 * it ends, and the timed part's CPU per page is printed by process kind. Without it, undefined.
 */
export function cpuByProcessTimer(label: string, pages: number): (() => () => void) | undefined {
	if (!process.env.BY_PROCESS) return undefined;
	return () => {
		const before = snapshot();
		// Read again every 250 ms: a process that exits before the end (a replaced context's renderer) keeps its last
		// reading instead of dropping out of the sum.
		const seen = new Map(before);
		const poll = setInterval(() => {
			for (const [pid, reading] of snapshot()) seen.set(pid, reading);
		}, 250);
		return () => {
			clearInterval(poll);
			for (const [pid, reading] of snapshot()) seen.set(pid, reading);
			const rows = [...cpuBetween(before, seen)].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
			console.log(`${label}, CPU ms per page by process: ${rows.map(([k, ms]) => `${k} ${(ms / pages).toFixed(1)}`).join(" · ")}`);
		};
	};
}
