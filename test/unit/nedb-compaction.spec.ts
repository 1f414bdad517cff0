import fs from "node:fs";
import { compactOnline } from "../../src/store/nedb-compaction";
import { Item, nedbFilesDir } from "../helpers/nedb-files";

describe("NeDB files: online compaction", () => {
	const { openItems } = nedbFilesDir("nightshift-compact-");

	const byId = (docs: Item[]) => docs.sort((a, b) => a._id.localeCompare(b._id));
	const lineCount = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length;

	it("serves operations while it runs, and the file it leaves reads back as the state after them", async () => {
		const { store, items, file } = await openItems();
		await items.ensureIndex("tag", { sparse: true });
		await items.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `d${String(i).padStart(3, "0")}`, n: 0 })));
		for (let i = 0; i < 300; i += 3) await items.updateOne({ _id: `d${String(i).padStart(3, "0")}` }, { $set: { n: 1 } });
		const linesBefore = lineCount(file);

		let ended = false;
		// Ten documents a chunk: thirty turns of the event loop, with operations in between.
		const compaction = compactOnline((items as any).db, (items as any).appender, 10).then(() => (ended = true));
		await items.insert({ _id: "new", n: 5, tag: "x" });
		await items.updateOne({ _id: "d001" }, { $set: { n: 7 } });
		await items.updateOne({ _id: "d002" }, { $unset: { n: true } });
		await items.deleteMany({ _id: { $in: ["d003", "d004"] } });
		// Each of those was answered, written, before the compaction ended.
		expect(ended).toBe(false);
		await compaction;
		await items.updateOne({ _id: "d005" }, { $set: { n: 9 } });
		const expected = byId(await items.find({}));
		await store.close();

		// One line per document and per index, plus what came after the snapshot: fewer than before.
		expect(lineCount(file)).toBeLessThan(linesBefore);
		expect(fs.existsSync(`${file}~`)).toBe(false);
		const { store: reopened, items: again } = await openItems();
		try {
			expect(byId(await again.find({}))).toEqual(expected);
			expect(expected.find(d => d._id === "d001")?.n).toBe(7);
			expect(expected.some(d => d._id === "d003")).toBe(false);
			// The index came back from the file, and the tagged document is in it.
			expect((again as any).db.indexes.tag).toBeDefined();
			expect(await again.find({ tag: "x" })).toEqual([{ _id: "new", n: 5, tag: "x" }]);
		} finally {
			await reopened.close();
		}
	});

	it("leaves the file as it was when it fails before the rename", async () => {
		const { store, items, file } = await openItems();
		await items.insertMany([
			{ _id: "a", n: 1 },
			{ _id: "b", n: 2 }
		]);
		const before = fs.readFileSync(file, "utf8");
		// The temp file's place is taken by a directory: it cannot be opened for writing.
		fs.mkdirSync(`${file}~`);
		await expect((items as any).compact()).rejects.toThrow();
		fs.rmdirSync(`${file}~`);
		// Writes go on to the same file, and nothing captured is lost.
		await items.updateOne({ _id: "a" }, { $set: { n: 3 } });
		await store.close();
		expect(fs.readFileSync(file, "utf8").startsWith(before)).toBe(true);
		const { store: reopened, items: again } = await openItems();
		try {
			expect(byId(await again.find({}))).toEqual([
				{ _id: "a", n: 3 },
				{ _id: "b", n: 2 }
			]);
		} finally {
			await reopened.close();
		}
	});

	it("is waited for by close", async () => {
		const { store, items, file } = await openItems();
		await items.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `d${i}`, n: i })));
		await items.updateMany({}, { $set: { n: -1 } });
		let ended = false;
		const compaction = (items as any).compact().then(() => (ended = true));
		await store.close();
		// Its last step wrote to the file before close answered, not after.
		expect(ended).toBe(true);
		await compaction;
		// Compacted: one line a document.
		expect(lineCount(file)).toBe(50);
	});

	it("is not run by the load, which leaves the file as it was; the first compaction after the start rewrites it", async () => {
		const first = await openItems();
		await first.items.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `d${i}`, n: i })));
		await first.items.updateMany({}, { $set: { n: -1 } });
		await first.store.close();
		const { ino, size } = fs.statSync(first.file);

		const { store, items, file } = await openItems();
		try {
			// NeDB's load rewrote the whole file before serving anything; this one reads it and serves.
			expect(fs.statSync(file)).toMatchObject({ ino, size });
			expect(lineCount(file)).toBe(40);
			expect(byId(await items.find({})).map(d => d.n)).toEqual(Array(20).fill(-1));
			await (store as any).compactAll();
			expect(lineCount(file)).toBe(20);
		} finally {
			await store.close();
		}
	});
});
