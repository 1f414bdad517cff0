import { HeldLeases } from "./held-leases";
import type { LeasedTask } from "./task-doc";
import type { TaskIndex } from "./task-index";
import { MAX_TIMER_MILLIS } from "../time";

/** What the dispatcher needs from the scheduler. */
export interface DispatchHost {
	/** Leases these queued tasks to a node with one conditional write; answers those it got. */
	grant(ids: string[], nodeId: string, now: number, toHeldCall: boolean): Promise<LeasedTask[]>;
	/** Tells idle workers there is work to lease (a broadcast). */
	wakeWorkers(): void;
}

/**
 * Who gets ready work, and when. A lease call takes the best ready tasks it accepts or, finding none, is held until
 * some arrive. A worker whose call found less than it asked for is "hungry": when work arrives, held calls are served
 * first, then the hungry are woken, at most once per tick (a batch of submits or finishes is served together). One
 * timer wakes them when the earliest delayed task is due.
 */
export class Dispatcher {
	/** Workers whose last lease call found less work than they could take. */
	private readonly hungry = new Set<string>();
	/** Lease calls waiting for work; they are served before any broadcast. */
	private readonly held = new HeldLeases();
	private wakeScheduled = false;
	private dueTimer: NodeJS.Timeout | null = null;
	private dueAt = Infinity;
	private stopped = false;

	constructor(
		private readonly index: TaskIndex,
		private readonly host: DispatchHost
	) {}

	/**
	 * Up to `capacity` ready tasks for `nodeId`, best first, of any type but those it `declines` (a node whose Chromium
	 * cannot start declines the browser types). With none ready and `waitMillis` given, the call is held until work
	 * arrives (then answered with it) or that time passes (then answered with nothing).
	 */
	lease(nodeId: string, capacity: number, waitMillis: number, declines: readonly string[]): Promise<LeasedTask[]> {
		if (this.stopped || capacity <= 0) return Promise.resolve([]);
		const entries = this.index.take(capacity, Date.now(), accepting(declines));
		if (entries.length === 0 && waitMillis > 0)
			return this.held.hold({ nodeId, capacity, declines }, waitMillis, node => this.hungry.add(node));
		if (entries.length < capacity) this.hungry.add(nodeId);
		if (entries.length === 0) return Promise.resolve([]);
		return this.host.grant(
			entries.map(e => e.id),
			nodeId,
			Date.now(),
			false
		);
	}

	/** Work was queued or became ready: serve held calls and wake hungry workers, and keep the due timer armed. */
	queued(): void {
		this.armDueTimer();
		this.wake();
	}

	/** A task is queued again for later (a retry with backoff): keep the due timer armed for it. */
	delayed(): void {
		this.armDueTimer();
	}

	/** Serves held calls and wakes hungry workers if any work is ready (at most once per tick). */
	wake(): void {
		if (this.wakeScheduled || this.stopped || (this.hungry.size === 0 && this.held.size === 0)) return;
		if (!this.index.hasReady()) return;
		this.wakeScheduled = true;
		setImmediate(() => {
			this.wakeScheduled = false;
			this.serveHeld();
			if (this.hungry.size === 0 || !this.index.hasReady()) return;
			this.hungry.clear();
			this.host.wakeWorkers();
		});
	}

	/** A worker said it has free slots (its heartbeat): it is woken with the others when work is ready. */
	hungryWorker(nodeId: string): void {
		this.hungry.add(nodeId);
	}

	/**
	 * Answers a node's held calls with nothing: it stopped accepting work (a draining worker waits for its calls
	 * before it hands back what they bring), or stopped renewing (its calls would take tasks straight back).
	 */
	releaseHeld(nodeId: string): void {
		this.held.releaseAll(nodeId);
	}

	/** Answers a node's held calls that decline some types with nothing: it can run them now. */
	releaseDeclining(nodeId: string): void {
		this.held.releaseAll(nodeId, call => call.declines.length > 0);
	}

	/** A node left the cluster. */
	forget(nodeId: string): void {
		this.hungry.delete(nodeId);
		this.held.releaseAll(nodeId);
	}

	stop(): void {
		this.stopped = true;
		this.held.releaseAll();
		if (this.dueTimer) clearTimeout(this.dueTimer);
		this.dueTimer = null;
	}

	/** Answers held lease calls, oldest first, while there is work for them. */
	private serveHeld(): void {
		for (const call of this.held.calls()) {
			if (this.stopped || !this.index.hasReady()) return;
			// A call that declines what is ready stays held; a later one may take it.
			const entries = this.index.take(call.capacity, Date.now(), accepting(call.declines));
			if (entries.length === 0) continue;
			if (entries.length < call.capacity) this.hungry.add(call.nodeId);
			this.held.answer(
				call,
				this.host.grant(
					entries.map(e => e.id),
					call.nodeId,
					Date.now(),
					true
				)
			);
		}
	}

	/** Keeps one timer armed for the earliest delayed task, so its workers are woken when it is due. */
	private armDueTimer(): void {
		const next = this.index.nextDueAt();
		if (next === undefined || next >= this.dueAt || this.stopped) return;
		if (this.dueTimer) clearTimeout(this.dueTimer);
		this.dueAt = next;
		// A task due later than Node's timers reach: fire early, find nothing due, re-arm for the rest.
		const wait = Math.min(MAX_TIMER_MILLIS, Math.max(0, next - Date.now()));
		this.dueTimer = setTimeout(() => {
			this.dueTimer = null;
			this.dueAt = Infinity;
			this.wake();
			this.armDueTimer();
		}, wait);
		this.dueTimer.unref();
	}
}

/** The type filter of a lease call: absent when the worker takes every type. */
function accepting(declines: readonly string[]): ((type: string) => boolean) | undefined {
	return declines.length === 0 ? undefined : type => !declines.includes(type);
}
