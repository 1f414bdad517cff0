/**
 * `BrowserPool` alone against plain Playwright, in one process, interleaved: no scheduler, no HTTP, no store, no guard
 * proxy. Each worker loops acquire → goto → extract → release (not awaited, as the worker does), so what differs from
 * plain Playwright is the pool itself: prepared contexts, in-place recycling between tasks, limit checks.
 *
 *   npx tsx bench/pool/pool-alone.ts            # concurrency 4, 120 pages per run, 3 rounds
 *   C=8 N=200 R=5 WARM=0,2 npx tsx bench/pool/pool-alone.ts
 *
 * WARM: comma list of `warmContexts` values to compare (default "2", the shipped default).
 */
import { BrowserPool } from "../../src/browser/browser-pool";
import { extractPage } from "../../src/parse/extract";
import { startSite } from "../../test/fixtures/site/site";
import { CHROMIUM_PATH } from "./peer";
import { runPlainPlaywright } from "./plain-playwright";

const C = Number(process.env.C ?? 4);
/** Pages per run, at most the site's 200. */
const N = Math.min(200, Number(process.env.N ?? 120));
const ROUNDS = Number(process.env.R ?? 3);
const WARM = (process.env.WARM ?? "2").split(",").map(Number);
const quiet = { debug() {}, info() {}, warn() {} };

async function pooled(urls: string[], warmContexts: number): Promise<{ pagesPerSec: number; acquireP50: number | null; contexts: number }> {
	const pool = new BrowserPool(
		{
			executablePath: CHROMIUM_PATH,
			maxBrowsers: 2,
			maxContextsPerBrowser: 8,
			retireBrowserAfterSessions: 500,
			browserIdleSecs: 120,
			warmContexts,
			maxContextUses: 50,
			launchTimeoutMillis: 30_000,
			operationTimeoutMillis: 30_000,
			limitCheckMillis: 500,
			limits: { maxMemoryMb: 512, maxDurationSecs: 300, maxPages: 10 }
		},
		quiet
	);
	await pool.start();
	try {
		const visit = async (url: string) => {
			const session = await pool.acquire({ taskId: "bench", signal: new AbortController().signal, onFailure() {} });
			try {
				await session.page.goto(url);
				await extractPage(session.page);
			} finally {
				void pool.release(session);
			}
		};
		await Promise.all(Array.from({ length: C }, () => visit(urls[0])));
		let next = 0;
		const t0 = performance.now();
		await Promise.all(
			Array.from({ length: C }, async () => {
				for (let i = next++; i < N; i = next++) await visit(urls[i]);
			})
		);
		const pagesPerSec = N / ((performance.now() - t0) / 1000);
		const status = pool.status();
		return { pagesPerSec, acquireP50: status.acquire.p50Millis, contexts: status.browsers.reduce((n, b) => n + b.contexts, 0) };
	} finally {
		await pool.close();
	}
}

async function main(): Promise<void> {
	const site = await startSite({ pages: 200 });
	try {
		const plainRuns: number[] = [];
		const poolRuns = new Map<number, { pagesPerSec: number; acquireP50: number | null; contexts: number }[]>(WARM.map(w => [w, []]));
		for (let round = 0; round < ROUNDS; round++) {
			plainRuns.push((await runPlainPlaywright({ urls: site.pageUrls.slice(0, N), concurrency: C, screenshot: false })).pagesPerSec);
			for (const w of WARM) poolRuns.get(w)!.push(await pooled(site.pageUrls, w));
		}
		const f = (x: number) => x.toFixed(2);
		console.log(`concurrency ${C}, ${N} pages per run, ${ROUNDS} rounds; pages/s per round`);
		console.log(`plain Playwright: ${plainRuns.map(f).join(", ")}`);
		for (const [w, runs] of poolRuns)
			console.log(
				`BrowserPool, warmContexts ${w}: ${runs.map(r => f(r.pagesPerSec)).join(", ")} ` +
					`(${runs.map((r, i) => `${Math.round((r.pagesPerSec / plainRuns[i]) * 100)} %`).join(", ")} of plain; ` +
					`acquire p50 ${runs.map(r => (r.acquireP50 ?? 0).toFixed(1)).join(", ")} ms; contexts ${runs.map(r => r.contexts).join(", ")})`
			);
	} finally {
		await site.close();
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
