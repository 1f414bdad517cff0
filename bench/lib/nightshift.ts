/** Starting Nightshift processes for the benchmarks (`src/main.ts` as child processes) and talking to them. */
import fs from "node:fs";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { HttpClient, freePort, waitHttpOk } from "./net";
import { Child, ROOT, spawnNode, tempDir } from "./procs";
import { sleep } from "./stats";

export const FIXTURE_TASK_DIR = path.join(ROOT, "bench/fixtures/tasks");
const PROBE = path.join(ROOT, "bench/lib/probe.ts");

/** The node flags `npm start` runs with (its `NODE_OPTIONS` in package.json): the benchmarks measure what ships. */
export const SHIPPED_NODE_FLAGS: string[] = (() => {
	const start: string = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start;
	const options = /NODE_OPTIONS='([^']*)'/.exec(start);
	return options ? options[1].split(" ").filter(Boolean) : [];
})();

export interface NodeHandle {
	child: Child;
	nodeId: string;
	/** Set for nodes that run the `api` service. */
	http?: HttpClient;
	baseUrl?: string;
}

export interface NodeOptions {
	name: string;
	services: string[];
	logDir: string;
	/** NeDB directory; a fresh temp dir when omitted. Ignored by nodes without the scheduler. */
	dataDir?: string;
	transporter?: string;
	namespace?: string;
	workerConcurrency?: number;
	nodeFlags?: string[];
	/** Run with Node's own defaults instead of `SHIPPED_NODE_FLAGS`. */
	nodeDefaults?: boolean;
	env?: Record<string, string>;
	/** Run the `src/main.ts` of another checkout (with its own or a linked node_modules). */
	tree?: string;
}

/** Starts one `src/main.ts` process and, if it runs the gateway, waits until `/health` answers. */
export async function startNode(opts: NodeOptions): Promise<NodeHandle> {
	const nodeId = `${opts.name}-${process.pid}`;
	const port = opts.services.includes("api") ? await freePort() : 0;
	const env: Record<string, string> = {
		NODE_ID: nodeId,
		SERVICES: opts.services.join(","),
		DATA_DIR: opts.dataDir ?? tempDir(`nightshift-bench-${opts.name}`),
		PORT: String(port),
		HOST: "127.0.0.1",
		LOG_LEVEL: "warn",
		TASK_DIRS: FIXTURE_TASK_DIR,
		TRANSPORTER: opts.transporter ?? "",
		NAMESPACE: opts.namespace ?? "nightshift-bench",
		WORKER_CONCURRENCY: String(opts.workerConcurrency ?? 8),
		SHUTDOWN_GRACE_MILLIS: "0",
		...opts.env
	};
	const child = spawnNode({
		name: opts.name,
		script: "src/main.ts",
		env,
		// BENCH_CHILD_FLAGS: extra node flags for every Nightshift child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
		nodeFlags: [
			...(opts.nodeDefaults ? [] : SHIPPED_NODE_FLAGS),
			...(opts.nodeFlags ?? []),
			...(process.env.BENCH_CHILD_FLAGS ?? "").split(" ").filter(Boolean)
		],
		preload: [PROBE],
		logDir: opts.logDir,
		cwd: opts.tree
	});
	const handle: NodeHandle = { child, nodeId };
	if (port) {
		handle.baseUrl = `http://127.0.0.1:${port}`;
		try {
			await waitHttpOk(`${handle.baseUrl}/health`, 30000, () => !child.exited);
		} catch (err) {
			throw new Error(`${opts.name} did not start: ${(err as Error).message}\n${child.tail()}`);
		}
		handle.http = new HttpClient(handle.baseUrl);
		// `/health` waits for the node's services since 2026-12-01; a `tree` from before answered as soon as the
		// gateway listened, before its scheduler had loaded the store.
		if (opts.services.includes("scheduler")) await waitSchedulerReady(handle.http, child);
	}
	return handle;
}

async function waitSchedulerReady(api: HttpClient, child: Child, timeoutMillis = 30000): Promise<void> {
	const deadline = Date.now() + timeoutMillis;
	for (;;) {
		const { body } = await api.get("/health/background-tasks");
		if (body?.status === "ok" && body.queue_health) return;
		if (child.exited || Date.now() > deadline) throw new Error(`scheduler of ${child.name} not ready\n${child.tail()}`);
		await sleep(50);
	}
}

/** Waits until the scheduler behind `api` lists `count` workers with free slots, i.e. they have leased once. */
export async function waitForWorkers(api: HttpClient, nodeIds: string[], timeoutMillis = 30000): Promise<void> {
	const deadline = Date.now() + timeoutMillis;
	for (;;) {
		const { status, body } = await api.get<any[]>("/api/workers");
		if (status === 200 && Array.isArray(body)) {
			const seen = new Set(body.map(w => w.nodeId));
			if (nodeIds.every(id => seen.has(id))) return;
		}
		if (Date.now() > deadline) throw new Error(`workers ${nodeIds.join(", ")} did not register within ${timeoutMillis} ms`);
		await sleep(100);
	}
}

/**
 * Waits until every browser-pool node behind `api` has launched Chromium and prepared its contexts (`WARM_CONTEXTS`,
 * default 2): a node does that just after it starts, and on two cores the launch stalls everything else for a moment
 * (a measurement started then timed Chromium's start-up, not the scheduler).
 */
export async function waitForWarmPools(api: HttpClient, warmContexts = 2, timeoutMillis = 60000): Promise<void> {
	const deadline = Date.now() + timeoutMillis;
	for (;;) {
		const { status, body } = await api.get<any>("/api/pool");
		const nodes: any[] = status === 200 && Array.isArray(body?.nodes) ? body.nodes : [];
		if (nodes.length > 0 && nodes.every(n => !n.error && n.warmContexts >= warmContexts)) return;
		if (Date.now() > deadline) throw new Error(`browser pools not warm within ${timeoutMillis} ms: ${JSON.stringify(body)}`);
		await sleep(100);
	}
}

/** Waits until the scheduler's `/api/task-types` lists `type` (its registry loaded the fixtures). */
export async function assertTaskType(api: HttpClient, type: string): Promise<void> {
	const { body } = await api.get<any[]>("/api/task-types");
	if (!Array.isArray(body) || !body.some(t => t.name === type))
		throw new Error(`task type ${type} is not installed (TASK_DIRS=${FIXTURE_TASK_DIR})`);
}

export async function submit(api: HttpClient, type: string, payload: unknown, extra: Record<string, unknown> = {}) {
	const answer = await api.post<{ id: string; status: string }>("/api/tasks", { type, payload, ...extra });
	if (answer.status !== 202) throw new Error(`submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
	return answer.body;
}

/** Runs `total` jobs with at most `inFlight` at once; `job(i)` gets the index. */
export async function runPool(total: number, inFlight: number, job: (i: number) => Promise<void>): Promise<void> {
	let next = 0;
	const lane = async () => {
		while (next < total) await job(next++);
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
}

/** Another system's broker on a cluster's transporter, with no services: it only calls the scheduler. */
export async function clientBroker(transporter: string, namespace: string): Promise<ServiceBroker> {
	const broker = new ServiceBroker({ namespace, nodeID: `bench-client-${namespace}`, transporter: { type: "NATS", options: { servers: [transporter] } }, logger: false });
	await broker.start();
	await broker.waitForServices("scheduler", 30_000);
	return broker;
}
