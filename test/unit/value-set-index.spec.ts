import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Collection, createStore, IN_MEMORY, Store } from "../../src/store";

type Doc = Record<string, any>;
import { ValueSetIndex } from "../../src/store/value-set-index";

/** The NeDB datastore behind a collection: how many candidates a query reads is not visible through the contract. */
const nedbOf = (c: Collection<any>) => (c as any).db;
const candidates = (c: Collection<any>, query: Doc): number => nedbOf(c)._getRawCandidates(query).length;

const task = (i: number, status: string, extra: Doc = {}) => ({ _id: `t${String(i).padStart(5, "0")}`, status, type: "noop", ...extra });

describe("NeDB value-set index", () => {
	let store: Store;
	let tasks: Collection<any>;

	beforeEach(async () => {
		store = createStore({ dataDir: IN_MEMORY });
		tasks = store.collection("tasks");
		await store.connect();
		await tasks.ensureIndex("status", { fewValues: true });
		await tasks.ensureIndex("finishedAt", { sparse: true });
		await tasks.ensureIndex("idempotencyKey", { unique: true, sparse: true });
	});
	afterEach(() => store.close());

	it("reads only the documents of the value asked for, and only when no other index serves the query", async () => {
		const docs = Array.from({ length: 1000 }, (_, i) =>
			i < 10 ? task(i, "failed", { finishedAt: "2026-01-01T00:00:00.000Z" }) : i < 900 ? task(i, "completed", { finishedAt: `2026-02-${String(1 + (i % 28)).padStart(2, "0")}T00:00:00.000Z` }) : task(i, "queued")
		);
		await tasks.insertMany(docs);
		expect(ValueSetIndex.is(nedbOf(tasks).indexes.status)).toBe(true);
		// A listing of the dead letters: their ten, not a thousand.
		expect(candidates(tasks, { status: "failed" })).toBe(10);
		expect(await tasks.count({ status: "failed" })).toBe(10);
		// A lease batch: its ids, not every queued task.
		const ids = ["t00950", "t00951", "t00001"];
		expect(candidates(tasks, { status: "queued", _id: { $in: ids } })).toBe(3);
		expect((await tasks.find({ status: "queued", _id: { $in: ids } })).map(d => d._id).sort()).toEqual(["t00950", "t00951"]);
		// The purge: the range of old finish times, not every finished task.
		const purge = { status: { $in: ["completed", "failed"] }, finishedAt: { $lt: "2026-02-02T00:00:00.000Z" } };
		expect(candidates(tasks, purge)).toBeLessThan(60);
		expect(await tasks.count(purge)).toBe(10 + 32); // every failed one, and the completed ones of Feb 1 (i % 28 === 0)
		// The failures of the last hour: the few failed tasks, not every task finished in that time.
		expect(candidates(tasks, { status: "failed", finishedAt: { $gte: "2025-12-01T00:00:00.000Z" } })).toBe(10);
		// By id, as the scheduler's conditional updates ask.
		expect(candidates(tasks, { status: "queued", _id: "t00950" })).toBe(1);
	});

	it("finds documents whose value is not a string, number, boolean or null", async () => {
		const when = new Date("2026-03-01T00:00:00.000Z");
		await tasks.insertMany([task(1, "queued"), { _id: "d", status: when }, { _id: "a", status: ["queued", "x"] }, { _id: "m" }]);
		expect((await tasks.find({ status: "queued" })).map(d => d._id).sort()).toEqual(["a", "t00001"]);
		expect((await tasks.find({ status: when })).map(d => d._id)).toEqual(["d"]);
		expect(await tasks.count({ status: "queued" })).toBe(2);
		expect(await tasks.count({ status: { $in: ["queued", when] } })).toBe(3);
		expect(await tasks.count({})).toBe(4);
		expect((await tasks.find({ status: { $exists: false } })).map(d => d._id)).toEqual(["m"]);
		await tasks.updateOne({ _id: "d" }, { $set: { status: "queued" } });
		expect((await tasks.find({ status: "queued" }, { sort: { _id: 1 }, limit: 10 })).map(d => d._id)).toEqual(["a", "d", "t00001"]);
		expect(await tasks.find({ status: when })).toEqual([]);
	});

	it("is left as it was when an update fails on another index's unique constraint", async () => {
		await tasks.insertMany([task(1, "queued", { idempotencyKey: "k1" }), task(2, "queued"), task(3, "queued")]);
		// NeDB updates its indexes one after the other and, on the violation, reverts those it had updated.
		await expect(tasks.updateMany({ _id: { $in: ["t00002", "t00003"] } }, { $set: { status: "running", idempotencyKey: "k1" } })).rejects.toMatchObject({
			errorType: "uniqueViolated"
		});
		expect(await tasks.count({ status: "queued" })).toBe(3);
		expect(await tasks.count({ status: "running" })).toBe(0);
		expect(nedbOf(tasks).indexes.status.size).toBe(3);
	});
});

describe("NeDB value-set index in files", () => {
	it("is built again at every start, also after a compaction wrote NeDB's own index for the field down", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-vsi-"));
		try {
			const first = createStore({ dataDir: dir });
			const c1 = first.collection("tasks");
			await first.connect();
			await c1.ensureIndex("status", { fewValues: true });
			await c1.insertMany([task(1, "queued"), task(2, "failed"), task(3, "queued")]);
			await c1.updateOne({ _id: "t00003", status: "queued" }, { $set: { status: "failed" } });
			await nedbOf(c1).compactDatafileAsync();
			await first.close();
			expect(fs.readFileSync(path.join(dir, "tasks.db"), "utf8")).toContain('"$$indexCreated":{"fieldName":"status"');

			const second = createStore({ dataDir: dir });
			const c2 = second.collection("tasks");
			await second.connect();
			await c2.ensureIndex("status", { fewValues: true });
			expect(ValueSetIndex.is(nedbOf(c2).indexes.status)).toBe(true);
			expect(candidates(c2, { status: "failed" })).toBe(2);
			expect((await c2.find({ status: "failed" }, { sort: { _id: -1 }, limit: 10 })).map(d => d._id)).toEqual(["t00003", "t00002"]);
			await second.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
