import { iso } from "../time";
import type { TaskFailure } from "./classify";
import type { AttemptOutcome, AttemptRecord, Lease, TaskDoc } from "./task-doc";

/** A lease this scheduler granted, with what finishing it needs, so a finish is one store write. */
export interface LeaseInfo {
	lease: Lease;
	attempt: number;
	maxAttempts: number;
	type: string;
	cancelRequested: string | null;
	/**
	 * Granted to a held lease call and not yet renewed: the worker may have died while its call was held, and the
	 * answer reached no one. Such a lease, lost, is handed back without spending an attempt; the worker renews it
	 * as soon as the answer arrives.
	 */
	unconfirmed?: boolean;
}

/** The fields of a running task's document that say what its lease is. */
export type LeasedFields = Pick<TaskDoc, "lease" | "attempts" | "maxAttempts" | "type" | "cancelRequested">;

/** What a running task's stored document says of its lease. */
export function leaseInfoOf(doc: LeasedFields): LeaseInfo {
	return {
		lease: { ...doc.lease! },
		attempt: doc.attempts,
		maxAttempts: doc.maxAttempts,
		type: doc.type,
		cancelRequested: doc.cancelRequested ?? null
	};
}

/** The history entry of an attempt that ended. */
export function attemptRecord(info: LeaseInfo, outcome: AttemptOutcome, now: number, error?: TaskFailure): AttemptRecord {
	const record: AttemptRecord = {
		attempt: info.attempt,
		leaseId: info.lease.id,
		nodeId: info.lease.owner,
		startedAt: info.lease.startedAt,
		endedAt: iso(now),
		outcome
	};
	if (error) record.error = error;
	return record;
}

/** The leases of running tasks, by task id: what this scheduler granted, or found running when it started. */
export class LeaseBook {
	private readonly leases = new Map<string, LeaseInfo>();

	get size(): number {
		return this.leases.size;
	}

	/** Records the lease a running task's document holds; `unconfirmed` when it went to a held lease call. */
	track(doc: LeasedFields & Pick<TaskDoc, "_id">, unconfirmed = false): void {
		const info = leaseInfoOf(doc);
		if (unconfirmed) info.unconfirmed = true;
		this.leases.set(doc._id, info);
	}

	get(taskId: string): LeaseInfo | undefined {
		return this.leases.get(taskId);
	}

	/** The attempt ended, or its lease was taken away. */
	delete(taskId: string): void {
		this.leases.delete(taskId);
	}

	/** The worker renewed the lease: it has the task, and holds it until `expiresAt`. */
	renewed(taskId: string, expiresAt: string): void {
		const info = this.leases.get(taskId);
		if (!info) return;
		info.lease.expiresAt = expiresAt;
		info.unconfirmed = false;
	}

	/** A cancel was asked for the running task: its report ends it cancelled. */
	cancelRequested(taskId: string, reason: string): void {
		const info = this.leases.get(taskId);
		if (info) info.cancelRequested = reason;
	}

	/** The running tasks of each node that holds any. */
	tasksByNode(): Map<string, string[]> {
		const byNode = new Map<string, string[]>();
		for (const [id, info] of this.leases) {
			const list = byNode.get(info.lease.owner) ?? [];
			list.push(id);
			byNode.set(info.lease.owner, list);
		}
		return byNode;
	}
}
