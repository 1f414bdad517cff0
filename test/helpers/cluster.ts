/**
 * A real Nightshift cluster for tests: separate OS processes (`tsx src/main.ts`) on the local NATS server, in a
 * namespace of their own, each with its stdout/stderr kept for the failure report.
 *
 * `tsx` runs the program in a child process of its own and relays SIGTERM/SIGINT to it; a SIGKILL cannot be relayed,
 * so `kill9()` kills the process that really runs the broker (its pid comes from the worker's heartbeat and is checked
 * to be a child of the process we spawned). Every process is started in a process group of its own, and `destroy()`
 * kills those groups — only processes this helper started.
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CONFIG_SCHEMA } from "../../src/config";
import type { AttemptRecord, TaskView } from "../../src/scheduler/task-doc";
import type { WorkerView } from "../../src/scheduler/worker-registry";

export const ROOT = path.resolve(__dirname, "../..");
export const FIXTURE_TASKS = path.join(ROOT, "test/fixtures/tasks");
export const NATS_URL = process.env.NIGHTSHIFT_TEST_NATS ?? "nats://127.0.0.1:4222";
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
/** The project's own Node (npm `node` package) comes first on the children's PATH, whatever runs jest. */
const BIN = path.join(ROOT, "node_modules/.bin");
/** Most output kept per process. */
const MAX_OUTPUT_CHARS = 2_000_000;

import { freePort } from "../../bench/lib/net";
import { waitFor } from "./wait";

export { waitFor };


export interface Exit {
	code: number | null;
	signal: NodeJS.Signals | null;
	at: number;
}

/** One spawned `tsx src/main.ts` process. */
export class NodeProcess {
	readonly output: string[] = [];
	private outputChars = 0;
	exit: Exit | null = null;
	readonly exited: Promise<Exit>;

	constructor(
		readonly nodeId: string,
		readonly services: string,
		readonly child: ChildProcess
	) {
		const keep = (stream: string) => (chunk: Buffer) => {
			if (this.outputChars > MAX_OUTPUT_CHARS) return;
			const text = chunk.toString();
			this.outputChars += text.length;
			this.output.push(text.replace(/^(?=.)/gm, `[${nodeId} ${stream}] `));
		};
		child.stdout!.on("data", keep("out"));
		child.stderr!.on("data", keep("err"));
		this.exited = new Promise(resolve => {
			child.on("exit", (code, signal) => {
				this.exit = { code, signal, at: Date.now() };
				resolve(this.exit);
			});
		});
	}

	/** Whether the process has printed a line matching `pattern` so far. */
	printed(pattern: RegExp): boolean {
		return pattern.test(this.output.join(""));
	}

	/** Pid of the spawned `tsx` wrapper (leader of the process group). */
	get pid(): number {
		return this.child.pid!;
	}

	get running(): boolean {
		return this.exit === null;
	}

	/** Sends `signal` to the whole process group (the wrapper and the node process running the broker). */
	killGroup(signal: NodeJS.Signals = "SIGKILL"): void {
		if (!this.running) return;
		try {
			process.kill(-this.pid, signal);
		} catch {
			/* already gone */
		}
	}

	/** Whether `pid` is a process this one spawned (the broker process under the tsx wrapper), or this one itself. */
	owns(pid: number): boolean {
		if (pid === this.pid) return true;
		try {
			const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
			// Fields after the command name: state, ppid, pgrp.
			const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			return Number(ppid) === this.pid || Number(pgrp) === this.pid;
		} catch {
			return false;
		}
	}

	/** The recorded output, for a failure report. */
	dump(): string {
		const status = this.exit ? `exited code=${this.exit.code} signal=${this.exit.signal}` : "running";
		return `---- ${this.nodeId} (SERVICES=${this.services}, pid ${this.pid}, ${status}) ----\n${this.output.join("") || "(no output)\n"}`;
	}
}

export interface ApiError extends Error {
	status: number;
	body: unknown;
}

/** A cluster of processes in one namespace, with one temp dir; talk to its gateway with `api`. */
export class Cluster {
	readonly namespace: string;
	readonly dir: string;
	readonly processes: NodeProcess[] = [];
	core: NodeProcess | null = null;
	baseUrl = "";

	constructor(label: string) {
		this.namespace = `nstest-${label}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-cluster-"));
		LIVE.add(this);
	}

	/**
	 * Spawns `tsx src/main.ts` with the cluster's namespace and the given services. Every config variable not given
	 * here is set empty (its default), so the environment jest runs in cannot leak in (MONGO_URI, API_KEYS, …).
	 */
	spawn(nodeId: string, services: string, env: Record<string, string | number> = {}): NodeProcess {
		const dataDir = path.join(this.dir, `data-${nodeId}`);
		fs.mkdirSync(dataDir, { recursive: true });
		const childEnv: NodeJS.ProcessEnv = { ...process.env };
		for (const opt of Object.values(CONFIG_SCHEMA)) childEnv[opt.env] = "";
		delete childEnv.NODE_OPTIONS;
		Object.assign(childEnv, {
			PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
			TRANSPORTER: NATS_URL,
			NAMESPACE: this.namespace,
			SERVICES: services,
			NODE_ID: nodeId,
			DATA_DIR: dataDir,
			ALLOW_PRIVATE_NETWORKS: "true",
			LOG_LEVEL: "warn",
			TASK_DIRS: FIXTURE_TASKS,
			// Every node seals and opens profile state with the same key.
			NIGHTSHIFT_SECRET: "nightshift-cluster-test-secret",
			WARM_CONTEXTS: "0",
			...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]))
		});
		const child = spawn(TSX, ["src/main.ts"], {
			cwd: ROOT,
			env: childEnv,
			detached: true, // a process group of its own, so the wrapper and the broker process die together
			stdio: ["ignore", "pipe", "pipe"]
		});
		const proc = new NodeProcess(nodeId, services, child);
		this.processes.push(proc);
		return proc;
	}

	/**
	 * Starts the core (api + scheduler, the store) on a free port and waits until its `/health` is `ok`: every service
	 * of the node has started (the gateway listens earlier, answering 503 `starting`). With `until: "scheduler"`, only
	 * until the scheduler answers through the gateway, for a node whose start is held up on purpose.
	 */
	async startCore(
		env: Record<string, string | number> = {},
		services = "api,scheduler",
		{ until = "health" }: { until?: "health" | "scheduler" } = {}
	): Promise<NodeProcess> {
		const port = await freePort();
		this.core = this.spawn("core", services, { PORT: port, ...env });
		this.baseUrl = `http://127.0.0.1:${port}`;
		const core = this.core;
		await waitFor(
			async () => {
				if (!core.running) throw new Error(`core exited (${JSON.stringify(core.exit)})`);
				const res = await fetch(`${this.baseUrl}${until === "health" ? "/health" : "/api/workers"}`);
				return res.ok;
			},
			{ timeoutMillis: 30_000, intervalMillis: 100, what: "the core's gateway and scheduler" }
		);
		return core;
	}

	/** Starts a worker (browser-pool) process; use `waitForWorkers` to know when the scheduler sees it. */
	startWorker(nodeId: string, env: Record<string, string | number> = {}): NodeProcess {
		return this.spawn(nodeId, "browser-pool", env);
	}

	/** Waits until the scheduler lists every named worker with its heartbeat (pid) in; returns them by node id. */
	async waitForWorkers(nodeIds: string[], timeoutMillis = 30_000): Promise<Map<string, WorkerView>> {
		return waitFor(
			async () => {
				for (const p of this.processes)
					if (nodeIds.includes(p.nodeId) && !p.running) throw new Error(`${p.nodeId} exited (${JSON.stringify(p.exit)})`);
				const workers = await this.workers();
				const byId = new Map(workers.map(w => [w.nodeId, w]));
				return nodeIds.every(id => byId.get(id)?.pid) ? byId : null;
			},
			{ timeoutMillis, intervalMillis: 100, what: `workers ${nodeIds.join(", ")} to be listed` }
		);
	}

	/**
	 * Waits until the core's broker has registered each named node (its "Node '<id>' connected" line; the core must
	 * run with LOG_LEVEL=info). /api/workers lists a worker from its first call, which can come before that.
	 */
	async waitForCoreToKnow(nodeIds: string[], timeoutMillis = 15_000): Promise<void> {
		const core = this.core;
		if (!core) throw new Error("no core");
		await waitFor(() => nodeIds.every(id => core.printed(new RegExp(`Node '${id}' connected`))), {
			timeoutMillis,
			intervalMillis: 20,
			what: `the core's broker to register ${nodeIds.join(", ")} (needs LOG_LEVEL=info on the core)`
		});
	}

	workers(): Promise<WorkerView[]> {
		return this.api("GET", "/api/workers");
	}

	process(nodeId: string): NodeProcess {
		const p = this.processes.find(p => p.nodeId === nodeId);
		if (!p) throw new Error(`no process ${nodeId}`);
		return p;
	}

	/**
	 * SIGKILLs the broker process of `nodeId` (the pid its heartbeat reports, which must be one this cluster spawned)
	 * and resolves when its wrapper has exited. Returns the time just before the signal was sent.
	 */
	async kill9(nodeId: string, brokerPid: number): Promise<{ killAt: number; exit: Exit }> {
		const proc = this.process(nodeId);
		if (!proc.owns(brokerPid)) throw new Error(`pid ${brokerPid} is not ${nodeId}'s process (wrapper ${proc.pid})`);
		const killAt = Date.now();
		process.kill(brokerPid, "SIGKILL");
		const exit = await proc.exited;
		return { killAt, exit };
	}

	/** Calls the core's gateway (or the one at `baseUrl`); throws an `ApiError` on a non-2xx answer. */
	async api<T = any>(method: string, urlPath: string, body?: unknown, baseUrl = this.baseUrl): Promise<T> {
		const res = await fetch(`${baseUrl}${urlPath}`, {
			method,
			headers: body === undefined ? {} : { "content-type": "application/json" },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			/* not JSON */
		}
		if (!res.ok) {
			const err = new Error(`${method} ${urlPath} → ${res.status}: ${text.slice(0, 500)}`) as ApiError;
			err.status = res.status;
			err.body = parsed;
			throw err;
		}
		return parsed as T;
	}

	submit(type: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<{ id: string; status: string }> {
		return this.api("POST", "/api/tasks", { type, payload, ...extra });
	}

	task(id: string): Promise<TaskView> {
		return this.api("GET", `/api/tasks/${encodeURIComponent(id)}`);
	}

	/** Number of tasks in a status (from `total`). */
	async count(status: string): Promise<number> {
		return (await this.api<{ total: number }>("GET", `/api/tasks?status=${status}&limit=1`)).total;
	}

	/** Every process's output, for a failure report. */
	dump(): string {
		return this.processes.map(p => p.dump()).join("\n");
	}

	/** Kills every process of this cluster (SIGKILL to each group), waits for them, and removes the temp dir. */
	async destroy(): Promise<void> {
		for (const p of this.processes) p.killGroup("SIGKILL");
		await Promise.all(
			this.processes.map(p =>
				Promise.race([p.exited, new Promise(r => setTimeout(r, 5000).unref())])
			)
		);
		fs.rmSync(this.dir, { recursive: true, force: true });
		LIVE.delete(this);
	}
}

/** Clusters not yet destroyed: killed when the test process exits, whatever the reason. */
const LIVE = new Set<Cluster>();
process.on("exit", () => {
	for (const c of LIVE) for (const p of c.processes) p.killGroup("SIGKILL");
});

/**
 * For `afterEach`/`afterAll`: destroys every cluster still alive. One still alive after its test means the test did
 * not get to its own cleanup (jest timed it out), so its output is printed first.
 */
export async function destroyAllClusters(): Promise<void> {
	for (const c of [...LIVE]) {
		console.error(`cluster (namespace ${c.namespace}) outlived its test (timeout?); process output:\n${c.dump()}`);
		await c.destroy();
	}
}

/**
 * Runs `body` with a fresh cluster; on failure prints every process's output (and `extra()`), and always destroys
 * the cluster.
 */
export async function withCluster(
	label: string,
	body: (cluster: Cluster) => Promise<void>,
	extra?: () => string
): Promise<void> {
	const cluster = new Cluster(label);
	try {
		await body(cluster);
	} catch (err) {
		let more = "";
		try {
			more = extra ? `\n${extra()}` : "";
		} catch {
			/* best effort */
		}
		console.error(`cluster "${label}" (namespace ${cluster.namespace}) failed; process output:\n${cluster.dump()}${more}`);
		throw err;
	} finally {
		await cluster.destroy();
	}
}

// ---- shapes of the gateway's answers ------------------------------------------------------------------------------

export type { WorkerView, AttemptRecord, TaskView };
