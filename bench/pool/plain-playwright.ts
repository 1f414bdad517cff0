/**
 * Baseline peer: bare Playwright, one browser, `concurrency` workers that each own ONE context and page, made up
 * front and reused for every URL. No page or context is ever created or closed during the run, nothing is checked
 * or recycled: the physical limit a pool can approach, not a design to copy.
 *
 * Standalone: `npx tsx bench/pool/plain-playwright.ts [concurrency] [--screenshot]`.
 */
import { chromium, type Page } from "playwright";
import { extractPage } from "../../src/parse/extract";
import { sampleTreeRss } from "./process-tree-rss";
import { CHROMIUM_ARGS, CHROMIUM_PATH, PAGE_TIMEOUT_MILLIS, type PeerOptions, type PeerResult, pagesPerSec, runStandalone } from "./peer";

export async function runPlainPlaywright({ urls, concurrency, screenshot, onTimed }: PeerOptions): Promise<PeerResult> {
	const started = performance.now();
	const rss = sampleTreeRss();
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	try {
		const pages: Page[] = [];
		for (let i = 0; i < concurrency; i++) {
			const context = await browser.newContext();
			const page = await context.newPage();
			page.setDefaultTimeout(PAGE_TIMEOUT_MILLIS);
			pages.push(page);
		}
		let next = 0;
		let done = 0;
		let errors = 0;
		const errorSamples: string[] = [];
		const timedEnd = onTimed?.();
		const first = performance.now();
		const worker = async (page: Page) => {
			for (let i = next++; i < urls.length; i = next++) {
				try {
					await page.goto(urls[i], { waitUntil: "load" });
					await extractPage(page);
					if (screenshot) await page.screenshot({ type: "png" });
					done++;
				} catch (err) {
					errors++;
					if (errorSamples.length < 5) errorSamples.push(String(err).slice(0, 300));
				}
			}
		};
		await Promise.all(pages.map(worker));
		timedEnd?.();
		const durationMillis = Math.round(performance.now() - first);
		const viewport = pages[0]?.viewportSize() ?? null;
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
