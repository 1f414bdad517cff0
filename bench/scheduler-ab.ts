/**
 * Same-window A/B of two Nightshift configurations: `npm run bench:scheduler-ab`.
 *
 * This machine's speed drifts by tens of per cent within minutes, so two configurations measured one after the other
 * cannot be compared. Here both are up at once and their runs alternate (A B, B A, …); the medians compare.
 *
 * Env: AB_A / AB_B — JSON objects of environment variables for the Nightshift processes of each side, plus
 * `"NODE_DEFAULTS": "1"` to run that side with Node's defaults instead of npm start's flags, and `"TREE": "<dir>"` to
 * run that side from another checkout, e.g. a `git worktree` of the base commit with `node_modules` linked (default:
 * `{}`);
 * AB_MODE — `embedded` (one process, 16 slots) or `cluster` (core + 2 workers × 8 slots on NATS; default);
 * AB_METRIC — `throughput` (batches of 500 no-op tasks, AB_N a run; default), `calls` (cluster only: one
 * `scheduler.submit` call per task from a client broker on NATS, 64 in flight, AB_N a run) or `idle` (queued →
 * started p50, 40 tasks one at a time a run); AB_RUNS — runs per side (default 6); AB_N — tasks a throughput run
 * (default 10,000: about a second, short beside this machine's drift; longer runs average more of it).
 * Besides the rate, each run's CPU per task is read from /proc: of the node that takes the submits, and (cluster) of
 * all the side's Nightshift processes. It drifts less than the rate; the first runs after the warm-up are still higher.
 * Example: `AB_A='{"WORKER_PREFETCH":"0"}' AB_B='{"WORKER_PREFETCH":"24"}' npm run bench:scheduler-ab`.
 */
import type { ServiceBroker } from "moleculer";
import { clientBroker, NodeHandle, startNode, waitForWarmPools, waitForWorkers } from "./lib/nightshift";
import { cpuMillisOf } from "./lib/proc-cpu";
import { cleanupAll, tempDir } from "./lib/procs";
import { httpBatches, idleStartLatency, nightshiftThroughput, serviceCalls, Submitter } from "./lib/scenarios";
import { median } from "./lib/stats";

const MODE = process.env.AB_MODE ?? "cluster";
const METRIC = process.env.AB_METRIC ?? "throughput";
const RUNS = Math.max(1, Number(process.env.AB_RUNS ?? 6));
const N = Math.max(100, Number(process.env.AB_N ?? 10000));
const NATS = process.env.BENCH_NATS ?? "nats://127.0.0.1:4222";
const sides = [
	{ name: "A", env: JSON.parse(process.env.AB_A ?? "{}") as Record<string, string> },
	{ name: "B", env: JSON.parse(process.env.AB_B ?? "{}") as Record<string, string> }
];

interface Side {
	node: NodeHandle;
	/** Every Nightshift process of the side (the node above, and the workers in cluster mode). */
	all: NodeHandle[];
	submitter: Submitter;
	client?: ServiceBroker;
}

async function startSide(name: string, env: Record<string, string>, logDir: string): Promise<Side> {
	const { NODE_DEFAULTS, TREE, ...nodeEnv } = env;
	const common = { logDir, env: nodeEnv, nodeDefaults: NODE_DEFAULTS === "1", tree: TREE };
	if (MODE === "embedded") {
		const node = await startNode({ ...common, name: `ab-${name}`, services: ["api", "scheduler", "browser-pool"], workerConcurrency: 16 });
		await waitForWarmPools(node.http!);
		return { node, all: [node], submitter: httpBatches(node, 500, 4) };
	}
	const namespace = `ab-${process.pid}-${name}`;
	const cluster = { ...common, transporter: NATS, namespace, workerConcurrency: 8 };
	const core = await startNode({ ...cluster, name: `ab-${name}-core`, services: ["api", "scheduler"] });
	const workers = await Promise.all([1, 2].map(i => startNode({ ...cluster, name: `ab-${name}-worker-${i}`, services: ["browser-pool"] })));
	await waitForWorkers(core.http!, workers.map(w => w.nodeId));
	await waitForWarmPools(core.http!);
	const all = [core, ...workers];
	if (METRIC !== "calls") return { node: core, all, submitter: httpBatches(core, 500, 4) };
	const client = await clientBroker(NATS, namespace);
	return { node: core, all, submitter: serviceCalls(client, 64), client };
}

interface Run {
	value: number;
	/** CPU µs a task of the node that takes the submits (the scheduler: the bound), and of all the side's processes. */
	coreMicros: number;
	allMicros: number;
}

/** One run's figure, and the CPU the side's processes spent per task in it. */
async function measure({ node, all, submitter }: Side): Promise<Run> {
	const cpu = () => all.map(n => cpuMillisOf(n.child.pid) ?? NaN);
	const before = cpu();
	const tasks = METRIC === "idle" ? 40 : N;
	const value =
		METRIC === "idle"
			? (await idleStartLatency(node, 40, 20)).submitToStarted.p50
			: (await nightshiftThroughput(node, "ab", N, "", submitter)).tasksPerSec;
	const spent = cpu().map((millis, i) => ((millis - before[i]) * 1000) / tasks);
	return { value, coreMicros: spent[0], allMicros: spent.reduce((a, b) => a + b, 0) };
}

async function main(): Promise<void> {
	const logDir = tempDir("nightshift-ab-logs", process.env.BENCH_KEEP_LOGS === "1");
	if (METRIC === "calls" && MODE !== "cluster") throw new Error("AB_METRIC=calls needs AB_MODE=cluster");
	const nodes: Side[] = [];
	try {
		await compare(nodes, logDir);
	} finally {
		await Promise.all(nodes.map(side => side.client?.stop()));
	}
}

async function compare(nodes: Side[], logDir: string): Promise<void> {
	for (const side of sides) nodes.push(await startSide(side.name, side.env, logDir));
	// Warmed up once both are up: a side started later warms its Chromium (seconds of CPU) during the other's runs.
	for (const side of nodes) await nightshiftThroughput(side.node, "warm-up", 5000, "", side.submitter);
	const runs: Run[][] = [[], []];
	for (let run = 0; run < RUNS; run++) for (const i of run % 2 ? [1, 0] : [0, 1]) runs[i].push(await measure(nodes[i]));
	const results = runs.map(side => side.map(r => r.value));
	const unit = METRIC === "idle" ? "ms (queued → started p50)" : "tasks/s";
	console.log(`${MODE}, ${METRIC}, ${RUNS} runs a side, alternating; ${new Date().toISOString()}`);
	for (const [i, side] of sides.entries())
		console.log(`${side.name} ${JSON.stringify(side.env)}: median ${median(results[i]).toFixed(1)} ${unit}; runs ${results[i].map(v => v.toFixed(1)).join(" / ")}`);
	// Runs next to each other saw the same machine: their ratio is the steadier comparison while the machine drifts.
	const ratios = results[1].map((b, run) => b / results[0][run]);
	console.log(`B ÷ A run by run: ${ratios.map(r => r.toFixed(2)).join(" / ")}; median ${median(ratios).toFixed(2)}`);
	// CPU per task moves less with the machine's drift than the rate does (10 ms ticks: ~1 % of a 10,000-task run).
	const cpuRows: [string, (r: Run) => number][] = [[`${MODE === "cluster" ? "core" : "node"} CPU µs a task`, r => r.coreMicros]];
	if (MODE === "cluster") cpuRows.push(["all nodes' CPU µs a task", r => r.allMicros]);
	for (const [label, of] of cpuRows) {
		const [a, b] = runs.map(side => side.map(of));
		console.log(`${label}: A ${median(a).toFixed(1)} (${a.map(v => v.toFixed(0)).join(" / ")}), B ${median(b).toFixed(1)} (${b.map(v => v.toFixed(0)).join(" / ")}); B ÷ A median ${median(b.map((v, i) => v / a[i])).toFixed(2)}`);
	}
}

main()
	.catch(err => {
		console.error(err);
		process.exitCode = 1;
	})
	.finally(cleanupAll);
