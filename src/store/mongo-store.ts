import { Collection as MongoCollection, Db, MongoClient, MongoNetworkError, MongoServerError, MongoServerSelectionError } from "mongodb";
import { StoreUnavailableError } from "../errors";
import { Collection, Doc, DuplicateKeyError, FindOptions, IndexOptions, Projection, Query, Store, Update } from "./store";

const DUPLICATE_KEY = 11000;

/** A MongoDB that cannot be reached is a 503 the client may retry, not a 500. */
async function reachable<T>(work: Promise<T>): Promise<T> {
	try {
		return await work;
	} catch (err) {
		if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError)
			throw new StoreUnavailableError(`MongoDB is unreachable: ${err.message}`);
		throw err;
	}
}

class MongoStoreCollection<T extends Doc> implements Collection<T> {
	constructor(private readonly c: MongoCollection<any>) {}

	async insert(doc: T): Promise<T> {
		try {
			await reachable(this.c.insertOne({ ...doc }));
			return doc;
		} catch (err) {
			if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) throw new DuplicateKeyError(err.message);
			throw err;
		}
	}

	async insertMany(docs: T[]): Promise<T[]> {
		if (docs.length === 0) return [];
		try {
			await reachable(this.c.insertMany(docs.map(d => ({ ...d })) as any));
			return docs;
		} catch (err) {
			if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) throw new DuplicateKeyError(err.message);
			throw err;
		}
	}

	findById(id: string): Promise<T | null> {
		return reachable(this.c.findOne({ _id: id }) as Promise<T | null>);
	}

	findOne(query: Query): Promise<T | null> {
		return reachable(this.c.findOne(query) as Promise<T | null>);
	}

	find(query: Query, options: FindOptions = {}): Promise<T[]> {
		let cursor = this.c.find(query, { projection: options.projection });
		if (options.sort) cursor = cursor.sort(options.sort);
		if (options.skip) cursor = cursor.skip(options.skip);
		if (options.limit) cursor = cursor.limit(options.limit);
		return reachable(cursor.toArray() as Promise<T[]>);
	}

	count(query: Query): Promise<number> {
		return reachable(this.c.countDocuments(query));
	}

	updateOne(query: Query, update: Update, fields?: Projection): Promise<T | null> {
		return reachable(this.c.findOneAndUpdate(query, update as any, { returnDocument: "after", ...(fields ? { projection: fields } : {}) }) as Promise<T | null>);
	}

	async updateMany(query: Query, update: Update): Promise<number> {
		const res = await reachable(this.c.updateMany(query, update as any));
		return res.modifiedCount;
	}

	async updateManyReturning(query: Query, update: Update, written: Query, fields?: Projection): Promise<T[]> {
		await this.updateMany(query, update);
		return this.find(written, fields ? { projection: fields } : {});
	}

	async deleteMany(query: Query): Promise<number> {
		const res = await reachable(this.c.deleteMany(query));
		return res.deletedCount;
	}

	async ensureIndex(field: string, options: IndexOptions = {}): Promise<void> {
		await this.c.createIndex({ [field]: 1 }, { unique: options.unique, sparse: options.sparse });
	}

	async dropIndex(field: string): Promise<void> {
		try {
			// The name `createIndex` gives `{ [field]: 1 }`.
			await this.c.dropIndex(`${field}_1`);
		} catch (err: any) {
			// 27: no such index; 26: no such collection (nothing was ever stored).
			if (err?.code !== 27 && err?.code !== 26) throw err;
		}
	}
}

/** MongoDB through the official driver; the database is the one the URI names, `nightshift` if none. */
export class MongoStore implements Store {
	readonly kind = "mongodb" as const;
	private readonly client: MongoClient;
	private readonly db: Db;

	/** @param serverSelectionTimeoutMS how long an operation waits for a reachable server before it is a 503 */
	constructor(uri: string, serverSelectionTimeoutMS = 5000) {
		this.client = new MongoClient(uri, { serverSelectionTimeoutMS });
		this.db = this.client.db(/^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri)?.[1] || "nightshift");
	}

	async connect(): Promise<void> {
		await this.client.connect();
	}

	async close(): Promise<void> {
		await this.client.close();
	}

	async ping(): Promise<boolean> {
		try {
			await this.db.command({ ping: 1 });
			return true;
		} catch {
			return false;
		}
	}

	collection<T extends Doc>(name: string): Collection<T> {
		return new MongoStoreCollection<T>(this.db.collection(name));
	}
}
