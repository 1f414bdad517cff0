import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createStore, Doc, DuplicateKeyError, IN_MEMORY, Store } from "../../src/store";

interface Item extends Doc {
	status: string;
	n: number;
	tags: string[];
	lease: { id: string; expiresAt: string } | null;
}

/** The operations the scheduler relies on behave the same on every engine. */
function contract(name: string, make: () => Store) {
	describe(`store contract: ${name}`, () => {
		let store: Store;
		const coll = () => store.collection<Item>(`contract_${process.pid}`);

		beforeAll(async () => {
			store = make();
			coll();
			await store.connect();
		});
		afterAll(async () => {
			await coll().deleteMany({});
			await store.close();
		});
		beforeEach(async () => {
			await coll().deleteMany({});
		});

		it("inserts, finds by id and by query, counts, sorts and pages", async () => {
			for (let i = 0; i < 5; i++) await coll().insert({ _id: `i${i}`, status: i % 2 ? "odd" : "even", n: i, tags: [], lease: null });
			expect((await coll().findById("i3"))?.n).toBe(3);
			expect(await coll().findById("nope")).toBeNull();
			expect(await coll().count({ status: "even" })).toBe(3);
			const page = await coll().find({ n: { $gte: 1 } }, { sort: { n: -1 }, skip: 1, limit: 2 });
			expect(page.map(d => d._id)).toEqual(["i3", "i2"]);
			const some = await coll().find({ _id: { $in: ["i1", "i4", "zz"] } }, { projection: { n: 1 } });
			expect(some.map(d => d.n).sort()).toEqual([1, 4]);
		});

		it("stores a copy of what it inserts: changing the caller's objects afterwards changes nothing stored", async () => {
			const one: Item = { _id: "c1", status: "queued", n: 1, tags: ["a"], lease: { id: "x", expiresAt: "2030-01-01T00:00:00.000Z" } };
			const many: Item[] = [{ _id: "c2", status: "queued", n: 2, tags: ["b"], lease: null }];
			const answered = [await coll().insert(one), ...(await coll().insertMany(many))];
			for (const doc of [one, ...many, ...answered]) {
				doc.n = 99;
				doc.tags.push("changed");
				if (doc.lease) doc.lease.id = "changed";
			}
			expect(await coll().findById("c1")).toMatchObject({ n: 1, tags: ["a"], lease: { id: "x" } });
			expect(await coll().findById("c2")).toMatchObject({ n: 2, tags: ["b"] });
			expect(await coll().count({ n: 99 })).toBe(0);
		});

		it("pages in _id order both ways, with a filter, skip, limit and projection, and counts everything", async () => {
			// Inserted out of order, with updates after: the order is the ids', not the insertion's or the updates'.
			const ids = ["k07", "k02", "k09", "k04", "k01", "k08", "k03", "k06", "k05"];
			await coll().insertMany(ids.map(id => ({ _id: id, status: Number(id.slice(1)) % 3 ? "keep" : "skip", n: Number(id.slice(1)), tags: ["t"], lease: null })));
			await coll().updateMany({ status: "keep" }, { $inc: { n: 100 } });
			const page = await coll().find({ status: "keep" }, { sort: { _id: -1 }, skip: 1, limit: 3, projection: { tags: 0 } });
			expect(page).toEqual([
				{ _id: "k07", status: "keep", n: 107, lease: null },
				{ _id: "k05", status: "keep", n: 105, lease: null },
				{ _id: "k04", status: "keep", n: 104, lease: null }
			]);
			expect((await coll().find({}, { sort: { _id: 1 }, limit: 4 })).map(d => d._id)).toEqual(["k01", "k02", "k03", "k04"]);
			expect(await coll().find({ status: "none" }, { sort: { _id: -1 }, limit: 4 })).toEqual([]);
			expect((await coll().find({}, { sort: { _id: -1 }, skip: 8, limit: 4 })).map(d => d._id)).toEqual(["k01"]);
			// What a page answers is a copy: changing it changes nothing stored.
			(page[0] as any).n = -1;
			expect((await coll().findById("k07"))?.n).toBe(107);
			expect(await coll().count({})).toBe(9);
			expect(await coll().count({ status: "skip" })).toBe(3);
		});

		it("inserts many in one call, all or none on a unique violation", async () => {
			await coll().ensureIndex("idempotencyKey", { unique: true, sparse: true });
			const docs = [1, 2, 3].map(n => ({ _id: `m${n}`, status: "q", n, tags: [], lease: null }) as Item);
			expect(await coll().insertMany(docs)).toHaveLength(3);
			expect(await coll().insertMany([])).toEqual([]);
			expect(await coll().count({ status: "q" })).toBe(3);
			const clash = [{ _id: "m4", status: "q", n: 4, tags: [], lease: null }, { _id: "m1", status: "q", n: 1, tags: [], lease: null }] as Item[];
			await expect(coll().insertMany(clash)).rejects.toBeInstanceOf(Error);
		});

		it("updates conditionally: only the document still matching the fence changes", async () => {
			await coll().insert({ _id: "t", status: "queued", n: 0, tags: [], lease: null });
			const leased = await coll().updateOne(
				{ _id: "t", status: "queued" },
				{ $set: { status: "running", lease: { id: "L1", expiresAt: "2030-01-01T00:00:00.000Z" } }, $inc: { n: 1 } }
			);
			expect(leased).toMatchObject({ status: "running", n: 1, lease: { id: "L1" } });
			// A second lease of the same task is refused.
			expect(await coll().updateOne({ _id: "t", status: "queued" }, { $set: { status: "running" } })).toBeNull();
			// A report fenced by the wrong lease id is refused; by the right one accepted.
			expect(await coll().updateOne({ _id: "t", "lease.id": "L0" }, { $set: { status: "completed" } })).toBeNull();
			const renewed = await coll().updateOne({ _id: "t", "lease.id": "L1" }, { $set: { "lease.expiresAt": "2031-01-01T00:00:00.000Z" } });
			expect(renewed?.lease?.expiresAt).toBe("2031-01-01T00:00:00.000Z");
			const done = await coll().updateOne(
				{ _id: "t", status: "running", "lease.id": "L1" },
				{ $set: { status: "completed", lease: null }, $push: { tags: { $each: ["a", "b"] } } }
			);
			expect(done).toMatchObject({ status: "completed", lease: null, tags: ["a", "b"] });
		});

		it("lets exactly one of many concurrent conditional updates win", async () => {
			await coll().insert({ _id: "race", status: "queued", n: 0, tags: [], lease: null });
			const results = await Promise.all(
				Array.from({ length: 20 }, (_, i) => coll().updateOne({ _id: "race", status: "queued" }, { $set: { status: `taken-${i}` } }))
			);
			expect(results.filter(Boolean)).toHaveLength(1);
		});

		it("queries on nested fields and ranges of ISO timestamps", async () => {
			await coll().insert({ _id: "a", status: "running", n: 0, tags: [], lease: { id: "x", expiresAt: "2020-01-01T00:00:00.000Z" } });
			await coll().insert({ _id: "b", status: "running", n: 0, tags: [], lease: { id: "y", expiresAt: "2099-01-01T00:00:00.000Z" } });
			const expired = await coll().find({ status: "running", "lease.expiresAt": { $lt: new Date().toISOString() } });
			expect(expired.map(d => d._id)).toEqual(["a"]);
			expect(await coll().updateMany({ status: "running" }, { $set: { status: "queued" } })).toBe(2);
		});

		it("answers the documents a conditional multi-update changed, as updated, and only those", async () => {
			for (const [_id, status] of [["a", "queued"], ["b", "running"], ["c", "queued"], ["d", "queued"]])
				await coll().insert({ _id, status, n: 0, tags: [], lease: null });
			const got = await coll().updateManyReturning(
				{ _id: { $in: ["a", "b", "c"] }, status: "queued" },
				{ $set: { status: "running", lease: { id: "l1" } }, $inc: { n: 1 } },
				{ _id: { $in: ["a", "b", "c"] }, "lease.id": "l1" }
			);
			expect(got.map(d => [d._id, d.status, d.n, d.lease?.id]).sort()).toEqual([["a", "running", 1, "l1"], ["c", "running", 1, "l1"]]);
			expect(await coll().findById("d")).toMatchObject({ status: "queued", n: 0 });
			expect(await coll().updateManyReturning({ _id: { $in: ["a", "c"] }, status: "queued" }, { $set: { status: "x" } }, { status: "x" })).toEqual([]);
		});

		it("answers only the fields asked for of an updated document, as copies", async () => {
			await coll().insert({ _id: "a", status: "queued", n: 0, tags: ["x"], lease: null });
			await coll().insert({ _id: "b", status: "queued", n: 0, tags: ["y"], lease: null });
			const one = await coll().updateOne({ _id: "a", status: "queued" }, { $set: { status: "running" }, $push: { tags: "z" } }, { status: 1, tags: 1 });
			expect(one).toEqual({ _id: "a", status: "running", tags: ["x", "z"] });
			const many = await coll().updateManyReturning({ _id: { $in: ["b"] } }, { $inc: { n: 2 } }, { _id: { $in: ["b"] } }, { n: 1, lease: 1 });
			expect(many).toEqual([{ _id: "b", n: 2, lease: null }]);
			expect(await coll().updateOne({ _id: "a", status: "queued" }, { $set: { n: 9 } }, { n: 1 })).toBeNull();
			// What was answered is the caller's: changing it changes nothing stored.
			one!.tags.push("changed");
			expect(await coll().findById("a")).toMatchObject({ status: "running", n: 0, tags: ["x", "z"] });
		});

		it("answers the lease sweep's range query through the status index, kept up to date", async () => {
			await coll().ensureIndex("status", { fewValues: true });
			const past = "2020-01-01T00:00:00.000Z";
			await coll().insert({ _id: "old", status: "running", n: 0, tags: [], lease: { id: "x", expiresAt: past } });
			await coll().insert({ _id: "free", status: "completed", n: 0, tags: [], lease: null });
			await coll().insert({ _id: "renewed", status: "running", n: 0, tags: [], lease: { id: "y", expiresAt: past } });
			await coll().updateOne({ _id: "renewed", "lease.id": "y" }, { $set: { "lease.expiresAt": "2099-01-01T00:00:00.000Z" } });
			await coll().insert({ _id: "done", status: "running", n: 0, tags: [], lease: { id: "z", expiresAt: past } });
			await coll().updateOne({ _id: "done", "lease.id": "z" }, { $set: { status: "completed", lease: null } });
			const sweep = () => coll().find({ status: "running", "lease.expiresAt": { $lt: new Date().toISOString() } });
			expect((await sweep()).map(d => d._id)).toEqual(["old"]);
		});

		it("answers queries on a few-values field the same as a full scan, through every kind of write", async () => {
			await coll().ensureIndex("status", { fewValues: true });
			const statuses = ["queued", "running", "completed", "failed"];
			// A seeded generator: the same sequence of writes every run.
			let seed = 7;
			const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
			const model = new Map<string, Item>();
			const item = (i: number): Item => ({ _id: `s${String(i).padStart(3, "0")}`, status: statuses[rnd(4)], n: i, tags: [], lease: null });
			const many = Array.from({ length: 60 }, (_, i) => item(i));
			await coll().insertMany(many);
			for (const d of many) model.set(d._id, { ...d });
			for (let i = 60; i < 80; i++) {
				const d = item(i);
				await coll().insert(d);
				model.set(d._id, { ...d });
			}
			for (let step = 0; step < 60; step++) {
				const ids = [...model.keys()];
				const id = ids[rnd(ids.length)];
				const to = statuses[rnd(4)];
				const op = rnd(3);
				if (op === 0) {
					// A conditional single update, as a lease or a finish.
					const from = model.get(id)!.status;
					if (await coll().updateOne({ _id: id, status: from }, { $set: { status: to } })) model.get(id)!.status = to;
				} else if (op === 1) {
					// A batch, as a lease of several: only those still in the status asked for change.
					const batch = [id, ids[rnd(ids.length)], ids[rnd(ids.length)]];
					const changed = await coll().updateManyReturning({ _id: { $in: batch }, status: "queued" }, { $set: { status: "running" } }, { status: "running" });
					for (const d of changed) model.get(d._id)!.status = "running";
				} else if (rnd(4) === 0) {
					await coll().deleteMany({ _id: id, status: { $in: ["completed", "failed"] } });
					if (["completed", "failed"].includes(model.get(id)!.status)) model.delete(id);
				}
			}
			const ids = (docs: Item[]) => docs.map(d => d._id);
			const expected = (keep: (d: Item) => boolean) => [...model.values()].filter(keep).map(d => d._id).sort();
			for (const status of [...statuses, "none"]) {
				expect(ids(await coll().find({ status })).sort()).toEqual(expected(d => d.status === status));
				expect(await coll().count({ status })).toBe(expected(d => d.status === status).length);
				const newest = expected(d => d.status === status).reverse();
				// Small pages of many matches (kept in a bounded buffer on NeDB) and larger ones (sorted).
				expect(ids(await coll().find({ status }, { sort: { _id: -1 }, limit: 3 }))).toEqual(newest.slice(0, 3));
				expect(ids(await coll().find({ status }, { sort: { _id: 1 }, skip: 2, limit: 2 }))).toEqual(expected(d => d.status === status).slice(2, 4));
				expect(ids(await coll().find({ status }, { sort: { _id: -1 }, skip: 3, limit: 4 }))).toEqual(newest.slice(3, 7));
				expect(ids(await coll().find({ status }, { sort: { _id: 1 }, skip: 1, limit: 50 }))).toEqual(expected(d => d.status === status).slice(1, 51));
			}
			expect(ids(await coll().find({ status: { $in: ["failed", "queued"] }, n: { $lt: 40 } })).sort()).toEqual(
				expected(d => ["failed", "queued"].includes(d.status) && d.n < 40)
			);
			expect(await coll().count({})).toBe(model.size);
		});

		it("drops an index it made, and answers the same without it; dropping one that is not there is no error", async () => {
			await coll().dropIndex("lease.expiresAt");
			await coll().ensureIndex("lease.expiresAt", { sparse: true });
			await coll().insert({ _id: "a", status: "running", n: 0, tags: [], lease: { id: "x", expiresAt: "2020-01-01T00:00:00.000Z" } });
			await coll().dropIndex("lease.expiresAt");
			await coll().dropIndex("lease.expiresAt");
			await coll().insert({ _id: "b", status: "running", n: 0, tags: [], lease: { id: "y", expiresAt: "2020-01-02T00:00:00.000Z" } });
			await coll().updateOne({ _id: "a" }, { $set: { "lease.expiresAt": "2099-01-01T00:00:00.000Z" } });
			expect((await coll().find({ "lease.expiresAt": { $lt: "2030-01-01T00:00:00.000Z" } })).map(d => d._id)).toEqual(["b"]);
		});

		it("enforces a unique sparse index with DuplicateKeyError", async () => {
			await coll().ensureIndex("idempotencyKey", { unique: true, sparse: true });
			await coll().insert({ _id: "u1", status: "q", n: 0, tags: [], lease: null, idempotencyKey: "k" } as Item);
			await coll().insert({ _id: "u2", status: "q", n: 0, tags: [], lease: null } as Item);
			await coll().insert({ _id: "u3", status: "q", n: 0, tags: [], lease: null } as Item);
			await expect(coll().insert({ _id: "u4", status: "q", n: 0, tags: [], lease: null, idempotencyKey: "k" } as Item)).rejects.toBeInstanceOf(DuplicateKeyError);
		});
	});
}

contract("NeDB in memory", () => createStore({ dataDir: IN_MEMORY }));

describe("store contract: NeDB files", () => {
	it("keeps documents across a restart", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-nedb-"));
		try {
			const first = createStore({ dataDir: dir });
			const c1 = first.collection("persist");
			await first.connect();
			await c1.insert({ _id: "p1", status: "queued" });
			await c1.updateOne({ _id: "p1" }, { $set: { status: "running" } });
			await first.close();
			const second = createStore({ dataDir: dir });
			const c2 = second.collection("persist");
			await second.connect();
			expect(await c2.findById("p1")).toMatchObject({ status: "running" });
			await second.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it("does not load a dropped index again at the next start", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-nedb-"));
		// The collection's datastore, to see which indexes NeDB loaded from the file.
		const open = async () => {
			const store = createStore({ dataDir: dir });
			const c = store.collection("persist");
			await store.connect();
			return { store, c, indexes: () => Object.keys((c as any).db.indexes).sort() };
		};
		try {
			const first = await open();
			await first.c.ensureIndex("lease.expiresAt", { sparse: true });
			await first.c.insert({ _id: "p1", lease: { expiresAt: "2020-01-01T00:00:00.000Z" } });
			await first.store.close();
			const second = await open();
			expect(second.indexes()).toEqual(["_id", "lease.expiresAt"]);
			await second.c.dropIndex("lease.expiresAt");
			await second.store.close();
			const third = await open();
			expect(third.indexes()).toEqual(["_id"]);
			expect(await third.c.find({ "lease.expiresAt": { $lt: "2021-01-01T00:00:00.000Z" } })).toHaveLength(1);
			await third.store.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

if (process.env.MONGO_URI) contract("MongoDB", () => createStore({ mongoUri: process.env.MONGO_URI!, dataDir: IN_MEMORY }));
else describe("store contract: MongoDB", () => it.skip("runs when MONGO_URI is set", () => undefined));
