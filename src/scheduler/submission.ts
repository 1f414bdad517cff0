import { InvalidFieldNameError, InvalidScheduleError } from "../errors";
import { newId } from "../ids";
import { describeUnstorableKey, findUnstorableKey } from "../store/field-names";
import type { TaskType } from "../tasks/registry";
import { iso } from "../time";
import { nextCronRun, parseRunAt } from "./schedule";
import { type TaskDoc, type TaskStatus, UNSET_UNTIL_USED } from "./task-doc";

export interface SubmitRequest {
	type: string;
	payload?: unknown;
	priority?: number;
	key?: string;
	dependsOn?: string[];
	runAt?: string;
	cron?: string;
	timeZone?: string;
	maxAttempts?: number;
	timeoutMs?: number;
	idempotencyKey?: string;
	metadata?: Record<string, unknown>;
	/** Run inside this browser profile's session, after the profile's earlier tasks (its per-key FIFO). */
	profileId?: string;
}

export interface SubmitAnswer {
	id: string;
	status: TaskStatus;
	estimatedDurationMs: number;
	/** True when an earlier submit with the same idempotencyKey is answered. */
	duplicate?: boolean;
}

/** The per-key FIFO key of a profile's tasks. */
export function profileKey(profileId: string): string {
	return `profile:${profileId}`;
}

/**
 * The document of a submitted task, queued, not stored yet. `type` is the request's type, its payload already
 * checked against the type's schema; this checks what the schema cannot (field names a store refuses, the schedule,
 * a key beside a profile) and fills in the type's defaults.
 */
export function newTaskDoc(req: SubmitRequest, type: TaskType, now = Date.now()): TaskDoc {
	for (const [field, value] of [["payload", req.payload], ["metadata", req.metadata]] as const) {
		const bad = findUnstorableKey(value, field);
		if (bad) throw new InvalidFieldNameError(describeUnstorableKey(bad), bad);
	}
	// A recurring task first runs at runAt if given, else at its first firing; the expression is checked either way.
	const firstFiring = req.cron ? nextCronRun(req.cron, req.timeZone ?? null, now) : now;
	const availableAt = req.runAt ? parseRunAt(req.runAt) : firstFiring;
	const key = req.profileId ? profileKey(req.profileId) : req.key;
	if (req.profileId && req.key && req.key !== key)
		throw new InvalidScheduleError("A task with a profileId runs in that profile's queue: leave `key` unset", { key: req.key, profileId: req.profileId });

	const doc: TaskDoc = {
		_id: newId(),
		type: type.name,
		payload: req.payload ?? {},
		priority: req.priority ?? 5,
		...(key ? { key } : {}),
		...(req.profileId ? { profileId: req.profileId } : {}),
		dependsOn: [...new Set(req.dependsOn ?? [])],
		// The fields of UNSET_UNTIL_USED are stored once they have a value.
		...(req.runAt ? { runAt: iso(availableAt) } : {}),
		...(req.cron ? { cron: req.cron } : {}),
		...(req.timeZone ? { timeZone: req.timeZone } : {}),
		availableAt: iso(availableAt),
		maxAttempts: req.maxAttempts ?? type.retry.maxAttempts,
		timeoutMillis: req.timeoutMs ?? type.timeoutMillis,
		estimatedDurationMillis: type.estimatedDurationMillis,
		metadata: req.metadata ?? {},
		...unstarted(now)
	};
	if (req.idempotencyKey) doc.idempotencyKey = req.idempotencyKey;
	return doc;
}

/** The next occurrence of a recurring task that ended: its schedule and chain carry over, nothing it recorded. */
export function nextOccurrence(doc: TaskDoc, now = Date.now()): TaskDoc {
	const next = nextCronRun(doc.cron!, doc.timeZone ?? null, Math.max(now, Date.parse(doc.availableAt)));
	const occurrence: TaskDoc = {
		...doc,
		_id: newId(),
		availableAt: iso(next),
		...unstarted(now)
	};
	for (const field of UNSET_UNTIL_USED) if (field !== "cron" && field !== "timeZone") delete occurrence[field];
	occurrence.parentId = doc.parentId ?? doc._id;
	delete occurrence.idempotencyKey;
	return occurrence;
}

/** What a task created at `now` starts with: queued, no attempt, nothing recorded. */
function unstarted(now: number) {
	return { status: "queued" as const, attempts: 0, progress: 0, createdAt: iso(now), updatedAt: iso(now), history: [], log: [] };
}

export function submitAnswer(doc: TaskDoc, duplicate: boolean): SubmitAnswer {
	const answer: SubmitAnswer = { id: doc._id, status: doc.status, estimatedDurationMs: doc.estimatedDurationMillis };
	if (duplicate) answer.duplicate = true;
	return answer;
}
