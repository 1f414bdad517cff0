/**
 * What a value-set index (`status`) costs the scheduler's writes on NeDB: the store operations of 10,000 no-op tasks
 * (inserted in batches of 500, leased 24 at a time by id, each finished by a conditional update), in memory, with and
 * without the index, alternating, 12 runs each (the first two of each left out: warm-up). Median milliseconds.
 *
 *   npx tsx bench/store/writes.ts
 */
import { createStore, IN_MEMORY } from "../../src/store";

const N = 10_000;
const id = (i: number) => `t${String(i).padStart(8, "0")}`;

async function run(statusIndex: boolean): Promise<number> {
	const store = createStore({ dataDir: IN_MEMORY });
	const tasks = store.collection<any>("tasks");
	await store.connect();
	// The scheduler's indexes.
	if (statusIndex) await tasks.ensureIndex("status", { fewValues: true });
	await tasks.ensureIndex("idempotencyKey", { unique: true, sparse: true });
	await tasks.ensureIndex("finishedAt", { sparse: true });
	await tasks.ensureIndex("key", { sparse: true });
	const t0 = performance.now();
	for (let b = 0; b < N; b += 500)
		await tasks.insertMany(
			Array.from({ length: 500 }, (_, i) => ({ _id: id(b + i), type: "noop", status: "queued", payload: { echo: "x" }, priority: 5, history: [], log: [], attempts: 0 }))
		);
	for (let i = 0; i < N; i += 24) {
		const ids = Array.from({ length: Math.min(24, N - i) }, (_, j) => id(i + j));
		const lease = { id: "l", owner: "w", expiresAt: "2026-12-07T00:01:00.000Z" };
		await tasks.updateManyReturning({ _id: { $in: ids }, status: "queued" }, { $set: { status: "running", lease }, $inc: { attempts: 1 } }, { status: "running" });
		const finish = { $set: { status: "completed", lease: null, finishedAt: "2026-12-07T00:00:01.000Z", result: { echo: "x" } }, $push: { history: { attempt: 1 } } };
		await Promise.all(ids.map(taskId => tasks.updateOne({ _id: taskId, status: "running", "lease.id": "l" }, finish)));
	}
	const millis = performance.now() - t0;
	await store.close();
	return millis;
}

async function main(): Promise<void> {
	const runs = { without: [] as number[], with: [] as number[] };
	for (let i = 0; i < 12; i++) for (const withIndex of i % 2 ? [true, false] : [false, true]) runs[withIndex ? "with" : "without"].push(await run(withIndex));
	console.log(`${new Date().toISOString()}: store operations of ${N} tasks, NeDB in memory`);
	for (const [name, all] of Object.entries(runs)) {
		const kept = all.slice(2).sort((a, b) => a - b);
		console.log(`${name} the status index: median ${kept[Math.floor(kept.length / 2)].toFixed(1)} ms (${kept.map(m => m.toFixed(0)).join(" ")})`);
	}
}

void main();
