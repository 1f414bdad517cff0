/**
 * Preloaded into benchmark child processes (`--import <this file>`): answers requests over the IPC channel, so the
 * bench can read memory after a full GC and CPU time without touching the application code.
 *
 *   { cmd: "mem" }  → process.memoryUsage() after two full GCs (needs --expose-gc; `gc: false` otherwise)
 *   { cmd: "cpu" }  → process.cpuUsage() in microseconds
 *   { cmd: "spaces" } → v8 heap space statistics (bytes), for telling live data from reserved heap
 *   { cmd: "snapshot", path } → writes a heap snapshot to `path` (investigations)
 *   { cmd: "loop-start" } / { cmd: "loop-stop" } → event-loop delay percentiles and GC pauses in between (ms)
 *   { cmd: "profile-start" } / { cmd: "profile-stop", path } → a CPU profile of the part in between, written to `path`
 *     (`--cpu-prof` profiles a whole life, and is lost when the bench has to SIGKILL a slow-stopping child)
 */
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { Session } from "node:inspector/promises";
import fs from "node:fs";
import v8 from "node:v8";

let loop: ReturnType<typeof monitorEventLoopDelay> | null = null;
let gcObserver: PerformanceObserver | null = null;
let gcPauses: { kind: number; ms: number }[] = [];

function loopStart(): void {
	loop?.disable();
	gcObserver?.disconnect();
	loop = monitorEventLoopDelay({ resolution: 1 });
	loop.enable();
	gcPauses = [];
	gcObserver = new PerformanceObserver(list => {
		for (const e of list.getEntries()) gcPauses.push({ kind: (e as any).detail?.kind ?? 0, ms: e.duration });
	});
	gcObserver.observe({ entryTypes: ["gc"] });
}

function loopStop() {
	if (!loop) throw new Error("loop-start first");
	loop.disable();
	gcObserver?.disconnect();
	const ms = (ns: number) => ns / 1e6;
	const major = gcPauses.filter(g => g.kind === 4); // NODE_PERFORMANCE_GC_MAJOR
	const result = {
		loopDelay: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
		gc: {
			count: gcPauses.length,
			totalMs: gcPauses.reduce((a, g) => a + g.ms, 0),
			maxMs: gcPauses.reduce((a, g) => Math.max(a, g.ms), 0),
			major: major.length,
			majorMaxMs: major.reduce((a, g) => Math.max(a, g.ms), 0)
		}
	};
	loop = null;
	return result;
}

let profiler: Session | null = null;

async function profileStart(): Promise<void> {
	profiler?.disconnect();
	profiler = new Session();
	profiler.connect();
	await profiler.post("Profiler.enable");
	await profiler.post("Profiler.start");
}

async function profileStop(path: string): Promise<string> {
	if (!profiler) throw new Error("profile-start first");
	const { profile } = await profiler.post("Profiler.stop");
	profiler.disconnect();
	profiler = null;
	fs.writeFileSync(path, JSON.stringify(profile));
	return path;
}

if (typeof process.send === "function") {
	process.on("message", async (msg: any) => {
		if (!msg || typeof msg.id !== "number") return;
		try {
			let result: unknown;
			if (msg.cmd === "mem") {
				const gc = (globalThis as any).gc as undefined | (() => void);
				if (gc) {
					gc();
					await new Promise(r => setImmediate(r));
					gc();
				}
				result = { ...process.memoryUsage(), gc: !!gc };
			} else if (msg.cmd === "cpu") result = process.cpuUsage();
			else if (msg.cmd === "spaces")
				result = v8.getHeapSpaceStatistics().map(s => ({
					space: s.space_name,
					size: s.space_size,
					used: s.space_used_size,
					physical: s.physical_space_size
				}));
			else if (msg.cmd === "snapshot") result = v8.writeHeapSnapshot(String(msg.path));
			else if (msg.cmd === "loop-start") result = loopStart();
			else if (msg.cmd === "loop-stop") result = loopStop();
			else if (msg.cmd === "profile-start") result = await profileStart();
			else if (msg.cmd === "profile-stop") result = await profileStop(String(msg.path));
			else throw new Error(`unknown probe command ${msg.cmd}`);
			process.send!({ id: msg.id, result });
		} catch (err: any) {
			process.send!({ id: msg.id, error: String(err?.message ?? err) });
		}
	});
	// The channel must not keep a process alive that would otherwise exit.
	(process as any).channel?.unref?.();
}
