import type { Page } from "playwright";
import { FINGERPRINT_SCHEMA, type Fingerprint } from "../src/browser/fingerprint";
import { checkResponse, navigationError } from "../src/browser/navigation-errors";
import { extractPage } from "../src/parse/extract";
import { analyse } from "../src/parse/semantics";
import { defineTask } from "../src/tasks/definition";

type WaitUntil = "load" | "domcontentloaded" | "networkidle" | "commit";
type ResourceType = "image" | "media" | "font" | "stylesheet" | "script" | "xhr" | "fetch" | "websocket" | "other";

export interface ParseOptions {
	/** When navigation counts as done. @default "load" */
	waitUntil?: WaitUntil;
	/** Navigation timeout of the first attempt; each retry doubles it. @default 30000 */
	timeoutMs?: number;
	viewport?: { width: number; height: number };
	/** @default "viewport" */
	screenshot?: "viewport" | "fullPage" | "none";
	/** Resource types answered with an error instead of loaded. */
	blockResources?: ResourceType[];
	/** URL globs (Playwright syntax, e.g. `**\/*.png`, `*://ads.example/**`) blocked likewise. */
	blockUrls?: string[];
	/** A CSS selector to wait for after navigation (content rendered by scripts), within the navigation timeout. */
	waitForSelector?: string;
	/** Bypass the result cache. */
	forceRefresh?: boolean;
	fingerprint?: Fingerprint;
	/**
	 * Run in a browser context shared with the other tasks that name the same group, as they left it: cookies, storage
	 * and HTTP cache carry over, nothing is cleared between them (faster; no isolation inside the group).
	 */
	sharedContext?: string;
}

export interface ParsePayload {
	url: string;
	options?: ParseOptions;
}

const DEFAULT_NAV_TIMEOUT_MILLIS = 30_000;
/** The longest navigation timeout a retry grows to. */
const MAX_NAV_TIMEOUT_MILLIS = 120_000;

/** What makes two parse requests equal for the cache: the URL and every option except `forceRefresh`. */
function cacheKey(payload: ParsePayload): string | undefined {
	const { forceRefresh, ...options } = payload.options ?? {};
	if (forceRefresh) return undefined;
	return JSON.stringify([payload.url, canonical(options)]);
}

function canonical(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(canonical);
	if (value && typeof value === "object")
		return Object.fromEntries(
			Object.keys(value)
				.sort()
				.map(k => [k, canonical((value as Record<string, unknown>)[k])])
		);
	return value;
}

async function blockRequests(page: Page, options: ParseOptions): Promise<void> {
	const types = new Set(options.blockResources ?? []);
	if (types.size > 0)
		await page.route("**/*", route => (types.has(route.request().resourceType() as ResourceType) ? route.abort("blockedbyclient") : route.fallback()));
	for (const glob of options.blockUrls ?? []) await page.route(glob, route => route.abort("blockedbyclient"));
}

/**
 * The web-page parser of shared/seeds/001 §4: navigates a pooled browser page, extracts structure, forms, links and
 * interactive elements in one in-page pass, and stores a screenshot as an artifact.
 */
export default defineTask<ParsePayload>({
	name: "page.parse",
	description: "Open a URL in a pooled browser and report its structure, forms, links, interactive elements and a screenshot.",
	params: {
		url: { type: "url" },
		options: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				waitUntil: { type: "enum", values: ["load", "domcontentloaded", "networkidle", "commit"], optional: true },
				timeoutMs: { type: "number", integer: true, min: 100, max: MAX_NAV_TIMEOUT_MILLIS, optional: true },
				viewport: {
					type: "object",
					optional: true,
					props: { width: { type: "number", integer: true, min: 200, max: 7680 }, height: { type: "number", integer: true, min: 200, max: 4320 } }
				},
				screenshot: { type: "enum", values: ["viewport", "fullPage", "none"], optional: true },
				blockResources: {
					type: "array",
					optional: true,
					max: 9,
					items: { type: "enum", values: ["image", "media", "font", "stylesheet", "script", "xhr", "fetch", "websocket", "other"] }
				},
				blockUrls: { type: "array", optional: true, max: 100, items: { type: "string", min: 1, max: 500 } },
				waitForSelector: { type: "string", min: 1, max: 500, optional: true },
				forceRefresh: { type: "boolean", optional: true },
				fingerprint: FINGERPRINT_SCHEMA,
				sharedContext: { type: "string", min: 1, max: 200, optional: true }
			}
		}
	},
	timeoutMillis: 300_000,
	retry: { maxDelayMillis: 30_000 },
	estimatedDurationMillis: 3000,
	browser: true,
	urls: payload => [payload.url],
	cache: { key: cacheKey },

	async handler(ctx) {
		const began = performance.now();
		const options = ctx.payload.options ?? {};
		const url = ctx.payload.url;
		const lap = (() => {
			let last = began;
			return () => {
				const now = performance.now();
				const millis = Math.round((now - last) * 10) / 10;
				last = now;
				return millis;
			};
		})();

		ctx.progress(0, "acquiring_browser");
		await ctx.urls.assertAllowed(url);
		const fingerprint = options.viewport ? { ...options.fingerprint, viewport: options.viewport } : options.fingerprint;
		const session = await ctx.browser({ fingerprint, sharedContext: options.sharedContext });
		const { page } = session;
		await blockRequests(page, options);
		const acquireMillis = lap();

		ctx.progress(20, "navigating_to_page");
		// shared/seeds/001 §5.2: a timeout is retried with a longer timeout.
		const timeoutMillis = Math.min(MAX_NAV_TIMEOUT_MILLIS, (options.timeoutMs ?? DEFAULT_NAV_TIMEOUT_MILLIS) * 2 ** (ctx.attempt - 1));
		let response;
		try {
			response = await page.goto(url, { waitUntil: options.waitUntil ?? "load", timeout: timeoutMillis });
		} catch (err) {
			throw navigationError(err, url, timeoutMillis);
		}
		await checkResponse(response, url);
		if (options.waitForSelector) {
			try {
				await page.waitForSelector(options.waitForSelector, { timeout: timeoutMillis });
			} catch (err) {
				throw navigationError(err, url, timeoutMillis);
			}
		}
		const navigationMillis = lap();

		ctx.progress(40, "extracting_dom");
		const extract = await extractPage(page);
		ctx.progress(60, "identifying_elements");
		const extractionMillis = lap();

		ctx.progress(80, "semantic_analysis");
		const semantics = analyse(extract);
		const analysisMillis = lap();

		let screenshot = null;
		if ((options.screenshot ?? "viewport") !== "none") {
			ctx.progress(90, "capturing_screenshot");
			const image = await page.screenshot({ fullPage: options.screenshot === "fullPage", type: "png" });
			const meta = await ctx.saveArtifact(image, { contentType: "image/png", name: "screenshot.png" });
			screenshot = { artifactId: meta.id, url: `/api/artifacts/${meta.id}`, contentType: meta.contentType, size: meta.size };
		}
		const screenshotMillis = lap();
		ctx.progress(100, "done");

		const { extractMillis: _inPage, url: finalUrl, ...page_ } = extract;
		return {
			url,
			finalUrl,
			status: response?.status() ?? null,
			cacheHit: false,
			...page_,
			semantics,
			screenshot,
			browser: { sessionId: session.id, browserId: session.browserId, warm: session.warm, memoryMb: session.memoryMb ?? null },
			timings: {
				acquireMillis: session.acquireMillis,
				setupMillis: acquireMillis,
				navigationMillis,
				extractionMillis,
				analysisMillis,
				screenshotMillis,
				totalMillis: Math.round((performance.now() - began) * 10) / 10
			}
		};
	}
});
