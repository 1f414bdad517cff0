import type { BrowserPool, SessionRequest } from "../browser/browser-pool";
import type { PoolSession } from "../browser/session";
import type { BrowserSource, Released } from "../worker/run-attempt";
import type { ProfileSessionHost } from "./profile-host";

/** session-manager, as a task running inside a profile uses it. */
export interface ProfileSessions {
	/** Starts the profile's session on this node (source `scheduled`), or throws PROFILE_ALREADY_ACTIVE. */
	start(profileId: string): Promise<{ sessionId: string }>;
	/** Stops it: state captured and saved (shared/seeds/000 `profile.stop`). */
	stop(profileId: string): Promise<unknown>;
}

/**
 * The browser source of a worker node: plain tasks get a pool context; tasks submitted with a `profileId` run in that
 * profile's session, started on this node for the attempt and stopped (state saved) when it ends — a scheduled start
 * like any other (shared/seeds/000 §3.3: it sets `lastUsedAt`). A profile already active elsewhere fails the attempt
 * with a retryable error, so the task waits its turn with backoff.
 */
export class ProfileTaskBrowsers implements BrowserSource {
	private readonly profileOf = new Map<string, string>();

	constructor(
		private readonly pool: BrowserPool,
		private readonly host: ProfileSessionHost,
		private readonly sessions: ProfileSessions
	) {}

	async acquire(request: SessionRequest): Promise<PoolSession> {
		if (!request.profileId) return this.pool.acquire(request);
		const { sessionId } = await this.sessions.start(request.profileId).catch(err => {
			if (err?.type === "PROFILE_ALREADY_ACTIVE") err.retryable = true;
			throw err;
		});
		const session = this.host.poolSession(sessionId);
		this.profileOf.set(session.id, request.profileId);
		return session;
	}

	release(session: PoolSession, discard: boolean): Released {
		const profileId = this.profileOf.get(session.id);
		// A plain task reports without waiting for its context to be cleared.
		if (!profileId) return { reportable: Promise.resolve(), cleared: this.pool.release(session, discard) };
		this.profileOf.delete(session.id);
		// A failed stop is session-manager's to retry and dead-letter; the task's outcome stands.
		const stopped = this.sessions.stop(profileId).then(
			() => undefined,
			() => undefined
		);
		return { reportable: stopped, cleared: stopped };
	}
}
