import { Heap } from "./heap";

/** Where a queued task stands in the scheduler's memory. */
export type EntryState = "behind-key" | "waiting" | "delayed" | "ready" | "running";

export interface QueueEntry {
	id: string;
	type: string;
	priority: number;
	key: string | null;
	/** Epoch millis before which the task must not start (runAt, retry backoff). */
	availableAt: number;
	/** Dependencies not completed yet. */
	pendingDeps: Set<string>;
	state: EntryState;
}

export interface NewEntry {
	id: string;
	type: string;
	priority: number;
	key: string | null;
	availableAt: number;
	pendingDeps?: Iterable<string>;
}

interface KeyLane {
	/** The one task of the key that may be staged or running; the rest wait behind it in id (submission) order. */
	head: string | null;
	behind: QueueEntry[];
}

export interface IndexStats {
	queued: number;
	ready: number;
	delayed: number;
	waiting: number;
	behindKey: number;
	parked: number;
	running: number;
}

/** Higher priority first, then the older task; ids sort by creation time. */
const byPriorityThenAge = (a: QueueEntry, b: QueueEntry) =>
	a.priority !== b.priority ? a.priority > b.priority : a.id < b.id;
const byDueTime = (a: QueueEntry, b: QueueEntry) =>
	a.availableAt !== b.availableAt ? a.availableAt < b.availableAt : a.id < b.id;

/**
 * The in-memory dispatch order of the tasks one scheduler knows. The store stays the truth (leases are conditional
 * updates there); this index only decides which task to try next, in O(log n): priority then age, per-key FIFO,
 * dependencies, delays, per-type concurrency, and the types a worker takes.
 *
 * Ready tasks wait in one heap per type: a take compares the tops of the heaps it may draw from, so a type at its
 * concurrency limit, or one the asking worker cannot run, is passed over without touching its tasks (task types are
 * few: the plugins under `tasks/`).
 */
export class TaskIndex {
	private readonly entries = new Map<string, QueueEntry>();
	private readonly ready = new Map<string, Heap<QueueEntry>>();
	private readyCount = 0;
	private readonly delayed = new Heap<QueueEntry>(byDueTime);
	private readonly dependants = new Map<string, Set<string>>();
	private readonly keys = new Map<string, KeyLane>();
	private readonly runningByType = new Map<string, number>();

	/** @param typeLimit concurrency limit of a task type (Infinity for none). */
	constructor(private readonly typeLimit: (type: string) => number) {}

	has(id: string): boolean {
		return this.entries.has(id);
	}

	get(id: string): QueueEntry | undefined {
		return this.entries.get(id);
	}

	/** A queued task becomes known: on submit, on retry from the dead letters, on load. */
	add(input: NewEntry, now = Date.now()): QueueEntry {
		const existing = this.entries.get(input.id);
		if (existing) return existing;
		const entry: QueueEntry = {
			id: input.id,
			type: input.type,
			priority: input.priority,
			key: input.key,
			availableAt: input.availableAt,
			pendingDeps: new Set(input.pendingDeps ?? []),
			state: "ready"
		};
		this.entries.set(entry.id, entry);
		if (entry.key !== null) {
			let lane = this.keys.get(entry.key);
			if (!lane) this.keys.set(entry.key, (lane = { head: null, behind: [] }));
			if (lane.head !== null && lane.head !== entry.id) {
				entry.state = "behind-key";
				insertSorted(lane.behind, entry);
				return entry;
			}
			lane.head = entry.id;
		}
		this.stage(entry, now);
		return entry;
	}

	/** A task that is already running when it becomes known (scheduler start): it holds its key and type slot. */
	addRunning(input: NewEntry): void {
		if (this.entries.has(input.id)) return;
		const entry: QueueEntry = { ...input, pendingDeps: new Set(), state: "running" };
		this.entries.set(entry.id, entry);
		this.incType(entry.type, 1);
		if (entry.key !== null) {
			const lane = this.keys.get(entry.key) ?? { head: null, behind: [] };
			this.keys.set(entry.key, lane);
			if (lane.head === null) lane.head = entry.id;
		}
	}

	/** A dependency of `id` completed. */
	resolveDependency(id: string, depId: string, now = Date.now()): void {
		const entry = this.entries.get(id);
		if (!entry || !entry.pendingDeps.delete(depId)) return;
		this.dependants.get(depId)?.delete(id);
		if (entry.pendingDeps.size === 0 && entry.state === "waiting") this.stage(entry, now);
	}

	/**
	 * Takes up to `max` tasks to lease, best first, of the types `accepts` allows (all when absent). They count as
	 * running until `finish`, `requeue` or `drop`.
	 */
	take(max: number, now = Date.now(), accepts?: (type: string) => boolean): QueueEntry[] {
		this.promoteDue(now);
		const taken: QueueEntry[] = [];
		while (taken.length < max) {
			let best: Heap<QueueEntry> | undefined;
			for (const [type, heap] of this.ready) {
				const top = heap.peek();
				if (!top || (best && !byPriorityThenAge(top, best.peek()!))) continue;
				if (this.atLimit(type) || (accepts && !accepts(type))) continue;
				best = heap;
			}
			if (!best) break;
			const entry = best.pop()!;
			this.readyCount--;
			entry.state = "running";
			this.incType(entry.type, 1);
			taken.push(entry);
		}
		return taken;
	}

	/** A running task went back to the queue (retry after backoff, lost lease, hand-back). It keeps its key. */
	requeue(id: string, availableAt: number, now = Date.now()): void {
		const entry = this.entries.get(id);
		if (!entry) return;
		if (entry.state === "running") this.leaveRunning(entry);
		else this.unstage(entry);
		entry.availableAt = availableAt;
		this.stage(entry, now);
	}

	/**
	 * The task reached a final state (or the store refused it): forget it, free its key and type slot, and release
	 * what waited on it. Answers the dependants that must now fail, when the task did not complete.
	 */
	finish(id: string, completed: boolean, now = Date.now()): string[] {
		this.drop(id, now);
		const waiting = [...(this.dependants.get(id) ?? [])];
		this.dependants.delete(id);
		if (!completed) return waiting;
		for (const dependant of waiting) this.resolveDependency(dependant, id, now);
		return [];
	}

	/** Forgets a task without touching what depends on it (another scheduler leased it). */
	drop(id: string, now = Date.now()): void {
		const entry = this.entries.get(id);
		if (!entry) return;
		if (entry.state === "running") this.leaveRunning(entry);
		else this.unstage(entry);
		this.entries.delete(id);
		for (const dep of entry.pendingDeps) this.dependants.get(dep)?.delete(id);
		if (entry.key !== null) this.advanceKey(entry, now);
	}

	/** Epoch millis when the next delayed task is due, if any. */
	nextDueAt(): number | undefined {
		return this.delayed.peek()?.availableAt;
	}

	/**
	 * True when a `take` now, by a worker that takes every type, would find something: a ready task of a type below its
	 * concurrency limit, or a delayed one due (whatever its type). Waking workers for tasks that wait for a slot of
	 * their type would send them to lease nothing.
	 */
	hasReady(now = Date.now()): boolean {
		for (const [type, heap] of this.ready) if (heap.size > 0 && !this.atLimit(type)) return true;
		return (this.delayed.peek()?.availableAt ?? Infinity) <= now;
	}

	runningOfType(type: string): number {
		return this.runningByType.get(type) ?? 0;
	}

	stats(): IndexStats {
		let running = 0;
		let waiting = 0;
		let behindKey = 0;
		for (const e of this.entries.values()) {
			if (e.state === "running") running++;
			else if (e.state === "waiting") waiting++;
			else if (e.state === "behind-key") behindKey++;
		}
		// Ready tasks of a type at its concurrency limit wait for one of that type to end.
		let parked = 0;
		for (const [type, heap] of this.ready) if (this.atLimit(type)) parked += heap.size;
		return {
			queued: this.entries.size - running,
			ready: this.readyCount - parked,
			delayed: this.delayed.size,
			waiting,
			behindKey,
			parked,
			running
		};
	}

	private stage(entry: QueueEntry, now: number): void {
		if (entry.pendingDeps.size > 0) {
			entry.state = "waiting";
			for (const dep of entry.pendingDeps) {
				const set = this.dependants.get(dep) ?? new Set<string>();
				set.add(entry.id);
				this.dependants.set(dep, set);
			}
		} else if (entry.availableAt > now) {
			entry.state = "delayed";
			this.delayed.push(entry);
		} else this.makeReady(entry);
	}

	private makeReady(entry: QueueEntry): void {
		entry.state = "ready";
		let heap = this.ready.get(entry.type);
		if (!heap) this.ready.set(entry.type, (heap = new Heap<QueueEntry>(byPriorityThenAge)));
		heap.push(entry);
		this.readyCount++;
	}

	private atLimit(type: string): boolean {
		return (this.runningByType.get(type) ?? 0) >= this.typeLimit(type);
	}

	/** Takes a not-running entry out of whichever structure holds it. */
	private unstage(entry: QueueEntry): void {
		switch (entry.state) {
			case "ready":
				if (this.ready.get(entry.type)?.remove(entry)) this.readyCount--;
				break;
			case "delayed":
				this.delayed.remove(entry);
				break;
			case "behind-key": {
				const lane = this.keys.get(entry.key!);
				if (lane) lane.behind.splice(lane.behind.indexOf(entry), 1);
				break;
			}
			case "waiting":
				for (const dep of entry.pendingDeps) this.dependants.get(dep)?.delete(entry.id);
				break;
		}
	}

	private promoteDue(now: number): void {
		while ((this.delayed.peek()?.availableAt ?? Infinity) <= now) {
			this.makeReady(this.delayed.pop()!);
		}
	}

	private leaveRunning(entry: QueueEntry): void {
		this.incType(entry.type, -1);
	}

	private advanceKey(entry: QueueEntry, now: number): void {
		const lane = this.keys.get(entry.key!);
		if (!lane || lane.head !== entry.id) return;
		const next = lane.behind.shift();
		lane.head = next ? next.id : null;
		if (next) this.stage(next, now);
		else this.keys.delete(entry.key!);
	}

	private incType(type: string, delta: number): void {
		this.runningByType.set(type, (this.runningByType.get(type) ?? 0) + delta);
	}
}

function insertSorted(list: QueueEntry[], entry: QueueEntry): void {
	let i = list.length;
	while (i > 0 && list[i - 1].id > entry.id) i--;
	list.splice(i, 0, entry);
}
