/**
 * An NeDB index for a field with a handful of values (a task's `status`): one `Set` of documents per value.
 *
 * NeDB's own index keeps the documents of one value in an array inside its tree, and removing a document filters
 * that array: with five statuses every status change of a task cost O(tasks with that status), which is why the
 * store had no `status` index, and a listing of the dead letters read every stored task. Here adding and removing are
 * O(1), and the documents of one value come straight from their set.
 *
 * The candidates an index gives NeDB are only a superset: NeDB matches each against the whole query (find, count,
 * update and remove alike). So a value this index does not key by itself (anything but a string, number, boolean or
 * null: a date, an array, an object, a missing field) puts its document among every value's candidates, and a range
 * query gets every document.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Index = require("@seald-io/nedb/lib/indexes.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require("@seald-io/nedb/lib/model.js");

type Doc = Record<string, any>;
type Pair = { oldDoc: Doc; newDoc: Doc };
type Key = string | number | boolean | null;

function isKey(value: unknown): value is Key {
	return value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

export class ValueSetIndex extends Index {
	private sets = new Map<Key, Set<Doc>>();
	/** Documents whose value is not a key (see above): candidates for every query. */
	private others = new Set<Doc>();
	/** `status` rather than `a.b`: read directly, without NeDB's path split (this runs on every write). */
	private readonly flat: boolean;

	constructor(options: { fieldName: string }) {
		super({ fieldName: options.fieldName, unique: false, sparse: false });
		if (this.fieldName.includes(",")) throw new Error("a value-set index is on one field");
		this.flat = !this.fieldName.includes(".");
	}

	/** True for an index of this kind: the store treats it as a weaker source of candidates than NeDB's own. */
	static is(index: unknown): index is ValueSetIndex {
		return index instanceof ValueSetIndex;
	}

	get size(): number {
		let n = this.others.size;
		for (const set of this.sets.values()) n += set.size;
		return n;
	}

	reset(newData?: Doc | Doc[]): void {
		this.sets = new Map();
		this.others = new Set();
		if (newData) this.insert(newData);
	}

	private setOf(doc: Doc, create: boolean): Set<Doc> | undefined {
		const value = this.flat ? doc[this.fieldName] : model.getDotValue(doc, this.fieldName);
		if (!isKey(value)) return this.others;
		let set = this.sets.get(value);
		if (!set && create) this.sets.set(value, (set = new Set()));
		return set;
	}

	insert(doc: Doc | Doc[]): void {
		if (Array.isArray(doc)) for (const d of doc) this.setOf(d, true)!.add(d);
		else this.setOf(doc, true)!.add(doc);
	}

	remove(doc: Doc | Doc[]): void {
		if (Array.isArray(doc)) for (const d of doc) this.setOf(d, false)?.delete(d);
		else this.setOf(doc, false)?.delete(doc);
	}

	/** Never fails (there is no unique constraint), so it needs none of NeDB's rollback. */
	update(oldDoc: Doc | Pair[], newDoc?: Doc): void {
		const pairs: Pair[] = Array.isArray(oldDoc) ? oldDoc : [{ oldDoc, newDoc: newDoc! }];
		for (const pair of pairs) this.remove(pair.oldDoc);
		for (const pair of pairs) this.insert(pair.newDoc);
	}

	revertUpdate(oldDoc: Doc | Pair[], newDoc?: Doc): void {
		if (Array.isArray(oldDoc)) this.update(oldDoc.map(p => ({ oldDoc: p.newDoc, newDoc: p.oldDoc })));
		else this.update(newDoc!, oldDoc);
	}

	/** How many documents `getMatching(values)` answers (every one when a value is not a key). */
	countOf(values: unknown[]): number {
		let n = this.others.size;
		for (const v of new Set(values)) {
			if (!isKey(v)) return this.size;
			n += this.sets.get(v)?.size ?? 0;
		}
		return n;
	}

	/** How many documents with one of `values` pass `match`: only those not keyed by value need it. */
	countWhere(values: unknown[], match: (doc: Doc) => boolean): number {
		if (!values.every(isKey)) return this.getMatching(values).filter(match).length;
		let n = 0;
		for (const v of new Set(values)) n += this.sets.get(v as Key)?.size ?? 0;
		for (const doc of this.others.values()) if (match(doc)) n++;
		return n;
	}

	/** The documents of a value, or of any of several (`$in`), plus those not keyed by value. */
	getMatching(value: unknown): Doc[] {
		const out: Doc[] = [...this.others.values()];
		for (const v of Array.isArray(value) ? new Set(value) : [value]) {
			if (!isKey(v)) return this.getAll(); // a date or an object: no shortcut, every document
			const set = this.sets.get(v);
			if (set) for (const doc of set.values()) out.push(doc);
		}
		return out;
	}

	getBetweenBounds(): Doc[] {
		return this.getAll();
	}

	getAll(): Doc[] {
		const out: Doc[] = [...this.others.values()];
		for (const set of this.sets.values()) for (const doc of set.values()) out.push(doc);
		return out;
	}
}
