/**
 * The storage contract shared by MongoDB and NeDB. It is deliberately small: the query and update operators listed
 * here behave the same in both engines, and `updateOne` is a conditional find-and-modify, which is what leases and
 * locks are built from (the condition is the fence).
 */
export type Doc = { _id: string } & Record<string, any>;

/** Equality, `$in`, `$nin`, `$ne`, `$lt`, `$lte`, `$gt`, `$gte`, `$exists`, `$or`, dotted paths. */
export type Query = Record<string, unknown>;

export interface Update {
	$set?: Record<string, unknown>;
	$unset?: Record<string, true | 1 | "">;
	$inc?: Record<string, number>;
	/** `{ field: value }` or `{ field: { $each: [...] } }`. */
	$push?: Record<string, unknown>;
}

/** Top-level fields to answer (`1` each); `_id` always comes along. */
export type Projection = Record<string, 1>;

export interface FindOptions {
	sort?: Record<string, 1 | -1>;
	limit?: number;
	skip?: number;
	/** Inclusion (`1`) or exclusion (`0`) of fields, not both. */
	projection?: Record<string, 0 | 1>;
}

export interface IndexOptions {
	unique?: boolean;
	sparse?: boolean;
	/**
	 * A field with a handful of values (a status, a type). MongoDB indexes it as any other; NeDB with a set of documents
	 * per value (`ValueSetIndex`), because its own index keeps the documents of one value in an array that each write to
	 * any of them filters (O(documents) a write), and uses it only for a query no other index serves.
	 */
	fewValues?: boolean;
}

export interface Collection<T extends Doc = Doc> {
	insert(doc: T): Promise<T>;
	/** Inserts several documents in one store operation (all or none on NeDB; ordered on MongoDB). */
	insertMany(docs: T[]): Promise<T[]>;
	findById(id: string): Promise<T | null>;
	findOne(query: Query): Promise<T | null>;
	find(query: Query, options?: FindOptions): Promise<T[]>;
	count(query: Query): Promise<number>;
	/**
	 * Applies `update` to one document matching `query`; answers it as updated, or null when none matched. With
	 * `fields` (an inclusion projection), only those and `_id` are answered: the hot paths read a few fields, and the
	 * embedded store would otherwise copy the whole document for them.
	 */
	updateOne(query: Query, update: Update): Promise<T | null>;
	updateOne<K extends keyof T & string>(query: Query, update: Update, fields: Record<K, 1>): Promise<Pick<T, K | "_id"> | null>;
	/** Applies `update` to every matching document; answers how many. */
	updateMany(query: Query, update: Update): Promise<number>;
	/**
	 * `updateMany` that answers the documents it changed, as updated. `written` must match exactly those (a value the
	 * update sets that no other document holds, such as a new lease id): MongoDB reads them back with it, NeDB has them
	 * from the write itself.
	 */
	updateManyReturning(query: Query, update: Update, written: Query): Promise<T[]>;
	updateManyReturning<K extends keyof T & string>(query: Query, update: Update, written: Query, fields: Record<K, 1>): Promise<Pick<T, K | "_id">[]>;
	deleteMany(query: Query): Promise<number>;
	ensureIndex(field: string, options?: IndexOptions): Promise<void>;
	/** Drops the index of `field` made by `ensureIndex`, if there is one (an index an older version made). */
	dropIndex(field: string): Promise<void>;
}

export interface Store {
	readonly kind: "mongodb" | "nedb";
	connect(): Promise<void>;
	close(): Promise<void>;
	/** True when the backing engine answers. */
	ping(): Promise<boolean>;
	collection<T extends Doc = Doc>(name: string): Collection<T>;
}

/** Raised by `insert` when a unique index refuses the document, whatever the engine. */
export class DuplicateKeyError extends Error {
	readonly code = "DUPLICATE_KEY";
	constructor(message: string) {
		super(message);
		this.name = "DuplicateKeyError";
	}
}
