import { ErrorClass, ERROR_TYPES } from "../errors";
import { storableDiagnostic } from "../store/field-names";

/** A failed attempt as it is stored and sent over the transporter. */
export interface TaskFailure {
	message: string;
	type: string;
	errorClass: ErrorClass;
	retryable: boolean;
	data?: unknown;
	suggestedAction?: string;
}

/** Node socket errors worth another try: the other side may be back soon. */
const TRANSIENT_CODES = new Set([
	"ECONNREFUSED",
	"ECONNRESET",
	"ETIMEDOUT",
	"EPIPE",
	"EAI_AGAIN",
	"ENOTFOUND",
	"EHOSTUNREACH",
	"ENETUNREACH",
	"UND_ERR_SOCKET",
	"UND_ERR_CONNECT_TIMEOUT"
]);

/** Programming mistakes in a handler: another attempt would fail the same way. */
const BUG_NAMES = new Set(["TypeError", "ReferenceError", "SyntaxError", "RangeError"]);

/**
 * Decides whether a thrown error is worth another attempt (shared/seeds/004 §6): an explicit `errorClass` wins,
 * then an explicit `retryable`, then socket error codes; handler bugs are fatal; anything else is retryable.
 */
export function classifyError(err: unknown): TaskFailure {
	const e = (err ?? {}) as Record<string, any>;
	const message = typeof e.message === "string" ? e.message : String(err);
	// fetch() wraps the socket error in `cause`.
	const socketCode = [e.code, e.cause?.code].find(code => TRANSIENT_CODES.has(code));
	const type = typeof e.type === "string" ? e.type : socketCode ? ERROR_TYPES.CONNECTION_FAILED : ERROR_TYPES.TASK_ERROR;
	let errorClass: ErrorClass;
	if (e.errorClass === "retryable" || e.errorClass === "fatal" || e.errorClass === "user-actionable")
		errorClass = e.errorClass;
	else if (typeof e.retryable === "boolean") errorClass = e.retryable ? "retryable" : "fatal";
	else if (socketCode) errorClass = "retryable";
	else if (BUG_NAMES.has(e.name)) errorClass = "fatal";
	else errorClass = "retryable";
	const failure: TaskFailure = { message, type, errorClass, retryable: errorClass === "retryable" };
	if (e.data !== undefined) failure.data = storableDiagnostic(e.data);
	else if (socketCode) failure.data = { code: socketCode };
	if (typeof e.suggestedAction === "string") failure.suggestedAction = e.suggestedAction;
	return failure;
}
