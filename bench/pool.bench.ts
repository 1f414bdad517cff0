/**
 * Browser pool benchmark (issue 3): `npm run bench:pool`.
 *
 * One generated local site of 200 realistic pages; at each concurrency, side by side in one run:
 *   (a) plain Playwright, one browser, one reused page per worker: the physical limit here;
 *   (b) Crawlee's PlaywrightCrawler doing the same extraction;
 *   (c) Nightshift `page.parse` end to end through the scheduler (an embedded node as a child process), each task in a
 *       context of its own, cleared after it (the default);
 *   (d) the same with every task in one `sharedContext` group: contexts reused as left, nothing cleared (what (a) does);
 *   (e) plain Playwright isolating each page in its reused tab with the calls (c) makes: the limit for (c);
 *   (f) plain Playwright with a new context and page per URL: how a script usually isolates.
 * Every peer runs the same in-page extraction (`src/parse/extract.browser.js`) on the same Debian Chromium.
 *
 * This VM drifts by 10-30 % between back-to-back runs of the same peer, so each concurrency runs BENCH_ROUNDS rounds of
 * all peers, interleaved (the order rotates every round), and each peer is reported by its median run; the per-round
 * ratios are shown too.
 *
 * Knobs (env): BENCH_CONCURRENCY (default "4,8"), BENCH_PAGES (default 200), BENCH_ROUNDS (default 3),
 * BENCH_SCREENSHOT=1 (every peer also takes a PNG screenshot), BENCH_ONLY (comma list of peers:
 * plain,crawlee,nightshift,shared,plainIsolated,plainFresh; the last two are left out unless named), BENCH_KEEP_LOGS=1, BY_PROCESS=1 (each run's timed part: CPU per page by process kind).
 */
import { startSite } from "../test/fixtures/site/site";
import { machineInfo } from "./lib/machine";
import { cpuByProcessTimer } from "./lib/proc-cpu";
import { cleanupAll, tempDir } from "./lib/procs";
import { runCrawlee } from "./pool/crawlee";
import { runNightshift, type NightshiftResult } from "./pool/nightshift";
import type { PeerResult } from "./pool/peer";
import { runPlainPlaywright } from "./pool/plain-playwright";

const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "4,8").split(",").map(Number);
const PAGES = Number(process.env.BENCH_PAGES ?? 200);
const SCREENSHOT = process.env.BENCH_SCREENSHOT === "1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PEERS = ["plain", "crawlee", "nightshift", "shared", "plainIsolated", "plainFresh"] as const;
const ONLY = new Set((process.env.BENCH_ONLY ?? "plain,crawlee,nightshift,shared").split(","));

type Peer = (typeof PEERS)[number];

interface Row {
	concurrency: number;
	/** The median run of each peer (by pages/s). */
	plain?: PeerResult;
	crawlee?: PeerResult;
	nightshift?: NightshiftResult;
	shared?: NightshiftResult;
	plainIsolated?: PeerResult;
	plainFresh?: PeerResult;
	/** Every run, in round order. */
	runs: Record<Peer, PeerResult[]>;
}

function median<T extends PeerResult>(runs: T[]): T | undefined {
	const sorted = [...runs].sort((x, y) => x.pagesPerSec - y.pagesPerSec);
	return sorted[Math.floor((sorted.length - 1) / 2)];
}

const fmt = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? "–" : n.toFixed(digits));

async function main(): Promise<void> {
	const machine = machineInfo();
	const logDir = tempDir("nightshift-bench-pool-logs", process.env.BENCH_KEEP_LOGS === "1");
	const site = await startSite({ pages: PAGES });
	const rows: Row[] = [];
	let failed: unknown = null;
	try {
		for (const concurrency of CONCURRENCY) {
			const row: Row = { concurrency, runs: { plain: [], crawlee: [], nightshift: [], shared: [], plainIsolated: [], plainFresh: [] } };
			rows.push(row);
			const opts = { urls: site.pageUrls, concurrency, screenshot: SCREENSHOT };
			const timed = (peer: Peer) => ({ ...opts, onTimed: cpuByProcessTimer(`${peer}, c=${concurrency}`, site.pageUrls.length) });
			const run: Record<Peer, () => Promise<PeerResult>> = {
				plain: () => runPlainPlaywright(timed("plain")),
				crawlee: () => runCrawlee(timed("crawlee")),
				nightshift: () => runNightshift(timed("nightshift"), logDir),
				shared: () => runNightshift(timed("shared"), logDir, "bench"),
				plainIsolated: () => runPlainPlaywright(timed("plainIsolated"), "clear"),
				plainFresh: () => runPlainPlaywright(timed("plainFresh"), "fresh")
			};
			const peers = PEERS.filter(p => ONLY.has(p));
			for (let round = 0; round < ROUNDS; round++) {
				// Rotated, so no peer always runs first (on a cold machine) or right after the heaviest one.
				const order = peers.map((_, i) => peers[(i + round) % peers.length]);
				for (const peer of order) {
					console.error(`c=${concurrency} round ${round + 1}/${ROUNDS}: ${peer}…`);
					row.runs[peer].push(await run[peer]());
				}
			}
			row.plain = median(row.runs.plain);
			row.crawlee = median(row.runs.crawlee);
			row.nightshift = median(row.runs.nightshift) as NightshiftResult | undefined;
			row.shared = median(row.runs.shared) as NightshiftResult | undefined;
			row.plainIsolated = median(row.runs.plainIsolated);
			row.plainFresh = median(row.runs.plainFresh);
		}
	} catch (err) {
		failed = err;
	} finally {
		await site.close();
		await cleanupAll();
	}

	const out: string[] = [];
	out.push(`Machine: ${machine.nproc} cores (${machine.cpu}), ${machine.memory}, Node ${machine.node}, ${machine.os}; ${machine.date}`);
	out.push(`Site: ${PAGES} generated pages on 127.0.0.1; screenshot: ${SCREENSHOT ? "PNG per page" : "none"}; Chromium ${process.env.CHROMIUM_PATH || "/usr/bin/chromium"}`);
	out.push("");
	out.push(`Each peer: median of ${ROUNDS} interleaved runs per concurrency.`);
	out.push("");
	out.push(
		"| concurrency | (a) plain Playwright pages/s | (b) Crawlee pages/s | (c) Nightshift pages/s | (d) Nightshift, `sharedContext` | (c)/(a) | (c)/(b) | (d)/(a) | (d)/(b) | errors a/b/c/d (all runs) |"
	);
	out.push("|---|---|---|---|---|---|---|---|---|---|");
	for (const r of rows) {
		const a = r.plain?.pagesPerSec;
		const b = r.crawlee?.pagesPerSec;
		const c = r.nightshift?.pagesPerSec;
		const d = r.shared?.pagesPerSec;
		const ratio = (x?: number, y?: number) => (x && y ? `${Math.round((x / y) * 100)} %` : "–");
		out.push(
			`| ${r.concurrency} | ${fmt(a)} | ${fmt(b)} | ${fmt(c)} | ${fmt(d)} | ${ratio(c, a)} | ${ratio(c, b)} | ${ratio(d, a)} | ${ratio(d, b)} | ${PEERS.slice(0, 4).map(p => (r.runs[p].length ? r.runs[p].reduce((n, x) => n + x.errors, 0) : "–")).join("/")} |`
		);
	}
	if (rows.some(r => r.plainIsolated || r.plainFresh)) {
		out.push("");
		out.push("Isolated peers: each page in a context nobody used before it, or cleared as Nightshift clears it.");
		out.push("");
		out.push("| concurrency | (e) plain Playwright, tab cleared as (c) does | (f) plain Playwright, new context per page | (c) Nightshift | (c)/(e) | (c)/(f) | (e)/(a) | errors e/f |");
		out.push("|---|---|---|---|---|---|---|---|");
		for (const r of rows) {
			const [a, c, e, f] = [r.plain, r.nightshift, r.plainIsolated, r.plainFresh].map(x => x?.pagesPerSec);
			const ratio = (x?: number, y?: number) => (x && y ? `${Math.round((x / y) * 100)} %` : "–");
			const errors = (p: Peer) => (r.runs[p].length ? r.runs[p].reduce((n, x) => n + x.errors, 0) : "–");
			out.push(
				`| ${r.concurrency} | ${fmt(e)} | ${fmt(f)} | ${fmt(c)} | ${ratio(c, e)} | ${ratio(c, f)} | ${ratio(e, a)} | ${errors("plainIsolated")}/${errors("plainFresh")} |`
			);
		}
	}
	out.push("");
	out.push("Every run, pages/s in round order (the ratio of the same round in brackets):");
	out.push("");
	for (const r of rows) {
		const list = (peer: Peer) => r.runs[peer].map(x => fmt(x.pagesPerSec)).join(", ") || "–";
		const perRound = (peer: Peer) =>
			r.runs[peer].map((n, i) => (r.runs.plain[i] ? `${Math.round((n.pagesPerSec / r.runs.plain[i].pagesPerSec) * 100)} %` : "–")).join(", ");
		out.push(
			`- c=${r.concurrency}: plain ${list("plain")}; Crawlee ${list("crawlee")}; Nightshift ${list("nightshift")} (${perRound("nightshift")} of plain); ` +
				`shared ${list("shared")} (${perRound("shared")}); plain, tab cleared ${list("plainIsolated")} (${perRound("plainIsolated")}); ` +
				`plain, new context ${list("plainFresh")} (${perRound("plainFresh")})`
		);
	}
	out.push("");
	out.push(
		"| concurrency | Nightshift | peak RSS a / b / this (MB, process trees) | acquire p50 / p99 (ms), warm hits | browser memory peak (MB, private footprint) | per context (MB) | session renderer memory (MB, mean) | node alive |"
	);
	out.push("|---|---|---|---|---|---|---|---|");
	for (const r of rows)
		for (const [label, n] of [["(c)", r.nightshift], ["(d) shared", r.shared]] as const) {
			if (!n) continue;
			out.push(
				`| ${r.concurrency} | ${label} | ${fmt(r.plain?.rssPeakMb, 0)} / ${fmt(r.crawlee?.rssPeakMb, 0)} / ${fmt(n?.rssPeakMb, 0)} | ` +
					(n ? `${fmt(n.acquire.p50Millis, 2)} / ${fmt(n.acquire.p99Millis, 2)}, ${n.acquire.warmHits}/${n.acquire.count}` : "–") +
					` | ${fmt(n?.browserMemoryMb, 0)} | ${fmt(n?.memoryPerContextMb, 0)} | ${fmt(n?.sessionMemoryMb)} | ${n ? (n.nodeAlive ? "yes" : "**no**") : "–"} |`
			);
		}
	for (const r of rows)
		for (const peer of PEERS)
			for (const res of r.runs[peer]) if (res.errorSamples.length) out.push(`\nc=${r.concurrency} ${peer} errors: ${res.errorSamples.join(" | ")}`);
	console.log(out.join("\n"));
	if (failed) {
		console.log(`\n**The run failed before it finished:** ${(failed as Error)?.stack ?? failed}`);
		process.exitCode = 1;
	}
}

void main();
