import { MongoStore } from "./mongo-store";
import { NedbStore } from "./nedb-store";
import type { Store } from "./store";

export * from "./store";

/** `DATA_DIR` value that keeps NeDB in memory (tests). */
export const IN_MEMORY = ":memory:";

/** The one decision of which engine holds state: MongoDB when a URI is given, NeDB otherwise. */
export function createStore(options: { mongoUri?: string; dataDir: string }): Store {
	if (options.mongoUri) return new MongoStore(options.mongoUri);
	return new NedbStore(options.dataDir === IN_MEMORY ? null : options.dataDir);
}
