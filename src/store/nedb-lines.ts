import type Datastore from "@seald-io/nedb";

/**
 * Stored documents are plain JSON (timestamps are ISO strings, see `src/time.ts`), so a line is `JSON.stringify` of
 * the document: NeDB's own serializer gives the same text through a replacer called for every key (it turns `Date`
 * objects into `{$$date}`, which these documents never hold), at several times the cost.
 */
export function serialize(doc: object): string {
	return JSON.stringify(doc);
}

/** The lines a compacted file ends with, as NeDB writes them: one per index but `_id`, which is always there. */
export function indexLines(db: Datastore<any>): string[] {
	const indexes = (db as any).indexes;
	return Object.keys(indexes)
		.filter(field => field !== "_id")
		.map(field => {
			const { fieldName, unique, sparse } = indexes[field];
			return serialize({ $$indexCreated: { fieldName, unique, sparse } });
		});
}
