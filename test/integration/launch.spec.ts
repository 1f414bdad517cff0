import { ERROR_TYPES } from "../../src/errors";
import { launchChromium } from "../../src/browser/launch";
import { mutedChromium } from "../helpers/chromium";

describe("launchChromium", () => {
	it("fails for good when Chromium is missing, and retryably when it does not start in time", async () => {
		await expect(launchChromium({ executablePath: "/nonexistent/chromium", timeoutMillis: 5000, browserId: "missing" })).rejects.toMatchObject({
			type: ERROR_TYPES.BROWSER_LAUNCH_FAILED,
			errorClass: "fatal"
		});

		const mute = mutedChromium();
		try {
			await expect(launchChromium({ executablePath: mute.path, timeoutMillis: 500, browserId: "mute" })).rejects.toMatchObject({
				type: ERROR_TYPES.BROWSER_LAUNCH_FAILED,
				errorClass: "retryable",
				message: expect.stringContaining("within 500 ms")
			});
		} finally {
			mute.stop();
		}
	});
});
