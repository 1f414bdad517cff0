import { chooseBrowserNode } from "../../src/browser/cluster-pool";
import { ERROR_TYPES } from "../../src/errors";

describe("chooseBrowserNode", () => {
	it("picks the node with the most free slots among those whose Chromium starts", () => {
		expect(
			chooseBrowserNode([
				{ nodeID: "a", slots: { free: 2 } },
				{ nodeID: "broken", slots: { free: 20, launchError: "Chromium did not start (/nonexistent/chromium)" } },
				{ nodeID: "b", slots: { free: 5 } },
				{ nodeID: "silent", slots: null }
			])
		).toBe("b");
	});

	it("refuses with NO_BROWSER_CAPACITY naming why, when no node can open a session", () => {
		expect(() => chooseBrowserNode([{ nodeID: "broken", slots: { free: 20, launchError: "missing /x/chromium" } }, { nodeID: "silent", slots: null }])).toThrow(
			expect.objectContaining({ code: 503, type: ERROR_TYPES.NO_BROWSER_CAPACITY, message: expect.stringContaining("broken (missing /x/chromium)") })
		);
		expect(() => chooseBrowserNode([{ nodeID: "silent", slots: null }])).toThrow(expect.objectContaining({ message: expect.stringContaining("no browser-pool node answered") }));
	});
});
