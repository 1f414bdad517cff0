/**
 * The longest delay Node's timers keep (2^31 - 1 ms, 24.8 days). A longer one fires after 1 ms instead, so a timer
 * armed for it would fire at once, and, re-armed each time, turn into a busy loop.
 */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/** ISO 8601 UTC with milliseconds (`2025-01-01T00:00:00.000Z`): how every timestamp is stored and sent. */
export function isoNow(): string {
	return iso(Date.now());
}

let lastMillis = NaN;
let lastIso = "";

export function iso(epochMillis: number): string {
	// A busy scheduler formats the same millisecond many times over (one task's timestamps, a batch's).
	if (epochMillis !== lastMillis) {
		lastIso = new Date(epochMillis).toISOString();
		lastMillis = epochMillis;
	}
	return lastIso;
}
