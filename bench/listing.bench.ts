/**
 * What task listings cost on an embedded node with a large NeDB store, side by side with another tree:
 * `npm run bench:listing`.
 *
 * Both nodes run embedded (NeDB files) with the same tasks: BENCH_TASKS no-op tasks completed (default 100,000) and
 * BENCH_FAILED dead letters (default 20: `http.check` of a closed local port, one attempt). Then every listing the
 * gateway and the dashboard ask for is timed on each, alternating, BENCH_REPEAT times (default 30); medians and p95.
 * BENCH_BASE: the other tree (a `git worktree` of the base commit with `node_modules` linked); without it, this tree
 * alone.
 */
import { HttpClient } from "./lib/net";
import { NodeHandle, runPool, startNode } from "./lib/nightshift";
import { cleanupAll, tempDir } from "./lib/procs";
import { percentile } from "./lib/stats";

const TASKS = Number(process.env.BENCH_TASKS ?? 100_000);
const FAILED = Number(process.env.BENCH_FAILED ?? 20);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 30);
const QUERIES = [
	"/api/tasks?limit=30&result=false", // the dashboard's
	"/api/tasks?limit=50&offset=500",
	"/api/tasks?status=completed&limit=20",
	"/api/tasks?status=failed&limit=20",
	"/api/dead-letters?limit=20",
	"/api/tasks?type=http.check&limit=20",
	"/api/tasks?status=queued&limit=20",
	"/health/background-tasks"
];

async function fill(api: HttpClient): Promise<void> {
	const batch = 500;
	await runPool(Math.ceil(TASKS / batch), 2, async i => {
		const tasks = Array.from({ length: Math.min(batch, TASKS - i * batch) }, () => ({ type: "noop", payload: {} }));
		const answer = await api.post("/api/tasks/batch", { tasks });
		if (answer.status !== 202) throw new Error(`batch answered ${answer.status}`);
	});
	for (let i = 0; i < FAILED; i++) await api.post("/api/tasks", { type: "http.check", payload: { url: "http://127.0.0.1:1/" }, maxAttempts: 1 });
	for (;;) {
		const [queued, running] = await Promise.all(["queued", "running"].map(s => api.get(`/api/tasks?status=${s}&limit=1`)));
		if (queued.body.total === 0 && running.body.total === 0) return;
		await new Promise(r => setTimeout(r, 200));
	}
}

async function timeQuery(api: HttpClient, query: string): Promise<number> {
	const t0 = performance.now();
	const answer = await api.get(query);
	if (answer.status !== 200) throw new Error(`${query} answered ${answer.status}`);
	return performance.now() - t0;
}

async function main(): Promise<void> {
	const logDir = tempDir("nightshift-bench-listing-logs", process.env.BENCH_KEEP_LOGS === "1");
	const sides: { name: string; tree?: string }[] = [{ name: "this tree" }];
	if (process.env.BENCH_BASE) sides.unshift({ name: `base (${process.env.BENCH_BASE})`, tree: process.env.BENCH_BASE });
	const nodes: NodeHandle[] = [];
	for (const [i, side] of sides.entries()) {
		const node = await startNode({
			name: `listing-${i}`,
			services: ["api", "scheduler", "browser-pool"],
			workerConcurrency: 16,
			logDir,
			tree: side.tree,
			env: { ALLOW_PRIVATE_NETWORKS: "true" }
		});
		const t0 = performance.now();
		await fill(node.http!);
		console.log(`${side.name}: ${TASKS} + ${FAILED} tasks done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
		nodes.push(node);
	}
	const samples = nodes.map(() => new Map<string, number[]>(QUERIES.map(q => [q, []])));
	for (let r = 0; r < REPEAT; r++)
		for (const query of QUERIES)
			for (const i of r % 2 ? [...nodes.keys()].reverse() : nodes.keys()) samples[i].get(query)!.push(await timeQuery(nodes[i].http!, query));
	console.log(`\n${new Date().toISOString()}, ${TASKS} completed + ${FAILED} failed tasks, ${REPEAT} requests each, alternating`);
	console.log(`| request | ${sides.map(s => `${s.name} p50 / p95 ms`).join(" | ")} |`);
	console.log(`| --- | ${sides.map(() => "---").join(" | ")} |`);
	for (const query of QUERIES) {
		const cells = samples.map(s => `${percentile(s.get(query)!, 50).toFixed(2)} / ${percentile(s.get(query)!, 95).toFixed(2)}`);
		console.log(`| \`${query}\` | ${cells.join(" | ")} |`);
	}
}

main()
	.catch(err => {
		console.error(err);
		process.exitCode = 1;
	})
	.finally(() => cleanupAll());
