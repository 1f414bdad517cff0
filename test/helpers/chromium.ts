import { type Browser, chromium } from "playwright";
import { CHROMIUM_ARGS } from "../../src/browser/launch";

/** Debian's Chromium for browser tests (`CHROMIUM_PATH` elsewhere); its sandbox refuses to start as root (CI). */
export function launchTestChromium(args: string[] = []): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
		// The pool's flags: without them Chromium's own background traffic (autofill, component updates) goes out
		// through whatever proxy a test gave it, at any time while the browser lives.
		args: [...CHROMIUM_ARGS, ...args, ...(process.getuid?.() === 0 ? ["--no-sandbox"] : [])]
	});
}
