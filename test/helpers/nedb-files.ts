import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NedbStore } from "../../src/store/nedb-store";

export interface Item {
	_id: string;
	n?: number;
	tag?: string;
}

/**
 * A fresh directory for each test of the calling `describe` (removed after it), and `openItems()`: a NeDB store on it
 * with its `items` collection loaded, and that collection's file.
 */
export function nedbFilesDir(prefix: string) {
	let dir = "";
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
	return {
		async openItems() {
			const store = new NedbStore(dir);
			const items = store.collection<Item>("items");
			await store.connect();
			return { store, items, file: path.join(dir, "items.db") };
		}
	};
}
