import type { ServiceSchema } from "moleculer";
import { configOf } from "../src/runtime";
import { Collection, createStore, Doc, Store } from "../src/store";

export interface DbServiceThis {
	store: Store;
	collections: Record<string, Collection<Doc>>;
}

/**
 * The one place that picks where a service's state lives: MongoDB (official driver) when `MONGO_URI` is set, NeDB
 * files under `DATA_DIR` otherwise, NeDB in memory when `DATA_DIR=:memory:` (tests). Each collection is owned by one
 * service. The store connects before the service's own `started` runs and closes after its `stopped`.
 */
export function DbMixin(...collections: string[]): Partial<ServiceSchema> {
	return {
		created(this: any) {
			const config = configOf(this.broker);
			this.store = createStore({ mongoUri: config.mongoUri, dataDir: config.dataDir });
			this.collections = Object.fromEntries(collections.map(name => [name, this.store.collection(name)]));
		},
		async started(this: any) {
			await this.store.connect();
			this.logger.debug(`store connected (${this.store.kind}): ${collections.join(", ")}`);
		},
		async stopped(this: any) {
			await this.store.close();
		}
	};
}
