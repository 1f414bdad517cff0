/** What every peer of `npm run bench:pool` takes and answers, and what they share. */
import { startSite } from "../../test/fixtures/site/site";

export interface PeerOptions {
	/** Pages to visit, each once, in this order (repeats are visited again). */
	urls: string[];
	/** Pages open at the same time. */
	concurrency: number;
	/** Take a PNG screenshot of each page after the extraction. */
	screenshot: boolean;
	/** Called when the timed part starts; what it returns is called when it ends (diagnostics: CPU by process). */
	onTimed?: () => () => void;
}

export interface PeerResult {
	/** Pages done per second of `durationMillis`. */
	pagesPerSec: number;
	/** From the first navigation to the last page done: browser launch and teardown are not in it. */
	durationMillis: number;
	/** Pages visited, extracted (and screenshotted) without error. */
	pages: number;
	errors: number;
	/** Peak RSS summed over this process and its descendants (browsers, renderers), MB; Linux only. */
	rssPeakMb?: number;
	/** The whole run: launch, pages, teardown. */
	totalMillis: number;
	/** Viewport of the pages (it sets the screenshot's size). */
	viewport?: { width: number; height: number } | null;
	/** First error messages, for a look when `errors` is not 0. */
	errorSamples: string[];
}

/** Chromium as the project runs it: the Debian build, no background traffic (the machines have no internet). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
/** The flags the pool launches Chromium with (src/browser/launch.ts): every peer runs the same browser the same way. */
export { CHROMIUM_ARGS } from "../../src/browser/launch";

/** Per-page timeout of both peers: a page of the local site answers in milliseconds. */
export const PAGE_TIMEOUT_MILLIS = 30_000;

export function pagesPerSec(pages: number, durationMillis: number): number {
	return durationMillis > 0 ? Math.round((pages / durationMillis) * 1000 * 10) / 10 : 0;
}

/** The standalone check of a peer: the 200-page site, concurrency 4 (or the first argument), results printed. */
export async function runStandalone(name: string, run: (opts: PeerOptions) => Promise<PeerResult>): Promise<void> {
	const site = await startSite({ pages: 200 });
	try {
		const concurrency = Number(process.argv[2] ?? 4);
		const screenshot = process.argv.includes("--screenshot");
		const result = await run({ urls: site.pageUrls, concurrency, screenshot });
		console.log(JSON.stringify({ peer: name, concurrency, screenshot, ...result }, null, 2));
	} finally {
		await site.close();
	}
}
