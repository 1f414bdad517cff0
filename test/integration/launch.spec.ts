import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ERROR_TYPES } from "../../src/errors";
import { launchChromium } from "../../src/browser/launch";

describe("launchChromium", () => {
	it("fails for good when Chromium is missing, and retryably when it does not start in time", async () => {
		await expect(launchChromium({ executablePath: "/nonexistent/chromium", timeoutMillis: 5000, browserId: "missing" })).rejects.toMatchObject({
			type: ERROR_TYPES.BROWSER_LAUNCH_FAILED,
			errorClass: "fatal"
		});

		// A Chromium that never answers.
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-mute-chromium-"));
		const mute = path.join(dir, "chromium");
		fs.writeFileSync(mute, "#!/bin/sh\nexec sleep 5\n", { mode: 0o755 });
		try {
			await expect(launchChromium({ executablePath: mute, timeoutMillis: 500, browserId: "mute" })).rejects.toMatchObject({
				type: ERROR_TYPES.BROWSER_LAUNCH_FAILED,
				errorClass: "retryable",
				message: expect.stringContaining("within 500 ms")
			});
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
