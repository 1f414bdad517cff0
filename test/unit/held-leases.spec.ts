import { Scheduler, SchedulerHost } from "../../src/scheduler/scheduler";
import type { LeasedTask, TaskDoc } from "../../src/scheduler/task-doc";
import { createStore, IN_MEMORY, Store } from "../../src/store";
import { TaskRegistry } from "../../src/tasks/registry";
import { UrlPolicy } from "../../src/tasks/url-policy";
import noop from "../../tasks/noop";
import { waitFor } from "../helpers/broker";

/** One event-loop turn: every promise settled by then has run its callbacks. */
const turn = () => new Promise(resolve => setImmediate(resolve));

/** Lease calls the scheduler holds until work arrives (long poll). */
describe("held lease calls", () => {
	let store: Store;
	let scheduler: Scheduler;
	let leaseMillis = 10_000;
	let events: { event: string; payload: any }[];
	let broadcasts: number;

	beforeEach(async () => {
		store = createStore({ dataDir: IN_MEMORY });
		await store.connect();
		const registry = new TaskRegistry({ timeoutMillis: 1000, maxAttempts: 3 });
		registry.register(noop);
		events = [];
		broadcasts = 0;
		const host: SchedulerHost = {
			emit: (event, payload) => void events.push({ event, payload }),
			wakeWorkers: () => void broadcasts++,
			abortRemote: () => undefined,
			isNodeAlive: () => true,
			logger: { info: () => undefined, warn: () => undefined, error: () => undefined }
		};
		scheduler = new Scheduler(store.collection<TaskDoc>("tasks"), host, {
			nodeId: "s",
			leaseMillis,
			registry,
			policy: new UrlPolicy(true),
			workerStaleMillis: 10000
		});
		await scheduler.start();
		broadcasts = 0;
	});
	afterEach(async () => {
		scheduler.stop();
		await store.close();
		leaseMillis = 10_000;
	});

	/** Settles with the answer, or stays pending: lets a test ask "answered yet?" without waiting for it. */
	function track(call: Promise<LeasedTask[]>) {
		const state: { answer?: LeasedTask[] } = {};
		void call.then(answer => (state.answer = answer));
		return state;
	}

	it("answers a held call with the task queued while it waits, without a broadcast", async () => {
		const call = scheduler.lease("w1", 4, 10_000);
		const { id } = await scheduler.submit({ type: "noop" });
		const [task, ...rest] = await call;
		expect(rest).toEqual([]);
		expect(task).toMatchObject({ id, attempt: 1 });
		expect(events.map(e => e.event)).toEqual(["task.queued", "task.started"]);
		expect(events[1].payload).toMatchObject({ taskId: id, nodeId: "w1" });
		expect(broadcasts).toBe(0);
	});

	it("serves held calls oldest first, each with no more than it asked for", async () => {
		const first = scheduler.lease("w1", 2, 10_000);
		const second = scheduler.lease("w2", 2, 10_000);
		const ids = (await scheduler.submitMany([{ type: "noop" }, { type: "noop" }, { type: "noop" }])).map(a => a.id);
		expect((await first).map(t => t.id)).toEqual(ids.slice(0, 2));
		expect((await second).map(t => t.id)).toEqual(ids.slice(2));
	});

	it("keeps a held call that declines what is queued, and serves the next one with it", async () => {
		const declining = track(scheduler.lease("w1", 2, 10_000, ["noop"]));
		const taking = scheduler.lease("w2", 2, 10_000);
		const { id } = await scheduler.submit({ type: "noop" });
		expect((await taking).map(t => t.id)).toEqual([id]);
		await turn();
		expect(declining.answer).toBeUndefined();
		// Not leased either when it asks again without holding.
		await scheduler.submit({ type: "noop" });
		expect(await scheduler.lease("w1", 2, 0, ["noop"])).toEqual([]);
		expect((await scheduler.lease("w3", 2)).length).toBe(1);
	});

	it("answers a call that declines the browser types once the node's heartbeat says its Chromium starts", async () => {
		const beat = (launchError?: string) =>
			scheduler.heartbeat({
				nodeId: "w1",
				pid: 1,
				concurrency: 2,
				running: [],
				processed: 0,
				startedAt: "",
				timestamp: "",
				accepting: true,
				browsers: { total: 2, busy: 0, free: 2, waiting: 0, ...(launchError ? { launchError } : {}) }
			});
		const declining = track(scheduler.lease("w1", 2, 10_000, ["page.parse"]));
		const elsewhere = track(scheduler.lease("w2", 2, 10_000, ["page.parse"]));
		beat("Chromium did not start");
		await turn();
		expect(declining.answer).toBeUndefined();
		beat();
		await turn();
		expect(declining.answer).toEqual([]);
		expect(elsewhere.answer).toBeUndefined();
		// A call that declines nothing stays held through such a heartbeat.
		const taking = track(scheduler.lease("w1", 2, 10_000));
		beat();
		await turn();
		expect(taking.answer).toBeUndefined();
	});

	it("answers with nothing when its wait ends, when the worker stops accepting, or when the scheduler stops", async () => {
		expect(await scheduler.lease("w1", 1, 20)).toEqual([]);

		const draining = track(scheduler.lease("w2", 1, 10_000));
		const other = track(scheduler.lease("w3", 1, 10_000));
		scheduler.heartbeat({ nodeId: "w2", pid: 1, concurrency: 1, running: [], processed: 0, startedAt: "", timestamp: "", accepting: false });
		await turn();
		expect(draining.answer).toEqual([]);
		expect(other.answer).toBeUndefined();

		scheduler.stop();
		await turn();
		expect(other.answer).toEqual([]);
	});

	it("hands back a held call's task without spending an attempt when its worker left before confirming it", async () => {
		const call = scheduler.lease("dead", 1, 10_000);
		const { id } = await scheduler.submit({ type: "noop", maxAttempts: 1 });
		expect((await call)[0].id).toBe(id);
		// The worker died while its call was held: the answer reached no one, and no renewal comes.
		expect(await scheduler.nodeLeft("dead")).toBe(1);
		expect(await scheduler.get(id)).toMatchObject({ status: "queued", attempts: 0 });

	});

	it("spends the attempt once the worker confirmed the task by renewing its lease", async () => {
		const call = scheduler.lease("w1", 1, 10_000);
		const { id } = await scheduler.submit({ type: "noop", maxAttempts: 1 });
		const [task] = await call;
		expect((await scheduler.renew("w1", [{ id, leaseId: task.leaseId }])).lost).toEqual([]);
		expect(await scheduler.nodeLeft("w1")).toBe(1);
		expect(await scheduler.get(id)).toMatchObject({ status: "failed", attempts: 1 });
	});

	describe("with leases that expire at once", () => {
		beforeAll(() => void (leaseMillis = 1));
		it("gives a task of an expired lease to a live worker's held call, not back to its silent owner's", async () => {
			const { id } = await scheduler.submit({ type: "noop" });
			expect((await scheduler.lease("silent", 1))[0].id).toBe(id);
			const silent = scheduler.lease("silent", 1, 10_000);
			const alive = scheduler.lease("alive", 1, 10_000);
			await waitFor(async () => (await scheduler.sweepExpiredLeases()) === 1, 5000, "the lease to expire");
			expect(await silent).toEqual([]);
			expect(await alive).toEqual([expect.objectContaining({ id, attempt: 2 })]);
		});
	});
});
