import { TaskIndex } from "../../src/scheduler/task-index";

const NOW = 1_000_000;
const entry = (id: string, extra: Partial<{ priority: number; key: string | null; availableAt: number; type: string; pendingDeps: string[] }> = {}) => ({
	id,
	type: extra.type ?? "noop",
	priority: extra.priority ?? 5,
	key: extra.key ?? null,
	availableAt: extra.availableAt ?? NOW,
	pendingDeps: extra.pendingDeps
});
const ids = (entries: { id: string }[]) => entries.map(e => e.id);

describe("TaskIndex", () => {
	it("takes higher priority first, then the older task", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("a1", { priority: 5 }), NOW);
		index.add(entry("a2", { priority: 9 }), NOW);
		index.add(entry("a3", { priority: 5 }), NOW);
		index.add(entry("a0", { priority: 1 }), NOW);
		expect(ids(index.take(10, NOW))).toEqual(["a2", "a1", "a3", "a0"]);
		expect(index.take(10, NOW)).toEqual([]);
	});

	it("runs one task per key at a time, in submission order, while other keys run in parallel", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("b1", { key: "k" }), NOW);
		index.add(entry("b2", { key: "k", priority: 10 }), NOW);
		index.add(entry("b3", { key: "other" }), NOW);
		expect(ids(index.take(10, NOW))).toEqual(["b1", "b3"]);
		// b2 waits for b1 even though it has a higher priority.
		expect(index.take(10, NOW)).toEqual([]);
		index.finish("b1", true, NOW);
		expect(ids(index.take(10, NOW))).toEqual(["b2"]);
	});

	it("keeps the key held while its task waits to be retried", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("c1", { key: "k" }), NOW);
		index.add(entry("c2", { key: "k" }), NOW);
		expect(ids(index.take(10, NOW))).toEqual(["c1"]);
		index.requeue("c1", NOW + 500, NOW);
		expect(index.take(10, NOW)).toEqual([]);
		expect(ids(index.take(10, NOW + 500))).toEqual(["c1"]);
	});

	it("holds delayed tasks until they are due", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("d1", { availableAt: NOW + 1000 }), NOW);
		index.add(entry("d2"), NOW);
		expect(index.nextDueAt()).toBe(NOW + 1000);
		expect(ids(index.take(10, NOW))).toEqual(["d2"]);
		expect(index.hasReady(NOW + 999)).toBe(false);
		expect(ids(index.take(10, NOW + 1000))).toEqual(["d1"]);
	});

	it("releases a dependant when its dependencies complete, and reports dependants of a failure", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("e1"), NOW);
		index.add(entry("e2"), NOW);
		index.add(entry("e3", { pendingDeps: ["e1", "e2"] }), NOW);
		index.add(entry("e4", { pendingDeps: ["e2"] }), NOW);
		expect(ids(index.take(10, NOW))).toEqual(["e1", "e2"]);
		expect(index.finish("e1", true, NOW)).toEqual([]);
		expect(index.take(10, NOW)).toEqual([]);
		expect(index.finish("e2", false, NOW).sort()).toEqual(["e3", "e4"]);
	});

	it("parks a type at its concurrency limit and unparks it when a slot frees", () => {
		const index = new TaskIndex(type => (type === "slow" ? 1 : Infinity));
		index.add(entry("f1", { type: "slow" }), NOW);
		index.add(entry("f2", { type: "slow" }), NOW);
		index.add(entry("f3"), NOW);
		expect(ids(index.take(10, NOW))).toEqual(["f1", "f3"]);
		expect(index.stats().parked).toBe(1);
		// Nothing to wake a worker for while the only ready task waits for a slot of its type.
		expect(index.hasReady(NOW)).toBe(false);
		index.finish("f1", true, NOW);
		expect(index.hasReady(NOW)).toBe(true);
		expect(ids(index.take(10, NOW))).toEqual(["f2"]);
	});

	it("passes over the types a worker declines, leaving their order for the next worker", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("p1", { type: "page", priority: 9 }), NOW);
		index.add(entry("p2", { type: "page", priority: 9 }), NOW);
		index.add(entry("n1"), NOW);
		index.add(entry("p3", { type: "page", priority: 1 }), NOW);
		index.add(entry("n2", { priority: 2 }), NOW);
		const noPages = (type: string) => type !== "page";
		expect(ids(index.take(1, NOW, noPages))).toEqual(["n1"]);
		expect(ids(index.take(10, NOW, noPages))).toEqual(["n2"]);
		expect(index.take(10, NOW, noPages)).toEqual([]);
		expect(index.stats()).toMatchObject({ ready: 3, running: 2 });
		expect(ids(index.take(10, NOW))).toEqual(["p1", "p2", "p3"]);
	});

	it("forgets a cancelled waiting task and frees its key for the next", () => {
		const index = new TaskIndex(() => Infinity);
		index.add(entry("g1", { key: "k", availableAt: NOW + 5000 }), NOW);
		index.add(entry("g2", { key: "k" }), NOW);
		index.finish("g1", false, NOW);
		expect(ids(index.take(10, NOW))).toEqual(["g2"]);
		expect(index.stats()).toMatchObject({ queued: 0, running: 1, delayed: 0 });
	});

	it("removes an entry from the middle of the ready heap without breaking the order", () => {
		const index = new TaskIndex(() => Infinity);
		for (let i = 0; i < 50; i++) index.add(entry(`h${String(i).padStart(2, "0")}`, { priority: (i % 10) + 1 }), NOW);
		for (let i = 0; i < 50; i += 3) index.drop(`h${String(i).padStart(2, "0")}`, NOW);
		const taken = index.take(100, NOW);
		const order = taken.map(e => [-e.priority, e.id].join(":"));
		expect(order).toEqual([...order].sort((a, b) => (Number(a.split(":")[0]) - Number(b.split(":")[0])) || (a < b ? -1 : 1)));
		expect(taken).toHaveLength(50 - 17);
	});
});
