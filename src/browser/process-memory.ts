import fs from "node:fs";

/**
 * Reads process memory from /proc (Linux). A Chromium browser is a tree of processes (browser, zygotes, GPU, network
 * service, renderers); its memory is the sum over the tree. PSS (proportional set size) is used where the kernel offers
 * it, so pages shared between the processes are not counted once per process.
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

/** Memory of one process in bytes: PSS when available, else RSS; 0 once it is gone. */
export function processMemoryBytes(pid: number): number {
	const rollup = safeRead(`/proc/${pid}/smaps_rollup`);
	const pss = rollup && /^Pss:\s+(\d+) kB/m.exec(rollup);
	if (pss) return Number(pss[1]) * 1024;
	const status = safeRead(`/proc/${pid}/status`);
	const rss = status && /^VmRSS:\s+(\d+) kB/m.exec(status);
	return rss ? Number(rss[1]) * 1024 : 0;
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
