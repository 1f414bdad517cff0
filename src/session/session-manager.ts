import { ERROR_TYPES, ProfileAlreadyActiveError, ProfileDisabledError, ProfileNotActiveError, SessionNotFoundError } from "../errors";
import type { ProfileStartEvent, ProfileStopEvent, SessionEndReason, SessionSource } from "../events";
import { newId } from "../ids";
import type { PublicProfile, StartMaterial } from "../profile/profiles";
import type { KeyedQueue } from "./keyed-queue";
import type { OpenSessionRequest, SealedState } from "./profile-host";
import type { SessionLock, SessionLocks } from "./session-locks";

/** The `profile` service, as session-manager uses it. */
export interface ProfilesPort {
	get(id: string): Promise<PublicProfile>;
	markStarted(id: string): Promise<StartMaterial>;
	/** Answers the profile's `updatedAt` after the save. */
	saveState(id: string, state: SealedState, final: boolean): Promise<string>;
	/** Answers the profile's `updatedAt`, or null when it was not running. */
	markStopped(id: string): Promise<string | null>;
}

/** The browser nodes, as session-manager uses them. */
export interface HostsPort {
	/** The node to open a session on: `pin` when given, else the one with the most free browser slots. */
	pick(pin?: string): Promise<string>;
	open(nodeId: string, request: OpenSessionRequest): Promise<{ browserId: string; warm: boolean; acquireMillis: number }>;
	/** Captures and closes; null when the node no longer holds the session or is gone. */
	close(nodeId: string, sessionId: string): Promise<SealedState | null>;
}

export interface SessionEvents {
	started(event: ProfileStartEvent): void;
	stopped(event: ProfileStopEvent): void;
}

export interface SessionHandle {
	sessionId: string;
	profileId: string;
	nodeId: string;
	browserId: string;
	source: SessionSource;
	startedAt: string;
	/** The profile's `lastUsedAt` (= `updatedAt`) this start wrote. */
	lastUsedAt: string;
	warm: boolean;
}

/**
 * Start and stop of profile sessions with the semantics of shared/seeds/000: validate, lock the profile cluster-wide,
 * `lastUsedAt = updatedAt = now`, open the browser context with the profile's identity and state, answer a handle,
 * emit `profile.start`; on stop capture the state before closing, save it, `updatedAt` only, release, emit
 * `profile.stop`. Everything about one profile runs through one FIFO (§5.1), with retries and a dead letter (§5.2).
 */
export class SessionManager {
	constructor(
		private readonly locks: SessionLocks,
		private readonly queue: KeyedQueue,
		private readonly profiles: ProfilesPort,
		private readonly hosts: HostsPort,
		private readonly events: SessionEvents
	) {}

	start(profileId: string, source: SessionSource, pin?: string): Promise<SessionHandle> {
		const sessionId = newId("s");
		return this.queue.run(profileId, "profile.start", async () => {
			const profile = await this.profiles.get(profileId);
			if (profile.status === "disabled") throw new ProfileDisabledError(profileId);
			const held = await this.locks.get(profileId);
			if (held?.sessionId !== sessionId) {
				const claim = await this.locks.acquire(profileId, sessionId, source);
				if (!claim.acquired) throw new ProfileAlreadyActiveError(profileId, describe(claim.holder));
			}
			try {
				const material = await this.profiles.markStarted(profileId);
				const nodeId = await this.hosts.pick(pin);
				const opened = await this.hosts.open(nodeId, {
					sessionId,
					profileId,
					fingerprint: material.profile.fingerprint,
					proxy: material.proxy,
					state: material.state,
					persistIndexedDB: material.profile.persistIndexedDB
				});
				const lock = await this.locks.activate(profileId, sessionId, nodeId);
				if (!lock) {
					// Taken over while opening (this start stalled past the stale time): the other start owns it now.
					await this.hosts.close(nodeId, sessionId).catch(() => null);
					throw new ProfileAlreadyActiveError(profileId, { sessionId: "" });
				}
				const lastUsedAt = material.profile.lastUsedAt!;
				this.events.started({ event: "profile.start", profileId, timestamp: lastUsedAt, source, sessionId, nodeId });
				return { sessionId, profileId, nodeId, browserId: opened.browserId, source, startedAt: lock.startedAt, lastUsedAt, warm: opened.warm };
			} catch (err) {
				if ((err as any)?.type !== ERROR_TYPES.PROFILE_ALREADY_ACTIVE) await this.abandon(profileId, sessionId);
				throw err;
			}
		});
	}

	/** Stops the profile's session: state captured on its node and saved, then the lock released. */
	stop(profileId: string): Promise<{ sessionId: string; stateSaved: boolean; stoppedAt: string }> {
		let captured: SealedState | null | undefined;
		return this.queue.run(profileId, "profile.stop", async () => {
			const lock = await this.locks.get(profileId);
			if (!lock) throw new ProfileNotActiveError(profileId);
			// Captured once: a retry after a failed save must not ask a closed session again (and lose the state).
			if (captured === undefined) captured = lock.nodeId ? await this.hosts.close(lock.nodeId, lock.sessionId) : null;
			return this.finish(lock, "stopped", captured);
		}, () => (captured ? { profileId, state: captured } : undefined));
	}

	/** A node reports that a session ended on its own (idle, too long, crashed, node stopping). */
	ended(profileId: string, sessionId: string, reason: SessionEndReason, state: SealedState | null): Promise<void> {
		return this.queue.run(
			profileId,
			"profile.stop",
			async () => {
				const lock = await this.locks.get(profileId);
				// Fenced: a session whose lock was taken over must not write over its successor's state.
				if (!lock || lock.sessionId !== sessionId) return;
				await this.finish(lock, reason, state);
			},
			state ? { profileId, sessionId, state } : undefined
		);
	}

	/** A periodic snapshot of a running session, saved only while it still holds the profile. */
	snapshot(profileId: string, sessionId: string, state: SealedState): Promise<void> {
		return this.queue.run(profileId, "profile.snapshot", async () => {
			const lock = await this.locks.get(profileId);
			if (!lock || lock.sessionId !== sessionId) return;
			await this.profiles.saveState(profileId, state, false);
		});
	}

	/** The node holding these sessions left the cluster: they are over; their last snapshots stand. */
	async nodeGone(nodeId: string): Promise<void> {
		const held = await this.locks.onNode(nodeId);
		await Promise.all(held.map(lock => this.ended(lock._id, lock.sessionId, "node-gone", null).catch(() => undefined)));
	}

	async session(sessionId: string): Promise<SessionLock> {
		const lock = await this.locks.bySession(sessionId);
		if (!lock || !lock.nodeId) throw new SessionNotFoundError(sessionId);
		return lock;
	}

	private async finish(lock: SessionLock, reason: SessionEndReason, state: SealedState | null) {
		const updatedAt = state ? await this.profiles.saveState(lock._id, state, true) : await this.profiles.markStopped(lock._id);
		await this.locks.release(lock._id, lock.sessionId);
		// The event carries the instant the stop wrote to the profile (shared/seeds/000 §3.1).
		const stoppedAt = updatedAt ?? new Date().toISOString();
		this.events.stopped({ event: "profile.stop", profileId: lock._id, timestamp: stoppedAt, sessionId: lock.sessionId, reason, stateSaved: !!state });
		return { sessionId: lock.sessionId, stateSaved: !!state, stoppedAt };
	}

	/** A start that failed after taking the lock: release it and put the profile back to idle. */
	private async abandon(profileId: string, sessionId: string): Promise<void> {
		const released = await this.locks.release(profileId, sessionId).catch(() => false);
		if (released) await this.profiles.markStopped(profileId).catch(() => undefined);
	}
}

function describe(lock: SessionLock) {
	return { sessionId: lock.sessionId, nodeId: lock.nodeId, startedAt: lock.startedAt };
}
