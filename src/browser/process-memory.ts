import fs from "node:fs";

/**
 * Reads process memory from /proc (Linux). A Chromium browser is a tree of processes (browser, zygotes, GPU, network
 * service, renderers); its memory is the sum over the tree of each process's private footprint, RssAnon + VmSwap from
 * /proc/<pid>/status: what Chromium's own memory instrumentation reports on Linux, and free of the pages its processes
 * share (libraries, shared memory), which RSS counts once per process. PSS would split those too, but reading
 * smaps_rollup walks a process's page tables under its memory lock: ~100 ms for a browser tree here, stalling
 * Chromium while it runs, where a status read costs microseconds.
 */

/** The pid of the process whose command line holds `marker` and is not a Chromium child (`--type=`). */
export function findPidByArgument(marker: string): number | undefined {
	for (const entry of safeReaddir("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		const cmdline = safeRead(`/proc/${entry}/cmdline`);
		if (cmdline && cmdline.includes(marker) && !cmdline.includes("--type=")) return Number(entry);
	}
	return undefined;
}

/** `pid` and all its descendants. */
export function processTree(pid: number): number[] {
	const children = new Map<number, number[]>();
	for (const entry of safeReaddir("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		const stat = safeRead(`/proc/${entry}/stat`);
		if (!stat) continue;
		// The command name may hold spaces and parentheses: fields start after the last ")".
		const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
		const list = children.get(ppid) ?? [];
		list.push(Number(entry));
		children.set(ppid, list);
	}
	const tree: number[] = [];
	const walk = (p: number) => {
		tree.push(p);
		for (const c of children.get(p) ?? []) walk(c);
	};
	walk(pid);
	return tree;
}

/** Private footprint of one process in bytes (RssAnon + VmSwap; VmRSS on kernels without RssAnon); 0 once it is gone. */
export function processMemoryBytes(pid: number): number {
	const status = safeRead(`/proc/${pid}/status`);
	if (!status) return 0;
	const kb = (field: string) => {
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
		return match ? Number(match[1]) : undefined;
	};
	const anon = kb("RssAnon");
	if (anon === undefined) return (kb("VmRSS") ?? 0) * 1024;
	return (anon + (kb("VmSwap") ?? 0)) * 1024;
}

/** Memory of a process tree in bytes. */
export function treeMemoryBytes(pid: number): number {
	let total = 0;
	for (const p of processTree(pid)) total += processMemoryBytes(p);
	return total;
}

function safeReaddir(dir: string): string[] {
	try {
		return fs.readdirSync(dir);
	} catch {
		return [];
	}
}

function safeRead(file: string): string | undefined {
	try {
		return fs.readFileSync(file, "latin1");
	} catch {
		return undefined;
	}
}
