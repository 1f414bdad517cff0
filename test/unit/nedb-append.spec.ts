import fs from "node:fs";
import { nedbFilesDir } from "../helpers/nedb-files";

describe("NeDB files: writes appended once per turn through one descriptor", () => {
	const { openItems } = nedbFilesDir("nightshift-nedb-");

	it("keeps every write across a compaction (the file is replaced) and a reopen", async () => {
		const { store, items, file } = await openItems();
		await items.insert({ _id: "a", n: 1 });
		await items.insert({ _id: "b", n: 1 });
		await items.updateOne({ _id: "a" }, { $set: { n: 2 } });
		const inodeBefore = fs.statSync(file).ino;

		await (items as any).db.compactDatafileAsync();
		// Compaction wrote a new file by rename; the writes after it must land in that one.
		expect(fs.statSync(file).ino).not.toBe(inodeBefore);
		await items.insert({ _id: "c", n: 1 });
		await items.updateOne({ _id: "b" }, { $set: { n: 3 } });
		await store.close();

		const { store: reopened, items: again } = await openItems();
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

	it("answers a write only once its line is in the file, and writes a turn's lines together", async () => {
		const { store, items, file } = await openItems();
		const lines = () => fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
		try {
			const before = lines().length;
			const writes = fs.writeFileSync;
			let calls = 0;
			const spy = jest.spyOn(fs, "writeFileSync").mockImplementation((...args: any[]) => {
				calls++;
				return (writes as any)(...args);
			});
			try {
				// Fifty writes issued in one turn: each resolves with its line already on disk.
				await Promise.all(
					Array.from({ length: 50 }, async (_, i) => {
						await items.insert({ _id: `k${i}`, n: i });
						expect(lines().some(l => l._id === `k${i}`)).toBe(true);
					})
				);
				await items.updateOne({ _id: "k7" }, { $set: { n: 70 } });
				expect(lines().filter(l => l._id === "k7").pop()).toEqual({ _id: "k7", n: 70 });
			} finally {
				spy.mockRestore();
			}
			expect(lines().length).toBe(before + 51);
			// NeDB runs the fifty inserts one after another; they reach the file in far fewer writes than fifty.
			expect(calls).toBeGreaterThan(0);
			expect(calls).toBeLessThan(10);
		} finally {
			await store.close();
		}
	});

	it("rejects the writes of a turn whose file write fails, and does not hang later ones", async () => {
		const { store, items, file } = await openItems();
		try {
			// The file cannot be opened for appending any more: a directory stands in its place.
			fs.rmSync(file);
			fs.mkdirSync(file);
			const results = await Promise.allSettled([items.insert({ _id: "x", n: 1 }), items.insert({ _id: "y", n: 1 })]);
			expect(results.map(r => r.status)).toEqual(["rejected", "rejected"]);
			expect((results[0] as PromiseRejectedResult).reason.code).toBe("EISDIR");
			await expect(items.updateOne({ _id: "x" }, { $set: { n: 2 } })).rejects.toMatchObject({ code: "EISDIR" });
		} finally {
			fs.rmSync(file, { recursive: true, force: true });
			await store.close();
		}
	});
});
