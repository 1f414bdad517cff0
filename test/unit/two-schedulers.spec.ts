import { Scheduler, SchedulerHost } from "../../src/scheduler/scheduler";
import type { TaskDoc } from "../../src/scheduler/task-doc";
import { createStore, IN_MEMORY } from "../../src/store";
import { TaskRegistry } from "../../src/tasks/registry";
import { UrlPolicy } from "../../src/tasks/url-policy";
import noop from "../../tasks/noop";

/** Two schedulers over one store, as two scheduler nodes over one MongoDB: no task may be leased twice. */
describe("two schedulers on one store", () => {
	it("dispatch every task exactly once, whichever scheduler took the submit", async () => {
		const store = createStore({ dataDir: IN_MEMORY });
		const tasks = store.collection<TaskDoc>("tasks");
		await store.connect();
		const registry = new TaskRegistry({ timeoutMillis: 1000, maxAttempts: 3 });
		registry.register(noop);
		const schedulers: Scheduler[] = [];
		const host = (self: number): SchedulerHost => ({
			// What the service does with `task.queued` from another node.
			emit: (event, payload: any) => {
				if (event === "task.queued") void schedulers[1 - self]?.indexQueuedElsewhere(payload.taskId);
			},
			wakeWorkers: () => undefined,
			abortRemote: () => undefined,
			isNodeAlive: () => true,
			logger: { info: () => undefined, warn: () => undefined, error: () => undefined }
		});
		const options = { nodeId: "s", leaseMillis: 10000, registry, policy: new UrlPolicy(true), workerStaleMillis: 10000 };
		schedulers.push(new Scheduler(tasks, host(0), options), new Scheduler(tasks, host(1), options));
		await Promise.all(schedulers.map(s => s.start()));

		const ids: string[] = [];
		for (let i = 0; i < 200; i++) ids.push((await schedulers[i % 2].submit({ type: "noop", key: i % 7 === 0 ? "k" : undefined })).id);

		const leasedBy = new Map<string, number>();
		let accepted = 0;
		// Four workers, two per scheduler, pulling in parallel until nothing is left.
		await Promise.all(
			[0, 1, 0, 1].map(async (s, w) => {
				for (let idle = 0; idle < 50; ) {
					const batch = await schedulers[s].lease(`w${w}`, 5);
					if (batch.length === 0) {
						idle++;
						await new Promise(r => setImmediate(r));
						continue;
					}
					idle = 0;
					for (const t of batch) leasedBy.set(t.id, (leasedBy.get(t.id) ?? 0) + 1);
					const answers = await schedulers[s].finish(`w${w}`, batch.map(t => ({ id: t.id, leaseId: t.leaseId, ok: true as const, result: w })));
					accepted += answers.filter(a => a.accepted).length;
				}
			})
		);
		expect([...leasedBy.values()].every(n => n === 1)).toBe(true);
		expect(leasedBy.size).toBe(200);
		expect(accepted).toBe(200);
		expect(await tasks.count({ status: "completed" })).toBe(200);
		schedulers.forEach(s => s.stop());
		await store.close();
	});
});
