/**
 * Baseline peers: bare Playwright, one browser, `concurrency` workers.
 *
 * - `isolation: "none"` (peer (a)): each worker owns ONE context and page, made up front and reused for every URL;
 *   nothing is checked or recycled. The physical limit a pool can approach, not a design to copy.
 * - `"clear"` (peer (e)): the same reused tab, isolated after each page the way Nightshift's default is, with the same
 *   calls (src/browser/context-reset.ts): the tab leaves its document for about:blank, then its history, cookies, the
 *   page's origin's storage and the context's HTTP cache are cleared. The limit for per-task isolation in a reused tab.
 * - `"fresh"` (peer (f)): a new context and page for every URL, closed after it: how a script usually isolates.
 *
 * Standalone: `npx tsx bench/pool/plain-playwright.ts [concurrency] [--screenshot]`.
 */
import { type Browser, chromium, type Page } from "playwright";
import { extractPage } from "../../src/parse/extract";
import { sampleTreeRss } from "./process-tree-rss";
import { CHROMIUM_ARGS, CHROMIUM_PATH, PAGE_TIMEOUT_MILLIS, type PeerOptions, type PeerResult, pagesPerSec, runStandalone } from "./peer";

export type Isolation = "none" | "clear" | "fresh";

/** What a worker does around each URL: the page to use, and what to do once the page is done. */
interface Tab {
	page(): Promise<Page>;
	done(page: Page, url: string): Promise<void>;
}

async function reusedTab(browser: Browser, isolation: Isolation): Promise<Tab> {
	const context = await browser.newContext();
	const tab = await context.newPage();
	tab.setDefaultTimeout(PAGE_TIMEOUT_MILLIS);
	const cdp = isolation === "clear" ? await context.newCDPSession(tab) : undefined;
	return {
		page: async () => tab,
		done: async (page, url) => {
			if (!cdp) return;
			await page.goto("about:blank");
			await Promise.all([
				cdp.send("Page.resetNavigationHistory"),
				context.clearCookies(),
				cdp.send("Network.clearBrowserCache"),
				context.clearPermissions(),
				cdp.send("Storage.clearDataForOrigin", { origin: new URL(url).origin, storageTypes: "all" })
			]);
		}
	};
}

function freshTabs(browser: Browser): Tab {
	return {
		page: async () => {
			const page = await (await browser.newContext()).newPage();
			page.setDefaultTimeout(PAGE_TIMEOUT_MILLIS);
			return page;
		},
		done: page => page.context().close()
	};
}

export async function runPlainPlaywright(
	{ urls, concurrency, screenshot, onTimed }: PeerOptions,
	isolation: Isolation = "none"
): Promise<PeerResult> {
	const started = performance.now();
	const rss = sampleTreeRss();
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	try {
		const tabs: Tab[] = [];
		for (let i = 0; i < concurrency; i++) tabs.push(isolation === "fresh" ? freshTabs(browser) : await reusedTab(browser, isolation));
		let next = 0;
		let done = 0;
		let errors = 0;
		const errorSamples: string[] = [];
		const timedEnd = onTimed?.();
		const first = performance.now();
		let viewport: { width: number; height: number } | null = null;
		const worker = async (tab: Tab) => {
			for (let i = next++; i < urls.length; i = next++) {
				let page: Page | undefined;
				try {
					page = await tab.page();
					await page.goto(urls[i], { waitUntil: "load" });
					await extractPage(page);
					if (screenshot) await page.screenshot({ type: "png" });
					viewport = page.viewportSize();
					await tab.done(page, urls[i]);
					done++;
				} catch (err) {
					errors++;
					if (errorSamples.length < 5) errorSamples.push(String(err).slice(0, 300));
					if (page && !page.isClosed()) await tab.done(page, urls[i]).catch(() => undefined);
				}
			}
		};
		await Promise.all(tabs.map(worker));
		timedEnd?.();
		const durationMillis = Math.round(performance.now() - first);
		await browser.close();
		return {
			pagesPerSec: pagesPerSec(done, durationMillis),
			durationMillis,
			pages: done,
			errors,
			rssPeakMb: rss.stop(),
			totalMillis: Math.round(performance.now() - started),
			viewport,
			errorSamples
		};
	} finally {
		rss.stop();
		await browser.close().catch(() => undefined);
	}
}

if (require.main === module) {
	runStandalone("plain-playwright", runPlainPlaywright).catch(err => {
		console.error(err);
		process.exit(1);
	});
}
