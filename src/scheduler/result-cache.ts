import crypto from "node:crypto";
import type { Collection } from "../store";
import type { TaskRegistry } from "../tasks/registry";
import { iso } from "../time";
import type { TaskDoc } from "./task-doc";

export interface CacheDoc {
	_id: string;
	type: string;
	value: unknown;
	cachedAt: string;
	expiresAt: string;
}

/**
 * Results of task types that declare a `cache` (shared/seeds/001 §4.2), kept in the scheduler's store so every node
 * sees the same entries. Keys are hashed: a payload may hold a long URL.
 */
export class ResultCache {
	constructor(private readonly entries: Collection<CacheDoc>) {}

	static keyOf(type: string, key: string): string {
		return crypto.createHash("sha256").update(type).update("\0").update(key).digest("hex");
	}

	async start(): Promise<void> {
		await this.entries.ensureIndex("expiresAt");
	}

	/** The cached value and when it was stored, unless absent or expired. */
	async get(type: string, key: string, now = Date.now()): Promise<{ value: unknown; cachedAt: string } | undefined> {
		const doc = await this.entries.findById(ResultCache.keyOf(type, key));
		if (!doc || Date.parse(doc.expiresAt) <= now) return undefined;
		return { value: doc.value, cachedAt: doc.cachedAt };
	}

	async put(type: string, key: string, value: unknown, ttlMillis: number, now = Date.now()): Promise<void> {
		const _id = ResultCache.keyOf(type, key);
		const fields = { type, value, cachedAt: iso(now), expiresAt: iso(now + ttlMillis) };
		if (await this.entries.updateOne({ _id }, { $set: fields })) return;
		try {
			await this.entries.insert({ _id, ...fields });
		} catch (err: any) {
			// Another node stored the same key first: newest wins.
			if (err?.code !== "DUPLICATE_KEY") throw err;
			await this.entries.updateOne({ _id }, { $set: fields });
		}
	}

	/** Deletes expired entries; answers how many. */
	purgeExpired(now = Date.now()): Promise<number> {
		return this.entries.deleteMany({ expiresAt: { $lte: iso(now) } });
	}
}

/** When a task may be answered from the cache, and what its result is kept for. */
export class TaskResults {
	constructor(
		private readonly cache: ResultCache | undefined,
		private readonly registry: TaskRegistry,
		/** For types that declare no TTL of their own. */
		private readonly defaultTtlMillis = 3600_000
	) {}

	/** The task's cache key; none without a cache, for a type that declares none, or a payload that bypasses it. */
	keyOf(doc: Pick<TaskDoc, "type" | "payload" | "profileId">): string | undefined {
		// What a page shows inside a profile's identity is that profile's, not a result to share.
		if (!this.cache || !this.registry.has(doc.type) || doc.profileId) return undefined;
		return this.registry.get(doc.type).definition.cache?.key(doc.payload);
	}

	/**
	 * The cached result for a task that may use one: a key for its payload (none means "bypass", e.g. forceRefresh),
	 * and nothing that makes it more than one plain run (dependencies, a schedule).
	 */
	async lookup(doc: TaskDoc): Promise<{ value: unknown; cachedAt: string } | undefined> {
		const key = this.keyOf(doc);
		if (key === undefined || doc.dependsOn.length > 0 || doc.cron || doc.runAt) return undefined;
		return this.cache!.get(doc.type, key);
	}

	/** Keeps a completed task's result, if its type caches results. */
	async store(doc: Pick<TaskDoc, "type" | "payload" | "profileId">, result: unknown): Promise<void> {
		const key = this.keyOf(doc);
		if (key === undefined) return;
		const ttl = this.registry.get(doc.type).definition.cache?.ttlMillis ?? this.defaultTtlMillis;
		await this.cache!.put(doc.type, key, result, ttl);
	}
}
