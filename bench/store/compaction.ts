/**
 * What a compaction of the tasks file costs the operations around it: NeDB's own (`compactDatafileAsync`, what the
 * store ran every 10 minutes before) against `compactOnline` (what it runs now), side by side on the same store.
 *
 *   npx tsx bench/store/compaction.ts        (COMPACT_TASKS, default 100,000 finished no-op tasks)
 *
 * While each compaction runs, a task-sized insert is issued every millisecond (one at a time): its latency is what a
 * submit waits for the store. A 1 ms timer measures how long the event loop went unserved.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NedbStore } from "../../src/store/nedb-store";
import { percentile } from "../lib/stats";

const TASKS = Number(process.env.COMPACT_TASKS ?? 100_000);
const ROUNDS = 2;

/** A finished no-op task as the scheduler stores it. */
export function finishedTask(id: string) {
	const at = "2026-12-07T15:31:43.738Z";
	return {
		_id: id,
		type: "noop",
		payload: { echo: "run-abc" },
		priority: 5,
		dependsOn: [],
		availableAt: at,
		maxAttempts: 3,
		timeoutMillis: 60000,
		estimatedDurationMillis: 1,
		metadata: {},
		status: "completed",
		attempts: 1,
		progress: 100,
		createdAt: at,
		updatedAt: at,
		history: [{ attempt: 1, leaseId: "l0mxdfhm9f00006fc9a7a9", nodeId: "vm-1", startedAt: at, endedAt: at, outcome: "completed" }],
		log: [],
		lease: null,
		nodeId: "vm-1",
		startedAt: at,
		result: { echo: "run-abc", attempt: 1, nodeId: "vm-1" },
		error: null,
		finishedAt: at,
		durationMillis: 7
	};
}

async function measure(label: string, compact: () => Promise<void>, insert: (i: number) => Promise<unknown>): Promise<void> {
	let stall = 0;
	let last = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		stall = Math.max(stall, now - last);
		last = now;
	}, 1);
	const latencies: number[] = [];
	let done = false;
	const t0 = performance.now();
	const compaction = compact().then(() => (done = true));
	let i = 0;
	while (!done) {
		const at = performance.now();
		await insert(i++);
		latencies.push(performance.now() - at);
		await new Promise(resolve => setTimeout(resolve, 1));
	}
	await compaction;
	const millis = performance.now() - t0;
	clearInterval(timer);
	console.log(
		`${label}: ${millis.toFixed(0)} ms; longest event-loop stall ${stall.toFixed(0)} ms; ${latencies.length} inserts meanwhile, ` +
			`p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(0)} ms`
	);
}

async function main(): Promise<void> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-compaction-"));
	const store = new NedbStore(dir);
	const tasks = store.collection("tasks");
	await store.connect();
	try {
		for (let i = 0; i < TASKS; i += 1000)
			await tasks.insertMany(Array.from({ length: Math.min(1000, TASKS - i) }, (_, j) => finishedTask(`t${String(i + j).padStart(9, "0")}`)));
		const db = (tasks as any).db;
		console.log(`${new Date().toISOString()}: compaction of ${TASKS} stored tasks (${(fs.statSync(path.join(dir, "tasks.db")).size / 1e6).toFixed(0)} MB file)`);
		for (let round = 0; round < ROUNDS; round++) {
			await measure("NeDB's compactDatafileAsync", () => db.compactDatafileAsync(), i => tasks.insert(finishedTask(`n${round}-${i}`)));
			await measure("compactOnline", () => (tasks as any).compact(), i => tasks.insert(finishedTask(`o${round}-${i}`)));
		}
	} finally {
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

// Also a module: `open.ts` takes its task from here.
if (require.main === module) void main();
