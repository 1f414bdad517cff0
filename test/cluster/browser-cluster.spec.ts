/**
 * Browser capacity across nodes: two `browser-pool` processes (each with its own Chromium) on the local NATS share a
 * batch of `page.parse` tasks; both do work; a kill -9 of one loses nothing; a node whose Chromium cannot start leaves
 * them to the other. Run: `npx jest test/cluster`.
 */
import { destroyAllClusters, TaskView, waitFor, withCluster } from "../helpers/cluster";
import { startSite, type Site } from "../fixtures/site/site";

jest.setTimeout(120_000);

afterEach(destroyAllClusters);

describe("browser pool across nodes", () => {
	let site: Site;
	beforeAll(async () => {
		site = await startSite({ pages: 60 });
	});
	afterAll(async () => {
		await site?.close();
	});

	it("two nodes share a batch of parse tasks, and a kill -9 of one loses nothing", async () => {
		const TASKS = 60;
		await withCluster("browsers", async cluster => {
			await cluster.startCore({ LOG_LEVEL: "info" });
			const env = { WORKER_CONCURRENCY: 3, WARM_CONTEXTS: 1 };
			cluster.startWorker("w1", env);
			cluster.startWorker("w2", env);
			const workers = await cluster.waitForWorkers(["w1", "w2"]);
			await cluster.waitForCoreToKnow(["w1", "w2"]);

			// Every other page answers slowly, so the batch is still running when the victim dies. Every fourth takes a
			// screenshot, which stays on the node that took it (no MongoDB here).
			const tasks = Array.from({ length: TASKS }, (_, i) => ({
				type: "page.parse",
				payload: {
					url: i % 2 ? `${site.baseUrl}/slow?ms=300&i=${i}` : `${site.baseUrl}/page/${i}`,
					options: { screenshot: i % 4 === 0 ? "viewport" : "none" }
				}
			}));
			const answers = await cluster.api<{ id: string }[]>("POST", "/api/tasks/batch", { tasks });
			const ids = answers.map(a => a.id);

			// Both nodes have completed parses, each has a screenshot among them, and work is left.
			type Shot = { url: string; size: number };
			const shotOf = (t: TaskView) => (t.result as { screenshot?: Shot } | null)?.screenshot;
			const shots = await waitFor(
				async () => {
					const done = await cluster.api<{ items: TaskView[] }>("GET", "/api/tasks?status=completed&limit=500");
					const byNode = new Map(done.items.filter(t => shotOf(t)).map(t => [t.nodeId, shotOf(t)!]));
					return byNode.has("w1") && byNode.has("w2") && done.items.length < TASKS - 10 ? byNode : null;
				},
				{ timeoutMillis: 60_000, what: "both nodes to complete parses, screenshots included" }
			);
			// The core's gateway serves a screenshot from each worker's own files, through the transporter.
			for (const shot of shots.values()) {
				const res = await fetch(`${cluster.baseUrl}${shot.url}`);
				expect(res.status).toBe(200);
				expect(res.headers.get("content-type")).toBe("image/png");
				const body = Buffer.from(await res.arrayBuffer());
				expect(body.length).toBe(shot.size);
				expect(body.subarray(0, 4).toString("latin1")).toBe("\x89PNG");
			}
			await cluster.kill9("w1", workers.get("w1")!.pid!);

			const final = await waitFor(
				async () => {
					const all = await Promise.all(ids.map(id => cluster.task(id)));
					return all.every(t => t.status === "completed") ? all : null;
				},
				{ timeoutMillis: 90_000, what: "every task to complete after the kill" }
			);
			for (const t of final) {
				expect(t.result).toMatchObject({ status: 200, cacheHit: false });
				expect(t.history.filter(h => h.outcome === "completed")).toHaveLength(1);
			}
			const byNode = new Set(final.map(t => t.nodeId));
			expect(byNode).toEqual(new Set(["w1", "w2"]));
			// The victim's unfinished parses ran again on the survivor.
			expect(final.some(t => t.history.some(h => h.nodeId === "w1" && h.outcome !== "completed"))).toBe(true);
		});
	});

	it("a node whose Chromium cannot start leaves the parse tasks to the other and runs the rest", async () => {
		await withCluster("no-chromium", async cluster => {
			await cluster.startCore({ LOG_LEVEL: "info" });
			cluster.startWorker("broken", { WORKER_CONCURRENCY: 3, WARM_CONTEXTS: 1, CHROMIUM_PATH: "/nonexistent/chromium" });
			cluster.startWorker("ok", { WORKER_CONCURRENCY: 3, WARM_CONTEXTS: 1 });
			await cluster.waitForWorkers(["broken", "ok"]);
			await cluster.waitForCoreToKnow(["broken", "ok"]);
			const health = await waitFor(
				async () => {
					const h = await cluster.api("GET", "/health/background-tasks");
					return h.browser_pool_status.launchErrors ? h : null;
				},
				{ timeoutMillis: 30_000, what: "health to name the node whose Chromium does not start" }
			);
			expect(health.browser_pool_status.launchErrors).toEqual([{ nodeId: "broken", error: expect.stringContaining("/nonexistent/chromium") }]);

			// Parses first: the node that can run them is kept busy, so the no-op tasks are there for the other.
			const parses = Array.from({ length: 12 }, (_, i) => ({
				type: "page.parse",
				priority: 9,
				payload: { url: `${site.baseUrl}/page/${i}`, options: { screenshot: "none" } }
			}));
			const noops = Array.from({ length: 12 }, (_, i) => ({ type: "noop", priority: 1, payload: { echo: i } }));
			const answers = await cluster.api<{ id: string }[]>("POST", "/api/tasks/batch", { tasks: [...parses, ...noops] });
			const final = await waitFor(
				async () => {
					const all = await Promise.all(answers.map(a => cluster.task(a.id)));
					return all.every(t => t.status === "completed") ? all : null;
				},
				{ timeoutMillis: 90_000, what: "every task to complete" }
			);
			const parsed = final.filter(t => t.type === "page.parse");
			for (const t of parsed) expect(t).toMatchObject({ nodeId: "ok", attempts: 1, result: { status: 200 } });
			// None was even tried there: no attempt of a parse on that node, handed back or otherwise.
			expect(parsed.flatMap(t => t.history.filter(h => h.nodeId === "broken"))).toEqual([]);
			expect(final.filter(t => t.type === "noop").some(t => t.nodeId === "broken")).toBe(true);
		});
	});
});
