/**
 * Peak resident memory of this process and all its descendants (the browsers it launched and their renderers),
 * sampled from /proc. RSS summed over processes counts shared pages once per process, so it overstates the real
 * footprint; it is the same overstatement for every peer, which is what a comparison needs. Linux only: elsewhere
 * the peak stays undefined.
 */
import fs from "node:fs";

const PAGE_BYTES = 4096;

/** pid → [ppid, rss bytes] of every process visible in /proc. */
function processTable(): Map<number, [number, number]> {
	const table = new Map<number, [number, number]>();
	for (const entry of fs.readdirSync("/proc")) {
		const pid = Number(entry);
		if (!Number.isInteger(pid)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
			// The command name may hold spaces and parentheses: the fields start after the last ")".
			const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			table.set(pid, [Number(fields[1]), Number(fields[21]) * PAGE_BYTES]);
		} catch {
			/* the process ended meanwhile */
		}
	}
	return table;
}

/** RSS of `root` and its descendants, in bytes. */
export function treeRssBytes(root = process.pid): number {
	const table = processTable();
	const children = new Map<number, number[]>();
	for (const [pid, [ppid]] of table) {
		const list = children.get(ppid);
		if (list) list.push(pid);
		else children.set(ppid, [pid]);
	}
	let total = 0;
	const stack = [root];
	while (stack.length) {
		const pid = stack.pop()!;
		total += table.get(pid)?.[1] ?? 0;
		stack.push(...(children.get(pid) ?? []));
	}
	return total;
}

/** Samples the tree's RSS every `intervalMillis` until stopped; `stop()` answers the peak in MB. */
export function sampleTreeRss(intervalMillis = 250): { stop(): number | undefined } {
	if (process.platform !== "linux") return { stop: () => undefined };
	let peak = 0;
	const sample = () => {
		peak = Math.max(peak, treeRssBytes());
	};
	sample();
	const timer = setInterval(sample, intervalMillis);
	timer.unref();
	return {
		stop() {
			clearInterval(timer);
			sample();
			return Math.round(peak / 1024 / 1024);
		}
	};
}
