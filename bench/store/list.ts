/**
 * What a task listing costs on an embedded node as its NeDB store grows: fills a node (`src/main.ts` as a child, NeDB
 * files) with no-op tasks, then times each listing the gateway serves, five times over HTTP.
 *
 *   npx tsx bench/store/list.ts [tasks, default 50000]
 *
 * `TREE=<dir>` runs the node of another checkout (a `git worktree` of an older commit with `node_modules` linked).
 */
import { startNode } from "../lib/nightshift";
import { cleanupAll, tempDir } from "../lib/procs";
import { httpBatches, nightshiftThroughput } from "../lib/scenarios";

const LISTINGS = [
	"/api/tasks?limit=30", // the dashboard's
	"/api/tasks?limit=50&offset=500",
	"/api/tasks?status=completed",
	"/api/tasks?status=queued",
	"/api/dead-letters",
	"/api/tasks?type=noop&limit=10",
	"/health/background-tasks"
];

async function main(): Promise<void> {
	const total = Number(process.argv[2] ?? 50_000);
	const node = await startNode({
		name: "list",
		services: ["api", "scheduler", "browser-pool"],
		logDir: tempDir("nightshift-list-logs"),
		workerConcurrency: 16,
		tree: process.env.TREE
	});
	for (let stored = 0; stored < total; stored += 10_000) await nightshiftThroughput(node, "fill", Math.min(10_000, total - stored), "", httpBatches(node, 500, 4));
	console.log(`${total} tasks stored in ${process.env.TREE ?? "this tree"}; ${new Date().toISOString()}`);
	for (const path of LISTINGS) {
		const millis: number[] = [];
		let answer = "";
		for (let i = 0; i < 5; i++) {
			const t0 = performance.now();
			const { status, body } = await node.http!.get<any>(path);
			millis.push(performance.now() - t0);
			answer = `${status}${body?.total !== undefined ? `, total ${body.total}, ${body.items.length} items` : ""}`;
		}
		console.log(`${path.padEnd(34)} ${millis.map(m => m.toFixed(1).padStart(6)).join(" ")} ms  (${answer})`);
	}
}

main()
	.catch(err => {
		console.error(err);
		process.exitCode = 1;
	})
	.finally(cleanupAll);
