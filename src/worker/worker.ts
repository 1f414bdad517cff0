import { ERROR_TYPES, TaskCancelledError, TaskError } from "../errors";
import type { TaskProgressEvent, WorkerHeartbeat } from "../events";
import type { FinishAnswer, FinishReport, LeasedTask, LogEntry, RenewAnswer, RenewItem } from "../scheduler/task-doc";
import type { UrlGuard } from "../tasks/definition";
import type { TaskRegistry } from "../tasks/registry";
import { isoNow } from "../time";
import { classifyError, type TaskFailure } from "../scheduler/classify";
import { Prefetch } from "./prefetch";
import { ProgressThrottle } from "./progress-throttle";
import type { ArtifactStore } from "../artifacts/artifact-store";
import { BrowserSource, runAttempt } from "./run-attempt";

/** The scheduler as a worker sees it: four calls, whatever carries them. */
export interface SchedulerClient {
	/**
	 * With `waitMillis`, the scheduler may hold the call that long for work to arrive. Tasks of the types in `declines`
	 * are left for other workers.
	 */
	lease(capacity: number, waitMillis?: number, declines?: string[]): Promise<LeasedTask[]>;
	renew(items: RenewItem[]): Promise<RenewAnswer>;
	finish(reports: FinishReport[]): Promise<FinishAnswer[]>;
	release(items: { id: string; leaseId: string }[]): Promise<string[]>;
}

export interface WorkerHost {
	progress(event: TaskProgressEvent & { leaseId: string }): void;
	heartbeat(beat: WorkerHeartbeat): void;
	logger: { debug(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void };
}

export interface WorkerOptions {
	nodeId: string;
	concurrency: number;
	/** How many tasks to lease ahead of the free slots; absent: none. */
	prefetch?: Prefetch;
	leaseMillis: number;
	/** How long a lease call that finds no work may wait at the scheduler for some (0: answered at once). */
	leaseWaitMillis?: number;
	pollMillis: number;
	heartbeatMillis: number;
	registry: TaskRegistry;
	urls: UrlGuard;
	browsers?: BrowserSource;
	artifacts?: ArtifactStore;
	/**
	 * Chromium cannot start on this node now: tasks of the browser types are declined (left to other nodes, or to this
	 * one once it starts).
	 */
	browserFailing?: () => boolean;
	/** Extra figures for the heartbeat (the browser pool's slots). */
	capacityInfo?: () => WorkerHeartbeat["browsers"];
}

/** At most 10 progress events per second per task (shared/seeds/004 §5). */
const PROGRESS_INTERVAL_MILLIS = 100;
/** Tries of a finish report before the lease is left to expire (the scheduler then runs the task again). */
const FINISH_TRIES = 8;

interface Attempt {
	task: LeasedTask;
	controller: AbortController;
	/** `performance.now()` at the start. */
	startedAt: number;
	/** Log entries not yet sent to the scheduler. */
	log: LogEntry[];
	throttle: ProgressThrottle<TaskProgressEvent & { leaseId: string }>;
	/** The handler returned; the report may still be on its way. */
	done: boolean;
	/** Handed back or lost: no report is sent. */
	abandoned: boolean;
}

/**
 * Pulls tasks under lease while it has free slots, runs them, renews their leases, and reports results. On drain it
 * stops pulling, lets running attempts finish within a grace period and hands the rest back.
 */
export class TaskWorker {
	private readonly attempts = new Map<string, Attempt>();
	/** Leased ahead of the free slots, not started yet, oldest first. */
	private readonly waiting: LeasedTask[] = [];
	private readonly prefetch: Prefetch;
	private readonly reports: FinishReport[] = [];
	private accepting = false;
	/** Slots that leases in flight ask for: a slot is free when neither an attempt nor a lease in flight holds it. */
	private requested = 0;
	/** Lease calls not answered yet: a drain waits for them, so the tasks they bring are handed back too. */
	private readonly leasesInFlight = new Set<Promise<void>>();
	/** The last lease found less work than it asked for: the next one may wait at the scheduler for some. */
	private starved = false;
	/** A lease call held at the scheduler is out (one at a time; other free slots are asked for as usual). */
	private holding = false;
	/** The types the held call out now declines (empty when none is out, or it declines nothing). */
	private heldDeclines: readonly string[] = [];
	/**
	 * Slots whose attempt has ended but whose browser context is still being cleared. The slot is not free before the
	 * context is: the next task then gets that context, warm and ready, instead of a prepared one while this one is
	 * cleared — which would rotate the load over more contexts than run at once (BENCHMARKS.md).
	 */
	private clearing = 0;
	private pumpScheduled = false;
	private flushScheduled = false;
	private processed = 0;
	private readonly startedAt = isoNow();
	private timers: NodeJS.Timeout[] = [];
	private idleWaiters: (() => void)[] = [];
	/**
	 * The types whose handlers open a browser: those declared so (`browser: true`), and any other whose ask for one
	 * failed here because Chromium did not start (a user's type that does not say so would otherwise fail for good).
	 */
	private readonly browserTypes: Set<string>;

	constructor(
		private readonly client: SchedulerClient,
		private readonly host: WorkerHost,
		private readonly options: WorkerOptions
	) {
		this.prefetch = options.prefetch ?? new Prefetch(0);
		this.browserTypes = new Set(options.registry.browserTypes());
	}

	/** Task types this node cannot run now: the browser types while its Chromium cannot start. */
	private declines(): string[] {
		return this.options.browserFailing?.() ? [...this.browserTypes] : [];
	}

	start(): void {
		this.accepting = true;
		const every = (millis: number, fn: () => void) => {
			const t = setInterval(fn, millis);
			t.unref();
			this.timers.push(t);
		};
		every(this.options.pollMillis, () => {
			this.declinesLifted();
			this.pump();
		});
		every(Math.max(100, Math.floor(this.options.leaseMillis / 3)), () => void this.renewLeases());
		every(this.options.heartbeatMillis, () => this.sendHeartbeat());
		this.sendHeartbeat();
		this.pump();
	}

	/**
	 * Chromium starts again while a held call declines the browser types: a heartbeat now tells the scheduler (its
	 * browsers without a launch error), which answers that call with nothing, and the next call declines nothing.
	 * Otherwise the browser tasks queued meanwhile would wait for the call's hold to end (LEASE_WAIT_MILLIS).
	 */
	private declinesLifted(): void {
		if (this.heldDeclines.length > 0 && this.declines().length === 0) this.sendHeartbeat();
	}

	/** Work is available: lease now instead of at the next poll. */
	wake(): void {
		this.pump();
	}

	/** Running attempts not yet finished. */
	get busy(): number {
		let n = 0;
		for (const a of this.attempts.values()) if (!a.done) n++;
		return n;
	}

	get runningIds(): string[] {
		return [...this.attempts.values()].filter(a => !a.done).map(a => a.task.id);
	}

	/** A cancel reached this node: abort the attempt if it is the one named. */
	abort(taskId: string, leaseId: string, reason: string): void {
		if (this.dropWaiting(taskId, leaseId)) return this.reportCancelled(taskId, leaseId, reason);
		const attempt = this.attempts.get(taskId);
		if (attempt && attempt.task.leaseId === leaseId && !attempt.done)
			attempt.controller.abort(new TaskCancelledError(reason));
	}

	/**
	 * Stops leasing; waits up to `graceMillis` for running attempts, hands the rest back (queued again without
	 * spending an attempt), and waits for the last reports to be delivered.
	 */
	async drain(graceMillis: number): Promise<void> {
		this.accepting = false;
		for (const t of this.timers) clearInterval(t);
		this.timers = [];
		// Tells the scheduler at once: it answers a held lease call now instead of at the end of its wait.
		this.sendHeartbeat();
		// Leases are still renewed while we wait.
		const renew = setInterval(() => void this.renewLeases(), Math.max(100, Math.floor(this.options.leaseMillis / 3)));
		try {
			// Tasks not started yet go back at once, for other workers to run while these attempts finish.
			await this.handBack(this.waiting.splice(0));
			await this.waitIdle(graceMillis);
			const left = [...this.attempts.values()].filter(a => !a.done);
			// Stop the attempts before handing them back: once released, another worker may start them at once.
			for (const a of left) {
				a.abandoned = true;
				a.controller.abort(new TaskError("Handed back at shutdown", "retryable", ERROR_TYPES.TASK_HANDED_BACK));
			}
			// With the tasks that leases still in flight bring. Waiting longer than a lease is pointless: the scheduler
			// puts back whatever such a late answer would have carried once its lease expires.
			await Promise.race([Promise.all(this.leasesInFlight), new Promise(r => setTimeout(r, this.options.leaseMillis).unref())]);
			await this.handBack([...left.map(a => a.task), ...this.waiting.splice(0)]);
			await this.flushReports();
		} finally {
			clearInterval(renew);
			this.sendHeartbeat();
		}
	}

	private async handBack(tasks: LeasedTask[]): Promise<void> {
		if (tasks.length === 0) return;
		try {
			await this.client.release(tasks.map(t => ({ id: t.id, leaseId: t.leaseId })));
		} catch (err) {
			this.host.logger.warn("hand-back failed; the leases will expire instead", err);
		}
	}

	private waitIdle(timeoutMillis: number): Promise<void> {
		if (this.busy === 0) return Promise.resolve();
		return new Promise(resolve => {
			const timer = setTimeout(done, timeoutMillis);
			function done() {
				clearTimeout(timer);
				resolve();
			}
			this.idleWaiters.push(done);
		});
	}

	/**
	 * Leases for the free slots, once per event-loop turn (attempts that end in one turn share one call). A lease is
	 * not awaited before the next: slots freed while one is in flight are asked for at once, so short tasks do not
	 * wait for a round trip each time (one lease at a time had kept half the slots empty with no-op tasks).
	 */
	private pump(): void {
		if (!this.accepting || this.pumpScheduled) return;
		this.pumpScheduled = true;
		setImmediate(() => {
			this.pumpScheduled = false;
			this.leaseFreeSlots();
		});
	}

	private leaseFreeSlots(): void {
		if (!this.accepting) return;
		const { concurrency } = this.options;
		const free = concurrency + this.prefetch.depth(concurrency) - this.busy - this.clearing - this.waiting.length - this.requested;
		if (free <= 0) return;
		this.requested += free;
		const waitMillis = this.starved && !this.holding ? (this.options.leaseWaitMillis ?? 0) : 0;
		const askedAt = performance.now();
		const declines = this.declines();
		if (waitMillis > 0) {
			this.holding = true;
			this.heldDeclines = declines;
		}
		const leasing = this.client
			.lease(free, waitMillis || undefined, declines.length ? declines : undefined)
			.then(
				tasks => {
					const took = performance.now() - askedAt;
					// A held call's time is the wait for work, not a round trip.
					if (waitMillis === 0) this.prefetch.leaseTook(took);
					this.starved = tasks.length < free;
					if (this.starved && this.options.leaseWaitMillis) {
						// Less work than slots: ask for the rest with a call the scheduler holds until there is some, unless
						// one is out. A held call that brought work, or was held to the end of its wait, is followed by
						// another at once; one answered early with nothing (a scheduler stopping, this worker draining)
						// waits for the next poll, so as not to ask in a loop.
						// One released because what it declined can run here now is followed at once too.
						if (waitMillis === 0 ? !this.holding : tasks.length > 0 || took >= waitMillis / 2 || declines.length > this.declines().length)
							this.pump();
					}
					for (const task of tasks) {
						if (this.accepting && this.hasFreeSlot()) this.run(task);
						else this.waiting.push(task);
					}
					// The scheduler counts an attempt of a held call's task only once this worker is known to have it.
					if (waitMillis > 0 && tasks.length > 0) void this.renewLeases();
				},
				err => this.host.logger.debug("lease failed; retrying at the next poll", err?.message)
			)
			.finally(() => {
				this.requested -= free;
				if (waitMillis > 0) {
					this.holding = false;
					this.heldDeclines = [];
				}
				this.leasesInFlight.delete(leasing);
			});
		this.leasesInFlight.add(leasing);
	}

	private run(task: LeasedTask): void {
		const attempt: Attempt = {
			task,
			controller: new AbortController(),
			startedAt: performance.now(),
			log: [],
			throttle: new ProgressThrottle(PROGRESS_INTERVAL_MILLIS, event => this.host.progress(event)),
			done: false,
			abandoned: false
		};
		this.attempts.set(task.id, attempt);
		const report = this.options.registry.has(task.type)
			? runAttempt(this.options.registry.get(task.type), task, {
					nodeId: this.options.nodeId,
					urls: this.options.urls,
					browsers: this.options.browsers,
					artifacts: this.options.artifacts,
					controller: attempt.controller,
					holdSlot: cleared => this.holdSlot(cleared),
					progress: (percent, step) => attempt.throttle.report(this.progressEvent(attempt, percent, step)),
					log: entry => attempt.log.push(entry)
				})
			: Promise.resolve<FinishReport>({
					id: task.id,
					leaseId: task.leaseId,
					ok: false,
					error: {
						message: `Task type "${task.type}" is not installed on node ${this.options.nodeId}`,
						type: ERROR_TYPES.UNKNOWN_TASK_TYPE,
						errorClass: "retryable",
						retryable: true
					}
				});
		report.then(r => this.attemptEnded(attempt, r));
	}

	private attemptEnded(attempt: Attempt, report: FinishReport): void {
		attempt.done = true;
		this.prefetch.attemptTook(performance.now() - attempt.startedAt);
		attempt.throttle.flush();
		if (!attempt.abandoned && !report.ok && this.declinedOnFailure(attempt.task, report.error)) {
			// Leased before this node knew its Chromium would not start: another node runs it, no attempt spent.
			attempt.abandoned = true;
			this.host.logger.warn(`task ${attempt.task.id} handed back: ${report.error.message}`);
			void this.handBack([attempt.task]);
		}
		if (attempt.abandoned) this.attempts.delete(attempt.task.id);
		else {
			if (attempt.log.length > 0) report.log = attempt.log.splice(0);
			this.reports.push(report);
			this.scheduleFlush();
		}
		this.processed++;
		this.startWaiting();
		if (this.busy === 0) for (const done of this.idleWaiters.splice(0)) done();
		this.pump();
	}

	/**
	 * The attempt failed because Chromium did not start here: this node declines its type from now on (a type that
	 * did not say `browser: true` is learned here, from its handler's ask for a browser).
	 */
	private declinedOnFailure(task: LeasedTask, error: TaskFailure): boolean {
		if (error.type !== ERROR_TYPES.BROWSER_LAUNCH_FAILED || !this.options.browserFailing?.()) return false;
		this.browserTypes.add(task.type);
		return true;
	}

	private hasFreeSlot(): boolean {
		return this.busy + this.clearing < this.options.concurrency;
	}

	/** Runs the next task leased ahead, if a slot is free. */
	private startWaiting(): void {
		if (this.accepting && this.waiting.length > 0 && this.hasFreeSlot()) this.run(this.waiting.shift()!);
	}

	/** Called before the attempt ends: its slot is free once `cleared` settles. */
	private holdSlot(cleared: Promise<void>): void {
		this.clearing++;
		const freed = () => {
			this.clearing--;
			this.startWaiting();
			this.pump();
		};
		cleared.then(freed, freed);
	}

	/** Removes a task leased ahead from the waiting line; false when it is not there (under that lease). */
	private dropWaiting(taskId: string, leaseId: string | undefined): boolean {
		const i = this.waiting.findIndex(t => t.id === taskId && t.leaseId === leaseId);
		if (i < 0) return false;
		this.waiting.splice(i, 1);
		return true;
	}

	/** A task cancelled before it started ends like a cancelled attempt. */
	private reportCancelled(taskId: string, leaseId: string, reason: string): void {
		this.reports.push({ id: taskId, leaseId, ok: false, error: classifyError(new TaskCancelledError(reason)) });
		this.scheduleFlush();
	}

	private progressEvent(attempt: Attempt, progress: number, step: string | undefined) {
		const elapsed = performance.now() - attempt.startedAt;
		const event: TaskProgressEvent & { leaseId: string } = {
			taskId: attempt.task.id,
			taskType: attempt.task.type,
			leaseId: attempt.task.leaseId,
			progress,
			timestamp: isoNow()
		};
		if (step !== undefined) event.currentOperation = step;
		if (progress > 0 && progress < 100) event.estimatedTimeRemaining = Math.round((elapsed * (100 - progress)) / progress);
		return event;
	}

	/** Reports that end in the same tick travel in one call. */
	private scheduleFlush(): void {
		if (this.flushScheduled) return;
		this.flushScheduled = true;
		setImmediate(() => {
			this.flushScheduled = false;
			void this.flushReports();
		});
	}

	private async flushReports(): Promise<void> {
		const batch = this.reports.splice(0);
		if (batch.length === 0) return;
		for (let tries = 1; ; tries++) {
			try {
				const answers = await this.client.finish(batch);
				for (const answer of answers)
					if (!answer.accepted) this.host.logger.warn(`result of task ${answer.id} refused: ${answer.error}`);
				break;
			} catch (err: any) {
				// Reports are fenced by lease id, so sending one twice is harmless.
				if (tries >= FINISH_TRIES) {
					this.host.logger.error(`could not deliver ${batch.length} results; their leases will expire`, err?.message);
					break;
				}
				await new Promise(r => setTimeout(r, Math.min(2000, 50 * 2 ** tries)).unref());
			}
		}
		for (const report of batch) {
			const attempt = this.attempts.get(report.id);
			if (attempt && attempt.task.leaseId === report.leaseId) this.attempts.delete(report.id);
		}
	}

	private async renewLeases(): Promise<void> {
		const held = [...this.attempts.values()].filter(a => !a.abandoned);
		if (held.length === 0 && this.waiting.length === 0) return;
		const items: RenewItem[] = held.map(a => {
			const item: RenewItem = { id: a.task.id, leaseId: a.task.leaseId };
			if (!a.done && a.log.length > 0) item.log = a.log.splice(0);
			return item;
		});
		for (const t of this.waiting) items.push({ id: t.id, leaseId: t.leaseId });
		let answer: RenewAnswer;
		try {
			answer = await this.client.renew(items);
		} catch (err: any) {
			this.host.logger.warn("lease renewal failed", err?.message);
			return;
		}
		// The answer names tasks by id; the lease each was renewed under tells whether it is still the same attempt.
		const sent = new Map(items.map(i => [i.id, i.leaseId]));
		for (const id of answer.lost) {
			if (this.dropWaiting(id, sent.get(id))) continue;
			const a = this.attempts.get(id);
			if (!a) continue;
			a.abandoned = true;
			a.controller.abort(new TaskError("Lease lost", "retryable", ERROR_TYPES.LEASE_LOST));
			if (a.done) this.attempts.delete(id);
		}
		for (const id of answer.abort) this.abort(id, sent.get(id)!, "cancelled by request");
	}

	private sendHeartbeat(): void {
		this.host.heartbeat({
			nodeId: this.options.nodeId,
			pid: process.pid,
			concurrency: this.options.concurrency,
			running: this.runningIds,
			processed: this.processed,
			startedAt: this.startedAt,
			timestamp: isoNow(),
			accepting: this.accepting,
			browsers: this.options.capacityInfo?.()
		});
	}
}
