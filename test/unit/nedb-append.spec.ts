import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NedbStore } from "../../src/store/nedb-store";

interface Item {
	_id: string;
	n: number;
}

describe("NeDB files: writes appended through one descriptor", () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-nedb-"));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("keeps every write across a compaction (the file is replaced) and a reopen", async () => {
		const store = new NedbStore(dir);
		const items = store.collection<Item>("items");
		await store.connect();
		await items.insert({ _id: "a", n: 1 });
		await items.insert({ _id: "b", n: 1 });
		await items.updateOne({ _id: "a" }, { $set: { n: 2 } });
		const file = path.join(dir, "items.db");
		const inodeBefore = fs.statSync(file).ino;

		await (items as any).db.compactDatafileAsync();
		// Compaction wrote a new file by rename; the writes after it must land in that one.
		expect(fs.statSync(file).ino).not.toBe(inodeBefore);
		await items.insert({ _id: "c", n: 1 });
		await items.updateOne({ _id: "b" }, { $set: { n: 3 } });
		await store.close();

		const reopened = new NedbStore(dir);
		const again = reopened.collection<Item>("items");
		await reopened.connect();
		try {
			const docs = (await again.find({})).sort((x, y) => x._id.localeCompare(y._id));
			expect(docs.map(d => [d._id, d.n])).toEqual([
				["a", 2],
				["b", 3],
				["c", 1]
			]);
		} finally {
			await reopened.close();
		}
	});
});
