/**
 * Nightshift as a peer of `npm run bench:pool`: one embedded node (api + scheduler + browser-pool, NeDB files) as a
 * child process; every URL a `page.parse` task submitted in one batch, end to end through the scheduler, leases,
 * the warm pool, the guard proxy, the result store. Duration: from the batch submit to the last task's `finishedAt`.
 */
import { HttpClient } from "../lib/net";
import { startNode } from "../lib/nightshift";
import { stopChild, tempDir } from "../lib/procs";
import { EventTap } from "../lib/scenarios";
import { sampleTreeRss } from "./process-tree-rss";
import { pagesPerSec, type PeerOptions, type PeerResult } from "./peer";

export interface NightshiftResult extends PeerResult {
	/** The pool's acquire times over the run (warm = a prepared context was waiting). */
	acquire: { count: number; warmHits: number; p50Millis: number | null; p99Millis: number | null };
	/** Peak of the browsers' private footprint (RssAnon + VmSwap) summed over their process trees, and per context. */
	browserMemoryMb: number;
	memoryPerContextMb: number | null;
	/** Mean of the sessions' measured renderer memory (V8 + DOM + ArrayBuffers), MB. */
	sessionMemoryMb: number | null;
	/** The node process was alive at the end. */
	nodeAlive: boolean;
}

const BATCH = 200;

/**
 * `sharedContext`: every task names that group (the tasks share contexts as they left them, nothing cleared: the same
 * work as plain Playwright's reused pages). Unset: each task gets a context of its own, cleared after it (the default).
 */
export async function runNightshift(
	{ urls, concurrency, screenshot, onTimed }: PeerOptions,
	logDir: string,
	sharedContext?: string
): Promise<NightshiftResult> {
	const started = performance.now();
	const rss = sampleTreeRss();
	const node = await startNode({
		name: `pool-c${concurrency}`,
		services: ["api", "scheduler", "browser-pool"],
		logDir,
		dataDir: tempDir("nightshift-bench-pool"),
		workerConcurrency: concurrency,
		env: { ALLOW_PRIVATE_NETWORKS: "true", TASK_DIRS: "" }
	});
	const api = node.http!;
	const options = { screenshot: screenshot ? "viewport" : "none", forceRefresh: true, sharedContext };
	try {
		// Warm-up outside the timed window, like the peers' up-front pages: one parse per slot.
		await runBatch(api, node.baseUrl!, urls.slice(0, concurrency), options);

		const poolSamples: any[] = [];
		const sampler = setInterval(() => {
			api.get("/api/pool").then(r => r.status === 200 && poolSamples.push(r.body), () => undefined);
		}, 2000);
		const submitAt = Date.now();
		const timedEnd = onTimed?.();
		const tasks = await runBatch(api, node.baseUrl!, urls, options);
		timedEnd?.();
		clearInterval(sampler);

		const done = tasks.filter(t => t.status === "completed");
		const end = Math.max(...tasks.map(t => Date.parse(t.finishedAt)));
		const durationMillis = end - submitAt;
		const pool = (await api.get("/api/pool")).body;
		const nodeStatus = pool.nodes[0];
		let browserMemoryMb = 0;
		let perContext: number | null = null;
		const sessionMemory: number[] = [];
		for (const sample of poolSamples) {
			const n = sample.nodes[0];
			if (!n || n.error) continue;
			const memory = n.browsers.reduce((m: number, b: any) => m + (b.memoryMb ?? 0), 0);
			const contexts = n.browsers.reduce((c: number, b: any) => c + b.contexts, 0);
			if (memory > browserMemoryMb) {
				browserMemoryMb = memory;
				perContext = contexts > 0 ? Math.round(memory / contexts) : null;
			}
			for (const s of n.sessions) if (s.memoryMb !== null) sessionMemory.push(s.memoryMb);
		}
		return {
			pagesPerSec: pagesPerSec(done.length, durationMillis),
			durationMillis,
			pages: done.length,
			errors: tasks.length - done.length,
			errorSamples: tasks.filter(t => t.status !== "completed").slice(0, 5).map(t => `${t.status}: ${t.error?.type} ${t.error?.message}`),
			rssPeakMb: rss.stop(),
			totalMillis: Math.round(performance.now() - started),
			acquire: nodeStatus.acquire,
			browserMemoryMb,
			memoryPerContextMb: perContext,
			sessionMemoryMb: sessionMemory.length ? Math.round((sessionMemory.reduce((a, b) => a + b, 0) / sessionMemory.length) * 10) / 10 : null,
			nodeAlive: !node.child.exited
		};
	} finally {
		rss.stop();
		await stopChild(node.child, 10_000);
	}
}

/**
 * Submits every URL as a `page.parse` task (batches of 200) and waits for each one's terminal event on `GET
 * /api/events`, as a client of the runtime would (polling the task list would add the harness's own queries to the
 * measured node's work); answers the tasks.
 */
async function runBatch(api: HttpClient, baseUrl: string, urls: string[], options: object): Promise<any[]> {
	const tap = new EventTap(baseUrl, ["task.completed", "task.failed", "task.cancelled"]);
	await tap.open();
	const ended = new Set<string>();
	let allEnded!: () => void;
	const done = new Promise<void>(resolve => (allEnded = resolve));
	const ids: string[] = [];
	let submitted = false;
	const check = () => submitted && ids.every(id => ended.has(id)) && allEnded();
	tap.on(e => {
		const terminal = e.event === "task.completed" || e.event === "task.cancelled" || (e.event === "task.failed" && !e.data.willRetry);
		if (!terminal) return;
		ended.add(e.data.taskId);
		check();
	});
	try {
		for (let i = 0; i < urls.length; i += BATCH) {
			const tasks = urls.slice(i, i + BATCH).map(url => ({ type: "page.parse", payload: { url, options } }));
			const answer = await api.post<{ id: string }[]>("/api/tasks/batch", { tasks });
			if (answer.status !== 202) throw new Error(`batch submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
			ids.push(...answer.body.map(a => a.id));
		}
		submitted = true;
		check();
		await done;
	} finally {
		tap.close();
	}
	return Promise.all(ids.map(async id => (await api.get(`/api/tasks/${id}`)).body));
}
