/**
 * A BullMQ worker process for the comparison: runs no-op jobs of queue `BULLMQ_QUEUE` with `BULLMQ_CONCURRENCY`
 * slots. Says `{ ready: true }` over IPC once connected.
 */
import { Worker } from "bullmq";

const queue = process.env.BULLMQ_QUEUE!;
const concurrency = Number(process.env.BULLMQ_CONCURRENCY ?? 8);
const connection = {
	host: process.env.REDIS_HOST ?? "127.0.0.1",
	port: Number(process.env.REDIS_PORT ?? 6379),
	maxRetriesPerRequest: null
};

const worker = new Worker(queue, async job => ({ echo: job.data?.echo ?? null }), { connection, concurrency });
worker.on("error", err => console.error("worker error", err.message));

worker.waitUntilReady().then(() => process.send?.({ ready: true }));

for (const signal of ["SIGTERM", "SIGINT"] as const)
	process.on(signal, () => {
		worker.close().finally(() => process.exit(0));
	});
