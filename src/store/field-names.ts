/**
 * Field names neither store can hold inside a document: NeDB refuses a key that starts with `$` or contains `.`, and
 * MongoDB reads both as operators or paths in queries and updates. Free-form values that users and task handlers send
 * (payloads, metadata, results, log data) are checked here, so such a key is a clear error rather than a failed write.
 */
export interface UnstorableKey {
	key: string;
	/** Where it is, e.g. `payload.items[2]`. */
	at: string;
}

export function findUnstorableKey(value: unknown, at: string): UnstorableKey | undefined {
	if (value === null || typeof value !== "object") return undefined;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) {
			const found = findUnstorableKey(value[i], `${at}[${i}]`);
			if (found) return found;
		}
		return undefined;
	}
	for (const key of Object.keys(value)) {
		if (key.startsWith("$") || key.includes(".")) return { key, at };
		const found = findUnstorableKey((value as Record<string, unknown>)[key], `${at}.${key}`);
		if (found) return found;
	}
	return undefined;
}

export function describeUnstorableKey({ key, at }: UnstorableKey): string {
	return `key "${key}" in ${at}: keys must not start with "$" or contain "."`;
}

/**
 * A free-form value made safe to store without failing the write: as JSON when the store can hold it, else as its
 * JSON text (unstorable keys), else as a string (not JSON). For diagnostics (log data, error data), never results.
 */
export function storableDiagnostic(value: unknown): unknown {
	let text: string | undefined;
	try {
		text = JSON.stringify(value);
	} catch {
		return String(value);
	}
	if (text === undefined) return null;
	const json = JSON.parse(text);
	return findUnstorableKey(json, "data") ? text : json;
}
