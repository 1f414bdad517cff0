import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../mixins/db.mixin";
import { browserPoolNodes, chooseBrowserNode, type NodeSlots } from "../src/browser/cluster-pool";
import { NoBrowserCapacityError } from "../src/errors";
import { EVENTS, SESSION_SOURCES, type SessionEndReason, type SessionSource } from "../src/events";
import { newId } from "../src/ids";
import { configOf } from "../src/runtime";
import { ACTION_STEPS_SCHEMA } from "../src/session/actions";
import { type DeadLetter, isWorthRetrying, KeyedQueue } from "../src/session/keyed-queue";
import type { SealedState } from "../src/session/profile-host";
import { type SessionLock, SessionLocks } from "../src/session/session-locks";
import { type HostsPort, type ProfilesPort, SessionManager } from "../src/session/session-manager";

/** A lock as callers see it: the profile id by name, no query-only field. */
function lockView({ _id, expiresAtMillis: _e, ...lock }: SessionLock) {
	return { profileId: _id, ...lock };
}

const sealedState = { type: "object", props: { state: "object", info: "object" } };
const noRetry = { retries: 0 };

/**
 * Profile sessions across the cluster (shared/seeds/000 §2, §4): start/stop with the seed's timestamp rules, the
 * persisted "already active" lock, per-profile FIFO with retries and dead letters, and the bookkeeping of sessions the
 * browser nodes report (snapshots, heartbeats, ends). Browsers live on `browser-pool` nodes; state in `profile`.
 */
const SessionManagerService = {
	name: "session-manager",
	mixins: [DbMixin("sessions", "session_dead_letters")],

	actions: {
		start: {
			params: {
				id: "string",
				source: { type: "enum", optional: true, values: [...SESSION_SOURCES] },
				/** Open the session on this node (a scheduled task runs it where it leased it). */
				nodeId: { type: "string", optional: true }
			},
			handler(this: any, ctx: Context<{ id: string; source?: SessionSource; nodeId?: string }>) {
				return this.manager.start(ctx.params.id, ctx.params.source ?? "api", ctx.params.nodeId);
			}
		},
		stop: {
			params: { id: "string" },
			handler(this: any, ctx: Context<{ id: string }>) {
				return this.manager.stop(ctx.params.id).then((r: object) => ({ profileId: ctx.params.id, ...r }));
			}
		},
		/** `GET /api/sessions`: live sessions, with what their nodes know of them. */
		async list(this: any) {
			const locks = await this.locks.live();
			const nodes = [...new Set<string>(locks.map((l: any) => l.nodeId).filter(Boolean))];
			const details = new Map<string, any>();
			await Promise.all(
				nodes.map(nodeID =>
					this.broker
						.call("browser-pool.profileSessions", {}, { nodeID, timeout: 5000 })
						.then((list: any[]) => list.forEach(s => details.set(s.sessionId, s)))
						.catch(() => undefined)
				)
			);
			return locks.map((lock: SessionLock) => ({ ...lockView(lock), ...details.get(lock.sessionId) }));
		},
		get: {
			params: { sessionId: "string" },
			async handler(this: any, ctx: Context<{ sessionId: string }>) {
				return lockView(await this.manager.session(ctx.params.sessionId));
			}
		},
		/** `POST /api/sessions/:id/actions`: declarative steps run in the session's page on its node. */
		actions: {
			params: { $$strict: true, sessionId: "string", ...ACTION_STEPS_SCHEMA },
			async handler(this: any, ctx: Context<{ sessionId: string; steps: unknown[]; timeoutMs?: number }>) {
				const lock = await this.manager.session(ctx.params.sessionId);
				const { sessionId, steps, timeoutMs } = ctx.params;
				return ctx.call("browser-pool.runSessionActions", { sessionId, steps, timeoutMs }, { nodeID: lock.nodeId, ...noRetry });
			}
		},
		deadLetters: {
			params: { limit: { type: "number", optional: true, convert: true, integer: true, min: 1, max: 500 } },
			handler(this: any, ctx: Context<{ limit?: number }>) {
				return this.collections.session_dead_letters.find({}, { sort: { failedAt: -1 }, limit: ctx.params.limit ?? 100 });
			}
		},

		// ── reported by browser nodes ─────────────────────────────────────────────────────────────────────────
		heartbeat: {
			visibility: "public",
			params: { sessionIds: { type: "array", items: "string" }, lastActivity: { type: "object", optional: true } },
			handler(this: any, ctx: Context<{ sessionIds: string[]; lastActivity?: Record<string, string> }>) {
				return this.locks.renew(ctx.params.sessionIds, ctx.params.lastActivity);
			}
		},
		snapshot: {
			visibility: "public",
			params: { profileId: "string", sessionId: "string", state: sealedState },
			handler(this: any, ctx: Context<{ profileId: string; sessionId: string; state: SealedState }>) {
				return this.manager.snapshot(ctx.params.profileId, ctx.params.sessionId, ctx.params.state);
			}
		},
		ended: {
			visibility: "public",
			params: {
				profileId: "string",
				sessionId: "string",
				reason: "string",
				state: { ...sealedState, optional: true, nullable: true }
			},
			handler(this: any, ctx: Context<{ profileId: string; sessionId: string; reason: SessionEndReason; state?: SealedState | null }>) {
				const { profileId, sessionId, reason, state } = ctx.params;
				return this.manager.ended(profileId, sessionId, reason, state ?? null);
			}
		}
	},

	events: {
		"$node.disconnected"(this: any, ctx: Context<{ node: { id: string } }>) {
			void this.manager.nodeGone(ctx.params.node.id).catch((err: Error) => this.logger.warn("sessions of a gone node", err.message));
		}
	},

	/** A start may wait for a browser slot and then open a context: its deadline is that wait plus a margin. */
	merged(this: any, schema: ServiceSchema<any>) {
		const config = configOf(this.broker);
		(schema.actions!.start as any).timeout = config.sessionStartWaitMillis + config.browserOperationTimeoutMillis * 2;
	},

	created(this: any) {
		const config = configOf(this.broker);
		const broker = this.broker;
		this.locks = new SessionLocks(this.collections.sessions, config.sessionLockStaleSecs * 1000);
		const queue = new KeyedQueue({
			retry: { maxAttempts: 3, baseDelayMillis: 500, multiplier: 2, maxDelayMillis: 5000, jitter: true },
			deadLetter: async (letter: DeadLetter) => {
				this.logger.error(`${letter.label} of profile ${letter.key} failed ${letter.attempts} times: ${letter.error.message}`);
				await this.collections.session_dead_letters.insert({ _id: newId(), ...letter });
			},
			// A start already waited for a browser slot; waiting three times more helps nobody.
			retryable: (err: any) => err?.type !== "NO_BROWSER_CAPACITY" && isWorthRetrying(err)
		});
		const profiles: ProfilesPort = {
			get: id => broker.call("profile.get", { id }),
			markStarted: id => broker.call("profile.markStarted", { id }),
			saveState: (id, s, final) => broker.call("profile.saveState", { id, state: s.state, info: s.info, final }),
			markStopped: id => broker.call("profile.markStopped", { id })
		};
		const hosts: HostsPort = {
			pick: pin => (pin ? Promise.resolve(pin) : this.pickNode()),
			open: (nodeID, request) =>
				broker.call("browser-pool.openProfileSession", request, { nodeID, ...noRetry, timeout: config.sessionStartWaitMillis + config.browserOperationTimeoutMillis }),
			close: (nodeID, sessionId) =>
				broker.call("browser-pool.closeProfileSession", { sessionId }, { nodeID, ...noRetry }).catch((err: any) => {
					// The node lost the session (crashed, restarted) or is gone: the last snapshot stands.
					if (err?.type === "SESSION_NOT_FOUND" || err?.name === "ServiceNotAvailableError" || err?.name === "ServiceNotFoundError") return null;
					throw err;
				})
		};
		this.manager = new SessionManager(this.locks, queue, profiles, hosts, {
			started: event => broker.emit(EVENTS.PROFILE_START, event),
			stopped: event => broker.emit(EVENTS.PROFILE_STOP, event)
		});
	},

	methods: {
		/** The browser node with the most free slots whose Chromium starts: sessions spread over the cluster. */
		async pickNode(this: any): Promise<string> {
			let nodeIds = browserPoolNodes(this.broker);
			if (nodeIds.length === 0) {
				// A node starting up (Chromium launching) or joining: wait for it as for a free slot.
				const waitMillis = configOf(this.broker).sessionStartWaitMillis;
				await this.broker.waitForServices("browser-pool", waitMillis, 50).catch(() => undefined);
				nodeIds = browserPoolNodes(this.broker);
			}
			if (nodeIds.length === 0) throw new NoBrowserCapacityError("no node runs browser-pool");
			const nodes: NodeSlots[] = await Promise.all(
				nodeIds.map(nodeID =>
					this.broker
						.call("browser-pool.slots", {}, { nodeID, timeout: 2000 })
						.then((slots: NodeSlots["slots"]) => ({ nodeID, slots }))
						.catch(() => ({ nodeID, slots: null }))
				)
			);
			return chooseBrowserNode(nodes);
		}
	},

	async started(this: any) {
		await this.locks.init();
	}
} as ServiceSchema<any>;

export default SessionManagerService;
