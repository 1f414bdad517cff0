import { randomBytes } from "node:crypto";

let lastMillis = 0;
let counter = 0;

/** Random bytes are drawn in blocks: one `randomBytes` call per id cost more than the rest of the id (~9 µs). */
const RANDOM_BLOCK = 4096;
let randomHex = "";
let randomAt = 0;

/** 8 random hex characters. */
function randomSuffix(): string {
	if (randomAt + 8 > randomHex.length) {
		randomHex = randomBytes(RANDOM_BLOCK / 2).toString("hex");
		randomAt = 0;
	}
	randomAt += 8;
	return randomHex.slice(randomAt - 8, randomAt);
}

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
		randomSuffix()
	);
}

/** This process's part of context ids: random, so the ids of two nodes, or of two lives of one node, never meet. */
const PROCESS_TOKEN = randomBytes(8).toString("hex");
let contextSeq = 0;

/**
 * Ids of Moleculer contexts (a request's id on the wire, an event's): this process's token and a counter. Moleculer's
 * own draws four random numbers and joins sixteen pieces into a UUID for each, and the core makes about seven contexts a
 * task (three events, each emitted and handed to a listener, and the submit call): ~0.3 µs apiece.
 */
export function contextId(): string {
	return PROCESS_TOKEN + (++contextSeq).toString(36);
}
