/** How a task type retries (shared/seeds/001 §5.1 RetryConfig). */
export interface RetryPolicy {
	/** Attempts in all, the first included. @default 3 (DEFAULT_MAX_ATTEMPTS) */
	maxAttempts: number;
	/** Delay before the second attempt. @default 1000 */
	baseDelayMillis: number;
	/** Growth of the delay per further attempt. @default 2 */
	multiplier: number;
	/** Upper bound of one delay. @default 60000 */
	maxDelayMillis: number;
	/** Spread retries over [delay/2, delay] so failures of many tasks do not retry in lockstep. @default true */
	jitter: boolean;
}

export const DEFAULT_RETRY: Omit<RetryPolicy, "maxAttempts"> = {
	baseDelayMillis: 1000,
	multiplier: 2,
	maxDelayMillis: 60000,
	jitter: true
};

/** Delay before the attempt after `failedAttempt` (1-based). */
export function backoffMillis(policy: RetryPolicy, failedAttempt: number, random: () => number = Math.random): number {
	const exp = policy.baseDelayMillis * Math.pow(policy.multiplier, Math.max(0, failedAttempt - 1));
	const delay = Math.min(policy.maxDelayMillis, exp);
	return Math.round(policy.jitter ? delay / 2 + (random() * delay) / 2 : delay);
}
