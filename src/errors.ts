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
	INTERNAL_ERROR: "INTERNAL_ERROR",
	REQUEST_ERROR: "REQUEST_ERROR",
	TASK_ERROR: "TASK_ERROR",
	STORE_UNAVAILABLE: "STORE_UNAVAILABLE",
	ARTIFACT_NOT_FOUND: "ARTIFACT_NOT_FOUND",
	BROWSER_LAUNCH_FAILED: "BROWSER_LAUNCH_FAILED",
	BROWSER_CRASHED: "BROWSER_CRASHED",
	BROWSER_TIMEOUT: "BROWSER_TIMEOUT",
	BROWSER_POOL_CLOSED: "BROWSER_POOL_CLOSED",
	NAVIGATION_FAILED: "NAVIGATION_FAILED",
	PAGE_HTTP_ERROR: "PAGE_HTTP_ERROR",
	SESSION_MEMORY_LIMIT: "SESSION_MEMORY_LIMIT",
	SESSION_DURATION_LIMIT: "SESSION_DURATION_LIMIT",
	SESSION_PAGE_LIMIT: "SESSION_PAGE_LIMIT"
} as const;

export class UnknownTaskTypeError extends MoleculerClientError {
	constructor(type: string, known: string[]) {
		super(`Unknown task type "${type}"`, 422, ERROR_TYPES.UNKNOWN_TASK_TYPE, { type, known });
	}
}

export class InvalidPayloadError extends MoleculerClientError {
	constructor(type: string, errors: unknown) {
		super(`Invalid payload for task type "${type}"`, 422, ERROR_TYPES.INVALID_TASK_PAYLOAD, { type, errors });
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
