import Datastore from "@seald-io/nedb";
import { copyPlain, installNedbFastPaths, modifyShared } from "../../src/store/nedb-fast-paths";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require("@seald-io/nedb/lib/model.js");

/** NeDB's own `modify`, taken before the fast path is installed. */
const nedbModify: (obj: object, update: object) => object = model.modify;
const nedbDeepCopy: (value: unknown, strictKeys?: boolean) => unknown = model.deepCopy;
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

/** Each update, and whether it is ours to apply ("shared") or handed to NeDB's own `modify` ("nedb"). */
const cases: [string, object, "shared" | "nedb"][] = [
	["$set of top-level fields", { $set: { status: "completed", result: { a: [1, { b: 2 }] }, lease: null } }, "shared"],
	["$set of a dotted path", { $set: { "lease.expiresAt": "2026-01-02T00:00:00.000Z" } }, "shared"],
	["two $set paths under one parent", { $set: { "lease.expiresAt": "x", "lease.owner": "n2" } }, "shared"],
	["$set creating missing parents", { $set: { "meta.a.b": 1 } }, "shared"],
	["$set through null", { $set: { "empty.a": 1 } }, "nedb"],
	["$set through a string", { $set: { "label.a": 1 } }, "nedb"],
	["$set through an array", { $set: { "history.0.outcome": "completed" } }, "nedb"],
	["$set of _id", { $set: { _id: "t2" } }, "nedb"],
	["$set of a key starting with $", { $set: { "payload.$bad": 1 } }, "nedb"],
	["$set of a value holding a key with a dot", { $set: { result: { "a.b": 1 } } }, "shared"],
	["$unset", { $unset: { label: true, "lease.owner": true } }, "shared"],
	["$unset of a missing path", { $unset: { "nothing.here": true } }, "shared"],
	["$inc of a number", { $inc: { attempts: 2 } }, "shared"],
	["$inc of a missing field", { $inc: { retries: 1 } }, "shared"],
	["$inc of a string", { $inc: { label: 1 } }, "nedb"],
	["$inc by a string", { $inc: { attempts: "1" } }, "nedb"],
	["$push one", { $push: { history: { outcome: "completed" } } }, "shared"],
	["$push $each", { $push: { log: { $each: [{ m: 1 }, { m: 2 }] } } }, "shared"],
	["$push $each and $slice", { $push: { history: { $each: [{ m: 1 }], $slice: -1 } } }, "nedb"],
	["$push onto a non-array", { $push: { label: 1 } }, "nedb"],
	["$push of a value with a $ key", { $push: { history: { $bad: 1 } } }, "shared"],
	["$set, $inc and $push together", { $set: { status: "queued", lease: null }, $inc: { attempts: 1 }, $push: { history: { outcome: "lost" } } }, "shared"],
	["a replacement", { status: "x" }, "nedb"],
	["mixed modifiers and fields", { $set: { a: 1 }, b: 2 }, "nedb"],
	["an unknown modifier", { $rename: { label: "name" } }, "nedb"],
	["$addToSet", { $addToSet: { tags: "a" } }, "nedb"]
];

/**
 * A fresh copy of an update, made in this test's realm: `structuredClone` answers objects of the host's realm under
 * jest, which are not plain objects here, so every update would have gone NeDB's way.
 */
const copyOf = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("NeDB fast paths", () => {
	it.each(cases)("modify: %s gives what NeDB gives, without touching the original", (_name, update, way) => {
		const original = deepFreeze(doc());
		const expected = outcome(() => nedbModify(doc(), copyOf(update)));
		let tookNedbWay = false;
		const actual = outcome(() =>
			modifyShared(original, copyOf(update), (obj, u) => {
				tookNedbWay = true;
				return nedbModify(obj, u);
			})
		);
		expect(actual).toEqual(expected);
		expect(tookNedbWay ? "nedb" : "shared").toBe(way);
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

	class Point {
		constructor(
			public x: number,
			public y: { z: number[] }
		) {}
	}
	const nullProto = Object.assign(Object.create(null), { a: { b: 1 } });
	const copies: [string, () => unknown][] = [
		["a task document", () => ({ ...doc(), result: { rows: [[1, "a"], [2, null]] }, metadata: {} })],
		["primitives", () => ["s", 1, true, null, undefined]],
		["undefined and function values", () => ({ a: undefined, f: () => 1, n: NaN, nested: [undefined, () => 2] })],
		["a Date inside", () => ({ when: new Date(0), list: [new Date(1)] })],
		["a class instance inside", () => ({ p: new Point(1, { z: [1, 2] }) })],
		["a null-prototype object", () => ({ o: nullProto })],
		["a symbol key", () => ({ [Symbol("s")]: 1, a: { [Symbol("t")]: 2, b: 3 } })],
		["an own __proto__ key", () => JSON.parse('{"a": {"__proto__": {"polluted": true}, "b": 1}}')],
		["a sparse array", () => ({ list: [1, , 3] })] // eslint-disable-line no-sparse-arrays
	];

	it.each(copies)("deepCopy: %s gives what NeDB gives, sharing no container with the original", (_name, make) => {
		const value = make();
		const copy = copyPlain(value, nedbDeepCopy);
		const expected = nedbDeepCopy(make());
		expect(copy).toStrictEqual(expected);
		expect(Object.getPrototypeOf((copy as any)?.a ?? {})).toStrictEqual(Object.getPrototypeOf((expected as any)?.a ?? {}));
		const containers = (v: unknown, seen: object[] = []): object[] => {
			if (v !== null && typeof v === "object" && !(v instanceof Date)) {
				seen.push(v);
				for (const k of Object.keys(v)) containers((v as any)[k], seen);
			}
			return seen;
		};
		const originals = new Set(containers(value));
		expect(containers(copy).filter(c => originals.has(c))).toEqual([]);
	});

	it("copies with strictKeys NeDB's way (keys with $ or . dropped)", () => {
		expect(model.deepCopy({ $a: 1, "b.c": 2, d: { $e: 3, f: 4 } }, true)).toEqual({ d: { f: 4 } });
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

		it("keeps a sparse index without the documents that lack its field, through updates that add and remove it", async () => {
			const indexed = (field: string) => (db as any).indexes[field].getAll().map((d: any) => `${d._id}:${d.n}`).sort();
			await db.updateAsync({}, { $inc: { n: 1 } }, { multi: true });
			expect(indexed("key")).toEqual(["a:2", "b:2"]);
			await db.updateAsync({ _id: "c" }, { $set: { key: "k2" } });
			expect(indexed("key")).toEqual(["a:2", "b:2", "c:2"]);
			await db.updateAsync({ _id: "a" }, { $unset: { key: true } });
			await db.updateAsync({}, { $inc: { n: 1 } }, { multi: true });
			expect(indexed("key")).toEqual(["b:3", "c:3"]);
			expect((await db.findAsync({ key: "k2" })).map((d: any) => d._id)).toEqual(["c"]);
			expect(indexed("code")).toEqual(["a:3", "b:3"]);
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
