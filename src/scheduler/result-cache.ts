import crypto from "node:crypto";
import type { Collection } from "../store";
import { iso } from "../time";

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
