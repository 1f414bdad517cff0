/**
 * Event names and payloads, in one place. Task event payloads follow shared/seeds/004 (SystemEvents), with
 * timestamps as ISO 8601 UTC strings because events cross the transporter as JSON.
 */
import type { ErrorClass } from "./errors";

export const EVENTS = {
	TASK_QUEUED: "task.queued",
	TASK_STARTED: "task.started",
	TASK_PROGRESS: "task.progress",
	TASK_COMPLETED: "task.completed",
	TASK_FAILED: "task.failed",
	TASK_CANCELLED: "task.cancelled",
	/** Internal: the scheduler has ready work; idle workers lease at once instead of waiting for their poll. */
	WORK_AVAILABLE: "scheduler.work-available",
	/** Internal: abort a running task wherever it runs. */
	TASK_ABORT: "scheduler.task-abort",
	/** Internal: a worker's periodic state report. */
	WORKER_HEARTBEAT: "worker.heartbeat",
	PROFILE_START: "profile.start",
	PROFILE_STOP: "profile.stop",
	PROFILE_UPDATE: "profile.update"
} as const;

/** Where a session start came from (shared/seeds/000 §2.1, §3.3). */
export const SESSION_SOURCES = ["api", "gui", "cli", "automation", "scheduled"] as const;
export type SessionSource = (typeof SESSION_SOURCES)[number];

/** shared/seeds/000 §2.1 `profile.start` payload. */
export interface ProfileStartEvent {
	event: "profile.start";
	profileId: string;
	timestamp: string;
	source: SessionSource;
	sessionId: string;
	nodeId: string;
}

/** Why a session ended: asked to, or one of the lifecycle limits of shared/seeds/000 §4.1. */
export type SessionEndReason = "stopped" | "idle" | "max-duration" | "crashed" | "node-gone" | "node-shutdown" | "limit";

export interface ProfileStopEvent {
	event: "profile.stop";
	profileId: string;
	timestamp: string;
	sessionId: string;
	reason: SessionEndReason;
	/** False when the state could not be captured at the end and the last snapshot stands. */
	stateSaved: boolean;
}

export interface ProfileUpdateEvent {
	event: "profile.update";
	profileId: string;
	timestamp: string;
	/** Names of the fields the update changed. */
	changes: string[];
}

/** Every public task event, in the order a task passes through them. */
export const TASK_EVENTS = [
	EVENTS.TASK_QUEUED,
	EVENTS.TASK_STARTED,
	EVENTS.TASK_PROGRESS,
	EVENTS.TASK_COMPLETED,
	EVENTS.TASK_FAILED,
	EVENTS.TASK_CANCELLED
] as const;

/** Every event a client can follow on `GET /api/events`. */
export const STREAMED_EVENTS: readonly string[] = [...TASK_EVENTS, EVENTS.PROFILE_START, EVENTS.PROFILE_STOP, EVENTS.PROFILE_UPDATE];

export interface TaskQueuedEvent {
	taskId: string;
	taskType: string;
	priority: number;
	estimatedDuration?: number;
	metadata?: Record<string, unknown>;
	timestamp: string;
}

export interface TaskStartedEvent {
	taskId: string;
	taskType: string;
	startedAt: string;
	attempt: number;
	nodeId: string;
}

export interface TaskProgressEvent {
	taskId: string;
	/** Not in the seed's payload: lets a stream filtered by type keep the progress of that type only. */
	taskType: string;
	progress: number;
	currentOperation?: string;
	estimatedTimeRemaining?: number;
	timestamp: string;
}

export interface TaskCompletedEvent {
	taskId: string;
	taskType: string;
	result: unknown;
	duration: number;
	timestamp: string;
}

export interface TaskFailedEvent {
	taskId: string;
	taskType: string;
	error: string;
	errorType: string;
	errorClass: ErrorClass;
	retryable: boolean;
	attemptCount: number;
	/** When the next attempt is due, if one will be made. */
	retryAfter?: number;
	willRetry: boolean;
	timestamp: string;
}

export interface TaskCancelledEvent {
	taskId: string;
	taskType: string;
	reason?: string;
	timestamp: string;
}

export interface WorkAvailableEvent {
	ready: number;
}

export interface TaskAbortEvent {
	taskId: string;
	leaseId: string;
	reason: string;
}

export interface WorkerHeartbeat {
	nodeId: string;
	pid: number;
	concurrency: number;
	running: string[];
	processed: number;
	startedAt: string;
	timestamp: string;
	accepting: boolean;
	/** Browser slots this node advertises (absent on nodes without a browser pool). */
	browsers?: { total: number; busy: number; free: number; waiting: number; launchError?: string };
}
