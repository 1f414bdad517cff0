import fs from "node:fs";
import path from "node:path";
import Datastore from "@seald-io/nedb";
import { Collection, Doc, DuplicateKeyError, FindOptions, IndexOptions, Query, Store, Update } from "./store";

// NeDB's own serializer, so the appended lines are exactly what NeDB would write.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require("@seald-io/nedb/lib/model.js") as { serialize(doc: unknown): string };

/** NeDB rewrites its append-only file at this interval, so a long-running process keeps it small. */
const COMPACTION_INTERVAL_MILLIS = 10 * 60 * 1000;

/**
 * NeDB takes its candidates from the index of the LAST indexed field a query names (`_getRawCandidates` uses
 * `.pop()`), so `{ _id, status: "queued" }` scanned every queued task and matched each. With `_id` moved last, the
 * primary key gives the one candidate.
 */
function idLast(query: Query): Query {
	if (!Object.prototype.hasOwnProperty.call(query, "_id")) return query;
	const { _id, ...rest } = query;
	return { ...rest, _id };
}

/**
 * NeDB's own persistence does `fs.promises.appendFile` (open, write, close: three thread-pool round trips) for every
 * write, inside its one-at-a-time executor, so every store operation waits for them. A synchronous write of the same
 * lines to a descriptor kept open gives the same guarantee (in the OS page cache when the write resolves, no fsync
 * either way) at a fraction of the latency (here 2–3 µs a line against 7–8 µs for `appendFileSync`, which opens and
 * closes the file each time). Compaction, which NeDB also runs at load, replaces the file by a rename, inside the same
 * executor as the writes, and announces it with `compaction.done`: the descriptor is closed then, so the next write
 * opens the new file and nothing goes to the replaced one. Answers a function that closes the descriptor.
 */
function appendSynchronously(db: Datastore<any>): () => void {
	const persistence = (db as any).persistence;
	if (!persistence || typeof persistence.persistNewStateAsync !== "function") return () => undefined; // NeDB internals changed
	let fd: number | undefined;
	const closeFile = () => {
		if (fd === undefined) return;
		fs.closeSync(fd);
		fd = undefined;
	};
	db.on("compaction.done", closeFile);
	persistence.persistNewStateAsync = async (docs: object[]) => {
		if (persistence.inMemoryOnly) return;
		let lines = "";
		for (const doc of docs) lines += (await persistence.afterSerialization(model.serialize(doc))) + "\n";
		if (!lines) return;
		fd ??= fs.openSync(persistence.filename, "a", persistence.modes?.fileMode);
		// Given a descriptor, writeFileSync writes all of it (looping over partial writes) and opens nothing.
		fs.writeFileSync(fd, lines, "utf8");
	};
	return closeFile;
}

class NedbCollection<T extends Doc> implements Collection<T> {
	constructor(readonly db: Datastore<T>) {}

	async insert(doc: T): Promise<T> {
		try {
			return (await this.db.insertAsync(doc)) as T;
		} catch (err: any) {
			if (err?.errorType === "uniqueViolated") throw new DuplicateKeyError(err.message);
			throw err;
		}
	}

	async insertMany(docs: T[]): Promise<T[]> {
		if (docs.length === 0) return [];
		try {
			return (await this.db.insertAsync(docs as any)) as unknown as T[];
		} catch (err: any) {
			if (err?.errorType === "uniqueViolated") throw new DuplicateKeyError(err.message);
			throw err;
		}
	}

	findById(id: string): Promise<T | null> {
		return this.db.findOneAsync({ _id: id } as any) as Promise<T | null>;
	}

	findOne(query: Query): Promise<T | null> {
		return this.db.findOneAsync(idLast(query) as any) as Promise<T | null>;
	}

	find(query: Query, options: FindOptions = {}): Promise<T[]> {
		let cursor = this.db.findAsync(idLast(query) as any, options.projection as any);
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return cursor as unknown as Promise<T[]>;
	}

	count(query: Query): Promise<number> {
		return this.db.countAsync(query as any) as unknown as Promise<number>;
	}

	async updateOne(query: Query, update: Update): Promise<T | null> {
		const { numAffected, affectedDocuments } = await this.db.updateAsync(idLast(query) as any, update as any, {
			multi: false,
			returnUpdatedDocs: true
		});
		return numAffected > 0 ? (affectedDocuments as unknown as T) : null;
	}

	async updateMany(query: Query, update: Update): Promise<number> {
		const { numAffected } = await this.db.updateAsync(idLast(query) as any, update as any, { multi: true });
		return numAffected;
	}

	deleteMany(query: Query): Promise<number> {
		return this.db.removeAsync(query as any, { multi: true });
	}

	async ensureIndex(field: string, options: IndexOptions = {}): Promise<void> {
		if (options.fewValues) {
			if ((this.db as any).indexes?.[field]) await this.db.removeIndexAsync(field);
			return;
		}
		// NeDB keeps an existing index as it is: one created with other options (a store from an older version) is
		// rebuilt with the options asked for now.
		const existing = (this.db as any).indexes?.[field];
		if (existing && (existing.unique !== !!options.unique || existing.sparse !== !!options.sparse))
			await this.db.removeIndexAsync(field);
		return this.db.ensureIndexAsync({ fieldName: field, unique: options.unique, sparse: options.sparse });
	}
}

/** NeDB files under `dir`, one per collection, or memory only when `dir` is null (tests). */
export class NedbStore implements Store {
	readonly kind = "nedb" as const;
	private readonly collections = new Map<string, NedbCollection<any>>();
	private readonly closeFiles: (() => void)[] = [];

	constructor(private readonly dir: string | null) {}

	async connect(): Promise<void> {
		if (this.dir) fs.mkdirSync(this.dir, { recursive: true });
		await Promise.all([...this.collections.values()].map(c => c.db.loadDatabaseAsync()));
	}

	async close(): Promise<void> {
		for (const c of this.collections.values()) {
			c.db.stopAutocompaction();
			// Wait for queued writes: the executor runs in order, so this resolves after them.
			await c.db.countAsync({});
		}
		for (const closeFile of this.closeFiles) closeFile();
	}

	async ping(): Promise<boolean> {
		return true;
	}

	collection<T extends Doc>(name: string): Collection<T> {
		let c = this.collections.get(name);
		if (!c) {
			const db = new Datastore<T>(
				this.dir ? { filename: path.join(this.dir, `${name}.db`) } : { inMemoryOnly: true }
			);
			if (this.dir) {
				db.setAutocompactionInterval(COMPACTION_INTERVAL_MILLIS);
				this.closeFiles.push(appendSynchronously(db));
			}
			c = new NedbCollection<T>(db);
			this.collections.set(name, c);
		}
		return c;
	}
}
