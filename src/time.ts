/** ISO 8601 UTC with milliseconds (`2025-01-01T00:00:00.000Z`): how every timestamp is stored and sent. */
export function isoNow(): string {
	return new Date().toISOString();
}

export function iso(epochMillis: number): string {
	return new Date(epochMillis).toISOString();
}
