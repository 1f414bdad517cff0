import type { ArtifactMeta } from "../artifacts/artifact-store";
import type { Fingerprint } from "../browser/fingerprint";
import type { PoolSession, SessionLimits } from "../browser/session";
import type { RetryPolicy } from "../scheduler/retry-policy";

export interface BrowserRequest {
	/** How the context presents itself; contexts of equal fingerprints are reused warm. */
	fingerprint?: Fingerprint;
	/** Tighter or looser limits than the node's defaults for this session. */
	limits?: Partial<SessionLimits>;
	/**
	 * Share contexts with the other sessions that name this group, as they left them (cookies, storage, HTTP cache):
	 * nothing is cleared between them, which saves about a page's worth of browser work per task. Unset: a context of
	 * the session's own, cleared before anyone else uses it. Ignored inside a profile's session.
	 */
	sharedContext?: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** What a handler gets for one attempt. */
export interface TaskContext<P = unknown> {
	taskId: string;
	payload: P;
	/** 1 for the first attempt. */
	attempt: number;
	/** Node running this attempt. */
	nodeId: string;
	/** Aborted on cancel, timeout, lost lease or shutdown hand-back; `signal.reason` says which. */
	signal: AbortSignal;
	/** Reports progress (0–100) and the current step; throttled to 10 events/s, the last always delivered. */
	progress(percent: number, step?: string): void;
	/** Appends to the task's execution log. */
	log(level: LogLevel, message: string, data?: unknown): void;
	/** The URL policy every URL a task touches must pass. */
	urls: UrlGuard;
	/**
	 * A browser session (an isolated context with a page, unless `sharedContext`) from this node's pool: opened on the
	 * first call, the same one on later calls, released when the attempt ends. A crash or a tripped limit aborts `signal`
	 * with its error.
	 */
	browser(request?: BrowserRequest): Promise<PoolSession>;
	/** Stores a file the task produced; it is served at `GET /api/artifacts/:id`. */
	saveArtifact(data: Buffer, input: { contentType: string; name?: string }): Promise<ArtifactMeta>;
}

export interface UrlGuard {
	/** Throws URL_NOT_ALLOWED for a URL this deployment must not reach. */
	assertAllowed(url: string): Promise<void>;
	/** A `dns.lookup` that refuses forbidden addresses at connect time (DNS rebinding, redirects). */
	lookup: typeof import("node:dns").lookup;
}

/** A task type: one file under `tasks/` exporting `default defineTask({...})`. */
export interface TaskDefinition<P = any, R = unknown> {
	/** Unique name used on submit (`type`). */
	name: string;
	description: string;
	/** fastest-validator schema of the payload, checked on submit (422 on mismatch). */
	params: Record<string, unknown>;
	/** Per-attempt timeout; the handler's signal aborts then. @default DEFAULT_TASK_TIMEOUT_MILLIS */
	timeoutMillis?: number;
	retry?: Partial<RetryPolicy>;
	/** Most attempts of this type running at once across the cluster. @default unlimited */
	concurrency?: number;
	/** Shown on submit and used for progress estimates. @default 1000 */
	estimatedDurationMillis?: number;
	/**
	 * Results shared between equal payloads for a while (shared/seeds/001 §4.2), in the scheduler's store so every node
	 * sees them. `key` names what makes two payloads equal; `undefined` bypasses the cache (a forced refresh). A hit
	 * completes the task on submit with the stored result plus `cacheHit: true`.
	 */
	cache?: { key(payload: P): string | undefined; /** @default RESULT_CACHE_TTL_SECS */ ttlMillis?: number };
	/** The URLs a payload will touch, checked against the URL policy on submit. */
	urls?(payload: P): string[];
	/**
	 * The handler opens a browser session (`ctx.browser`): a node whose Chromium cannot start does not lease this type,
	 * so its tasks wait for a node that can run them instead of failing. @default false
	 */
	browser?: boolean;
	handler(ctx: TaskContext<P>): Promise<R>;
}

export function defineTask<P = any, R = unknown>(definition: TaskDefinition<P, R>): TaskDefinition<P, R> {
	return definition;
}
