import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { SERVICE_SCHEMAS } from "../../services";
import { testConfig, waitFor } from "../helpers/broker";
import { mutedChromium } from "../helpers/chromium";

describe("a node starting", () => {
	it("runs a task that needs no browser while its Chromium is still starting", async () => {
		// A Chromium that never answers: the pool's warm-up waits for it until the launch deadline, far beyond what a
		// busy machine needs to run a noop; the test ends it early by ending the stand-in.
		const mute = mutedChromium();
		const config = testConfig({ chromiumPath: mute.path, warmContexts: 1, browserLaunchTimeoutMillis: 30_000 });
		const broker = new ServiceBroker(brokerOptions(config));
		for (const name of ["scheduler", "browser-pool"]) broker.createService(SERVICE_SCHEMAS[name]);
		let warmUpOver = false;
		const starting = broker.start().finally(() => (warmUpOver = true));
		try {
			await broker.waitForServices("scheduler");
			const { id } = await broker.call<any, any>("scheduler.submit", { type: "noop", payload: { echo: "early" } });
			const task = await waitFor(async () => {
				const t = await broker.call<any, any>("scheduler.get", { id });
				return t.status === "completed" ? t : null;
			}, 20_000, "the noop task to complete");
			expect(task.result).toMatchObject({ echo: "early" });
			// Done before the launch deadline: the worker did not wait for the warm-up to end.
			expect(warmUpOver).toBe(false);
			expect((broker.getLocalService("browser-pool") as any).pool.status().browsers).toEqual([]);
		} finally {
			// The launch fails as soon as its process is gone, and the start ends.
			mute.stop();
			await starting.catch(() => undefined);
			await broker.stop();
		}
	});
});

describe("a node whose Chromium cannot start", () => {
	it("runs what needs no browser, keeps browser work queued or refused with the reason, and takes it once Chromium starts", async () => {
		// CHROMIUM_PATH names a file that is not there yet; the test installs it (a link to the real one) halfway.
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nightshift-late-chromium-"));
		const chromium = path.join(dir, "chromium");
		const site = http.createServer((_req, res) => res.end("<!doctype html><title>late</title><h1>Chromium came back</h1>"));
		await new Promise<void>(resolve => site.listen(0, "127.0.0.1", resolve));
		const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
		const config = testConfig({ chromiumPath: chromium, warmContexts: 1, heartbeatMillis: 100, browserRelaunchSecs: 1 });
		const broker = new ServiceBroker(brokerOptions(config));
		for (const name of ["api", "scheduler", "browser-pool", "profile", "session-manager"]) broker.createService(SERVICE_SCHEMAS[name]);
		await broker.start();
		const get = (id: string) => broker.call<any, any>("scheduler.get", { id });
		const profile = await broker.call<any, any>("profile.create", { name: "late chromium" });
		try {
			const health = await waitFor(async () => {
				const h = await broker.call<any, any>("api.backgroundTasksHealth", {});
				return h.browser_pool_status.launchErrors ? h : null;
			}, 10_000, "health to report the failed launch");
			expect(health.status).toBe("degraded");
			expect(health.browser_pool_status.launchErrors).toEqual([{ nodeId: broker.nodeID, error: expect.stringContaining(chromium) }]);

			// The parse task is older than the noop at the same priority: the worker passes over it, not past it by chance.
			const parse = await broker.call<any, any>("scheduler.submit", { type: "page.parse", payload: { url, options: { screenshot: "none" } } });
			const { id } = await broker.call<any, any>("scheduler.submit", { type: "noop" });
			await waitFor(async () => (await get(id)).status === "completed", 4000, "the noop task to complete");
			// A lease call held at the scheduler since before the launch failed declines nothing: it may take the parse
			// task, whose attempt then fails to get a browser and is handed back. Either way no attempt is spent.
			const waiting = await waitFor(async () => {
				const t = await get(parse.id);
				return t.status === "queued" ? t : null;
			}, 4000, "the parse task to be queued");
			expect(waiting).toMatchObject({ status: "queued", attempts: 0 });
			// A profile session is opened now or refused: no node can open one, and the answer says why.
			await expect(broker.call("session-manager.start", { id: profile.id })).rejects.toMatchObject({
				code: 503,
				type: "NO_BROWSER_CAPACITY",
				message: expect.stringContaining(chromium)
			});

			fs.symlinkSync(testConfig().chromiumPath, chromium);
			const done = await waitFor(async () => {
				const t = await get(parse.id);
				return t.status === "completed" ? t : null;
			}, 30_000, "the parse task to run once Chromium starts");
			expect(done).toMatchObject({ attempts: 1, result: { title: "late" } });
			await waitFor(async () => (await broker.call<any, any>("api.backgroundTasksHealth", {})).status === "ok", 5000, "health to be ok again");
			await broker.call("session-manager.start", { id: profile.id });
			await broker.call("session-manager.stop", { id: profile.id });
		} finally {
			await broker.stop();
			site.close();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
