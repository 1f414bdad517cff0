/**
 * What rotating pages over more contexts than workers costs, with nothing else of the pool: plain Playwright, `C`
 * workers, each page taken from a free list of `M` contexts (one page each, made and loaded up front) and given back
 * at once after its extraction; nothing is cleared or recycled. `M` = `C` is the plain peer of `npm run bench:pool`;
 * `M` > `C` is what a pool with prepared contexts does under full load, where every task lands on a context that sat
 * idle while others ran.
 *
 *   npx tsx bench/pool/context-rotation.ts                 # C=4, variants 4,6fifo,6lifo,5fifo, 120 pages, 3 rounds
 *   C=8 V=8,10fifo R=5 npx tsx bench/pool/context-rotation.ts
 *
 * V: comma list of `<M>` or `<M>fifo` / `<M>lifo` (which free context a worker takes: the one idle longest, or the
 * one given back last). Every round runs every variant once, in order; pages/s and CPU ms per page by process kind
 * (renderers, Chromium's browser and GPU processes) are printed per round.
 */
import { chromium, type Page } from "playwright";
import { extractPage } from "../../src/parse/extract";
import { startSite } from "../../test/fixtures/site/site";
import { cpuBetween, snapshot } from "../lib/proc-cpu";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./peer";

const C = Number(process.env.C ?? 4);
const N = Math.min(200, Number(process.env.N ?? 120));
const ROUNDS = Number(process.env.R ?? 3);
const VARIANTS = (process.env.V ?? `${C},${C + 2}fifo,${C + 2}lifo,${C + 1}fifo`).split(",");

interface Run {
	pagesPerSec: number;
	renderer: number;
	browser: number;
	gpu: number;
	total: number;
}

async function run(variant: string, urls: string[]): Promise<Run> {
	const contexts = parseInt(variant, 10);
	const lifo = variant.endsWith("lifo");
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	try {
		const free: Page[] = [];
		for (let i = 0; i < contexts; i++) free.push(await (await browser.newContext()).newPage());
		// Every context has loaded a page of the site before the clock starts, as the plain peer's have.
		await Promise.all(free.map(page => page.goto(urls[urls.length - 1])));
		const waiting: ((page: Page) => void)[] = [];
		const take = () => new Promise<Page>(resolve => {
			const page = lifo ? free.pop() : free.shift();
			if (page) resolve(page);
			else waiting.push(resolve);
		});
		const giveBack = (page: Page) => {
			const next = waiting.shift();
			if (next) next(page);
			else free.push(page);
		};
		const before = snapshot();
		const started = performance.now();
		let next = 0;
		await Promise.all(
			Array.from({ length: C }, async () => {
				for (let i = next++; i < N; i = next++) {
					const page = await take();
					await page.goto(urls[i], { waitUntil: "load" });
					await extractPage(page);
					giveBack(page);
				}
			})
		);
		const millis = performance.now() - started;
		const byKind = cpuBetween(before, snapshot());
		const perPage = (kind: string) => (byKind.get(kind) ?? 0) / N;
		return {
			pagesPerSec: (N / millis) * 1000,
			renderer: perPage("chromium renderer"),
			browser: perPage("chromium browser"),
			gpu: perPage("chromium gpu-process"),
			total: [...byKind.values()].reduce((a, b) => a + b, 0) / N
		};
	} finally {
		await browser.close();
	}
}

async function main(): Promise<void> {
	const site = await startSite({ pages: 200 });
	try {
		const runs = new Map<string, Run[]>(VARIANTS.map(v => [v, []]));
		for (let round = 0; round < ROUNDS; round++) for (const v of VARIANTS) runs.get(v)!.push(await run(v, site.pageUrls));
		console.log(`concurrency ${C}, ${N} pages per run, ${ROUNDS} rounds; per round, and against the first variant of the same round`);
		const base = runs.get(VARIANTS[0])!;
		for (const [v, rs] of runs) {
			const list = (key: keyof Run, digits = 0) => rs.map(r => r[key].toFixed(digits)).join(" / ");
			console.log(
				`${`${v} contexts`.padEnd(14)} ${list("pagesPerSec", 2)} pages/s (${rs.map((r, i) => `${Math.round((r.pagesPerSec / base[i].pagesPerSec) * 100)} %`).join(", ")}); ` +
					`CPU ms per page: all ${list("total")}, renderers ${list("renderer")}, browser ${list("browser")}, GPU ${list("gpu")}`
			);
		}
	} finally {
		await site.close();
	}
}

main().catch(err => {
	console.error(err);
	process.exitCode = 1;
});
