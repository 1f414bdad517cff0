import type { LeasedTask } from "./task-doc";

/** The longest a lease call is held, whatever the worker asks: its caller's timeout must stay ahead of it. */
export const MAX_HOLD_MILLIS = 30_000;

/** A worker's lease call that found no work and waits for some. */
export interface HeldLease {
	readonly nodeId: string;
	readonly capacity: number;
	/** Task types the worker cannot run now. */
	readonly declines: readonly string[];
}

interface Held extends HeldLease {
	answer(tasks: LeasedTask[] | Promise<LeasedTask[]>): void;
	timer: NodeJS.Timeout;
}

/**
 * Lease calls held open until work arrives (a long poll). Without them an idle worker learns of a new task from a
 * broadcast and then asks for it: two more messages between "queued" and "started" on a cluster. A held call is
 * answered with the task instead, and the worker still pulls: it asked, and it asked for no more than it can run.
 */
export class HeldLeases {
	private readonly held: Held[] = [];

	get size(): number {
		return this.held.length;
	}

	/**
	 * Holds a call for up to `millis` (at most MAX_HOLD_MILLIS). On expiry it is answered with nothing and `expired`
	 * is told, so the worker is counted hungry again (the broadcast still reaches it until it calls again).
	 */
	hold(lease: HeldLease, millis: number, expired: (nodeId: string) => void): Promise<LeasedTask[]> {
		return new Promise(resolve => {
			const call: Held = {
				...lease,
				answer: resolve,
				timer: setTimeout(() => {
					if (this.remove(call)) {
						resolve([]);
						expired(lease.nodeId);
					}
				}, Math.min(millis, MAX_HOLD_MILLIS))
			};
			this.held.push(call);
		});
	}

	/** The calls held now, the one waiting longest first (a copy: answering one does not disturb the loop). */
	calls(): HeldLease[] {
		return [...this.held];
	}

	/** Answers a call (it leaves the list); false when it was answered already. */
	answer(call: HeldLease, tasks: LeasedTask[] | Promise<LeasedTask[]>): boolean {
		const held = call as Held;
		if (!this.remove(held)) return false;
		held.answer(tasks);
		return true;
	}

	/** Answers with nothing the calls of one node (it stopped accepting work, or left), or of every node; `which` of them. */
	releaseAll(nodeId?: string, which: (call: HeldLease) => boolean = () => true): void {
		for (const call of [...this.held]) if ((nodeId === undefined || call.nodeId === nodeId) && which(call)) this.answer(call, []);
	}

	private remove(call: Held): boolean {
		const i = this.held.indexOf(call);
		if (i < 0) return false;
		this.held.splice(i, 1);
		clearTimeout(call.timer);
		return true;
	}
}
