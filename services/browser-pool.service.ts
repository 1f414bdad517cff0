import type { Context, ServiceSchema } from "moleculer";
import { EVENTS, TaskAbortEvent } from "../src/events";
import { configOf } from "../src/runtime";
import { loadTaskRegistry } from "../src/tasks/load";
import { UrlPolicy } from "../src/tasks/url-policy";
import { SchedulerClient, TaskWorker } from "../src/worker/worker";

/**
 * Browser capacity of this node: it leases tasks from the scheduler and runs their handlers. Any number of nodes may
 * run it; each adds `WORKER_CONCURRENCY` slots.
 */
const BrowserPoolService: ServiceSchema = {
	name: "browser-pool",

	actions: {
		/** This node's worker: slots, running tasks. */
		status(this: any) {
			return {
				nodeId: this.broker.nodeID,
				concurrency: configOf(this.broker).workerConcurrency,
				busy: this.worker.busy,
				running: this.worker.runningIds
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
				urls: new UrlPolicy(config.allowPrivateNetworks)
			}
		);
	},

	started(this: any) {
		// Not awaited: a worker node starts even when no scheduler is up yet, and begins leasing once one is.
		this.broker.waitForServices("scheduler", 0, 50).then(() => this.worker.start());
	}
};

export default BrowserPoolService;
