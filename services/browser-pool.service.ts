import type { Context, ServiceSchema } from "moleculer";
import { Readable } from "node:stream";
import { ARTIFACT_ID, type ArtifactMeta, createArtifactStore } from "../src/artifacts";
import { ArtifactNotFoundError } from "../src/errors";
import { BrowserPool } from "../src/browser/browser-pool";
import { GuardProxy } from "../src/browser/guard-proxy";
import { EVENTS, TaskAbortEvent } from "../src/events";
import { configOf } from "../src/runtime";
import { loadSecretKey, SecretBox } from "../src/profile/secret-box";
import { ACTION_STEPS_SCHEMA, type ActionStep } from "../src/session/actions";
import { type OpenSessionRequest, ProfileSessionHost } from "../src/session/profile-host";
import { ProfileTaskBrowsers } from "../src/session/profile-tasks";
import { loadTaskRegistry } from "../src/tasks/load";
import { UrlPolicy } from "../src/tasks/url-policy";
import { Prefetch } from "../src/worker/prefetch";
import { SchedulerClient, TaskWorker } from "../src/worker/worker";

/**
 * Browser capacity of this node: a pool of Chromium browsers and a worker that leases tasks from the scheduler and
 * runs their handlers. Any number of nodes may run it; each adds `WORKER_CONCURRENCY` task slots and
 * `MAX_BROWSERS × MAX_CONTEXTS_PER_BROWSER` browser sessions, advertised in its heartbeat.
 */
const BrowserPoolService: ServiceSchema = {
	name: "browser-pool",

	actions: {
		/** This node's worker and browsers (one entry of `GET /api/pool`). */
		status(this: any) {
			return {
				nodeId: this.broker.nodeID,
				concurrency: configOf(this.broker).workerConcurrency,
				busy: this.worker.busy,
				running: this.worker.runningIds,
				guardProxy: { refused: this.proxy.refused },
				...this.pool.status()
			};
		},
		/**
		 * An artifact this node wrote, for a gateway on another node (a cluster without MongoDB keeps artifacts where
		 * they were written). Streamed, so a large screenshot travels in chunks under the transporter's message limit;
		 * its metadata comes back in `ctx.meta.artifact`.
		 */
		artifact: {
			visibility: "public",
			params: { id: { type: "string", pattern: ARTIFACT_ID } },
			async handler(this: any, ctx: Context<{ id: string }, { artifact?: ArtifactMeta }>) {
				const found = await this.artifacts.get(ctx.params.id);
				if (!found) throw new ArtifactNotFoundError(ctx.params.id);
				ctx.meta.artifact = found.meta;
				return Readable.from([found.data]);
			}
		},
		/** Free browser slots: where session-manager opens the next profile session. */
		slots(this: any) {
			return this.pool.slots();
		},

		// ── profile sessions (called by session-manager on this node) ───────────────────────────────────────
		openProfileSession: {
			visibility: "public",
			params: {
				sessionId: "string",
				profileId: "string",
				fingerprint: { type: "object", optional: true },
				proxy: { type: "object", optional: true, nullable: true },
				state: { type: "object", optional: true, nullable: true },
				persistIndexedDB: { type: "boolean", optional: true }
			},
			handler(this: any, ctx: Context<OpenSessionRequest>) {
				return this.host.open(ctx.params);
			}
		},
		closeProfileSession: {
			visibility: "public",
			params: { sessionId: "string" },
			handler(this: any, ctx: Context<{ sessionId: string }>) {
				return this.host.close(ctx.params.sessionId);
			}
		},
		runSessionActions: {
			visibility: "public",
			params: { sessionId: "string", ...ACTION_STEPS_SCHEMA },
			handler(this: any, ctx: Context<{ sessionId: string; steps: ActionStep[]; timeoutMs?: number }>) {
				const { sessionId, steps, timeoutMs } = ctx.params;
				return this.host.actions(sessionId, steps, timeoutMs ?? 10000, async (data: Buffer, input: { contentType: string; name?: string }) => {
					const meta = await this.artifacts.put(data, { ...input, name: input.name ?? `session-${sessionId}` });
					return { id: meta.id, url: `/api/artifacts/${meta.id}` };
				});
			}
		},
		profileSessions(this: any) {
			return this.host.list();
		}
	},

	events: {
		[EVENTS.WORK_AVAILABLE](this: any) {
			this.worker.wake();
		},
		"$services.changed"(this: any) {
			this.worker.wake();
		},
		[EVENTS.TASK_ABORT](this: any, ctx: Context<TaskAbortEvent>) {
			this.worker.abort(ctx.params.taskId, ctx.params.leaseId, ctx.params.reason);
		}
	},

	methods: {
		/** Called by the Drain middleware before services stop. */
		async drain(this: any) {
			await this.worker?.drain(configOf(this.broker).shutdownGraceMillis);
			// Profile sessions hand their state to session-manager while it (and the store) still run.
			await this.host?.stop();
		}
	},

	created(this: any) {
		const config = configOf(this.broker);
		const broker = this.broker;
		const nodeId: string = broker.nodeID;
		const policy = new UrlPolicy(config.allowPrivateNetworks);
		this.proxy = new GuardProxy(policy);
		this.pool = new BrowserPool(
			{
				executablePath: config.chromiumPath,
				maxBrowsers: config.maxBrowsers,
				maxContextsPerBrowser: config.maxContextsPerBrowser,
				retireBrowserAfterSessions: config.browserRetireAfterSessions,
				browserIdleSecs: config.browserIdleSecs,
				warmContexts: config.warmContexts,
				workerConcurrency: config.workerConcurrency,
				maxContextUses: config.contextMaxUses,
				clearHttpCache: config.contextClearHttpCache,
				launchTimeoutMillis: config.browserLaunchTimeoutMillis,
				relaunchMillis: config.browserRelaunchSecs * 1000,
				operationTimeoutMillis: config.browserOperationTimeoutMillis,
				limitCheckMillis: config.sessionCheckMillis,
				limits: {
					maxMemoryMb: config.sessionMaxMemoryMb,
					maxDurationSecs: config.sessionMaxDurationSecs,
					maxPages: config.sessionMaxPages
				}
			},
			this.logger
		);
		this.artifacts = createArtifactStore(config);
		const box = new SecretBox(loadSecretKey({ secret: config.nightshiftSecret, dataDir: config.dataDir }));
		const reportOpts = { retries: 2 };
		this.host = new ProfileSessionHost(
			nodeId,
			this.pool,
			box,
			policy,
			{
				idleSecs: config.profileSessionIdleSecs,
				maxSecs: config.profileSessionMaxSecs,
				snapshotMillis: config.profileSnapshotSecs * 1000,
				heartbeatMillis: Math.max(500, (config.sessionLockStaleSecs * 1000) / 3),
				startWaitMillis: config.sessionStartWaitMillis,
				operationTimeoutMillis: config.browserOperationTimeoutMillis
			},
			{
				snapshot: (sessionId, profileId, state) => broker.call("session-manager.snapshot", { sessionId, profileId, state }, reportOpts),
				ended: (sessionId, profileId, reason, state) => broker.call("session-manager.ended", { sessionId, profileId, reason, state }, reportOpts),
				heartbeat: (sessionIds, lastActivity) => broker.call("session-manager.heartbeat", { sessionIds, lastActivity })
			},
			this.logger
		);
		const registry = loadTaskRegistry(config);
		// Dispatch calls never retry inside Moleculer: a lease must not be granted twice for one request.
		const opts = { retries: 0 };
		const client: SchedulerClient = {
			// A held call may wait `waitMillis` for work before its answer travels: the timeout starts after that.
			lease: (capacity, waitMillis, declines) =>
				broker.call(
					"scheduler.lease",
					{ nodeId, capacity, waitMillis, declines },
					waitMillis ? { ...opts, timeout: config.requestTimeoutMillis + waitMillis } : opts
				),
			renew: items => broker.call("scheduler.renew", { nodeId, items }, opts),
			finish: reports => broker.call("scheduler.finish", { nodeId, reports }, opts),
			release: items => broker.call("scheduler.release", { nodeId, items }, opts)
		};
		this.worker = new TaskWorker(
			client,
			{
				progress: event => broker.emit(EVENTS.TASK_PROGRESS, event),
				heartbeat: beat => broker.broadcast(EVENTS.WORKER_HEARTBEAT, beat, "scheduler"),
				logger: this.logger
			},
			{
				nodeId,
				concurrency: config.workerConcurrency,
				prefetch: new Prefetch(config.workerPrefetch),
				leaseMillis: config.leaseMillis,
				leaseWaitMillis: config.leaseWaitMillis,
				pollMillis: config.pollMillis,
				heartbeatMillis: config.heartbeatMillis,
				registry,
				urls: policy,
				browsers: new ProfileTaskBrowsers(this.pool, this.host, {
					start: profileId => broker.call("session-manager.start", { id: profileId, source: "scheduled", nodeId }, opts),
					stop: profileId => broker.call("session-manager.stop", { id: profileId }, opts)
				}),
				artifacts: this.artifacts,
				// While Chromium cannot start, browser tasks wait for a node where it can (or for this one to recover).
				browserFailing: () => this.pool.launchFailing,
				capacityInfo: () => this.pool.slots()
			}
		);
	},

	async started(this: any) {
		await this.proxy.start();
		this.pool.setProxy(this.proxy.url);
		this.host.start();
		// Not awaited: a worker node starts even when no scheduler is up yet, and begins leasing once one is. Nor does it
		// wait for the warm-up below: a task without a browser needs none (on a fresh node the first one waited ~1 s for
		// Chromium), and a browser task that comes first waits for the browser being launched or opens a context.
		this.broker.waitForServices("scheduler", 0, 50).then(() => this.worker.start());
		// Prepares warm contexts; a Chromium that cannot start is logged, and browser tasks fail with the reason.
		await this.pool.start();
	},

	async stopped(this: any) {
		await this.host.stop();
		await this.pool.close();
		await this.proxy.stop();
		await this.artifacts.close();
	}
};

export default BrowserPoolService;
