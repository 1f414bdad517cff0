import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { UNSET_UNTIL_USED } from "../../src/scheduler/task-doc";
import { startBroker, waitFor } from "../helpers/broker";

const FIXTURES = path.resolve(__dirname, "../fixtures/tasks");

interface Seen {
	event: string;
	taskId: string;
	[k: string]: any;
}

function spyOn(broker: ServiceBroker): Seen[] {
	const seen: Seen[] = [];
	broker.createService({
		name: "spy",
		events: {
			"task.*"(ctx: any) {
				seen.push({ event: ctx.eventName, ...ctx.params });
			}
		}
	});
	return seen;
}

describe("scheduler through the broker", () => {
	let broker: ServiceBroker;
	let seen: Seen[];
	const submit = (params: object) => broker.call<any, any>("scheduler.submit", params);
	const get = (id: string) => broker.call<any, any>("scheduler.get", { id });
	const until = (id: string, statuses: string[], timeout = 10000) =>
		waitFor(async () => {
			const t = await get(id);
			return statuses.includes(t.status) ? t : null;
		}, timeout, `task ${id} to be ${statuses.join("/")}`);
	const eventsOf = (id: string) => seen.filter(e => e.taskId === id).map(e => e.event);

	beforeAll(async () => {
		broker = await startBroker({ taskDirs: [FIXTURES], workerConcurrency: 4, leaseMillis: 2000 }, ["scheduler", "browser-pool"]);
		seen = spyOn(broker);
		await broker.waitForServices("spy");
	});
	afterAll(() => broker.stop());

	it("runs a task to completion and announces each state with ISO timestamps", async () => {
		const answer = await submit({ type: "noop", payload: { echo: "hi" } });
		expect(answer).toMatchObject({ status: "queued", estimatedDurationMs: 1 });
		const task = await until(answer.id, ["completed"]);
		expect(task.result).toMatchObject({ echo: "hi", attempt: 1 });
		expect(task.history).toEqual([expect.objectContaining({ attempt: 1, outcome: "completed", nodeId: broker.nodeID })]);
		expect(task.durationMillis).toBeGreaterThanOrEqual(0);
		for (const field of ["createdAt", "updatedAt", "startedAt", "finishedAt"])
			expect(task[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		await waitFor(() => eventsOf(answer.id).includes("task.completed"));
		expect(eventsOf(answer.id)).toEqual(["task.queued", "task.started", "task.completed"]);
		const completed = seen.find(e => e.taskId === answer.id && e.event === "task.completed")!;
		expect(completed).toMatchObject({ taskType: "noop", result: { echo: "hi" }, duration: expect.any(Number) });
	});

	it("stores a new task without its unset fields, and shows them as null", async () => {
		const { id } = await submit({ type: "noop", runAt: new Date(Date.now() + 60_000).toISOString() });
		const stored = await (broker.getLocalService("scheduler") as any).scheduler.tasks.findById(id);
		const unset = UNSET_UNTIL_USED.filter(f => f !== "runAt");
		expect(Object.keys(stored)).toEqual(expect.not.arrayContaining([...unset]));
		expect(stored.runAt).toEqual(expect.any(String));
		const view = await get(id);
		for (const field of unset) expect(view[field]).toBeNull();
		expect(view.runAt).toBe(stored.runAt);
		await broker.call("scheduler.cancel", { id });
	});

	it("answers the same task for the same idempotency key", async () => {
		const first = await submit({ type: "noop", idempotencyKey: "same-key" });
		const second = await submit({ type: "noop", idempotencyKey: "same-key" });
		expect(second.id).toBe(first.id);
		expect(second.duplicate).toBe(true);
		const page = await broker.call<any, any>("scheduler.list", { type: "noop", limit: 500 });
		expect(page.items.filter((t: any) => t.idempotencyKey === "same-key")).toHaveLength(1);
	});

	it("retries a retryable failure with backoff, then completes", async () => {
		const { id } = await submit({ type: "test.behave", payload: { failTimes: 2 } });
		const task = await until(id, ["completed"]);
		expect(task.attempts).toBe(3);
		expect(task.history.map((h: any) => h.outcome)).toEqual(["failed", "failed", "completed"]);
		const failures = seen.filter(e => e.taskId === id && e.event === "task.failed");
		expect(failures).toHaveLength(2);
		expect(failures[0]).toMatchObject({ retryable: true, willRetry: true, attemptCount: 1, errorType: "SCRIPTED" });
		// The second attempt started no earlier than the backoff allowed (base 20 ms, jittered to at least half).
		expect(Date.parse(task.history[1].startedAt) - Date.parse(task.history[0].endedAt)).toBeGreaterThanOrEqual(9);
	});

	it("dead-letters a task out of attempts, and a retry puts it back", async () => {
		const { id } = await submit({ type: "test.behave", payload: { failTimes: 3 }, maxAttempts: 3 });
		const dead = await until(id, ["failed"]);
		expect(dead.error).toMatchObject({ type: "SCRIPTED", errorClass: "retryable" });
		const letters = await broker.call<any, any>("scheduler.deadLetters", {});
		expect(letters.items.map((t: any) => t.id)).toContain(id);
		const requeued = await broker.call<any, any>("scheduler.retry", { id });
		expect(requeued).toMatchObject({ status: "queued", attempts: 0 });
		const done = await until(id, ["completed"]);
		expect(done.result.call).toBe(4);
	});

	it("does not retry a fatal error", async () => {
		const { id } = await submit({ type: "test.behave", payload: { failTimes: 5, errorClass: "fatal" } });
		const task = await until(id, ["failed"]);
		expect(task.attempts).toBe(1);
		expect(task.error.errorClass).toBe("fatal");
	});

	it("aborts a handler at its timeout", async () => {
		const { id } = await submit({ type: "test.behave", payload: { sleepMillis: 5000 }, timeoutMs: 50, maxAttempts: 1 });
		const task = await until(id, ["failed"]);
		expect(task.error).toMatchObject({ type: "TASK_TIMEOUT", retryable: true });
		expect(task.durationMillis).toBeLessThan(2000);
	});

	it("cancels a queued task, a running task, and refuses to cancel a finished one", async () => {
		const delayed = await submit({ type: "noop", runAt: new Date(Date.now() + 60000).toISOString() });
		expect(await broker.call<any, any>("scheduler.cancel", { id: delayed.id })).toMatchObject({ status: "cancelled" });

		const running = await submit({ type: "test.behave", payload: { sleepMillis: 30000 } });
		await until(running.id, ["running"]);
		await broker.call("scheduler.cancel", { id: running.id, reason: "test" });
		const cancelled = await until(running.id, ["cancelled"], 5000);
		expect(cancelled.history.at(-1)).toMatchObject({ outcome: "cancelled" });
		await waitFor(() => eventsOf(running.id).includes("task.cancelled"));
		expect(seen.find(e => e.taskId === running.id && e.event === "task.cancelled")).toMatchObject({ reason: "test" });

		await expect(broker.call("scheduler.cancel", { id: running.id })).rejects.toMatchObject({ code: 409, type: "TASK_STATE_CONFLICT" });
	});

	it("runs tasks of one key one at a time in submission order, other keys in parallel", async () => {
		const keyed = [];
		for (let i = 0; i < 4; i++) keyed.push((await submit({ type: "test.behave", key: "fifo", payload: { sleepMillis: 40 }, priority: i + 1 })).id);
		const other = (await submit({ type: "test.behave", key: "other", payload: { sleepMillis: 40 } })).id;
		const tasks = await Promise.all(keyed.map(id => until(id, ["completed"])));
		for (let i = 1; i < tasks.length; i++)
			expect(Date.parse(tasks[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(tasks[i - 1].finishedAt));
		const parallel = await until(other, ["completed"]);
		// The other key did not wait for the whole "fifo" lane.
		expect(Date.parse(parallel.startedAt)).toBeLessThan(Date.parse(tasks[3].startedAt));
	});

	it("starts a dependant after its dependencies and fails it when one fails", async () => {
		const a = await submit({ type: "test.behave", payload: { sleepMillis: 50 } });
		const b = await submit({ type: "noop", dependsOn: [a.id] });
		const doneB = await until(b.id, ["completed"]);
		const doneA = await get(a.id);
		expect(Date.parse(doneB.startedAt)).toBeGreaterThanOrEqual(Date.parse(doneA.finishedAt));

		const bad = await submit({ type: "test.behave", payload: { failTimes: 1, errorClass: "fatal" } });
		const dependant = await submit({ type: "noop", dependsOn: [bad.id] });
		const failed = await until(dependant.id, ["failed"]);
		expect(failed.error).toMatchObject({ type: "DEPENDENCY_FAILED", data: { dependency: bad.id } });

		await expect(submit({ type: "noop", dependsOn: ["missing-task"] })).rejects.toMatchObject({ code: 422, type: "DEPENDENCY_NOT_FOUND" });
	});

	it("holds a delayed task until runAt", async () => {
		const runAt = new Date(Date.now() + 300).toISOString();
		const { id } = await submit({ type: "noop", runAt });
		const task = await until(id, ["completed"]);
		expect(Date.parse(task.startedAt)).toBeGreaterThanOrEqual(Date.parse(runAt));
	});

	it("chains the next occurrence of a recurring task", async () => {
		const { id } = await submit({ type: "noop", cron: "* * * * * *", timeZone: "Europe/Paris" });
		await until(id, ["completed"], 3000);
		const next = await waitFor(async () => {
			const page = await broker.call<any, any>("scheduler.list", { type: "noop", limit: 500 });
			return page.items.find((t: any) => t.parentId === id);
		});
		expect(next).toMatchObject({ cron: "* * * * * *", timeZone: "Europe/Paris" });
		expect(Date.parse(next.availableAt) % 1000).toBe(0);
		await broker.call("scheduler.cancel", { id: next.id });
		await expect(submit({ type: "noop", cron: "every day" })).rejects.toMatchObject({ code: 422, type: "INVALID_SCHEDULE" });
		await expect(submit({ type: "noop", cron: "* * * * *", timeZone: "Mars/Olympus" })).rejects.toMatchObject({ type: "INVALID_SCHEDULE" });
	});

	it("starts every attempt at progress 0, without the last attempt's step", async () => {
		const { id } = await submit({ type: "test.behave", payload: { failTimes: 1, progressBursts: 3, progressOnce: true, sleepMillis: 400 } });
		await waitFor(() => seen.some(e => e.taskId === id && e.event === "task.started" && e.attempt === 2));
		const second = await broker.call<any, any>("scheduler.get", { id });
		expect(second).toMatchObject({ status: "running", attempts: 2, progress: 0, step: null });
		expect(second.history[0]).toMatchObject({ attempt: 1, outcome: "failed" });
		await until(id, ["completed"]);
	});

	it("throttles progress to 10 events/s per task and delivers the last one", async () => {
		const { id } = await submit({ type: "test.behave", payload: { progressBursts: 500 } });
		await until(id, ["completed"]);
		await waitFor(() => eventsOf(id).includes("task.completed"));
		const progress = seen.filter(e => e.taskId === id && e.event === "task.progress");
		expect(progress.length).toBeGreaterThanOrEqual(1);
		expect(progress.length).toBeLessThanOrEqual(3);
		expect(progress.at(-1)).toMatchObject({ progress: 100, currentOperation: "done" });
	});

	it("fails a task whose result the store cannot hold, without retrying it, and keeps such log data as text", async () => {
		const { id } = await submit({ type: "test.behave", payload: { log: "odd", oddKey: "a.b" } });
		const task = await until(id, ["failed"]);
		expect(task.attempts).toBe(1);
		expect(task.error).toMatchObject({ type: "INVALID_FIELD_NAME", errorClass: "fatal", data: { key: "a.b", at: "result.keys" } });
		expect(task.error.message).toMatch(/result cannot be stored: key "a.b" in result.keys/);
		expect(task.log.map((l: any) => l.data)).toEqual(['{"a.b":1}']);
	});

	it("keeps the execution log", async () => {
		const { id } = await submit({ type: "test.behave", payload: { log: "hello from the handler", failTimes: 1 } });
		const task = await until(id, ["completed"]);
		expect(task.log.map((l: any) => [l.level, l.message, l.data.attempt])).toEqual([
			["info", "hello from the handler", 1],
			["info", "hello from the handler", 2]
		]);
	});
});

describe("leases", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		// A scheduler with no worker: the test plays the workers.
		broker = await startBroker({ leaseMillis: 1000 }, ["scheduler"]);
	});
	afterAll(() => broker.stop());

	const lease = (nodeId: string) => broker.call<any[], any>("scheduler.lease", { nodeId, capacity: 10 });

	it("refuses the result of a lost lease and accepts the new holder's", async () => {
		const { id } = await broker.call<any, any>("scheduler.submit", { type: "noop" });
		const [first] = await lease("worker-a");
		expect(first.id).toBe(id);
		expect(await lease("worker-b")).toEqual([]);
		// worker-a leaves the cluster: its task goes back at once.
		const scheduler = (broker.getLocalService("scheduler") as any).scheduler;
		expect(await scheduler.nodeLeft("worker-a")).toBe(1);
		const [second] = await lease("worker-b");
		expect(second).toMatchObject({ id, attempt: 2 });
		const late = await broker.call<any[], any>("scheduler.finish", {
			nodeId: "worker-a",
			reports: [{ id, leaseId: first.leaseId, ok: true, result: "late" }]
		});
		expect(late).toEqual([expect.objectContaining({ id, accepted: false })]);
		const renewal = await broker.call<any, any>("scheduler.renew", { nodeId: "worker-a", items: [{ id, leaseId: first.leaseId }] });
		expect(renewal.lost).toEqual([id]);
		const ok = await broker.call<any[], any>("scheduler.finish", {
			nodeId: "worker-b",
			reports: [{ id, leaseId: second.leaseId, ok: true, result: "on time" }]
		});
		expect(ok).toEqual([{ id, accepted: true }]);
		// A resent report of the same attempt is answered as accepted, and changes nothing.
		const again = await broker.call<any[], any>("scheduler.finish", {
			nodeId: "worker-b",
			reports: [{ id, leaseId: second.leaseId, ok: true, result: "resent" }]
		});
		expect(again[0].accepted).toBe(true);
		const task = await broker.call<any, any>("scheduler.get", { id });
		expect(task).toMatchObject({ status: "completed", result: "on time" });
		expect(task.history.map((h: any) => h.outcome)).toEqual(["node-left", "completed"]);
	});

	it("puts a task back when its lease expires unrenewed", async () => {
		const { id } = await broker.call<any, any>("scheduler.submit", { type: "noop" });
		const [held] = await lease("worker-silent");
		expect(held.id).toBe(id);
		const requeued = await waitFor(async () => {
			const t = await broker.call<any, any>("scheduler.get", { id });
			return t.status === "queued" ? t : null;
		}, 5000, "lease expiry");
		expect(requeued.history).toEqual([expect.objectContaining({ outcome: "lease-expired", nodeId: "worker-silent" })]);
		const [next] = await lease("worker-c");
		expect(next).toMatchObject({ id, attempt: 2 });
	});

	it("keeps a renewed lease past its first expiry", async () => {
		const { id } = await broker.call<any, any>("scheduler.submit", { type: "noop" });
		const [held] = await lease("worker-d");
		const started = Date.now();
		await waitFor(async () => {
			const answer = await broker.call<any, any>("scheduler.renew", { nodeId: "worker-d", items: [{ id, leaseId: held.leaseId }] });
			expect(answer.lost).toEqual([]);
			return Date.now() - started > 2500;
		}, 6000);
		const task = await broker.call<any, any>("scheduler.get", { id });
		expect(task).toMatchObject({ status: "running", attempts: 1 });
	});
});

describe("shutdown and restart", () => {
	it("hands back unfinished tasks on stop without spending an attempt, and runs them after a restart", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-restart-"));
		try {
			const first = await startBroker({ dataDir: dir, taskDirs: [FIXTURES], shutdownGraceMillis: 200 }, ["scheduler", "browser-pool"]);
			const quick = await first.call<any, any>("scheduler.submit", { type: "test.behave", payload: { sleepMillis: 50 } });
			const slow = await first.call<any, any>("scheduler.submit", { type: "test.behave", payload: { sleepMillis: 60000 } });
			const queued = await first.call<any, any>("scheduler.submit", { type: "noop", runAt: new Date(Date.now() + 3000).toISOString() });
			await waitFor(async () => (await first.call<any, any>("scheduler.get", { id: slow.id })).status === "running");
			await first.stop();

			const second = await startBroker({ dataDir: dir, taskDirs: [FIXTURES] }, ["scheduler"]);
			try {
				const slowAfter = await second.call<any, any>("scheduler.get", { id: slow.id });
				expect(slowAfter).toMatchObject({ status: "queued", attempts: 0 });
				expect(slowAfter.history.map((h: any) => h.outcome)).toEqual(["handed-back"]);
				expect(await second.call<any, any>("scheduler.get", { id: quick.id })).toMatchObject({ status: "completed" });
				expect(await second.call<any, any>("scheduler.get", { id: queued.id })).toMatchObject({ status: "queued" });
				const [leased] = await second.call<any[], any>("scheduler.lease", { nodeId: "after-restart", capacity: 1 });
				expect(leased).toMatchObject({ id: slow.id, attempt: 1 });
			} finally {
				await second.stop();
			}
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe("retention", () => {
	it("deletes finished tasks past the retention and keeps dead letters and recent ones", async () => {
		const broker = await startBroker({ taskDirs: [FIXTURES] }, ["scheduler", "browser-pool"]);
		try {
			const call = (a: string, p: object) => broker.call<any, any>(a, p);
			const done = await call("scheduler.submit", { type: "noop" });
			const dead = await call("scheduler.submit", { type: "test.behave", payload: { failTimes: 1, errorClass: "fatal" } });
			await waitFor(async () => (await call("scheduler.get", { id: done.id })).status === "completed");
			await waitFor(async () => (await call("scheduler.get", { id: dead.id })).status === "failed");
			const scheduler = (broker.getLocalService("scheduler") as any).scheduler;
			expect(await scheduler.purgeFinished(Date.now() - 60_000)).toBe(0);
			expect(await scheduler.purgeFinished(Date.now() + 1)).toBeGreaterThanOrEqual(1);
			await expect(call("scheduler.get", { id: done.id })).rejects.toMatchObject({ code: 404 });
			expect((await call("scheduler.get", { id: dead.id })).status).toBe("failed");
		} finally {
			await broker.stop();
		}
	});
});
