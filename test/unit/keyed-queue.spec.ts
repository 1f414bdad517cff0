import { type DeadLetter, KeyedQueue } from "../../src/session/keyed-queue";

const RETRY = { maxAttempts: 3, baseDelayMillis: 100, multiplier: 2, maxDelayMillis: 1000, jitter: false };

/** shared/seeds/000 §5: FIFO per profile, parallel across profiles, retries with backoff, then a dead letter. */
describe("KeyedQueue", () => {
	const deferred = () => {
		let resolve!: () => void;
		const promise = new Promise<void>(r => (resolve = r));
		return { promise, resolve };
	};

	it("runs one key's jobs in order, one at a time, and other keys alongside", async () => {
		const queue = new KeyedQueue({ retry: RETRY, deadLetter: async () => undefined });
		const log: string[] = [];
		const gate = deferred();
		const a1 = queue.run("a", "job", async () => {
			log.push("a1 start");
			await gate.promise;
			log.push("a1 end");
		});
		const a2 = queue.run("a", "job", async () => void log.push("a2"));
		const b1 = queue.run("b", "job", async () => void log.push("b1"));
		await b1;
		expect(log).toEqual(["a1 start", "b1"]);
		gate.resolve();
		await Promise.all([a1, a2]);
		expect(log).toEqual(["a1 start", "b1", "a1 end", "a2"]);
		expect(queue.keys).toBe(0);
	});

	it("retries a failing job with exponential backoff, then dead-letters it before the next job of its key runs", async () => {
		const sleeps: number[] = [];
		const letters: DeadLetter[] = [];
		const queue = new KeyedQueue({
			retry: RETRY,
			deadLetter: async letter => void letters.push(letter),
			sleep: async ms => void sleeps.push(ms)
		});
		let attempts = 0;
		const failing = queue.run(
			"p",
			"profile.stop",
			async () => {
				attempts++;
				throw Object.assign(new Error("store down"), { code: 503 });
			},
			{ sessionId: "s1" }
		);
		const next = queue.run("p", "profile.start", async () => letters.length);
		await expect(failing).rejects.toThrow("store down");
		expect(attempts).toBe(3);
		expect(sleeps).toEqual([100, 200]);
		expect(letters).toEqual([
			{ key: "p", label: "profile.stop", attempts: 3, error: { message: "store down", type: undefined }, data: { sessionId: "s1" }, failedAt: expect.any(String) }
		]);
		expect(await next).toBe(1);
	});

	it("does not retry client errors, and a job that recovers is not dead-lettered", async () => {
		const letters: DeadLetter[] = [];
		const queue = new KeyedQueue({ retry: RETRY, deadLetter: async l => void letters.push(l), sleep: async () => undefined });
		let calls = 0;
		await expect(
			queue.run("p", "profile.start", async () => {
				calls++;
				throw Object.assign(new Error("taken"), { code: 409, type: "PROFILE_ALREADY_ACTIVE" });
			})
		).rejects.toThrow("taken");
		expect(calls).toBe(1);
		let tries = 0;
		const value = await queue.run("p", "profile.snapshot", async attempt => {
			tries++;
			if (attempt < 2) throw new Error("flaky");
			return "saved";
		});
		expect([value, tries, letters.length]).toEqual(["saved", 2, 0]);
	});
});
