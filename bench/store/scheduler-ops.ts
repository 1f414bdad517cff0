/**
 * The scheduler's own CPU per task, without Moleculer or a transporter: `npm run bench:scheduler-ops`.
 *
 * A `Scheduler` over NeDB files in a temp dir takes 10,000 no-op submits (64 at a time), and two workers in the same
 * process lease 24 at a time and finish each batch at once: the store writes, indexes and dispatch of a real run, with
 * events handed to a stub. The end-to-end A/B (`bench:scheduler-ab`) varies by ±15 % run to run on this machine; this
 * part of the core's cost varies by a few per cent, so a store or dispatch change shows here first.
 *
 * Each side runs in a child process of its own (NeDB's modules are patched per process): 8 runs, the first 3 left out
 * (JIT warm-up), the median of the rest; sides alternate BENCH_ROUNDS times (default 3).
 * BENCH_BASE: the other tree (a `git worktree` of the base commit with `node_modules` linked); without it, this tree
 * alone.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median } from "../lib/stats";

const ROOT = path.resolve(__dirname, "../..");
const TASKS = 10_000;
const RUNS = 8;
const WARM_RUNS = 3;

/** One side: CPU microseconds per task of each run, in this process, from the modules of `tree`. */
async function child(tree: string): Promise<void> {
	const from = (module: string) => import(path.join(tree, module));
	const { Scheduler } = await from("src/scheduler/scheduler.ts");
	const { createStore } = await from("src/store/index.ts");
	const { TaskRegistry } = await from("src/tasks/registry.ts");
	const { UrlPolicy } = await from("src/tasks/url-policy.ts");
	const noop = (await from("tasks/noop.ts")).default;

	const run = async (): Promise<number> => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-scheduler-ops-"));
		const store = createStore({ dataDir: dir });
		const tasks = store.collection("tasks");
		await store.connect();
		const registry = new TaskRegistry({ timeoutMillis: 1000, maxAttempts: 3 });
		registry.register(noop);
		const quiet = () => undefined;
		const host = { emit: quiet, wakeWorkers: quiet, abortRemote: quiet, isNodeAlive: () => true, logger: { info: quiet, warn: quiet, error: quiet } };
		const scheduler = new Scheduler(tasks, host, { nodeId: "s", leaseMillis: 30000, registry, policy: new UrlPolicy(true), workerStaleMillis: 10000 });
		await scheduler.start();
		const cpu = process.cpuUsage();
		let submitted = 0;
		let finished = 0;
		const submitter = async () => {
			while (submitted < TASKS) {
				submitted++;
				await scheduler.submit({ type: "noop", payload: { echo: "x" } });
			}
		};
		const worker = async (nodeId: string) => {
			while (finished < TASKS) {
				// Held at the scheduler until work arrives, as a worker's lease call is.
				const batch = await scheduler.lease(nodeId, 24, 20);
				if (batch.length === 0) continue;
				await scheduler.finish(nodeId, batch.map((t: any) => ({ id: t.id, leaseId: t.leaseId, ok: true, result: { echo: "x" } })));
				finished += batch.length;
			}
		};
		await Promise.all([...Array.from({ length: 64 }, submitter), worker("w1"), worker("w2")]);
		const used = process.cpuUsage(cpu);
		scheduler.stop();
		await store.close();
		fs.rmSync(dir, { recursive: true, force: true });
		return (used.user + used.system) / TASKS;
	};
	const perTask: number[] = [];
	for (let i = 0; i < RUNS; i++) perTask.push(await run());
	process.stdout.write(JSON.stringify(perTask));
}

function parent(): void {
	const sides = [{ name: "this tree", tree: ROOT }];
	if (process.env.BENCH_BASE) sides.unshift({ name: `base (${process.env.BENCH_BASE})`, tree: path.resolve(process.env.BENCH_BASE) });
	const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
	const results = sides.map(() => [] as number[]);
	for (let round = 0; round < rounds; round++)
		for (const i of round % 2 ? [...sides.keys()].reverse() : sides.keys()) {
			const out = execFileSync(process.execPath, ["--import", "tsx", __filename, "--side", sides[i].tree], { cwd: ROOT, encoding: "utf8" });
			results[i].push(median((JSON.parse(out) as number[]).slice(WARM_RUNS)));
		}
	console.log(`${new Date().toISOString()}: scheduler CPU per no-op task (submit, lease, finish on NeDB files), ${rounds} rounds a side`);
	for (const [i, side] of sides.entries())
		console.log(`${side.name}: median ${median(results[i]).toFixed(1)} µs; rounds ${results[i].map(r => r.toFixed(1)).join(" / ")}`);
	if (sides.length === 2) console.log(`this tree ÷ base: ${(median(results[1]) / median(results[0])).toFixed(2)}`);
}

const at = process.argv.indexOf("--side");
if (at > 0) void child(process.argv[at + 1]).then(() => process.exit(0));
else parent();
