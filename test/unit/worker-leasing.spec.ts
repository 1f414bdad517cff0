import type { WorkerHeartbeat } from "../../src/events";
import type { FinishReport, LeasedTask } from "../../src/scheduler/task-doc";
import { TaskRegistry } from "../../src/tasks/registry";
import { UrlPolicy } from "../../src/tasks/url-policy";
import { ERROR_TYPES, TaskError } from "../../src/errors";
import { Prefetch } from "../../src/worker/prefetch";
import type { BrowserSource } from "../../src/worker/run-attempt";
import { SchedulerClient, TaskWorker } from "../../src/worker/worker";
import { waitFor } from "../helpers/wait";

/** A scheduler whose lease answers the test releases by hand, with a handler the test ends by hand. */
function setup(
	concurrency: number,
	prefetch?: Prefetch,
	leaseWaitMillis?: number,
	browsers?: BrowserSource,
	browserFailing?: () => boolean,
	pollMillis = 60000
) {
	const heartbeats: WorkerHeartbeat[] = [];
	const leases: { capacity: number; waitMillis?: number; declines?: string[]; answer: (tasks: LeasedTask[]) => void }[] = [];
	const renewals: string[][] = [];
	const released: string[] = [];
	const running = new Map<string, () => void>();
	const finished: FinishReport[] = [];
	let next = 0;
	const registry = new TaskRegistry({ timeoutMillis: 60000, maxAttempts: 3 });
	registry.register({
		name: "held",
		description: "ends when the test says",
		params: {},
		handler: (ctx: any) => new Promise<void>(resolve => running.set(String(ctx.payload), resolve))
	} as any);
	registry.register({ name: "declared", description: "says it takes a browser", params: {}, browser: true, handler: async () => null } as any);
	registry.register({
		name: "browsing",
		description: "takes a browser session, then ends when the test says",
		params: {},
		handler: async (ctx: any) => {
			await ctx.browser();
			await new Promise<void>(resolve => running.set(String(ctx.payload), resolve));
		}
	} as any);
	const client: SchedulerClient = {
		lease: (capacity, waitMillis, declines) => new Promise(answer => leases.push({ capacity, waitMillis, declines, answer })),
		renew: async items => {
			renewals.push(items.map(i => i.id));
			return { lost: [], abort: [], leaseExpiresAt: new Date().toISOString() };
		},
		finish: async reports => {
			finished.push(...reports);
			return reports.map(r => ({ id: r.id, accepted: true }));
		},
		release: async items => {
			released.push(...items.map(i => i.id));
			return items.map(i => i.id);
		}
	};
	const host = { progress() {}, heartbeat: (beat: WorkerHeartbeat) => void heartbeats.push(beat), logger: { debug() {}, warn() {}, error() {} } };
	const worker = new TaskWorker(client, host, {
		nodeId: "n1",
		concurrency,
		leaseMillis: 60000,
		pollMillis,
		heartbeatMillis: 60000,
		registry,
		urls: new UrlPolicy(true),
		prefetch,
		leaseWaitMillis,
		browsers,
		browserFailing
	});
	const tasks = (n: number, type = "held"): LeasedTask[] =>
		Array.from({ length: n }, () => {
			const id = `t${next++}`;
			return { id, type, payload: id, attempt: 1, leaseId: "l", leaseExpiresAt: "", timeoutMillis: 60000 };
		});
	return { worker, leases, renewals, running, finished, released, tasks, heartbeats };
}

/** A prefetch depth fixed by the test. */
class FixedPrefetch extends Prefetch {
	constructor(private readonly fixed: number) {
		super(fixed);
	}
	override depth(): number {
		return this.fixed;
	}
}

const turn = () => new Promise(resolve => setImmediate(resolve));

describe("TaskWorker leasing", () => {
	it("asks again for slots freed while a lease is in flight, and never holds more than its concurrency", async () => {
		const { worker, leases, running, tasks } = setup(4);
		worker.start();
		await turn();
		expect(leases.map(l => l.capacity)).toEqual([4]);
		leases[0].answer(tasks(4));
		await turn();
		expect(worker.busy).toBe(4);

		// Two attempts end in one turn: one lease for both, while nothing else is asked.
		running.get("t0")!();
		running.get("t1")!();
		await turn();
		await turn();
		expect(leases.map(l => l.capacity)).toEqual([4, 2]);

		// A third ends while that lease is still in flight: it is asked for at once, not after the first answers.
		running.get("t2")!();
		await turn();
		await turn();
		expect(leases.map(l => l.capacity)).toEqual([4, 2, 1]);

		leases[1].answer(tasks(2));
		leases[2].answer(tasks(1));
		await turn();
		expect(worker.busy).toBe(4);
		await turn();
		expect(leases.length).toBe(3); // all four slots are held: nothing more is asked
		await worker.drain(0);
	});

	it("leases ahead of its free slots, starts those tasks as slots free, and never runs more than its concurrency", async () => {
		const { worker, leases, running, finished, tasks } = setup(2, new FixedPrefetch(2));
		worker.start();
		await turn();
		expect(leases.map(l => l.capacity)).toEqual([4]);
		leases[0].answer(tasks(4));
		await turn();
		expect(worker.busy).toBe(2);
		expect([...running.keys()]).toEqual(["t0", "t1"]);

		running.get("t0")!();
		await turn();
		await turn();
		// The slot went to the task held ahead, not to a new lease; the one lease asked for refills the reserve.
		expect([...running.keys()]).toEqual(["t0", "t1", "t2"]);
		expect(worker.busy).toBe(2);
		expect(leases.map(l => l.capacity)).toEqual([4, 1]);
		await turn();
		expect(finished.map(r => r.id)).toEqual(["t0"]);
		leases[1].answer([]);
		await worker.drain(0);
	});

	it("reports a task cancelled before it started without running it, and hands back the rest at once on drain", async () => {
		const { worker, leases, running, finished, released, tasks } = setup(1, new FixedPrefetch(2));
		worker.start();
		await turn();
		leases[0].answer(tasks(3));
		await turn();
		expect([...running.keys()]).toEqual(["t0"]);

		worker.abort("t1", "l", "cancelled by request");
		await turn();
		await turn();
		expect(finished).toEqual([
			expect.objectContaining({ id: "t1", ok: false, error: expect.objectContaining({ type: "TASK_CANCELLED" }) })
		]);

		// t2 waits; the drain gives it back before waiting for t0, which then finishes normally.
		const drained = worker.drain(10000);
		await turn();
		expect(released).toEqual(["t2"]);
		running.get("t0")!();
		await drained;
		expect([...running.keys()]).toEqual(["t0"]);
		expect(finished.map(r => r.id)).toEqual(["t1", "t0"]);
	});
});

describe("TaskWorker held lease calls", () => {
	it("after a lease finds no work, asks with one call the scheduler may hold, and confirms what it brings at once", async () => {
		const { worker, leases, renewals, running, tasks } = setup(4, undefined, 5000);
		worker.start();
		await turn();
		expect(leases.map(l => [l.capacity, l.waitMillis])).toEqual([[4, undefined]]);
		leases[0].answer([]);
		await turn();
		await turn();
		expect(leases.map(l => [l.capacity, l.waitMillis])).toEqual([
			[4, undefined],
			[4, 5000]
		]);

		// Work arrives for the held call: it runs, and its lease is renewed without waiting for the renewal timer; the
		// three slots left are asked for at once with another held call.
		leases[1].answer(tasks(1));
		await turn();
		expect(worker.busy).toBe(1);
		expect(renewals).toEqual([["t0"]]);
		await turn();
		expect(leases.slice(2).map(l => [l.capacity, l.waitMillis])).toEqual([[3, 5000]]);

		// While one is held, a slot freed and found empty is not held as well: one held call at a time.
		running.get("t0")!();
		await turn();
		await turn();
		expect(leases.slice(3).map(l => [l.capacity, l.waitMillis])).toEqual([[1, undefined]]);
		leases[3].answer([]);
		await turn();
		await turn();
		expect(leases).toHaveLength(4);

		// A drain waits for the held call (the scheduler answers it when the drain's heartbeat arrives).
		const drained = worker.drain(0);
		leases[2].answer([]);
		await drained;
	});

	it("does not ask again in a loop when a held call is answered early with nothing", async () => {
		const { worker, leases } = setup(2, undefined, 5000);
		worker.start();
		await turn();
		leases[0].answer([]);
		await turn();
		await turn();
		expect(leases).toHaveLength(2);
		// A scheduler that is stopping answers at once: the next ask waits for the poll (60 s in this setup).
		leases[1].answer([]);
		await turn();
		await turn();
		expect(leases).toHaveLength(2);
	});
});

describe("TaskWorker and browser contexts", () => {
	/** A browser source whose contexts are cleared when the test says. */
	function contexts() {
		const clearing: (() => void)[] = [];
		const source: BrowserSource = {
			acquire: async () => ({}) as any,
			release: () => ({ reportable: Promise.resolve(), cleared: new Promise<void>(resolve => clearing.push(resolve)) })
		};
		return { source, clearing };
	}

	it("reports an attempt at once but keeps its slot until its context is cleared", async () => {
		const { source, clearing } = contexts();
		const { worker, leases, running, finished, tasks } = setup(2, undefined, undefined, source);
		worker.start();
		await turn();
		leases[0].answer(tasks(2, "browsing"));
		await turn();
		await turn();
		expect([...running.keys()]).toEqual(["t0", "t1"]);

		running.get("t0")!();
		await turn();
		await turn();
		// Reported, and no longer running, but its context is still being cleared: no lease for its slot yet.
		expect(finished.map(r => r.id)).toEqual(["t0"]);
		expect(worker.busy).toBe(1);
		expect(clearing).toHaveLength(1);
		expect(leases).toHaveLength(1);

		clearing[0]();
		await turn();
		await turn();
		expect(leases.map(l => l.capacity)).toEqual([2, 1]);
		leases[1].answer([]);
		await worker.drain(0);
	});

	it("starts a task leased ahead only once a context is cleared", async () => {
		const { source, clearing } = contexts();
		const { worker, leases, running, tasks } = setup(1, new FixedPrefetch(1), undefined, source);
		worker.start();
		await turn();
		leases[0].answer(tasks(2, "browsing"));
		await turn();
		await turn();
		expect([...running.keys()]).toEqual(["t0"]);

		running.get("t0")!();
		await turn();
		await turn();
		expect([...running.keys()]).toEqual(["t0"]);

		clearing[0]();
		await turn();
		await turn();
		expect([...running.keys()]).toEqual(["t0", "t1"]);
		running.get("t1")!();
		await turn();
		await turn();
		clearing[1]();
		await turn();
		for (const lease of leases.slice(1)) lease.answer([]);
		await worker.drain(0);
	});
});

describe("TaskWorker drain", () => {
	it("waits for a lease in flight and hands back what it brings, without running it", async () => {
		const { worker, leases, running, released, tasks } = setup(2);
		worker.start();
		await turn();
		expect(leases).toHaveLength(1);
		const drained = worker.drain(10000);
		await turn();
		leases[0].answer(tasks(2));
		await drained;
		expect(released).toEqual(["t0", "t1"]);
		expect(running.size).toBe(0);
	});
});

describe("Prefetch", () => {
	it("holds nothing until a round trip and an attempt are measured", () => {
		const p = new Prefetch(100);
		expect(p.depth(8)).toBe(0);
		p.leaseTook(4);
		expect(p.depth(8)).toBe(0);
		p.attemptTook(1);
		expect(p.depth(8)).toBe(32); // 8 slots × 4 ms ÷ 1 ms
	});

	it("holds none for tasks slower than a round trip, and never more than its maximum", () => {
		const slow = new Prefetch(100);
		slow.leaseTook(3);
		slow.attemptTook(500);
		expect(slow.depth(8)).toBe(0);

		const capped = new Prefetch(24);
		capped.leaseTook(3);
		capped.attemptTook(0.01);
		expect(capped.depth(8)).toBe(24);
		expect(new Prefetch(0).depth(8)).toBe(0);
	});

	it("follows a change of task duration within a few attempts", () => {
		const p = new Prefetch(1000);
		p.leaseTook(2);
		p.attemptTook(0.1);
		expect(p.depth(4)).toBe(80);
		for (let i = 0; i < 20; i++) p.attemptTook(1000);
		expect(p.depth(4)).toBe(0);
	});
});

describe("TaskWorker on a node whose Chromium cannot start", () => {
	it("hands back a browser task whose Chromium failed to start, and declines the browser types until it starts", async () => {
		let failing = false;
		const source: BrowserSource = {
			acquire: async () => {
				failing = true;
				throw new TaskError("Chromium did not start (/nonexistent/chromium)", "fatal", ERROR_TYPES.BROWSER_LAUNCH_FAILED);
			},
			release: () => ({ reportable: Promise.resolve(), cleared: Promise.resolve() })
		};
		const { worker, leases, finished, released, running, tasks } = setup(2, undefined, undefined, source, () => failing);
		worker.start();
		await turn();
		expect(leases[0].declines).toBeUndefined();
		const [browsing, held] = [...tasks(1, "browsing"), ...tasks(1)];
		leases[0].answer([browsing, held]);
		await waitFor(() => released.includes(browsing.id) && leases.length === 2);
		// Not reported as failed: the scheduler puts it back without spending an attempt, and the next lease declines it
		// (its type does not say it takes a browser: its handler asked for one), with the type that says so.
		expect(finished).toEqual([]);
		expect(leases[1].declines).toEqual(["declared", "browsing"]);
		// A task of a type without a browser runs as usual meanwhile.
		running.get(held.id)!();
		await waitFor(() => finished.length === 1);
		expect(finished[0]).toMatchObject({ id: held.id, ok: true });
		failing = false;
		for (const lease of leases) lease.answer([]);
		await worker.drain(0);
	});

	it("tells the scheduler when Chromium starts again, and asks again at once without declining", async () => {
		let failing = true;
		const { worker, leases, heartbeats } = setup(2, undefined, 5000, undefined, () => failing, 300);
		worker.start();
		await turn();
		leases[0].answer([]);
		// Starved: the next call is held at the scheduler, and declines the browser types.
		await waitFor(() => leases.length === 2);
		expect(leases[1]).toMatchObject({ waitMillis: 5000, declines: ["declared"] });
		const beats = heartbeats.length;
		failing = false;
		// Within a poll a heartbeat goes out (the scheduler answers the held call when it sees it) ...
		await waitFor(() => heartbeats.length > beats);
		// ... and the call answered early with nothing is followed at once (not at the next poll, 300 ms on) by one that
		// declines nothing.
		leases[1].answer([]);
		await turn();
		await turn();
		expect(leases.length).toBe(3);
		expect(leases[2].declines).toBeUndefined();
		for (const lease of leases.slice(2)) lease.answer([]);
		await worker.drain(0);
	});
});
