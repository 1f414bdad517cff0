import { type Browser, chromium } from "playwright";

/** Debian's Chromium for browser tests (`CHROMIUM_PATH` elsewhere); its sandbox refuses to start as root (CI). */
export function launchTestChromium(args: string[] = []): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
		args: [...args, ...(process.getuid?.() === 0 ? ["--no-sandbox"] : [])]
	});
}
