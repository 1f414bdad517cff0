import type { WorkerHeartbeat } from "../events";
import { iso } from "../time";

export interface WorkerView {
	nodeId: string;
	pid: number | null;
	concurrency: number | null;
	accepting: boolean;
	startedAt: string | null;
	lastHeartbeat: string;
	processed: number;
	currentTasks: string[];
	/** Browser slots the node advertised in its last heartbeat. */
	browserSlots: WorkerHeartbeat["browsers"] | null;
}

interface WorkerState {
	nodeId: string;
	pid: number | null;
	concurrency: number | null;
	accepting: boolean;
	startedAt: string | null;
	lastSeen: number;
	/** Results this scheduler accepted from the worker, added to what the worker reported. */
	processed: number;
	browserSlots: WorkerHeartbeat["browsers"] | null;
}

/** Live workers as a scheduler sees them: from heartbeats and lease calls, gone on `$node.disconnected`. */
export class WorkerRegistry {
	private readonly workers = new Map<string, WorkerState>();

	constructor(private readonly staleMillis: number) {}

	heartbeat(beat: WorkerHeartbeat): void {
		const w = this.touch(beat.nodeId);
		w.pid = beat.pid;
		w.concurrency = beat.concurrency;
		w.accepting = beat.accepting;
		w.startedAt = beat.startedAt;
		w.processed = Math.max(w.processed, beat.processed);
		w.browserSlots = beat.browsers ?? null;
	}

	touch(nodeId: string, now = Date.now()): WorkerState {
		let w = this.workers.get(nodeId);
		if (!w) {
			w = { nodeId, pid: null, concurrency: null, accepting: true, startedAt: null, lastSeen: now, processed: 0, browserSlots: null };
			this.workers.set(nodeId, w);
		}
		w.lastSeen = now;
		return w;
	}

	processed(nodeId: string): void {
		this.touch(nodeId).processed++;
	}

	remove(nodeId: string): void {
		this.workers.delete(nodeId);
	}

	/** Live workers; `running` maps a node to the tasks it holds leases on. */
	list(running: Map<string, string[]>, now = Date.now()): WorkerView[] {
		const views: WorkerView[] = [];
		for (const w of this.workers.values()) {
			if (now - w.lastSeen > this.staleMillis) {
				this.workers.delete(w.nodeId);
				continue;
			}
			views.push({
				nodeId: w.nodeId,
				pid: w.pid,
				concurrency: w.concurrency,
				accepting: w.accepting,
				startedAt: w.startedAt,
				lastHeartbeat: iso(w.lastSeen),
				processed: w.processed,
				currentTasks: running.get(w.nodeId) ?? [],
				browserSlots: w.browserSlots
			});
		}
		return views;
	}
}
