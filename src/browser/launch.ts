import { chromium, errors, type Browser } from "playwright";
import { ERROR_TYPES, TaskError } from "../errors";
import { findPidByArgument } from "./process-memory";

/**
 * Chromium features switched off. Chromium reads only the last `--disable-features`, and Playwright passes its own list
 * before ours, so ours repeats the entries of Playwright's that still matter (its ThirdPartyStoragePartitioning entry is
 * left out: partitioning isolates sites from each other).
 */
const DISABLED_FEATURES = [
	// A recycled tab must not bring the previous task's page back on history.back() (see BrowserPool.recycle).
	"BackForwardCache",
	// With several contexts, every navigation took the spare renderer kept for the last-used context and started a new
	// one: ~160 renderer processes for 200 pages at concurrency 4, against 8 without it (BENCHMARKS.md).
	"SpareRendererForSitePerProcess",
	// Chromium's own traffic, which on a closed network only fails (autofill asked Google about every form, through the
	// guard proxy): Playwright's list, and autofill, translation and certificate-transparency updates.
	"AutofillServerCommunication",
	"Translate",
	"CertificateTransparencyComponentUpdater",
	"OptimizationHints",
	"NetworkTimeServiceQuerying",
	"AimEnabled",
	"PreconnectToSearch",
	"MediaRouter",
	"LensOverlay",
	// Playwright's behaviour fixes, kept as Playwright has them.
	"AvoidUnnecessaryBeforeUnloadCheckSync",
	"DestroyProfileOnBrowserClose",
	"HttpsUpgrades",
	"HttpsFirstBalancedModeAutoEnable",
	"PaintHolding",
	"AvoidCorsURLLoaderRestartOnRedirect"
];

/**
 * Flags for a machine without internet and without a display. They switch off Chromium's own traffic (background
 * networking, component updates, sync, field trials) and nothing that isolates sites or contexts from each other.
 */
export const CHROMIUM_ARGS = [
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-default-apps",
	"--disable-domain-reliability",
	"--disable-field-trial-config",
	"--disable-breakpad",
	"--no-first-run",
	"--no-default-browser-check",
	"--no-pings",
	"--metrics-recording-only",
	"--disable-quic",
	"--disable-gpu",
	`--disable-features=${DISABLED_FEATURES.join(",")}`
];

export interface LaunchOptions {
	executablePath: string;
	/** Proxy every request goes through (the URL policy's guard proxy). */
	proxyServer?: string;
	timeoutMillis: number;
	/** Marks the process so its pid can be found in /proc. */
	browserId: string;
}

export interface LaunchedBrowser {
	browser: Browser;
	/** Chromium's main process, when /proc shows it. */
	pid?: number;
}

/**
 * Chromium's sandbox stays on unless the process runs as root, where Chromium refuses to start with it (containers,
 * CI); isolation between sites and contexts is Chromium's process model either way.
 */
export function sandboxAvailable(): boolean {
	return typeof process.getuid !== "function" || process.getuid() !== 0;
}

export async function launchChromium(options: LaunchOptions): Promise<LaunchedBrowser> {
	const marker = `--nightshift-browser=${options.browserId}`;
	const args = [...CHROMIUM_ARGS, marker];
	if (options.proxyServer) {
		// `<-loopback>` removes Chromium's implicit bypass of localhost: loopback goes through the policy as well.
		args.push(`--proxy-server=${options.proxyServer}`, "--proxy-bypass-list=<-loopback>");
	}
	let browser: Browser;
	try {
		browser = await chromium.launch({
			executablePath: options.executablePath,
			headless: true,
			chromiumSandbox: sandboxAvailable(),
			timeout: options.timeoutMillis,
			args,
			handleSIGINT: false,
			handleSIGTERM: false,
			handleSIGHUP: false
		});
	} catch (err: any) {
		const data = { executablePath: options.executablePath };
		// A machine too busy to start Chromium in time may manage on the next attempt (or another node may take the
		// task); a Chromium that is missing or dies at start will not.
		if (err instanceof errors.TimeoutError)
			throw new TaskError(
				`Chromium did not start within ${options.timeoutMillis} ms (${options.executablePath})`,
				"retryable",
				ERROR_TYPES.BROWSER_LAUNCH_FAILED,
				data
			);
		throw new TaskError(
			`Chromium did not start (${options.executablePath}): ${String(err?.message ?? err).split("\n")[0]}. ` +
				"Install Debian's chromium or set CHROMIUM_PATH.",
			"fatal",
			ERROR_TYPES.BROWSER_LAUNCH_FAILED,
			data
		);
	}
	return { browser, pid: findPidByArgument(marker) };
}
