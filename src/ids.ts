import { randomBytes } from "node:crypto";

let lastMillis = 0;
let counter = 0;

/**
 * Ids that sort by creation time (like ULIDs): 9 base-36 chars of epoch millis, 4 of a per-millisecond counter, 8
 * random. The scheduler's "oldest first" and per-key FIFO order by id, so the order is the submission order.
 */
export function newId(prefix = ""): string {
	const now = Date.now();
	if (now === lastMillis) counter++;
	else {
		lastMillis = now;
		counter = 0;
	}
	return (
		prefix +
		now.toString(36).padStart(9, "0") +
		counter.toString(36).padStart(4, "0") +
		randomBytes(5).toString("hex").slice(0, 8)
	);
}
