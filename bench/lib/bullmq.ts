/** The BullMQ side of the throughput comparison: two worker processes on the local Redis, no-op jobs. */
import { Queue } from "bullmq";
import { runPool } from "./nightshift";
import { lowerCpuPriority } from "../../src/cpu-priority";
import { Child, spawnNode, stopChild } from "./procs";
import { sleep } from "./stats";

const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null };

export interface ThroughputResult {
	label: string;
	n: number;
	concurrency: string;
	submitPath: string;
	/** First submit → all submits acknowledged. */
	submitMillis: number;
	/** First submit → last completion seen. */
	totalMillis: number;
	tasksPerSec: number;
	/** Every round's rate when the run was repeated (this result is the median round's). */
	rounds?: number[];
}

const WORKER_NICE = Number(process.env.BENCH_BULLMQ_NICE ?? 0);

export class BullmqBench {
	readonly queueName = `nightshift-bench-${process.pid}-${Date.now().toString(36)}`;
	private queue = new Queue(this.queueName, { connection });
	private workers: Child[] = [];

	constructor(
		private readonly logDir: string,
		private readonly workerProcesses: number,
		private readonly concurrencyPerWorker: number
	) {}

	async start(): Promise<void> {
		await this.queue.waitUntilReady();
		for (let i = 0; i < this.workerProcesses; i++) {
			const child = spawnNode({
				name: `bullmq-worker-${i + 1}`,
				script: "bench/lib/bullmq-worker.ts",
				env: { BULLMQ_QUEUE: this.queueName, BULLMQ_CONCURRENCY: String(this.concurrencyPerWorker) },
				logDir: this.logDir
			});
			this.workers.push(child);
		}
		await Promise.all(
			this.workers.map(
				w =>
					new Promise<void>((resolve, reject) => {
						const timer = setTimeout(() => reject(new Error(`${w.name} not ready\n${w.tail()}`)), 30000);
						w.proc.on("message", (m: any) => {
							if (m?.ready) {
								clearTimeout(timer);
								resolve();
							}
						});
						w.proc.on("exit", () => reject(new Error(`${w.name} exited\n${w.tail()}`)));
					})
			)
		);
		// BENCH_BULLMQ_NICE: the workers at the CPU priority Nightshift's browser-pool nodes take (WORKER_NICE), for a
		// peer tuned the same way; Redis stays as the system runs it.
		if (WORKER_NICE > 0) for (const w of this.workers) lowerCpuPriority(WORKER_NICE, w.pid);
	}

	/** Warms up the workers and the connection with `n` jobs. */
	async warmup(n: number): Promise<void> {
		await this.run("warmup", n, "bulk");
	}

	/**
	 * Adds `n` no-op jobs (`bulk`: `addBulk` in chunks of 1000; `single`: one `add` per job, `inFlight` at once) and
	 * times until the queue's completed count has grown by `n`.
	 */
	async run(label: string, n: number, mode: "bulk" | "single", inFlight = 64): Promise<ThroughputResult> {
		const before = await this.queue.getCompletedCount();
		const target = before + n;
		const t0 = performance.now();
		let submitMillis = 0;
		const submitting = (async () => {
			if (mode === "bulk") {
				for (let i = 0; i < n; i += 1000) {
					const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
						name: "noop",
						data: { echo: i + j }
					}));
					await this.queue.addBulk(chunk);
				}
			} else {
				await runPool(n, inFlight, async i => {
					await this.queue.add("noop", { echo: i });
				});
			}
			submitMillis = performance.now() - t0;
		})();
		let done = 0;
		const deadline = Date.now() + 120000;
		while ((done = await this.queue.getCompletedCount()) < target) {
			if (Date.now() > deadline) throw new Error(`BullMQ: only ${done - before}/${n} jobs completed in 120 s`);
			await sleep(5);
		}
		const totalMillis = performance.now() - t0;
		await submitting;
		return {
			label: WORKER_NICE > 0 ? `${label}, workers at nice ${WORKER_NICE}` : label,
			n,
			concurrency: `${this.workerProcesses} × ${this.concurrencyPerWorker}`,
			submitPath: mode === "bulk" ? "`queue.addBulk` (chunks of 1000)" : `\`queue.add\`, ${inFlight} in flight`,
			submitMillis,
			totalMillis,
			tasksPerSec: n / (totalMillis / 1000)
		};
	}

	async stop(): Promise<void> {
		await Promise.all(this.workers.map(w => stopChild(w)));
		try {
			await this.queue.obliterate({ force: true });
		} catch {
			/* best effort */
		}
		await this.queue.close();
	}
}
