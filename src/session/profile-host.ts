import type { Page } from "playwright";
import type { BrowserPool } from "../browser/browser-pool";
import type { Fingerprint } from "../browser/fingerprint";
import { GuardProxy } from "../browser/guard-proxy";
import type { PoolSession } from "../browser/session";
import { quietly } from "../browser/timeouts";
import { BrowserUnavailableError, NoBrowserCapacityError, SessionNotFoundError } from "../errors";
import type { SessionEndReason } from "../events";
import { EMPTY_STATE, type ProfileState } from "../profile/profile-state";
import type { Sealed, SecretBox } from "../profile/secret-box";
import type { UrlPolicy } from "../tasks/url-policy";
import { type ActionStep, type ActionsResult, runActions } from "./actions";
import { StateKeeper } from "./state-keeper";

/** What `session-manager` sends a browser node to open a profile's session. Secrets stay sealed on the wire. */
export interface OpenSessionRequest {
	sessionId: string;
	profileId: string;
	fingerprint?: Fingerprint;
	proxy?: { server: string; credentials: Sealed | null } | null;
	state?: Sealed | null;
	persistIndexedDB?: boolean;
}

/** A captured state, sealed for the trip to the store, with the counts kept in clear. */
export interface SealedState {
	state: Sealed;
	info: { cookies: number; origins: number };
}

export interface HostCallbacks {
	/** A periodic capture of a running session. */
	snapshot(sessionId: string, profileId: string, state: SealedState): Promise<void>;
	/** The session ended on its own (idle, too long, crashed, node stopping); `state` is null when none could be read. */
	ended(sessionId: string, profileId: string, reason: SessionEndReason, state: SealedState | null): Promise<void>;
	/** Proves the node's sessions are alive; answers the ids whose lock is gone (they must end without saving). */
	heartbeat(sessionIds: string[], lastActivity: Record<string, string>): Promise<string[]>;
}

export interface HostOptions {
	idleSecs: number;
	maxSecs: number;
	snapshotMillis: number;
	heartbeatMillis: number;
	/** How long an open waits for a free browser slot. */
	startWaitMillis: number;
	operationTimeoutMillis: number;
}

interface HostedSession {
	sessionId: string;
	profileId: string;
	pool: PoolSession;
	keeper: StateKeeper;
	startedAt: number;
	lastActivityAt: number;
	lastSnapshotAt: number;
	proxyKey?: string;
	/** Set once the session is ending: no second end, no snapshot after it. */
	ending?: Promise<SealedState | null>;
	/** Calls (actions, tasks) in progress. */
	busy: number;
}

/**
 * The profile sessions a browser node holds (shared/seeds/000 §4.1 steps 4–10): each is a pool context opened with the
 * profile's fingerprint and proxy, its cookies and localStorage restored; it is watched (idle time, longest run,
 * crash), snapshotted periodically, and its state captured before it closes. Profile proxies are chained behind a
 * guard proxy of their own, so the URL policy holds for them too. No store here: the state travels sealed to
 * `session-manager`.
 */
export class ProfileSessionHost {
	private readonly sessions = new Map<string, HostedSession>();
	private readonly proxies = new Map<string, { proxy: GuardProxy; started: Promise<void>; users: number }>();
	private timers: NodeJS.Timeout[] = [];
	private beating = false;

	constructor(
		private readonly nodeId: string,
		private readonly pool: BrowserPool,
		private readonly box: SecretBox,
		private readonly policy: UrlPolicy,
		private readonly options: HostOptions,
		private readonly callbacks: HostCallbacks,
		private readonly logger: { debug(...a: unknown[]): void; warn(...a: unknown[]): void }
	) {}

	start(): void {
		const every = (millis: number, fn: () => void) => {
			const t = setInterval(fn, millis);
			t.unref();
			this.timers.push(t);
		};
		every(1000, () => this.watch());
		every(this.options.heartbeatMillis, () => void this.heartbeat());
	}

	async open(request: OpenSessionRequest) {
		const state: ProfileState = request.state ? this.box.open<ProfileState>(request.state) : EMPTY_STATE;
		const proxy = request.proxy ? await this.proxyFor(request.proxy) : undefined;
		let pool: PoolSession;
		try {
			pool = await this.pool.acquire({
				taskId: `profile:${request.profileId}`,
				signal: AbortSignal.timeout(this.options.startWaitMillis),
				onFailure: err => this.onFailure(request.sessionId, err),
				fingerprint: request.fingerprint,
				// Loopback explicitly through the guard too (Playwright adds it unless a bypass names a loopback host).
				proxy: proxy ? { server: proxy.url, bypass: "<-loopback>" } : undefined,
				// The host ends sessions itself, state saved, at `maxSecs`; the pool's limit is the backstop.
				limits: { maxDurationSecs: this.options.maxSecs + 60, maxPages: 100 }
			});
		} catch (err: any) {
			if (proxy) this.dropProxy(proxy.key);
			if (err?.name === "TimeoutError") throw new NoBrowserCapacityError(`node ${this.nodeId} waited ${this.options.startWaitMillis} ms`);
			throw asServiceError(err);
		}
		const keeper = new StateKeeper(pool.context, { indexedDB: !!request.persistIndexedDB, timeoutMillis: this.options.operationTimeoutMillis });
		try {
			await keeper.restore(state);
		} catch (err) {
			this.pool.release(pool, true);
			if (proxy) this.dropProxy(proxy.key);
			throw asServiceError(err);
		}
		const now = Date.now();
		const hosted: HostedSession = {
			sessionId: request.sessionId,
			profileId: request.profileId,
			pool,
			keeper,
			startedAt: now,
			lastActivityAt: now,
			lastSnapshotAt: now,
			proxyKey: proxy?.key,
			busy: 0
		};
		pool.page.on("framenavigated", () => (hosted.lastActivityAt = Date.now()));
		this.sessions.set(request.sessionId, hosted);
		return { sessionId: request.sessionId, nodeId: this.nodeId, browserId: pool.browserId, warm: pool.warm, acquireMillis: pool.acquireMillis };
	}

	/** Captures the state, then closes the context. Answers null when the state could not be read. */
	close(sessionId: string): Promise<SealedState | null> {
		return this.end(this.get(sessionId));
	}

	async actions(sessionId: string, steps: ActionStep[], timeoutMs: number, saveArtifact: Parameters<typeof runActions>[2]["saveArtifact"]): Promise<ActionsResult> {
		return this.using(sessionId, hosted =>
			runActions(hosted.pool.page, steps, { timeoutMs, saveArtifact, checkUrl: url => this.policy.assertAllowed(url) })
		);
	}

	/** Runs `work` with the session's page (a task running inside the profile's identity). */
	async using<T>(sessionId: string, work: (hosted: { pool: PoolSession; page: Page }) => Promise<T>): Promise<T> {
		const hosted = this.get(sessionId);
		hosted.busy++;
		hosted.lastActivityAt = Date.now();
		try {
			return await work({ pool: hosted.pool, page: hosted.pool.page });
		} finally {
			hosted.busy--;
			hosted.lastActivityAt = Date.now();
		}
	}

	/** The pool session behind a profile session (a task running inside the profile). */
	poolSession(sessionId: string): PoolSession {
		const hosted = this.get(sessionId);
		hosted.lastActivityAt = Date.now();
		return hosted.pool;
	}

	list() {
		return [...this.sessions.values()].map(s => ({
			sessionId: s.sessionId,
			profileId: s.profileId,
			nodeId: this.nodeId,
			browserId: s.pool.browserId,
			url: s.pool.page.isClosed() ? null : s.pool.page.url(),
			pages: s.pool.context.pages().length,
			memoryMb: s.pool.memoryMb ?? null,
			startedAt: new Date(s.startedAt).toISOString(),
			lastActivityAt: new Date(s.lastActivityAt).toISOString(),
			lastSnapshotAt: new Date(s.lastSnapshotAt).toISOString()
		}));
	}

	/** Node stopping: every session's state is captured and handed over before the browsers close. */
	async stop(): Promise<void> {
		for (const t of this.timers) clearInterval(t);
		this.timers = [];
		await Promise.all([...this.sessions.values()].map(s => this.endAndReport(s, "node-shutdown")));
		await Promise.all([...this.proxies.values()].map(p => p.proxy.stop()));
		this.proxies.clear();
	}

	private get(sessionId: string): HostedSession {
		const hosted = this.sessions.get(sessionId);
		if (!hosted || hosted.ending) throw new SessionNotFoundError(sessionId);
		return hosted;
	}

	/**
	 * Ends a session once: captures its state (unless it crashed), releases its context for replacement, drops its
	 * proxy.
	 */
	private end(hosted: HostedSession, capture = true): Promise<SealedState | null> {
		hosted.ending ??= (async () => {
			let sealed: SealedState | null = null;
			if (capture && !hosted.pool.context.pages().every(p => p.isClosed())) {
				try {
					sealed = this.seal(await hosted.keeper.capture());
				} catch (err: any) {
					this.logger.warn(`session ${hosted.sessionId}: state could not be captured (${err?.message}); the last snapshot stands`);
				}
			}
			this.sessions.delete(hosted.sessionId);
			// Closed before the stop answers: the session's resources are gone when it says so.
			await this.pool.release(hosted.pool, true);
			if (hosted.proxyKey) this.dropProxy(hosted.proxyKey);
			return sealed;
		})();
		return hosted.ending;
	}

	private async endAndReport(hosted: HostedSession, reason: SessionEndReason, capture = true): Promise<void> {
		if (hosted.ending) return;
		const state = await this.end(hosted, capture);
		await this.callbacks.ended(hosted.sessionId, hosted.profileId, reason, state).catch(err => {
			this.logger.warn(`session ${hosted.sessionId}: end could not be reported: ${err?.message}`);
		});
	}

	/** The pool closed the context (crash, memory): nothing can be read any more; the last snapshot stands. */
	private onFailure(sessionId: string, err: Error): void {
		const hosted = this.sessions.get(sessionId);
		if (!hosted) return;
		const type = (err as any)?.type;
		void this.endAndReport(hosted, type === "BROWSER_CRASHED" ? "crashed" : "limit", false);
	}

	private watch(): void {
		const now = Date.now();
		for (const s of this.sessions.values()) {
			if (s.ending) continue;
			if (now - s.startedAt > this.options.maxSecs * 1000) void this.endAndReport(s, "max-duration");
			else if (s.busy === 0 && now - s.lastActivityAt > this.options.idleSecs * 1000) void this.endAndReport(s, "idle");
			else if (now - s.lastSnapshotAt >= this.options.snapshotMillis) void this.snapshot(s);
		}
	}

	private async snapshot(s: HostedSession): Promise<void> {
		s.lastSnapshotAt = Date.now();
		try {
			const state = this.seal(await s.keeper.capture());
			if (!s.ending) await this.callbacks.snapshot(s.sessionId, s.profileId, state);
		} catch (err: any) {
			this.logger.debug(`session ${s.sessionId}: snapshot skipped: ${err?.message}`);
		}
	}

	private async heartbeat(): Promise<void> {
		if (this.beating || this.sessions.size === 0) return;
		this.beating = true;
		try {
			const live = [...this.sessions.values()].filter(s => !s.ending);
			const activity = Object.fromEntries(live.map(s => [s.sessionId, new Date(s.lastActivityAt).toISOString()]));
			const lost = await this.callbacks.heartbeat(
				live.map(s => s.sessionId),
				activity
			);
			for (const sessionId of lost) {
				const s = this.sessions.get(sessionId);
				if (!s) continue;
				// Another node owns the profile now: this session's state must not overwrite it.
				this.logger.warn(`session ${sessionId}: its lock was taken over; closing without saving`);
				void this.end(s, false);
			}
		} catch (err: any) {
			this.logger.debug(`session heartbeat failed: ${err?.message}`);
		} finally {
			this.beating = false;
		}
	}

	private seal(state: ProfileState): SealedState {
		return { state: this.box.seal(state), info: { cookies: state.cookies.length, origins: state.origins.length } };
	}

	/** A guard proxy chained to the profile's proxy, shared by the sessions that use the same one. */
	private async proxyFor(config: { server: string; credentials: Sealed | null }): Promise<{ url: string; key: string }> {
		const credentials = config.credentials ? this.box.open<{ username: string; password: string }>(config.credentials) : undefined;
		const key = JSON.stringify([config.server, credentials?.username ?? "", credentials?.password ?? ""]);
		let entry = this.proxies.get(key);
		if (!entry) {
			const proxy = new GuardProxy(this.policy, { upstream: { server: config.server, ...credentials } });
			entry = { proxy, started: proxy.start(), users: 0 };
			this.proxies.set(key, entry);
		}
		entry.users++;
		try {
			await entry.started;
		} catch (err) {
			this.dropProxy(key);
			throw err;
		}
		return { url: entry.proxy.url, key };
	}

	private dropProxy(key: string): void {
		const entry = this.proxies.get(key);
		if (!entry || --entry.users > 0) return;
		this.proxies.delete(key);
		void quietly(() => entry.proxy.stop(), this.options.operationTimeoutMillis);
	}
}

/**
 * The pool speaks in task errors (code 500, a class for the scheduler); a caller of the session API gets a 503 with the
 * same type instead, so a browser that is slow or gone never looks like a server fault.
 */
function asServiceError(err: any): unknown {
	if (typeof err?.type === "string" && err.type.startsWith("BROWSER_")) return new BrowserUnavailableError(err);
	if (err?.name === "TimeoutError" || /Timeout/.test(err?.name ?? "")) return new BrowserUnavailableError({ message: err.message });
	return err;
}
