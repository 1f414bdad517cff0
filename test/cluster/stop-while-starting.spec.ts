/**
 * A SIGTERM that arrives while the node is still starting (its Chromium has not answered yet): the node finishes
 * starting, then drains and stops as usual, exiting with 0. Run: `npx jest test/cluster`.
 */
import { mutedChromium } from "../helpers/chromium";
import { destroyAllClusters, waitFor, withCluster } from "../helpers/cluster";

jest.setTimeout(60_000);

afterEach(destroyAllClusters);

it("stops cleanly on a SIGTERM that arrives while it is still starting", async () => {
	// A Chromium that never answers keeps the browser pool's start (its warm-up) waiting until the stand-in ends.
	const mute = mutedChromium();
	try {
		await withCluster("stop-starting", async cluster => {
			const node = await cluster.startCore(
				{ LOG_LEVEL: "info", CHROMIUM_PATH: mute.path, WARM_CONTEXTS: 1, BROWSER_LAUNCH_TIMEOUT_MILLIS: 30_000 },
				"api,scheduler,browser-pool",
				{ until: "scheduler" }
			);
			// The gateway and the scheduler answer; the broker has not finished starting (`/health` says `starting`).
			expect((await fetch(`${cluster.baseUrl}/health`)).status).toBe(503);
			expect(node.printed(/ServiceBroker with \d+ service\(s\) started/)).toBe(false);
			node.child.kill("SIGTERM");
			// The node either waits for its start to end, or (before that was fixed) stopped its services under it.
			await waitFor(() => node.printed(/stopping once started|API: Service 'api' stopped/), { what: "the node to take the SIGTERM" });
			// Only now does the launch fail (its stand-in is gone), and the start end.
			mute.stop();
			const exit = await node.exited;
			expect({ exit: exit.code, output: node.output.join("") }).toEqual({ exit: 0, output: expect.stringContaining("SIGTERM") });
			expect(node.printed(/TypeError|Cannot read properties/)).toBe(false);
		});
	} finally {
		mute.stop();
	}
});
