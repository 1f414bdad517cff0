import type { LogLevel } from "../tasks/definition";
import type { TaskFailure } from "./classify";

export type TaskStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
export const TASK_STATUSES: TaskStatus[] = ["queued", "running", "completed", "failed", "cancelled"];

export interface Lease {
	id: string;
	owner: string;
	startedAt: string;
	expiresAt: string;
}

/** How one attempt ended. */
export type AttemptOutcome = "completed" | "failed" | "cancelled" | "lease-expired" | "node-left" | "handed-back";

export interface AttemptRecord {
	attempt: number;
	leaseId: string;
	nodeId: string;
	startedAt: string;
	endedAt: string;
	outcome: AttemptOutcome;
	error?: TaskFailure;
}

export interface LogEntry {
	timestamp: string;
	level: LogLevel;
	message: string;
	data?: unknown;
}

/** A task's fields. Timestamps are ISO 8601 UTC strings, which sort the same in both stores. */
export type TaskFields = {
	type: string;
	payload: unknown;
	priority: number;
	/** Absent when the task has none (the `key` index is sparse); the API shows `null` then. */
	key?: string | null;
	/** The task runs inside this browser profile's session (its key is `profile:<id>`: one at a time per profile). */
	profileId?: string;
	dependsOn: string[];
	status: TaskStatus;
	runAt: string | null;
	cron: string | null;
	timeZone: string | null;
	/** Not before this (runAt, cron occurrence, retry backoff). */
	availableAt: string;
	maxAttempts: number;
	timeoutMillis: number;
	estimatedDurationMillis: number;
	idempotencyKey?: string;
	metadata: Record<string, unknown>;
	/** Attempts started and not handed back. */
	attempts: number;
	lease: Lease | null;
	/** Set while a cancel waits for the running attempt to stop. */
	cancelRequested: string | null;
	progress: number;
	step: string | null;
	result: unknown;
	error: TaskFailure | null;
	/** Occurrence chain of a recurring task: the first occurrence's id. */
	parentId: string | null;
	nodeId: string | null;
	createdAt: string;
	updatedAt: string;
	startedAt: string | null;
	finishedAt: string | null;
	durationMillis: number | null;
	history: AttemptRecord[];
	log: LogEntry[];
};

/**
 * Fields a task stores only once they have a value; the API shows them as `null` until then. A new task carried
 * thirteen `null`s, and the embedded store (NeDB) copies, checks and serializes every key of a document on every
 * insert, update and read.
 */
export const UNSET_UNTIL_USED = [
	"runAt",
	"cron",
	"timeZone",
	"lease",
	"cancelRequested",
	"step",
	"result",
	"error",
	"parentId",
	"nodeId",
	"startedAt",
	"finishedAt",
	"durationMillis"
] as const;
type UnsetUntilUsed = (typeof UNSET_UNTIL_USED)[number];

/** A task as stored. */
export type TaskDoc = Omit<TaskFields, UnsetUntilUsed> & Partial<Pick<TaskFields, UnsetUntilUsed>> & { _id: string };

/** A task as the API shows it. */
export type TaskView = Omit<TaskFields, "key"> & { id: string; key: string | null };

/** The public shape: `id` instead of `_id`, `key: null` for a task without one. */
export function toView(doc: TaskDoc): TaskView {
	const { _id, key, ...rest } = doc;
	const view = { id: _id, ...rest, key: key ?? null } as TaskView;
	for (const field of UNSET_UNTIL_USED) if (view[field] === undefined) (view as Record<string, unknown>)[field] = null;
	return view;
}

/** What a worker receives for one attempt. */
export interface LeasedTask {
	id: string;
	type: string;
	payload: unknown;
	attempt: number;
	leaseId: string;
	leaseExpiresAt: string;
	timeoutMillis: number;
	profileId?: string;
}

/** What a worker reports when an attempt ends. */
export type FinishReport = {
	id: string;
	leaseId: string;
	log?: LogEntry[];
} & ({ ok: true; result: unknown } | { ok: false; error: TaskFailure });

export interface FinishAnswer {
	id: string;
	accepted: boolean;
	/** Set when the report was refused (LEASE_LOST). */
	error?: string;
}

export interface RenewItem {
	id: string;
	leaseId: string;
	log?: LogEntry[];
}

export interface RenewAnswer {
	/** Leases this worker no longer holds: stop those attempts, their results would be refused. */
	lost: string[];
	/** Tasks cancelled while running: abort them. */
	abort: string[];
	leaseExpiresAt: string;
}
