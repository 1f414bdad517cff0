/**
 * How long a scheduler's NeDB store takes to open (a restart's wait before anything is served):
 *
 *   npx tsx bench/store/open.ts        (OPEN_TASKS, default 100,000 finished no-op tasks; OPEN_ROUNDS, default 4)
 *
 * A store file is made once; each round opens a copy of it in a fresh process (no warm JIT or file cache of the
 * process itself) and times `connect()`, the first insert after it, and `close()`. BENCH_BASE: another tree (a
 * `git worktree` with `node_modules` linked) to open the same copies alternately, for a side-by-side comparison.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median } from "../lib/stats";
import { finishedTask } from "./compaction";

const ROOT = path.resolve(__dirname, "../..");
const TASKS = Number(process.env.OPEN_TASKS ?? 100_000);
const ROUNDS = Math.max(1, Number(process.env.OPEN_ROUNDS ?? 4));

interface Timings {
	connect: number;
	firstInsert: number;
	close: number;
}

/** One side: opens the store in `dir` with the modules of `tree` and prints its timings. */
async function child(tree: string, dir: string): Promise<void> {
	const { NedbStore } = await import(path.join(tree, "src/store/nedb-store.ts"));
	const store = new NedbStore(dir);
	const tasks = store.collection("tasks");
	let t = performance.now();
	await store.connect();
	const connect = performance.now() - t;
	t = performance.now();
	await tasks.insert(finishedTask("after-open"));
	const firstInsert = performance.now() - t;
	t = performance.now();
	await store.close();
	const close = performance.now() - t;
	process.stdout.write(JSON.stringify({ connect, firstInsert, close } satisfies Timings));
}

async function parent(): Promise<void> {
	const source = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-open-"));
	const { NedbStore } = await import("../../src/store/nedb-store");
	const store = new NedbStore(source);
	const tasks = store.collection("tasks");
	await store.connect();
	for (let i = 0; i < TASKS; i += 1000)
		await tasks.insertMany(Array.from({ length: Math.min(1000, TASKS - i) }, (_, j) => finishedTask(`t${String(i + j).padStart(9, "0")}`)));
	// Each task also finished once after its insert: two lines a task, as a scheduler's file has before a compaction.
	for (let i = 0; i < TASKS; i += 1000)
		await tasks.updateMany({ _id: { $gte: `t${String(i).padStart(9, "0")}`, $lt: `t${String(i + 1000).padStart(9, "0")}` } }, { $set: { progress: 100 } });
	await store.close();
	const file = path.join(source, "tasks.db");
	const sides = [{ name: "this tree", tree: ROOT }];
	if (process.env.BENCH_BASE) sides.unshift({ name: `base (${process.env.BENCH_BASE})`, tree: path.resolve(process.env.BENCH_BASE) });
	console.log(`${new Date().toISOString()}: opening ${TASKS} stored tasks (${(fs.statSync(file).size / 1e6).toFixed(0)} MB file), ${ROUNDS} rounds`);
	const results = sides.map(() => [] as Timings[]);
	try {
		for (let round = 0; round < ROUNDS; round++)
			for (const i of round % 2 ? [...sides.keys()].reverse() : sides.keys()) {
				const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-open-copy-"));
				fs.copyFileSync(file, path.join(dir, "tasks.db"));
				const out = execFileSync(process.execPath, ["--import", "tsx", __filename, "--side", sides[i].tree, dir], { cwd: ROOT, encoding: "utf8" });
				results[i].push(JSON.parse(out));
				fs.rmSync(dir, { recursive: true, force: true });
			}
	} finally {
		fs.rmSync(source, { recursive: true, force: true });
	}
	for (const [i, side] of sides.entries()) {
		const of = (key: keyof Timings) => `${median(results[i].map(r => r[key])).toFixed(0)} ms (${results[i].map(r => r[key].toFixed(0)).join(" / ")})`;
		console.log(`${side.name}: connect ${of("connect")}; first insert ${of("firstInsert")}; close ${of("close")}`);
	}
}

const at = process.argv.indexOf("--side");
if (at > 0) void child(process.argv[at + 1], process.argv[at + 2]).then(() => process.exit(0));
else void parent();
