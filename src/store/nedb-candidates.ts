/**
 * Where NeDB takes the candidates of a query from, with value-set indexes (`ValueSetIndex`) among its own, and the
 * page of a listing from those candidates. Candidates are only a superset: NeDB matches each against the whole query.
 */
import type { Doc, Query } from "./store";
import { ValueSetIndex } from "./value-set-index";

/** A value NeDB's index lookup takes as an exact match. */
export function isExact(value: unknown): boolean {
	const type = typeof value;
	return value === null || type === "string" || type === "number" || type === "boolean" || value instanceof Date;
}

const CANDIDATE_OPERATORS = ["$in", "$lt", "$lte", "$gt", "$gte"];

/** Whether NeDB can take a query's candidates from one of the `indexed` fields (its `_getRawCandidates` rules). */
export function indexServes(query: Query, indexed: string[]): boolean {
	for (const field of indexed) {
		if (!Object.prototype.hasOwnProperty.call(query, field)) continue;
		const value = query[field];
		if (isExact(value)) return true;
		if (value && typeof value === "object" && CANDIDATE_OPERATORS.some(op => Object.prototype.hasOwnProperty.call(value, op))) return true;
	}
	return false;
}

/** The values a query's condition on a field asks for: an exact value or an `$in`; undefined for anything else. */
export function valuesAsked(condition: any): unknown[] | undefined {
	return isExact(condition) ? [condition] : Array.isArray(condition?.$in) ? condition.$in : undefined;
}

/** How many documents a datastore holds: a value-set index knows it at once; NeDB's own would list them all. */
export function documentCount(db: any): number {
	for (const name in db.indexes) if (ValueSetIndex.is(db.indexes[name])) return db.indexes[name].size;
	return db.getAllData().length;
}

/** A value-set index and the values a query asks of it, with how many documents have them. */
export interface ValueSetChoice {
	index: ValueSetIndex;
	values: unknown[];
	count: number;
}

/**
 * Where a query's candidates come from when a value-set index (`status`) could give them: from the value-set
 * index whose values are held by the fewest documents, when no other index serves the query or those documents are
 * few (at most 1/16 of all; the failures of the last hour: the failed tasks, not every task finished in that hour);
 * otherwise from NeDB's choice among its own indexes. NeDB itself takes an exact value of any indexed field before
 * an `$in` or a range, so the purge, `{status: {$in: ["completed", "cancelled"]}, finishedAt: {$lt: …}}`, would read
 * every finished task instead of the old ones. Ids asked for (`_id`, `_id: {$in}`: a lease batch) are always fewest.
 * `undefined`: NeDB's choice.
 */
export function valueSetChoice(indexes: Record<string, any>, query: Query): ValueSetChoice | undefined {
	const id = query._id;
	if (isExact(id) || (id && typeof id === "object" && Object.prototype.hasOwnProperty.call(id, "$in"))) return undefined;
	let best: ValueSetChoice | undefined;
	for (const name in indexes) {
		const index = indexes[name];
		if (!ValueSetIndex.is(index) || !Object.prototype.hasOwnProperty.call(query, name)) continue;
		const values = valuesAsked(query[name]);
		if (!values) continue;
		const count = index.countOf(values);
		if (!best || count < best.count) best = { index, values, count };
	}
	if (!best) return undefined;
	const others = Object.keys(indexes).filter(name => !ValueSetIndex.is(indexes[name]));
	return best.count * 16 <= best.index.size || !indexServes(query, others) ? best : undefined;
}

/**
 * The documents of `ids` (each once) from the `_id` index. NeDB's `getMatching` of an array gathers them in an object
 * keyed by id and lists its keys: most of a lease batch's lookup.
 */
function byIds(idIndex: any, ids: unknown[]): Doc[] {
	const docs: Doc[] = [];
	const seen = new Set<unknown>();
	for (const id of ids) {
		if (seen.has(id)) continue;
		seen.add(id);
		for (const doc of idIndex.tree.search(id) as Doc[]) docs.push(doc);
	}
	return docs;
}

const choosing = new WeakSet<object>();

/** Installs `valueSetChoice` in a datastore's candidate lookup (once). */
export function chooseValueSets(db: any): void {
	if (choosing.has(db)) return;
	choosing.add(db);
	const original = db._getRawCandidates;
	db._getRawCandidates = function (this: any, query: Query) {
		const all = this.indexes;
		// The hot path: a conditional update of one task by id. NeDB would list the query's entries and filter them by
		// index name first; the `_id` wins in any case (`idLast` puts it last, and NeDB takes the last).
		if (isExact(query._id)) return all._id.tree.search(query._id);
		const choice = valueSetChoice(all, query);
		if (choice) return choice.index.getMatching(choice.values);
		// A lease batch, `{status: "queued", _id: {$in: ids}}`: its ids, as NeDB would take them with no value-set index.
		const ids = (query._id as { $in?: unknown } | undefined)?.$in;
		if (Array.isArray(ids) && Object.keys(query).every(field => field === "_id" || !all[field] || ValueSetIndex.is(all[field])))
			return byIds(all._id, ids);
		// NeDB's choice, among its own indexes: hidden from it, a value-set index cannot win over an `_id` `$in`.
		const own: Record<string, unknown> = {};
		for (const name in all) if (!ValueSetIndex.is(all[name])) own[name] = all[name];
		if (!indexServes(query, Object.keys(own))) return original.call(this, query);
		this.indexes = own;
		try {
			return original.call(this, query);
		} finally {
			this.indexes = all;
		}
	};
}

/**
 * The first `skip + limit` of `docs` in `_id` order (`descending`: largest first), then the page. A page of a listing is
 * small and the matching documents may be many (every completed task): a bounded, sorted buffer instead of sorting all.
 */
export function pageOf(docs: Doc[], skip: number, limit: number, descending: boolean): Doc[] {
	const want = skip + limit;
	const before = descending ? (a: Doc, b: Doc) => a._id > b._id : (a: Doc, b: Doc) => a._id < b._id;
	if (want > 256 || want * 4 >= docs.length) return docs.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0)).slice(skip, want);
	const top: Doc[] = [];
	for (const doc of docs) {
		if (top.length === want && !before(doc, top[want - 1])) continue;
		let i = top.length === want ? want - 1 : top.length;
		for (; i > 0 && before(doc, top[i - 1]); i--) top[i] = top[i - 1];
		top[i] = doc;
	}
	return top.slice(skip);
}
