/**
 * Three of NeDB's per-operation costs, replaced by equivalents that do less (installed once, for every datastore):
 *
 * - `model.modify` deep-copies the whole document and then walks all of it again (`checkObject`) for every update,
 *   however small: a task's payload, history and log were copied and checked each time its lease was renewed or its
 *   result recorded. Stored documents are never changed in place (NeDB hands out copies), so the new version may
 *   share what the update does not touch: only the containers on the paths it writes are copied, and only the values
 *   it writes are checked. Updates this does not cover (replacements, other operators, `$slice`, paths through arrays
 *   or non-plain values) take NeDB's own way.
 * - `Index.update` removes every document from every index and inserts it again, rebalancing the tree twice, even when
 *   the indexed value did not change (the `_id` index, on every update). When it did not, the new version takes the
 *   old one's place in the tree; when neither version has the field of a sparse index, there is nothing to do.
 * - `model.deepCopy`, which every insert, update and find runs on each document it takes in or hands out, builds
 *   every object key by key; plain objects and arrays are copied with a spread instead (V8 clones the object's shape
 *   at once), anything else NeDB's way.
 *
 * All keep NeDB's behaviour, errors and rollbacks; `test/unit/nedb-fast-paths.spec.ts` holds them to it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require("@seald-io/nedb/lib/model.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Index = require("@seald-io/nedb/lib/indexes.js");

type Doc = Record<string, any>;
type Modify = (obj: Doc, update: Doc) => Doc;

const SHARED_OPERATORS = new Set(["$set", "$unset", "$inc", "$push"]);

function isPlainObject(value: unknown): value is Doc {
	if (value === null || typeof value !== "object") return false;
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}

/** Thrown inside `modifyShared` when NeDB's own `modify` should handle the update. */
const NOT_COVERED = Symbol("not covered");

/**
 * `model.modify` for `$set`/`$unset`/`$inc`/`$push`, copying only the containers the update writes into. It runs for
 * every document of every update (a lease, a finish, a renewal), so it walks the update with `for…in` and splits only
 * dotted paths: `Object.entries` and `split` were most of its cost.
 */
export function modifyShared(obj: Doc, update: Doc, original: Modify): Doc {
	for (const op in update) if (!SHARED_OPERATORS.has(op) || !isPlainObject(update[op])) return original(obj, update);
	try {
		const newDoc: Doc = { ...obj };
		// Containers copied by this update (beyond `newDoc`): written into freely, the originals never.
		let copies: Set<object> | undefined;
		const written: unknown[] = [];
		let any = false;
		for (const op in update) {
			any = true;
			const fields: Doc = update[op];
			for (const path in fields) {
				const value = fields[path];
				let target: Doc = newDoc;
				let last = path;
				if (path.includes(".")) {
					const parts = path.split(".");
					if (parts.some(p => p === "" || p[0] === "$")) throw NOT_COVERED;
					last = parts.pop()!;
					copies ??= new Set<object>();
					let missing = false;
					for (const part of parts) {
						let child: unknown = target[part];
						if (child === undefined) {
							// `$unset` of a path that is not there changes nothing.
							if (op === "$unset") {
								missing = true;
								break;
							}
							child = {};
							copies.add(child as Doc);
						} else if (!isPlainObject(child)) throw NOT_COVERED;
						else if (!copies.has(child)) {
							child = { ...child };
							copies.add(child as Doc);
						}
						target[part] = child;
						target = child as Doc;
					}
					if (missing) continue;
				} else if (path === "" || path[0] === "$") throw NOT_COVERED;
				if (op === "$set") {
					target[last] = value;
					written.push(value);
				} else if (op === "$unset") delete target[last];
				else if (op === "$inc") {
					const current = target[last];
					if (typeof value !== "number") throw NOT_COVERED;
					if (typeof current === "number") target[last] = current + value;
					else if (!Object.prototype.hasOwnProperty.call(target, last)) target[last] = value;
					else throw NOT_COVERED;
				} else {
					const each = isPlainObject(value) && "$each" in value;
					if (each && (Object.keys(value).length !== 1 || !Array.isArray(value.$each))) throw NOT_COVERED;
					const items: unknown[] = each ? value.$each : [value];
					const has = Object.prototype.hasOwnProperty.call(target, last);
					if (has && !Array.isArray(target[last])) throw NOT_COVERED;
					target[last] = has ? [...target[last], ...items] : items.slice();
					written.push(...items);
				}
			}
		}
		if (!any || newDoc._id !== obj._id) throw NOT_COVERED;
		for (const value of written) model.checkObject(value);
		return newDoc;
	} catch (err) {
		// NeDB's own way, with its own errors (a key starting with `$`, `$inc` of a string, …).
		if (err === NOT_COVERED) return original(obj, update);
		throw err;
	}
}

type DeepCopy = (value: unknown, strictKeys?: boolean) => unknown;

/**
 * `model.deepCopy` without `strictKeys` (the copies NeDB hands out and keeps), for plain data: the same result as
 * NeDB's — own enumerable string keys, `undefined` for functions and other non-data values, Dates and class instances
 * as NeDB copies them.
 */
export function copyPlain(value: unknown, original: DeepCopy): unknown {
	if (typeof value !== "object") return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : undefined;
	if (value === null) return null;
	if (Array.isArray(value)) return value.map(item => copyPlain(item, original));
	// Symbol keys (a spread copies them, NeDB does not) and an own `__proto__` key (assigning it sets the prototype)
	// are left to NeDB.
	if (!isPlainObject(value) || Object.prototype.hasOwnProperty.call(value, "__proto__") || Object.getOwnPropertySymbols(value).length > 0)
		return original(value);
	const copy: Doc = { ...value };
	for (const key in copy) {
		const v = copy[key];
		if (typeof v === "object" ? v !== null : typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") copy[key] = copyPlain(v, original);
	}
	return copy;
}

type Pair = { oldDoc: Doc; newDoc: Doc };

function isScalar(value: unknown): value is string | number | boolean {
	return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/**
 * `Index.update` that leaves the tree as it is for documents whose indexed value did not change: the new version takes
 * the old one's place. Others go through NeDB's remove-and-insert, which rolls itself back on a unique violation; the
 * places taken are given back then, so NeDB's rollback across indexes finds every index as it was.
 */
function updateInPlace(this: any, original: (this: any, ...args: any[]) => void, oldDoc: Doc | Pair[], newDoc?: Doc): void {
	const pairs: Pair[] = Array.isArray(oldDoc) ? oldDoc : [{ oldDoc, newDoc: newDoc! }];
	const fields: string[] | undefined = this._fields;
	if (!fields || fields.length !== 1) return original.call(this, oldDoc, newDoc);
	const rest: Pair[] = [];
	const taken: { data: Doc[]; at: number; doc: Doc }[] = [];
	const field = fields[0];
	// NeDB's `getDotValue` splits the name on every call; most indexed fields have no dot.
	const valueOf: (doc: Doc) => unknown = field.includes(".") ? doc => model.getDotValue(doc, field) : doc => doc[field];
	for (const pair of pairs) {
		const before = valueOf(pair.oldDoc);
		// A sparse index holds no document without the field: one that neither version has is not there to move.
		if (before === undefined && this.sparse && valueOf(pair.newDoc) === undefined) continue;
		if (isScalar(before) && before === valueOf(pair.newDoc)) {
			const data: Doc[] = this.tree.search(before);
			const at = data.indexOf(pair.oldDoc);
			if (at >= 0) {
				data[at] = pair.newDoc;
				taken.push({ data, at, doc: pair.oldDoc });
				continue;
			}
		}
		rest.push(pair);
	}
	if (rest.length === 0) return;
	try {
		original.call(this, rest);
	} catch (err) {
		for (const t of taken) t.data[t.at] = t.doc;
		throw err;
	}
}

let installed = false;

/** Installs both, once per process. */
export function installNedbFastPaths(): void {
	if (installed) return;
	installed = true;
	const modify: Modify = model.modify;
	model.modify = (obj: Doc, update: Doc) => modifyShared(obj, update, modify);
	const deepCopy: DeepCopy = model.deepCopy;
	model.deepCopy = (value: unknown, strictKeys?: boolean) => (strictKeys ? deepCopy(value, true) : copyPlain(value, deepCopy));
	const update = Index.prototype.update;
	Index.prototype.update = function (this: any, oldDoc: Doc | Pair[], newDoc?: Doc) {
		return updateInPlace.call(this, update, oldDoc, newDoc);
	};
}
