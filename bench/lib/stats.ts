/** Small statistics helpers for the benchmarks. Times are milliseconds. */

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; NaN for an empty one. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The middle value of a sample (the lower of the two middle ones for an even count): runs compared side by side. */
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

export interface Summary {
	n: number;
	p50: number;
	p90: number;
	p99: number;
	max: number;
	mean: number;
}

export function summarize(values: number[]): Summary {
	const n = values.length;
	return {
		n,
		p50: percentile(values, 50),
		p90: percentile(values, 90),
		p99: percentile(values, 99),
		max: n ? Math.max(...values) : NaN,
		mean: n ? values.reduce((a, b) => a + b, 0) / n : NaN
	};
}

/** `1.23 ms` with a sensible number of digits. */
export function ms(value: number): string {
	if (!Number.isFinite(value)) return "n/a";
	if (value >= 100) return `${value.toFixed(0)} ms`;
	if (value >= 10) return `${value.toFixed(1)} ms`;
	return `${value.toFixed(2)} ms`;
}

export function mb(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Wall-clock epoch milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function epochNow(): number {
	return performance.timeOrigin + performance.now();
}

export const sleep = (millis: number) => new Promise<void>(resolve => setTimeout(resolve, Math.max(0, millis)));
