import { type Collection, type Doc, DuplicateKeyError } from "../store";
import type { SessionSource } from "../events";

/**
 * The cluster-wide "profile is active" record (shared/seeds/000 §2.1 "not already active"): one document per running
 * profile, keyed by the profile id so that the store itself refuses a second one. It names the session, the node that
 * holds its browser, and when that node last proved it is alive. A lock whose heartbeat is older than the stale time
 * belongs to a dead node and is taken over by the next start; every later write is fenced by the session id, so the
 * old holder can neither renew nor release what it lost.
 */
export interface SessionLock extends Doc {
	/** The profile id. */
	_id: string;
	sessionId: string;
	/** Node holding the session's browser context (empty while the session is being opened). */
	nodeId: string;
	source: SessionSource;
	status: "starting" | "active";
	startedAt: string;
	heartbeatAt: string;
	/** Heartbeat + stale time: after this, the lock may be taken over. */
	expiresAt: string;
	/** Epoch millis of `expiresAt`, compared in queries (both stores compare numbers the same way). */
	expiresAtMillis: number;
	/** Last action or navigation of the session (idle timeout). */
	lastActivityAt?: string;
}

export type AcquireResult = { acquired: true; lock: SessionLock; takenOver?: SessionLock } | { acquired: false; holder: SessionLock };

export class SessionLocks {
	constructor(
		private readonly locks: Collection<SessionLock>,
		private readonly staleMillis: number,
		private readonly clock: () => number = Date.now
	) {}

	async init(): Promise<void> {
		await this.locks.ensureIndex("sessionId", { unique: true });
		await this.locks.ensureIndex("nodeId");
	}

	/** Takes the profile for `sessionId`: a new lock, or a stale one taken over; else answers the live holder. */
	async acquire(profileId: string, sessionId: string, source: SessionSource): Promise<AcquireResult> {
		const now = this.clock();
		const lock = this.fresh(profileId, sessionId, source, now);
		try {
			await this.locks.insert(lock);
			return { acquired: true, lock };
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
		}
		const holder = await this.locks.findById(profileId);
		if (!holder) return this.acquire(profileId, sessionId, source);
		if (holder.expiresAtMillis > now) return { acquired: false, holder };
		// Conditional on the stale holder: of two starts racing for a stale lock, one wins.
		const { _id, ...fields } = lock;
		const taken = await this.locks.updateOne(
			{ _id: profileId, sessionId: holder.sessionId, expiresAtMillis: { $lte: now } },
			{ $set: fields, $unset: { lastActivityAt: true } }
		);
		if (taken) return { acquired: true, lock: taken, takenOver: holder };
		const current = await this.locks.findById(profileId);
		return current ? { acquired: false, holder: current } : this.acquire(profileId, sessionId, source);
	}

	/** The session's browser is open on `nodeId`. */
	activate(profileId: string, sessionId: string, nodeId: string): Promise<SessionLock | null> {
		return this.locks.updateOne({ _id: profileId, sessionId }, { $set: { nodeId, status: "active", ...this.beat(this.clock()) } });
	}

	/** Heartbeats of the sessions a node holds; answers the ids whose lock is gone (taken over or released). */
	async renew(sessionIds: string[], activity: Record<string, string> = {}): Promise<string[]> {
		const now = this.clock();
		const lost: string[] = [];
		await Promise.all(
			sessionIds.map(async sessionId => {
				const set: Record<string, unknown> = this.beat(now);
				if (activity[sessionId]) set.lastActivityAt = activity[sessionId];
				const renewed = await this.locks.updateOne({ sessionId }, { $set: set });
				if (!renewed) lost.push(sessionId);
			})
		);
		return lost;
	}

	/** Ends the lock of `sessionId`; false when it was no longer held (taken over after going stale). */
	async release(profileId: string, sessionId: string): Promise<boolean> {
		return (await this.locks.deleteMany({ _id: profileId, sessionId })) > 0;
	}

	get(profileId: string): Promise<SessionLock | null> {
		return this.locks.findById(profileId);
	}

	bySession(sessionId: string): Promise<SessionLock | null> {
		return this.locks.findOne({ sessionId });
	}

	/** Live sessions, oldest first; stale ones are left out (their node is gone). */
	live(): Promise<SessionLock[]> {
		return this.locks.find({ expiresAtMillis: { $gt: this.clock() } }, { sort: { startedAt: 1 } });
	}

	onNode(nodeId: string): Promise<SessionLock[]> {
		return this.locks.find({ nodeId });
	}

	private fresh(profileId: string, sessionId: string, source: SessionSource, now: number): SessionLock {
		const startedAt = new Date(now).toISOString();
		return { _id: profileId, sessionId, nodeId: "", source, status: "starting", startedAt, ...this.beat(now) };
	}

	private beat(now: number) {
		return {
			heartbeatAt: new Date(now).toISOString(),
			expiresAt: new Date(now + this.staleMillis).toISOString(),
			expiresAtMillis: now + this.staleMillis
		};
	}
}
