/**
 * Every error Nightshift throws. `code` is the HTTP status the gateway answers with, `type` a stable constant
 * clients can branch on. Errors cross the transporter as plain objects, so code reads `err.type` / `err.retryable`,
 * never `instanceof`.
 */
import { Errors } from "moleculer";

const { MoleculerClientError, MoleculerError, MoleculerRetryableError } = Errors;

/** How a failed attempt is treated: retried, dead-lettered at once, or dead-lettered with a hint for a human. */
export type ErrorClass = "retryable" | "fatal" | "user-actionable";

export const ERROR_TYPES = {
	UNKNOWN_TASK_TYPE: "UNKNOWN_TASK_TYPE",
	INVALID_TASK_PAYLOAD: "INVALID_TASK_PAYLOAD",
	INVALID_FIELD_NAME: "INVALID_FIELD_NAME",
	INVALID_SCHEDULE: "INVALID_SCHEDULE",
	URL_NOT_ALLOWED: "URL_NOT_ALLOWED",
	DEPENDENCY_NOT_FOUND: "DEPENDENCY_NOT_FOUND",
	TASK_NOT_FOUND: "TASK_NOT_FOUND",
	TASK_STATE_CONFLICT: "TASK_STATE_CONFLICT",
	LEASE_LOST: "LEASE_LOST",
	UNAUTHORIZED: "UNAUTHORIZED",
	NOT_FOUND: "NOT_FOUND",
	TASK_TIMEOUT: "TASK_TIMEOUT",
	TASK_CANCELLED: "TASK_CANCELLED",
	TASK_HANDED_BACK: "TASK_HANDED_BACK",
	DEPENDENCY_FAILED: "DEPENDENCY_FAILED",
	HTTP_CHECK_FAILED: "HTTP_CHECK_FAILED",
	PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
	INVALID_JSON: "INVALID_JSON",
	/** Valid JSON, but not the object every route with a body takes (an array, a string, a number, null). */
	INVALID_BODY: "INVALID_BODY",
	INTERNAL_ERROR: "INTERNAL_ERROR",
	REQUEST_ERROR: "REQUEST_ERROR",
	TASK_ERROR: "TASK_ERROR",
	/** A handler's own connection failed (refused, reset, timed out, no DNS answer): retryable. */
	CONNECTION_FAILED: "CONNECTION_FAILED",
	STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
	SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
	ARTIFACT_NOT_FOUND: "ARTIFACT_NOT_FOUND",
	BROWSER_LAUNCH_FAILED: "BROWSER_LAUNCH_FAILED",
	BROWSER_CRASHED: "BROWSER_CRASHED",
	BROWSER_TIMEOUT: "BROWSER_TIMEOUT",
	BROWSER_POOL_CLOSED: "BROWSER_POOL_CLOSED",
	NAVIGATION_FAILED: "NAVIGATION_FAILED",
	PAGE_HTTP_ERROR: "PAGE_HTTP_ERROR",
	SESSION_MEMORY_LIMIT: "SESSION_MEMORY_LIMIT",
	SESSION_DURATION_LIMIT: "SESSION_DURATION_LIMIT",
	SESSION_PAGE_LIMIT: "SESSION_PAGE_LIMIT",
	PROFILE_NOT_FOUND: "PROFILE_NOT_FOUND",
	GROUP_NOT_FOUND: "GROUP_NOT_FOUND",
	GROUP_NOT_EMPTY: "GROUP_NOT_EMPTY",
	GROUP_NAME_TAKEN: "GROUP_NAME_TAKEN",
	PROFILE_ALREADY_ACTIVE: "PROFILE_ALREADY_ACTIVE",
	PROFILE_NOT_ACTIVE: "PROFILE_NOT_ACTIVE",
	PROFILE_DISABLED: "PROFILE_DISABLED",
	SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
	NO_BROWSER_CAPACITY: "NO_BROWSER_CAPACITY",
	UNKNOWN_EVENT: "UNKNOWN_EVENT"
} as const;

export class UnknownTaskTypeError extends MoleculerClientError {
	constructor(type: string, known: string[]) {
		super(`Unknown task type "${type}"`, 422, ERROR_TYPES.UNKNOWN_TASK_TYPE, { type, known });
	}
}

export class UnknownEventError extends MoleculerClientError {
	constructor(names: string[], known: readonly string[]) {
		super(`Unknown event ${names.map(n => `"${n}"`).join(", ")}`, 422, ERROR_TYPES.UNKNOWN_EVENT, { events: names, known });
	}
}

export class InvalidPayloadError extends MoleculerClientError {
	constructor(type: string, errors: unknown) {
		const said = Array.isArray(errors) ? errors.map(e => e?.message).filter(Boolean) : [];
		super(`Invalid payload for task type "${type}"${said.length ? `: ${said.join(" ")}` : ""}`, 422, ERROR_TYPES.INVALID_TASK_PAYLOAD, { type, errors });
	}
}

/** A request body that is JSON but not an object: every route with a body takes named fields. */
export class InvalidBodyError extends MoleculerClientError {
	constructor(received: string, hint?: string) {
		super(`The request body must be a JSON object, not ${received}${hint ? `; ${hint}` : ""}`, 422, ERROR_TYPES.INVALID_BODY, { received });
	}
}

/** A submitted value holds a key the store cannot keep (see src/store/field-names.ts). */
export class InvalidFieldNameError extends MoleculerClientError {
	constructor(message: string, data: { key: string; at: string }) {
		super(`Cannot store ${message}`, 422, ERROR_TYPES.INVALID_FIELD_NAME, data);
	}
}

export class InvalidScheduleError extends MoleculerClientError {
	constructor(message: string, data: Record<string, unknown>) {
		super(message, 422, ERROR_TYPES.INVALID_SCHEDULE, data);
	}
}

export class UrlNotAllowedError extends MoleculerClientError {
	constructor(url: string, reason: string) {
		super(`URL not allowed: ${reason}`, 422, ERROR_TYPES.URL_NOT_ALLOWED, { url, reason });
	}
}

export class DependencyNotFoundError extends MoleculerClientError {
	constructor(missing: string[]) {
		super(`dependsOn names unknown tasks: ${missing.join(", ")}`, 422, ERROR_TYPES.DEPENDENCY_NOT_FOUND, {
			missing
		});
	}
}

export class TaskNotFoundError extends MoleculerClientError {
	constructor(id: string) {
		super(`Task "${id}" not found`, 404, ERROR_TYPES.TASK_NOT_FOUND, { id });
	}
}

export class TaskStateConflictError extends MoleculerClientError {
	constructor(id: string, status: string, wanted: string) {
		super(`Task "${id}" is ${status}: cannot ${wanted}`, 409, ERROR_TYPES.TASK_STATE_CONFLICT, { id, status });
	}
}

export class LeaseLostError extends MoleculerClientError {
	constructor(id: string, leaseId: string) {
		super(`Lease ${leaseId} on task "${id}" is no longer held`, 409, ERROR_TYPES.LEASE_LOST, { id, leaseId });
	}
}

export class UnauthorizedError extends MoleculerClientError {
	constructor() {
		super("A valid API key is required (x-api-key header or Authorization: Bearer)", 401, ERROR_TYPES.UNAUTHORIZED);
	}
}

export class StoreUnavailableError extends MoleculerRetryableError {
	constructor(message: string) {
		super(message, 503, ERROR_TYPES.STORE_UNAVAILABLE);
	}
}

export class ArtifactNotFoundError extends MoleculerClientError {
	constructor(id: string) {
		super(`Artifact "${id}" not found`, 404, ERROR_TYPES.ARTIFACT_NOT_FOUND, { id });
	}
}

/**
 * An error a task handler throws (or that the runtime raises around it) with an explicit class. Handlers may also
 * throw anything else: `classifyError` decides then.
 */
export class TaskError extends MoleculerError {
	errorClass: ErrorClass;
	constructor(message: string, errorClass: ErrorClass, type: string = ERROR_TYPES.TASK_ERROR, data?: unknown) {
		super(message, 500, type, data);
		this.errorClass = errorClass;
		this.retryable = errorClass === "retryable";
	}
}

export class TaskTimeoutError extends TaskError {
	constructor(timeoutMs: number) {
		super(`Task timed out after ${timeoutMs} ms`, "retryable", ERROR_TYPES.TASK_TIMEOUT, { timeoutMs });
	}
}

export class TaskCancelledError extends TaskError {
	constructor(reason: string) {
		super(`Task cancelled: ${reason}`, "fatal", ERROR_TYPES.TASK_CANCELLED, { reason });
	}
}

/** A per-session limit tripped (shared/seeds/001 §3.2): the session was closed. Memory is worth another try. */
export class SessionLimitError extends TaskError {
	constructor(
		type: typeof ERROR_TYPES.SESSION_MEMORY_LIMIT | typeof ERROR_TYPES.SESSION_DURATION_LIMIT | typeof ERROR_TYPES.SESSION_PAGE_LIMIT,
		message: string,
		data: Record<string, unknown>
	) {
		super(message, type === ERROR_TYPES.SESSION_MEMORY_LIMIT ? "retryable" : "fatal", type, data);
	}
}

/** The browser holding an attempt's session crashed or was closed; the pool replaces it. */
export class BrowserCrashedError extends TaskError {
	constructor(browserId: string) {
		super(`Browser ${browserId} crashed or disconnected`, "retryable", ERROR_TYPES.BROWSER_CRASHED, { browserId });
	}
}

export class ProfileNotFoundError extends MoleculerClientError {
	constructor(id: string) {
		super(`Profile "${id}" not found`, 404, ERROR_TYPES.PROFILE_NOT_FOUND, { id });
	}
}

export class GroupNotFoundError extends MoleculerClientError {
	/** 422 when a profile names an unknown group, 404 when the group itself is asked for. */
	constructor(id: string, code: 404 | 422 = 404) {
		super(`Group "${id}" not found`, code, ERROR_TYPES.GROUP_NOT_FOUND, { id });
	}
}

export class GroupNotEmptyError extends MoleculerClientError {
	constructor(id: string, profileCount: number) {
		super(`Group "${id}" still holds ${profileCount} profiles`, 409, ERROR_TYPES.GROUP_NOT_EMPTY, { id, profileCount });
	}
}

export class GroupNameTakenError extends MoleculerClientError {
	constructor(name: string) {
		super(`A group named "${name}" exists already`, 409, ERROR_TYPES.GROUP_NAME_TAKEN, { name });
	}
}

/** shared/seeds/000 §2.1: a profile runs in one session at a time, anywhere in the cluster. */
export class ProfileAlreadyActiveError extends MoleculerClientError {
	constructor(profileId: string, session: { sessionId: string; nodeId?: string; startedAt?: string }) {
		super(`Profile "${profileId}" is already active`, 409, ERROR_TYPES.PROFILE_ALREADY_ACTIVE, { profileId, ...session });
	}
}

export class ProfileNotActiveError extends MoleculerClientError {
	constructor(profileId: string) {
		super(`Profile "${profileId}" has no running session`, 409, ERROR_TYPES.PROFILE_NOT_ACTIVE, { profileId });
	}
}

export class ProfileDisabledError extends MoleculerClientError {
	constructor(profileId: string) {
		super(`Profile "${profileId}" is disabled`, 409, ERROR_TYPES.PROFILE_DISABLED, { profileId });
	}
}

export class SessionNotFoundError extends MoleculerClientError {
	constructor(sessionId: string) {
		super(`Session "${sessionId}" not found (never started, or ended)`, 404, ERROR_TYPES.SESSION_NOT_FOUND, { sessionId });
	}
}

/** A profile session could not be opened for a browser reason (a timeout, a crash, a launch): worth another try. */
export class BrowserUnavailableError extends MoleculerRetryableError {
	constructor(cause: { message?: string; type?: string; data?: unknown }) {
		super(cause.message ?? "The browser is not available", 503, cause.type ?? ERROR_TYPES.BROWSER_TIMEOUT, cause.data);
	}
}

export class NoBrowserCapacityError extends MoleculerRetryableError {
	constructor(detail: string) {
		super(`No browser slot is free: ${detail}`, 503, ERROR_TYPES.NO_BROWSER_CAPACITY, { detail });
	}
}
