import diagnostics_channel from "node:diagnostics_channel";
import type { Page } from "playwright";
import { BrowserPool, type BrowserPoolOptions } from "../../src/browser/browser-pool";
import { GuardProxy, REFUSED_HEADER } from "../../src/browser/guard-proxy";
import { UrlPolicy } from "../../src/tasks/url-policy";
import { startSite, type Site } from "../fixtures/site/site";
import { waitFor } from "../helpers/wait";

jest.setTimeout(20_000);

const quiet = { debug() {}, info() {}, warn() {} };

function poolOptions(overrides: Partial<BrowserPoolOptions> = {}): BrowserPoolOptions {
	return {
		executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
		maxBrowsers: 1,
		maxContextsPerBrowser: 2,
		retireBrowserAfterSessions: 500,
		browserIdleSecs: 120,
		warmContexts: 1,
		maxContextUses: 50,
		launchTimeoutMillis: 30_000,
		operationTimeoutMillis: 10_000,
		limitCheckMillis: 100,
		limits: { maxMemoryMb: 512, maxDurationSecs: 300, maxPages: 10 },
		...overrides
	};
}

/** The pool on its own (no broker): real Chromium, the guard proxy, the local test site. */
describe("BrowserPool", () => {
	let site: Site;
	let proxy: GuardProxy;
	let pool: BrowserPool;

	beforeAll(async () => {
		site = await startSite({ pages: 5 });
		proxy = new GuardProxy(new UrlPolicy(true));
		await proxy.start();
		pool = new BrowserPool(poolOptions({ proxyServer: proxy.url }), quiet);
		await pool.start();
	});
	afterAll(async () => {
		await pool?.close();
		await proxy?.stop();
		await site?.close();
	});

	const session = (failures: Error[] = []) => {
		const controller = new AbortController();
		return pool.acquire({ taskId: "t", signal: controller.signal, onFailure: err => (failures.push(err), controller.abort(err)) });
	};
	/** Releases and waits until the context is ready again (recycling is asynchronous). */
	const release = async (s: Awaited<ReturnType<typeof session>>) => {
		pool.release(s);
		await waitFor(() => pool.busy === 0, { what: "the released context to be cleared" });
	};

	/** Opens a page of the site that answers a leave with a beforeunload prompt. */
	const askToStay = async (page: Page) => {
		await page.goto(`${site.baseUrl}/page/1`);
		await page.evaluate(() => window.addEventListener("beforeunload", e => (e.preventDefault(), (e.returnValue = "stay"))));
		// The prompt needs a user gesture on the page.
		await page.mouse.click(5, 5);
	};

	it("hands out a prepared context at once", async () => {
		const s = await session();
		expect(s.warm).toBe(true);
		expect(s.acquireMillis).toBeLessThan(15);
		await release(s);
	});

	it("leaks no cookies, localStorage, sessionStorage, IndexedDB, Cache Storage or files from one task to the next", async () => {
		const first = await session();
		await first.page.goto(`${site.baseUrl}/page/1`);
		await first.page.evaluate(async () => {
			document.cookie = "leak=1; path=/";
			localStorage.setItem("leak", "1");
			sessionStorage.setItem("leak", "1");
			await new Promise<void>((resolve, reject) => {
				const open = indexedDB.open("leak", 1);
				open.onupgradeneeded = () => open.result.createObjectStore("items");
				open.onsuccess = () => {
					const tx = open.result.transaction("items", "readwrite");
					tx.objectStore("items").put("1", "leak");
					tx.oncomplete = () => (open.result.close(), resolve());
					tx.onerror = () => reject(tx.error);
				};
				open.onerror = () => reject(open.error);
			});
			await (await caches.open("leak")).put("/leak", new Response("1"));
			await (await navigator.storage.getDirectory()).getFileHandle("leak", { create: true });
			// A page hiding what it stored from whoever asks in its own world.
			indexedDB.databases = async () => [];
			caches.keys = async () => [];
		});
		expect(await first.context.cookies()).toHaveLength(1);
		await release(first);

		const second = await session();
		// The same context, cleared: what the test is about.
		expect(second.context).toBe(first.context);
		await second.page.goto(`${site.baseUrl}/page/1`);
		const seen = await second.page.evaluate(async () => ({
			cookie: document.cookie,
			local: localStorage.getItem("leak"),
			session: sessionStorage.getItem("leak"),
			history: history.length,
			databases: (await indexedDB.databases()).map(d => d.name),
			caches: await caches.keys(),
			// lib.dom does not type the directory handle as async-iterable yet.
			files: (await ((await navigator.storage.getDirectory()) as any).keys().next()).done
		}));
		expect(seen).toMatchObject({ cookie: "", local: null, session: null, databases: [], caches: [], files: true });
		// The history was cut to one entry before this navigation: nothing further back to return to.
		expect(seen.history).toBeLessThanOrEqual(2);
		expect(await second.context.cookies()).toEqual([]);
		await release(second);
	});

	/** How often the site served page 1's script to two tasks in a row that each loaded page 1 in the same context. */
	const scriptFetchesOfTwoTasks = async (p: BrowserPool, sharedContext?: string): Promise<number> => {
		const fetched: string[] = [];
		const onRequest = ({ request }: any) => fetched.push(request.url);
		diagnostics_channel.subscribe("http.server.request.start", onRequest);
		try {
			const acquire = () => p.acquire({ taskId: "t", signal: new AbortController().signal, onFailure() {}, sharedContext });
			const first = await acquire();
			await first.page.goto(`${site.baseUrl}/page/1`);
			await p.release(first);
			const second = await acquire();
			expect(second.context).toBe(first.context);
			await second.page.goto(`${site.baseUrl}/page/1`);
			await p.release(second);
			// The script is cacheable for an hour: only an emptied cache fetches it again.
			return fetched.filter(url => url === "/js/app.js").length;
		} finally {
			diagnostics_channel.unsubscribe("http.server.request.start", onRequest);
		}
	};

	it("starts every task with an empty HTTP cache, unless told to keep it", async () => {
		expect(await scriptFetchesOfTwoTasks(pool)).toBe(2);
		const keeping = new BrowserPool(poolOptions({ proxyServer: proxy.url, clearHttpCache: false }), quiet);
		await keeping.start();
		try {
			expect(await scriptFetchesOfTwoTasks(keeping)).toBe(1);
		} finally {
			await keeping.close();
		}
	});

	it("lets the tasks of a shared group find the context as the last one left it, and keeps everyone else out", async () => {
		const inGroup = (sharedContext?: string) =>
			pool.acquire({ taskId: "t", signal: new AbortController().signal, onFailure() {}, sharedContext });
		const first = await inGroup("crawl");
		// No context of its own yet: the group takes the prepared one.
		expect(first.warm).toBe(true);
		await first.page.goto(`${site.baseUrl}/page/1`);
		await first.page.evaluate(() => {
			document.cookie = "visited=1; path=/";
			localStorage.setItem("visited", "1");
		});
		// What a handler sets up on its tab is its own: a route that refuses everything must not outlive the task.
		await first.page.route("**/*", route => route.abort());
		await release(first);

		const second = await inGroup("crawl");
		expect(second.context).toBe(first.context);
		expect(pool.status().sessions).toEqual([expect.objectContaining({ sharedContext: "crawl" })]);
		// The tab was not sent away: the group's next navigation ends the last page, as in a crawl with one tab.
		expect(second.page.url()).toBe(`${site.baseUrl}/page/1`);
		expect(await second.page.goto(`${site.baseUrl}/page/2`).then(r => r?.status())).toBe(200);
		expect(await second.page.evaluate(() => [document.cookie, localStorage.getItem("visited")])).toEqual(["visited=1", "1"]);
		await release(second);

		for (const acquire of [() => inGroup("another-crawl"), () => session()]) {
			const outsider = await acquire();
			expect(outsider.context).not.toBe(first.context);
			await outsider.page.goto(`${site.baseUrl}/page/1`);
			expect(await outsider.page.evaluate(() => [document.cookie, localStorage.getItem("visited")])).toEqual(["", null]);
			await release(outsider);
		}
		expect(await scriptFetchesOfTwoTasks(pool, "cached-crawl")).toBe(1);
	});

	it("ends a released page's timers and workers, so nothing they write after the clearing reaches the next task", async () => {
		const first = await session();
		await first.page.goto(`${site.baseUrl}/page/1`);
		await first.page.evaluate(() => {
			let n = 0;
			setInterval(() => localStorage.setItem("late", String(++n)), 1);
			const worker = `setInterval(() => indexedDB.open("late-worker"), 1); postMessage("up");`;
			const w = new Worker(URL.createObjectURL(new Blob([worker], { type: "text/javascript" })));
			return new Promise(resolve => (w.onmessage = resolve));
		});
		await waitFor(() => first.page.evaluate(async () => localStorage.getItem("late") !== null && (await indexedDB.databases()).length > 0), {
			what: "the page's timer and worker to write"
		});
		await release(first);

		const second = await session();
		expect(second.context).toBe(first.context);
		await second.page.goto(`${site.baseUrl}/page/2`);
		// Both wrote every millisecond: had either outlived the clearing, the navigation above gave it time to write.
		const seen = await second.page.evaluate(async () => ({ late: localStorage.getItem("late"), databases: (await indexedDB.databases()).map(d => d.name) }));
		expect(seen).toEqual({ late: null, databases: [] });
		await release(second);
	});

	it("clears the sessionStorage of an origin the session navigated away from", async () => {
		const other = site.baseUrl.replace("127.0.0.1", "localhost");
		const first = await session();
		await first.page.goto(`${site.baseUrl}/page/1`);
		await first.page.evaluate(() => sessionStorage.setItem("left", "1"));
		await first.page.goto(`${other}/page/2`);
		await release(first);

		const second = await session();
		expect(second.page).toBe(first.page);
		await second.page.goto(`${site.baseUrl}/page/3`);
		expect(await second.page.evaluate(() => sessionStorage.getItem("left"))).toBeNull();
		await release(second);
	});

	it("leaves a page that asks to stay (a beforeunload prompt) and clears its context as usual", async () => {
		const first = await session();
		await askToStay(first.page);
		await release(first);

		const second = await session();
		expect(second.context).toBe(first.context);
		expect(second.page.url()).toBe("about:blank");
		await second.page.goto(`${site.baseUrl}/page/2`);
		expect(await second.page.title()).toContain("Nightshift");
		await release(second);
	});

	it("removes the context listeners a handler left: they see nothing of the next task, and hold no prompt open", async () => {
		const first = await session();
		const seenByFirst: string[] = [];
		first.context.on("request", request => seenByFirst.push(request.url()));
		// A dialog listener that never answers: while it is attached, Playwright leaves a beforeunload prompt open.
		first.context.on("dialog", () => undefined);
		await askToStay(first.page);
		await release(first);

		const second = await session();
		// Recycled, not replaced: the leave did not wait out the operation timeout on the prompt.
		expect(second.context).toBe(first.context);
		seenByFirst.length = 0;
		await second.page.goto(`${site.baseUrl}/page/2`);
		expect(seenByFirst).toEqual([]);
		await release(second);
	});

	it("makes a task wait for a slot when every slot is held, and serves it on release", async () => {
		const a = await session();
		const b = await session();
		let served = false;
		const c = session().then(s => ((served = true), s));
		await waitFor(() => pool.slots().waiting === 1, { what: "the third session to wait" });
		expect(served).toBe(false);
		expect(pool.slots()).toMatchObject({ total: 2, busy: 2, waiting: 1 });
		pool.release(a);
		const s = await c;
		expect(served).toBe(true);
		pool.release(b);
		await release(s);
	});

	it("closes a session that opens more pages than allowed", async () => {
		const failures: Error[] = [];
		const controller = new AbortController();
		const s = await pool.acquire({
			taskId: "pages",
			signal: controller.signal,
			onFailure: err => (failures.push(err), controller.abort(err)),
			limits: { maxPages: 2 }
		});
		await s.newPage();
		expect(failures).toEqual([]);
		await s.newPage().catch(() => undefined);
		expect(failures.map(f => (f as any).type)).toEqual(["SESSION_PAGE_LIMIT"]);
		expect(controller.signal.aborted).toBe(true);
		await release(s);
	});

	it("closes a session that runs past its duration", async () => {
		const failures: Error[] = [];
		const controller = new AbortController();
		const s = await pool.acquire({
			taskId: "long",
			signal: controller.signal,
			onFailure: err => (failures.push(err), controller.abort(err)),
			limits: { maxDurationSecs: 0.2 }
		});
		await new Promise<void>(resolve => controller.signal.addEventListener("abort", () => resolve()));
		expect((failures[0] as any).type).toBe("SESSION_DURATION_LIMIT");
		await release(s);
	});

	it("sends every request through the URL policy, redirects included", async () => {
		const s = await session();
		const response = await s.page.goto(`${site.baseUrl}/redirect?to=${encodeURIComponent("http://169.254.169.254/")}`);
		expect(response!.status()).toBe(403);
		expect(await response!.headerValue(REFUSED_HEADER)).toMatch(/metadata/);
		const refused = proxy.refused;
		// A sub-request from page script to a metadata address never leaves the proxy either.
		await s.page.goto(`${site.baseUrl}/page/2`);
		const status = await s.page.evaluate(() =>
			fetch("http://169.254.169.254/latest", { mode: "no-cors" }).then(
				r => r.status,
				() => "network error"
			)
		);
		// An opaque answer (no-cors) or a network error: either way nothing came back from the address.
		expect([0, "network error"]).toContain(status);
		expect(proxy.refused).toBeGreaterThan(refused);
		await release(s);
	});

	it("detects a crashed browser, fails its sessions, and launches a new one", async () => {
		const failures: Error[] = [];
		const s = await session(failures);
		const before = pool.status();
		const pid = before.browsers[0].pid!;
		process.kill(pid, "SIGKILL");
		await waitFor(() => failures.length > 0, { what: "the session to fail" });
		expect((failures[0] as any).type).toBe("BROWSER_CRASHED");
		await release(s);
		const next = await session();
		await next.page.goto(`${site.baseUrl}/page/3`);
		expect(pool.status().browsers.map(b => b.pid)).not.toContain(pid);
		expect(pool.status().crashes).toBe(1);
		await release(next);
	});
});

/** Which context a task gets, and how many the pool keeps (real Chromium, no proxy: nothing is navigated). */
describe("BrowserPool contexts under a worker's load", () => {
	let pool: BrowserPool;

	const start = async (overrides: Partial<BrowserPoolOptions> = {}) => {
		await pool?.close();
		pool = new BrowserPool(poolOptions({ maxContextsPerBrowser: 4, warmContexts: 2, workerConcurrency: 2, ...overrides }), quiet);
		await pool.start();
	};
	beforeEach(() => start());
	afterEach(() => pool?.close());

	const session = () => pool.acquire({ taskId: "t", signal: new AbortController().signal, onFailure() {} });
	const contexts = () => pool.status().browsers.reduce((n, b) => n + b.contexts, 0);

	it("hands out the context cleared last, not one that has waited longer", async () => {
		const first = await session();
		const second = await session();
		await pool.release(first);
		await pool.release(second);
		// Both are idle now; the one cleared last has the warm renderer.
		const third = await session();
		expect(third.warm).toBe(true);
		expect(third.context).toBe(second.context);
		await pool.release(third);
	});

	it("prepares no more contexts than the worker runs tasks at once", async () => {
		expect(contexts()).toBe(2);
		const first = await session();
		const second = await session();
		// A round trip to Chromium: time enough for a context being prepared to be counted.
		await first.page.evaluate("1");
		expect(contexts()).toBe(2);
		await pool.release(first);
		await second.page.evaluate("1");
		expect(contexts()).toBe(2);
		expect(pool.status().warmContexts).toBe(1);
		await pool.release(second);
	});

	it("closes a context that was recycled before, once its uses are spent, without waiting for a deadline", async () => {
		// The operation deadline is far above what a close takes (tens of milliseconds), and the test's own timeout
		// below it: a close that waits for its deadline fails here instead of passing slowly.
		await start({ maxContextUses: 2, operationTimeoutMillis: 60_000 });
		const first = await session();
		first.context.on("request", () => undefined);
		await pool.release(first);
		const second = await session();
		expect(second.context).toBe(first.context);
		let closed = false;
		second.context.once("close", () => (closed = true));
		await pool.release(second);
		expect(closed).toBe(true);
	}, 30_000);

	it("has the successor of a replaced context ready when the release settles", async () => {
		await start({ maxContextUses: 1 });
		const first = await session();
		const second = await session();
		// Its one use is spent: closed, and a fresh context prepared in its place before the slot is given back.
		await pool.release(first);
		expect(pool.status().warmContexts).toBe(1);
		const third = await session();
		expect(third.warm).toBe(true);
		expect(third.context).not.toBe(first.context);
		await pool.release(second);
		await pool.release(third);
	});
});
