import fs from "node:fs";
import os from "node:os";
import path from "node:path";
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

/**
 * An executable that stands in for a Chromium which never answers: it sleeps. Playwright gives up on it at the launch
 * deadline but leaves it running, and a child still running kept jest alive after the last suite: `stop` ends it.
 */
export function mutedChromium(): { path: string; stop(): void } {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-mute-chromium-"));
	const executable = path.join(dir, "chromium");
	const pidFile = path.join(dir, "pid");
	fs.writeFileSync(executable, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 60\n`, { mode: 0o755 });
	return {
		path: executable,
		stop() {
			try {
				process.kill(Number(fs.readFileSync(pidFile, "utf8")), "SIGKILL");
			} catch {
				// Never started, or gone already.
			}
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}
