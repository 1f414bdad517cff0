/**
 * Crawlee peer: `PlaywrightCrawler` (Crawlee 3.x) doing the same work per page as the other peers, with Crawlee's own
 * browser pool as it ships: a page per request, closed after it, fingerprints injected, browsers retired after 100
 * pages, a session pool. What differs from its defaults, and why:
 * - `launchContext.launchOptions`: the Debian Chromium and the project's flags (Playwright cannot download a browser
 *   here, and without the flags Chromium keeps calling the missing internet);
 * - `minConcurrency = maxConcurrency = desiredConcurrency = concurrency`: the autoscaled pool starts at the wanted
 *   concurrency and, as it never goes below `minConcurrency`, its CPU/memory/event-loop overload signals cannot
 *   throttle it — the same fixed concurrency as the other peers (autoscaling is what would be measured otherwise);
 * - `maxRequestRetries: 0`: an error counts once, as elsewhere;
 * - a fresh in-memory `Configuration` per run (`persistStorage: false`, `purgeOnStart: true`) so nothing is written
 *   to ./storage and no request queue carries over from an earlier run; CRAWLEE_STORAGE_DIR points to a temp dir
 *   in case anything still touches the disk;
 * - logging off, statistics logging off.
 *
 * Standalone: `npx tsx bench/pool/crawlee.ts [concurrency] [--screenshot]`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Configuration, log, LogLevel, PlaywrightCrawler } from "@crawlee/playwright";
import { chromium } from "playwright";
import { extractPage } from "../../src/parse/extract";
import { sampleTreeRss } from "./process-tree-rss";
import { CHROMIUM_ARGS, CHROMIUM_PATH, PAGE_TIMEOUT_MILLIS, type PeerOptions, type PeerResult, pagesPerSec, runStandalone } from "./peer";

export async function runCrawlee({ urls, concurrency, screenshot, onTimed }: PeerOptions): Promise<PeerResult> {
	const started = performance.now();
	const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-crawlee-"));
	const previousStorageDir = process.env.CRAWLEE_STORAGE_DIR;
	process.env.CRAWLEE_STORAGE_DIR = storageDir;
	log.setLevel(LogLevel.OFF);
	const rss = sampleTreeRss();
	const config = new Configuration({ persistStorage: false, purgeOnStart: true, logLevel: LogLevel.OFF });
	let done = 0;
	let errors = 0;
	let first: number | undefined;
	let last = 0;
	let viewport: PeerResult["viewport"];
	const errorSamples: string[] = [];
	try {
		const crawler = new PlaywrightCrawler(
			{
				launchContext: {
					launcher: chromium,
					launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS }
				},
				minConcurrency: concurrency,
				maxConcurrency: concurrency,
				autoscaledPoolOptions: { desiredConcurrency: concurrency, loggingIntervalSecs: null },
				maxRequestRetries: 0,
				navigationTimeoutSecs: PAGE_TIMEOUT_MILLIS / 1000,
				requestHandlerTimeoutSecs: PAGE_TIMEOUT_MILLIS / 1000,
				statusMessageLoggingInterval: 3600,
				preNavigationHooks: [
					async (_ctx, gotoOptions) => {
						first ??= performance.now();
						// Same wait as the other peers (Crawlee's default is also "load"; stated so it stays so).
						if (gotoOptions) gotoOptions.waitUntil = "load";
					}
				],
				requestHandler: async ({ page }) => {
					await extractPage(page);
					if (screenshot) await page.screenshot({ type: "png" });
					viewport ??= page.viewportSize();
					done++;
					last = performance.now();
				},
				failedRequestHandler: async (_ctx, err) => {
					errors++;
					last = performance.now();
					if (errorSamples.length < 5) errorSamples.push(String(err).slice(0, 300));
				}
			},
			config
		);
		// A uniqueKey per position: Crawlee would otherwise visit a repeated URL only once.
		// Its timed window starts at its first page; the CPU split (BY_PROCESS) covers the whole run, browser start included.
		const timedEnd = onTimed?.();
		await crawler.run(urls.map((url, i) => ({ url, uniqueKey: `${i}:${url}` })));
		timedEnd?.();
		const durationMillis = Math.round(last - (first ?? last));
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
		if (previousStorageDir === undefined) delete process.env.CRAWLEE_STORAGE_DIR;
		else process.env.CRAWLEE_STORAGE_DIR = previousStorageDir;
		fs.rmSync(storageDir, { recursive: true, force: true });
	}
}

if (require.main === module) {
	runStandalone("crawlee", runCrawlee).catch(err => {
		console.error(err);
		process.exit(1);
	});
}
