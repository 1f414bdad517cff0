import type { ArtifactStore } from "../artifacts/artifact-store";
import type { PoolSession } from "../browser/session";
import type { SessionRequest } from "../browser/browser-pool";
import { ERROR_TYPES, TaskError, TaskTimeoutError } from "../errors";
import { classifyError } from "../scheduler/classify";
import { describeUnstorableKey, findUnstorableKey, storableDiagnostic } from "../store/field-names";
import type { FinishReport, LeasedTask, LogEntry } from "../scheduler/task-doc";
import type { LogLevel, TaskContext, UrlGuard } from "../tasks/definition";
import type { TaskType } from "../tasks/registry";
import { isoNow } from "../time";

/** Most log entries one attempt keeps; a handler logging in a loop must not exhaust the worker's memory. */
export const MAX_LOG_ENTRIES = 1000;

export interface AttemptHooks {
	nodeId: string;
	urls: UrlGuard;
	/** Aborts this attempt (cancel, lost lease, hand-back); the timeout is added here. */
	controller: AbortController;
	progress(percent: number, step: string | undefined): void;
	log(entry: LogEntry): void;
	/** This node's browser pool (nodes without one refuse browser tasks). */
	browsers?: BrowserSource;
	/** The attempt used a browser context: its slot stays taken until `cleared` settles (after the report). */
	holdSlot?(cleared: Promise<void>): void;
	artifacts?: ArtifactStore;
}

/** The part of the browser pool an attempt uses. */
export interface BrowserSource {
	acquire(request: SessionRequest): Promise<PoolSession>;
	/**
	 * `discard`: the attempt was aborted and may still touch the page; replace the context instead of clearing it.
	 * The attempt reports once `reportable` settles (a profile's session is stopped, its state saved, before its next
	 * task can start); `cleared`, when the context is ready for the next task.
	 */
	release(session: PoolSession, discard: boolean): Released;
}

export interface Released {
	reportable: Promise<void>;
	cleared: Promise<void>;
}

const NOTHING_HELD: Released = { reportable: Promise.resolve(), cleared: Promise.resolve() };

/**
 * Runs one attempt of a task: builds its context, enforces the timeout, and turns whatever happens into a report.
 * A handler that ignores its signal is left behind when the attempt is aborted; its late result is dropped.
 */
export async function runAttempt(type: TaskType, task: LeasedTask, hooks: AttemptHooks): Promise<FinishReport> {
	const { controller } = hooks;
	const timer = setTimeout(() => controller.abort(new TaskTimeoutError(task.timeoutMillis)), task.timeoutMillis);
	let logged = 0;
	let session: Promise<PoolSession> | undefined;
	const ctx: TaskContext = {
		taskId: task.id,
		payload: task.payload,
		attempt: task.attempt,
		nodeId: hooks.nodeId,
		signal: controller.signal,
		urls: hooks.urls,
		progress: (percent, step) => hooks.progress(Math.max(0, Math.min(100, Number(percent) || 0)), step),
		log: (level: LogLevel, message: string, data?: unknown) => {
			if (++logged > MAX_LOG_ENTRIES) return;
			const entry: LogEntry = { timestamp: isoNow(), level, message: String(message) };
			if (data !== undefined) entry.data = storableDiagnostic(data);
			hooks.log(logged === MAX_LOG_ENTRIES ? { ...entry, message: `${entry.message} (log limit reached)` } : entry);
		},
		browser: request => {
			const browsers = hooks.browsers;
			if (!browsers)
				return Promise.reject(new TaskError(`Node ${hooks.nodeId} has no browser pool`, "retryable", ERROR_TYPES.BROWSER_LAUNCH_FAILED));
			session ??= browsers.acquire({
				taskId: task.id,
				signal: controller.signal,
				onFailure: err => controller.abort(err),
				fingerprint: request?.fingerprint,
				limits: request?.limits,
				sharedContext: request?.sharedContext,
				profileId: task.profileId
			});
			return session;
		},
		saveArtifact: (data, input) => {
			if (!hooks.artifacts) return Promise.reject(new TaskError("No artifact store on this node", "fatal"));
			return hooks.artifacts.put(data, { ...input, taskId: task.id });
		}
	};
	try {
		const result = await untilAborted(Promise.resolve().then(() => type.definition.handler(ctx)), controller.signal);
		return { id: task.id, leaseId: task.leaseId, ok: true, result: jsonValue(result) };
	} catch (err) {
		const reason = controller.signal.aborted ? controller.signal.reason : err;
		return { id: task.id, leaseId: task.leaseId, ok: false, error: classifyError(reason) };
	} finally {
		clearTimeout(timer);
		if (session) {
			const aborted = controller.signal.aborted;
			const released = session.then(
				s => hooks.browsers!.release(s, aborted),
				() => NOTHING_HELD
			);
			hooks.holdSlot?.(released.then(r => r.cleared));
			await released.then(r => r.reportable);
		}
	}
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
	if (signal.aborted) return Promise.reject(signal.reason);
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(signal.reason);
		signal.addEventListener("abort", onAbort, { once: true });
		work.then(
			value => {
				signal.removeEventListener("abort", onAbort);
				resolve(value);
			},
			err => {
				signal.removeEventListener("abort", onAbort);
				reject(err);
			}
		);
	});
}

/** Results are stored and sent as JSON: a result that is not, or that the store cannot hold, fails the attempt for good. */
function jsonValue(result: unknown): unknown {
	if (result === undefined) return null;
	let value: unknown;
	try {
		value = JSON.parse(JSON.stringify(result));
	} catch (err: any) {
		throw new TaskError(`Task result is not JSON: ${err.message}`, "fatal", ERROR_TYPES.TASK_ERROR);
	}
	const bad = findUnstorableKey(value, "result");
	if (bad) throw new TaskError(`Task result cannot be stored: ${describeUnstorableKey(bad)}`, "fatal", ERROR_TYPES.INVALID_FIELD_NAME, bad);
	return value;
}
