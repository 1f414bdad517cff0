import { Scheduler, SchedulerHost } from "../../src/scheduler/scheduler";
import type { TaskDoc } from "../../src/scheduler/task-doc";
import { createStore, IN_MEMORY } from "../../src/store";
import { MAX_TIMER_MILLIS } from "../../src/time";
import { TaskRegistry } from "../../src/tasks/registry";
import { UrlPolicy } from "../../src/tasks/url-policy";
import noop from "../../tasks/noop";

/** Node fires a timer longer than 2^31 - 1 ms after 1 ms: a task due in months must not arm one. */
describe("the timer for delayed tasks", () => {
	it("never asks Node for a delay it cannot keep, and still knows when the task is due", async () => {
		const store = createStore({ dataDir: IN_MEMORY });
		await store.connect();
		const registry = new TaskRegistry({ timeoutMillis: 1000, maxAttempts: 3 });
		registry.register(noop);
		const host: SchedulerHost = {
			emit: () => undefined,
			wakeWorkers: () => undefined,
			abortRemote: () => undefined,
			isNodeAlive: () => true,
			logger: { info: () => undefined, warn: () => undefined, error: () => undefined }
		};
		const scheduler = new Scheduler(store.collection<TaskDoc>("tasks"), host, {
			nodeId: "s",
			leaseMillis: 10000,
			registry,
			policy: new UrlPolicy(true),
			workerStaleMillis: 10000
		});
		await scheduler.start();
		const setTimeoutSpy = jest.spyOn(global, "setTimeout");
		try {
			const sixtyDays = 60 * 24 * 3600 * 1000;
			const runAt = new Date(Date.now() + sixtyDays).toISOString();
			const { id } = await scheduler.submit({ type: "noop", runAt });

			const delays = setTimeoutSpy.mock.calls.map(call => call[1] ?? 0);
			expect(delays.length).toBeGreaterThan(0);
			expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MILLIS);
			// Not leased now: the cut timer must not make the task due early.
			expect(await scheduler.lease("w", 1)).toEqual([]);
			expect((await scheduler.get(id)).status).toBe("queued");
		} finally {
			setTimeoutSpy.mockRestore();
			scheduler.stop();
			await store.close();
		}
	});
});
