import fs from "node:fs";
import path from "node:path";
import Datastore from "@seald-io/nedb";
import { CompactionTarget, compactOnline } from "./nedb-compaction";
import { installNedbFastPaths } from "./nedb-fast-paths";
import { serialize } from "./nedb-lines";
import { chooseValueSets, documentCount, indexServes, pageOf, valueSetChoice, valuesAsked } from "./nedb-candidates";
import { ValueSetIndex } from "./value-set-index";
import { WriteBatcher } from "./nedb-write-batch";
import { Collection, Doc, DuplicateKeyError, FindOptions, IndexOptions, Projection, Query, Store, Update } from "./store";

// NeDB's internals that `pageById` reads a page with, as its own cursor does.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Cursor = require("@seald-io/nedb/lib/cursor.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require("@seald-io/nedb/lib/model.js");

installNedbFastPaths();

/** NeDB rewrites its append-only file at this interval, so a long-running process keeps it small. */
const COMPACTION_INTERVAL_MILLIS = 10 * 60 * 1000;
/** The file as loaded is compacted this long after the start (NeDB rewrote it during the load, serving nothing). */
const FIRST_COMPACTION_DELAY_MILLIS = 60 * 1000;

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
 * The append-only file of one collection, written once per event-loop turn (group commit). NeDB's own persistence
 * does `fs.promises.appendFile` (open, write, close: three thread-pool round trips) for every write, inside its
 * one-at-a-time executor, so every store operation waited for them. Here NeDB hands its lines over and goes on; the
 * lines of every operation of the turn go to the file in one synchronous write to a descriptor kept open, and each
 * operation answers its caller only after that write (`written`): nothing is acknowledged before it is in the OS page
 * cache (no fsync, as with NeDB itself), and the file is always a prefix of the operations in their order.
 *
 * Compaction (the online one, or NeDB's own `compactDatafileAsync`; the load here runs none) replaces the file by a
 * rename inside NeDB's executor and announces it with `compaction.done`: the descriptor is closed then, so later lines
 * go to the new file. Lines still waiting at that
 * moment describe documents the compacted file already holds; appending them again is harmless, NeDB keeps the last
 * line of each document.
 */
class GroupAppender implements CompactionTarget {
	private lines = "";
	/** Lines added since an online compaction took its snapshot (`compactOnline`); undefined when none runs. */
	private captured: string | undefined;
	private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
	private scheduled = false;
	private fd: number | undefined;

	constructor(
		private readonly filename: string,
		private readonly fileMode: number | undefined
	) {}

	add(lines: string): void {
		this.lines += lines;
		if (this.captured !== undefined) this.captured += lines;
		if (!this.scheduled) {
			this.scheduled = true;
			setImmediate(() => this.flush());
		}
	}

	/** Resolves once every line added so far is written. */
	written(): Promise<void> {
		if (!this.lines) return Promise.resolve();
		return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
	}

	flush(): void {
		this.scheduled = false;
		const lines = this.lines;
		const waiters = this.waiters;
		this.lines = "";
		this.waiters = [];
		if (!lines) return;
		try {
			this.fd ??= fs.openSync(this.filename, "a", this.fileMode);
			// Given a descriptor, writeFileSync writes all of it (looping over partial writes) and opens nothing.
			fs.writeFileSync(this.fd, lines, "utf8");
		} catch (err) {
			for (const w of waiters) w.reject(err);
			return;
		}
		for (const w of waiters) w.resolve();
	}

	startCapture(): void {
		this.captured = "";
	}

	endCapture(): string {
		this.flush();
		const captured = this.captured ?? "";
		this.captured = undefined;
		return captured;
	}

	closeFile(): void {
		if (this.fd === undefined) return;
		fs.closeSync(this.fd);
		this.fd = undefined;
	}
}

/** Routes NeDB's persistence of one datastore through a `GroupAppender`; answers it (null when NeDB changed). */
function groupCommit(db: Datastore<any>): GroupAppender | null {
	const persistence = (db as any).persistence;
	if (!persistence || typeof persistence.persistNewStateAsync !== "function") return null; // NeDB internals changed
	const appender = new GroupAppender(persistence.filename, persistence.modes?.fileMode);
	db.on("compaction.done", () => appender.closeFile());
	persistence.persistNewStateAsync = async (docs: object[]) => {
		if (persistence.inMemoryOnly) return;
		// No serialization hook is set (`NedbStore.collection`): NeDB's async identity hook cost a promise per line.
		let lines = "";
		for (const doc of docs) lines += serialize(doc) + "\n";
		if (lines) appender.add(lines);
	};
	return appender;
}

/** What an update answers of a stored document: a copy of it, or of the fields asked for and `_id`. */
function answer(doc: Doc, fields: Projection | undefined): Doc {
	if (!fields) return model.deepCopy(doc);
	const picked: Doc = { _id: doc._id };
	for (const field in fields) if (doc[field] !== undefined) picked[field] = model.deepCopy(doc[field]);
	return picked;
}

/** A node of NeDB's `_id` index (an AVL tree): `data` holds the one document with that `_id`. */
interface TreeNode {
	left: TreeNode | null;
	right: TreeNode | null;
	key?: unknown;
	data: Doc[];
}

/**
 * Visits the documents of a tree in key order (`descending`: from the largest key) until `visit` answers false. A
 * loop, not a generator: a filter that matches nothing visits every stored document.
 */
function inKeyOrder(root: TreeNode, descending: boolean, visit: (doc: Doc) => boolean): void {
	const stack: TreeNode[] = [];
	for (let node: TreeNode | null = root; node || stack.length > 0; ) {
		for (; node; node = descending ? node.right : node.left) stack.push(node);
		const next = stack.pop()!;
		for (const doc of next.data) if (!visit(doc)) return;
		node = descending ? next.left : next.right;
	}
}

class NedbCollection<T extends Doc> implements Collection<T> {
	private compacting: Promise<void> | undefined;
	/** Null if NeDB's internals changed: inserts and updates then go NeDB's way. */
	private readonly batcher: WriteBatcher | null;

	constructor(
		readonly db: Datastore<T>,
		/** Null for a collection in memory. */
		readonly appender: GroupAppender | null
	) {
		this.batcher = WriteBatcher.usable(db) ? new WriteBatcher(db) : null;
	}

	/** Rewrites the file with one line per document while operations go on (`compactOnline`); one at a time. */
	compact(): Promise<void> {
		if (!this.appender) return Promise.resolve();
		this.compacting ??= compactOnline(this.db, this.appender).finally(() => (this.compacting = undefined));
		return this.compacting;
	}

	/**
	 * NeDB's load, less the rewrite of the whole file it ends with: the file is read and the indexes built as NeDB does,
	 * and the caller compacts the file online afterwards, while the store serves. At 100,000 tasks the rewrite was a
	 * large part of a restart's wait, with no operation served (`bench/store/open.ts`).
	 */
	async load(): Promise<void> {
		const persistence = (this.db as any).persistence;
		if (!this.appender || typeof persistence?.persistCachedDatabaseAsync !== "function") return this.db.loadDatabaseAsync();
		const rewrite = persistence.persistCachedDatabaseAsync;
		persistence.persistCachedDatabaseAsync = async () => undefined;
		try {
			await this.db.loadDatabaseAsync();
		} finally {
			persistence.persistCachedDatabaseAsync = rewrite;
		}
	}

	/** Resolves once a compaction under way has ended, however it ended. */
	compactionEnded(): Promise<void> {
		return this.compacting?.catch(() => undefined) ?? Promise.resolve();
	}

	/** Answers `value` once the lines of the write that produced it are in the file. */
	private async durable<V>(value: V): Promise<V> {
		if (this.appender) await this.appender.written();
		return value;
	}

	async insert(doc: T): Promise<T> {
		await this.insertStored(doc);
		return doc;
	}

	async insertMany(docs: T[]): Promise<T[]> {
		if (docs.length > 0) await this.insertStored(docs);
		return docs;
	}

	/**
	 * NeDB's `insertAsync`, less the copy of the stored documents it answers with: the caller's own documents say the
	 * same (they carry their `_id`, and the store keeps a copy of them, not them), and a submit never reads the answer.
	 */
	private async insertStored(docs: T | T[]): Promise<void> {
		const db = this.db as any;
		try {
			if (!this.batcher) await this.db.insertAsync(docs as any);
			else
				await this.batcher.write(() => {
					const prepared = db._prepareDocumentForInsertion(docs);
					db._insertInCache(prepared);
					return Array.isArray(prepared) ? prepared : [prepared];
				});
		} catch (err: any) {
			if (err?.errorType === "uniqueViolated") throw new DuplicateKeyError(err.message);
			throw err;
		}
		await this.durable(undefined);
	}

	findById(id: string): Promise<T | null> {
		return this.db.findOneAsync({ _id: id } as any) as Promise<T | null>;
	}

	findOne(query: Query): Promise<T | null> {
		return this.db.findOneAsync(idLast(query) as any) as Promise<T | null>;
	}

	find(query: Query, options: FindOptions = {}): Promise<T[]> {
		const sortKeys = options.sort ? Object.keys(options.sort) : [];
		if (options.limit && sortKeys.length === 1 && sortKeys[0] === "_id") return this.pageById(query, options);
		let cursor = this.db.findAsync(idLast(query) as any, options.projection as any);
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return cursor as unknown as Promise<T[]>;
	}

	/**
	 * A page in `_id` order. A query an index serves (`status`, `key`, …) takes its candidates from it and
	 * keeps the best; any other is read from the `_id` index in order until the page is full. NeDB's cursor matches
	 * every document, sorts them all and then slices: a listing of the newest tasks cost ~30 ms per 50,000 stored ones
	 * (the dashboard asks once a second), and grew with the store; a rare status walked every stored task. Run in
	 * NeDB's executor, after the writes queued before it, as NeDB's own reads are.
	 */
	private pageById(query: Query, options: FindOptions): Promise<T[]> {
		const db = this.db as any;
		const descending = options.sort!._id === -1;
		const skip = options.skip ?? 0;
		// The executor's tasks answer promises.
		return db.executor.pushAsync(async () => {
			const limit = options.limit!;
			const choice = valueSetChoice(db.indexes, query);
			let candidates: Doc[] | undefined;
			// Matches that are dense (every completed task) fill the page within the first few documents of the walk.
			if (choice) candidates = (skip + limit) * choice.index.size < choice.count ** 2 ? undefined : (choice.index.getMatching(choice.values) as Doc[]);
			else if (indexServes(query, Object.keys(db.indexes))) candidates = db._getRawCandidates(idLast(query));
			const page = candidates
				? pageOf(
						candidates.filter(doc => model.match(doc, query)),
						skip,
						limit,
						descending
					)
				: this.walkPage(query, skip, limit, descending);
			const cursor = new Cursor(db, query);
			cursor.projection(options.projection);
			return cursor._project(page).map((doc: Doc) => model.deepCopy(doc));
		});
	}

	/** A page read from the `_id` index in key order, matching each document, until it is full. */
	private walkPage(query: Query, skip: number, limit: number, descending: boolean): Doc[] {
		const root: TreeNode | undefined = (this.db as any).indexes._id?.tree?.tree;
		if (!root || !Array.isArray(root.data)) throw new Error("NeDB's _id index is not the tree this store reads");
		const page: Doc[] = [];
		inKeyOrder(root, descending, doc => {
			if (!model.match(doc, query)) return true;
			if (skip > 0) skip--;
			else page.push(doc);
			return page.length < limit;
		});
		return page;
	}

	/**
	 * NeDB matches every candidate of a count. Two counts need none: an empty query (every document) and a query on one
	 * value-set field (the documents of those values): a listing's total of every completed task took ~30 ms at 100,000.
	 * Both run in NeDB's executor, after the writes queued before them.
	 */
	count(query: Query): Promise<number> {
		const db = this.db as any;
		const fields = Object.keys(query);
		if (fields.length === 0) return db.executor.pushAsync(async () => documentCount(db));
		const values = fields.length === 1 && ValueSetIndex.is(db.indexes[fields[0]]) ? valuesAsked(query[fields[0]]) : undefined;
		if (values) return db.executor.pushAsync(async () => db.indexes[fields[0]].countWhere(values, (doc: Doc) => model.match(doc, query)));
		return this.db.countAsync(query as any) as unknown as Promise<number>;
	}

	async updateOne(query: Query, update: Update, fields?: Projection): Promise<T | null> {
		const [doc] = await this.updateStored(query, update, false);
		return this.durable(doc ? (answer(doc, fields) as T) : null);
	}

	async updateMany(query: Query, update: Update): Promise<number> {
		return this.durable((await this.updateStored(query, update, true)).length);
	}

	async updateManyReturning(query: Query, update: Update, _written: Query, fields?: Projection): Promise<T[]> {
		const docs = await this.updateStored(query, update, true);
		return this.durable(docs.map(doc => answer(doc, fields) as T));
	}

	/**
	 * NeDB's update as its `_updateAsync` does it, less upserts, timestamps and expiry (no collection here uses them),
	 * answering the stored versions themselves: the callers answer copies, of the whole document or only of the fields
	 * asked for. NeDB's answer was a copy of every updated document, which a lease or a finish then read three fields of.
	 */
	private updateStored(query: Query, update: Update, multi: boolean): Promise<Doc[]> {
		if (!this.batcher) return this.updateByNedb(query, update, multi);
		const db = this.db as any;
		return this.batcher.write(() => {
			const q = idLast(query);
			const modifications: { oldDoc: Doc; newDoc: Doc }[] = [];
			for (const candidate of db._getRawCandidates(q)) {
				if (!model.match(candidate, q)) continue;
				// Every new version is made before any is stored: a failing one (a `$` key, `$inc` of a string) stores none.
				modifications.push({ oldDoc: candidate, newDoc: model.modify(candidate, update) });
				if (!multi) break;
			}
			// Rolls every index back if one refuses a version (a unique value taken).
			db._updateIndexes(modifications);
			return modifications.map(m => m.newDoc);
		});
	}

	/** NeDB's own update, if the internals the batcher is made of changed. */
	private async updateByNedb(query: Query, update: Update, multi: boolean): Promise<Doc[]> {
		const { affectedDocuments } = await this.db.updateAsync(idLast(query) as any, update as any, { multi, returnUpdatedDocs: true });
		if (!affectedDocuments) return [];
		return (Array.isArray(affectedDocuments) ? affectedDocuments : [affectedDocuments]) as unknown as Doc[];
	}

	async deleteMany(query: Query): Promise<number> {
		return this.durable(await this.db.removeAsync(query as any, { multi: true }));
	}

	async ensureIndex(field: string, options: IndexOptions = {}): Promise<void> {
		if (options.fewValues) return this.ensureValueSetIndex(field);
		// NeDB keeps an existing index as it is: one created with other options (a store from an older version) is
		// rebuilt with the options asked for now.
		const existing = (this.db as any).indexes?.[field];
		if (existing && (existing.unique !== !!options.unique || existing.sparse !== !!options.sparse))
			await this.db.removeIndexAsync(field);
		return this.db.ensureIndexAsync({ fieldName: field, unique: options.unique, sparse: options.sparse });
	}

	async dropIndex(field: string): Promise<void> {
		// NeDB announces the removal in its file (`$$indexRemoved`), so a restart does not load the index again.
		if (field !== "_id" && (this.db as any).indexes?.[field]) await this.db.removeIndexAsync(field);
	}

	/**
	 * Installs a `ValueSetIndex` in NeDB's executor, after the writes queued before it. Not announced in the file
	 * (`$$indexCreated`): NeDB would load it as one of its own. It is built at every start, from the documents loaded,
	 * by this call; an index NeDB loaded for the field (a compaction writes every index down) is replaced.
	 */
	private ensureValueSetIndex(field: string): Promise<void> {
		const db = this.db as any;
		return db.executor.pushAsync(async () => {
			if (ValueSetIndex.is(db.indexes[field])) return;
			const index = new ValueSetIndex({ fieldName: field });
			index.insert(db.getAllData());
			db.indexes[field] = index;
			chooseValueSets(db);
		});
	}
}

/** NeDB files under `dir`, one per collection, or memory only when `dir` is null (tests). */
export class NedbStore implements Store {
	readonly kind = "nedb" as const;
	private readonly collections = new Map<string, NedbCollection<any>>();
	private readonly appenders: GroupAppender[] = [];
	private compactionTimer: NodeJS.Timeout | undefined;
	private firstCompaction: NodeJS.Timeout | undefined;
	/** The round of compactions under way, if any. */
	private compacting: Promise<void> | undefined;
	private closing = false;

	constructor(private readonly dir: string | null) {}

	async connect(): Promise<void> {
		if (this.dir) fs.mkdirSync(this.dir, { recursive: true });
		await Promise.all([...this.collections.values()].map(c => c.load()));
		if (this.dir) {
			// The compaction NeDB runs at load is left out of `load`: it runs online, once the start's own work is done.
			this.firstCompaction = setTimeout(() => void this.compactAll(), FIRST_COMPACTION_DELAY_MILLIS);
			this.firstCompaction.unref();
			// NeDB's own autocompaction holds every operation of the collection while it rewrites the file.
			this.compactionTimer = setInterval(() => void this.compactAll(), COMPACTION_INTERVAL_MILLIS);
			this.compactionTimer.unref();
		}
	}

	/**
	 * Compacts every collection's file, one after another; a failure leaves that file as it was until next time. One
	 * round at a time, and none once the store is closing.
	 */
	private compactAll(): Promise<void> {
		this.compacting ??= (async () => {
			for (const c of this.collections.values()) {
				if (this.closing) return;
				await c.compact().catch((err: Error) => process.emitWarning(`NeDB compaction of ${(c.db as any).persistence.filename} failed: ${err.message}`));
			}
		})().finally(() => (this.compacting = undefined));
		return this.compacting;
	}

	async close(): Promise<void> {
		this.closing = true;
		clearTimeout(this.firstCompaction);
		clearInterval(this.compactionTimer);
		// A compaction under way ends first: its last step writes to the file.
		await this.compacting;
		for (const c of this.collections.values()) {
			await c.compactionEnded();
			// Wait for queued writes: the executor runs in order, so this resolves after them.
			await c.db.countAsync({});
		}
		for (const appender of this.appenders) {
			appender.flush();
			appender.closeFile();
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
			let appender: GroupAppender | null = null;
			if (this.dir) {
				appender = groupCommit(db);
				if (appender) this.appenders.push(appender);
			}
			c = new NedbCollection<T>(db, appender);
			this.collections.set(name, c);
		}
		return c;
	}
}
