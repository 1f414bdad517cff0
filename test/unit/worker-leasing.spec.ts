import type { FinishReport, LeasedTask } from "../../src/scheduler/task-doc";
import { TaskRegistry } from "../../src/tasks/registry";
import { UrlPolicy } from "../../src/tasks/url-policy";
import { SchedulerClient, TaskWorker } from "../../src/worker/worker";

/** A scheduler whose lease answers the test releases by hand, with a handler the test ends by hand. */
function setup(concurrency: number) {
	const leases: { capacity: number; answer: (tasks: LeasedTask[]) => void }[] = [];
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
	const client: SchedulerClient = {
		lease: capacity => new Promise(answer => leases.push({ capacity, answer })),
		renew: async () => ({ lost: [], abort: [], leaseExpiresAt: new Date().toISOString() }),
		finish: async reports => {
			finished.push(...reports);
			return reports.map(r => ({ id: r.id, accepted: true }));
		},
		release: async items => items.map(i => i.id)
	};
	const worker = new TaskWorker(client, { progress() {}, heartbeat() {}, logger: { debug() {}, warn() {}, error() {} } }, {
		nodeId: "n1",
		concurrency,
		leaseMillis: 60000,
		pollMillis: 60000,
		heartbeatMillis: 60000,
		registry,
		urls: new UrlPolicy(true)
	});
	const tasks = (n: number): LeasedTask[] =>
		Array.from({ length: n }, () => {
			const id = `t${next++}`;
			return { id, type: "held", payload: id, attempt: 1, leaseId: "l", leaseExpiresAt: "", timeoutMillis: 60000 };
		});
	return { worker, leases, running, finished, tasks };
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
});
