import type { Context, ServiceSchema } from "moleculer";
import { createArtifactStore } from "../src/artifacts";
import { BrowserPool } from "../src/browser/browser-pool";
import { GuardProxy } from "../src/browser/guard-proxy";
import { EVENTS, TaskAbortEvent } from "../src/events";
import { configOf } from "../src/runtime";
import { loadTaskRegistry } from "../src/tasks/load";
import { UrlPolicy } from "../src/tasks/url-policy";
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
		drain(this: any) {
			return this.worker?.drain(configOf(this.broker).shutdownGraceMillis);
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
				maxContextUses: config.contextMaxUses,
				launchTimeoutMillis: config.browserLaunchTimeoutMillis,
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
		// Dispatch calls never retry inside Moleculer: a lease must not be granted twice for one request.
		const opts = { retries: 0 };
		const client: SchedulerClient = {
			lease: capacity => broker.call("scheduler.lease", { nodeId, capacity }, opts),
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
				leaseMillis: config.leaseMillis,
				pollMillis: config.pollMillis,
				heartbeatMillis: config.heartbeatMillis,
				registry: loadTaskRegistry(config),
				urls: policy,
				browsers: this.pool,
				artifacts: this.artifacts,
				capacityInfo: () => this.pool.slots()
			}
		);
	},

	async started(this: any) {
		await this.proxy.start();
		this.pool.setProxy(this.proxy.url);
		// Prepares warm contexts; a Chromium that cannot start is logged, and browser tasks fail with the reason.
		await this.pool.start();
		// Not awaited: a worker node starts even when no scheduler is up yet, and begins leasing once one is.
		this.broker.waitForServices("scheduler", 0, 50).then(() => this.worker.start());
	},

	async stopped(this: any) {
		await this.pool.close();
		await this.proxy.stop();
		await this.artifacts.close();
	}
};

export default BrowserPoolService;
