import { backoffMillis, type RetryPolicy } from "../scheduler/retry-policy";

/** A job that failed every attempt (shared/seeds/000 §5.2 dead-letter queue). */
export interface DeadLetter {
	key: string;
	/** What the job was (`profile.stop`…). */
	label: string;
	attempts: number;
	error: { message: string; type?: string };
	/** What the job carried, so a human can replay it (already encrypted where it holds secrets). */
	data?: unknown;
	failedAt: string;
}

export interface KeyedQueueOptions {
	retry: RetryPolicy;
	/** Records a job that failed every attempt; awaited before the job's promise rejects. */
	deadLetter(letter: DeadLetter): Promise<void>;
	/** Whether an error is worth another attempt. @default all but client errors (a 404, a 409, a 422) */
	retryable?(err: any): boolean;
	sleep?(millis: number): Promise<void>;
}

/**
 * shared/seeds/000 §5: jobs of one key (a profile) run one at a time in the order they were queued; different keys
 * run in parallel. A failed job is retried with exponential backoff up to the policy's attempts, then dead-lettered,
 * and only then does the next job of its key run: a stop that could not save must not be overtaken by a start.
 */
export class KeyedQueue {
	private readonly tails = new Map<string, Promise<unknown>>();

	constructor(private readonly options: KeyedQueueOptions) {}

	/** Jobs queued or running per key. */
	get keys(): number {
		return this.tails.size;
	}

	/** `data` (or what it answers, read when the letter is written) goes into the dead letter. */
	run<T>(key: string, label: string, job: (attempt: number) => Promise<T>, data?: unknown): Promise<T> {
		const previous = this.tails.get(key) ?? Promise.resolve();
		const result = previous.then(
			() => this.attempt(key, label, job, data),
			() => this.attempt(key, label, job, data)
		);
		const tail = result.catch(() => undefined);
		this.tails.set(key, tail);
		void tail.then(() => {
			if (this.tails.get(key) === tail) this.tails.delete(key);
		});
		return result;
	}

	private async attempt<T>(key: string, label: string, job: (attempt: number) => Promise<T>, data: unknown): Promise<T> {
		const { retry } = this.options;
		const retryable = this.options.retryable ?? isWorthRetrying;
		const sleep = this.options.sleep ?? ((ms: number) => new Promise(resolve => setTimeout(resolve, ms)));
		for (let attempt = 1; ; attempt++) {
			try {
				return await job(attempt);
			} catch (err: any) {
				if (!retryable(err)) throw err;
				if (attempt >= retry.maxAttempts) {
					await this.options.deadLetter({
						key,
						label,
						attempts: attempt,
						error: { message: String(err?.message ?? err), type: err?.type },
						data: typeof data === "function" ? data() : data,
						failedAt: new Date().toISOString()
					});
					throw err;
				}
				await sleep(backoffMillis(retry, attempt));
			}
		}
	}
}

/** A client error (4xx) stays wrong however often it is tried; anything else (a store or network fault) may pass. */
export function isWorthRetrying(err: any): boolean {
	if (err?.retryable === true) return true;
	const code = Number(err?.code);
	return !(Number.isInteger(code) && code >= 400 && code < 500);
}
