import net from "node:net";
import { createValidator } from "../../src/validation";
import type { Browser, BrowserContext, Page } from "playwright";
import { launchTestChromium } from "../helpers/chromium";
import { UrlNotAllowedError } from "../../src/errors";
import {
	ACTION_STEPS_SCHEMA,
	type ActionStep,
	runActions,
	STEP_ELEMENT_NOT_FOUND,
	STEP_NAVIGATION_FAILED,
	STEP_TIMEOUT,
	STEP_URL_NOT_ALLOWED
} from "../../src/session/actions";
import { startSite, type Site } from "../fixtures/site/site";

jest.setTimeout(30_000);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe("runActions", () => {
	let site: Site;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	let saved: { length: number; contentType: string; name?: string; png: boolean }[];

	beforeAll(async () => {
		site = await startSite({ pages: 5 });
		browser = await launchTestChromium();
	});
	afterAll(async () => {
		await browser?.close();
		await site?.close();
	});
	beforeEach(async () => {
		context = await browser.newContext();
		page = await context.newPage();
		saved = [];
	});
	afterEach(async () => {
		await context.close();
	});

	const run = (steps: ActionStep[], overrides: Partial<Parameters<typeof runActions>[2]> = {}) =>
		runActions(page, steps, {
			timeoutMs: 5000,
			checkUrl: async () => {},
			saveArtifact: async (data, input) => {
				saved.push({ length: data.length, ...input, png: data.subarray(0, 8).equals(PNG_SIGNATURE) });
				return { id: `artifact-${saved.length}` };
			},
			...overrides
		});

	it("logs in through the form and reads the account page", async () => {
		const result = await run([
			{ goto: `${site.baseUrl}/login` },
			{ fill: "#username", value: "alice" },
			{ fill: "#password", value: "wonderland" },
			{ click: "role=button[name='Sign in']" },
			{ waitForSelector: "text=Logged in as alice" },
			{ extract: { selector: "a[href='/me']", attribute: "href" } },
			{ click: "text=Your account" },
			{ waitForUrl: "**/me" },
			{ extract: { selector: "#status" } },
			{ extract: { selector: "main p", all: true } },
			{ extract: { selector: "main p", attribute: "id", all: true } }
		]);
		expect(result.error).toBeUndefined();
		expect(result.ok).toBe(true);
		expect(result.results.map(r => r.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
		expect(result.results.every(r => r.ok && r.durationMillis >= 0)).toBe(true);
		expect(result.results[0]).toMatchObject({ action: "goto", value: { url: `${site.baseUrl}/login`, status: 200 } });
		expect(result.results[1]).not.toHaveProperty("value");
		expect(result.results[5].value).toBe("/me");
		expect(result.results[7]).toMatchObject({ action: "waitForUrl", value: { url: `${site.baseUrl}/me` } });
		expect(result.results[8]).toMatchObject({ action: "extract", value: "Logged in as alice" });
		expect(result.results[9].value).toEqual(["Logged in as alice", "Stored user: alice"]);
		expect(result.results[10].value).toEqual(["status", "stored-user"]);
		// The login really happened in the browser: the cookie is in the context.
		expect((await context.cookies()).map(c => c.name)).toContain("session");
	});

	it("extracts what a form field holds now, not the value attribute it was served with", async () => {
		const result = await run([
			{ goto: `${site.baseUrl}/login`, waitUntil: "domcontentloaded" },
			{ fill: "#username", value: "carol" },
			{ extract: { selector: "#username" } },
			{ extract: { selector: "#username", attribute: "value" } },
			{ extract: { selector: "input", attribute: "value", all: true } },
			{ extract: { selector: "#username", attribute: "id" } }
		]);
		expect(result).toMatchObject({ ok: true });
		expect(result.results.slice(2).map(r => r.value)).toEqual(["carol", "carol", ["carol", ""], "username"]);
	});

	it("presses a key in a field and on the page keyboard", async () => {
		const result = await run([
			{ goto: `${site.baseUrl}/login`, waitUntil: "domcontentloaded" },
			{ fill: "#username", value: "bob" },
			{ fill: "#password", value: "builder" },
			{ press: "Enter", selector: "#password" },
			{ waitForSelector: "text=Logged in as bob" },
			{ press: "Tab" }
		]);
		expect(result).toMatchObject({ ok: true });
		expect(result.results).toHaveLength(6);
	});

	it("checks, unchecks and selects", async () => {
		await page.setContent(`<label><input type="checkbox" id="a"> A</label><label><input type="checkbox" id="b" checked> B</label>
			<select id="one"><option value="x">X</option><option value="y">Y</option></select>
			<select id="many" multiple><option>p</option><option>q</option><option>r</option></select>`);
		const result = await run([{ check: "#a" }, { uncheck: "#b" }, { select: "#one", value: "y" }, { select: "#many", value: ["p", "r"] }]);
		expect(result.ok).toBe(true);
		expect(result.results.map(r => r.value)).toEqual([undefined, undefined, ["y"], ["p", "r"]]);
		expect(await page.locator("#a").isChecked()).toBe(true);
		expect(await page.locator("#b").isChecked()).toBe(false);
	});

	it("saves screenshots through saveArtifact", async () => {
		const result = await run([
			{ goto: `${site.baseUrl}/me` },
			{ screenshot: {} },
			{ screenshot: { fullPage: true } },
			{ screenshot: { selector: "#status" } }
		]);
		expect(result.ok).toBe(true);
		expect(result.results.slice(1).map(r => r.value)).toEqual([
			{ artifactId: "artifact-1" },
			{ artifactId: "artifact-2" },
			{ artifactId: "artifact-3" }
		]);
		expect(saved).toHaveLength(3);
		for (const s of saved) expect(s).toMatchObject({ contentType: "image/png", png: true });
		expect(saved.map(s => s.name)).toEqual(["step-1.png", "step-2.png", "step-3.png"]);
		// The element's picture is smaller than the viewport's.
		expect(saved[2].length).toBeLessThan(saved[0].length);
	});

	it("stops at the first failing step and reports it", async () => {
		const result = await run(
			[{ goto: `${site.baseUrl}/me` }, { waitForSelector: "#missing" }, { screenshot: {} }],
			{ timeoutMs: 300 }
		);
		expect(result.ok).toBe(false);
		expect(result.error).toMatchObject({ step: 1, action: "waitForSelector", type: STEP_TIMEOUT });
		expect(result.error!.message).toMatch(/300ms|300 ms/);
		expect(result.error!.message).not.toContain("\n");
		expect(result.results).toHaveLength(2);
		expect(result.results[1]).toMatchObject({ step: 1, ok: false, error: { type: STEP_TIMEOUT } });
		expect(saved).toHaveLength(0);
	});

	it("fails extract of a missing element, and answers [] for all of none", async () => {
		await page.setContent("<p>only this</p>");
		const missing = await run([{ extract: { selector: "#nope", all: true } }, { extract: { selector: "#nope" } }], { timeoutMs: 200 });
		expect(missing.results[0]).toMatchObject({ ok: true, value: [] });
		expect(missing.error).toMatchObject({ step: 1, action: "extract", type: STEP_ELEMENT_NOT_FOUND });
	});

	it("refuses a URL checkUrl refuses, before navigating", async () => {
		const checked: string[] = [];
		const result = await run([{ goto: `${site.baseUrl}/login` }, { goto: "http://forbidden.invalid/" }, { goto: `${site.baseUrl}/me` }], {
			checkUrl: async url => {
				checked.push(url);
				if (url.includes("forbidden")) throw new UrlNotAllowedError(url, "not on the allow list");
			}
		});
		expect(result.ok).toBe(false);
		expect(result.error).toMatchObject({ step: 1, action: "goto", type: STEP_URL_NOT_ALLOWED });
		expect(result.error!.message).toContain("not on the allow list");
		expect(checked).toEqual([`${site.baseUrl}/login`, "http://forbidden.invalid/"]);
		expect(page.url()).toBe(`${site.baseUrl}/login`);
	});

	it("reports a site that cannot be reached as a navigation failure", async () => {
		// A port that was free a moment ago: nothing listens there.
		const server = net.createServer();
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		const port = (server.address() as net.AddressInfo).port;
		await new Promise(resolve => server.close(resolve));
		const result = await run([{ goto: `http://127.0.0.1:${port}/` }]);
		expect(result.error).toMatchObject({ step: 0, type: STEP_NAVIGATION_FAILED });
		expect(result.error!.message).toContain("net::ERR_CONNECTION_REFUSED");
	});

	it("throws when the signal is aborted, before or during a step", async () => {
		const before = new AbortController();
		before.abort(new Error("cancelled before"));
		await expect(run([{ goto: `${site.baseUrl}/me` }], { signal: before.signal })).rejects.toThrow("cancelled before");
		expect(page.url()).toBe("about:blank");

		const during = new AbortController();
		const running = run([{ screenshot: {} }, { goto: `${site.baseUrl}/me` }], {
			signal: during.signal,
			// Aborted while the step is in progress, and never answered: the run must not wait for it.
			saveArtifact: () => {
				during.abort(new Error("cancelled during"));
				return new Promise(() => {});
			}
		});
		await expect(running).rejects.toThrow("cancelled during");
		expect(page.url()).toBe("about:blank");
	});
});

describe("ACTION_STEPS_SCHEMA", () => {
	// Action params (Moleculer's validator) and the browser.actions task type (the registry's) use the same options.
	const checks = { shared: createValidator().compile(ACTION_STEPS_SCHEMA) };
	type Issue = { type: string; field: string; message: string; expected?: unknown };
	const errorsOf = (check: (typeof checks)["shared"], params: unknown): Issue[] => {
		const result = check(params);
		return result === true ? [] : (result as Issue[]);
	};

	describe.each(Object.entries(checks))("with the %s validator options", (_, check) => {
		it("accepts every action and defaults timeoutMs", () => {
			const params: Record<string, unknown> = {
				steps: [
					{ goto: "https://example.com/", waitUntil: "networkidle" },
					{ click: "text=Go" },
					{ fill: "#q", value: "" },
					{ press: "Enter" },
					{ press: "Enter", selector: "#q" },
					{ check: "#a" },
					{ uncheck: "#a" },
					{ select: "#s", value: "x" },
					{ select: "#s", value: ["x", "y"] },
					{ waitForSelector: "role=dialog", state: "hidden" },
					{ waitForUrl: "**/done" },
					{ extract: { selector: "h1" } },
					{ extract: { selector: "a", attribute: "href", all: true } },
					{ screenshot: {} },
					{ screenshot: { fullPage: true, selector: "main" } }
				]
			};
			expect(errorsOf(check, params)).toEqual([]);
			expect(params.timeoutMs).toBe(10000);
		});

		it("refuses an unknown action, listing the known ones", () => {
			const issues = errorsOf(check, { steps: [{ click: "a" }, { evaluate: "alert(1)" }] });
			expect(issues).toHaveLength(1);
			expect(issues[0]).toMatchObject({ type: "stepAction", field: "steps[1]" });
			expect(issues[0].expected).toEqual(expect.arrayContaining(["goto", "click", "fill", "extract", "screenshot"]));
			expect(issues[0].message).toContain("goto, click, fill");
		});

		it("refuses a step naming two actions", () => {
			const issues = errorsOf(check, { steps: [{ click: "a", fill: "b", value: "c" }] });
			expect(issues).toMatchObject([{ type: "stepAction", field: "steps[0]" }]);
		});

		it("refuses empty and oversized step lists", () => {
			expect(errorsOf(check, { steps: [] })).toMatchObject([{ type: "arrayMin", field: "steps" }]);
			expect(errorsOf(check, { steps: Array.from({ length: 51 }, () => ({ click: "a" })) })).toMatchObject([{ type: "arrayMax" }]);
			expect(errorsOf(check, {})).toMatchObject([{ type: "required", field: "steps" }]);
		});

		it("refuses a fill without value, naming the field from the root", () => {
			const issues = errorsOf(check, { steps: [{ goto: "https://example.com/" }, { fill: "#q" }] });
			expect(issues).toMatchObject([{ type: "required", field: "steps[1].value" }]);
			expect(issues[0].message).toContain("'steps[1].value'");
		});

		it("refuses misspelt options, bad selectors and timeouts out of range", () => {
			const misspelt = { steps: [{ goto: "https://example.com/", waitUntill: "load" }] };
			expect(errorsOf(check, misspelt)).toMatchObject([{ type: "objectStrict" }]);
			expect(errorsOf(check, { steps: [{ goto: "not a url" }] })).toMatchObject([{ type: "url", field: "steps[0].goto" }]);
			expect(errorsOf(check, { steps: [{ click: "" }] })).toMatchObject([{ field: "steps[0].click" }]);
			expect(errorsOf(check, { steps: [{ click: "x".repeat(2001) }] })).toMatchObject([{ type: "stringMax" }]);
			expect(errorsOf(check, { steps: [{ extract: { selector: "a", text: true } }] })).toMatchObject([{ type: "objectStrict" }]);
			expect(errorsOf(check, { steps: [{ waitForSelector: "a", state: "gone" }] })).toMatchObject([{ type: "enumValue" }]);
			expect(errorsOf(check, { steps: ["click"] })).toMatchObject([{ type: "object", field: "steps[0]" }]);
			expect(errorsOf(check, { steps: [{ click: "a" }], timeoutMs: 50 })).toMatchObject([{ type: "numberMin", field: "timeoutMs" }]);
			expect(errorsOf(check, { steps: [{ click: "a" }], timeoutMs: 120001 })).toMatchObject([{ type: "numberMax" }]);
		});
	});
});
