/**
 * Scheduler benchmark (issue 2): `npm run bench:scheduler`.
 *
 * Every Nightshift process is a child `node --import tsx src/main.ts` (NeDB files in a temp DATA_DIR), so the load
 * generator here never shares an event loop with the system under test. Prints the machine and a Markdown table.
 *
 * Knobs (env): BENCH_N (tasks per throughput run, default 10000), BENCH_NATS (default nats://127.0.0.1:4222),
 * BENCH_KEEP_LOGS=1 (keep the child processes' logs), BENCH_ONLY (comma list of phases: embedded,memory,cluster,bullmq),
 * BENCH_CHILD_FLAGS (extra node flags for every Nightshift child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 * BENCH_ROUNDS (rounds of the throughput runs, default 3: every peer once a round, in a rotating order; medians
 * reported, every round listed), BENCH_BULLMQ_NICE (BullMQ's worker processes at this CPU priority, as Nightshift's
 * browser-pool nodes run at WORKER_NICE; default: as started).
 * Needs Redis on 127.0.0.1:6379 and NATS on 127.0.0.1:4222. Results and their reading are kept in BENCHMARKS.md.
 */
import os from "node:os";
import type { ServiceBroker } from "moleculer";
import { BullmqBench, ThroughputResult } from "./lib/bullmq";
import { machineInfo, stealMillis } from "./lib/machine";
import { assertTaskType, clientBroker, NodeHandle, runPool, SHIPPED_NODE_FLAGS, startNode, submit, waitForWarmPools, waitForWorkers } from "./lib/nightshift";
import { cleanupAll, stopChild, tempDir } from "./lib/procs";
import {
	failover,
	FailoverResult,
	gatewayCeiling,
	httpBatches,
	httpOneByOne,
	idleStartLatency,
	LoopStats,
	MemoryResult,
	nightshiftThroughput,
	progressLatency,
	memoryAfterStart,
	schedulerMemory,
	serviceCalls,
	StartLatencyResult,
	submitLatency,
	SubmitLatencyResult
} from "./lib/scenarios";
import { mb, ms, sleep, Summary } from "./lib/stats";

const N = Number(process.env.BENCH_N ?? 10000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const NATS = process.env.BENCH_NATS ?? "nats://127.0.0.1:4222";
/** Total task slots in every throughput run: embedded 1 × 16, cluster 2 × 8, BullMQ 2 × 8. */
const SLOTS_PER_WORKER = 8;
const WORKERS = 2;
const SUBMIT_IN_FLIGHT = 64;
/** Batch submit, the counterpart of BullMQ's addBulk. */
const BATCH = 500;
const BATCH_IN_FLIGHT = 4;
const SUBMIT_RATE = 200;
const SUBMIT_SECONDS = 10;
/**
 * Sent at the same rate just before the measured run and not counted: the first requests of a run paid for its
 * start (a server or load-generator stall of 35–100 ms in its first 0.1 s in about a third of runs), which is not the
 * steady submit latency the row is about. Its figures are printed under the table.
 */
const SUBMIT_LEAD_IN_SECONDS = 1;
const IDLE_SAMPLES = 150;
const IDLE_GAP_MILLIS = 20;
const PROGRESS = { tasks: 10, steps: 30, intervalMillis: 110 };
const MEMORY_TASKS = 10_000;
const FAILOVER_TASK_MILLIS = 60_000;
const FAILOVER_ROUNDS = 3;

interface Results {
	submit?: SubmitLatencyResult;
	/** The unmeasured lead-in sent just before `submit`. */
	submitLeadIn?: SubmitLatencyResult;
	/** The embedded process's event loop and GC during the submit-latency run. */
	submitServer?: LoopStats;
	/** CPU steal across the submit-latency run (all CPUs of the VM together). */
	submitStealMillis?: number;
	throughput: ThroughputResult[];
	/** Requests/s of a trivial gateway action, measured right after the throughput rounds. */
	gateway?: { n: number; perSec: number };
	idle: Record<string, StartLatencyResult>;
	progress: Record<string, Summary & { expected: number }>;
	memory?: MemoryResult;
	/** Restarted scheduler that loaded the queued tasks from its store, vs a fresh one on an empty store. */
	memoryRestart?: MemoryResult;
	/** As `memory`, with V8's young generation capped. */
	memorySemi?: MemoryResult;
	failover: FailoverResult[];
}

function log(message: string): void {
	console.error(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}`);
}

async function warmup(node: NodeHandle, n: number): Promise<void> {
	await runPool(n, 16, async i => {
		await submit(node.http!, "noop", { echo: `warmup-${i}` });
	});
	// Let the warm-up tasks drain before measuring.
	for (let i = 0; i < 100; i++) {
		const { body } = await node.http!.get("/health/background-tasks");
		if (body?.queue_health && body.queue_health.queued === 0 && body.queue_health.running === 0) return;
		await sleep(100);
	}
}

async function embeddedPhase(results: Results, logDir: string): Promise<NodeHandle> {
	log("embedded: starting one process with every service (WORKER_CONCURRENCY=16)");
	const node = await startNode({
		name: "embedded",
		services: ["api", "scheduler", "browser-pool", "resource-guard"],
		logDir,
		workerConcurrency: SLOTS_PER_WORKER * WORKERS
	});
	await assertTaskType(node.http!, "progress-probe");
	await waitForWarmPools(node.http!);
	await warmup(node, 500);

	log(`embedded: submit latency at ${SUBMIT_RATE}/s for ${SUBMIT_SECONDS} s, after a ${SUBMIT_LEAD_IN_SECONDS} s lead-in`);
	results.submitLeadIn = await submitLatency(node.http!, SUBMIT_RATE, SUBMIT_LEAD_IN_SECONDS);
	await node.child.ask({ cmd: "loop-start" });
	const steal = stealMillis();
	results.submit = await submitLatency(node.http!, SUBMIT_RATE, SUBMIT_SECONDS);
	results.submitStealMillis = stealMillis() - steal;
	results.submitServer = await node.child.ask<LoopStats>({ cmd: "loop-stop" });
	await sleep(500);

	await runLatencyPhases(results, node, "embedded");
	return node;
}

/** The latency measurements embedded and cluster mode share: idle start latency, progress latency. */
async function runLatencyPhases(results: Results, node: NodeHandle, mode: "embedded" | "cluster") {
	log(`${mode}: queued→started, ${IDLE_SAMPLES} tasks one at a time`);
	results.idle[mode] = await idleStartLatency(node, IDLE_SAMPLES, IDLE_GAP_MILLIS);

	log(`${mode}: progress latency`);
	results.progress[mode] = await progressLatency(node, PROGRESS.tasks, PROGRESS.steps, PROGRESS.intervalMillis);
}

interface ThroughputRun {
	label: string;
	run: () => Promise<ThroughputResult>;
}

/**
 * The throughput runs of one Nightshift system (embedded or cluster): one task per request, batches, and, given a
 * client broker on the cluster's transporter, one service call per task.
 */
function nightshiftRuns(node: NodeHandle, label: string, slots: string, client?: ServiceBroker): ThroughputRun[] {
	const runs = [
		{ label, submitter: httpOneByOne(node, SUBMIT_IN_FLIGHT) },
		{ label: `${label}, batch submit`, submitter: httpBatches(node, BATCH, BATCH_IN_FLIGHT) },
		...(client ? [{ label: `${label}, service calls`, submitter: serviceCalls(client, SUBMIT_IN_FLIGHT) }] : [])
	];
	return runs.map(({ label, submitter }) => ({ label, run: () => nightshiftThroughput(node, label, N, slots, submitter) }));
}

/**
 * Every throughput run once a round for `ROUNDS` rounds, the order rotating each round, with every system up the
 * whole time: the machine drifts by tens of per cent within minutes, and side by side in rounds each peer sees the
 * same drift. Each peer is reported by its median round.
 */
async function throughputPhase(results: Results, runs: ThroughputRun[]): Promise<void> {
	const byLabel = new Map<string, ThroughputResult[]>(runs.map(r => [r.label, []]));
	for (let round = 0; round < ROUNDS; round++) {
		const order = runs.map((_, i) => runs[(i + round) % runs.length]);
		for (const r of order) {
			log(`throughput round ${round + 1}/${ROUNDS}: ${r.label}, ${N} tasks`);
			byLabel.get(r.label)!.push(await r.run());
		}
	}
	for (const r of runs) {
		const all = byLabel.get(r.label)!;
		const median = [...all].sort((a, b) => a.tasksPerSec - b.tasksPerSec)[Math.floor((all.length - 1) / 2)];
		results.throughput.push({ ...median, rounds: all.map(a => a.tasksPerSec) });
	}
}

async function memoryPhase(results: Results, logDir: string): Promise<void> {
	const services = ["api", "scheduler"];
	log(`memory: scheduler without workers, ${MEMORY_TASKS} queued tasks submitted over HTTP`);
	const dataDir = tempDir("nightshift-bench-memory");
	const nodeDefaults = true;
	let node = await startNode({ name: "memory", services, logDir, dataDir, nodeDefaults, nodeFlags: ["--expose-gc"] });
	results.memory = await schedulerMemory(node, MEMORY_TASKS, SUBMIT_IN_FLIGHT);
	await stopChild(node.child);

	log("memory: the same store loaded by a restarted scheduler, vs a fresh empty one");
	node = await startNode({ name: "memory-restart", services, logDir, dataDir, nodeDefaults, nodeFlags: ["--expose-gc"] });
	const loaded = await memoryAfterStart(node);
	const reloaded = (await node.http!.get("/health/background-tasks")).body?.queue_health?.queued;
	if (reloaded !== MEMORY_TASKS) throw new Error(`the restarted scheduler loaded ${reloaded} queued tasks, not ${MEMORY_TASKS}`);
	await stopChild(node.child);
	node = await startNode({ name: "memory-fresh", services, logDir, nodeDefaults, nodeFlags: ["--expose-gc"] });
	results.memoryRestart = { empty: await memoryAfterStart(node), loaded, queued: MEMORY_TASKS, submitMillis: NaN };
	await stopChild(node.child);

	log(`memory: again with the shipped node flags (${SHIPPED_NODE_FLAGS.join(" ")})`);
	node = await startNode({ name: "memory-semi", services, logDir, nodeFlags: ["--expose-gc"] });
	results.memorySemi = await schedulerMemory(node, MEMORY_TASKS, SUBMIT_IN_FLIGHT);
	await stopChild(node.child);
}

interface Cluster {
	core: NodeHandle;
	workers: NodeHandle[];
	namespace: string;
	common: { logDir: string; transporter: string; namespace: string; workerConcurrency: number };
}

async function clusterPhase(results: Results, logDir: string): Promise<Cluster> {
	const namespace = `bench-${process.pid}-${Date.now().toString(36)}`;
	log(`cluster: core (api,scheduler) + ${WORKERS} workers (browser-pool × ${SLOTS_PER_WORKER}) on ${NATS}, namespace ${namespace}`);
	const common = { logDir, transporter: NATS, namespace, workerConcurrency: SLOTS_PER_WORKER };
	const core = await startNode({ ...common, name: "core", services: ["api", "scheduler"] });
	const workers = await Promise.all(
		Array.from({ length: WORKERS }, (_, i) => startNode({ ...common, name: `worker-${i + 1}`, services: ["browser-pool"] }))
	);
	await waitForWorkers(core.http!, workers.map(w => w.nodeId));
	await waitForWarmPools(core.http!);
	await warmup(core, 500);

	await runLatencyPhases(results, core, "cluster");
	return { core, workers, namespace, common };
}

async function failoverPhase(results: Results, { core, workers, namespace, common }: Cluster): Promise<void> {
	log(`cluster: kill -9 of a worker (round 1 of ${FAILOVER_ROUNDS})`);
	results.failover.push(await failover(core, workers, SLOTS_PER_WORKER, FAILOVER_TASK_MILLIS));
	await Promise.all([core, ...workers].map(n => stopChild(n.child, 1000)));

	// Detection time depends on where the kill falls in the heartbeat cycle: more rounds, each on a fresh cluster.
	for (let round = 2; round <= FAILOVER_ROUNDS; round++) {
		log(`cluster: kill -9 of a worker (round ${round} of ${FAILOVER_ROUNDS}, fresh cluster)`);
		const ns = { ...common, namespace: `${namespace}-${round}` };
		const c = await startNode({ ...ns, name: `core-r${round}`, services: ["api", "scheduler"] });
		const ws = await Promise.all(
			Array.from({ length: WORKERS }, (_, i) => startNode({ ...ns, name: `worker-r${round}-${i + 1}`, services: ["browser-pool"] }))
		);
		await waitForWorkers(c.http!, ws.map(w => w.nodeId));
		results.failover.push(await failover(c, ws, SLOTS_PER_WORKER, FAILOVER_TASK_MILLIS));
		await Promise.all([c, ...ws].map(n => stopChild(n.child, 1000)));
	}
}

async function startBullmq(logDir: string): Promise<BullmqBench> {
	log(`bullmq: ${WORKERS} worker processes × concurrency ${SLOTS_PER_WORKER} on 127.0.0.1:6379`);
	const bull = new BullmqBench(logDir, WORKERS, SLOTS_PER_WORKER);
	await bull.start();
	await bull.warmup(500);
	return bull;
}

function bullmqRuns(bull: BullmqBench): ThroughputRun[] {
	return [
		{ label: "BullMQ (addBulk)", run: () => bull.run("BullMQ (addBulk)", N, "bulk") },
		{ label: "BullMQ (add)", run: () => bull.run("BullMQ (add)", N, "single", SUBMIT_IN_FLIGHT) }
	];
}

const mark = (ok: boolean) => (ok ? "✅ met" : "❌ missed");

function table(r: Results): string {
	const rows: string[][] = [];
	const s = r.submit;
	if (s)
		rows.push([
			"1",
			"submit → 202 latency",
			`embedded, HTTP, ${s.achievedRate.toFixed(0)} submits/s for ${s.seconds.toFixed(1)} s`,
			`p50 ${ms(s.latency.p50)} · p99 ${ms(s.latency.p99)} · max ${ms(s.latency.max)} (n=${s.latency.n}, errors=${s.errors})`,
			"p99 ≤ 10 ms",
			mark(s.latency.p99 <= 10 && s.errors === 0)
		]);
	// The reference is BullMQ's best run (its fastest submission path on this machine today); the like-for-like ratio
	// (batch against addBulk, one by one against add) is given beside it.
	const bullRuns = r.throughput.filter(t => t.label.startsWith("BullMQ"));
	const bull = bullRuns.reduce<ThroughputResult | undefined>((best, t) => (!best || t.tasksPerSec > best.tasksPerSec ? t : best), undefined);
	const likeForLike = (t: ThroughputResult) => bullRuns.find(b => b.label.includes("addBulk") === t.label.includes("batch"));
	for (const t of r.throughput) {
		const isNs = t.label.startsWith("Nightshift");
		const peer = isNs ? likeForLike(t) : undefined;
		const peerNote = peer && peer !== bull ? `; ${(t.tasksPerSec / peer.tasksPerSec).toFixed(2)}× ${peer.label}` : "";
		rows.push([
			"2",
			`noop throughput, N=${t.n}`,
			`${t.label}; ${t.concurrency} slots; ${t.submitPath}`,
			`**${t.tasksPerSec.toFixed(0)} tasks/s** (median round: all done in ${ms(t.totalMillis)}, submits took ${ms(t.submitMillis)}; rounds ${(t.rounds ?? [t.tasksPerSec]).map(x => x.toFixed(0)).join(" / ")})`,
			isNs ? "≥ BullMQ" : "(reference)",
			isNs && bull ? `${mark(t.tasksPerSec >= bull.tasksPerSec)} (${(t.tasksPerSec / bull.tasksPerSec).toFixed(2)}× ${bull.label}${peerNote})` : ""
		]);
	}
	if (r.gateway)
		rows.push([
			"2",
			"HTTP gateway alone (reference)",
			`embedded; \`GET /api/task-types\` (no store, no scheduling), ${SUBMIT_IN_FLIGHT} in flight, same client`,
			`${r.gateway.perSec.toFixed(0)} requests/s (n=${r.gateway.n}): the ceiling of any one-task-per-request submit`,
			"(reference)",
			""
		]);
	for (const [mode, v] of Object.entries(r.idle))
		rows.push([
			"3",
			"queued → started, idle",
			`${mode}; submit sent → \`task.started\` on SSE`,
			`p50 ${ms(v.submitToStarted.p50)} · p99 ${ms(v.submitToStarted.p99)} (n=${v.submitToStarted.n}; of which submit→202 p50 ${ms(v.submitAck.p50)})`,
			"p50 ≤ 5 ms",
			mark(v.submitToStarted.p50 <= 5)
		]);
	for (const [mode, v] of Object.entries(r.progress))
		rows.push([
			"4",
			"progress event, worker → SSE client",
			`${mode}; ${PROGRESS.tasks} tasks × ${PROGRESS.steps} steps, ${PROGRESS.intervalMillis} ms apart`,
			`p50 ${ms(v.p50)} · p99 ${ms(v.p99)} · max ${ms(v.max)} (n=${v.n}/${v.expected})`,
			"p99 ≤ 20 ms",
			mark(v.p99 <= 20 && v.n === v.expected)
		]);
	const memoryRow = (m: MemoryResult | undefined, setup: string) => {
		if (!m) return;
		const dRss = m.loaded.rss - m.empty.rss;
		const dHeap = m.loaded.heapUsed - m.empty.heapUsed;
		const limit = 50 * 1024 * 1024;
		rows.push([
			"5",
			`scheduler memory, ${m.queued} queued vs empty`,
			`${setup}; after full GC (${m.empty.gc ? "--expose-gc" : "no gc available!"})`,
			`RSS ${mb(m.empty.rss)} → ${mb(m.loaded.rss)} (**+${mb(dRss)}**); heap used ${mb(m.empty.heapUsed)} → ${mb(m.loaded.heapUsed)} (**+${mb(dHeap)}**, ${(dHeap / m.queued / 1024).toFixed(2)} KiB/task); heap total ${mb(m.empty.heapTotal)} → ${mb(m.loaded.heapTotal)}`,
			"≤ 50 MB over empty",
			`RSS ${mark(dRss <= limit)}, heap ${mark(dHeap <= limit)}`
		]);
	};
	memoryRow(r.memory, "api+scheduler, no worker, NeDB files, tasks submitted over HTTP, Node defaults");
	memoryRow(r.memoryRestart, "same store loaded by a restarted scheduler vs a fresh scheduler on an empty store (both just started)");
	memoryRow(r.memorySemi, `as the first, with \`${SHIPPED_NODE_FLAGS.join(" ")}\` (the setting \`npm start\` and the Dockerfile use)`);
	if (r.failover.length > 0) {
		const all = r.failover.map(f => f.allMillis);
		const worst = all.some(Number.isNaN) ? NaN : Math.max(...all);
		rows.push([
			"6",
			"kill -9 of a worker → its tasks running elsewhere",
			`cluster, ${r.failover.length} kills (fresh cluster each); tasks on the killed worker: ${r.failover.map(f => f.tasksOnVictim).join(", ")}; survivor has free slots`,
			`all of the victim's tasks restarted after ${r.failover.map(f => ms(f.allMillis)).join(", ")} (worst ${ms(worst)})`,
			"≤ 5 s",
			mark(worst <= 5000)
		]);
	}
	const header = ["#", "Measurement", "Setup", "Result", "Target", "Verdict"];
	const line = (cells: string[]) => `| ${cells.map(c => c.replace(/\|/g, "\\|")).join(" | ")} |`;
	return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

async function main(): Promise<number> {
	const started = Date.now();
	const loadAtStart = os.loadavg()[0];
	const machine = machineInfo();
	if (Number(process.versions.node.split(".")[0]) < 24)
		throw new Error(`Node ${process.version}: run through \`npm run bench:scheduler\` so the project's Node 24 is used`);
	const keepLogs = process.env.BENCH_KEEP_LOGS === "1";
	const logDir = tempDir("nightshift-bench-logs", keepLogs);
	log(`child process logs in ${logDir}${keepLogs ? " (kept: BENCH_KEEP_LOGS=1)" : " (removed at the end; BENCH_KEEP_LOGS=1 keeps them)"}`);
	const results: Results = { throughput: [], idle: {}, progress: {}, failover: [] };
	let failed: unknown = null;
	try {
		const only = (process.env.BENCH_ONLY ?? "embedded,memory,cluster,bullmq").split(",");
		const embedded = only.includes("embedded") ? await embeddedPhase(results, logDir) : undefined;
		const cluster = only.includes("cluster") ? await clusterPhase(results, logDir) : undefined;
		const bull = only.includes("bullmq") ? await startBullmq(logDir) : undefined;
		const runs: ThroughputRun[] = [];
		if (embedded) runs.push(...nightshiftRuns(embedded, "Nightshift embedded", `1 × ${SLOTS_PER_WORKER * WORKERS}`));
		const client = cluster ? await clientBroker(NATS, cluster.namespace) : undefined;
		if (cluster) runs.push(...nightshiftRuns(cluster.core, "Nightshift cluster (NATS)", `${WORKERS} × ${SLOTS_PER_WORKER}`, client));
		if (bull) runs.push(...bullmqRuns(bull));
		try {
			if (embedded) {
				log("embedded: the gateway's ceiling (a trivial action over HTTP)");
				await gatewayCeiling(embedded, 2000, SUBMIT_IN_FLIGHT); // warm-up
			}
			await throughputPhase(results, runs);
			if (embedded) results.gateway = await gatewayCeiling(embedded, N, SUBMIT_IN_FLIGHT);
		} finally {
			await bull?.stop();
			await client?.stop();
			if (embedded) await stopChild(embedded.child);
		}
		if (cluster) await failoverPhase(results, cluster);
		if (only.includes("memory")) await memoryPhase(results, logDir);
	} catch (err) {
		failed = err;
		log(`FAILED: ${(err as Error)?.stack ?? err}`);
	}
	const out: string[] = [];
	out.push("## Scheduler benchmark");
	out.push("");
	out.push(`- command: \`npm run bench:scheduler\` (BENCH_N=${N})`);
	out.push(`- machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memory} RAM, ${machine.os}`);
	out.push(`- Node ${machine.node}; date ${machine.date}; wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
	out.push(`- load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${os.loadavg()[0].toFixed(2)} (other processes on the machine add noise)`);
	out.push("");
	out.push(table(results));
	if (results.failover.some(f => f.schedulerLog.length > 0)) {
		out.push("");
		out.push("How the scheduler noticed each kill (its log after the kill):");
		out.push("```");
		results.failover.forEach((f, i) => out.push(`# kill ${i + 1}: ${f.victim}`, ...f.schedulerLog));
		out.push("```");
	}
	if (results.submit) {
		const sv = results.submitServer;
		out.push("");
		out.push(
			`Submit-latency run, details: the load generator's worst send lag was ${ms(results.submit.maxSendLagMillis)} (its own event loop); ` +
				`CPU steal by the hypervisor over the run: ${ms(results.submitStealMillis ?? NaN)} (both CPUs together).`
		);
		if (sv)
			out.push(
				`Server (embedded process) over the same run: event-loop delay p50 ${ms(sv.loopDelay.p50)} · p99 ${ms(sv.loopDelay.p99)} · max ${ms(sv.loopDelay.max)}; ` +
					`${sv.gc.count} GC pauses, ${ms(sv.gc.totalMs)} in all, longest ${ms(sv.gc.maxMs)} (${sv.gc.major} major, longest ${ms(sv.gc.majorMaxMs)}).`
			);
		out.push(`Slowest submits (sent at → took): ${results.submit.slowest.map(x => `${(x.atMillis / 1000).toFixed(2)} s → ${ms(x.millis)}`).join(", ")}.`);
		const lead = results.submitLeadIn;
		if (lead)
			out.push(
				`Lead-in (${lead.sent} submits in the ${SUBMIT_LEAD_IN_SECONDS} s just before, same rate, not counted): p50 ${ms(lead.latency.p50)} · ` +
					`p99 ${ms(lead.latency.p99)} · max ${ms(lead.latency.max)}; its slowest: ${lead.slowest
						.slice(0, 5)
						.map(x => `${(x.atMillis / 1000).toFixed(2)} s → ${ms(x.millis)}`)
						.join(", ")}.`
			);
	}
	console.log(out.join("\n"));
	if (failed) console.log(`\n**The run failed before it finished:** ${(failed as Error)?.message ?? failed}`);
	return failed ? 1 : 0;
}

main()
	.then(
		code => code,
		err => {
			console.error(err);
			return 1;
		}
	)
	.then(async code => {
		await cleanupAll();
		process.exit(code);
	});
