import type { ServiceBroker } from "moleculer";
import type { Browser } from "playwright";
import { launchTestChromium } from "../helpers/chromium";
import { gatewayUrl, startBroker } from "../helpers/broker";

jest.setTimeout(60_000);

/** The dashboard page in real Chromium: profiles listed, started and stopped from it, their events shown live. */
describe("dashboard", () => {
	let broker: ServiceBroker;
	let browser: Browser;

	beforeAll(async () => {
		broker = await startBroker();
		browser = await launchTestChromium();
	});
	afterAll(async () => {
		await browser?.close();
		await broker?.stop();
	});

	it("starts and stops a profile (source gui) and shows its events", async () => {
		const profile = await broker.call<any, any>("profile.create", { name: "dashboard profile" });
		const page = await browser.newPage();
		const scriptErrors: string[] = [];
		page.on("pageerror", err => scriptErrors.push(String(err)));
		await page.goto(`${gatewayUrl(broker)}/`);
		await page.locator("#profiles", { hasText: "dashboard profile" }).waitFor();

		await page.click(`[data-profile-start="${profile.id}"]`);
		await page.locator(`[data-profile-stop="${profile.id}"]`).waitFor();
		await page.locator("#events", { hasText: "profile.start" }).waitFor();
		expect(await page.locator("#events").innerText()).toMatch(/profile\.start \S+ gui/);
		const running = await broker.call<any, any>("profile.get", { id: profile.id });
		expect(running.status).toBe("running");
		expect(running.lastUsedAt).toBe(running.updatedAt);

		await page.click(`[data-profile-stop="${profile.id}"]`);
		await page.locator(`[data-profile-start="${profile.id}"]`).waitFor();
		await page.locator("#events", { hasText: "profile.stop" }).waitFor();
		expect((await broker.call<any, any>("profile.get", { id: profile.id })).status).toBe("idle");
		expect(scriptErrors).toEqual([]);
		await page.close();
	});
});
