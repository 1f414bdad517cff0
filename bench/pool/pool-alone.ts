/**
 * `BrowserPool` alone against plain Playwright, in one process, interleaved: no scheduler, no HTTP, no store, no guard
 * proxy. Each worker loops acquire → goto → extract → release, so what differs from plain Playwright is the pool
 * itself: prepared contexts, in-place recycling between tasks, limit checks.
 *
 *   npx tsx bench/pool/pool-alone.ts            # concurrency 4, 120 pages per run, 3 rounds
 *   C=8 N=200 R=5 WARM=2h,2 npx tsx bench/pool/pool-alone.ts
 *
 * WARM: comma list of pool variants to compare, each `warmContexts[@contextsPerBrowser][h]` (default "2h"; 10 contexts
 * per browser unless given: the shipped defaults). `h`: each worker waits for its released context to be cleared
 * before its next page, and the pool prepares no more contexts than C — as the shipped worker does; without it, the
 * release is not awaited (the worker before 2026-11-30 evening). `WARM=2@8h` compares a second browser at concurrency
 * 8; USES=1 prints how many pages each context served.
 * Every run also reports the machine's CPU per page (steadier than pages/s on this drifting VM); BY_PROCESS=1 splits
 * the timed part's CPU by process kind (Chromium browser, renderers, GPU, network service; this node).
 */
import { BrowserPool } from "../../src/browser/browser-pool";
import { extractPage } from "../../src/parse/extract";
import { busyMillis, stealMillis } from "../lib/machine";
import { cpuByProcessTimer } from "../lib/proc-cpu";
import { startSite } from "../../test/fixtures/site/site";
import { CHROMIUM_PATH } from "./peer";
import { runPlainPlaywright } from "./plain-playwright";

const C = Number(process.env.C ?? 4);
/** Pages per run, at most the site's 200. */
const N = Math.min(200, Number(process.env.N ?? 120));
const ROUNDS = Number(process.env.R ?? 3);
/** Pool variants: `warmContexts`, optionally `@` contexts per browser (default 10, as shipped). */
const VARIANTS = (process.env.WARM ?? "2h").split(",").map(v => {
	const [warm, perBrowser = "10"] = v.replace(/h$/, "").split("@");
	return { label: v, warm: Number(warm), perBrowser: Number(perBrowser), hold: v.endsWith("h") };
});
const quiet = { debug() {}, info() {}, warn() {} };

interface PoolRun {
	pagesPerSec: number;
	/** Machine CPU per page over the whole run (launch to close), in ms. */
	cpuPerPage: number;
	acquireP50: number | null;
	contexts: number;
	browsers: number;
}

/** Runs `fn` (which visits `pages` pages) and adds the machine's CPU per page and the steal over it. */
async function costed<T>(pages: number, fn: () => Promise<T>): Promise<T & { cpuPerPage: number; stealMillis: number }> {
	const cpu0 = busyMillis();
	const steal0 = stealMillis();
	const result = await fn();
	return { ...result, cpuPerPage: (busyMillis() - cpu0) / pages, stealMillis: stealMillis() - steal0 };
}

async function pooled(urls: string[], warmContexts: number, perBrowser: number, hold: boolean): Promise<Omit<PoolRun, "cpuPerPage">> {
	const pool = new BrowserPool(
		{
			executablePath: CHROMIUM_PATH,
			maxBrowsers: 2,
			maxContextsPerBrowser: perBrowser,
			retireBrowserAfterSessions: 500,
			browserIdleSecs: 120,
			warmContexts,
			// As the worker runs it: a slot keeps its context until it is cleared.
			workerConcurrency: hold ? C : undefined,
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
				const released = pool.release(session);
				if (hold) await released;
			}
		};
		await Promise.all(Array.from({ length: C }, () => visit(urls[0])));
		let next = 0;
		const timedEnd = cpuByProcessTimer(`pool ${warmContexts}@${perBrowser}`, N)?.();
		const t0 = performance.now();
		await Promise.all(
			Array.from({ length: C }, async () => {
				for (let i = next++; i < N; i = next++) await visit(urls[i]);
			})
		);
		const pagesPerSec = N / ((performance.now() - t0) / 1000);
		timedEnd?.();
		const status = pool.status();
		if (process.env.USES) console.log(`uses: ${(pool as any).contexts().map((c: any) => c.uses).join(",")}`);
		return {
			pagesPerSec,
			acquireP50: status.acquire.p50Millis,
			contexts: status.browsers.reduce((n, b) => n + b.contexts, 0),
			browsers: status.browsers.length
		};
	} finally {
		await pool.close();
	}
}

async function main(): Promise<void> {
	const site = await startSite({ pages: 200 });
	try {
		const plainRuns: { pagesPerSec: number; cpuPerPage: number; stealMillis: number }[] = [];
		const poolRuns = new Map<string, (PoolRun & { stealMillis: number })[]>(VARIANTS.map(v => [v.label, []]));
		for (let round = 0; round < ROUNDS; round++) {
			plainRuns.push(await costed(N, () => runPlainPlaywright({ urls: site.pageUrls.slice(0, N), concurrency: C, screenshot: false, onTimed: cpuByProcessTimer("plain", N) })));
			// The pool's warm-up visits one page per worker.
			for (const v of VARIANTS) poolRuns.get(v.label)!.push(await costed(N + C, () => pooled(site.pageUrls, v.warm, v.perBrowser, v.hold)));
		}
		const f = (x: number) => x.toFixed(2);
		console.log(`concurrency ${C}, ${N} pages per run, ${ROUNDS} rounds; pages/s per round`);
		const cpu = (runs: { cpuPerPage: number; stealMillis: number }[]) =>
			`CPU per page ${runs.map(r => r.cpuPerPage.toFixed(0)).join(", ")} ms; steal ${runs.map(r => r.stealMillis.toFixed(0)).join(", ")} ms`;
		console.log(`plain Playwright: ${plainRuns.map(r => f(r.pagesPerSec)).join(", ")} (${cpu(plainRuns)})`);
		for (const [w, runs] of poolRuns)
			console.log(
				`BrowserPool, warmContexts ${w}: ${runs.map(r => f(r.pagesPerSec)).join(", ")} ` +
					`(${runs.map((r, i) => `${Math.round((r.pagesPerSec / plainRuns[i].pagesPerSec) * 100)} %`).join(", ")} of plain; ` +
					`acquire p50 ${runs.map(r => (r.acquireP50 ?? 0).toFixed(1)).join(", ")} ms; contexts ${runs.map(r => r.contexts).join(", ")}; browsers ${runs.map(r => r.browsers).join(", ")}; ${cpu(runs)})`
			);
	} finally {
		await site.close();
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
