/**
 * What it costs to make a released page safe to clear, one way against another: one context, one tab, pages visited
 * one after the other (goto, extraction, then the variant), CPU per page by process kind. Blocks of `BLOCK` pages per
 * variant, in alternating order over `CYCLES` cycles, so the VM's drift falls on every variant alike.
 *
 *   npx tsx bench/pool/leave-cost.ts                      # all variants, BLOCK=10, CYCLES=6
 *   V=none,freeze,blank CYCLES=10 npx tsx bench/pool/leave-cost.ts
 *
 * Variants: `none` (nothing, as plain Playwright), `clear` (the clearing calls alone: history, cookies, permissions,
 * the origin's storage), `freeze` (Page.setWebLifecycleState frozen, then the clearing: the pool until 2026-12-01),
 * `blank` (goto about:blank, then the clearing), `blankCache` (the same and the HTTP cache emptied: the pool as
 * shipped), `blankOnly` (goto about:blank alone: what the leave itself costs), `newTab` (the tab closed and a new one
 * opened, then the clearing: another way to end the document), `smallPage` (goto a small page of the same origin
 * instead), `scriptsOff` (script execution disabled, then the clearing; enabled again before the next page, which
 * lets the document run again until that page commits: not a fix, a bound on what stopping scripts costs).
 */
import { chromium } from "playwright";
import { extractPage } from "../../src/parse/extract";
import { startSite } from "../../test/fixtures/site/site";
import { cpuBetween, snapshot } from "../lib/proc-cpu";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./peer";

const BLOCK = Number(process.env.BLOCK ?? 10);
const CYCLES = Number(process.env.CYCLES ?? 6);
const KINDS = ["chromium renderer", "chromium browser", "chromium gpu-process", "node (this process)"];

async function main(): Promise<void> {
	const site = await startSite({ pages: 200 });
	const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	try {
		const context = await browser.newContext();
		let page = await context.newPage();
		let cdp = await context.newCDPSession(page);
		const origin = new URL(site.baseUrl).origin;
		const clear = () =>
			Promise.all([
				cdp.send("Page.resetNavigationHistory"),
				context.clearCookies(),
				context.clearPermissions(),
				cdp.send("Storage.clearDataForOrigin", { origin, storageTypes: "all" })
			]);
		let scriptsOff = false;
		const variants: Record<string, () => Promise<unknown>> = {
			none: async () => undefined,
			clear,
			freeze: async () => (await cdp.send("Page.setWebLifecycleState", { state: "frozen" }), clear()),
			blank: async () => (await page.goto("about:blank"), clear()),
			blankOnly: async () => page.goto("about:blank"),
			blankCache: async () => (await page.goto("about:blank"), await Promise.all([clear(), cdp.send("Network.clearBrowserCache")])),
			newTab: async () => {
				await page.close();
				page = await context.newPage();
				cdp = await context.newCDPSession(page);
				await clear();
			},
			smallPage: async () => (await page.goto(`${origin}/status/200`), clear()),
			scriptsOff: async () => {
				await cdp.send("Emulation.setScriptExecutionDisabled", { value: true });
				scriptsOff = true;
				await clear();
			}
		};
		const chosen = (process.env.V ?? Object.keys(variants).join(",")).split(",");
		for (const v of chosen) if (!variants[v]) throw new Error(`unknown variant ${v}; known: ${Object.keys(variants).join(", ")}`);

		let next = 0;
		const visit = async (variant: string) => {
			if (scriptsOff) {
				await cdp.send("Emulation.setScriptExecutionDisabled", { value: false });
				scriptsOff = false;
			}
			await page.goto(site.pageUrls[next++ % site.pageUrls.length]);
			await extractPage(page);
			await variants[variant]();
		};
		for (let i = 0; i < 10; i++) await visit("none");

		const totals = new Map<string, Map<string, number>>(chosen.map(v => [v, new Map()]));
		for (let cycle = 0; cycle < CYCLES; cycle++)
			for (const v of cycle % 2 ? [...chosen].reverse() : chosen) {
				const before = snapshot();
				for (let i = 0; i < BLOCK; i++) await visit(v);
				const total = totals.get(v)!;
				for (const [kind, ms] of cpuBetween(before, snapshot())) total.set(kind, (total.get(kind) ?? 0) + ms);
			}

		const pages = BLOCK * CYCLES;
		console.log(`${pages} pages per variant, one tab, one page at a time; CPU ms per page`);
		console.log(["variant   ", "total", "renderer", "browser", "gpu", "node"].join("\t"));
		for (const [v, total] of totals) {
			const all = [...total.values()].reduce((a, b) => a + b, 0);
			console.log([v.padEnd(10), (all / pages).toFixed(1), ...KINDS.map(k => ((total.get(k) ?? 0) / pages).toFixed(1))].join("\t"));
		}
	} finally {
		await browser.close();
		await site.close();
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
