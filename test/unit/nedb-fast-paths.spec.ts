import Datastore from "@seald-io/nedb";
import { installNedbFastPaths, modifyShared } from "../../src/store/nedb-fast-paths";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require("@seald-io/nedb/lib/model.js");

/** NeDB's own `modify`, taken before the fast path is installed. */
const nedbModify: (obj: object, update: object) => object = model.modify;
installNedbFastPaths();

function deepFreeze<T>(value: T): T {
	if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
		Object.freeze(value);
		for (const v of Object.values(value)) deepFreeze(v);
	}
	return value;
}

function outcome(fn: () => object): { value?: object; error?: string } {
	try {
		return { value: fn() };
	} catch (err: any) {
		return { error: err.message };
	}
}

const doc = () => ({
	_id: "t1",
	status: "running",
	attempts: 1,
	payload: { url: "https://example.com", nested: { deep: [1, 2, { x: 1 }] } },
	lease: { id: "l1", owner: "n1", expiresAt: "2026-01-01T00:00:00.000Z" },
	history: [{ outcome: "failed" }],
	empty: null,
	label: "x"
});

const cases: [string, object][] = [
	["$set of top-level fields", { $set: { status: "completed", result: { a: [1, { b: 2 }] }, lease: null } }],
	["$set of a dotted path", { $set: { "lease.expiresAt": "2026-01-02T00:00:00.000Z" } }],
	["two $set paths under one parent", { $set: { "lease.expiresAt": "x", "lease.owner": "n2" } }],
	["$set creating missing parents", { $set: { "meta.a.b": 1 } }],
	["$set through null", { $set: { "empty.a": 1 } }],
	["$set through a string", { $set: { "label.a": 1 } }],
	["$set through an array", { $set: { "history.0.outcome": "completed" } }],
	["$set of _id", { $set: { _id: "t2" } }],
	["$set of a key starting with $", { $set: { "payload.$bad": 1 } }],
	["$set of a value holding a key with a dot", { $set: { result: { "a.b": 1 } } }],
	["$unset", { $unset: { label: true, "lease.owner": true } }],
	["$unset of a missing path", { $unset: { "nothing.here": true } }],
	["$inc of a number", { $inc: { attempts: 2 } }],
	["$inc of a missing field", { $inc: { retries: 1 } }],
	["$inc of a string", { $inc: { label: 1 } }],
	["$inc by a string", { $inc: { attempts: "1" } }],
	["$push one", { $push: { history: { outcome: "completed" } } }],
	["$push $each", { $push: { log: { $each: [{ m: 1 }, { m: 2 }] } } }],
	["$push $each and $slice", { $push: { history: { $each: [{ m: 1 }], $slice: -1 } } }],
	["$push onto a non-array", { $push: { label: 1 } }],
	["$push of a value with a $ key", { $push: { history: { $bad: 1 } } }],
	["$set, $inc and $push together", { $set: { status: "queued", lease: null }, $inc: { attempts: 1 }, $push: { history: { outcome: "lost" } } }],
	["a replacement", { status: "x" }],
	["mixed modifiers and fields", { $set: { a: 1 }, b: 2 }],
	["an unknown modifier", { $rename: { label: "name" } }],
	["$addToSet (NeDB's own way)", { $addToSet: { tags: "a" } }]
];

describe("NeDB fast paths", () => {
	it.each(cases)("modify: %s gives what NeDB gives, without touching the original", (_name, update) => {
		const original = deepFreeze(doc());
		const expected = outcome(() => nedbModify(doc(), structuredClone(update)));
		const actual = outcome(() => modifyShared(original, structuredClone(update), nedbModify));
		expect(actual).toEqual(expected);
		expect(original).toEqual(doc());
	});

	it("shares what an update does not touch, and copies the containers it writes into", () => {
		const original = deepFreeze(doc());
		const updated: any = modifyShared(original, { $set: { "lease.expiresAt": "later" }, $push: { history: { outcome: "ok" } } }, nedbModify);
		expect(updated.payload).toBe(original.payload);
		expect(updated.lease).not.toBe(original.lease);
		expect(updated.history).not.toBe(original.history);
		expect(updated.history[0]).toBe(original.history[0]);
	});

	describe("through a datastore", () => {
		let db: Datastore<any>;

		beforeEach(async () => {
			db = new Datastore({ inMemoryOnly: true });
			await db.ensureIndexAsync({ fieldName: "key", sparse: true });
			await db.ensureIndexAsync({ fieldName: "code", unique: true, sparse: true });
			await db.insertAsync([
				{ _id: "a", key: "k", code: "A", n: 1 },
				{ _id: "b", key: "k", code: "B", n: 1 },
				{ _id: "c", n: 1 }
			]);
		});

		it("finds updated documents by every index, and never the old versions", async () => {
			await db.updateAsync({ key: "k" }, { $inc: { n: 1 } }, { multi: true });
			await db.updateAsync({ _id: "c" }, { $set: { key: "k" } });
			expect((await db.findAsync({ key: "k" })).map((d: any) => [d._id, d.n]).sort()).toEqual([["a", 2], ["b", 2], ["c", 1]]);
			expect(await db.findOneAsync({ _id: "a" })).toMatchObject({ n: 2 });
			expect(await db.findOneAsync({ code: "B" })).toMatchObject({ _id: "b", n: 2 });
			await db.updateAsync({ _id: "b" }, { $set: { code: "B2" } });
			expect(await db.findOneAsync({ code: "B" })).toBeNull();
			expect(await db.findOneAsync({ code: "B2" })).toMatchObject({ _id: "b" });
			expect(await db.countAsync({})).toBe(3);
		});

		it("rolls every index back when a unique constraint refuses an update", async () => {
			await expect(db.updateAsync({ _id: "b" }, { $set: { code: "A", n: 9 } })).rejects.toMatchObject({ errorType: "uniqueViolated" });
			expect(await db.findOneAsync({ _id: "b" })).toMatchObject({ code: "B", n: 1 });
			expect(await db.findOneAsync({ code: "B" })).toMatchObject({ _id: "b", n: 1 });
			expect((await db.findAsync({ key: "k" })).map((d: any) => d.n)).toEqual([1, 1]);
			// A multi update where a later document fails leaves the earlier ones as they were too.
			await expect(db.updateAsync({ key: "k" }, { $set: { code: "same" } }, { multi: true })).rejects.toMatchObject({ errorType: "uniqueViolated" });
			expect((await db.findAsync({ key: "k" })).map((d: any) => d.code).sort()).toEqual(["A", "B"]);
			// One index, two documents: one keeps its value (its place taken in the tree), the other is refused.
			await expect(db.updateAsync({ key: "k" }, { $set: { code: "A", n: 5 } }, { multi: true })).rejects.toMatchObject({ errorType: "uniqueViolated" });
			expect(await db.findOneAsync({ code: "A" })).toMatchObject({ _id: "a", n: 1 });
			await db.updateAsync({ _id: "a" }, { $inc: { n: 1 } });
			expect(await db.findOneAsync({ _id: "a" })).toMatchObject({ code: "A", n: 2 });
		});
	});
});
