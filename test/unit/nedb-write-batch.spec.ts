import fs from "node:fs";
import { DuplicateKeyError } from "../../src/store";
import { nedbFilesDir } from "../helpers/nedb-files";

describe("NeDB writes issued one after another run as one batch", () => {
	const { openItems } = nedbFilesDir("nightshift-batch-");

	/** Counts the tasks queued to the collection's NeDB executor from now on (its queue, below any wrapper). */
	function countTasks(items: unknown): () => number {
		const queue = (items as any).db.executor.queue;
		const waterfall = queue.waterfall.bind(queue);
		let n = 0;
		queue.waterfall = (task: unknown) => {
			n++;
			return waterfall(task);
		};
		return () => n;
	}

	it("runs inserts and updates issued in one turn as one executor task and one file write", async () => {
		const { store, items, file } = await openItems();
		try {
			await items.insert({ _id: "seed", n: 0 });
			const tasks = countTasks(items);
			const writes = jest.spyOn(fs, "writeFileSync");
			await Promise.all([
				...Array.from({ length: 20 }, (_, i) => items.insert({ _id: `k${i}`, n: i })),
				items.updateOne({ _id: "seed" }, { $set: { n: 1 } }),
				items.updateManyReturning({ _id: { $in: ["k1", "k2"] } }, { $inc: { n: 10 } }, { _id: { $in: ["k1", "k2"] } })
			]);
			const fileWrites = writes.mock.calls.filter(([fd]) => typeof fd === "number").length;
			writes.mockRestore();
			expect(tasks()).toBe(1);
			expect(fileWrites).toBe(1);
			// The update of the batch saw the inserts before it.
			expect((await items.find({ _id: { $in: ["k1", "k2", "seed"] } })).map(d => d.n).sort()).toEqual([1, 11, 12]);
		} finally {
			await store.close();
		}
	});

	it("fails only the write a unique index refuses; the others of its batch are stored", async () => {
		const { store, items } = await openItems();
		try {
			await items.ensureIndex("tag", { unique: true, sparse: true });
			const results = await Promise.allSettled([
				items.insert({ _id: "a", tag: "t" }),
				items.insert({ _id: "b", tag: "t" }),
				items.insert({ _id: "c", tag: "u" }),
				items.updateOne({ _id: "c" }, { $set: { tag: "t" } })
			]);
			expect(results.map(r => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected"]);
			expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateKeyError);
			expect((await items.find({})).map(d => [d._id, d.tag]).sort()).toEqual([["a", "t"], ["c", "u"]]);
		} finally {
			await store.close();
		}
	});

	it("keeps the order of operations: a write issued after a read runs after it", async () => {
		const { store, items } = await openItems();
		try {
			// Neither awaited before the next is issued, as concurrent callers do.
			const first = items.insert({ _id: "a", n: 1 });
			const read = items.count({});
			const later = items.insert({ _id: "b", n: 2 });
			const readAgain = items.count({});
			await Promise.all([first, later]);
			expect(await read).toBe(1);
			expect(await readAgain).toBe(2);
		} finally {
			await store.close();
		}
	});

	it("answers each write only once its lines are in the file, and reads them back after a reopen", async () => {
		const { store, items, file } = await openItems();
		const lines = () => fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
		await Promise.all(
			Array.from({ length: 10 }, async (_, i) => {
				await items.insert({ _id: `w${i}`, n: i });
				expect(lines().some(l => l._id === `w${i}`)).toBe(true);
			})
		);
		await store.close();
		const { store: reopened, items: again } = await openItems();
		try {
			expect(await again.count({})).toBe(10);
		} finally {
			await reopened.close();
		}
	});
});
