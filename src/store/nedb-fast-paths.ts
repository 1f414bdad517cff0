/**
 * Two of NeDB's per-update costs, replaced by equivalents that do less (installed once, for every datastore):
 *
 * - `model.modify` deep-copies the whole document and then walks all of it again (`checkObject`) for every update,
 *   however small: a task's payload, history and log were copied and checked each time its lease was renewed or its
 *   result recorded. Stored documents are never changed in place (NeDB hands out copies), so the new version may
 *   share what the update does not touch: only the containers on the paths it writes are copied, and only the values
 *   it writes are checked. Updates this does not cover (replacements, other operators, `$slice`, paths through arrays
 *   or non-plain values) take NeDB's own way.
 * - `Index.update` removes every document from every index and inserts it again, rebalancing the tree twice, even when
 *   the indexed value did not change (the `_id` index, on every update). When it did not, the new version takes the
 *   old one's place in the tree.
 *
 * Both keep NeDB's behaviour, errors and rollbacks; `test/unit/nedb-fast-paths.spec.ts` holds them to it.
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

/** `model.modify` for `$set`/`$unset`/`$inc`/`$push`, copying only the containers the update writes into. */
export function modifyShared(obj: Doc, update: Doc, original: Modify): Doc {
	const operators = Object.keys(update);
	if (operators.length === 0 || !operators.every(op => SHARED_OPERATORS.has(op) && isPlainObject(update[op]))) return original(obj, update);
	try {
		const newDoc: Doc = { ...obj };
		// Containers copied by this update: written into freely, the originals never.
		const copies = new Set<object>([newDoc]);
		const written: unknown[] = [];
		for (const op of operators)
			for (const [path, value] of Object.entries(update[op] as Doc)) {
				const parts = path.split(".");
				if (parts.some(p => p === "" || p[0] === "$")) throw NOT_COVERED;
				const last = parts.pop()!;
				let target: Doc = newDoc;
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
		if (newDoc._id !== obj._id) throw NOT_COVERED;
		for (const value of written) model.checkObject(value);
		return newDoc;
	} catch (err) {
		// NeDB's own way, with its own errors (a key starting with `$`, `$inc` of a string, …).
		if (err === NOT_COVERED) return original(obj, update);
		throw err;
	}
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
	for (const pair of pairs) {
		const before = model.getDotValue(pair.oldDoc, fields[0]);
		if (isScalar(before) && before === model.getDotValue(pair.newDoc, fields[0])) {
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
	const update = Index.prototype.update;
	Index.prototype.update = function (this: any, oldDoc: Doc | Pair[], newDoc?: Doc) {
		return updateInPlace.call(this, update, oldDoc, newDoc);
	};
}
