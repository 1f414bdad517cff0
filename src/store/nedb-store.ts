import fs from "node:fs";
import path from "node:path";
import Datastore from "@seald-io/nedb";
import { Collection, Doc, DuplicateKeyError, FindOptions, IndexOptions, Query, Store, Update } from "./store";

/** NeDB rewrites its append-only file at this interval, so a long-running process keeps it small. */
const COMPACTION_INTERVAL_MILLIS = 10 * 60 * 1000;

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

	findById(id: string): Promise<T | null> {
		return this.db.findOneAsync({ _id: id } as any) as Promise<T | null>;
	}

	findOne(query: Query): Promise<T | null> {
		return this.db.findOneAsync(query as any) as Promise<T | null>;
	}

	find(query: Query, options: FindOptions = {}): Promise<T[]> {
		let cursor = this.db.findAsync(query as any, options.projection as any);
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return cursor as unknown as Promise<T[]>;
	}

	count(query: Query): Promise<number> {
		return this.db.countAsync(query as any) as unknown as Promise<number>;
	}

	async updateOne(query: Query, update: Update): Promise<T | null> {
		const { numAffected, affectedDocuments } = await this.db.updateAsync(query as any, update as any, {
			multi: false,
			returnUpdatedDocs: true
		});
		return numAffected > 0 ? (affectedDocuments as unknown as T) : null;
	}

	async updateMany(query: Query, update: Update): Promise<number> {
		const { numAffected } = await this.db.updateAsync(query as any, update as any, { multi: true });
		return numAffected;
	}

	deleteMany(query: Query): Promise<number> {
		return this.db.removeAsync(query as any, { multi: true });
	}

	ensureIndex(field: string, options: IndexOptions = {}): Promise<void> {
		return this.db.ensureIndexAsync({ fieldName: field, unique: options.unique, sparse: options.sparse });
	}
}

/** NeDB files under `dir`, one per collection, or memory only when `dir` is null (tests). */
export class NedbStore implements Store {
	readonly kind = "nedb" as const;
	private readonly collections = new Map<string, NedbCollection<any>>();

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
			if (this.dir) db.setAutocompactionInterval(COMPACTION_INTERVAL_MILLIS);
			c = new NedbCollection<T>(db);
			this.collections.set(name, c);
		}
		return c;
	}
}
