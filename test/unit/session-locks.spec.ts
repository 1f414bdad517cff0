import { createStore, IN_MEMORY, type Store } from "../../src/store";
import { SessionLocks, type SessionLock } from "../../src/session/session-locks";

/** The cluster-wide "profile is active" lock: one holder, stale holders taken over, every write fenced. */
function lockContract(engine: string, make: () => Store) {
	describe(`SessionLocks on ${engine}`, () => {
		let store: Store;
		let now: number;
		let locks: SessionLocks;

		beforeEach(async () => {
			store = make();
			const sessions = store.collection<SessionLock>(`sessions_${process.pid}`);
			await store.connect();
			await sessions.deleteMany({});
			now = Date.parse("2026-02-19T03:07:01.991Z");
			locks = new SessionLocks(sessions, 15_000, () => now);
			await locks.init();
		});
		afterEach(async () => {
			await store.collection(`sessions_${process.pid}`).deleteMany({});
			await store.close();
		});

		it("grants one holder and answers the live holder to the next", async () => {
			const first = await locks.acquire("p1", "s1", "api");
			expect(first).toMatchObject({ acquired: true, lock: { _id: "p1", sessionId: "s1", status: "starting", heartbeatAt: "2026-02-19T03:07:01.991Z" } });
			const second = await locks.acquire("p1", "s2", "cli");
			expect(second).toEqual({ acquired: false, holder: expect.objectContaining({ sessionId: "s1" }) });
			expect((await locks.acquire("p2", "s3", "api")).acquired).toBe(true);
		});

		it("of many concurrent starts of one profile, exactly one wins", async () => {
			const results = await Promise.all(Array.from({ length: 20 }, (_, i) => locks.acquire("p1", `s${i}`, "api")));
			expect(results.filter(r => r.acquired)).toHaveLength(1);
		});

		it("renews live sessions and takes over a lock whose heartbeats stopped", async () => {
			await locks.acquire("p1", "s1", "api");
			await locks.activate("p1", "s1", "node-a");
			now += 10_000;
			expect(await locks.renew(["s1"], { s1: "2026-02-19T03:07:10.000Z" })).toEqual([]);
			now += 14_000;
			// Renewed 14 s ago: still live.
			expect((await locks.acquire("p1", "s2", "api")).acquired).toBe(false);
			now += 2_000;
			const taken = await locks.acquire("p1", "s2", "api");
			expect(taken).toMatchObject({ acquired: true, lock: { sessionId: "s2", nodeId: "" }, takenOver: { sessionId: "s1", nodeId: "node-a" } });
			// The old holder is fenced off: its heartbeat reports the loss, its release does nothing.
			expect(await locks.renew(["s1"])).toEqual(["s1"]);
			expect(await locks.release("p1", "s1")).toBe(false);
			expect((await locks.get("p1"))!.sessionId).toBe("s2");
			expect(await locks.release("p1", "s2")).toBe(true);
			expect(await locks.get("p1")).toBeNull();
		});

		it("of two starts racing for a stale lock, one wins", async () => {
			await locks.acquire("p1", "s1", "api");
			now += 60_000;
			const results = await Promise.all([locks.acquire("p1", "s2", "api"), locks.acquire("p1", "s3", "api")]);
			expect(results.filter(r => r.acquired)).toHaveLength(1);
		});

		it("lists live sessions only, and the sessions of a node", async () => {
			await locks.acquire("p1", "s1", "api");
			await locks.activate("p1", "s1", "node-a");
			now += 5_000;
			await locks.acquire("p2", "s2", "api");
			await locks.activate("p2", "s2", "node-b");
			expect((await locks.live()).map(l => l.sessionId)).toEqual(["s1", "s2"]);
			now += 12_000;
			expect((await locks.live()).map(l => l.sessionId)).toEqual(["s2"]);
			expect((await locks.onNode("node-a")).map(l => l.sessionId)).toEqual(["s1"]);
		});
	});
}

lockContract("NeDB", () => createStore({ dataDir: IN_MEMORY }));
if (process.env.MONGO_URI) lockContract("MongoDB", () => createStore({ mongoUri: process.env.MONGO_URI!, dataDir: IN_MEMORY }));
else describe("SessionLocks on MongoDB", () => it.skip("runs when MONGO_URI is set", () => undefined));
