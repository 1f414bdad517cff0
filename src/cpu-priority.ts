import fs from "node:fs";
import os from "node:os";

/** Services whose work is background: the browser work itself, and the node's own load sampling. */
const BACKGROUND_SERVICES = new Set(["browser-pool", "resource-guard"]);

/** A node that runs only background services (a `browser-pool` node); embedded mode runs the scheduler too. */
export function isBackgroundNode(services: readonly string[]): boolean {
	return services.length > 0 && services.every(name => BACKGROUND_SERVICES.has(name));
}

/**
 * Lowers a process's CPU priority (this one's by default) to `nice`, where it is higher (a process may lower its
 * priority, not raise it). Linux keeps the nice value per thread: every thread running now is set, and threads and
 * processes started later (libuv's pool, Chromium) inherit it from the thread that starts them. Answers the threads
 * it set.
 */
export function lowerCpuPriority(nice: number, pid: number | "self" = "self"): number {
	let threads: number[];
	try {
		threads = fs.readdirSync(`/proc/${pid}/task`).map(Number);
	} catch {
		threads = [pid === "self" ? 0 : pid]; // no /proc: the main thread, which starts the others
	}
	let set = 0;
	for (const tid of threads) {
		try {
			if (os.getPriority(tid) >= nice) continue;
			os.setPriority(tid, nice);
			set++;
		} catch {
			// A thread that ended meanwhile.
		}
	}
	return set;
}
