import { ERROR_TYPES, TaskError } from "../errors";

/** Every browser call gets a deadline (a hung renderer must not hang a slot forever). */
export async function withTimeout<T>(work: Promise<T>, millis: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(
			() => reject(new TaskError(`${what} took longer than ${millis} ms`, "retryable", ERROR_TYPES.BROWSER_TIMEOUT, { what, millis })),
			millis
		);
		timer.unref();
	});
	try {
		return await Promise.race([work, deadline]);
	} finally {
		clearTimeout(timer);
	}
}

/** Runs a cleanup step and swallows its failure: cleanup must never throw over the error that caused it. */
export async function quietly(work: () => Promise<unknown>, millis: number): Promise<void> {
	try {
		await withTimeout(work(), millis, "cleanup");
	} catch {
		// Expected at teardown: the target may already be gone.
	}
}
