/** Polls `probe` every `intervalMillis` until it returns a truthy value; fails after `timeoutMillis`. */
export async function waitFor<T>(
	probe: () => Promise<T> | T,
	{ timeoutMillis = 10_000, intervalMillis = 50, what = "condition" } = {}
): Promise<NonNullable<T>> {
	const deadline = Date.now() + timeoutMillis;
	let last: unknown;
	for (;;) {
		try {
			const value = await probe();
			if (value) return value as NonNullable<T>;
		} catch (err) {
			last = err;
		}
		if (Date.now() > deadline)
			throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
		await new Promise(r => setTimeout(r, intervalMillis));
	}
}
