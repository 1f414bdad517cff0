import diagnostics_channel from "node:diagnostics_channel";
import type { ServiceBroker } from "moleculer";
import { configOf } from "../../src/runtime";
import { gatewayUrl, startBroker, waitFor } from "../helpers/broker";
import { startSite, type Site } from "../fixtures/site/site";

jest.setTimeout(60_000);

/** `page.parse` end to end in one embedded broker: real Chromium against the local test site. */
describe("page.parse task", () => {
	let site: Site;
	let broker: ServiceBroker;
	let api: string;

	beforeAll(async () => {
		site = await startSite({ pages: 20 });
		broker = await startBroker({ warmContexts: 1, sessionMaxMemoryMb: 128, sessionCheckMillis: 100, workerConcurrency: 4 });
		api = gatewayUrl(broker);
	});
	afterAll(async () => {
		await broker?.stop();
		await site?.close();
	});

	const post = async (path: string, body: unknown) => {
		const res = await fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
		return { status: res.status, body: (await res.json()) as any };
	};
	const task = (id: string) => broker.call<any, any>("scheduler.get", { id });
	const settled = (id: string, timeoutMillis = 30_000) =>
		waitFor(async () => {
			const t = await task(id);
			return ["completed", "failed", "cancelled"].includes(t.status) ? t : null;
		}, timeoutMillis, `task ${id} to settle`);
	const parse = async (url: string, options: object = {}, extra: object = {}) => {
		const { status, body } = await post("/api/tasks", { type: "page.parse", payload: { url, options }, ...extra });
		expect(status).toBe(202);
		return body.status === "completed" ? task(body.id) : settled(body.id);
	};

	it("parses a realistic page: structure, forms, links, interactive elements, a screenshot artifact", async () => {
		const t = await parse(`${site.baseUrl}/page/3`, { forceRefresh: true });
		expect(t.status).toBe("completed");
		const r = t.result;
		expect(r).toMatchObject({ url: `${site.baseUrl}/page/3`, finalUrl: `${site.baseUrl}/page/3`, status: 200, cacheHit: false });
		expect(r.title).toBeTruthy();
		expect(r.dom.elementCount).toBeGreaterThan(50);
		expect(r.headings.length).toBeGreaterThan(1);
		expect(r.landmarks.map((l: any) => l.role)).toEqual(expect.arrayContaining(["banner", "navigation", "main", "contentinfo"]));
		expect(r.links.internalCount).toBeGreaterThan(10);
		expect(r.interactive.total).toBeGreaterThan(10);
		expect(r.semantics.primaryHeading).toBe(r.headings.find((h: any) => h.level === 1).text);
		expect(r.timings.totalMillis).toBeGreaterThan(0);
		expect(t).toMatchObject({ progress: 100, step: "done", attempts: 1 });

		const shot = await fetch(`${api}${r.screenshot.url}`);
		expect(shot.status).toBe(200);
		expect(shot.headers.get("content-type")).toBe("image/png");
		const bytes = Buffer.from(await shot.arrayBuffer());
		expect(bytes.subarray(1, 4).toString()).toBe("PNG");
		expect(bytes.length).toBe(r.screenshot.size);
	});

	it("reports a form's fields with their labels", async () => {
		const t = await parse(`${site.baseUrl}/login`, { screenshot: "none" });
		expect(t.result.screenshot).toBeNull();
		const form = t.result.forms[0];
		expect(form.method).toBe("post");
		expect(form.fields.map((f: any) => f.type)).toEqual(expect.arrayContaining(["text", "password"]));
		expect(t.result.semantics).toMatchObject({ kind: "login", hasLoginForm: true });
	});

	it("answers an equal request from the cache, and runs again on forceRefresh", async () => {
		const url = `${site.baseUrl}/page/5`;
		const first = await parse(url, { screenshot: "none" });
		expect(first.result.cacheHit).toBe(false);
		const again = await post("/api/tasks", { type: "page.parse", payload: { url, options: { screenshot: "none" } } });
		expect(again.body.status).toBe("completed");
		const hit = await task(again.body.id);
		expect(hit.result).toMatchObject({ cacheHit: true, title: first.result.title });
		expect(hit.result.cachedAt).toEqual(expect.any(String));
		const fresh = await parse(url, { screenshot: "none", forceRefresh: true });
		expect(fresh.result.cacheHit).toBe(false);
		expect(fresh.id).not.toBe(first.id);
	});

	it("lets the tasks of a sharedContext group reuse what the group cached, and no one else", async () => {
		const fetched: string[] = [];
		const onRequest = ({ request }: any) => fetched.push(request.url);
		diagnostics_channel.subscribe("http.server.request.start", onRequest);
		try {
			const group = { screenshot: "none", forceRefresh: true, sharedContext: "crawl-1" };
			for (const page of [6, 7]) expect((await parse(`${site.baseUrl}/page/${page}`, group)).status).toBe("completed");
			// Every page loads the same script, cacheable for an hour: the group's second task found it cached.
			expect(fetched.filter(url => url === "/js/app.js")).toHaveLength(1);
			expect((await parse(`${site.baseUrl}/page/8`, { screenshot: "none", forceRefresh: true })).status).toBe("completed");
			expect(fetched.filter(url => url === "/js/app.js")).toHaveLength(2);
		} finally {
			diagnostics_channel.unsubscribe("http.server.request.start", onRequest);
		}
		const empty = await post("/api/tasks", { type: "page.parse", payload: { url: `${site.baseUrl}/page/6`, options: { sharedContext: "" } } });
		expect(empty.status).toBe(422);
	});

	it("retries a timed-out navigation with a longer timeout", async () => {
		// 400 ms is too short for an answer after 600 ms; the retry waits 800 ms.
		const t = await parse(`${site.baseUrl}/slow?ms=600`, { timeoutMs: 400, screenshot: "none", forceRefresh: true }, { maxAttempts: 2 });
		expect(t).toMatchObject({ status: "completed", attempts: 2 });
		expect(t.history[0]).toMatchObject({ outcome: "failed", error: { type: "BROWSER_TIMEOUT", data: { timeoutMillis: 400 } } });
	});

	it("dead-letters a page that never finishes loading once its attempts are spent", async () => {
		const t = await parse(`${site.baseUrl}/hang`, { timeoutMs: 300, screenshot: "none" }, { maxAttempts: 1 });
		expect(t).toMatchObject({ status: "failed", attempts: 1, error: { type: "BROWSER_TIMEOUT", errorClass: "retryable" } });
	});

	it("retries an HTTP 500 page, and fails a 404 page at once", async () => {
		const five = await parse(`${site.baseUrl}/status/500`, { screenshot: "none" }, { maxAttempts: 2 });
		expect(five).toMatchObject({ status: "failed", attempts: 2, error: { type: "PAGE_HTTP_ERROR", errorClass: "retryable", data: { status: 500 } } });
		const four = await parse(`${site.baseUrl}/status/404`, { screenshot: "none" }, { maxAttempts: 3 });
		expect(four).toMatchObject({ status: "failed", attempts: 1, error: { type: "PAGE_HTTP_ERROR", errorClass: "fatal", data: { status: 404 } } });
	});

	it("closes a session over its memory limit and fails the attempt with a classified error", async () => {
		const t = await parse(`${site.baseUrl}/memory-hog`, { waitForSelector: "#never", timeoutMs: 30_000, screenshot: "none" }, { maxAttempts: 1 });
		expect(t).toMatchObject({ status: "failed", error: { type: "SESSION_MEMORY_LIMIT", errorClass: "retryable" } });
		expect(t.error.data.memoryMb).toBeGreaterThan(128);
	});

	it("refuses a redirect to a cloud metadata address, inside the browser", async () => {
		const t = await parse(`${site.baseUrl}/redirect?to=${encodeURIComponent("http://169.254.169.254/latest/meta-data")}`, { screenshot: "none" });
		expect(t).toMatchObject({ status: "failed", attempts: 1, error: { type: "URL_NOT_ALLOWED", errorClass: "fatal" } });
	});

	it("fails and retries only the task whose browser was killed", async () => {
		const { body } = await post("/api/tasks", {
			type: "page.parse",
			payload: { url: `${site.baseUrl}/slow?ms=3000`, options: { screenshot: "none", forceRefresh: true } },
			maxAttempts: 2
		});
		const pool = await waitFor(async () => {
			const p = (await (await fetch(`${api}/api/pool`)).json()) as any;
			const node = p.nodes[0];
			return node.sessions.some((s: any) => s.taskId === body.id) ? node : null;
		}, 10_000, "the task to hold a session");
		const session = pool.sessions.find((s: any) => s.taskId === body.id);
		const browser = pool.browsers.find((b: any) => b.id === session.browserId);
		expect(browser.pid).toEqual(expect.any(Number));
		process.kill(browser.pid, "SIGKILL");
		const t = await settled(body.id);
		expect(t).toMatchObject({ status: "completed", attempts: 2 });
		expect(t.history[0].error.type).toBe("BROWSER_CRASHED");
		const after = (await (await fetch(`${api}/api/pool`)).json()) as any;
		expect(after.nodes[0].crashes).toBe(1);
		expect(after.nodes[0].browsers.map((b: any) => b.id)).not.toContain(browser.id);
	});

	it("accepts the seed route and answers in the seed's shape", async () => {
		const { status, body } = await post("/api/v1/web-pages/parse", { url: `${site.baseUrl}/page/7`, options: { forceRefresh: true } });
		expect(status).toBe(202);
		expect(body).toEqual({ task_id: expect.any(String), status: "queued", estimated_duration_seconds: 3 });
		expect((await settled(body.task_id)).status).toBe("completed");
	});

	it("refuses bad input with 422", async () => {
		const bad = await post("/api/tasks", { type: "page.parse", payload: { url: "not a url" } });
		expect(bad).toMatchObject({ status: 422, body: { type: "INVALID_TASK_PAYLOAD" } });
		const option = await post("/api/v1/web-pages/parse", { url: `${site.baseUrl}/`, options: { screenshot: "sometimes" } });
		expect(option).toMatchObject({ status: 422, body: { type: "INVALID_TASK_PAYLOAD" } });
		const scheme = await post("/api/v1/web-pages/parse", { url: "file:///etc/passwd" });
		expect(scheme.status).toBe(422);
		// Chromium would refuse it when making the context, on every attempt: refused at submit instead, saying why.
		const zone = await post("/api/v1/web-pages/parse", { url: `${site.baseUrl}/`, options: { fingerprint: { timezoneId: "Mars/Olympus" } } });
		expect(zone).toMatchObject({ status: 422, body: { type: "INVALID_TASK_PAYLOAD", data: { errors: [{ type: "timeZone" }] } } });
		expect(zone.body.message).toContain("'options.fingerprint.timezoneId' field must be an IANA time zone");
	});

	it("shows the node's browsers, slots and memory at /api/pool", async () => {
		const res = await fetch(`${api}/api/pool`);
		const body = (await res.json()) as any;
		const { maxBrowsers, maxContextsPerBrowser } = configOf(broker);
		expect(body.totals).toMatchObject({ nodes: 1, slots: { total: maxBrowsers * maxContextsPerBrowser } });
		const node = body.nodes[0];
		expect(node.browsers[0]).toMatchObject({ pid: expect.any(Number), version: expect.any(String), memoryMb: expect.any(Number) });
		expect(node.acquire.count).toBeGreaterThan(5);
	});
});
