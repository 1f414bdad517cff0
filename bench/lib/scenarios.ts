/** The individual measurements of the scheduler benchmark. Each takes running Nightshift nodes and returns numbers. */
import fs from "node:fs";
import type { ServiceBroker } from "moleculer";
import type { ThroughputResult } from "./bullmq";
import { HttpClient, SseEvent, SseReader } from "./net";
import { NodeHandle, runPool, submit } from "./nightshift";
import { killHard } from "./procs";
import { epochNow, sleep, summarize, Summary } from "./stats";

/**
 * Collects task events from `GET /api/events` and lets callers wait for conditions on them. Given `events`, the stream
 * carries only those (a client counting completions does not read the queued and started events of every task).
 */
export class EventTap {
	private readonly reader: SseReader;
	private readonly listeners = new Set<(e: SseEvent) => void>();

	constructor(baseUrl: string, events: string[] = []) {
		const filter = events.length > 0 ? `?event=${events.join(",")}` : "";
		this.reader = new SseReader(`${baseUrl}/api/events${filter}`, e => {
			for (const l of this.listeners) l(e);
		});
	}

	open(): Promise<void> {
		return this.reader.open();
	}

	on(listener: (e: SseEvent) => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	close(): void {
		this.reader.close();
	}
}

// ---- 1. submit → 202 at a steady rate ------------------------------------------------------------------------

export interface SubmitLatencyResult {
	latency: Summary;
	sent: number;
	errors: number;
	seconds: number;
	achievedRate: number;
	/** How late the load generator fired its worst request (it should stay near 0). */
	maxSendLagMillis: number;
	/** The slowest requests: when they were sent (ms into the run) and how long they took. */
	slowest: { atMillis: number; millis: number }[];
}

/**
 * Open-loop load: request i is due at start + i/rate regardless of earlier answers (no coordinated omission on the
 * sender side). Latency is from just before the request is written to the full response.
 */
export async function submitLatency(api: HttpClient, rate: number, seconds: number): Promise<SubmitLatencyResult> {
	const total = Math.round(rate * seconds);
	const interval = 1000 / rate;
	const latencies: number[] = [];
	const samples: { atMillis: number; millis: number }[] = [];
	const pending: Promise<void>[] = [];
	let errors = 0;
	let maxLag = 0;
	const start = performance.now();
	for (let i = 0; i < total; i++) {
		const due = start + i * interval;
		const wait = due - performance.now();
		if (wait > 0) await sleep(wait);
		const t0 = performance.now();
		maxLag = Math.max(maxLag, t0 - due);
		pending.push(
			api.post("/api/tasks", { type: "noop", payload: { echo: i } }).then(
				res => {
					if (res.status === 202) {
						const took = performance.now() - t0;
						latencies.push(took);
						samples.push({ atMillis: t0 - start, millis: took });
					}
					else errors++;
				},
				() => {
					errors++;
				}
			)
		);
	}
	await Promise.all(pending);
	const elapsed = (performance.now() - start) / 1000;
	const slowest = samples.sort((a, b) => b.millis - a.millis).slice(0, 10);
	return { latency: summarize(latencies), sent: total, errors, seconds: elapsed, achievedRate: total / elapsed, maxSendLagMillis: maxLag, slowest };
}

// ---- 2. end-to-end throughput --------------------------------------------------------------------------------

/** How a throughput run hands its tasks to Nightshift. */
export interface Submitter {
	/** Shown in the table's setup column. */
	path: string;
	/** Submits `n` no-op tasks whose payload is `{echo: tag}`. */
	submit(n: number, tag: string): Promise<void>;
}

/** One `POST /api/tasks` per task, `inFlight` at once (BullMQ's `add` counterpart over HTTP). */
export function httpOneByOne(node: NodeHandle, inFlight: number): Submitter {
	return {
		path: `HTTP \`POST /api/tasks\`, ${inFlight} in flight`,
		submit: (n, tag) =>
			runPool(n, inFlight, async () => {
				await submit(node.http!, "noop", { echo: tag });
			})
	};
}

/** `POST /api/tasks/batch` of `size` tasks, `inFlight` at once (BullMQ's `addBulk` counterpart). */
export function httpBatches(node: NodeHandle, size: number, inFlight: number): Submitter {
	return {
		path: `HTTP \`POST /api/tasks/batch\` × ${size}, ${inFlight} in flight`,
		submit: (n, tag) =>
			runPool(Math.ceil(n / size), inFlight, async i => {
				const tasks = Array.from({ length: Math.min(size, n - i * size) }, () => ({ type: "noop", payload: { echo: tag } }));
				const answer = await node.http!.post("/api/tasks/batch", { tasks });
				if (answer.status !== 202) throw new Error(`batch submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
			})
	};
}

/**
 * One `scheduler.submit` call per task from another system's broker on the transporter, `inFlight` at once: what a
 * service elsewhere in the cluster does, the like-for-like counterpart of BullMQ's `queue.add` from its client.
 */
export function serviceCalls(broker: ServiceBroker, inFlight: number): Submitter {
	return {
		path: `\`scheduler.submit\` calls over NATS from a client broker, ${inFlight} in flight`,
		submit: (n, tag) =>
			runPool(n, inFlight, async () => {
				await broker.call("scheduler.submit", { type: "noop", payload: { echo: tag } }, { retries: 0 });
			})
	};
}

/**
 * Submits `n` no-op tasks with `submitter` and times from the first submit until the n-th `task.completed` event of
 * this run arrives on the SSE stream.
 */
export async function nightshiftThroughput(
	node: NodeHandle,
	label: string,
	n: number,
	concurrency: string,
	submitter: Submitter
): Promise<ThroughputResult> {
	const tap = new EventTap(node.baseUrl!, ["task.completed"]);
	await tap.open();
	const tag = `run-${Math.random().toString(36).slice(2)}`;
	let completed = 0;
	let lastAt = 0;
	let resolveDone!: () => void;
	const done = new Promise<void>(r => (resolveDone = r));
	tap.on(e => {
		if (e.event !== "task.completed" || e.data?.result?.echo !== tag) return;
		completed++;
		if (completed === n) {
			lastAt = performance.now();
			resolveDone();
		}
	});
	try {
		const t0 = performance.now();
		let submitMillis = 0;
		const submitting = submitter.submit(n, tag).then(() => (submitMillis = performance.now() - t0));
		const timeout = sleep(180000).then(() => {
			throw new Error(`${label}: only ${completed}/${n} tasks completed in 180 s`);
		});
		await Promise.race([Promise.all([done, submitting]), timeout]);
		const totalMillis = lastAt - t0;
		return {
			label,
			n,
			concurrency,
			submitPath: submitter.path,
			submitMillis,
			totalMillis,
			tasksPerSec: n / (totalMillis / 1000)
		};
	} finally {
		tap.close();
	}
}

/**
 * The gateway's own ceiling: `n` requests to a trivial action (`GET /api/task-types`: no store, no scheduling),
 * `inFlight` at once, with the same client as the submits. No HTTP submit path can be faster than this.
 */
export async function gatewayCeiling(node: NodeHandle, n: number, inFlight: number): Promise<{ n: number; perSec: number }> {
	const t0 = performance.now();
	await runPool(n, inFlight, async () => {
		const answer = await node.http!.get("/api/task-types");
		if (answer.status !== 200) throw new Error(`GET /api/task-types answered ${answer.status}`);
	});
	return { n, perSec: n / ((performance.now() - t0) / 1000) };
}

// ---- 3. queued → started when idle ---------------------------------------------------------------------------

export interface StartLatencyResult {
	/** Send of the submit request → `task.started` event on the SSE stream. */
	submitToStarted: Summary;
	/** Send of the submit request → its 202 (for reference: part of the above). */
	submitAck: Summary;
}

/** One task at a time on an idle system: submit, wait for its `task.started`, pause `gapMillis`, repeat. */
export async function idleStartLatency(node: NodeHandle, samples: number, gapMillis: number): Promise<StartLatencyResult> {
	const tap = new EventTap(node.baseUrl!, ["task.started"]);
	await tap.open();
	const started = new Map<string, number>();
	const waiters = new Map<string, (t: number) => void>();
	tap.on(e => {
		if (e.event !== "task.started") return;
		const id = e.data.taskId;
		const waiter = waiters.get(id);
		if (waiter) waiter(e.receivedAt);
		else started.set(id, e.receivedAt);
	});
	const toStarted: number[] = [];
	const acks: number[] = [];
	try {
		for (let i = 0; i < samples; i++) {
			const t0 = epochNow();
			const { id } = await submit(node.http!, "noop", { echo: i });
			acks.push(epochNow() - t0);
			const at =
				started.get(id) ??
				(await Promise.race([
					new Promise<number>(resolve => waiters.set(id, resolve)),
					sleep(10000).then(() => {
						throw new Error(`task ${id} did not start within 10 s`);
					})
				]));
			waiters.delete(id);
			started.delete(id);
			toStarted.push(at - t0);
			await sleep(gapMillis);
		}
	} finally {
		tap.close();
	}
	return { submitToStarted: summarize(toStarted), submitAck: summarize(acks) };
}

// ---- 4. progress worker → SSE client ---------------------------------------------------------------------------

/**
 * Runs `tasks` `progress-probe` tasks at once; each progress event carries its emit time (worker clock, same
 * machine), compared with the time the SSE chunk arrived here.
 */
export async function progressLatency(
	node: NodeHandle,
	tasks: number,
	steps: number,
	intervalMillis: number
): Promise<Summary & { expected: number }> {
	const tap = new EventTap(node.baseUrl!, ["task.progress", "task.completed", "task.failed"]);
	await tap.open();
	const latencies: number[] = [];
	const ids = new Set<string>();
	const completedIds = new Set<string>();
	let resolveDone!: () => void;
	const done = new Promise<void>(r => (resolveDone = r));
	const check = () => {
		if (ids.size === tasks && [...ids].every(id => completedIds.has(id))) resolveDone();
	};
	tap.on(e => {
		if (e.event === "task.progress") {
			const m = /^emit=(\d+(?:\.\d+)?)$/.exec(e.data?.currentOperation ?? "");
			if (m) latencies.push(e.receivedAt - Number(m[1]));
		} else if (e.event === "task.completed" || e.event === "task.failed") {
			completedIds.add(e.data.taskId);
			check();
		}
	});
	try {
		for (let i = 0; i < tasks; i++) ids.add((await submit(node.http!, "progress-probe", { steps, intervalMillis })).id);
		check();
		await Promise.race([
			done,
			sleep(steps * intervalMillis + 30000).then(() => {
				throw new Error("progress-probe tasks did not complete in time");
			})
		]);
	} finally {
		tap.close();
	}
	return { ...summarize(latencies), expected: tasks * steps };
}

// ---- 5. scheduler memory with queued tasks -------------------------------------------------------------------

/** What `loop-stop` of the probe answers: the server's event-loop delay and GC pauses over a measurement. */
export interface LoopStats {
	loopDelay: { p50: number; p99: number; max: number };
	gc: { count: number; totalMs: number; maxMs: number; major: number; majorMaxMs: number };
}

export interface MemorySample {
	rss: number;
	heapUsed: number;
	heapTotal: number;
	external: number;
	arrayBuffers: number;
	gc: boolean;
}

export interface MemoryResult {
	empty: MemorySample;
	loaded: MemorySample;
	queued: number;
	submitMillis: number;
}

/** Memory after GC of a scheduler process right after it started and loaded its store (no request served yet). */
export async function memoryAfterStart(node: NodeHandle): Promise<MemorySample> {
	await sleep(300);
	return node.child.ask<MemorySample>({ cmd: "mem" });
}

/** A scheduler without workers: memory after GC when empty, then with `count` queued tasks. */
export async function schedulerMemory(node: NodeHandle, count: number, inFlight: number): Promise<MemoryResult> {
	const api = node.http!;
	// Warm the request path (JIT, buffers, validator caches) without leaving tasks behind.
	await runPool(300, 16, async i => {
		await api.get(`/api/tasks?limit=1&offset=${i % 3}`);
		await api.post("/api/tasks", { type: "no-such-type" });
	});
	await sleep(200);
	const empty = await node.child.ask<MemorySample>({ cmd: "mem" });
	const t0 = performance.now();
	await runPool(count, inFlight, async i => {
		await submit(api, "noop", { echo: i });
	});
	const submitMillis = performance.now() - t0;
	const health = await api.get("/health/background-tasks");
	const queued = health.body?.queue_health?.queued ?? NaN;
	await sleep(200);
	const loaded = await node.child.ask<MemorySample>({ cmd: "mem" });
	return { empty, loaded, queued, submitMillis };
}

// ---- 6. failover after kill -9 ---------------------------------------------------------------------------------

export interface FailoverResult {
	victim: string;
	survivor: string;
	tasksOnVictim: number;
	/** kill → first / last of the victim's tasks `task.started` again on the survivor. */
	firstMillis: number;
	allMillis: number;
	/** What the scheduler logged after the kill (how it noticed). */
	schedulerLog: string[];
}

/**
 * Cluster with two workers of `perWorker` slots: submits `perWorker` long tasks (so the survivor always has room for
 * the victim's share), waits until all run, `kill -9`s the worker holding the most, and times until each of its
 * tasks has started again on the other worker.
 */
export async function failover(
	core: NodeHandle,
	workers: NodeHandle[],
	perWorker: number,
	taskMillis: number
): Promise<FailoverResult> {
	const tap = new EventTap(core.baseUrl!, ["task.started"]);
	await tap.open();
	const startedOn = new Map<string, string>();
	const restarts = new Map<string, number>();
	let killedAt = Infinity;
	let victimId = "";
	tap.on(e => {
		if (e.event !== "task.started") return;
		const { taskId, nodeId } = e.data;
		if (e.receivedAt > killedAt && victimId && nodeId !== victimId && !restarts.has(taskId))
			restarts.set(taskId, e.receivedAt - killedAt);
		else if (!startedOn.has(taskId)) startedOn.set(taskId, nodeId);
	});
	try {
		const ids: string[] = [];
		for (let i = 0; i < perWorker; i++)
			ids.push((await submit(core.http!, "noop", { delayMillis: taskMillis }, { timeoutMs: taskMillis * 2 })).id);
		const deadline = Date.now() + 15000;
		while (!ids.every(id => startedOn.has(id))) {
			if (Date.now() > deadline) throw new Error("failover: the long tasks did not all start");
			await sleep(20);
		}
		const counts = new Map<string, number>();
		for (const id of ids) counts.set(startedOn.get(id)!, (counts.get(startedOn.get(id)!) ?? 0) + 1);
		const victim = workers.reduce((a, b) => ((counts.get(a.nodeId) ?? 0) >= (counts.get(b.nodeId) ?? 0) ? a : b));
		const survivor = workers.find(w => w !== victim)!;
		const victimTasks = ids.filter(id => startedOn.get(id) === victim.nodeId);
		const logOffset = fs.statSync(core.child.logFile).size;
		// Let at least one heartbeat and lease renewal pass since the tasks started, as in a real crash.
		await sleep(1500);
		victimId = victim.nodeId;
		killedAt = epochNow();
		killHard(victim.child);
		const until = Date.now() + 40000;
		while (!victimTasks.every(id => restarts.has(id))) {
			if (Date.now() > until) break;
			await sleep(10);
		}
		const times = victimTasks.map(id => restarts.get(id) ?? NaN);
		const schedulerLog = fs
			.readFileSync(core.child.logFile)
			.subarray(logOffset)
			.toString("utf8")
			.split("\n")
			.filter(l => /left|expired|Heartbeat|disconnected/i.test(l));
		return {
			victim: victim.nodeId,
			survivor: survivor.nodeId,
			tasksOnVictim: victimTasks.length,
			firstMillis: Math.min(...times),
			allMillis: times.some(Number.isNaN) ? NaN : Math.max(...times),
			schedulerLog
		};
	} finally {
		tap.close();
	}
}
