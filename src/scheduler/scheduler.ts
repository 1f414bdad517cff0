import {
	DependencyNotFoundError,
	ERROR_TYPES,
	LeaseLostError,
	TaskNotFoundError,
	TaskStateConflictError
} from "../errors";
import { EVENTS, WorkerHeartbeat } from "../events";
import { newId } from "../ids";
import type { Collection, Query } from "../store";
import type { TaskRegistry } from "../tasks/registry";
import type { UrlPolicy } from "../tasks/url-policy";
import { iso, isoNow } from "../time";
import type { TaskFailure } from "./classify";
import { backoffMillis, DEFAULT_RETRY, RetryPolicy } from "./retry-policy";
import { type ResultCache, TaskResults } from "./result-cache";
import {
	AttemptOutcome,
	FinishAnswer,
	FinishReport,
	Lease,
	LeasedTask,
	RenewAnswer,
	RenewItem,
	TaskDoc,
	TaskStatus,
	TaskView,
	toView
} from "./task-doc";
import { Dispatcher } from "./dispatcher";
import { attemptRecord, LeaseBook, LeaseInfo, leaseInfoOf } from "./lease-book";
import { newTaskDoc, nextOccurrence, SubmitAnswer, SubmitRequest, submitAnswer } from "./submission";
import { TaskIndex } from "./task-index";
import { WorkerRegistry, WorkerView } from "./worker-registry";

export type { SubmitAnswer, SubmitRequest } from "./submission";

export interface ListFilter {
	status?: TaskStatus;
	type?: string;
	key?: string;
	limit?: number;
	offset?: number;
	/** `false` leaves results out of the items (a page.parse result is 10–19 KB): for views that only list. */
	result?: boolean;
}

/** What the scheduler needs from its host (the Moleculer service): events out, and a logger. */
export interface SchedulerHost {
	/** Public task events, to every interested service group. */
	emit(event: string, payload: unknown): void;
	/** Wakes idle workers: there is work to lease. */
	wakeWorkers(): void;
	/** Aborts a running attempt wherever it runs. */
	abortRemote(taskId: string, leaseId: string, reason: string): void;
	/** Whether a node is alive in the cluster now (false for unknown nodes). */
	isNodeAlive(nodeId: string): boolean;
	logger: { info(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void };
}

export interface SchedulerOptions {
	nodeId: string;
	leaseMillis: number;
	registry: TaskRegistry;
	policy: UrlPolicy;
	/** How long a worker with no sign of life stays listed. */
	workerStaleMillis: number;
	/** Results of task types that declare a `cache`. */
	cache?: ResultCache;
	/** TTL of cached results for types that declare none. */
	cacheTtlMillis?: number;
	/** Throws PROFILE_NOT_FOUND for a `profileId` no profile has. */
	assertProfile?(id: string): Promise<void>;
}

/** Outcomes a worker's report records; the others are the scheduler taking a lease away. */
const REPORTED_OUTCOMES = new Set<AttemptOutcome>(["completed", "failed", "cancelled"]);

/** True when the attempt under `leaseId` already delivered its report (a resend is then harmless). */
function reportedBy(doc: TaskDoc, leaseId: string): boolean {
	return doc.history.some(h => h.leaseId === leaseId && REPORTED_OUTCOMES.has(h.outcome));
}

const SUMMARY_PROJECTION = { log: 0, history: 0 } as const;
/** What a lease reads of the tasks it grants (its answer to the worker, the lease book, `task.started`). */
const LEASED_FIELDS = { type: 1, payload: 1, attempts: 1, maxAttempts: 1, timeoutMillis: 1, profileId: 1, lease: 1, cancelRequested: 1 } as const;
/** What a finish reads of the task it ended (events, the result cache, settling). */
const FINISHED_FIELDS = { type: 1, payload: 1, profileId: 1, status: 1, attempts: 1, cron: 1, durationMillis: 1 } as const;
const DEFAULT_LIST_LIMIT = 50;
const HOUR_MILLIS = 3600_000;

/**
 * The task scheduler: persists every state change before it is announced, hands tasks out under leases, and takes
 * results only from the lease that holds the task. The store is the truth; `TaskIndex` is the dispatch order.
 */
export class Scheduler {
	readonly index: TaskIndex;
	readonly workers: WorkerRegistry;
	private readonly leases = new LeaseBook();
	private readonly dispatch: Dispatcher;
	private readonly results: TaskResults;

	constructor(
		private readonly tasks: Collection<TaskDoc>,
		private readonly host: SchedulerHost,
		private readonly options: SchedulerOptions
	) {
		this.index = new TaskIndex(type =>
			options.registry.has(type) ? options.registry.get(type).concurrency : Infinity
		);
		this.workers = new WorkerRegistry(options.workerStaleMillis);
		this.results = new TaskResults(options.cache, options.registry, options.cacheTtlMillis);
		this.dispatch = new Dispatcher(this.index, {
			grant: (ids, nodeId, now, toHeldCall) => this.leaseBatch(ids, nodeId, now, toHeldCall),
			wakeWorkers: () => host.wakeWorkers()
		});
	}

	/** Creates indexes and loads the queued and running tasks into memory. */
	async start(): Promise<void> {
		await Promise.all([
			// Listings by status (the dead letters), the failures of the last hour, the load at start. Not `type`: on NeDB
			// each value-set index adds ~1 µs to every write (`npm run bench:listing` has the reads it saves).
			this.tasks.ensureIndex("status", { fewValues: true }),
			this.tasks.ensureIndex("idempotencyKey", { unique: true, sparse: true }),
			// Failures of the last hour (health) and the retention purge are ranges of it.
			this.tasks.ensureIndex("finishedAt", { sparse: true }),
			// Sparse, and tasks without a key store none: NeDB keeps all documents of one index value in one array that
			// it filters on every update of any of them, so a `null` shared by every task made each write O(tasks).
			this.tasks.ensureIndex("key", { sparse: true }),
			// The lease sweep's range query, every second, reads the running tasks (a few) through the status index. The
			// index an earlier version kept for it cost every task an insert at its lease and a removal at its end.
			this.tasks.dropIndex("lease.expiresAt"),
			this.options.cache?.start()
		]);
		const running = await this.tasks.find({ status: "running" });
		for (const doc of running) {
			this.leases.track(doc);
			this.index.addRunning(this.entryOf(doc));
		}
		const queued = await this.tasks.find(
			{ status: "queued" },
			{ projection: { _id: 1, type: 1, priority: 1, key: 1, availableAt: 1, dependsOn: 1 } }
		);
		queued.sort((a, b) => (a._id < b._id ? -1 : 1));
		for (const doc of queued) await this.enqueue(doc);
		// A lease held by a node that is gone (this process before a restart, say) is handed back now, not at expiry.
		for (const doc of running)
			if (!this.host.isNodeAlive(doc.lease!.owner)) await this.returnToQueue(doc._id, doc.lease!.id, "node-left");
		this.host.logger.info(`scheduler loaded ${queued.length} queued and ${running.length} running tasks`);
		// Workers that polled before this scheduler was up are not known to be hungry: wake them all once.
		this.host.wakeWorkers();
	}

	stop(): void {
		this.dispatch.stop();
	}

	// ---- submit and queries ------------------------------------------------------------------------------------

	async submit(req: SubmitRequest): Promise<SubmitAnswer> {
		if (req.idempotencyKey) {
			const existing = await this.tasks.findOne({ idempotencyKey: req.idempotencyKey });
			if (existing) return submitAnswer(existing, true);
		}
		const { doc, deps } = await this.prepare(req);
		const hit = await this.results.lookup(doc);
		if (hit) return this.completeFromCache(doc, hit);
		try {
			await this.tasks.insert(doc);
		} catch (err: any) {
			// Two submits with one key raced: the unique index kept the first.
			if (err?.code === "DUPLICATE_KEY" && req.idempotencyKey) {
				const existing = await this.tasks.findOne({ idempotencyKey: req.idempotencyKey });
				if (existing) return submitAnswer(existing, true);
			}
			throw err;
		}
		await this.announceQueued(doc, deps);
		return submitAnswer(doc, false);
	}

	/**
	 * Submits several tasks with one store write: every request is checked first (one bad request refuses the whole
	 * batch), then all are inserted at once.
	 */
	async submitMany(reqs: SubmitRequest[]): Promise<SubmitAnswer[]> {
		const prepared = await Promise.all(
			reqs.map((req, index) =>
				// Idempotent and cacheable submits may answer without inserting: they take the single-submit path.
				req.idempotencyKey || this.results.keyOf({ type: req.type, payload: req.payload ?? {}, profileId: req.profileId }) !== undefined
					? null
					: this.prepare(req).catch(err => {
							// Say which request of the batch is wrong.
							if (err && typeof err === "object") err.data = { ...(err.data ?? {}), index };
							throw err;
						})
			)
		);
		const batch = prepared.filter((p): p is NonNullable<typeof p> => p !== null);
		await this.tasks.insertMany(batch.map(p => p.doc));
		for (const { doc, deps } of batch) await this.announceQueued(doc, deps);
		const answers: SubmitAnswer[] = [];
		for (let i = 0; i < reqs.length; i++) {
			const p = prepared[i];
			answers.push(p ? submitAnswer(p.doc, false) : await this.submit(reqs[i]));
		}
		return answers;
	}

	/** A cache hit is a task too (it has an id, a result, and events), completed at once without a worker. */
	private async completeFromCache(doc: TaskDoc, hit: { value: unknown; cachedAt: string }): Promise<SubmitAnswer> {
		const result =
			hit.value && typeof hit.value === "object" && !Array.isArray(hit.value)
				? { ...(hit.value as object), cacheHit: true, cachedAt: hit.cachedAt }
				: hit.value;
		Object.assign(doc, {
			status: "completed",
			result,
			progress: 100,
			startedAt: doc.createdAt,
			finishedAt: doc.createdAt,
			durationMillis: 0
		});
		doc.log.push({ timestamp: doc.createdAt, level: "info", message: `answered from the result cache (stored ${hit.cachedAt})` });
		await this.tasks.insert(doc);
		this.host.emit(EVENTS.TASK_COMPLETED, {
			taskId: doc._id,
			taskType: doc.type,
			result,
			duration: 0,
			timestamp: doc.createdAt
		});
		return submitAnswer(doc, false);
	}

	/** Checks a submit request and builds its document (not stored yet). */
	private async prepare(req: SubmitRequest): Promise<{ doc: TaskDoc; deps: Map<string, TaskStatus> }> {
		const type = await this.options.registry.validate(req.type, req.payload ?? {}, this.options.policy);
		const doc = newTaskDoc(req, type);
		const deps = await this.dependencyStatuses(doc.dependsOn);
		const missing = doc.dependsOn.filter(id => !deps.has(id));
		if (missing.length > 0) throw new DependencyNotFoundError(missing);
		if (req.profileId) await this.options.assertProfile?.(req.profileId);
		return { doc, deps };
	}

	async get(id: string): Promise<TaskView> {
		return toView(await this.load(id));
	}

	async list(filter: ListFilter = {}): Promise<{ total: number; items: TaskView[] }> {
		const query: Query = {};
		if (filter.status) query.status = filter.status;
		if (filter.type) query.type = filter.type;
		if (filter.key) query.key = filter.key;
		const [total, docs] = await Promise.all([
			this.tasks.count(query),
			this.tasks.find(query, {
				// Newest first: ids sort by creation time, and the `_id` index serves the order in both stores.
				sort: { _id: -1 },
				skip: filter.offset ?? 0,
				limit: filter.limit ?? DEFAULT_LIST_LIMIT,
				projection: filter.result === false ? { ...SUMMARY_PROJECTION, result: 0 } : SUMMARY_PROJECTION
			})
		]);
		const items = docs.map(toView);
		// Left out, not null: null would read as "no result".
		if (filter.result === false) for (const item of items) delete (item as Partial<TaskView>).result;
		return { total, items };
	}

	/** Tasks that ended failed for good: out of attempts, fatal, or failed dependencies. */
	deadLetters(filter: Omit<ListFilter, "status"> = {}) {
		return this.list({ ...filter, status: "failed" });
	}

	// ---- cancel and retry -------------------------------------------------------------------------------------

	/** Cancels a queued task now; asks the node running a running one to abort it (it ends `cancelled`). */
	async cancel(id: string, reason = "cancelled by request"): Promise<TaskView> {
		const doc = await this.load(id);
		const now = Date.now();
		if (doc.status === "queued") {
			const cancelled = await this.tasks.updateOne(
				{ _id: id, status: "queued" },
				{ $set: { status: "cancelled", cancelRequested: reason, finishedAt: iso(now), updatedAt: iso(now) } }
			);
			if (!cancelled) return this.cancel(id, reason); // it was leased meanwhile: cancel it as running
			await this.settle(cancelled, false);
			this.host.emit(EVENTS.TASK_CANCELLED, {
				taskId: id,
				taskType: doc.type,
				reason,
				timestamp: iso(now)
			});
			return toView(cancelled);
		}
		if (doc.status === "running") {
			const marked = await this.tasks.updateOne(
				{ _id: id, status: "running" },
				{ $set: { cancelRequested: reason, updatedAt: iso(now) } }
			);
			if (!marked) return this.cancel(id, reason);
			this.leases.cancelRequested(id, reason);
			this.host.abortRemote(id, marked.lease!.id, reason);
			return toView(marked);
		}
		throw new TaskStateConflictError(id, doc.status, "cancel");
	}

	/** Puts a failed (dead-lettered) or cancelled task back in the queue with a fresh set of attempts. */
	async retry(id: string): Promise<TaskView> {
		const doc = await this.load(id);
		if (doc.status !== "failed" && doc.status !== "cancelled") throw new TaskStateConflictError(id, doc.status, "retry");
		const deps = await this.dependencyStatuses(doc.dependsOn);
		const broken = doc.dependsOn.find(d => deps.get(d) === "failed" || deps.get(d) === "cancelled");
		if (broken) throw new TaskStateConflictError(broken, deps.get(broken)!, `retry ${id} before its dependency`);
		const now = iso(Date.now());
		const requeued = await this.tasks.updateOne(
			{ _id: id, status: doc.status },
			{
				$set: {
					status: "queued",
					attempts: 0,
					progress: 0,
					availableAt: now,
					cancelRequested: null,
					updatedAt: now
				},
				// Unset, not null: the sparse `finishedAt` index leaves out only what has none.
				$unset: { step: true, finishedAt: true }
			}
		);
		if (!requeued) throw new TaskStateConflictError(id, "changing", "retry");
		await this.announceQueued(requeued, deps);
		return toView(requeued);
	}

	// ---- leases -----------------------------------------------------------------------------------------------

	/**
	 * Leases up to `capacity` ready tasks to `nodeId`, best first, of any type but those it `declines` (a node whose
	 * Chromium cannot start declines the browser types). With none ready and `waitMillis` given, the call is held until
	 * work arrives (then answered with it) or that time passes (then answered with nothing).
	 */
	async lease(nodeId: string, capacity: number, waitMillis = 0, declines: readonly string[] = []): Promise<LeasedTask[]> {
		this.workers.touch(nodeId);
		return this.dispatch.lease(nodeId, capacity, waitMillis, declines);
	}

	/**
	 * One conditional write leases the whole batch (`status: "queued"` is the fence) and answers which of the tasks it
	 * got. The batch shares a lease id: (task id, lease id) is still unique to one attempt.
	 */
	private async leaseBatch(ids: string[], nodeId: string, now: number, held = false): Promise<LeasedTask[]> {
		const lease: Lease = {
			id: newId("l"),
			owner: nodeId,
			startedAt: iso(now),
			expiresAt: iso(now + this.options.leaseMillis)
		};
		let docs: Pick<TaskDoc, keyof typeof LEASED_FIELDS | "_id">[];
		try {
			docs = await this.tasks.updateManyReturning(
				{ _id: { $in: ids }, status: "queued" },
				{
					// Every attempt starts from 0: a retry does not show the progress and step its last attempt reached.
					$set: { status: "running", lease, nodeId, startedAt: lease.startedAt, updatedAt: lease.startedAt, progress: 0 },
					$unset: { step: true },
					$inc: { attempts: 1 }
				},
				{ _id: { $in: ids }, "lease.id": lease.id },
				LEASED_FIELDS
			);
		} catch (err) {
			this.host.logger.error("lease write failed; the tasks stay queued", { ids, err });
			for (const id of ids) this.index.requeue(id, now);
			return [];
		}
		const got = new Map(docs.map(d => [d._id, d]));
		const leased: LeasedTask[] = [];
		for (const id of ids) {
			const doc = got.get(id);
			if (!doc) {
				// Cancelled, or leased by another scheduler on the same store.
				this.index.drop(id);
				continue;
			}
			this.leases.track(doc, held);
			this.host.emit(EVENTS.TASK_STARTED, {
				taskId: id,
				taskType: doc.type,
				startedAt: lease.startedAt,
				attempt: doc.attempts,
				nodeId
			});
			leased.push({
				id,
				type: doc.type,
				payload: doc.payload,
				attempt: doc.attempts,
				leaseId: lease.id,
				leaseExpiresAt: lease.expiresAt,
				timeoutMillis: doc.timeoutMillis,
				...(doc.profileId ? { profileId: doc.profileId } : {})
			});
		}
		return leased;
	}

	/** Extends the leases a worker still holds; answers those it lost and those cancelled meanwhile. */
	async renew(nodeId: string, items: RenewItem[]): Promise<RenewAnswer> {
		this.workers.touch(nodeId);
		const expiresAt = iso(Date.now() + this.options.leaseMillis);
		const lost: string[] = [];
		const abort: string[] = [];
		await Promise.all(
			items.map(async item => {
				const update: Record<string, any> = { $set: { "lease.expiresAt": expiresAt } };
				if (item.log?.length) update.$push = { log: { $each: item.log } };
				const doc = await this.tasks.updateOne({ _id: item.id, status: "running", "lease.id": item.leaseId }, update, { cancelRequested: 1 });
				if (!doc) lost.push(item.id);
				else {
					this.leases.renewed(item.id, expiresAt);
					if (doc.cancelRequested) abort.push(item.id);
				}
			})
		);
		return { lost, abort, leaseExpiresAt: expiresAt };
	}

	/** Takes the results of ended attempts. A report from a lease that is no longer held is refused. */
	async finish(nodeId: string, reports: FinishReport[]): Promise<FinishAnswer[]> {
		this.workers.touch(nodeId);
		return Promise.all(
			reports.map(async report => {
				try {
					await this.finishOne(nodeId, report);
					return { id: report.id, accepted: true };
				} catch (err: any) {
					if (err?.type !== ERROR_TYPES.LEASE_LOST) throw err;
					return { id: report.id, accepted: false, error: err.message };
				}
			})
		);
	}

	private async finishOne(nodeId: string, report: FinishReport): Promise<void> {
		const info = await this.leaseInfo(report.id, report.leaseId);
		if (!info) return;
		const now = Date.now();
		const cancelled = !report.ok && (report.error.type === ERROR_TYPES.TASK_CANCELLED || !!info.cancelRequested);
		let outcome: AttemptOutcome;
		let set: Record<string, unknown>;
		let willRetry = false;
		let delay = 0;
		if (report.ok) {
			outcome = "completed";
			set = { status: "completed", result: report.result, progress: 100, error: null };
		} else if (cancelled) {
			outcome = "cancelled";
			set = { status: "cancelled", error: report.error };
		} else {
			outcome = "failed";
			willRetry = report.error.retryable && info.attempt < info.maxAttempts;
			delay = willRetry ? backoffMillis(this.retryPolicy(info), info.attempt) : 0;
			set = willRetry
				? { status: "queued", error: report.error, availableAt: iso(now + delay) }
				: { status: "failed", error: report.error };
		}
		const final = !willRetry;
		Object.assign(set, { lease: null, updatedAt: iso(now) });
		if (final) Object.assign(set, { finishedAt: iso(now), durationMillis: now - Date.parse(info.lease.startedAt) });
		const record = attemptRecord(info, outcome, now, report.ok ? undefined : report.error);
		const push: Record<string, unknown> = { history: record };
		if (report.log?.length) push.log = { $each: report.log };

		const doc = await this.tasks.updateOne(
			{ _id: report.id, status: "running", "lease.id": report.leaseId },
			{ $set: set, $push: push },
			FINISHED_FIELDS
		);
		if (!doc) {
			// Lost between the read and the write, or a resent report that raced its first copy.
			const current = await this.tasks.findById(report.id);
			if (current && reportedBy(current, report.leaseId)) return;
			throw new LeaseLostError(report.id, report.leaseId);
		}
		this.leases.delete(report.id);
		this.workers.processed(nodeId);
		if (report.ok)
			await this.results.store(doc, report.result).catch(err =>
				// The task is done either way; a missing cache entry only costs a later run.
				this.host.logger.warn(`could not cache the result of task ${doc._id}`, err)
			);
		const timestamp = iso(now);
		if (report.ok) {
			this.host.emit(EVENTS.TASK_COMPLETED, {
				taskId: doc._id,
				taskType: doc.type,
				result: report.result,
				duration: doc.durationMillis,
				timestamp
			});
		} else if (cancelled) {
			this.host.emit(EVENTS.TASK_CANCELLED, {
				taskId: doc._id,
				taskType: doc.type,
				reason: info.cancelRequested ?? report.error.message,
				timestamp
			});
		} else {
			this.emitFailed(doc, report.error, willRetry, delay, timestamp);
		}
		if (willRetry) {
			this.index.requeue(doc._id, now + delay);
			this.dispatch.delayed();
		} else await this.settle(doc, outcome === "completed");
	}

	/** A worker shutting down hands back attempts it did not finish: queued again, no attempt spent. */
	async release(nodeId: string, items: { id: string; leaseId: string }[]): Promise<string[]> {
		const released: string[] = [];
		for (const item of items) if (await this.returnToQueue(item.id, item.leaseId, "handed-back")) released.push(item.id);
		this.workers.touch(nodeId);
		return released;
	}

	/** Progress of a running attempt, kept on the task (fenced by lease, so a lost attempt cannot overwrite it). */
	async recordProgress(taskId: string, leaseId: string, progress: number, step: string | undefined): Promise<void> {
		await this.tasks.updateOne(
			{ _id: taskId, status: "running", "lease.id": leaseId },
			{ $set: { progress, step: step ?? null, updatedAt: isoNow() } },
			{ progress: 1 }
		);
	}

	/** A node left the cluster: every task it held goes back to the queue at once. */
	async nodeLeft(nodeId: string): Promise<number> {
		this.workers.remove(nodeId);
		this.dispatch.forget(nodeId);
		const held = await this.tasks.find({ status: "running", "lease.owner": nodeId }, { projection: { lease: 1 } });
		let requeued = 0;
		for (const doc of held) if (await this.returnToQueue(doc._id, doc.lease!.id, "node-left")) requeued++;
		if (requeued > 0) this.host.logger.warn(`node ${nodeId} left: ${requeued} of its tasks are queued again`);
		return requeued;
	}

	/** Leases past their expiry go back to the queue. */
	async sweepExpiredLeases(): Promise<number> {
		const expired = await this.tasks.find(
			{ status: "running", "lease.expiresAt": { $lt: isoNow() } },
			{ projection: { lease: 1 } }
		);
		// A worker that stopped renewing is likely gone: its held calls would take these tasks straight back.
		for (const owner of new Set(expired.map(doc => doc.lease!.owner))) this.dispatch.releaseHeld(owner);
		let requeued = 0;
		for (const doc of expired) if (await this.returnToQueue(doc._id, doc.lease!.id, "lease-expired")) requeued++;
		if (requeued > 0) this.host.logger.warn(`${requeued} expired leases: their tasks are queued again`);
		return requeued;
	}

	/** A task another scheduler on the same store queued: index it too, so any scheduler can dispatch it. */
	async indexQueuedElsewhere(id: string): Promise<void> {
		if (this.index.has(id)) return;
		const doc = await this.tasks.findById(id);
		if (doc?.status === "queued" && !this.index.has(id)) await this.enqueue(doc);
	}

	/** Deletes completed and cancelled tasks that finished before `cutoff`; dead letters stay. */
	purgeFinished(cutoff: number): Promise<number> {
		return this.tasks.deleteMany({ status: { $in: ["completed", "cancelled"] }, finishedAt: { $lt: iso(cutoff) } });
	}

	/** Deletes expired cached results. */
	purgeCache(): Promise<number> {
		return this.options.cache?.purgeExpired() ?? Promise.resolve(0);
	}

	heartbeat(beat: WorkerHeartbeat): void {
		this.workers.heartbeat(beat);
		// A draining worker waits for its lease calls before it hands back what they bring: answer them now.
		if (!beat.accepting) this.dispatch.releaseHeld(beat.nodeId);
		// Its Chromium starts (again): a call that declines the browser types is answered, for one that takes them.
		else if (beat.browsers && !beat.browsers.launchError) this.dispatch.releaseDeclining(beat.nodeId);
		if (beat.accepting && beat.running.length < beat.concurrency) this.dispatch.hungryWorker(beat.nodeId);
		this.dispatch.wake();
	}

	listWorkers(): WorkerView[] {
		return this.workers.list(this.leases.tasksByNode());
	}

	/** Queue health for `/health/background-tasks`. */
	async health() {
		const failedLastHour = await this.tasks.count({
			status: "failed",
			finishedAt: { $gte: iso(Date.now() - HOUR_MILLIS) }
		});
		return { queue: this.index.stats(), activeTasks: this.leases.size, failedLastHour };
	}

	// ---- internals ----------------------------------------------------------------------------------------------

	private async load(id: string): Promise<TaskDoc> {
		const doc = await this.tasks.findById(id);
		if (!doc) throw new TaskNotFoundError(id);
		return doc;
	}

	private async dependencyStatuses(ids: string[]): Promise<Map<string, TaskStatus>> {
		if (ids.length === 0) return new Map();
		const docs = await this.tasks.find({ _id: { $in: ids } }, { projection: { status: 1 } });
		return new Map(docs.map(d => [d._id, d.status]));
	}

	/** Indexes a stored queued task and tells the world; a task whose dependency already failed fails now. */
	private async announceQueued(doc: TaskDoc, deps: Map<string, TaskStatus>): Promise<void> {
		this.host.emit(EVENTS.TASK_QUEUED, {
			taskId: doc._id,
			taskType: doc.type,
			priority: doc.priority,
			estimatedDuration: doc.estimatedDurationMillis,
			metadata: doc.metadata,
			timestamp: doc.updatedAt
		});
		await this.enqueue(doc, deps);
	}

	private async enqueue(doc: TaskDoc, known?: Map<string, TaskStatus>): Promise<void> {
		const deps = known ?? (await this.dependencyStatuses(doc.dependsOn));
		const broken = doc.dependsOn.find(d => deps.get(d) === "failed" || deps.get(d) === "cancelled");
		if (broken) {
			await this.failForDependency(doc._id, broken);
			return;
		}
		const pending = doc.dependsOn.filter(d => deps.get(d) !== "completed");
		this.index.add({ ...this.entryOf(doc), pendingDeps: pending });
		// A dependency may have finished between the status read and the add above.
		if (pending.length > 0) {
			const again = await this.dependencyStatuses(pending);
			for (const [depId, status] of again) {
				if (status === "completed") this.index.resolveDependency(doc._id, depId);
				else if (status === "failed" || status === "cancelled") {
					await this.failForDependency(doc._id, depId);
					return;
				}
			}
		}
		this.dispatch.queued();
	}

	private entryOf(doc: TaskDoc) {
		return {
			id: doc._id,
			type: doc.type,
			priority: doc.priority,
			key: doc.key ?? null,
			availableAt: Date.parse(doc.availableAt)
		};
	}

	/** After a final state: free the key and type slot, fail what depended on a failure, chain a recurring task. */
	private async settle(doc: Pick<TaskDoc, "_id" | "status" | "cron">, completed: boolean): Promise<void> {
		const dependants = this.index.finish(doc._id, completed);
		for (const id of dependants) await this.failForDependency(id, doc._id);
		if (doc.cron && doc.status !== "cancelled") await this.scheduleNextOccurrence(doc);
		this.dispatch.wake();
	}

	private async failForDependency(id: string, depId: string): Promise<void> {
		const now = iso(Date.now());
		const error: TaskFailure = {
			message: `Dependency ${depId} did not complete`,
			type: ERROR_TYPES.DEPENDENCY_FAILED,
			errorClass: "fatal",
			retryable: false,
			data: { dependency: depId }
		};
		const doc = await this.tasks.updateOne(
			{ _id: id, status: "queued" },
			{ $set: { status: "failed", error, finishedAt: now, updatedAt: now } }
		);
		if (!doc) return;
		this.emitFailed(doc, error, false, 0, now);
		await this.settle(doc, false);
	}

	/** `ended` may hold only some fields of the occurrence that ended: the next one is made from all of them. */
	private async scheduleNextOccurrence(ended: Pick<TaskDoc, "_id">): Promise<void> {
		const doc = await this.tasks.findById(ended._id);
		if (!doc) return;
		const occurrence = nextOccurrence(doc);
		await this.tasks.insert(occurrence);
		await this.announceQueued(occurrence, new Map());
	}

	/**
	 * Puts a running task back in the queue, if `leaseId` still holds it. A hand-back spends no attempt; a lost
	 * lease does, and a task out of attempts goes to the dead letters instead. A task whose cancel was pending ends
	 * cancelled.
	 */
	private async returnToQueue(id: string, leaseId: string, outcome: AttemptOutcome): Promise<boolean> {
		const doc = await this.tasks.findById(id);
		if (!doc || doc.status !== "running" || doc.lease?.id !== leaseId) return false;
		const now = Date.now();
		const info: LeaseInfo = this.leases.get(id) ?? leaseInfoOf(doc);
		const record = attemptRecord(info, outcome, now);
		const fence = { _id: id, status: "running", "lease.id": leaseId };
		// Handed back, or never confirmed by its worker (see LeaseInfo.unconfirmed): the attempt did not happen.
		const notRun = outcome === "handed-back" || info.unconfirmed === true;
		let set: Record<string, unknown>;
		const inc: Record<string, number> = {};
		if (doc.cancelRequested) set = { status: "cancelled", finishedAt: iso(now) };
		else if (!notRun && doc.attempts >= doc.maxAttempts)
			set = {
				status: "failed",
				finishedAt: iso(now),
				error: {
					message: `Lease lost (${outcome}) on the last attempt`,
					type: ERROR_TYPES.LEASE_LOST,
					errorClass: "retryable",
					retryable: true
				}
			};
		else {
			set = { status: "queued", availableAt: iso(now) };
			if (notRun) inc.attempts = -1;
		}
		Object.assign(set, { lease: null, updatedAt: iso(now) });
		const update: Record<string, any> = { $set: set, $push: { history: record } };
		if (inc.attempts) update.$inc = inc;
		const updated = await this.tasks.updateOne(fence, update);
		if (!updated) return false;
		this.leases.delete(id);
		if (updated.status === "queued") {
			// Another scheduler on the same store may have granted this lease: then it is new to this index.
			if (this.index.has(id)) this.index.requeue(id, now);
			else await this.enqueue(updated);
			this.dispatch.wake();
		} else {
			if (updated.status === "cancelled")
				this.host.emit(EVENTS.TASK_CANCELLED, {
					taskId: id,
					taskType: updated.type,
					reason: updated.cancelRequested,
					timestamp: iso(now)
				});
			else this.emitFailed(updated, updated.error!, false, 0, iso(now));
			await this.settle(updated, false);
		}
		return true;
	}

	private emitFailed(doc: Pick<TaskDoc, "_id" | "type" | "attempts">, error: TaskFailure, willRetry: boolean, retryAfter: number, timestamp: string) {
		this.host.emit(EVENTS.TASK_FAILED, {
			taskId: doc._id,
			taskType: doc.type,
			error: error.message,
			errorType: error.type,
			errorClass: error.errorClass,
			retryable: error.retryable,
			attemptCount: doc.attempts,
			willRetry,
			...(willRetry ? { retryAfter } : {}),
			timestamp
		});
	}

	/**
	 * The lease as this scheduler granted it, or as stored (another scheduler granted it); null when that attempt is
	 * already recorded (a worker resending its report).
	 */
	private async leaseInfo(id: string, leaseId: string): Promise<LeaseInfo | null> {
		const info = this.leases.get(id);
		if (info && info.lease.id === leaseId) return info;
		const doc = await this.tasks.findById(id);
		if (!doc) throw new TaskNotFoundError(id);
		if (doc.lease?.id === leaseId) return leaseInfoOf(doc);
		if (reportedBy(doc, leaseId)) return null;
		throw new LeaseLostError(id, leaseId);
	}

	private retryPolicy(info: LeaseInfo): RetryPolicy {
		const registry = this.options.registry;
		return registry.has(info.type) ? registry.get(info.type).retry : { maxAttempts: info.maxAttempts, ...DEFAULT_RETRY };
	}
}
