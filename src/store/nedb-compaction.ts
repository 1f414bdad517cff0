import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type Datastore from "@seald-io/nedb";
import { indexLines, serialize } from "./nedb-lines";

/** Documents serialized between two yields to the event loop: about a millisecond of work. */
export const COMPACTION_CHUNK_DOCS = 500;

/** What an online compaction needs of the collection's append-only file writer (`GroupAppender`). */
export interface CompactionTarget {
	/** From now on, also keep a copy of every line added, until `endCapture`. */
	startCapture(): void;
	/** Writes what is pending to the current file, stops capturing, and answers the lines captured. */
	endCapture(): string;
	/** Closes the file: later lines open the file by its name again (the compacted one). */
	closeFile(): void;
}

/**
 * Rewrites a collection's file with one line per stored document, without holding the store still while it does.
 *
 * NeDB's own compaction runs inside its executor: every store operation waits until the whole file is serialized
 * and written, and the serialization (a replacer call per key, a promise per line) blocks the event loop. At 100,000
 * tasks that was 1.2 s with no store operation answered, 0.5 s of it with nothing answered at all, every
 * `COMPACTION_INTERVAL_MILLIS` (`bench/store/compaction.ts`).
 *
 * Here the executor is held only twice, briefly:
 * 1. to take the list of stored documents (NeDB replaces a document on update, never changes it, so the list stays
 *    the state of that moment) and to start capturing the lines written from then on;
 * 2. at the end, to append the captured lines to the new file and rename it over the old one.
 * In between, the documents are serialized in chunks, with the event loop served between chunks, and written to
 * `<file>~` while operations go on and append to the old file. The new file is the snapshot followed by every line
 * written since, so it reads back as the current state. Crash safety is NeDB's: the old file stays until the rename
 * (fsynced before and after), and NeDB's load takes `<file>~` only when the file itself is missing.
 */
export async function compactOnline(db: Datastore<any>, target: CompactionTarget, chunkDocs = COMPACTION_CHUNK_DOCS): Promise<void> {
	const internal = db as any;
	const filename: string = internal.persistence.filename;
	const fileMode: number | undefined = internal.persistence.modes?.fileMode;
	const temp = `${filename}~`;
	const snapshot: { docs: object[]; indexes: string[] } = await internal.executor.pushAsync(async () => {
		target.startCapture();
		return { docs: internal.getAllData(), indexes: indexLines(db) };
	});
	let committed = false;
	let fd: number | undefined;
	try {
		fd = fs.openSync(temp, "w", fileMode);
		for (let from = 0; from < snapshot.docs.length; from += chunkDocs) {
			let lines = "";
			for (const doc of snapshot.docs.slice(from, from + chunkDocs)) lines += serialize(doc) + "\n";
			fs.writeFileSync(fd, lines, "utf8");
			await new Promise(resolve => setImmediate(resolve));
		}
		fs.writeFileSync(fd, snapshot.indexes.map(line => line + "\n").join(""), "utf8");
		// The bulk reaches the disk off the event loop; the last step's own fsync then has only the tail to write.
		await promisify(fs.fsync)(fd);
		await internal.executor.pushAsync(async () => {
			// Nothing is written meanwhile: every write of the store runs in this executor.
			fs.writeFileSync(fd!, target.endCapture(), "utf8");
			fs.fsyncSync(fd!);
			fs.closeSync(fd!);
			fd = undefined;
			fs.renameSync(temp, filename);
			committed = true;
			// Lines from now on go to the new file.
			target.closeFile();
			syncDirectory(path.dirname(filename));
		});
	} finally {
		if (!committed) {
			// Failed before the rename: the old file is whole; the lines it captured went to it as well.
			target.endCapture();
			if (fd !== undefined) fs.closeSync(fd);
			fs.rmSync(temp, { force: true });
		}
	}
	db.emit("compaction.done");
}

/** Makes a rename durable (NeDB's `flushToStorageAsync` of the directory). */
function syncDirectory(dir: string): void {
	const fd = fs.openSync(dir, "r");
	try {
		fs.fsyncSync(fd);
	} finally {
		fs.closeSync(fd);
	}
}
