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
