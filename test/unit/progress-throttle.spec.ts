import { ProgressThrottle } from "../../src/worker/progress-throttle";

describe("ProgressThrottle", () => {
	beforeEach(() => jest.useFakeTimers());
	afterEach(() => jest.useRealTimers());

	it("sends at most one report per interval and always delivers the last", () => {
		const sent: number[] = [];
		const throttle = new ProgressThrottle<number>(100, v => sent.push(v), () => Date.now());
		for (let i = 1; i <= 50; i++) {
			throttle.report(i);
			jest.advanceTimersByTime(10);
		}
		// 500 ms of reports every 10 ms: the first at once, then one per 100 ms.
		expect(sent.length).toBeLessThanOrEqual(6);
		jest.advanceTimersByTime(100);
		expect(sent[sent.length - 1]).toBe(50);
		expect(sent).toEqual([...sent].sort((a, b) => a - b));
	});

	it("flush sends the waiting report at once", () => {
		const sent: number[] = [];
		const throttle = new ProgressThrottle<number>(100, v => sent.push(v), () => Date.now());
		throttle.report(1);
		throttle.report(2);
		throttle.report(3);
		expect(sent).toEqual([1]);
		throttle.flush();
		expect(sent).toEqual([1, 3]);
		jest.advanceTimersByTime(500);
		expect(sent).toEqual([1, 3]);
	});
});
