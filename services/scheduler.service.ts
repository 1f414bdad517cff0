import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../mixins/db.mixin";
import { EVENTS, TaskProgressEvent, WorkerHeartbeat } from "../src/events";
import { configOf } from "../src/runtime";
import { MAX_HOLD_MILLIS } from "../src/scheduler/held-leases";
import { ResultCache } from "../src/scheduler/result-cache";
import { ListFilter, Scheduler, SubmitRequest } from "../src/scheduler/scheduler";
import { FinishReport, RenewItem, TASK_STATUSES } from "../src/scheduler/task-doc";
import { loadTaskRegistry } from "../src/tasks/load";
import { UrlPolicy } from "../src/tasks/url-policy";

/** How often leases past their expiry are looked for. */
const SWEEP_MILLIS = 1000;
/** How often finished tasks past TASK_RETENTION_HOURS are deleted. */
const PURGE_MILLIS = 10 * 60 * 1000;

const listParams = {
	type: { type: "string", optional: true },
	key: { type: "string", optional: true },
	limit: { type: "number", integer: true, min: 1, max: 500, optional: true, convert: true },
	offset: { type: "number", integer: true, min: 0, optional: true, convert: true },
	result: { type: "boolean", optional: true, convert: true }
};
const idParam = { id: { type: "string", min: 1, max: 64 } };
const leaseRef = { type: "object", props: { id: "string", leaseId: "string" } };

/**
 * What one submit may carry; a batch checks each of its tasks against the same. Nothing else: a misspelt field
 * (`priorty`, `idempotency_key`) would otherwise be dropped without a word and change what the task does.
 */
const SUBMIT_FIELDS = {
	type: { type: "string", min: 1 },
	payload: { type: "any", optional: true },
	priority: { type: "number", integer: true, min: 1, max: 10, optional: true },
	key: { type: "string", min: 1, max: 200, optional: true },
	dependsOn: { type: "array", items: "string", max: 100, optional: true },
	runAt: { type: "string", optional: true },
	cron: { type: "string", empty: false, optional: true },
	timeZone: { type: "string", optional: true },
	maxAttempts: { type: "number", integer: true, min: 1, max: 100, optional: true },
	timeoutMs: { type: "number", integer: true, min: 1, max: 86400000, optional: true },
	idempotencyKey: { type: "string", min: 1, max: 200, optional: true },
	metadata: { type: "object", optional: true },
	profileId: { type: "string", min: 1, max: 64, optional: true }
};

/** The task scheduler as a Moleculer service: params → `Scheduler` → result. */
const SchedulerService = {
	name: "scheduler",
	mixins: [DbMixin("tasks", "result_cache")],

	actions: {
		submit: {
			params: { $$strict: true, ...SUBMIT_FIELDS },
			async handler(this: any, ctx: Context<SubmitRequest, { $statusCode?: number }>) {
				// The params are strict: they hold the submit fields and nothing else.
				const answer = await this.scheduler.submit(ctx.params);
				ctx.meta.$statusCode = answer.duplicate ? 200 : 202;
				return answer;
			}
		},
		submitMany: {
			params: { tasks: { type: "array", items: { type: "object", strict: true, props: SUBMIT_FIELDS }, min: 1, max: 1000 } },
			async handler(this: any, ctx: Context<{ tasks: SubmitRequest[] }, { $statusCode?: number }>) {
				ctx.meta.$statusCode = 202;
				return this.scheduler.submitMany(ctx.params.tasks);
			}
		},
		get: {
			params: idParam,
			handler(this: any, ctx: Context<{ id: string }>) {
				return this.scheduler.get(ctx.params.id);
			}
		},
		list: {
			params: { status: { type: "enum", values: TASK_STATUSES, optional: true }, ...listParams },
			handler(this: any, ctx: Context<ListFilter>) {
				const { status, type, key, limit, offset, result } = ctx.params;
				return this.scheduler.list({ status, type, key, limit, offset, result });
			}
		},
		deadLetters: {
			params: listParams,
			handler(this: any, ctx: Context<ListFilter>) {
				const { type, key, limit, offset, result } = ctx.params;
				return this.scheduler.deadLetters({ type, key, limit, offset, result });
			}
		},
		cancel: {
			params: { ...idParam, reason: { type: "string", max: 500, optional: true } },
			handler(this: any, ctx: Context<{ id: string; reason?: string }, { $statusCode?: number }>) {
				return this.scheduler.cancel(ctx.params.id, ctx.params.reason);
			}
		},
		retry: {
			params: idParam,
			handler(this: any, ctx: Context<{ id: string }>) {
				return this.scheduler.retry(ctx.params.id);
			}
		},
		types(this: any) {
			return this.registry.describe();
		},
		workers(this: any) {
			return this.scheduler.listWorkers();
		},
		health(this: any) {
			return this.scheduler.health().then(async (h: object) => ({ ...h, store: { kind: this.store.kind, connected: await this.store.ping() } }));
		},

		// ---- worker protocol (browser-pool → scheduler) ----
		lease: {
			visibility: "public",
			params: {
				nodeId: "string",
				capacity: { type: "number", integer: true, min: 0, max: 10000 },
				waitMillis: { type: "number", integer: true, min: 0, max: MAX_HOLD_MILLIS, optional: true },
				declines: { type: "array", items: "string", max: 1000, optional: true }
			},
			handler(this: any, ctx: Context<{ nodeId: string; capacity: number; waitMillis?: number; declines?: string[] }>) {
				const { nodeId, capacity, waitMillis, declines } = ctx.params;
				return this.scheduler.lease(nodeId, capacity, waitMillis, declines);
			}
		},
		renew: {
			visibility: "public",
			params: { nodeId: "string", items: { type: "array", items: { ...leaseRef, props: { ...leaseRef.props, log: { type: "array", optional: true } } } } },
			handler(this: any, ctx: Context<{ nodeId: string; items: RenewItem[] }>) {
				return this.scheduler.renew(ctx.params.nodeId, ctx.params.items);
			}
		},
		finish: {
			visibility: "public",
			params: { nodeId: "string", reports: { type: "array", items: "object" } },
			handler(this: any, ctx: Context<{ nodeId: string; reports: FinishReport[] }>) {
				return this.scheduler.finish(ctx.params.nodeId, ctx.params.reports);
			}
		},
		release: {
			visibility: "public",
			params: { nodeId: "string", items: { type: "array", items: leaseRef } },
			handler(this: any, ctx: Context<{ nodeId: string; items: { id: string; leaseId: string }[] }>) {
				return this.scheduler.release(ctx.params.nodeId, ctx.params.items);
			}
		}
	},

	events: {
		"$node.disconnected"(this: any, ctx: Context<{ node: { id: string } }>) {
			return this.scheduler.nodeLeft(ctx.params.node.id);
		},
		[EVENTS.TASK_QUEUED]: {
			// Replaced in `merged` by a group of this node's own: every scheduler hears of every queued task.
			group: "scheduler-index",
			handler(this: any, ctx: Context<{ taskId: string }>) {
				if (ctx.nodeID !== this.broker.nodeID) return this.scheduler.indexQueuedElsewhere(ctx.params.taskId);
			}
		},
		[EVENTS.WORKER_HEARTBEAT](this: any, ctx: Context<WorkerHeartbeat>) {
			this.scheduler.heartbeat(ctx.params);
		},
		[EVENTS.TASK_PROGRESS](this: any, ctx: Context<TaskProgressEvent & { leaseId: string }>) {
			const { taskId, leaseId, progress, currentOperation } = ctx.params;
			return this.scheduler.recordProgress(taskId, leaseId, progress, currentOperation);
		}
	},

	merged(this: any, schema: ServiceSchema) {
		// Without a transporter there is no other scheduler to hear from.
		if (!configOf(this.broker).transporter) {
			delete schema.events![EVENTS.TASK_QUEUED];
			return;
		}
		schema.events![EVENTS.TASK_QUEUED] = {
			...(schema.events![EVENTS.TASK_QUEUED] as object),
			group: `scheduler-index-${this.broker.nodeID}`
		} as any;
	},

	created(this: any) {
		const config = configOf(this.broker);
		this.registry = loadTaskRegistry(config);
	},

	async started(this: any) {
		const config = configOf(this.broker);
		const broker = this.broker;
		this.scheduler = new Scheduler(this.collections.tasks, {
			emit: (event, payload) => broker.emit(event, payload),
			wakeWorkers: () => broker.broadcast(EVENTS.WORK_AVAILABLE, {}, "browser-pool"),
			abortRemote: (taskId, leaseId, reason) => broker.broadcast(EVENTS.TASK_ABORT, { taskId, leaseId, reason }, "browser-pool"),
			isNodeAlive: nodeId => {
				// Without a transporter, or for this very node, a lease found at start belongs to a dead process.
				if (!broker.transit || nodeId === broker.nodeID) return false;
				const node = broker.registry.nodes.get(nodeId);
				// An unknown node may not be discovered yet: its lease expiry decides.
				return node ? node.available : true;
			},
			logger: this.logger
		}, {
			nodeId: broker.nodeID,
			leaseMillis: config.leaseMillis,
			registry: this.registry,
			policy: new UrlPolicy(config.allowPrivateNetworks),
			workerStaleMillis: config.heartbeatMillis * 3,
			cache: new ResultCache(this.collections.result_cache),
			cacheTtlMillis: config.resultCacheTtlSecs * 1000,
			assertProfile: async id => {
				await broker.call("profile.get", { id });
			}
		});
		await this.scheduler.start();
		this.sweepTimer = setInterval(() => {
			this.scheduler.sweepExpiredLeases().catch((err: Error) => this.logger.error("lease sweep failed", err));
		}, Math.min(SWEEP_MILLIS, config.leaseMillis / 4));
		this.sweepTimer.unref();
		const purge = async () => {
			try {
				if (config.taskRetentionHours > 0) {
					const n = await this.scheduler.purgeFinished(Date.now() - config.taskRetentionHours * 3600_000);
					if (n > 0) this.logger.info(`purged ${n} finished tasks`);
				}
				await this.scheduler.purgeCache();
			} catch (err) {
				this.logger.error("purge failed", err);
			}
		};
		void purge();
		this.purgeTimer = setInterval(purge, PURGE_MILLIS);
		this.purgeTimer.unref();
	},

	stopped(this: any) {
		clearInterval(this.sweepTimer);
		clearInterval(this.purgeTimer);
		this.scheduler?.stop();
	}
} as ServiceSchema;

export default SchedulerService;
