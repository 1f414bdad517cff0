import { defineTask } from "../src/tasks/definition";

/** Does nothing and answers at once: the scheduler's own overhead, for benchmarks and smoke tests. */
export default defineTask<{ echo?: unknown; delayMillis?: number }>({
	name: "noop",
	description: "Completes at once (or after delayMillis) and returns its echo.",
	params: {
		echo: { type: "any", optional: true },
		delayMillis: { type: "number", integer: true, min: 0, max: 3600000, optional: true }
	},
	estimatedDurationMillis: 1,
	async handler(ctx) {
		const { echo, delayMillis } = ctx.payload;
		if (delayMillis) {
			await new Promise<void>((resolve, reject) => {
				const timer = setTimeout(resolve, delayMillis);
				ctx.signal.addEventListener("abort", () => {
					clearTimeout(timer);
					reject(ctx.signal.reason);
				});
			});
		}
		return { echo: echo ?? null, attempt: ctx.attempt, nodeId: ctx.nodeId };
	}
});
