import type Datastore from "@seald-io/nedb";
import type { Doc } from "./store";

interface Write {
	/** Makes the new versions and puts them in the indexes (synchronously; a throw leaves everything as it was). */
	apply(): Doc[];
	resolve(stored: Doc[]): void;
	reject(err: unknown): void;
}

/**
 * Writes of one NeDB collection issued one after another, with no other operation of it in between, run as one task
 * of NeDB's executor and reach the file as one batch of lines. A busy scheduler issues a submit's insert per request
 * (a socket read brings a dozen) and a finish's update per report (a call brings a batch): each was an executor task of
 * its own, a promise chain and a persistence call, for a few microseconds of work.
 *
 * Order is kept: a write joins the batch only while no other operation of the collection (a read, a delete, an index
 * change, a compaction step) was queued after the batch, so every operation still runs in the order it was issued.
 * Each write succeeds or fails alone (a unique index refusing one insert fails that insert only), as when each ran on
 * its own. The writes are synchronous, so they need what NeDB's async steps only add expiry to: no TTL index.
 */
export class WriteBatcher {
	/** The batch later writes may still join: queued, not started. */
	private open: Write[] | undefined;
	private readonly push: (task: () => Promise<unknown>) => Promise<unknown>;

	constructor(private readonly db: Datastore<any>) {
		const executor = (db as any).executor;
		const push = executor.pushAsync.bind(executor);
		this.push = push;
		// Any other task queued closes the batch: a write issued after it must run after it.
		executor.pushAsync = (task: () => Promise<unknown>, forceQueuing?: boolean) => {
			this.open = undefined;
			return push(task, forceQueuing);
		};
	}

	/** False when NeDB's internals changed, or the collection expires documents (TTL): writes then go NeDB's way. */
	static usable(db: Datastore<any>): boolean {
		const internal = db as any;
		return (
			typeof internal.executor?.pushAsync === "function" &&
			typeof internal._getRawCandidates === "function" &&
			typeof internal._updateIndexes === "function" &&
			typeof internal._prepareDocumentForInsertion === "function" &&
			typeof internal._insertInCache === "function" &&
			Object.keys(internal.ttlIndexes ?? {}).length === 0
		);
	}

	/** Runs `apply` in the batch being gathered, or in a new one; answers the versions it stored. */
	write(apply: () => Doc[]): Promise<Doc[]> {
		return new Promise((resolve, reject) => {
			const write = { apply, resolve, reject };
			if (this.open) {
				this.open.push(write);
				return;
			}
			const batch = [write];
			this.open = batch;
			this.push(() => this.run(batch)).catch(err => {
				for (const w of batch) w.reject(err);
			});
		});
	}

	private async run(batch: Write[]): Promise<void> {
		// Started: later writes make a batch of their own.
		if (this.open === batch) this.open = undefined;
		const stored: Doc[] = [];
		const applied: [Write, Doc[]][] = [];
		for (const write of batch) {
			try {
				const docs = write.apply();
				stored.push(...docs);
				applied.push([write, docs]);
			} catch (err) {
				write.reject(err);
			}
		}
		if (stored.length > 0) await (this.db as any).persistence.persistNewStateAsync(stored);
		for (const [write, docs] of applied) write.resolve(docs);
	}
}
