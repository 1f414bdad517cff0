import { ERROR_TYPES, TaskError, TaskTimeoutError } from "../../src/errors";
import { classifyError } from "../../src/scheduler/classify";
import { backoffMillis, DEFAULT_RETRY } from "../../src/scheduler/retry-policy";

describe("backoffMillis", () => {
	const policy = { maxAttempts: 5, ...DEFAULT_RETRY, jitter: false };

	it("grows exponentially from the base and stops at the maximum", () => {
		expect([1, 2, 3, 4].map(n => backoffMillis(policy, n))).toEqual([1000, 2000, 4000, 8000]);
		expect(backoffMillis(policy, 20)).toBe(60000);
	});

	it("spreads jittered delays over [delay/2, delay]", () => {
		const jittered = { ...policy, jitter: true };
		expect(backoffMillis(jittered, 3, () => 0)).toBe(2000);
		expect(backoffMillis(jittered, 3, () => 0.999999)).toBe(4000);
	});
});

describe("classifyError", () => {
	it("honours an explicit class", () => {
		expect(classifyError(new TaskError("no", "user-actionable")).errorClass).toBe("user-actionable");
		expect(classifyError(new TaskTimeoutError(5)).type).toBe(ERROR_TYPES.TASK_TIMEOUT);
		expect(classifyError(new TaskTimeoutError(5)).retryable).toBe(true);
	});

	it("retries socket errors and plain errors, not handler bugs", () => {
		expect(classifyError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toMatchObject({
			errorClass: "retryable",
			type: ERROR_TYPES.CONNECTION_FAILED,
			data: { code: "ECONNREFUSED" }
		});
		// fetch() puts the socket error in `cause`.
		const fetchFailure = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("getaddrinfo"), { code: "ENOTFOUND" }) });
		expect(classifyError(fetchFailure)).toMatchObject({ errorClass: "retryable", type: ERROR_TYPES.CONNECTION_FAILED, data: { code: "ENOTFOUND" } });
		expect(classifyError(new Error("flaky")).errorClass).toBe("retryable");
		expect(classifyError(new TypeError("x is undefined")).errorClass).toBe("fatal");
		expect(classifyError(Object.assign(new Error("no"), { retryable: false })).errorClass).toBe("fatal");
	});

	it("survives non-error throws", () => {
		expect(classifyError("boom")).toMatchObject({ message: "boom", errorClass: "retryable" });
		expect(classifyError(undefined).message).toBe("undefined");
	});
});
